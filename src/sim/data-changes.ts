/**
 * Items added and removed, and placement types and `preempt` changed, while the cluster runs
 * (issue 12), through crashes, kills, pauses, partitions and loss. Each change makes a new
 * version of one system (items, type or preempt, as a running agent takes them); every server
 * applies the versions in order, each at a moment of its own (a committed change reaches the
 * servers at different times; a crashed server takes the newest at its next start, as an agent
 * starts from its stored state; a frozen one applies nothing until it runs again). Judged: never
 * two owners (under `release`), and once every fault is over, every item of the last version held
 * exactly where placement says and every removed item held nowhere, on no host.
 */

import type { SystemConfig } from '../config/index.js';
import { type Check, convergence, heldCheck, ownerCheck, placementCheck, problemsCheck } from './checkers.js';
import { Random } from './random.js';
import type { ScenarioOptions } from './scenarios.js';
import type { Simulation } from './simulation.js';

/** Changes in one run. */
const CHANGES = 12;
/** How late a server may apply a version after it was made (ms): a slow follower, a lost packet. */
const APPLY_SPREAD_MS = 3_000;
/** A frozen server tries again this often (ms). */
const RETRY_PAUSED_MS = 200;
/** Items each system may gain, beyond those it starts with. */
const EXTRA_ITEMS = 6;

export interface DataChangesRun {
  checks: Check[];
  faults: string[];
  owners: number;
}

/**
 * One seeded run on `sim` (built, not started): `settle` runs it to a quiet start, `end` heals
 * every fault and returns the servers left stopped.
 */
export function dataChangesRun(
  sim: Simulation,
  seed: number,
  options: Pick<ScenarioOptions, 'loss'>,
  settle_ms: number,
): DataChangesRun {
  const random = new Random(seed).fork(0xda7a);
  const config = sim.config;
  const n = config.servers.length;
  const faults: string[] = [];
  const systems = config.systems.filter((system) =>
    config.servers.some((server) => server.systems.includes(system.name)),
  );
  const pool = itemPool(systems);
  const current = new Map(systems.map((system) => [system.name, system]));
  // Per server, the versions it has yet to apply, each with when it is due: they apply in order,
  // and a frozen server's wait holds back the versions after it too.
  const appliedAt = new Array<number>(n).fill(0);
  const queues = Array.from(
    { length: n },
    () => [] as { due: number; change: ReadonlyMap<string, SystemConfig> }[],
  );
  const drain = (index: number): void => {
    const queue = queues[index]!;
    while (queue.length > 0 && queue[0]!.due <= sim.now) {
      if (!sim.setSystems(index, queue[0]!.change)) {
        sim.at(sim.now + RETRY_PAUSED_MS, () => drain(index));
        return;
      }
      queue.shift();
    }
  };
  const apply = (index: number, change: ReadonlyMap<string, SystemConfig>, at: number): void => {
    queues[index]!.push({ due: at, change });
    sim.at(at, () => drain(index));
  };

  sim.startAll();
  sim.runUntil(settle_ms);
  for (let c = 0; c < CHANGES; c++) {
    sim.runUntil(sim.now + random.between(300, 6_000));
    if (random.chance(0.5)) faults.push(fault(sim, random, options.loss));
    const system = current.get(random.pick(systems).name)!;
    const next = changed(system, pool.get(system.name)!, random);
    current.set(system.name, next.system);
    const change = new Map([[system.name, next.system]]);
    faults.push(`${(sim.now / 1000).toFixed(1)}s ${system.name} ${next.what} (version ${c + 1})`);
    sim.setClusterSystems(change);
    for (let index = 0; index < n; index++) {
      const at = Math.max(appliedAt[index]! + 1, sim.now + random.between(0, APPLY_SPREAD_MS));
      appliedAt[index] = at;
      apply(index, change, at);
    }
  }

  // Every fault ends; every server has applied every version; some stay stopped.
  sim.runUntil(Math.max(sim.now, ...appliedAt) + 1_000);
  const stopped = healLeavingSomeStopped(sim, random, options.loss, RETRY_PAUSED_MS * 2, faults);
  const checks = [convergence(sim, stopped, 'converged after faults and changes').check, placementCheck(sim)];
  checks.push(heldCheck(sim));
  checks.push(removedCheck(sim, pool, stopped));
  checks.push(versionCheck(sim, stopped));
  if (config.systems.every((system) => system.no_quorum_policy === 'release')) checks.push(ownerCheck(sim));
  return { checks, faults, owners: sim.ownerOverlaps.length };
}

