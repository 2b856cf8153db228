/**
 * The `hash` type (rendezvous hashing) under change, and `shard` beside it: what one added or
 * removed item, and one server joining or leaving, moves. Properties over random clusters
 * (fast-check, which prints the seed of a failure) and statistical bounds over seeded item sets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hash64 } from '../../src/placement/hash64.js';
import { movedItems, type Placement, place, rendezvousOwner } from '../../src/placement/index.js';
import { hashMembers } from '../../src/placement/rendezvous.js';
import { Random } from '../../src/testing/seeded.js';

const SERVERS = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9'];
const sorted = (items: Iterable<string>) => [...items].sort();

/** 1-8 members out of 10 servers, 0-40 distinct items (sorted, as the config loader gives them). */
const systemArb = fc
  .record({
    members: fc.shuffledSubarray(SERVERS, { minLength: 1, maxLength: 8 }),
    data: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 40 }),
  })
  .map(({ members, data }) => ({ type: 'hash' as const, members, data: sorted(data) }));
const liveArb = fc.subarray(SERVERS).map((ids) => new Set(ids));

function holderOf(placement: Placement, item: string): string | undefined {
  for (const [id, items] of placement.holdings) if (items.includes(item)) return id;
  return undefined;
}

function table(placement: Placement): Record<string, string[]> {
  return Object.fromEntries([...placement.holdings].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Items named as flip's users name them: consecutive addresses, which differ in a digit or two. */
function addresses(count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  });
}

/** Random item names from a seed. */
function randomNames(random: Random, count: number): string[] {
  const names = new Set<string>();
  while (names.size < count) names.add(`item-${random.int(2 ** 31).toString(36)}-${random.int(1000)}`);
  return [...names];
}

/**
 * The largest deviation from its mean that a Binomial(trials, p) count may show here: 5 standard
 * deviations. An ideal hash exceeds it with probability below 6e-7 per count, so a count outside
 * says the hash is not spreading items evenly (the inputs are seeded: the verdict is repeatable).
 */
function fiveSigma(trials: number, p: number): number {
  return 5 * Math.sqrt(trials * p * (1 - p));
}

