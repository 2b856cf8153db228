/**
 * Checkers that judge a simulated run from outside the nodes: they look only at what each
 * node believes (its view, and the items placement gives it from that view) and compare it
 * with the truth the simulator knows.
 */

import { reportTtlMs } from '../membership/timing.js';
import { place } from '../placement/index.js';
import { listSome } from '../text/quote.js';
import type { Simulation } from './simulation.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

/** A check that passes with `fine` when there are no problems, else shows the first five. */
export function problemsCheck(label: string, problems: readonly string[], fine: string): Check {
  if (problems.length === 0) return check(label, true, fine);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
  return check(label, false, problems.slice(0, 5).join('; ') + more);
}

/** Nodes whose process runs and takes part (paused ones are stalled, not judged). */
export function upNodes(sim: Simulation): number[] {
  return sim.running().filter((index) => sim.status(index) === 'up');
}

/** Members that `observer` treats as gone (down or left), as a sorted list. */
export function goneIn(sim: Simulation, observer: number): number[] {
  if (!sim.core(observer)) return [];
  const out: number[] = [];
  for (let index = 0; index < sim.size; index++) {
    const state = sim.stateIn(observer, index);
    if (state === 'down' || state === 'left') out.push(index);
  }
  return out;
}

/** True when every up node sees exactly `expectedGone` as down or left. */
export function viewsMatch(sim: Simulation, expectedGone: ReadonlySet<number>): boolean {
  for (const observer of upNodes(sim)) {
    const gone = goneIn(sim, observer);
    if (gone.length !== expectedGone.size || gone.some((index) => !expectedGone.has(index))) return false;
  }
  return true;
}

/**
 * What the up nodes see as gone, grouped: "3 nodes see gone [flip1] (flip, flip2)". One line
 * whatever the cluster's size: each group names a few of its nodes and counts the rest.
 */
export function describeViews(sim: Simulation): string {
  const ids = sim.config.servers.map((server) => server.id);
  const groups = new Map<string, string[]>();
  for (const observer of upNodes(sim)) {
    const gone = goneIn(sim, observer)
      .map((i) => ids[i]!)
      .join(',');
    groups.set(gone, [...(groups.get(gone) ?? []), ids[observer]!]);
  }
  const shown = [...groups].slice(0, VIEW_GROUPS_SHOWN_MAX).map(([gone, observers]) => {
    const count = observers.length === 1 ? '1 node sees' : `${observers.length} nodes see`;
    return `${count} gone [${listSome(gone === '' ? [] : gone.split(','), 8).replace(/^none$/, '')}] (${listSome(observers, 4)})`;
  });
  const rest = groups.size - VIEW_GROUPS_SHOWN_MAX;
  return rest > 0 ? `${shown.join('; ')}; and ${rest} more views` : shown.join('; ');
}

/** Different views described one by one before the rest are counted. */
const VIEW_GROUPS_SHOWN_MAX = 5;

/**
 * How long after the last fault heals every live node must agree (ms): a crashed node needs
 * a probe to reach it (one round-robin pass), two timeouts and the spread of the reports; a
 * wrongly declared node needs its refutation to spread. Both fit in one report lifetime plus
 * a few rounds; twice that is the stated bound.
 */
export function convergenceBoundMs(sim: Simulation): number {
  const config = sim.config;
  const n = config.servers.length;
  const pass = Math.ceil((n - 1) / config.ping_per_interval) * config.gossip_interval_ms;
  return (
    2 *
    (Math.min(pass, 10 * config.gossip_interval_ms) +
      reportTtlMs(config.ping_timeout_ms, config.gossip_interval_ms, n))
  );
}

/** Runs until the views match `expectedGone` or the bound passes; returns the check and time. */
export function convergence(
  sim: Simulation,
  expectedGone: ReadonlySet<number>,
  label: string,
): { check: Check; elapsed_ms: number | undefined } {
  const start = sim.now;
  const bound = convergenceBoundMs(sim);
  const at = sim.runUntilTrue(() => viewsMatch(sim, expectedGone), start + bound);
  const ids = sim.config.servers.map((server) => server.id);
  const expected = `[${listSome(
    [...expectedGone].map((i) => ids[i]!),
    8,
  )}]`;
  if (at === undefined) {
    return {
      check: check(
        label,
        false,
        `no agreement on gone=${expected} within ${bound} ms: ${describeViews(sim)}`,
      ),
      elapsed_ms: undefined,
    };
  }
  return {
    check: check(
      label,
      true,
      `all live nodes agree gone=${expected} after ${(at - start).toFixed(0)} ms (bound ${bound} ms)`,
    ),
    elapsed_ms: at - start,
  };
}

