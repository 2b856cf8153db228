/**
 * Placement among the members that are ready: a live member whose health check fails, or that
 * holds down after a return (membership/readiness.ts), stays live (it answers and votes) but
 * gets no items of that system. Every server has the same readiness records, so every server
 * still computes the same placement. Pure.
 */
import { type Placement, type PlacementInput, place } from './placement.js';

/** Whether server `id` may be given items of `system`. */
export type ReadyFor = (id: string, system: string) => boolean;

/** The servers of `live` that are ready for `system`. */
export function readyIn(system: { name: string }, live: ReadonlySet<string>, ready: ReadyFor): Set<string> {
  return new Set([...live].filter((id) => ready(id, system.name)));
}

/** The placement of every system among its ready live members, by system name. */
export function placeReady(
  systems: readonly (PlacementInput & { name: string })[],
  live: ReadonlySet<string>,
  ready: ReadyFor,
): Map<string, Placement> {
  return new Map(systems.map((system) => [system.name, place(system, readyIn(system, live, ready))]));
}
