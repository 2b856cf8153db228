/**
 * bench:placement — what one change moves under `shard` and under `hash` (rendezvous hashing):
 * one item added or removed, one server added to or removed from a system's members, one member
 * going down. Seeded, so the figures repeat; the moves are counted by src/placement/moves.ts on
 * the real placement. Then how evenly each type spreads few or many items, and how long one
 * placement takes, since `hash` scores every (item, member) pair. Figures, not a test. Usage: npm run bench:placement [-- --items N --trials T --seed S]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { movedItems, type PlacementInput, place } from '../src/placement/index.js';
import { percentile } from '../src/stats/percentile.js';
import { Random } from '../src/testing/seeded.js';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000' },
    trials: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
  },
});
const ITEMS = Number(values.items);
const TRIALS = Number(values.trials);
const SEED = Number(values.seed);
const SIZES = [3, 9, 100];
type Type = 'shard' | 'hash';

/** A name that sorts anywhere among the others, as a new VIP name or server id may. */
function freshName(random: Random, taken: ReadonlySet<string>, prefix: string): string {
  for (;;) {
    const name = `${prefix}${random.int(2 ** 31).toString(36)}`;
    if (!taken.has(name)) return name;
  }
}

function names(random: Random, count: number, prefix: string): string[] {
  const out = new Set<string>();
  while (out.size < count) out.add(freshName(random, out, prefix));
  return [...out].sort();
}

/** A system's members and items, without its type. */
type Shape = Omit<PlacementInput, 'type'>;

/** One kind of change: the system and the live servers before and after, from a random source. */
interface Change {
  name: string;
  /** The share of the items a perfect `hash` would move, for n members. */
  ideal(n: number): number;
  make(
    random: Random,
    members: string[],
    data: string[],
  ): { before: Shape; after: Shape; liveBefore: Set<string>; liveAfter: Set<string> };
}

const CHANGES: Change[] = [
  {
    name: 'one item added',
    ideal: () => 0,
    make(random, members, data) {
      const added = freshName(random, new Set(data), 'vip-');
      const live = new Set(members);
      return {
        before: { members, data },
        after: { members, data: [...data, added].sort() },
        liveBefore: live,
        liveAfter: live,
      };
    },
  },
  {
    name: 'one item removed',
    ideal: () => 0,
    make(random, members, data) {
      const removed = data[random.int(data.length)];
      const live = new Set(members);
      return {
        before: { members, data },
        after: { members, data: data.filter((item) => item !== removed) },
        liveBefore: live,
        liveAfter: live,
      };
    },
  },
  {
    name: 'one server added to the members',
    ideal: (n) => 1 / (n + 1),
    make(random, members, data) {
      // No priorities: members in id order, so the newcomer lands anywhere in the list.
      const grown = [...members, freshName(random, new Set(members), 'srv-')].sort();
      return {
        before: { members, data },
        after: { members: grown, data },
        liveBefore: new Set(members),
        liveAfter: new Set(grown),
      };
    },
  },
  {
    name: 'one server removed from the members',
    ideal: (n) => 1 / n,
    make(random, members, data) {
      const leaver = members[random.int(members.length)];
      const shrunk = members.filter((id) => id !== leaver);
      return {
        before: { members, data },
        after: { members: shrunk, data },
        liveBefore: new Set(members),
        liveAfter: new Set(shrunk),
      };
    },
  },
  {
    name: 'one member down (config unchanged)',
    ideal: (n) => 1 / n,
    make(random, members, data) {
      const failed = members[random.int(members.length)];
      return {
        before: { members, data },
        after: { members, data },
        liveBefore: new Set(members),
        liveAfter: new Set(members.filter((id) => id !== failed)),
      };
    },
  },
];

/** Mean and max share of the items present before and after whose holder changed. */
function measureMoves(type: Type, change: Change, n: number): { mean: number; max: number } {
  // The same seed for both types: they face the same clusters and the same changes.
  const random = new Random(SEED * 1000 + n);
  let sum = 0;
  let max = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const members = names(random, n, 'srv-');
    const data = names(random, ITEMS, 'vip-');
    const { before, after, liveBefore, liveAfter } = change.make(random, members, data);
    const moved = movedItems(
      place({ type, ...before }, liveBefore),
      place({ type, ...after }, liveAfter),
    ).length;
    const share = moved / Math.min(before.data.length, after.data.length);
    sum += share;
    max = Math.max(max, share);
  }
  return { mean: sum / TRIALS, max };
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

console.log(
  `bench:placement, node ${process.version}, ${ITEMS} items, ${TRIALS} seeded trials per row (seed ${SEED})`,
);
console.log('');
console.log(
  'Share of the items (present before and after) whose holder changed: mean over the trials (max).',
);
console.log('');
console.log('| members | change | shard | hash | hash, ideal |');
console.log('|---|---|---|---|---|');
for (const n of SIZES) {
  for (const change of CHANGES) {
    const shard = measureMoves('shard', change, n);
    const hash = measureMoves('hash', change, n);
    console.log(
      `| ${n} | ${change.name} | ${pct(shard.mean)} (${pct(shard.max)}) | ${pct(hash.mean)} (${pct(hash.max)}) | ${pct(change.ideal(n))} |`,
    );
  }
}

console.log('');
console.log(
  'Balance: the most loaded member holds this many times its fair share (items / members); mean over the trials (max).',
);
console.log('');
console.log('| members | items | shard | hash |');
console.log('|---|---|---|---|');
for (const n of SIZES) {
  for (const perMember of [1, 10, 100]) {
    const items = n * perMember;
    const random = new Random(SEED * 7000 + items);
    const sums = { shard: 0, hash: 0 };
    const maxes = { shard: 0, hash: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const members = names(random, n, 'srv-');
      const data = names(random, items, 'vip-');
      for (const type of ['shard', 'hash'] as const) {
        const placement = place({ type, members, data }, new Set(members));
        const most = Math.max(...[...placement.holdings.values()].map((held) => held.length));
        const ratio = most / (items / n);
        sums[type] += ratio;
        maxes[type] = Math.max(maxes[type], ratio);
      }
    }
    const cell = (type: Type) => `${(sums[type] / TRIALS).toFixed(2)} (${maxes[type].toFixed(2)})`;
    console.log(`| ${n} | ${items} | ${cell('shard')} | ${cell('hash')} |`);
  }
}

console.log('');
console.log(
  `Time of one placement, all members live (p50 of the repetitions, ms; load average ${loadavg()[0]!.toFixed(1)} at the start):`,
);
console.log('');
console.log('| members | items | shard ms | hash ms | repetitions |');
console.log('|---|---|---|---|---|');
for (const [n, items, reps] of [
  [3, 1000, 50],
  [100, 1000, 30],
  [100, 10_000, 9],
  [1000, 10_000, 5],
] as const) {
  const random = new Random(SEED);
  const members = names(random, n, 'srv-');
  const data = names(random, items, 'vip-');
  const live = new Set(members);
  const time = (type: Type) => {
    const ms: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const started = performance.now();
      place({ type, members, data }, live);
      ms.push(performance.now() - started);
    }
    return percentile(ms, 50);
  };
  time('hash'); // warm the JIT once
  console.log(`| ${n} | ${items} | ${time('shard').toFixed(2)} | ${time('hash').toFixed(2)} | ${reps} |`);
}
