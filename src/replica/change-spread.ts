/**
 * How fast a runtime change spreads (issue 12's `bench:sim` figure): a seeded run of a
 * TimedReplicaCluster (timed-cluster.ts) that waits for a leader, then asks for one `data_add`
 * at a time, each at a random server (so most are forwarded to the leader), and measures, per
 * change, in virtual ms:
 *
 * - request -> answer at the server asked: the commit latency a client of that server's API sees;
 * - request -> the last server's `applied` effect for the change: when every server runs with it.
 *
 * And, per change, the messages sent and the real (wall) time the simulation spent, from the
 * request until the network is quiet again: every message in flight delivered, every save done.
 *
 * It also checks what it measures: every server applies versions one after another, each version
 * is the same change on every server, and a change answered `committed` is applied everywhere
 * with the version the answer names. A breach throws, naming the seed.
 */
import type { RaftTiming } from '../consensus/timing.js';
import { Random } from '../sim/random.js';
import type { ChangeAnswerKind } from './answer.js';
import { type DiskOptions, type LinkOptions, TimedReplicaCluster } from './timed-cluster.js';

export interface ChangeSpreadOptions {
  seed: number;
  servers: number;
  /** Changes asked, one at a time. */
  changes: number;
  timing: RaftTiming;
  links: LinkOptions;
  disk: DiskOptions;
  /** Told after each change is measured (how many so far): for a progress line. */
  onChange?: (done: number) => void;
}

export interface ChangeSample {
  /** The server asked, and whether it led then (no forward). */
  server: string;
  at_leader: boolean;
  answer: ChangeAnswerKind;
  /** The version the change made, or null when no server applied it. */
  version: number | null;
  /** Request -> answer at the server asked (virtual ms). */
  answer_ms: number;
  /** Request -> the last server's `applied` of the change (virtual ms); null when it never applied. */
  applied_all_ms: number | null;
  /** Request -> the first server's `applied` (the leader's, virtual ms); null when it never applied. */
  applied_first_ms: number | null;
  /** Messages sent (lost ones included) from the request until the network was quiet. */
  messages: number;
  /** Saves carried out on all servers in that time. */
  saves: number;
  /** Real time the simulation spent on it (ms). */
  wall_ms: number;
}

export interface ChangeSpreadResult {
  /** Virtual time from the start until every server knew one leader (ms). */
  leader_ms: number;
  samples: ChangeSample[];
  /** The version every server ended on. */
  version: number;
}

/** How long a run may wait for its first leader (virtual ms): many election timeouts. */
const LEADER_WAIT_MS_MAX = 30_000;
/** After the leader is known: a few heartbeats, so every follower has heard it. */
const SETTLE_MS = 500;
/** After a change is answered and applied: the network goes quiet within a few round trips. */
const QUIET_WAIT_MS_MAX = 1_000;

export function measureChangeSpread(options: ChangeSpreadOptions): ChangeSpreadResult {
  try {
    return run(options);
  } catch (error) {
    if (error instanceof Error)
      error.message = `change spread, seed ${options.seed}, ${options.servers} servers, loss ${options.links.loss}: ${error.message}`;
    throw error;
  }
}

interface Tracked {
  item: string;
  server: string;
  request: number;
  at: number;
  answer?: { kind: ChangeAnswerKind; version: number | null; at: number };
  /** The servers that applied it, and when. */
  applied: Map<string, number>;
  version?: number;
}

