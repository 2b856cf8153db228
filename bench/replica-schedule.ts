/**
 * replica-schedule — runs one seeded schedule of the config replicas (src/replica/schedule.ts)
 * and prints its figures, or the check that failed: the replay of a seed that the soak or the
 * tests name. Not a benchmark.
 *
 * Usage: npx tsx bench/replica-schedule.ts --seed S [--servers 3] [--network lan|lossy] [--server-changes] [--chaos-ms 3000]
 */
import { runReplicaSchedule, SCHEDULE_NETWORKS, type ScheduleNetwork } from '../src/replica/schedule.js';
import { optionValue } from './options.js';

function fail(message: string): never {
  console.error(`replica-schedule: ${message}`);
  process.exit(2);
}

const seed = Number(optionValue('--seed'));
if (!Number.isSafeInteger(seed)) fail(`--seed must be a whole number, not ${optionValue('--seed')}`);
const servers = Number(optionValue('--servers') ?? 3);
if (!Number.isInteger(servers) || servers < 1 || servers > 9)
  fail(`--servers must be a whole number from 1 to 9, not ${optionValue('--servers')}`);
const network = optionValue('--network') ?? 'lan';
if (!Object.hasOwn(SCHEDULE_NETWORKS, network))
  fail(`--network must be one of ${Object.keys(SCHEDULE_NETWORKS).join(', ')}, not ${network}`);
const server_changes = process.argv.includes('--server-changes');
const chaos_ms = Number(optionValue('--chaos-ms') ?? 3000);
if (!Number.isInteger(chaos_ms) || chaos_ms < 0 || chaos_ms > 600_000)
  fail(`--chaos-ms must be a whole number of ms from 0 to 600000, not ${optionValue('--chaos-ms')}`);
try {
  const result = runReplicaSchedule({
    seed,
    servers,
    network: network as ScheduleNetwork,
    server_changes,
    chaos_ms,
  });
  console.log(JSON.stringify(result, null, 2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
