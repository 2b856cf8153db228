/**
 * A plan's phases, for one system: a plan runs `down` for every leaving item before any `alive`
 * for an arriving one, so that an address is released here before another is taken up, and it
 * completes when each of its scripts has finished its first attempt.
 *
 * Pure: the script runner says which items leave and arrive, queues the scripts, and reports the
 * end of every first attempt; these functions say what phase the plan is in then.
 */
import type { ScriptEvent } from './types.js';

/** A plan while it is incomplete; each phase holds only what it waits for. */
export type Plan<Item> = DownPhase<Item> | AlivePhase<Item>;

export interface DownPhase<Item> {
  readonly phase: 'down';
  readonly number: number;
  /** Items whose first `down` attempt has not finished yet. */
  readonly down_outstanding: Set<Item>;
  /** Items whose `alive` waits for the down phase to end. */
  readonly arriving: readonly Item[];
}

export interface AlivePhase<Item> {
  readonly phase: 'alive';
  readonly number: number;
  /** Items whose first `alive` attempt has not finished yet. */
  readonly alive_outstanding: Set<Item>;
}

/** What the runner knows of an item when it makes a plan. */
export interface PlannedItem {
  readonly item: string;
  /** What the newest plan wants here; undefined before the first plan touched the item. */
  readonly target: ScriptEvent | undefined;
  /** Not an item any more, but maybe left configured here by an earlier life: always taken down. */
  readonly stray?: boolean;
}

/** The items of a new plan, in data order. */
export interface PlanItems<Item> {
  /** Run `down`: targeted `alive`, or never targeted and cleaned up at start. */
  leaving: Item[];
  /** Run `alive`: desired and not targeted `alive` yet. */
  arriving: Item[];
  /** Never targeted, not desired, and not cleaned up at start: taken as not held, no script. */
  trusted_down: Item[];
}

/**
 * Splits the items (in data order) for a plan of the `desired` set. With `remove_on_start`, an
 * item no plan has touched yet and not desired runs `down`, to clean up after a crash; without,
 * a fresh start is trusted to hold nothing.
 */
export function planItems<Item extends PlannedItem>(
  order: readonly Item[],
  desired: ReadonlySet<string>,
  remove_on_start: boolean,
): PlanItems<Item> {
  const items: PlanItems<Item> = { leaving: [], arriving: [], trusted_down: [] };
  for (const item of order) {
    if (desired.has(item.item)) {
      if (item.target !== 'alive') items.arriving.push(item);
    } else if (
      item.target === 'alive' ||
      (item.target === undefined && (remove_on_start || item.stray === true))
    ) {
      items.leaving.push(item);
    } else if (item.target === undefined) {
      items.trusted_down.push(item);
    }
  }
  return items;
}

/** Plan `number`, in its down phase: `leaving` run `down` first, then `arriving` run `alive`. */
export function downPhase<Item>(
  number: number,
  leaving: readonly Item[],
  arriving: readonly Item[],
): DownPhase<Item> {
  return { phase: 'down', number, down_outstanding: new Set(leaving), arriving };
}

/**
 * The alive phase of `plan`, waiting for the first `alive` of `arriving` (the plan's arriving
 * items less those that wait outside it); undefined when there is none: the plan is complete.
 */
export function alivePhase<Item>(
  plan: DownPhase<Item>,
  arriving: readonly Item[],
): AlivePhase<Item> | undefined {
  if (arriving.length === 0) return undefined;
  return { phase: 'alive', number: plan.number, alive_outstanding: new Set(arriving) };
}

/** What the end of a first attempt did to the plan. */
export type Progress<Item> =
  /** The plan goes on in the phase it is in (or the attempt was not one of its own). */
  | { readonly next: 'same' }
  /** That was the last `down`: the alive phase of this plan is to start. */
  | { readonly next: 'alive'; readonly plan: DownPhase<Item> }
  /** That was the last `alive`: the plan is complete. */
  | { readonly next: 'complete' };

/**
 * The first attempt of `event` for `item`, made for plan `number`, has finished. It counts whether
 * it succeeded or failed: waiting for a failing `down` to succeed before any `alive` would let one
 * broken script block the failover of every other item for ever, so a failed `down` is retried
 * in the background while the plan goes on.
 */
export function firstAttemptEnded<Item>(
  plan: Plan<Item>,
  number: number,
  item: Item,
  event: ScriptEvent,
): Progress<Item> {
  if (plan.number !== number || plan.phase !== event) return { next: 'same' };
  if (plan.phase === 'down') {
    plan.down_outstanding.delete(item);
    return plan.down_outstanding.size === 0 ? { next: 'alive', plan } : { next: 'same' };
  }
  plan.alive_outstanding.delete(item);
  return plan.alive_outstanding.size === 0 ? { next: 'complete' } : { next: 'same' };
}