function run(options: ChangeSpreadOptions): ChangeSpreadResult {
  const ids = Array.from({ length: options.servers }, (_, i) => `s${i + 1}`);
  const workload = new Random(options.seed).fork(424_242);
  /** The change being measured, by its item. */
  let current: Tracked | undefined;
  /** The last version each server applied, and the item each version added. */
  const last_version = new Map<string, number>(ids.map((id) => [id, 0]));
  const item_of_version = new Map<number, string>();

  const cluster = new TimedReplicaCluster({
    seed: options.seed,
    servers: ids,
    timing: options.timing,
    links: options.links,
    disk: options.disk,
    onApplied: (server, effect, now) => {
      const before = last_version.get(server)!;
      if (effect.version !== before + 1 || effect.change === null)
        throw new Error(
          `${server} applied version ${effect.version} after ${before}${effect.change === null ? ' from a snapshot' : ''}: every server should apply each version, one after another`,
        );
      last_version.set(server, effect.version);
      const change = effect.change;
      const item = change.kind === 'data_add' ? change.items.join(',') : change.kind;
      const known = item_of_version.get(effect.version);
      if (known === undefined) item_of_version.set(effect.version, item);
      else if (known !== item)
        throw new Error(`version ${effect.version} is ${item} on ${server} but ${known} elsewhere`);
      if (current !== undefined && item === current.item) {
        current.applied.set(server, now);
        current.version = effect.version;
      }
    },
    onAnswer: (server, request, answer, now) => {
      if (current === undefined || server !== current.server || request !== current.request)
        throw new Error(`${server} answered request ${request}, which is not the one being measured`);
      if (current.answer !== undefined) throw new Error(`${server} answered request ${request} twice`);
      current.answer = {
        kind: answer.kind,
        version: answer.kind === 'committed' || answer.kind === 'no_op' ? answer.version : null,
        at: now,
      };
    },
  });

  const leaderKnown = () => {
    const leader = cluster.replica(ids[0]!).leader;
    return leader !== null && ids.every((id) => cluster.replica(id).leader === leader);
  };
  if (!cluster.runUntilTrue(leaderKnown, LEADER_WAIT_MS_MAX))
    throw new Error(`no leader known to every server within ${LEADER_WAIT_MS_MAX} ms`);
  const leader_ms = cluster.now;
  cluster.runUntil(cluster.now + SETTLE_MS);

  const samples: ChangeSample[] = [];
  const answer_bound_ms = options.timing.proposal_timeout_ms + options.timing.election_timeout_ms_max;
  for (let k = 0; k < options.changes; k++) {
    // A random pause, so that requests fall at every phase of the leader's heartbeats.
    cluster.runUntil(cluster.now + workload.between(0, 2 * options.timing.heartbeat_ms));
    const server = workload.pick(ids);
    const replica = cluster.replica(server);
    const at_leader = replica.leader === server;
    const item = `c${k + 1}`;
    const sent = cluster.sent;
    const saves = cluster.saves;
    const wall = performance.now();
    current = { item, server, request: -1, at: cluster.now, applied: new Map() };
    const tracked = current;
    tracked.request = cluster.propose(server, {
      kind: 'data_add',
      system: 'vip',
      items: [item],
      base_version: replica.committed.version,
    });
    // Answered, and applied everywhere unless the answer says it was not committed.
    const settled = () =>
      tracked.answer !== undefined &&
      (tracked.applied.size === ids.length || tracked.answer.kind !== 'committed');
    if (!cluster.runUntilTrue(settled, tracked.at + answer_bound_ms + QUIET_WAIT_MS_MAX))
      throw new Error(
        `change ${item} asked at ${server} at ${tracked.at} ms: ${tracked.answer === undefined ? 'no answer' : `answered ${tracked.answer.kind}`}, applied by ${tracked.applied.size} of ${ids.length} servers, within ${answer_bound_ms + QUIET_WAIT_MS_MAX} ms`,
      );
    cluster.runUntilTrue(() => cluster.quiet, cluster.now + QUIET_WAIT_MS_MAX);
    const wall_ms = performance.now() - wall;
    const answer = tracked.answer!;
    if (answer.kind === 'committed' && answer.version !== tracked.version)
      throw new Error(
        `change ${item} was answered committed as version ${answer.version}, but made version ${tracked.version}`,
      );
    const times = [...tracked.applied.values()];
    samples.push({
      server,
      at_leader,
      answer: answer.kind,
      version: tracked.version ?? null,
      answer_ms: answer.at - tracked.at,
      applied_all_ms: times.length === ids.length ? Math.max(...times) - tracked.at : null,
      applied_first_ms: times.length > 0 ? Math.min(...times) - tracked.at : null,
      messages: cluster.sent - sent,
      saves: cluster.saves - saves,
      wall_ms,
    });
    current = undefined;
    options.onChange?.(k + 1);
  }
  // Whatever was left (a change answered `timeout` that commits after all) has spread by now.
  cluster.runUntil(cluster.now + answer_bound_ms);
  const versions = ids.map((id) => cluster.replica(id).committed.version);
  const version = versions[0]!;
  if (!versions.every((v) => v === version))
    throw new Error(`the servers ended on different versions: ${[...new Set(versions)].join(', ')}`);
  return { leader_ms, samples, version };
}
