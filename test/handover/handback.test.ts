import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { handBacks, handedBack } from '../../src/handover/handback.js';
import { type PlacementInput, placeAll } from '../../src/placement/index.js';

const ip: PlacementInput & { name: string } = {
  name: 'ip',
  type: 'shard',
  data: ['192.168.0.1', '192.168.0.2'],
  members: ['flip1', 'flip'],
};
const all = new Set(['flip', 'flip1', 'flip2']);
const withoutFlip1 = new Set(['flip', 'flip2']);

describe('placement: hand-backs', () => {
  it("the README story: flip1's item comes home from flip, which is alive and gives it up", () => {
    const before = placeAll([ip], withoutFlip1);
    const now = placeAll([ip], all);
    assert.deepEqual(Object.fromEntries(handedBack('flip1', before, now, all)), { ip: ['192.168.0.1'] });
    // flip hands nothing back to anybody: it only gives up.
    assert.deepEqual(handedBack('flip', before, now, all).size, 0);
  });

  it('a failover is no hand-back: the holder is gone', () => {
    const before = placeAll([ip], all);
    const now = placeAll([ip], withoutFlip1);
    assert.equal(handedBack('flip', before, now, withoutFlip1).size, 0);
  });

  it('an item that moved on quickly comes from every live server that held it lately', () => {
    // x went from a to b (a's view: a down), then to c (b down in our view a moment later).
    const holding = (holder: string) =>
      new Map([
        [
          's',
          { holdings: new Map(['a', 'b', 'c'].map((id) => [id, id === holder ? ['x'] : []])), unplaced: [] },
        ],
      ]);
    const live = new Set(['a', 'b', 'c']);
    const from = handBacks('c', holding('b'), holding('c'), live, [holding('a')])
      .get('s')
      ?.get('x');
    assert.deepEqual(from, ['b', 'a']);
    assert.deepEqual(
      handBacks('c', holding('b'), holding('c'), new Set(['c', 'a'])).size,
      0,
      'b down: a failover',
    );
    assert.deepEqual(
      handBacks('c', holding('b'), holding('c'), new Set(['c', 'a']), [holding('a')])
        .get('s')
        ?.get('x'),
      ['a'],
      'b is down, but a may not have let go yet',
    );
  });

  it('replicated items are never handed back: nobody gives them up', () => {
    const replicated = { ...ip, type: 'replicated' as const };
    const before = placeAll([replicated], withoutFlip1);
    const now = placeAll([replicated], all);
    assert.equal(handedBack('flip1', before, now, all).size, 0);
  });

  it('for any views: exactly the items new here that a live server held and gives up', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const idSet = fc.subarray(ids);
    fc.assert(
      fc.property(
        fc.constantFrom('shard' as const, 'replicated' as const, 'single' as const),
        fc.integer({ min: 0, max: 12 }),
        idSet,
        idSet,
        fc.constantFrom(...ids),
        (type, count, liveBefore, liveNow, self) => {
          const system = {
            name: 's',
            type,
            data: Array.from({ length: count }, (_, i) => `item${String(i).padStart(2, '0')}`),
            members: ids,
          };
          const before = placeAll([system], new Set(liveBefore));
          const now = placeAll([system], new Set(liveNow));
          const live = new Set(liveNow);
          const listed = new Set(handedBack(self, before, now, live).get('s') ?? []);
          // Exactly the items that are new here and that a live server held and gives up.
          for (const item of system.data) {
            const isNew =
              now.get('s')!.holdings.get(self)!.includes(item) &&
              !before.get('s')!.holdings.get(self)!.includes(item);
            const givers = [...before.get('s')!.holdings].filter(
              ([id, held]) =>
                id !== self &&
                live.has(id) &&
                held.includes(item) &&
                !now.get('s')!.holdings.get(id)!.includes(item),
            );
            assert.equal(listed.has(item), isNew && givers.length > 0, item);
          }
          if (type === 'replicated') assert.equal(listed.size, 0, 'nobody gives up a replicated item');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
