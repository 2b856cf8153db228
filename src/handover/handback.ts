/**
 * Hand-backs: which items come to a server from a holder that is alive and gives them up.
 *
 * When a server returns, its items go home; the server that held them meanwhile is alive and
 * runs `down` for them. If the returning server ran `alive` at once, both would hold the items
 * for a moment. Items named here make the returning server wait for the holder's release
 * notice first (see src/handover/release-notices.ts). Pure: the same views give the same answer.
 */
import type { Placement } from '../placement/placement.js';

/**
 * Items of each system that `self` holds under `now` but did not under `before`, and that a
 * live server held under `before`, or under one of the `earlier` placements of the last moments,
 * and gives up under `now`. System name -> items, for systems with any.
 */
export function handedBack(
  self: string,
  before: ReadonlyMap<string, Placement>,
  now: ReadonlyMap<string, Placement>,
  live: ReadonlySet<string>,
  earlier: readonly ReadonlyMap<string, Placement>[] = [],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [system, items] of handBacks(self, before, now, live, earlier))
    out.set(system, [...items.keys()]);
  return out;
}

/**
 * As handedBack, with the servers each item comes from: system name -> item -> the ids of the
 * servers that may still hold it and give it up. An item that moved on quickly (a to b, then to
 * us, as one failure follows another) may still be on a as well as on b: a's `down` may not have
 * run yet. Only a release from one of them ends the wait for an item.
 */
export function handBacks(
  self: string,
  before: ReadonlyMap<string, Placement>,
  now: ReadonlyMap<string, Placement>,
  live: ReadonlySet<string>,
  earlier: readonly ReadonlyMap<string, Placement>[] = [],
): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const [system, placement] of now) {
    const then = before.get(system)?.holdings;
    if (then === undefined) continue;
    const had = new Set(then.get(self) ?? []);
    const views = [then, ...earlier.map((placements) => placements.get(system)?.holdings)];
    const items = new Map<string, string[]>();
    for (const item of placement.holdings.get(self) ?? []) {
      if (had.has(item)) continue;
      const from = new Set<string>();
      for (const holdings of views) {
        for (const [id, held] of holdings ?? []) {
          if (id === self || !live.has(id) || !held.includes(item)) continue;
          if ((placement.holdings.get(id) ?? []).includes(item)) continue;
          from.add(id);
        }
      }
      if (from.size > 0) items.set(item, [...from]);
    }
    if (items.size > 0) out.set(system, items);
  }
  return out;
}
