/** A node that hears it was declared gone refutes, and says so as a typed effect. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/defaults.js';
import { MembershipNode } from '../../src/membership/node.js';
import { seeded } from '../../src/testing/seeded.js';
import { WIRE_PACKING } from '../../src/wire/packing.js';

function node(self: number): MembershipNode {
  const core = new MembershipNode({
    self,
    memberCount: 3,
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

describe('membership: refutation', () => {
  for (const declared of ['down', 'left'] as const) {
    it(`hearing itself declared ${declared} gives one Refutation with the new incarnation`, () => {
      const core = node(0);
      core.receive(10, 1, {
        type: 'gossip',
        incarnation: 2000,
        updates: [{ kind: declared, member: 0, incarnation: 1000 }],
      });
      const { refutations, changes } = core.takeEffects();
      assert.equal(refutations.length, 1);
      assert.equal(refutations[0]!.declared, declared);
      assert.ok(refutations[0]!.incarnation > 1000);
      assert.ok(changes.some((change) => change.member === 0 && change.reason === 'refute'));
    });
  }

  it('an older declaration, or one about another member, gives none', () => {
    const core = node(0);
    core.receive(10, 1, {
      type: 'gossip',
      incarnation: 2000,
      updates: [{ kind: 'down', member: 0, incarnation: 999 }],
    });
    core.receive(11, 1, {
      type: 'gossip',
      incarnation: 2000,
      updates: [{ kind: 'down', member: 2, incarnation: 1002 }],
    });
    assert.deepEqual(core.takeEffects().refutations, []);
  });
});
