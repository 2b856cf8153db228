/** A node that hears it was declared gone refutes, and says so as a typed effect. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startedCore } from './core-node.js';

const node = startedCore;

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
