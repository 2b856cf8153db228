/**
 * bench:changes — how fast a runtime change spreads (issue 12's change-to-last-apply figure):
 * the config replicas (src/replica/config-replica.ts) in virtual time, on a seeded LAN (0.2 to 1
 * ms one way, with and without 1% loss), each save taking 1 to 5 ms before anything after it
 * is carried out, at 3, 9 and 100 servers (src/replica/change-spread.ts). One `data_add` at a
 * time, each asked at a random server; per change: request -> answer at that server, request ->
 * the last server's `applied`, messages, saves, and the real CPU time of the simulation.
 * Figures, not a test: nothing here fails a build.
 *
 * Usage: npm run bench:changes [-- --changes 200 --seed 1 --quick]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { progressOnStderr } from '../src/cli/progress.js';
import { DEFAULT_RAFT_TIMING } from '../src/consensus/timing.js';
import { type ChangeSample, measureChangeSpread } from '../src/replica/change-spread.js';
import { LAN_LINKS, SSD_DISK } from '../src/replica/timed-cluster.js';
import { percentile } from '../src/stats/percentile.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
  },
});
const CHANGES = values.quick ? 50 : Number(values.changes);
const SEED = Number(values.seed);
if (!Number.isInteger(CHANGES) || CHANGES < 1 || CHANGES > 100_000) {
  console.error(`bench:changes: --changes must be a whole number from 1 to 100000, not ${values.changes}`);
  process.exit(2);
}
if (!Number.isSafeInteger(SEED)) {
  console.error(`bench:changes: --seed must be a whole number, not ${values.seed}`);
  process.exit(2);
}
const SIZES = [3, 9, 100];
const LOSSES = [0, 0.01];

/** Changes measured, on a terminal (stderr). */
const progress = progressOnStderr();
/** Report lines go to stdout with the progress line out of the way. */
const print = (text: string) => progress.above(() => console.log(text));

const ms = (value: number) =>
  Number.isNaN(value) ? 'n/a' : value < 100 ? value.toFixed(1) : `${Math.round(value)}`;
const quartet = (values: readonly number[]) =>
  [50, 90, 99, 100].map((p) => ms(percentile(values, p))).join(' | ');
const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

interface Row {
  servers: number;
  loss: number;
  samples: ChangeSample[];
}

const started = performance.now();
console.log(
  `# bench:changes — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}${values.quick ? ' (quick)' : ''}`,
);
console.log('');
console.log(
  `Raft timing: heartbeat ${DEFAULT_RAFT_TIMING.heartbeat_ms} ms, elections ${DEFAULT_RAFT_TIMING.election_timeout_ms_min}-${DEFAULT_RAFT_TIMING.election_timeout_ms_max} ms. Network: ${LAN_LINKS.delay_ms_min}-${LAN_LINKS.delay_ms_max} ms per link + up to ${LAN_LINKS.jitter_ms} ms jitter. Each save: ${SSD_DISK.save_ms_min}-${SSD_DISK.save_ms_max} ms.`,
);
console.log(
  `${CHANGES} data_add changes per row, one at a time, each at a random server; virtual ms from the request.`,
);
console.log('');
console.log(
  '| servers | loss | forwarded | answer p50 | p90 | p99 | max | last applied p50 | p90 | p99 | max | not committed | msgs/change | saves/change | CPU ms/change | per server |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');

// A short run first, so that the first row's CPU time is not the JIT's warm-up.
measureChangeSpread({
  seed: SEED + 1000,
  servers: 3,
  changes: 50,
  timing: DEFAULT_RAFT_TIMING,
  links: LAN_LINKS,
  disk: SSD_DISK,
});

const rows: Row[] = [];
progress.begin('bench:changes', SIZES.length * LOSSES.length * CHANGES, 'changes');
let done = 0;
for (const servers of SIZES)
  for (const loss of LOSSES) {
    const before = done;
    const result = measureChangeSpread({
      seed: SEED * 1000 + servers,
      servers,
      changes: CHANGES,
      timing: DEFAULT_RAFT_TIMING,
      links: { ...LAN_LINKS, loss },
      disk: SSD_DISK,
      onChange: (n) => progress.update(before + n, 0),
    });
    done = before + CHANGES;
    const samples = result.samples;
    rows.push({ servers, loss, samples });
    const applied = samples.flatMap((s) => (s.applied_all_ms === null ? [] : [s.applied_all_ms]));
    const others = new Map<string, number>();
    for (const s of samples)
      if (s.answer !== 'committed') {
        const key = `${s.answer} (${s.version === null ? 'never applied' : 'applied'})`;
        others.set(key, (others.get(key) ?? 0) + 1);
      }
    const notCommitted = others.size === 0 ? '0' : [...others].map(([kind, n]) => `${n} ${kind}`).join(', ');
    const cpu = mean(samples.map((s) => s.wall_ms));
    print(
      `| ${servers} | ${loss * 100}% | ${samples.filter((s) => !s.at_leader).length} | ${quartet(samples.map((s) => s.answer_ms))} | ${quartet(applied)} | ${notCommitted} | ${Math.round(mean(samples.map((s) => s.messages)))} | ${Math.round(mean(samples.map((s) => s.saves)))} | ${cpu.toFixed(2)} | ${(cpu / servers).toFixed(2)} |`,
    );
  }
progress.end();

console.log('');
console.log('Asked at the leader against forwarded by a follower (p50 ms):');
console.log('');
console.log(
  '| servers | loss | at the leader: n | answer | last applied | forwarded: n | answer | last applied |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const { servers, loss, samples } of rows) {
  const part = (list: ChangeSample[]) =>
    `${list.length} | ${ms(
      percentile(
        list.map((s) => s.answer_ms),
        50,
      ),
    )} | ${ms(
      percentile(
        list.flatMap((s) => (s.applied_all_ms === null ? [] : [s.applied_all_ms])),
        50,
      ),
    )}`;
  console.log(
    `| ${servers} | ${loss * 100}% | ${part(samples.filter((s) => s.at_leader))} | ${part(samples.filter((s) => !s.at_leader))} |`,
  );
}
console.log('');
console.log(`bench:changes took ${((performance.now() - started) / 1000).toFixed(0)} s`);
