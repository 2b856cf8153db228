/**
 * Runtime changes through the consensus, with ownership (issue 12): every simulated server runs
 * the config replica (sim-replicas.ts) beside the protocol, clients ask random servers for
 * changes (items added and removed, a system's `type` or `preempt` set), the replicas commit them
 * through crashes, kills, restarts, pauses, partitions and loss, and each server applies a
 * committed version the moment its own replica reports it, as the agent does. Judged: the
 * replicas' checkers (one config per version, versions in order, no change answered committed
 * lost), every running server ending on the same version and applying it, never two owners
 * (under `release`), and once the faults are over every item of the last version held exactly
 * where placement says and every removed item held nowhere.
 */

import { itemsOf, objectOr, own, systemsOf } from '../changes/document.js';
import type { ConfigChange } from '../changes/index.js';
import { type FlipConfig, parseConfig } from '../config/index.js';
import { SafetyViolation } from '../consensus/checkers.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import {
  type Check,
  check,
  convergence,
  heldCheck,
  ownerCheck,
  placementCheck,
  problemsCheck,
} from './checkers.js';
import { readmeDocument, syntheticDocument } from './clusters.js';
import {
  EXCLUSIVE_TYPES,
  fault,
  healLeavingSomeStopped,
  itemPool,
  removedCheck,
  versionCheck,
} from './data-changes.js';
import { Random } from './random.js';
import type { ScenarioOptions } from './scenarios.js';
import { SimReplicas } from './sim-replicas.js';
import type { Simulation } from './simulation.js';

/** Changes asked in one run. */
const REQUESTS = 16;
/**
 * Servers a run may add (`server add`), by id: nodes of the simulation that start only once a
 * committed version lists them, each joining through a running server as `flip agent --join`.
 */
export const SPARE_SERVERS: readonly string[] = ['added1', 'added2'];
/** A system that `system add` brings and `system rm` takes away during a run, with its items. */
const EXTRA_SYSTEM = 'extra';
const EXTRA_ITEMS: readonly string[] = ['10.251.0.1', '10.251.0.2', '10.251.0.3'];
/** A run keeps at least this many servers: `server rm` asks below it are not made. */
const SERVERS_MIN = 3;
/** How long the running replicas have to agree on the last version once the faults are over (ms). */
const AGREE_MS = 30_000;
/** How long the replicas must stay settled on one version before the run is judged (ms). */
const SETTLED_FOR_MS = 3_000;

/**
 * The scenario's cluster as a config file (the replicas replicate documents): the README's for 3
 * servers, else the synthetic one, with the options' policy and lease program, and no `quorum`:
 * a majority, whatever the number of servers the run adds and removes.
 */
export function clusterDocument(
  options: Pick<ScenarioOptions, 'nodes' | 'timing' | 'policy' | 'leased'>,
): ConfigDocument {
  const doc = structuredClone(
    options.nodes === 3 ? readmeDocument(options.timing) : syntheticDocument(options.nodes, options.timing),
  ) as ConfigDocument;
  if (options.policy !== undefined) doc.no_quorum_policy = options.policy;
  // The quorum follows the number of servers as they are added and removed (a majority).
  delete doc.quorum;
  if (options.leased)
    for (const system of Object.values(systemsOf(doc))) objectOr(system).lease = 'vip-lease';
  return doc;
}

export interface ReplicaChangesRun {
  checks: Check[];
  faults: string[];
  owners: number;
  /** Requests asked, and the answers given by kind. */
  requests: number;
  answers: Record<string, number>;
  version: number;
  /** Server adds and removes committed in the run. */
  servers_added: number;
  servers_removed: number;
}

/**
 * One seeded run on `sim` (built from `file`, scripts set, not started): `settle_ms` to a quiet
 * start, then the requests among faults, then everything heals and some servers stay stopped.
 */
