/**
 * The replicated log and its matching rules (Raft §5.3): entries follow one another without a
 * gap; an entry at the same index with the same term as a leader's holds the same change and is
 * preceded by the same entries (Log Matching), so a follower accepts entries only after an entry
 * that matches, truncates only at a conflict, and never truncates what is committed.
 *
 * The entries before the snapshot point (the committed config, Raft §7) are folded into it; a
 * few may be kept after folding, for followers that lag by little (they get entries instead of
 * a snapshot). Of the folded ones only the snapshot point's term is known.
 */
import type { LogChange } from './log-change.js';
import type { Entry } from './messages.js';

/** A log position and its term. */
export interface LogPoint {
  index: number;
  term: number;
}

/** What became of an append from a leader. */
export type AcceptResult =
  /** The entries are in; the log matches the leader's up to `match_index`. */
  | { ok: true; match_index: number; truncated_from: number | undefined }
  /** The entry at `prev_index` is missing or of another term; the leader should try `next_hint`. */
  | { ok: false; next_hint: number };

export class RaftLog {
  #entries: Entry[];
  #snapshot: LogPoint;

  /** A log whose entries up to `snapshot` are folded; `entries` follow one another. */
  constructor(snapshot: LogPoint, entries: readonly Entry[]) {
    for (const [i, entry] of entries.entries()) {
      const before = entries[i - 1];
      if (before !== undefined && entry.index !== before.index + 1)
        throw new Error(`log entries must follow one another: ${entry.index} after ${before.index}`);
    }
    const first = entries[0];
    if (first !== undefined && first.index > snapshot.index + 1)
      throw new Error(`log starts at ${first.index}, after the snapshot point ${snapshot.index} + 1`);
    this.#snapshot = { ...snapshot };
    this.#entries = entries.map((entry) => ({ ...entry }));
  }

  /** The snapshot point: the last entry folded into the committed config. */
  get snapshot(): LogPoint {
    return { ...this.#snapshot };
  }

  get lastIndex(): number {
    return Math.max(this.#entries.at(-1)?.index ?? 0, this.#snapshot.index);
  }

  get lastTerm(): number {
    return this.termAt(this.lastIndex) ?? 0;
  }

  /** The entries held, folded ones that were kept included (a copy). */
  entries(): Entry[] {
    return this.#entries.map((entry) => ({ ...entry }));
  }

  /** The entry at `index`, if held. */
  entry(index: number): Entry | undefined {
    const first = this.#entries[0];
    if (first === undefined) return undefined;
    return this.#entries[index - first.index];
  }

  /** The term of the entry at `index`: 0 before the log, undefined when unknown (folded or past the end). */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    const entry = this.entry(index);
    if (entry !== undefined) return entry.term;
    if (index === this.#snapshot.index) return this.#snapshot.term;
    return undefined;
  }

  /** Up to `count_max` entries from `from` on (none when `from` is folded and not kept). */
  slice(from: number, count_max: number): Entry[] {
    const first = this.#entries[0];
    if (first === undefined || from < first.index) return [];
    return this.#entries.slice(from - first.index, from - first.index + count_max).map((e) => ({ ...e }));
  }

  /**
   * Whether a candidate whose log ends at `last_index` of `last_term` is at least as up to date
   * as this log (Raft §5.4.1): the later last term wins, then the longer log.
   */
  isUpToDate(last_index: number, last_term: number): boolean {
    if (last_term !== this.lastTerm) return last_term > this.lastTerm;
    return last_index >= this.lastIndex;
  }

  /** The leader appends a change at the end, in its term. */
  append(term: number, change: LogChange): Entry {
    if (term < this.lastTerm) throw new Error(`append at term ${term}, below the last term ${this.lastTerm}`);
    const entry = { index: this.lastIndex + 1, term, change };
    this.#entries.push(entry);
    return { ...entry };
  }

  /**
   * A follower takes `entries` that follow `prev_index` of `prev_term` from its leader. Entries up
   * to `commit_index` are committed and so match any leader's (Leader Completeness): they are
   * skipped, never compared. An entry whose term differs from ours at its index removes ours and
   * every entry after it; matching entries are kept, so a late, shorter append truncates nothing.
   */
  accept(
    prev_index: number,
    prev_term: number,
    entries: readonly Entry[],
    commit_index: number,
  ): AcceptResult {
    let start = 0;
    let prev = prev_index;
    if (prev_index < commit_index) {
      start = Math.min(entries.length, commit_index - prev_index);
      prev = prev_index + start;
    } else {
      const ours = this.termAt(prev_index);
      if (ours === undefined) return { ok: false, next_hint: Math.min(this.lastIndex + 1, prev_index) };
      if (ours !== prev_term)
        return { ok: false, next_hint: this.#firstOfTerm(prev_index, ours, commit_index) };
    }
    let truncated_from: number | undefined;
    for (const entry of entries.slice(start)) {
      const ours = this.termAt(entry.index);
      if (ours === entry.term) continue;
      if (ours !== undefined) {
        if (entry.index <= commit_index)
          throw new Error(`a leader's entry ${entry.index} conflicts with a committed one`);
        const first = this.#entries[0]!;
        this.#entries.length = entry.index - first.index;
        truncated_from ??= entry.index;
      }
      if (entry.index !== this.lastIndex + 1)
        throw new Error(`entry ${entry.index} does not follow the log's last ${this.lastIndex}`);
      this.#entries.push({ ...entry });
    }
    return { ok: true, match_index: Math.max(prev, prev_index + entries.length), truncated_from };
  }

  /** The first index, after `floor`, of the run of entries of `term` that holds `index`. */
  #firstOfTerm(index: number, term: number, floor: number): number {
    let at = index;
    while (at - 1 > floor && this.termAt(at - 1) === term) at--;
    return at;
  }

  /**
   * Folds the entries up to `point` into the snapshot (they are committed and applied), keeping
   * the last `keep` of them for followers that lag by little.
   */
  compact(point: LogPoint, keep: number): void {
    if (point.index < this.#snapshot.index) throw new Error('the snapshot point never goes back');
    if (this.termAt(point.index) !== point.term)
      throw new Error(
        `compact at ${point.index}: its term is ${this.termAt(point.index)}, not ${point.term}`,
      );
    this.#snapshot = { ...point };
    const drop_through = point.index - keep;
    const first = this.#entries[0];
    if (first !== undefined && drop_through >= first.index)
      this.#entries.splice(0, Math.min(this.#entries.length, drop_through - first.index + 1));
  }

  /**
   * A leader's snapshot at `point` replaces what this log knows up to it: entries after it are
   * kept when the log holds the point itself (they may still match), else the log is emptied.
   */
  installSnapshot(point: LogPoint): void {
    const matches = this.entry(point.index)?.term === point.term;
    const first = this.#entries[0];
    this.#snapshot = { ...point };
    if (!matches || first === undefined) {
      this.#entries = [];
      return;
    }
    this.#entries = this.#entries.slice(point.index - first.index + 1);
  }
}
