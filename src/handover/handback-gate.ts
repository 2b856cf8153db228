/**
 * The hand-back gate: which arriving items of one system must wait for their previous holder's
 * release before their first `alive`, until when, and which releases were heard recently.
 *
 * A handed-back item (see handback.ts) comes from a holder that is alive and gives it up; its
 * first `alive` waits for that holder's release notice (see release-notices.ts), or for the end
 * of the wait, so that two servers do not hold the item at once. A notice can overtake the plan
 * that hands the item back, so releases are remembered for a while.
 *
 * Pure: no clock, timer or I/O. The time comes with every call that needs it (ms, monotonic);
 * the script runner asks the gate and queues the scripts.
 */

/**
 * How long a release is remembered for a plan that comes after it (ms): the notice can arrive
 * while the plan that hands the item back still waits for its delay.
 */
export const RELEASE_MEMORY_MS = 10_000;

export class HandbackGate {
  /** Items handed back whose previous holder has not said it let go: item -> until when to wait. */
  readonly #waits = new Map<string, number>();
  /** Items whose previous holder said it let go: item -> when it was heard. */
  readonly #heard = new Map<string, number>();

  /**
   * `item` is handed back at `now`: its first `alive` is to wait for the release until
   * `now + wait_ms`. Nothing changes when the item already waits (the first deadline holds) or
   * when its release was heard at most RELEASE_MEMORY_MS ago.
   */
  expect(now: number, item: string, wait_ms: number): void {
    if (this.#waits.has(item)) return;
    const heard = this.#heard.get(item);
    if (heard !== undefined && now - heard <= RELEASE_MEMORY_MS) return;
    this.#waits.set(item, now + wait_ms);
  }

  /** The previous holder of `item` said at `now` that it let go: the item waits no more. */
  heard(now: number, item: string): void {
    for (const [name, at] of this.#heard) if (now - at > RELEASE_MEMORY_MS) this.#heard.delete(name);
    this.#heard.set(item, now);
    this.#waits.delete(item);
  }

  /**
   * Until when `item`'s first `alive` is to wait, when that is later than `now`; undefined when it
   * need not wait. A wait that has ended stays until `forget`, `heard` or `retain` drops it, and
   * while it stays, `expect` starts no new wait for the item.
   */
  waitUntil(item: string, now: number): number | undefined {
    const until = this.#waits.get(item);
    return until !== undefined && until > now ? until : undefined;
  }

  /** Drops `item`'s wait: its `alive` is queued for the deadline and no longer asks. */
  forget(item: string): void {
    this.#waits.delete(item);
  }

  /** Drops the waits of items outside `wanted`: an item no longer wanted here runs no `alive`. */
  retain(wanted: ReadonlySet<string>): void {
    for (const item of this.#waits.keys()) if (!wanted.has(item)) this.#waits.delete(item);
  }
}
