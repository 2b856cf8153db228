/**
 * The hand-back gate: which arriving items of one system wait before their first `alive`, and
 * until when.
 *
 * An arriving item may still be held by another server: the controller claims it (see
 * handover/claims.ts) and gives the runner a wait with no end (Infinity), which its `cleared`
 * command ends once every other member agreed. Whose word counts is the controller's to judge
 * (src/node/controller.ts); the gate only keeps the waits.
 *
 * Pure: no clock, timer or I/O. The time comes with every call that needs it (ms, monotonic);
 * the script runner asks the gate and queues the scripts.
 */

export class HandbackGate {
  /** Items handed back whose previous holder has not said it let go: item -> until when to wait. */
  readonly #waits = new Map<string, number>();

  /**
   * `item` is handed back at `now`: its first `alive` is to wait for the release until
   * `now + wait_ms`. A wait under way ends at the later of the two deadlines; one that has
   * ended stays ended.
   */
  expect(now: number, item: string, wait_ms: number): void {
    const until = this.#waits.get(item);
    // A later deadline (a gone holder's fence found by a later plan) extends a wait under way;
    // a wait that has ended stays ended until forgotten.
    if (until === undefined || (until > now && until < now + wait_ms)) this.#waits.set(item, now + wait_ms);
  }

  /** The previous holder of `item` let go: the item waits no more. */
  heard(item: string): void {
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

  /**
   * Drops the waits of items outside `wanted`, except those a running plan still brings
   * (`bringing`): their `alive` is already decided and must go on waiting, or it would start at
   * once beside the previous holder; the next plan takes them away again.
   */
  retain(wanted: ReadonlySet<string>, bringing: readonly string[] = []): void {
    const keep = new Set(bringing);
    for (const item of this.#waits.keys()) if (!wanted.has(item) && !keep.has(item)) this.#waits.delete(item);
  }
}
