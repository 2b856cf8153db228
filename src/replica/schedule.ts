/**
 * One seeded random schedule of a replica cluster (testing.ts), for the tests and the soak: a
 * stream of client requests through random servers (valid changes, changes that conflict, no-ops,
 * invalid and malformed ones, server changes in the 5-server schedules), mixed with crashes (half
 * of them in the middle of a call's effects), restarts from what was persisted, partitions into
 * two random sides, message delay, loss and duplication. Every checker runs after every step;
 * then everything heals, one last change is asked until it commits, and every live server of the
 * final config must reach the same version within a bound, every request whose server stayed up
 * must have had its answer, and no change answered committed may be missing from a later config.
 *
 * Bounded: a fixed number of chaos steps, and a bound on the time to converge after healing. A
 * failure throws an Error whose message starts with the seed and options that replay it.
 */
import type { ConfigChange } from '../changes/index.js';
import { serverIdsOf } from '../consensus/log-change.js';
import { Random } from '../sim/random.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import type { NetworkOptions } from '../testing/seeded-cluster.js';
import type { ChangeAnswer } from './answer.js';
import { ReplicaCluster } from './testing.js';

export const SCHEDULE_NETWORKS = {
  lan: { delay_ms_min: 1, delay_ms_max: 15, loss: 0.05, duplicate: 0.02 },
  /** A fifth of messages lost, delays up to 40 ms (an eighth of the longest election timeout). */
  lossy: { delay_ms_min: 1, delay_ms_max: 40, loss: 0.2, duplicate: 0.05 },
} as const satisfies { [name: string]: NetworkOptions };

export type ScheduleNetwork = keyof typeof SCHEDULE_NETWORKS;

export interface ReplicaScheduleOptions {
  seed: number;
  /** Servers in the cluster, all listed by the config file. */
  servers: number;
  network: ScheduleNetwork;
  /** Clients also remove and add servers, one at a time. */
  server_changes: boolean;
  /** How long the chaos lasts (simulated ms). Default 3000. */
  chaos_ms?: number;
}

export interface ReplicaScheduleResult {
  requests: number;
  answers: { [kind in ChangeAnswer['kind']]?: number };
  /** Requests made on the minority side of a partition that lasted until their answer. */
  minority_requests: number;
  /** The committed version every live server of the final config reached. */
  version: number;
  /** From healing to every live server of the final config on the last version (simulated ms). */
  converged_ms: number;
  messages: number;
  /** Snapshots delivered: followers that lagged behind the entries a leader keeps. */
  snapshots: number;
  /** Changes answered committed checked in every later config, and those another request touched. */
  kept_checked: number;
  kept_excused: number;
  /** Answers that said nothing changed, checked against every version made. */
  refused_checked: number;
}

const STEP_MS = 50;
/** After healing: an election (a few timeouts at most) and a few round trips. */
const CONVERGE_MS_MAX = 5000;
const DELAYS_MS = [100, 200, 300, 400] as const;

/** The text that replays a schedule: its seed and options. */
export function describeSchedule(options: ReplicaScheduleOptions): string {
  return `seed ${options.seed} (${options.servers} servers, ${options.network}${options.server_changes ? ', server changes' : ''})`;
}

export function runReplicaSchedule(options: ReplicaScheduleOptions): ReplicaScheduleResult {
  try {
    return run(options);
  } catch (error) {
    if (error instanceof Error)
      error.message = `replica schedule ${describeSchedule(options)}: ${error.message}`;
    throw error;
  }
}