describe('hash: every item placed exactly once, the same everywhere', () => {
  it('every item is held by exactly one live member, unplaced only when no member is live', () => {
    fc.assert(
      fc.property(systemArb, liveArb, (system, live) => {
        const placement = place(system, live);
        const liveMembers = system.members.filter((id) => live.has(id));
        for (const [id, items] of placement.holdings) {
          assert.ok(system.members.includes(id), 'a holder is a member');
          if (!live.has(id)) assert.deepEqual(items, [], 'a down member holds nothing');
          assert.deepEqual(items, sorted(items), 'in data order');
        }
        const held = [...placement.holdings.values()].flat();
        if (liveMembers.length === 0) {
          assert.deepEqual(held, []);
          assert.deepEqual(placement.unplaced, system.data);
        } else {
          assert.deepEqual(sorted(held), system.data, 'each item exactly once');
          assert.deepEqual(placement.unplaced, []);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('depends on neither the order of the members (priority) nor that of the live set', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.nat(), (system, live, seed) => {
        const shuffled = { ...system, members: new Random(seed).shuffle(system.members) };
        const reversedLive = new Set([...live].reverse());
        assert.deepEqual(table(place(shuffled, reversedLive)), table(place(system, live)));
      }),
      { numRuns: 2000 },
    );
  });

  it('puts each item on its highest-scoring live member, which no other live member beats', () => {
    fc.assert(
      fc.property(systemArb, liveArb, (system, live) => {
        const liveMembers = system.members.filter((id) => live.has(id));
        if (liveMembers.length === 0) return;
        const placement = place(system, live);
        for (const item of system.data) {
          const owner = holderOf(placement, item)!;
          assert.equal(owner, rendezvousOwner(item, hashMembers(liveMembers)));
          // Without any other member the owner is still the owner: the winner of a larger set
          // wins every subset that contains it.
          assert.equal(rendezvousOwner(item, hashMembers([owner])), owner);
          for (const other of liveMembers)
            assert.equal(
              rendezvousOwner(item, hashMembers([other, owner])),
              owner,
              `${owner} beats ${other}`,
            );
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('hash: members whose keys share a half are still two members', () => {
  // Two ids whose keys share their high 32 bits (found by a birthday search over srv-0..srv-58297).
  // A score made from the high halves alone would be equal for every item: the two would act as
  // one member, each taking half of one share.
  const twins = ['srv-11423', 'srv-58297'];

  it('each wins about half of the items against the other, whatever the order of the members', () => {
    assert.equal(hash64(twins[0]!).hi, hash64(twins[1]!).hi, 'the twins share the high half');
    assert.notEqual(hash64(twins[0]!).lo, hash64(twins[1]!).lo);
    const items = addresses(4000);
    const forward = hashMembers(twins);
    const backward = hashMembers([...twins].reverse());
    let first = 0;
    for (const item of items) {
      const owner = rendezvousOwner(item, forward);
      assert.equal(rendezvousOwner(item, backward), owner, item);
      if (owner === twins[0]) first++;
    }
    // Binomial(4000, 1/2): 2000 ± 158 at 5 sd.
    assert.ok(Math.abs(first - 2000) <= fiveSigma(4000, 0.5), `${twins[0]} won ${first} of 4000`);
  });

  it('a third member wins a third against both, not a half', () => {
    const members = hashMembers([...twins, 'srv-0']);
    const items = addresses(6000);
    const wins = items.filter((item) => rendezvousOwner(item, members) === 'srv-0').length;
    assert.ok(Math.abs(wins - 2000) <= fiveSigma(6000, 1 / 3), `srv-0 won ${wins} of 6000`);
  });
});

describe('hash: an item added or removed moves nothing else', () => {
  it('adding one item moves no other item, whoever is live', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.string({ minLength: 1, maxLength: 8 }), (system, live, extra) => {
        fc.pre(!system.data.includes(extra));
        const before = place(system, live);
        const after = place({ ...system, data: sorted([...system.data, extra]) }, live);
        assert.deepEqual(movedItems(before, after), []);
        for (const item of system.data) assert.equal(holderOf(after, item), holderOf(before, item), item);
        if (system.members.some((id) => live.has(id)))
          assert.ok(holderOf(after, extra), 'the new item is placed');
      }),
      { numRuns: 3000 },
    );
  });

  it('removing one item moves no other item, whoever is live', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.nat(), (system, live, pick) => {
        fc.pre(system.data.length > 0);
        const removed = system.data[pick % system.data.length]!;
        const before = place(system, live);
        const after = place({ ...system, data: system.data.filter((item) => item !== removed) }, live);
        assert.deepEqual(movedItems(before, after), []);
        assert.equal(holderOf(after, removed), undefined);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hash: a server that joins or leaves moves only its own items', () => {
  it('a server added to the members takes items and only it gains any', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.nat(), (system, live, pick) => {
        const outside = SERVERS.filter((id) => !system.members.includes(id));
        const joiner = outside[pick % outside.length]!;
        const liveAfter = new Set([...live, joiner]);
        const before = place(system, live);
        const after = place({ ...system, members: [...system.members, joiner] }, liveAfter);
        for (const item of movedItems(before, after)) {
          // Unplaced before (no live member) counts as a move too; then it may go anywhere live.
          if (before.unplaced.includes(item)) continue;
          assert.equal(holderOf(after, item), joiner, `${item} moved to the joiner only`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a server removed from the members gives up its items and nothing else moves', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.nat(), (system, live, pick) => {
        const leaver = system.members[pick % system.members.length]!;
        const before = place(system, live);
        const after = place({ ...system, members: system.members.filter((id) => id !== leaver) }, live);
        const moved = new Set(movedItems(before, after));
        for (const item of system.data) {
          if (after.unplaced.includes(item)) continue;
          assert.equal(moved.has(item), holderOf(before, item) === leaver, item);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a member going down or coming back moves only the items it held or takes', () => {
    fc.assert(
      fc.property(systemArb, liveArb, fc.nat(), (system, live, pick) => {
        const member = system.members[pick % system.members.length]!;
        const up = new Set([...live, member]);
        const down = new Set([...live].filter((id) => id !== member));
        const withIt = place(system, up);
        const without = place(system, down);
        for (const item of movedItems(withIt, without)) {
          if (without.unplaced.includes(item)) continue;
          assert.equal(holderOf(withIt, item), member, `${item} moved only because ${member} went down`);
        }
        for (const item of movedItems(without, withIt)) {
          if (without.unplaced.includes(item)) continue;
          assert.equal(holderOf(withIt, item), member, `${item} moved only because ${member} came back`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  for (const n of [3, 9, 100]) {
    it(`${n} -> ${n + 1} and ${n} -> ${n - 1} members: the share moved is 1/(n+1) and 1/n, within 5 sd`, () => {
      const random = new Random(7000 + n);
      const trials = 3;
      const itemCount = 6000;
      for (let trial = 0; trial < trials; trial++) {
        // Half the trials name servers and items the way operators do, half at random.
        const members =
          trial === 0
            ? Array.from({ length: n }, (_, i) => `flip${i + 1}`)
            : randomNames(random, n).map((name) => `srv-${name}`);
        const data = sorted(trial === 0 ? addresses(itemCount) : randomNames(random, itemCount));
        const all = new Set([...members, 'joiner']);
        const before = place({ type: 'hash', members, data }, all);
        const joined = place({ type: 'hash', members: [...members, 'joiner'], data }, all);
        const joinMoved = movedItems(before, joined);
        for (const item of joinMoved) assert.equal(holderOf(joined, item), 'joiner');
        const pJoin = 1 / (n + 1);
        assert.ok(
          Math.abs(joinMoved.length - itemCount * pJoin) <= fiveSigma(itemCount, pJoin),
          `join: ${joinMoved.length} of ${itemCount} moved, expected ${(itemCount * pJoin).toFixed(0)} ± ${fiveSigma(itemCount, pJoin).toFixed(0)} (trial ${trial})`,
        );

        const leaver = members[random.int(n)]!;
        const left = place({ type: 'hash', members: members.filter((id) => id !== leaver), data }, all);
        const leaveMoved = movedItems(before, left);
        assert.deepEqual(sorted(leaveMoved), sorted(before.holdings.get(leaver)!), 'exactly its items');
        const pLeave = 1 / n;
        assert.ok(
          Math.abs(leaveMoved.length - itemCount * pLeave) <= fiveSigma(itemCount, pLeave),
          `leave: ${leaveMoved.length} of ${itemCount} moved, expected ${(itemCount * pLeave).toFixed(0)} ± ${fiveSigma(itemCount, pLeave).toFixed(0)} (trial ${trial})`,
        );
        // The leaver's items spread over the others rather than landing on one heir.
        if (n >= 3 && leaveMoved.length >= 100) {
          const heirs = new Set(leaveMoved.map((item) => holderOf(left, item)));
          assert.ok(heirs.size >= Math.min(n - 1, 2), `heirs ${heirs.size}`);
        }
      }
    });
  }
});

describe('hash: balance', () => {
  for (const n of [2, 3, 9, 100]) {
    it(`${n} members: each member's share is 1/n within 5 sd, and the spread passes a chi-square test`, () => {
      const random = new Random(9100 + n);
      const itemCount = n === 100 ? 30_000 : 12_000;
      for (const naming of ['addresses', 'random'] as const) {
        const members =
          naming === 'addresses'
            ? Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}`)
            : randomNames(random, n);
        const data = sorted(
          naming === 'addresses' ? addresses(itemCount, 4096) : randomNames(random, itemCount),
        );
        const placement = place({ type: 'hash', members, data }, new Set(members));
        const expected = itemCount / n;
        let chiSquare = 0;
        for (const id of members) {
          const count = placement.holdings.get(id)!.length;
          assert.ok(
            Math.abs(count - expected) <= fiveSigma(itemCount, 1 / n),
            `${naming}: ${id} holds ${count}, expected ${expected.toFixed(0)} ± ${fiveSigma(itemCount, 1 / n).toFixed(0)}`,
          );
          chiSquare += (count - expected) ** 2 / expected;
        }
        // Chi-square with n-1 degrees of freedom, its 1 - 1e-6 quantile by Wilson-Hilferty
        // (z = 4.753): a value above it means the counts are more uneven than chance allows.
        const df = n - 1;
        const limit = df * (1 - 2 / (9 * df) + 4.753 * Math.sqrt(2 / (9 * df))) ** 3;
        assert.ok(
          chiSquare <= limit,
          `${naming}: chi-square ${chiSquare.toFixed(1)} > ${limit.toFixed(1)} (df ${df})`,
        );
      }
    });
  }
});

describe('shard beside hash: one item added shifts the homes after it', () => {
  it('inserting an item at position p moves every shard item after it, and no hash item', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 60 }),
        fc.nat(),
        (n, count, pick) => {
          const members = SERVERS.slice(0, n);
          // Items that sort in index order, with a gap before each for the newcomer.
          const data = Array.from({ length: count }, (_, i) => `item-${String(i * 2 + 1).padStart(4, '0')}`);
          const position = pick % (count + 1);
          const added = `item-${String(position * 2).padStart(4, '0')}`;
          const withItem = sorted([...data, added]);
          assert.equal(withItem.indexOf(added), position);
          const live = new Set(members);
          const shardMoved = movedItems(
            place({ type: 'shard', members, data }, live),
            place({ type: 'shard', members, data: withItem }, live),
          );
          // Item i's home was member i mod n and is now (i + 1) mod n: another member when n > 1.
          assert.deepEqual(sorted(shardMoved), data.slice(position), 'exactly the items after the insertion');
          const hashMoved = movedItems(
            place({ type: 'hash', members, data }, live),
            place({ type: 'hash', members, data: withItem }, live),
          );
          assert.deepEqual(hashMoved, []);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('shard: a member added to the config moves far more than the 1/(n+1) hash moves', () => {
    const data = sorted(addresses(3000));
    for (const n of [3, 9]) {
      const members = SERVERS.slice(0, n);
      const grown = SERVERS.slice(0, n + 1);
      const live = new Set(SERVERS);
      const moved = (type: 'shard' | 'hash') =>
        movedItems(place({ type, members, data }, live), place({ type, members: grown, data }, live)).length;
      const shard = moved('shard');
      const hash = moved('hash');
      // Shard keeps an item only where i mod n and i mod (n+1) name the same member: the first
      // n items of every n(n+1), a share of 1/(n+1); so it moves n/(n+1) of them.
      const shardStays = data.filter((_, i) => i % (n * (n + 1)) < n).length;
      assert.equal(shard, data.length - shardStays, `shard, n ${n}`);
      assert.ok(hash < shard / 2, `hash moved ${hash}, shard ${shard}`);
    }
  });
});
