/**
 * soak — the simulator's checkers over many more seeded runs than the test suite can afford.
 *
 * The test suite runs every scenario at a handful of seeds so that CI, on a shared and loaded
 * machine, finishes well inside its time (a CPU-bound simulation slows down with the load, and
 * a run of a few hundred CPU seconds became a CI timeout). The volume lives here: hundreds of
 * partition and crash series at 3, 5 and 9 servers, flapping cuts at 15, and thousands of random
 * fault schedules under `release` with leases; and thousands of seeded schedules of the config
 * replicas (issue 12, src/replica/schedule.ts), which the simulator does not drive yet. Each
 * entry is bounded by its count of runs.
 *
 * Not a benchmark: it prints, for each entry, the checks that failed and the seeds to replay
 * (`flip sim --scenario S --nodes N --seed SEED ...`, or for a replica schedule
 * `npx tsx bench/replica-schedule.ts --seed SEED ...`), and exits 1 when any entry failed.
 *
 * Usage: npm run soak [-- --scale 0.1] [-- --only heal]
 *   --scale x   multiplies every entry's runs (at least 1 each); 0.1 is a quick look
 *   --only s    runs only the entries whose name contains s
 */
import { progressOnStderr } from '../src/cli/progress.js';
import type { NoQuorumPolicy } from '../src/config/index.js';
import {
  describeSchedule,
  type ReplicaScheduleOptions,
  runReplicaSchedule,
} from '../src/replica/schedule.js';
import type { ScenarioName } from '../src/sim/scenario-names.js';
import { SCENARIOS, type ScenarioResult } from '../src/sim/scenarios.js';
import { optionValue } from './options.js';

interface SoakEntry {
  scenario: ScenarioName;
  nodes: number;
  runs: number;
  seed: number;
  loss?: number;
  policy?: NoQuorumPolicy;
  leased?: boolean;
  preempt?: boolean;
  hash?: boolean;
}

/** The volume the tests once ran, and more where the simulator found holes before. */
const ENTRIES: readonly SoakEntry[] = [
  ...[3, 5, 9].map((nodes) => ({
    scenario: 'heal' as const,
    nodes,
    runs: 100,
    seed: 17 + nodes,
    loss: 0.02,
  })),
  ...[3, 5, 9].map((nodes) => ({ scenario: 'return' as const, nodes, runs: 100, seed: 11 + nodes })),
  ...[5, 9, 15].map((nodes) => ({ scenario: 'flapping-partition' as const, nodes, runs: 40, seed: nodes })),
  ...[3, 5, 7].map((nodes) => ({ scenario: 'random' as const, nodes, runs: 200, seed: 1000 + nodes })),
  { scenario: 'random', nodes: 3, runs: 300, seed: 4003, policy: 'keep', leased: true },
  ...[3, 5, 9].map((nodes) => ({
    scenario: 'random' as const,
    nodes,
    runs: nodes === 9 ? 100 : 1000,
    seed: 2000 + nodes,
    policy: 'release' as const,
    leased: true,
  })),
  { scenario: 'random', nodes: 5, runs: 200, seed: 3005, preempt: false, policy: 'release', leased: true },
  { scenario: 'heal', nodes: 5, runs: 50, seed: 3005, preempt: false },
  { scenario: 'random', nodes: 5, runs: 200, seed: 5005, hash: true, policy: 'release', leased: true },
];

/**
 * Replica schedules: `runs` seeds from `seed` on, each a whole cluster's run (src/replica/schedule.ts).
 * About 50 ms each on the shared 2-core VM.
 */
interface ReplicaSoakEntry {
  schedule: Omit<ReplicaScheduleOptions, 'seed'>;
  runs: number;
  seed: number;
}

const REPLICA_ENTRIES: readonly ReplicaSoakEntry[] = [
  { schedule: { servers: 3, network: 'lan', server_changes: false }, runs: 2000, seed: 100_000 },
  { schedule: { servers: 5, network: 'lan', server_changes: false }, runs: 1000, seed: 200_000 },
  { schedule: { servers: 5, network: 'lan', server_changes: true }, runs: 1000, seed: 300_000 },
  { schedule: { servers: 3, network: 'lossy', server_changes: false }, runs: 1000, seed: 400_000 },
  { schedule: { servers: 5, network: 'lossy', server_changes: true }, runs: 1000, seed: 500_000 },
  // Ten seconds of chaos: logs that fold many times, snapshots, longer histories.
  {
    schedule: { servers: 5, network: 'lan', server_changes: true, chaos_ms: 10_000 },
    runs: 300,
    seed: 600_000,
  },
];

function replicaEntryName(entry: ReplicaSoakEntry): string {
  const { servers, network, server_changes, chaos_ms } = entry.schedule;
  const options = [
    network,
    server_changes ? 'server changes' : undefined,
    chaos_ms ? `${chaos_ms / 1000} s chaos` : undefined,
  ];
  return `replica ${servers} servers (${options.filter((part) => part !== undefined).join(', ')})`;
}