function run(options: ReplicaScheduleOptions): ReplicaScheduleResult {
  const servers = Array.from({ length: options.servers }, (_, i) => `s${i + 1}`);
  const cluster = new ReplicaCluster({
    seed: options.seed,
    servers,
    network: SCHEDULE_NETWORKS[options.network],
    entries_kept: 2,
    minority_check: !options.server_changes,
  });
  const chaos = new Random(options.seed ^ 0x7e91ca);
  const items = { next: 0 };
  const chaos_ms = options.chaos_ms ?? 3000;
  for (let t = 0; t < chaos_ms; t += STEP_MS) {
    cluster.runFor(STEP_MS);
    const live = cluster.live();
    const down = servers.filter((id) => !live.includes(id));
    if (live.length > 0 && chaos.chance(0.4)) {
      const at = chaos.pick(live);
      cluster.propose(at, clientChange(chaos, cluster.node(at)!.committed, items));
    }
    // The request above may have crashed its server (a crash pending in the middle of effects).
    const up = cluster.live();
    if (options.server_changes && up.length > 0 && chaos.chance(0.05)) {
      const at = chaos.pick(up);
      cluster.propose(at, serverChange(chaos, cluster.node(at)!.committed, servers));
    }
    if (live.length > 0 && chaos.chance(0.03)) {
      const victim = chaos.pick(live);
      if (chaos.chance(0.5)) cluster.crashDuringNextEffects(victim);
      else cluster.crash(victim);
    }
    if (down.length > 0 && chaos.chance(0.08)) cluster.restart(chaos.pick(down));
    if (chaos.chance(0.02)) {
      const shuffled = chaos.shuffle(servers);
      const cut = 1 + chaos.int(servers.length - 1);
      cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    }
    if (chaos.chance(0.04)) cluster.heal();
  }

  // Heal everything; every server comes back; the network stops losing. One last change is asked
  // (again when it is not committed), so that whatever the chaos left uncommitted is settled.
  cluster.calm();
  const healed_at = cluster.now;
  let last: { server: string; request: number; item: string } | undefined;
  let members = servers;
  let settled = false;
  for (let waited = 0; waited <= CONVERGE_MS_MAX && !settled; waited += 100) {
    cluster.runFor(100);
    const answer = last && cluster.answerOf(last.server, last.request);
    if (last === undefined || (answer !== undefined && answer.kind !== 'committed')) {
      const at = chaos.pick(cluster.live());
      const { version } = cluster.node(at)!.committed;
      const item = `i${items.next++}`;
      const request = cluster.propose(at, dataAdd([item], version));
      last = request === undefined ? undefined : { server: at, request, item };
      continue;
    }
    if (answer?.kind !== 'committed') continue;
    const leader = cluster.leaders()[0];
    if (leader === undefined) continue;
    members = serverIdsOf(cluster.node(leader)!.committed.config).filter((id) => cluster.live().includes(id));
    const { version, agreed } = cluster.agreement(members);
    settled = agreed && version === Math.max(...cluster.checker.configs.keys()) && version >= answer.version;
  }
  const { version, agreed } = cluster.agreement(members);
  if (!settled || !agreed)
    throw new Error(
      `the live servers of the final config (${members.join(', ')}) did not reach one version within ${CONVERGE_MS_MAX} ms of healing (versions ${members.map((id) => cluster.node(id)!.committed.version).join(', ')}; last change ${last === undefined ? 'not asked' : (cluster.answerOf(last.server, last.request)?.kind ?? 'unanswered')})`,
    );
  const converged_ms = cluster.now - healed_at;
  // Every request still waiting gets its answer within its bound.
  cluster.runFor(cluster.checker.request_bound_ms + 100);
  const unanswered = cluster.checker.unanswered(cluster.lives);
  if (unanswered.length > 0)
    throw new Error(
      `${unanswered.length} requests never answered, e.g. ${unanswered[0]!.server}/${unanswered[0]!.request} made at ${unanswered[0]!.at} ms`,
    );
  const kept = cluster.checker.checkNothingLost(cluster.now);
  const refused_checked = cluster.checker.checkNothingChangedWhenSaid(cluster.now);
  const records = [...cluster.checker.requests.values()];
  return {
    requests: records.length,
    answers: Object.fromEntries(cluster.checker.answers),
    minority_requests: records.filter((record) => record.minority).length,
    version,
    converged_ms,
    messages: cluster.delivered,
    snapshots: cluster.delivered_by_kind.get('snapshot') ?? 0,
    kept_checked: kept.checked,
    kept_excused: kept.excused,
    refused_checked,
  };
}

function dataAdd(items: string[], base_version: number): ConfigChange {
  return { kind: 'data_add', system: 'vip', items, base_version };
}

function vipData(config: ConfigDocument): string[] {
  const data = (config.cluster as { system?: { vip?: { data?: unknown } } } | undefined)?.system?.vip?.data;
  return Array.isArray(data) ? (data as string[]) : [];
}

/**
 * A client's request, made after reading `seen` from the server it asks (now and then an older
 * version, as a client that read a while ago): mostly changes that fit, some that conflict or
 * change nothing, some that the config refuses, and some malformed.
 */
function clientChange(
  random: Random,
  seen: { version: number; config: ConfigDocument },
  items: { next: number },
): unknown {
  const base_version = random.chance(0.15) ? Math.max(0, seen.version - random.int(4)) : seen.version;
  const have = vipData(seen.config);
  const roll = random.next();
  if (roll < 0.45) return dataAdd([`i${items.next++}`], base_version);
  if (roll < 0.6 && have.length > 0)
    return { kind: 'data_rm', system: 'vip', items: [random.pick(have)], base_version };
  if (roll < 0.8)
    return { kind: 'system_set', system: 'vip', values: { delay: random.pick(DELAYS_MS) }, base_version };
  if (roll < 0.87 && have.length > 0) return dataAdd([random.pick(have)], base_version);
  if (roll < 0.94)
    return { kind: 'system_set', system: 'vip', values: { check_interval: 1000 }, base_version };
  return { kind: 'data_ad', system: 'vip', items: ['x'], base_version };
}

/** A server change: add back one the config lacks (with its old address), or remove one of more than three. */
function serverChange(
  random: Random,
  seen: { version: number; config: ConfigDocument },
  servers: readonly string[],
): ConfigChange {
  const members = serverIdsOf(seen.config);
  const out = servers.filter((id) => !members.includes(id));
  if (out.length > 0 && (members.length <= 3 || random.chance(0.5))) {
    const id = random.pick(out);
    const port = 2200 + servers.indexOf(id);
    return {
      kind: 'server_add',
      id,
      ip: '127.0.0.1',
      port,
      systems: ['vip'],
      base_version: seen.version,
    };
  }
  return { kind: 'server_rm', id: random.pick(members), base_version: seen.version };
}