/**
 * After convergence: every `shard`/`hash`/`single` item is wanted by exactly one up node, and every
 * `replicated` item by every up member, each node deciding from its own view.
 */
export function placementCheck(sim: Simulation, label = 'placement'): Check {
  const config = sim.config;
  const up = upNodes(sim);
  const problems: string[] = [];
  for (const system of config.systems) {
    // Without preemption an item stays with its holder, wherever placement would put it now:
    // heldCheck judges that every item is held exactly once, and the scenarios where it moved.
    if (!system.preempt) continue;
    const wanted = new Map<string, string[]>(system.data.map((item) => [item, []]));
    for (const observer of up) {
      const id = config.servers[observer]!.id;
      const items = place(system, sim.liveIdsIn(observer)).holdings.get(id) ?? [];
      for (const item of items) wanted.get(item)!.push(id);
    }
    const upMembers = system.members.filter((id) =>
      up.includes(config.servers.findIndex((s) => s.id === id)),
    );
    for (const [item, holders] of wanted) {
      if (system.type === 'replicated') {
        if (holders.length !== upMembers.length)
          problems.push(
            `${system.name}/${item} held by [${listSome(holders, 8)}] not all of [${listSome(upMembers, 8)}]`,
          );
      } else if (upMembers.length > 0 && holders.length !== 1) {
        problems.push(`${system.name}/${item} held by ${holders.length} nodes [${listSome(holders, 8)}]`);
      }
    }
  }
  return problemsCheck(label, problems, 'every item where placement says, exactly once');
}

/** Down declarations (by any node, about any member) since `since` (ms). */
export function downsSince(sim: Simulation, since: number): number {
  let count = 0;
  for (const entry of sim.trace) if (entry.at >= since && entry.to === 'down') count++;
  return count;
}

/**
 * What the nodes actually hold (their script runners' `held`, after the simulated scripts ran),
 * not just what they want: waits until every up node's runner is idle, then checks that every
 * `shard`/`hash`/`single` item is held by exactly one up node and every `replicated` item by every up
 * member.
 */
export function heldCheck(
  sim: Simulation,
  label = 'scripts ran: each item held exactly where placement says',
): Check {
  const config = sim.config;
  if (upNodes(sim).every((index) => sim.runner(index) === undefined)) {
    return check(label, true, 'skipped: this simulation runs no scripts');
  }
  // Settled: every up node's runner is idle and holds what placement gives it from its view.
  const holdsWhatItWants = (index: number): boolean => {
    const runner = sim.runner(index);
    if (!runner) return true;
    if (!runner.idle()) return false;
    const id = config.servers[index]!.id;
    const live = sim.liveIdsIn(index);
    return runner.systems().every((name) => {
      const system = config.systems.find((entry) => entry.name === name)!;
      const wanted = place(system, live).holdings.get(id) ?? [];
      return wanted.join('\n') === runner.held(name).join('\n');
    });
  };
  sim.runUntilTrue(() => upNodes(sim).every(holdsWhatItWants), sim.now + SCRIPTS_SETTLE_MS_MAX);
  // A leased item that nobody renews lapses on its host within a lease while its runner may still
  // count it held: give any such lapse time to show, and the agent time to put the item back.
  if (config.systems.some((system) => system.lease !== undefined)) {
    sim.runUntil(sim.now + HOST_SETTLE_MS);
    sim.runUntilTrue(() => upNodes(sim).every(holdsWhatItWants), sim.now + SCRIPTS_SETTLE_MS_MAX);
  }
  const up = upNodes(sim);
  const problems: string[] = [];
  for (const system of config.systems) {
    const upMembers = up.filter((index) => config.servers[index]!.systems.includes(system.name));
    for (const item of system.data) {
      const holders = upMembers.filter((index) => sim.runner(index)?.held(system.name).includes(item));
      const ids = holders.map((index) => config.servers[index]!.id);
      // What the hosts have, not only what the runners count: an item a runner holds but its host
      // dropped (a lease that lapsed) is answered by nobody.
      const onHosts = new Set(sim.hostsOf(system.name, item));
      // (Without the quorum a leased item lapses by design: nobody renews it.)
      const unanswered = holders.filter((index) => !onHosts.has(index) && sim.hasQuorum(index));
      if (unanswered.length > 0 && problems.length < 5)
        problems.push(
          `${system.name}/${item} held by [${ids}] but not on the host of [${unanswered.map((index) => config.servers[index]!.id)}]`,
        );
      if (
        system.type === 'replicated'
          ? holders.length !== upMembers.length
          : upMembers.length > 0 && holders.length !== 1
      ) {
        if (problems.length >= 5) {
          problems.push(`${system.name}/${item} held by [${ids}]`);
          continue;
        }
        const wanting = upMembers.filter((index) =>
          (place(system, sim.liveIdsIn(index)).holdings.get(config.servers[index]!.id) ?? []).includes(item),
        );
        const status = wanting.map((index) => {
          const view = sim
            .runner(index)
            ?.status()
            .find((entry) => entry.system === system.name);
          return `${config.servers[index]!.id}'s runner: ${JSON.stringify(view)}`;
        });
        problems.push(`${system.name}/${item} held by [${ids}]; ${status.join('; ')}`);
      }
    }
  }
  return problemsCheck(label, problems, 'every item held exactly where placement says');
}