export function replicaChangesRun(
  sim: Simulation,
  file: ConfigDocument,
  seed: number,
  options: Pick<ScenarioOptions, 'loss'>,
  settle_ms: number,
): ReplicaChangesRun {
  const random = new Random(seed).fork(0x4e91);
  const replicas = new SimReplicas(sim, file, random.fork(1));
  const config = sim.config;
  const n = sim.size;
  const ids = config.servers.map((server) => server.id);
  /** Spares a committed version listed, and joined (each once: a removed server never returns). */
  const joined = new Set<number>();
  const joinAdded = () => {
    for (let spare = 0; spare < n; spare++) {
      if (sim.configured(spare) || joined.has(spare)) continue;
      const via = [...Array(n).keys()].find(
        (i) =>
          sim.status(i) === 'up' &&
          Object.hasOwn(objectOr(replicas.committed(i)?.config.servers), ids[spare]!),
      );
      if (via === undefined) continue;
      if (replicas.join(spare, via)) {
        joined.add(spare);
        faults.push(`${(sim.now / 1000).toFixed(1)}s ${ids[spare]} joins through ${ids[via]}`);
      }
    }
  };
  const faults: string[] = [];
  const checks: Check[] = [];
  const pool = itemPool(config.systems);
  pool.set(EXTRA_SYSTEM, [...EXTRA_ITEMS]);
  let requests = 0;
  let stopped = new Set<number>();
  try {
    sim.startAll();
    sim.runUntil(settle_ms);
    for (let r = 0; r < REQUESTS; r++) {
      sim.runUntil(sim.now + random.between(300, 5_000));
      if (random.chance(0.5)) faults.push(fault(sim, random, options.loss));
      joinAdded();
      const index = random.int(n);
      const committed = replicas.committed(index);
      if (committed === undefined) continue;
      const change = changeFor(
        committed,
        config,
        pool,
        random,
        ids.slice(n - SPARE_SERVERS.length),
        new Set([...joined].map((spare) => ids[spare]!)),
      );
      if (change === undefined) continue;
      if (replicas.propose(index, change) === undefined) continue;
      requests++;
      faults.push(`${(sim.now / 1000).toFixed(1)}s at ${config.servers[index]!.id}: ${describe(change)}`);
    }
    // Every fault ends; some servers stay stopped; the others agree on the last version.
    sim.runUntil(sim.now + 2_000);
    joinAdded();
    // The cluster's servers as the last committed version lists them (for which may stay stopped).
    const latest = latestConfig(replicas);
    if (latest !== undefined) sim.setClusterConfig(latest);
    stopped = healLeavingSomeStopped(sim, random, options.loss, 0, faults, replicas.voterSets());
    // Settled: the running servers agree and no request waits, and it stays so for a while (an
    // entry a leader appended may still commit after its request was answered `timeout`).
    const until = sim.now + AGREE_MS;
    for (let version = -1; sim.now < until; ) {
      sim.runUntilTrue(() => replicas.settled() && replicas.drained(), until);
      // A server added by a version committed since is started, as its operator would.
      const before = joined.size;
      joinAdded();
      if (replicas.agreement().version === version && joined.size === before) break;
      version = replicas.agreement().version;
      sim.runUntil(Math.min(until, sim.now + SETTLED_FOR_MS));
    }
    const agreement = replicas.agreement();
    checks.push(
      check(
        'the running servers agree on the last committed version',
        replicas.settled(),
        `version ${agreement.version}${agreement.agreed ? '' : ': not all of them'}`,
      ),
    );
    const lost = replicas.checker.checkNothingLost(sim.now);
    checks.push(
      check('no change answered committed is lost', true, `${lost.checked} checked, ${lost.excused} excused`),
    );
    // The checkers judge by the last committed config.
    const last = latestConfig(replicas);
    if (last !== undefined) sim.setClusterConfig(last);
    checks.push(versionCheck(sim, stopped, true));
    checks.push(
      problemsCheck(
        'every running server took every committed version (none waits for a departure)',
        [...Array(n).keys()]
          .filter((i) => sim.status(i) === 'up' && replicas.versionsWaiting(i) > 0)
          .map(
            (i) =>
              `${ids[i]} has ${replicas.versionsWaiting(i)} versions waiting; its servers: ${sim
                .nodeConfig(i)
                .servers.map((server) => `${server.id}:${sim.stateIn(i, ids.indexOf(server.id))}`)
                .join(' ')}`,
          ),
        'none left',
      ),
    );
    checks.push(
      problemsCheck(
        'every version applied without a restart',
        replicas.needed_restart,
        'every committed version was taken at runtime',
      ),
    );
    // A server removed from the cluster is in nobody's list any more: nobody has a view of it.
    const stoppedListed = new Set([...stopped].filter((index) => sim.listed(index)));
    checks.push(
      convergence(sim, stoppedListed, 'converged after faults and changes').check,
      placementCheck(sim),
    );
    checks.push(heldCheck(sim));
    checks.push(removedCheck(sim, pool, stopped));
    if (config.systems.every((system) => system.no_quorum_policy === 'release')) checks.push(ownerCheck(sim));
    return {
      checks,
      faults,
      owners: sim.ownerOverlaps.length,
      requests,
      answers: Object.fromEntries(replicas.answers),
      version: agreement.version,
      servers_added: joined.size,
      servers_removed: [...Array(n).keys()].filter((i) => !sim.listed(i) && sim.configured(i)).length,
    };
  } catch (error) {
    if (!(error instanceof SafetyViolation)) throw error;
    checks.push(check('the replicas stay safe', false, error.message));
    return {
      checks,
      faults,
      owners: sim.ownerOverlaps.length,
      requests,
      answers: {},
      version: 0,
      servers_added: 0,
      servers_removed: 0,
    };
  }
}

