/**
 * The consensus's safety properties, checked from outside the nodes (Raft §5.4, Figure 3), for
 * the test harness (testing.ts) and later the simulator. Each check throws an error naming what
 * broke, where and when; the harness adds the seed.
 *
 * - Election Safety: at most one leader per term.
 * - Log Matching: two logs holding an entry of the same index and term hold the same entries up
 *   to it.
 * - Leader Completeness: a leader holds every entry committed in earlier terms.
 * - State Machine Safety: no two servers apply different configs for the same version, and each
 *   server applies versions in order.
 * - Durability: a server's committed version never goes back, a restart included, and an
 *   acknowledged change (reported committed) stays in every later version.
 */
import type { ConfigChange } from '../changes/index.js';
import type { Entry } from './messages.js';
import type { ProposalOutcome, RaftView } from './raft-node.js';

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

/** An acknowledged change: the leader reported it committed at `version`. */
export interface Acknowledged {
  version: number;
  index: number;
  change: ConfigChange;
}

export class RaftChecker {
  /** The leader of each term seen. */
  readonly leaders = new Map<number, string>();
  /** The config applied at each version, as JSON. */
  readonly versions = new Map<number, string>();
  /** The committed entries seen applied, by index: term unknown for snapshots (only index). */
  readonly committed = new Map<number, { version: number; term: number; change: string }>();
  /** The highest version each server applied (kept across its restarts). */
  readonly applied_version = new Map<string, number>();
  readonly acknowledged: Acknowledged[] = [];
  /** Proposals the harness made, by "server/id", with their change. */
  readonly proposals = new Map<string, ConfigChange>();
  readonly outcomes = new Map<string, ProposalOutcome>();

  #fail(now: number, what: string): never {
    throw new SafetyViolation(`at ${now} ms: ${what}`);
  }

  /** A server applied a committed version (the `applied` effect). */
  onApplied(
    now: number,
    server: string,
    applied: { version: number; index: number; term: number; change: ConfigChange | null; config: unknown },
  ): void {
    const json = JSON.stringify(applied.config);
    const seen = this.versions.get(applied.version);
    if (seen === undefined) this.versions.set(applied.version, json);
    else if (seen !== json)
      this.#fail(
        now,
        `State Machine Safety: ${server} applied version ${applied.version} with another config`,
      );
    const before = this.applied_version.get(server) ?? 0;
    if (applied.version <= before)
      this.#fail(now, `${server} applied version ${applied.version} after ${before}`);
    if (applied.change !== null && applied.version !== before + 1)
      this.#fail(now, `${server} applied version ${applied.version} from an entry right after ${before}`);
    this.applied_version.set(server, applied.version);
    if (applied.change !== null) {
      const change = JSON.stringify(applied.change);
      const at = this.committed.get(applied.index);
      if (at === undefined)
        this.committed.set(applied.index, { version: applied.version, term: applied.term, change });
      else if (at.change !== change || at.version !== applied.version || at.term !== applied.term)
        this.#fail(now, `State Machine Safety: ${server} committed another change at index ${applied.index}`);
    }
  }

  /** A proposal's outcome was reported by `server`. */
  onOutcome(now: number, server: string, id: number, outcome: ProposalOutcome): void {
    const key = `${server}/${id}`;
    if (this.outcomes.has(key)) this.#fail(now, `proposal ${key} reported twice`);
    this.outcomes.set(key, outcome);
    const change = this.proposals.get(key);
    if (outcome.status !== 'committed' || change === undefined) return;
    const at = this.committed.get(outcome.index);
    if (at !== undefined && at.change !== JSON.stringify(change))
      this.#fail(now, `proposal ${key} reported committed at ${outcome.index}, which holds another change`);
    this.acknowledged.push({ version: outcome.version, index: outcome.index, change });
  }

  /**
   * A server restarted from its stored state: it must not have lost a version it applied, and
   * the version it starts from (stored before the crash cut its `applied` effects short) is
   * applied now, with the content every other server has for it.
   */
  onRestart(
    now: number,
    server: string,
    committed: { version: number; index: number; term: number; config: unknown },
  ): void {
    const before = this.applied_version.get(server) ?? 0;
    if (committed.version < before)
      this.#fail(
        now,
        `${server} restarted at version ${committed.version}, but had applied ${before} (not stored first)`,
      );
    if (committed.version === before || committed.version === 0) return;
    this.onApplied(now, server, { ...committed, change: null });
  }

  /** Checks the running servers' views against each other and the history. */
  check(now: number, views: readonly RaftView[]): void {
    for (const view of views) {
      if (view.role !== 'leader') continue;
      const leader = this.leaders.get(view.term);
      if (leader === undefined) this.leaders.set(view.term, view.self);
      else if (leader !== view.self)
        this.#fail(now, `Election Safety: ${leader} and ${view.self} both lead term ${view.term}`);
      this.#checkComplete(now, view);
    }
    for (let i = 0; i < views.length; i++)
      for (let j = i + 1; j < views.length; j++) this.#checkMatching(now, views[i]!, views[j]!);
  }

  /**
   * Leader Completeness: a leader holds every entry committed in an earlier term, in its log or
   * folded into its committed config.
   */
  #checkComplete(now: number, leader: RaftView): void {
    for (const [index, committed] of this.committed) {
      if (index <= leader.committed.index || committed.term >= leader.term) continue;
      const entry = leader.log.find((e) => e.index === index);
      if (entry === undefined || JSON.stringify(entry.change) !== committed.change)
        this.#fail(
          now,
          `Leader Completeness: leader ${leader.self} of term ${leader.term} lacks committed entry ${index}`,
        );
    }
    if (leader.committed.version < this.#highestVersionAt(leader.committed.index))
      this.#fail(now, `Leader Completeness: leader ${leader.self} is behind the committed versions`);
  }

  #highestVersionAt(index: number): number {
    let version = 0;
    for (const [at, committed] of this.committed)
      if (at <= index) version = Math.max(version, committed.version);
    return version;
  }

  /** Log Matching: below the highest index where two logs agree on the term, they agree on everything. */
  #checkMatching(now: number, a: RaftView, b: RaftView): void {
    const theirs = new Map<number, Entry>(b.log.map((entry) => [entry.index, entry]));
    let agreed = false;
    for (let k = a.log.length - 1; k >= 0; k--) {
      const ours = a.log[k]!;
      const other = theirs.get(ours.index);
      if (other === undefined) continue;
      if (!agreed && other.term !== ours.term) continue;
      agreed = true;
      if (other.term !== ours.term || JSON.stringify(other.change) !== JSON.stringify(ours.change))
        this.#fail(
          now,
          `Log Matching: ${a.self} and ${b.self} differ at ${ours.index} below an entry they share`,
        );
    }
  }
}
