/**
 * Placement among the members that are ready: a live member whose health check fails, or that
 * holds down after a return (membership/readiness.ts), stays live (it answers and votes) but
 * gets no items of that system. Every server has the same readiness records, so every server
 * still computes the same placement. Pure.
 */
import { type Placement, type PlacementInput, place } from './placement.js';

/** Whether server `id` may be given items of `system`. */
export type ReadyFor = (id: string, system: string) => boolean;

/**
 * The servers of `live` that are ready for `system`; when none is, those that are only holding
 * down (`holding`): a hold-down keeps items away from a returning server while another member can
 * serve them, never leaves them with no owner.
 */
export function readyIn(
  system: { name: string; members?: readonly string[] },
  live: ReadonlySet<string>,
  ready: ReadyFor,
  holding?: ReadyFor,
): Set<string> {
  const out = new Set([...live].filter((id) => ready(id, system.name)));
  if (holding === undefined) return out;
  // Only the system's own members count (an arbiter is "ready" for nothing it could hold).
  const members = system.members === undefined ? undefined : new Set(system.members);
  if ([...out].some((id) => members === undefined || members.has(id))) return out;
  return new Set([...live].filter((id) => holding(id, system.name)));
}

/** The placement of every system among its ready live members, by system name. */
export function placeReady(
  systems: readonly (PlacementInput & { name: string })[],
  live: ReadonlySet<string>,
  ready: ReadyFor,
  holding?: ReadyFor,
): Map<string, Placement> {
  return new Map(
    systems.map((system) => [system.name, place(system, readyIn(system, live, ready, holding))]),
  );
}