/**
 * The newest committed config anywhere (a running server's, or a stopped one's disk), as one of
 * the servers it lists validates it; undefined when there is none yet.
 */
function latestConfig(replicas: SimReplicas): FlipConfig | undefined {
  const newest = replicas.newest();
  if (newest === undefined) return undefined;
  const id = Object.keys(objectOr(newest.config.servers))[0]!;
  return parseConfig(JSON.stringify({ ...newest.config, id }), `version ${newest.version}`);
}

/**
 * A server change against `committed`: a spare never listed added (a member of one system or an
 * arbiter, anywhere in the priority order), or a listed server removed while SERVERS_MIN remain.
 */
function serverChangeFor(
  committed: { version: number; config: ConfigDocument },
  config: FlipConfig,
  spares: readonly string[],
  joined: ReadonlySet<string>,
  random: Random,
): ConfigChange | undefined {
  const listed = Object.keys(objectOr(committed.config.servers));
  const base_version = committed.version;
  const fresh = spares.filter((id) => !listed.includes(id) && !joined.has(id));
  if (fresh.length > 0 && random.chance(0.6)) {
    const id = random.pick(fresh);
    const systems = random.chance(0.8) ? [random.pick(config.systems).name] : [];
    return {
      kind: 'server_add',
      id,
      ip: '127.0.0.1',
      port: 20_000 + spares.indexOf(id),
      ...(random.chance(0.5) ? { priority: random.int(4) } : {}),
      systems,
      base_version,
    };
  }
  if (listed.length <= SERVERS_MIN) return undefined;
  return { kind: 'server_rm', id: random.pick(listed), base_version };
}

/**
 * A change of the system list or of a system's setup against `committed`: EXTRA_SYSTEM added (a
 * copy of the first system's definition with its own items, type and members) or removed, or a
 * new `config` for a system, which its members take up anew (down, then alive with it).
 */