/**
 * Every fault ends: the network heals, paused servers run again (then `settle_ms` passes), and of
 * the stopped servers some stay stopped (fewer than the cluster can lose and keep its quorum) and
 * the others start. Returns those left stopped, and says so in `faults`.
 */
export function healLeavingSomeStopped(
  sim: Simulation,
  random: Random,
  loss: number,
  settle_ms: number,
  faults: string[],
  /**
   * The server sets whose majorities the consensus may need (each node's newest config, committed
   * or not: a server added counts at once): a server stays stopped only while every set that
   * holds it keeps a majority of servers that run.
   */
  voterSets?: readonly ReadonlySet<number>[],
): Set<number> {
  const config = sim.config;
  const n = sim.size;
  sim.heal();
  sim.setLoss(loss);
  for (let i = 0; i < n; i++) if (sim.status(i) === 'paused') sim.resume(i);
  sim.runUntil(sim.now + settle_ms);
  const stopped = new Set<number>();
  // Only the cluster's servers count: a spare never added, or a server removed, is no member.
  const members = [...Array(n).keys()].filter((i) => sim.listed(i));
  const runs = (i: number) => sim.startable(i) && !stopped.has(i);
  const keepsMajority = (i: number) =>
    (voterSets ?? []).every((set) => {
      if (!set.has(i)) return true;
      const up = [...set].filter(runs).length;
      return up - 1 >= Math.floor(set.size / 2) + 1;
    });
  for (const i of members) {
    const status = sim.status(i);
    if (!sim.startable(i) || (status !== 'crashed' && status !== 'left')) continue;
    const quorumKept = members.filter(runs).length - 1 >= config.quorum;
    if (quorumKept && keepsMajority(i) && random.chance(0.5)) stopped.add(i);
    else sim.start(i);
  }
  faults.push(
    `${(sim.now / 1000).toFixed(1)}s healed; stopped: [${[...stopped].map((i) => config.servers[i]!.id)}]`,
  );
  return stopped;
}

/** Every item each system may have in a run: those it starts with, and EXTRA_ITEMS more. */
export function itemPool(systems: readonly SystemConfig[]): Map<string, string[]> {
  return new Map(
    systems.map((system, s) => [
      system.name,
      [...system.data, ...Array.from({ length: EXTRA_ITEMS }, (_, i) => `10.250.${s}.${i}`)],
    ]),
  );
}

/** Types a system that has one holder per item may change to (a `replicated` one keeps its type). */
export const EXCLUSIVE_TYPES = ['shard', 'hash', 'single'] as const;

/**
 * One runtime change of `system`, described: most often items added (inserted, not appended: a
 * `shard` item in the middle moves the homes of those after it) or removed; sometimes a new
 * placement type, or `preempt` turned over, which move items as placement then says.
 */
function changed(
  system: SystemConfig,
  pool: readonly string[],
  random: Random,
): { system: SystemConfig; what: string } {
  const roll = random.next();
  if (roll < 0.15 && system.type !== 'replicated') {
    const type = random.pick(EXCLUSIVE_TYPES.filter((candidate) => candidate !== system.type));
    return { system: { ...system, type }, what: `type ${type}` };
  }
  if (roll < 0.3)
    return { system: { ...system, preempt: !system.preempt }, what: `preempt ${!system.preempt}` };
  const items = system.data;
  const absent = pool.filter((item) => !items.includes(item));
  const add = absent.length > 0 && (items.length === 0 || random.chance(0.55));
  const count = 1 + random.int(2);
  let data: string[];
  if (add) {
    const added = new Set<string>();
    for (let k = 0; k < count && added.size < absent.length; k++) added.add(random.pick(absent));
    data = [...items];
    for (const item of added) data.splice(random.int(data.length + 1), 0, item);
  } else {
    const removed = new Set<string>();
    for (let k = 0; k < count; k++) removed.add(random.pick(items));
    data = items.filter((item) => !removed.has(item));
  }
  return { system: { ...system, data }, what: `items [${data.join(' ')}]` };
}

