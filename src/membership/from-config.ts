/** The protocol core's options as a flip config sets them, for the daemon and the simulator alike. */
import type { FlipConfig } from '../config/index.js';
import { readinessIndexes } from '../health/health-monitor.js';
import type { RosterLists } from '../wire/roster.js';
import type { NodeOptions, Packing } from './node.js';
import { Renumbering } from './renumbering.js';

/**
 * The lists that the numbers in this config's packets refer to (wire/roster.ts): the servers in
 * index order, and the systems in the order readiness numbers them.
 */
export function rosterOf(config: FlipConfig): RosterLists {
  return {
    servers: config.servers.map((server) => server.id),
    systems: [...readinessIndexes(config.systems).keys()],
  };
}

/** Whether two configs number members and systems alike (the same lists, in the same order). */
export function sameRoster(a: FlipConfig, b: FlipConfig): boolean {
  const left = rosterOf(a);
  const right = rosterOf(b);
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((value, index) => value === y[index]);
  return same(left.servers, right.servers) && same(left.systems, right.systems);
}

/** How `next`'s lists number members and systems against `previous`'s (a change taken in process). */
export function renumberingOf(previous: FlipConfig, next: FlipConfig): Renumbering {
  const before = rosterOf(previous);
  const after = rosterOf(next);
  return new Renumbering(before.servers, after.servers, { previous: before.systems, next: after.systems });
}

export function nodeOptionsFor(
  config: FlipConfig,
  self: number,
  inject: { random: () => number; incarnation: number; packing: Packing; boot?: number },
): NodeOptions {
  return {
    self,
    memberCount: config.servers.length,
    quorum: config.quorum,
    gossip_interval_ms: config.gossip_interval_ms,
    ping_per_interval: config.ping_per_interval,
    ping_timeout_ms: config.ping_timeout_ms,
    indirect_probes: config.indirect_probes,
    ...inject,
  };
}