function replicaReplay(options: ReplicaScheduleOptions): string {
  const flags = [
    `--seed ${options.seed}`,
    `--servers ${options.servers}`,
    `--network ${options.network}`,
    options.server_changes ? '--server-changes' : undefined,
    options.chaos_ms ? `--chaos-ms ${options.chaos_ms}` : undefined,
  ].filter((flag) => flag !== undefined);
  return `npx tsx bench/replica-schedule.ts ${flags.join(' ')}`;
}

function entryName(entry: SoakEntry): string {
  const options = [
    entry.policy,
    entry.leased ? 'lease' : undefined,
    entry.preempt === false ? 'no-preempt' : undefined,
    entry.hash ? 'hash' : undefined,
  ].filter((part) => part !== undefined);
  return `${entry.scenario} ${entry.nodes} servers${options.length > 0 ? ` (${options.join(', ')})` : ''}`;
}

/** The `flip sim` command line that replays one seed of an entry. */
function replay(entry: SoakEntry, seed: number): string {
  const flags = [
    `--scenario ${entry.scenario}`,
    `--nodes ${entry.nodes}`,
    `--seed ${seed}`,
    entry.scenario === 'random' ? '--runs 1' : `--runs ${entry.runs}`,
    entry.loss ? `--loss ${entry.loss}` : undefined,
    entry.policy ? `--policy ${entry.policy}` : undefined,
    entry.leased ? '--lease' : undefined,
    entry.preempt === false ? '--no-preempt' : undefined,
    entry.hash ? '--hash' : undefined,
  ].filter((flag) => flag !== undefined);
  return `npx flip sim ${flags.join(' ')}`;
}

const scale = Number(optionValue('--scale') ?? 1);
if (!Number.isFinite(scale) || scale <= 0 || scale > 100) {
  console.error(`soak: --scale must be a number above 0 and at most 100, not ${optionValue('--scale')}`);
  process.exit(2);
}
const only = optionValue('--only');
const chosen = ENTRIES.filter((entry) => only === undefined || entryName(entry).includes(only));
const chosenReplica = REPLICA_ENTRIES.filter(
  (entry) => only === undefined || replicaEntryName(entry).includes(only),
);
if (chosen.length + chosenReplica.length === 0) {
  console.error(`soak: no entry's name contains ${JSON.stringify(only)}`);
  process.exit(2);
}

const progress = progressOnStderr();
const print = (text: string) => progress.above(() => console.log(text));
let failedEntries = 0;
const started = Date.now();
for (const entry of chosen) {
  const runs = Math.max(1, Math.round(entry.runs * scale));
  const name = entryName(entry);
  const began = Date.now();
  progress.begin(name, runs);
  const outcome: ScenarioResult = SCENARIOS[entry.scenario]({
    seed: entry.seed,
    nodes: entry.nodes,
    timing: {},
    loss: entry.loss ?? 0,
    runs,
    policy: entry.policy,
    leased: entry.leased,
    preempt: entry.preempt,
    hash: entry.hash,
    progress: (done, _total, failed) => progress.update(done, failed),
  });
  progress.end();
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  const failed = outcome.checks.filter((check) => !check.ok);
  const owners =
    entry.policy === 'release' && outcome.figures.two_owners !== undefined
      ? `, two owners ${outcome.figures.two_owners}`
      : '';
  print(
    `${failed.length === 0 ? 'ok' : 'FAILED'}  ${name}: ${runs} runs, seed ${entry.seed}${owners}, ${seconds} s`,
  );
  if (failed.length > 0) {
    failedEntries += 1;
    for (const check of failed) print(`    ${check.name}: ${check.detail}`);
    const seeds = outcome.failed_seeds ?? [entry.seed];
    for (const seed of seeds.slice(0, 10)) print(`    replay: ${replay(entry, seed)}`);
    if (seeds.length > 10) print(`    and ${seeds.length - 10} more seeds`);
  }
}
for (const entry of chosenReplica) {
  const runs = Math.max(1, Math.round(entry.runs * scale));
  const name = replicaEntryName(entry);
  const began = Date.now();
  progress.begin(name, runs);
  const failed: { options: ReplicaScheduleOptions; message: string }[] = [];
  let requests = 0;
  let committed = 0;
  for (let run = 0; run < runs; run++) {
    const options = { ...entry.schedule, seed: entry.seed + run };
    try {
      const result = runReplicaSchedule(options);
      requests += result.requests;
      committed += result.answers.committed ?? 0;
    } catch (error) {
      failed.push({ options, message: error instanceof Error ? error.message : String(error) });
    }
    progress.update(run + 1, failed.length);
  }
  progress.end();
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  print(
    `${failed.length === 0 ? 'ok' : 'FAILED'}  ${name}: ${runs} runs, seed ${entry.seed}, ${requests} requests, ${committed} committed, ${seconds} s`,
  );
  if (failed.length > 0) {
    failedEntries += 1;
    for (const { options, message } of failed.slice(0, 10)) {
      print(`    ${message.split('\n')[0]}`);
      print(`    replay: ${replicaReplay(options)}`);
    }
    if (failed.length > 10)
      print(`    and ${failed.length - 10} more seeds (${describeSchedule(failed[10]!.options)}, ...)`);
  }
}
const entries = chosen.length + chosenReplica.length;
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
print(`${entries - failedEntries} of ${entries} entries passed in ${minutes} min (scale ${scale})`);
process.exit(failedEntries === 0 ? 0 : 1);
