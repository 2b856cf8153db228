/**
 * Placement: which member of a system holds which items, for a given set of live servers.
 *
 * Pure and deterministic: every node that has the same view computes the same answer, so no
 * coordination is needed beyond agreeing on who is alive.
 */
import type { SystemType } from '../config/defaults.js';
import { placeByHash } from './rendezvous.js';

export interface PlacementInput {
  type: SystemType;
  /** Items, already sorted (the config loader sorts them). */
  data: readonly string[];
  /** Member ids in server order (priority, then id); `hash` ignores the order. */
  members: readonly string[];
}

export interface Placement {
  /** Every member, live or not, with the items it holds (in data order); [] when none. */
  holdings: Map<string, string[]>;
  /** Items no live member can hold (every member is down). */
  unplaced: string[];
}

export function place(system: PlacementInput, live: ReadonlySet<string>): Placement {
  const holdings = new Map<string, string[]>(system.members.map((id) => [id, []]));
  const liveMembers = system.members.filter((id) => live.has(id));
  if (liveMembers.length === 0) return { holdings, unplaced: [...system.data] };

  switch (system.type) {
    case 'replicated':
      for (const id of liveMembers) holdings.set(id, [...system.data]);
      break;
    case 'single':
      holdings.set(liveMembers[0]!, [...system.data]);
      break;
    case 'shard':
      placeShards(system, live, holdings);
      break;
    case 'hash':
      placeByHash(system.data, liveMembers, holdings);
      break;
    default: {
      const unknown: never = system.type;
      throw new Error(`placement: no rule for system type ${String(unknown)}`);
    }
  }
  return { holdings, unplaced: [] };
}

/**
 * Item i's home is member i mod n. Items whose home is down ("orphans") go, in item order, to
 * the live member holding the fewest items so far, ties to the earlier member. Items with a
 * live home never move, so a failure moves only the failed member's items and a return brings
 * them home. Home counts differ by at most one and the earlier members hold the extra ones,
 * so the greedy choice also keeps each live member's share of orphans within one of the others.
 * A home is a position, not a name: an item added or removed shifts the home of every item
 * after it in the sorted list, and a member added or removed changes n and so most homes (the
 * `hash` type, rendezvous.ts, moves none of those; bench/placement.ts measures both).
 */
function placeShards(
  system: PlacementInput,
  live: ReadonlySet<string>,
  holdings: Map<string, string[]>,
): void {
  const n = system.members.length;
  const orphans: number[] = [];
  system.data.forEach((item, i) => {
    const home = system.members[i % n]!;
    if (live.has(home)) holdings.get(home)!.push(item);
    else orphans.push(i);
  });
  if (orphans.length === 0) return;

  const liveMembers = system.members.filter((id) => live.has(id));
  for (const i of orphans) {
    let target = liveMembers[0]!;
    for (const id of liveMembers) {
      if (holdings.get(id)!.length < holdings.get(target)!.length) target = id;
    }
    holdings.get(target)!.push(system.data[i]!);
  }
  // Keep each member's list in data order, whatever order the orphans arrived in.
  const order = new Map(system.data.map((item, i) => [item, i]));
  for (const items of holdings.values()) items.sort((a, b) => order.get(a)! - order.get(b)!);
}

/** The placement of every system of a cluster, by system name. */
export function placeAll(
  systems: readonly (PlacementInput & { name: string })[],
  live: ReadonlySet<string>,
): Map<string, Placement> {
  return new Map(systems.map((system) => [system.name, place(system, live)]));
}

/** What one server holds under a placement of every system: system name -> items. */
export function heldBy(placements: ReadonlyMap<string, Placement>, serverId: string): Map<string, string[]> {
  const held = new Map<string, string[]>();
  for (const [name, placement] of placements) held.set(name, placement.holdings.get(serverId) ?? []);
  return held;
}
