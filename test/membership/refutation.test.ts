/** A node that hears it was declared gone refutes, and says so as a typed effect. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Update, UpdateKind } from '../../src/membership/messages.js';
import { refutationFor, refutingIncarnation } from '../../src/membership/refutation.js';
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

describe('membership: refutation rule', () => {
  const OWN = 1000;
  function about(kind: UpdateKind, incarnation: number): Update {
    return kind === 'suspect'
      ? { kind, member: 0, incarnation, reporters: [1] }
      : { kind, member: 0, incarnation };
  }
  /** [kind, heard incarnation, left already, expected incarnation (or none), declared]. */
  const TABLE: readonly [UpdateKind, number, boolean, number | undefined, 'down' | 'left' | undefined][] = [
    ['alive', OWN - 1, false, undefined, undefined],
    ['alive', OWN, false, undefined, undefined],
    ['alive', OWN + 5, false, OWN + 6, undefined],
    ['suspect', OWN - 1, false, undefined, undefined],
    ['suspect', OWN, false, OWN + 1, undefined],
    ['suspect', OWN + 5, false, OWN + 6, undefined],
    ['down', OWN - 1, false, undefined, undefined],
    ['down', OWN, false, OWN + 1, 'down'],
    ['down', OWN + 5, false, OWN + 6, 'down'],
    ['left', OWN - 1, false, undefined, undefined],
    ['left', OWN, false, OWN + 1, 'left'],
    ['left', OWN, true, undefined, undefined],
    ['down', OWN, true, OWN + 1, 'down'],
  ];
  for (const [kind, heard, left, incarnation, declared] of TABLE) {
    it(`${kind} at ${heard - OWN >= 0 ? '+' : ''}${heard - OWN}${left ? ' after our leave' : ''}: ${incarnation === undefined ? 'nothing' : `refute at +${incarnation - OWN}`}`, () => {
      const refute = refutationFor(about(kind, heard), { incarnation: OWN, left });
      assert.deepEqual(refute, incarnation === undefined ? undefined : { incarnation, declared });
    });
  }

  it('the refuting incarnation outranks both ours and the one heard', () => {
    assert.equal(refutingIncarnation(10, 3), 11);
    assert.equal(refutingIncarnation(10, 10), 11);
    assert.equal(refutingIncarnation(10, 42), 43);
  });
});
