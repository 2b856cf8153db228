import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SystemType } from '../../src/config/index.js';
import { placeReady, readyIn } from '../../src/placement/eligible.js';
import { type Placement, type PlacementInput, place } from '../../src/placement/index.js';

const readmeIp: PlacementInput = {
  type: 'shard',
  data: ['192.168.0.1', '192.168.0.2'],
  members: ['flip1', 'flip'],
};
const all = new Set(['flip', 'flip1', 'flip2']);

function table(placement: Placement): Record<string, string[]> {
  return Object.fromEntries(placement.holdings);
}

describe('placement: the README tables', () => {
  it('all up: flip holds .2, flip1 holds .1', () => {
    assert.deepEqual(table(place(readmeIp, all)), { flip1: ['192.168.0.1'], flip: ['192.168.0.2'] });
  });
  it('flip1 down: flip holds both', () => {
    assert.deepEqual(table(place(readmeIp, new Set(['flip', 'flip2']))), {
      flip1: [],
      flip: ['192.168.0.1', '192.168.0.2'],
    });
  });
  it('flip1 back: the split returns', () => {
    assert.deepEqual(table(place(readmeIp, all)), { flip1: ['192.168.0.1'], flip: ['192.168.0.2'] });
  });
});

describe('placement: each type', () => {
  const members = ['a', 'b', 'c'];
  const data = ['1', '2', '3', '4', '5', '6', '7'];
  const cases: { type: SystemType; live: string[]; expect: Record<string, string[]>; unplaced?: string[] }[] =
    [
      { type: 'shard', live: ['a', 'b', 'c'], expect: { a: ['1', '4', '7'], b: ['2', '5'], c: ['3', '6'] } },
      // c's items 3 and 6 go to the least-loaded live member first: b (2 items), then a and b tie at 3.
      { type: 'shard', live: ['a', 'b'], expect: { a: ['1', '4', '6', '7'], b: ['2', '3', '5'], c: [] } },
      { type: 'shard', live: ['b', 'c'], expect: { a: [], b: ['1', '2', '5', '7'], c: ['3', '4', '6'] } },
      { type: 'shard', live: ['c'], expect: { a: [], b: [], c: data } },
      { type: 'shard', live: [], expect: { a: [], b: [], c: [] }, unplaced: data },
      { type: 'replicated', live: ['a', 'c'], expect: { a: data, b: [], c: data } },
      { type: 'replicated', live: [], expect: { a: [], b: [], c: [] }, unplaced: data },
      { type: 'single', live: ['a', 'b', 'c'], expect: { a: data, b: [], c: [] } },
      { type: 'single', live: ['b', 'c'], expect: { a: [], b: data, c: [] } },
      { type: 'single', live: [], expect: { a: [], b: [], c: [] }, unplaced: data },
      // Pinned: agents of different versions must agree, so a change to the hash shows here.
      { type: 'hash', live: ['a', 'b', 'c'], expect: { a: ['1', '5', '7'], b: ['2'], c: ['3', '4', '6'] } },
      // A down member's items go to the live member each scores next on; the others stay.
      { type: 'hash', live: ['a', 'b'], expect: { a: ['1', '3', '5', '7'], b: ['2', '4', '6'], c: [] } },
      { type: 'hash', live: ['b', 'c'], expect: { a: [], b: ['1', '2', '7'], c: ['3', '4', '5', '6'] } },
      { type: 'hash', live: [], expect: { a: [], b: [], c: [] }, unplaced: data },
    ];
  for (const testCase of cases) {
    it(`${testCase.type} with live [${testCase.live.join(',')}]`, () => {
      const placement = place({ type: testCase.type, data, members }, new Set(testCase.live));
      assert.deepEqual(table(placement), testCase.expect);
      assert.deepEqual(placement.unplaced, testCase.unplaced ?? []);
    });
  }

  it('ignores live servers that are not members (arbiters)', () => {
    const placement = place({ type: 'single', data: ['x'], members: ['a'] }, new Set(['arbiter']));
    assert.deepEqual(placement.unplaced, ['x']);
    assert.equal(placement.holdings.has('arbiter'), false);
  });
});

// Random systems: 1-8 members out of 10 servers, 0-30 distinct items, any type.
const systemArb = fc
  .record({
    type: fc.constantFrom<SystemType>('shard', 'hash', 'replicated', 'single'),
    members: fc.shuffledSubarray(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'], {
      minLength: 1,
      maxLength: 8,
    }),
    data: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 30 }),
  })
  .map(({ type, members, data }) => ({ type, members, data: [...data].sort() }));
const liveArb = fc
  .subarray(['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'])
  .map((ids) => new Set(ids));

function holdersOf(placement: Placement, item: string): string[] {
  return [...placement.holdings].filter(([, items]) => items.includes(item)).map(([id]) => id);
}

