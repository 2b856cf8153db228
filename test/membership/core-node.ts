/** A started protocol core of a three-member cluster at flip's defaults, for core-level tests. */
import { DEFAULTS } from '../../src/config/defaults.js';
import { MembershipNode } from '../../src/membership/node.js';
import { seeded } from '../../src/testing/seeded.js';
import { WIRE_PACKING } from '../../src/wire/packing.js';

export const CORE_MEMBERS = 3;

/** Member `self` of CORE_MEMBERS, quorum 2, incarnation 1000 + self, started at 0, effects taken. */
export function startedCore(self: number): MembershipNode {
  const core = new MembershipNode({
    self,
    memberCount: CORE_MEMBERS,
    quorum: 2,
    gossip_interval_ms: DEFAULTS.gossip_interval_ms,
    ping_per_interval: DEFAULTS.ping_per_interval,
    ping_timeout_ms: DEFAULTS.ping_timeout_ms,
    indirect_probes: DEFAULTS.indirect_probes,
    random: seeded(self + 1),
    incarnation: 1000 + self,
    packing: WIRE_PACKING,
  });
  core.start(0);
  core.takeEffects();
  return core;
}
