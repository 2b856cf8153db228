/**
 * Generations: every script run and every waiting action is made for one generation of its item,
 * the target (`alive` or `down`) that a plan set for it and that plan's number. The generation
 * moves on when a newer plan retargets the item, or when its plan's `alive` is skipped because a
 * newer set moves it away. A result or a timer that comes for an older generation is stale: what
 * a finished script did to the host is still a fact, but nothing it stood for may act on the newer
 * generation (a retry, a failure streak, an announcement, a launch). A drain's `down` belongs to
 * the shutdown, not to a plan, and is never stale.
 *
 * Pure: the script runner asks, when a script ends and before a waiting action is launched.
 */
import type { ActionKind, ScriptEvent } from './types.js';

/** An item's newest generation: what its newest plan wants there, and which plan said so. */
export interface Generation {
  readonly target: ScriptEvent | undefined;
  readonly plan: number;
}

/** What a run or a waiting action was made for. */
export interface MadeFor {
  readonly event: ScriptEvent;
  readonly plan: number;
  readonly kind: ActionKind;
}

/** Whether `made` still belongs to the item's newest generation `generation`. */
export function isCurrent(made: MadeFor, generation: Generation): boolean {
  if (made.kind === 'drain') return true;
  return made.event === generation.target && made.plan === generation.plan;
}