/** One fault on a random server, described. */
export function fault(sim: Simulation, random: Random, loss: number): string {
  const n = sim.size;
  const node = random.int(n);
  const id = sim.config.servers[node]!.id;
  const kind = random.pick(['crash', 'kill', 'restart', 'pause', 'partition', 'heal', 'loss'] as const);
  const status = sim.status(node);
  switch (kind) {
    case 'crash':
      sim.crash(node);
      break;
    case 'kill':
      sim.kill(node);
      break;
    case 'restart':
      if (status === 'crashed' || status === 'left') sim.start(node);
      else if (status === 'up') sim.restart(node);
      break;
    case 'pause':
      if (status !== 'up') break;
      sim.pause(node);
      sim.at(sim.now + random.between(500, 8_000), () => sim.resume(node));
      break;
    case 'partition': {
      const groups: number[][] = [[], []];
      for (let i = 0; i < n; i++) groups[random.int(2)]!.push(i);
      sim.partition(groups);
      break;
    }
    case 'heal':
      sim.heal();
      break;
    case 'loss':
      sim.setLoss(random.between(0.1, 0.3));
      sim.at(sim.now + random.between(2_000, 8_000), () => sim.setLoss(loss));
      break;
  }
  return `${(sim.now / 1000).toFixed(1)}s ${kind} ${id}`;
}

/**
 * An item no longer in its system is held by no runner and configured on the host of no running
 * agent (a killed agent left stopped keeps what it configured: nobody runs its `down`).
 */
export function removedCheck(
  sim: Simulation,
  pool: ReadonlyMap<string, readonly string[]>,
  stopped: ReadonlySet<number>,
): Check {
  // A server started at the end takes its strays down at its first plan, after its start-up.
  sim.runUntilTrue(() => removedProblems(sim, pool, stopped).length === 0, sim.now + REMOVED_SETTLE_MS);
  return problemsCheck(
    'removed items are held nowhere',
    removedProblems(sim, pool, stopped),
    'no removed item is held or configured',
  );
}

/** How long the removed-items check waits for the last `down`s (ms): a start-up and a retry or two. */
const REMOVED_SETTLE_MS = 60_000;

function removedProblems(
  sim: Simulation,
  pool: ReadonlyMap<string, readonly string[]>,
  stopped: ReadonlySet<number>,
): string[] {
  const problems: string[] = [];
  // A system the config no longer has (a `system rm`): every item of its pool was removed.
  for (const [name, items] of pool) {
    const kept = new Set(sim.config.systems.find((system) => system.name === name)?.data ?? []);
    for (const item of items) {
      if (kept.has(item)) continue;
      const hosts = sim.hostsOf(name, item).filter((index) => !stopped.has(index));
      const runners: number[] = [];
      for (let i = 0; i < sim.size; i++) {
        const runner = sim.runner(i);
        if (runner?.systems().includes(name) && runner.held(name).includes(item)) runners.push(i);
      }
      if (hosts.length > 0 || runners.length > 0)
        problems.push(
          `${name}/${item} was removed, but is on the hosts of [${hosts}] and held by the runners of [${runners}]`,
        );
    }
  }
  return problems;
}

/** What a version changes of a system. */
const versioned = (system: SystemConfig) => ({
  type: system.type,
  preempt: system.preempt,
  data: system.data,
});

/**
 * Every server runs with the last version's systems: stopped ones too (they start with them), or,
 * with `running_only`, only those that run (a stopped one catches up when it starts).
 */
export function versionCheck(sim: Simulation, stopped: ReadonlySet<number>, running_only = false): Check {
  const problems: string[] = [];
  const want = JSON.stringify(sim.config.systems.map(versioned));
  for (let i = 0; i < sim.size; i++) {
    if ((running_only && stopped.has(i)) || !sim.listed(i)) continue;
    const have = JSON.stringify(sim.nodeConfig(i).systems.map(versioned));
    if (have !== want)
      problems.push(`${sim.config.servers[i]!.id}${stopped.has(i) ? ' (stopped)' : ''} has ${have}`);
  }
  return problemsCheck(
    running_only ? 'every running server applied the last version' : 'every server applied the last version',
    problems,
    'every server has the last version',
  );
}