describe('placement: properties over random clusters and failures', () => {
  it('every item is held by exactly one live member (shard, hash, single) or all live members (replicated)', () => {
    fc.assert(
      fc.property(systemArb, liveArb, (system, live) => {
        const placement = place(system, live);
        const liveMembers = system.members.filter((id) => live.has(id));
        for (const [id, items] of placement.holdings) {
          assert.ok(system.members.includes(id), 'holder is a member');
          if (!live.has(id)) assert.deepEqual(items, [], 'a dead member holds nothing');
        }
        for (const item of system.data) {
          const holders = holdersOf(placement, item);
          if (liveMembers.length === 0) {
            assert.deepEqual(holders, []);
            assert.ok(placement.unplaced.includes(item));
          } else if (system.type === 'replicated') {
            assert.deepEqual(holders.sort(), [...liveMembers].sort());
          } else {
            assert.equal(holders.length, 1, `item ${item} held once`);
          }
        }
        if (liveMembers.length > 0) assert.deepEqual(placement.unplaced, []);
      }),
      { numRuns: 2000 },
    );
  });

  it('shard: an item with a live home stays home; load and orphan load differ by at most one', () => {
    fc.assert(
      fc.property(systemArb, liveArb, (system, live) => {
        const shard = { ...system, type: 'shard' as const };
        const placement = place(shard, live);
        const liveMembers = shard.members.filter((id) => live.has(id));
        if (liveMembers.length === 0) return;
        const orphanLoad = new Map(liveMembers.map((id) => [id, 0]));
        shard.data.forEach((item, i) => {
          const home = shard.members[i % shard.members.length]!;
          const [holder] = holdersOf(placement, item);
          if (live.has(home)) assert.equal(holder, home);
          else orphanLoad.set(holder!, orphanLoad.get(holder!)! + 1);
        });
        const loads = liveMembers.map((id) => placement.holdings.get(id)!.length);
        assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
        const orphans = [...orphanLoad.values()];
        assert.ok(Math.max(...orphans) - Math.min(...orphans) <= 1, `orphan loads ${orphans}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('moving between live sets moves only what must move', () => {
    fc.assert(
      fc.property(systemArb, liveArb, liveArb, (system, before, after) => {
        const a = place(system, before);
        const b = place(system, after);
        for (const item of system.data) {
          const holdersBefore = holdersOf(a, item);
          const holdersAfter = holdersOf(b, item);
          if (system.type === 'replicated') {
            // A replica stays wherever its member stays alive.
            for (const id of holdersBefore) if (after.has(id)) assert.ok(holdersAfter.includes(id));
            continue;
          }
          if (system.type === 'single') {
            // Whoever holds everything keeps it unless it died or an earlier member came back.
            const [was] = holdersBefore;
            const [now] = holdersAfter;
            if (was !== undefined && after.has(was) && now !== was) {
              assert.ok(
                system.members.indexOf(now!) < system.members.indexOf(was),
                'only an earlier member takes over',
              );
            }
            continue;
          }
          if (system.type === 'hash') {
            // An item changes hands only if its holder died or the new holder came alive.
            const [was] = holdersBefore;
            const [now] = holdersAfter;
            if (was !== undefined && now !== undefined && now !== was)
              assert.ok(!after.has(was) || !before.has(now), `${item}: ${was} -> ${now}`);
            continue;
          }
          const home = system.members[system.data.indexOf(item) % system.members.length]!;
          if (before.has(home) && after.has(home))
            assert.deepEqual(holdersAfter, holdersBefore, 'live home keeps it');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("shard: one failure from all-alive moves exactly the failed member's items, and its return brings them home", () => {
    fc.assert(
      fc.property(systemArb, fc.nat(), (system, pick) => {
        const shard = { ...system, type: 'shard' as const };
        const all = new Set(shard.members);
        const failed = shard.members[pick % shard.members.length]!;
        const after = new Set([...all].filter((id) => id !== failed));
        const a = place(shard, all);
        const b = place(shard, after);
        const c = place(shard, all);
        for (const item of shard.data) {
          const moved = holdersOf(a, item)[0] !== holdersOf(b, item)[0];
          const wasFailed = holdersOf(a, item)[0] === failed;
          if (after.size > 0) assert.equal(moved, wasFailed, `item ${item}`);
        }
        assert.deepEqual(table(c), table(a));
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic: the same view gives the same answer', () => {
    fc.assert(
      fc.property(systemArb, liveArb, (system, live) => {
        assert.deepEqual(table(place(system, live)), table(place(system, new Set([...live].reverse()))));
      }),
    );
  });
});

describe('placement among ready members (health checks, hold-down)', () => {
  const system = { ...readmeIp, name: 'ip' };
  const failing = new Set(['flip1']);
  const holding = new Set(['flip']);
  const ready = (id: string) => !failing.has(id) && !holding.has(id);
  const holds = (id: string) => holding.has(id);

  it('a failing or holding member gets no items while another member is ready', () => {
    assert.deepEqual([...readyIn(system, all, (id) => id === 'flip1')], ['flip1']);
    const placed = placeReady([system], all, (id) => id === 'flip1', holds).get('ip')!;
    assert.deepEqual(table(placed).flip1, ['192.168.0.1', '192.168.0.2']);
  });

  it('when no member is ready, those holding down serve the items; failing ones never do', () => {
    const placed = placeReady([system], all, ready, holds).get('ip')!;
    assert.deepEqual(table(placed).flip, ['192.168.0.1', '192.168.0.2']);
    assert.deepEqual(table(placed).flip1 ?? [], []);
    assert.deepEqual(
      [...readyIn(system, all, ready, holds)],
      ['flip'],
      'flip2, an arbiter, counts for nothing',
    );
  });
});
