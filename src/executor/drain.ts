/**
 * Drain, the runner's shutdown: once started it takes no new work, runs `down` once (no retries)
 * for every item that may be configured here when asked to, and says when nothing runs or waits
 * any more. The first drain decides; later ones change nothing.
 *
 * Pure: the script runner cancels its waiting work, queues the `down`s this says to, and asks
 * whether 'drained' is to be noted.
 */

type State<Item> =
  | { readonly kind: 'serving' }
  | {
      readonly kind: 'draining';
      readonly run_down: boolean;
      /** Items whose drain `down` has been queued: each gets one. */
      readonly queued: Set<Item>;
      reported: boolean;
    };

export class Drain<Item> {
  #state: State<Item> = { kind: 'serving' };

  /** A drain has started: the runner takes no new work. */
  get draining(): boolean {
    return this.#state.kind === 'draining';
  }

  /** Starts the drain; false when one has started already (the first drain decides). */
  start(run_down: boolean): boolean {
    if (this.#state.kind === 'draining') return false;
    this.#state = { kind: 'draining', run_down, queued: new Set(), reported: false };
    return true;
  }

  /**
   * Whether `item`, with no script running, is to run its drain `down` now: the drain runs them,
   * the item may be configured here (`maybe_held`), and it has not had one. Counts it as queued.
   */
  takeDown(item: Item, maybe_held: boolean): boolean {
    const state = this.#state;
    if (state.kind !== 'draining' || !state.run_down || state.queued.has(item) || !maybe_held) return false;
    state.queued.add(item);
    return true;
  }

  /** Whether 'drained' is to be noted now, with the runner `idle` (nothing running or queued): once. */
  drained(idle: boolean): boolean {
    const state = this.#state;
    if (state.kind !== 'draining' || state.reported || !idle) return false;
    state.reported = true;
    return true;
  }
}