/** Failed scripts are retried at most 30 s apart (the runner's retry_max_ms); allow a few rounds. */
const SCRIPTS_SETTLE_MS_MAX = 120_000;
/** Several leases: long enough for an item nobody renews to lapse on its host, and be put back. */
const HOST_SETTLE_MS = 5_000;

/**
 * Break-before-make between live servers: no `alive` started while another up server that the
 * starter held live might still hold the item (see Simulation.handoverOverlaps). Servers cut
 * off or declared down are not live in the starter's view and are fencing's concern, not this.
 */
export function handoverCheck(
  sim: Simulation,
  label = 'hand-overs between live servers are break-before-make',
  since = 0,
): Check {
  const ids = sim.config.servers.map((server) => server.id);
  const problems = sim.handoverOverlaps
    .filter((overlap) => overlap.at >= since)
    .map(
      (overlap) =>
        `${(overlap.at / 1000).toFixed(3)}s ${ids[overlap.starter]} started alive for ${overlap.system}/${overlap.item} while ${ids[overlap.holder]} might hold it`,
    );
  return problemsCheck(label, problems, 'no item started on a server while a live peer held it');
}

/**
 * How long after the scripts settled a neighbour may still reach a server that let an item go:
 * the release notice's way to the new holder and its `alive` (ms).
 */
const ANNOUNCE_SETTLE_MS_MAX = 30_000;

/**
 * Every item let go was announced again by whoever holds it now: no neighbour is left sending an
 * item's traffic to a server whose host no longer has the item (see Simulation.staleNeighbours).
 * This is the simulator's view of a client's ARP cache; a SIGKILLed agent's leftover address,
 * removed by its next run, is the case it was written for.
 */
export function announcedCheck(
  sim: Simulation,
  label = 'every item let go was announced again by its holder',
): Check {
  if (upNodes(sim).every((index) => sim.runner(index) === undefined)) {
    return check(label, true, 'skipped: this simulation runs no scripts');
  }
  sim.runUntilTrue(() => sim.staleNeighbours().length === 0, sim.now + ANNOUNCE_SETTLE_MS_MAX);
  const ids = sim.config.servers.map((server) => server.id);
  const problems = sim.staleNeighbours().map(({ system, item, server }) => {
    const hosts = sim.hostsOf(system, item).map((index) => ids[index]);
    return `a neighbour may still send ${system}/${item} to ${ids[server]}, which let it go (held by [${hosts}])`;
  });
  return problemsCheck(label, problems, 'no neighbour points at a server without the item');
}

/**
 * At no moment is a shard, hash or single item configured on two hosts: an `alive` never starts while
 * another host still has the item, whether its agent runs, froze or was killed (a leased item
 * counts until it lapses). What no_quorum_policy `release` promises (docs/SAFETY.md).
 */
export function ownerCheck(sim: Simulation, label = 'never two owners: no item on two hosts at once'): Check {
  const ids = sim.config.servers.map((server) => server.id);
  const problems = sim.ownerOverlaps.map(
    (overlap) =>
      `${(overlap.at / 1000).toFixed(3)}s ${ids[overlap.starter]} started alive for ${overlap.system}/${overlap.item} while ${overlap.holders
        .map(
          (holder) =>
            `${ids[holder.server]} (${holder.status}) had it${Number.isFinite(holder.until) ? ` until ${(holder.until / 1000).toFixed(3)}s` : ''}`,
        )
        .join(', ')}`,
  );
  return problemsCheck(label, problems, 'no item was on two hosts at once');
}
