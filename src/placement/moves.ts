/**
 * What a change moved: the items of a system that both placements place, and whose holders
 * differ between them. An item only one of them has (added or removed) is not a move. Pure; the
 * placement tests and bench/placement.ts measure with it.
 */
import type { Placement } from './placement.js';

/** Item -> its holders, sorted and joined, with '' for an unplaced item. */
function holdersByItem(placement: Placement): Map<string, string> {
  const holders = new Map<string, string[]>();
  for (const [id, items] of placement.holdings) {
    for (const item of items) {
      const list = holders.get(item);
      if (list === undefined) holders.set(item, [id]);
      else list.push(id);
    }
  }
  const out = new Map<string, string>();
  for (const [item, list] of holders) out.set(item, list.sort().join('\n'));
  for (const item of placement.unplaced) out.set(item, '');
  return out;
}

/** The items placed by both `before` and `after` whose holders changed, each once. */
export function movedItems(before: Placement, after: Placement): string[] {
  const was = holdersByItem(before);
  const moved: string[] = [];
  for (const [item, holders] of holdersByItem(after)) {
    const previous = was.get(item);
    if (previous !== undefined && previous !== holders) moved.push(item);
  }
  return moved;
}
