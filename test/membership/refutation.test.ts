/** A node that hears it was declared gone refutes, and says so as a typed effect. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipNode } from '../../src/membership/node.js';
import { WIRE_PACKING } from '../../src/membership/wire-packing.js';

function node(self: number): MembershipNode {
  let state = self + 1;
  const core = new MembershipNode({
    self,
    memberCount: 3,
    quorum: 2,
    gossip_interval_ms: 450,
    ping_per_interval: 1,
    ping_timeout_ms: 300,
    indirect_probes: 3,
    random: () => {
      state = (state * 16807) % 2147483647;
      return state / 2147483647;
    },
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
