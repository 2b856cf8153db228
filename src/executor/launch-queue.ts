/**
 * The runner's launch queue: the one action each item may have waiting to be launched (its
 * plan's script, a retry, a drain's `down`, an announcement, a hand-back). An item has at most
 * one waiting action, which bounds the queue by the number of items; the map makes "an item is
 * queued exactly when it has an action" hold by construction.
 */
import type { ActionKind, ScriptEvent } from './types.js';

/** A script waiting to be launched. */
export interface Action {
  event: ScriptEvent;
  attempt: number;
  /** Not before this time (ms). */
  at: number;
  plan: number;
  kind: ActionKind;
  /** Insertion order, to break ties deterministically. */
  seq: number;
}

export class LaunchQueue<Item> {
  readonly #actions = new Map<Item, Action>();
  #seq = 0;

  get size(): number {
    return this.#actions.size;
  }

  /** The action waiting for `item`, if any. */
  get(item: Item): Action | undefined {
    return this.#actions.get(item);
  }

  has(item: Item): boolean {
    return this.#actions.has(item);
  }

  /** Queues `item`'s action; a second one for the same item is a programmer error. */
  add(item: Item, action: Omit<Action, 'seq'>, describe: () => string): void {
    if (this.#actions.has(item)) throw new Error(`assertion failed: ${describe()}: second pending action`);
    this.#seq += 1;
    this.#actions.set(item, { ...action, seq: this.#seq });
  }

  /** Removes and returns `item`'s action. */
  take(item: Item): Action | undefined {
    const action = this.#actions.get(item);
    this.#actions.delete(item);
    return action;
  }

  clear(): void {
    this.#actions.clear();
  }

  /** The earliest time after `now` at which an action becomes due (Infinity when none). */
  nextDueAfter(now: number): number {
    let wake = Number.POSITIVE_INFINITY;
    for (const action of this.#actions.values()) if (action.at > now) wake = Math.min(wake, action.at);
    return wake;
  }

  /**
   * Items whose action is due at `now` and that `free` allows (no script of theirs running), in
   * launch order: first attempts of plans before retries and announcements, because a failover
   * should not wait behind an item whose script keeps failing; then earliest due; then queued first.
   */
  ready(now: number, free: (item: Item) => boolean): Item[] {
    const due = [...this.#actions].filter(([item, action]) => action.at <= now && free(item));
    due.sort(([, a], [, b]) => actionOrder(a, b));
    return due.map(([item]) => item);
  }
}

function actionOrder(a: Action, b: Action): number {
  const rank = (action: Action) => (action.kind === 'retry' || action.kind === 'announce' ? 1 : 0);
  return rank(a) - rank(b) || a.at - b.at || a.seq - b.seq;
}