function systemChangeFor(
  committed: { version: number; config: ConfigDocument },
  config: FlipConfig,
  random: Random,
): ConfigChange | undefined {
  const base_version = committed.version;
  const systems = systemsOf(committed.config);
  const config_change = (system: string): ConfigChange => ({
    kind: 'system_set',
    system,
    values: { config: { tag: random.int(1000) } },
    base_version,
  });
  if (!Object.hasOwn(systems, EXTRA_SYSTEM)) {
    const listed = Object.keys(objectOr(committed.config.servers));
    const members = listed.filter(() => random.chance(0.5));
    if (members.length === 0) members.push(random.pick(listed));
    const first = objectOr(own(systems, config.systems[0]!.name));
    return {
      kind: 'system_add',
      system: EXTRA_SYSTEM,
      definition: {
        ...(first as object),
        type: random.pick(EXCLUSIVE_TYPES),
        data: EXTRA_ITEMS.filter(() => random.chance(0.7)),
        config: { tag: random.int(1000) },
      } as never,
      members,
      base_version,
    };
  }
  const roll = random.next();
  if (roll < 0.4) return { kind: 'system_rm', system: EXTRA_SYSTEM, base_version };
  if (roll < 0.7) return config_change(EXTRA_SYSTEM);
  return config_change(random.pick(config.systems).name);
}

/** A random change against `committed`, as a client that read it would ask for. */
function changeFor(
  committed: { version: number; config: ConfigDocument },
  config: FlipConfig,
  pool: ReadonlyMap<string, readonly string[]>,
  random: Random,
  spares: readonly string[],
  joined: ReadonlySet<string>,
): ConfigChange | undefined {
  if (random.chance(0.2)) return serverChangeFor(committed, config, spares, joined, random);
  if (random.chance(0.15)) return systemChangeFor(committed, config, random);
  const system = random.pick(config.systems).name;
  const written = objectOr(own(systemsOf(committed.config), system));
  const items = itemsOf(written).map(String);
  const base_version = committed.version;
  const roll = random.next();
  if (roll < 0.15) {
    const type = String(own(written, 'type'));
    if (type === 'replicated' || type === 'replicate') return undefined;
    const other = random.pick(EXCLUSIVE_TYPES.filter((candidate) => candidate !== type));
    return { kind: 'system_set', system, values: { type: other }, base_version };
  }
  if (roll < 0.3) {
    const preempt = own(written, 'preempt') !== false;
    return { kind: 'system_set', system, values: { preempt: !preempt }, base_version };
  }
  const absent = (pool.get(system) ?? []).filter((item) => !items.includes(item));
  const count = 1 + random.int(2);
  if (absent.length > 0 && (items.length === 0 || random.chance(0.55))) {
    const added = new Set<string>();
    for (let k = 0; k < count; k++) added.add(random.pick(absent));
    return { kind: 'data_add', system, items: [...added], base_version };
  }
  if (items.length === 0) return undefined;
  const removed = new Set<string>();
  for (let k = 0; k < count; k++) removed.add(random.pick(items));
  return { kind: 'data_rm', system, items: [...removed], base_version };
}

function describe(change: ConfigChange): string {
  switch (change.kind) {
    case 'data_add':
    case 'data_rm':
      return `${change.kind} ${change.system} [${change.items.join(' ')}] (base ${change.base_version})`;
    case 'system_set':
      return `system_set ${change.system} ${JSON.stringify(change.values)} (base ${change.base_version})`;
    case 'server_add':
      return `server_add ${change.id} priority ${change.priority ?? '-'} systems [${(change.systems ?? []).join(' ')}] (base ${change.base_version})`;
    case 'server_rm':
      return `server_rm ${change.id} (base ${change.base_version})`;
    case 'system_add':
      return `system_add ${change.system} [${(change.definition.data ?? []).join(' ')}] members [${change.members.join(' ')}] (base ${change.base_version})`;
    case 'system_rm':
      return `system_rm ${change.system} (base ${change.base_version})`;
  }
}
