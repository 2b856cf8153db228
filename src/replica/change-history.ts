/**
 * The changes committed lately, by version: what a leader needs to tell whether a change made
 * against version b conflicts with one committed since (changes/conflicts.ts). It is built from
 * the versions this server applied in this life, so it starts empty at the version the server
 * starts from, and a snapshot (which skips versions) empties it again. Bounded in count and in
 * bytes: a change made against a version older than what it holds cannot be checked, and the
 * leader refuses it as a conflict (the client looks again and retries).
 */
import type { ConfigChange } from '../changes/index.js';

/** Changes kept: enough for a client that looked at the config a thousand changes ago. */
export const HISTORY_CHANGES_MAX = 1024;
/** Bytes kept (as JSON): a change may be as large as a config file (8 MiB), so count bytes too. */
export const HISTORY_BYTES_MAX = 16 * 1024 * 1024;

export class ChangeHistory {
  /** The version the first kept change made, minus one: changes after `#from` are kept. */
  #from: number;
  #changes: { change: ConfigChange; bytes: number }[] = [];
  #bytes = 0;

  /** A history that knows the changes after `version` (none yet). */
  constructor(version: number) {
    this.#from = version;
  }

  /** The latest version recorded (or started from). */
  get version(): number {
    return this.#from + this.#changes.length;
  }

  /** The oldest base version it can check: changes after it are all held. */
  get from(): number {
    return this.#from;
  }

  /**
   * Version `version` was applied: by `change`, or by a snapshot (null), which skips versions and
   * so forgets what came before.
   */
  record(version: number, change: ConfigChange | null): void {
    if (change === null || version !== this.version + 1) {
      this.#from = version;
      this.#changes = [];
      this.#bytes = 0;
      return;
    }
    const bytes = JSON.stringify(change).length;
    this.#changes.push({ change, bytes });
    this.#bytes += bytes;
    while (
      this.#changes.length > 0 &&
      (this.#changes.length > HISTORY_CHANGES_MAX || this.#bytes > HISTORY_BYTES_MAX)
    ) {
      this.#bytes -= this.#changes.shift()!.bytes;
      this.#from++;
    }
  }

  /**
   * The changes committed after `base`, in version order; undefined when some of them are not
   * held (`base` before `from`). `base` must not be after `version`.
   */
  since(base: number): ConfigChange[] | undefined {
    if (base < this.#from) return undefined;
    if (base > this.version) throw new Error(`history since ${base}, after its version ${this.version}`);
    return this.#changes.slice(base - this.#from).map((kept) => kept.change);
  }
}
