/** Piggybacking budgets, pushes and corrections (dissemination.ts), with a packing of round sizes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dissemination, fittingGossip, piggybackBudget } from '../../src/membership/dissemination.js';
import type { Message, Packing, Update } from '../../src/membership/messages.js';
import { PUSH_FANOUT } from '../../src/membership/timing.js';
import { seeded } from '../../src/testing/seeded.js';

/** A body of 1000 bytes; a message costs 100, an update 10 per reporter plus 50, an item 30. */
const PACKING: Packing = {
  bodyBytesMax: 1000,
  baseSize: () => 100,
  fixedSize: () => 100,
  updateSize: (update) => 50 + (update.kind === 'suspect' ? 10 * update.reporters.length : 0),
  stateRecordSize: 20,
  releasedItemSize: () => 30,
};

const alive = (member: number): Update => ({ kind: 'alive', member, incarnation: 7 });

function dissemination(): Dissemination {
  return new Dissemination({ packing: PACKING, memberCount: 5, random: seeded(3) });
}

describe('membership: dissemination', () => {
  it('a packet has room for piggybacking after its own updates and items', () => {
    const ack: Message = { type: 'ack', seq: 1, grant: true, incarnation: 1, updates: [alive(1), alive(2)] };
    assert.equal(piggybackBudget(PACKING, ack), 1000 - 100 - 2 * 50);
    const released: Message = {
      type: 'released',
      id: 1,
      items: [
        { system: 's', item: 'a' },
        { system: 's', item: 'b' },
      ],
      incarnation: 1,
      updates: [],
    };
    assert.equal(piggybackBudget(PACKING, released), 1000 - 100 - 2 * 30);
  });

  it('corrections are cut at the first that does not fit, in their order', () => {
    const suspect = (member: number, reporters: number): Update => ({
      kind: 'suspect',
      member,
      incarnation: 1,
      reporters: Array.from({ length: reporters }, (_, i) => i),
    });
    // 900 bytes for updates: 450 fit, 650 more do not, and the 50 after them wait as well.
    const updates = [suspect(1, 40), suspect(2, 60), alive(3)];
    assert.deepEqual(fittingGossip(PACKING, updates), [suspect(1, 40)]);
    assert.deepEqual(fittingGossip(PACKING, [suspect(1, 40), suspect(2, 40), alive(3)]), [
      suspect(1, 40),
      suspect(2, 40),
    ]);
    assert.deepEqual(fittingGossip(PACKING, []), []);
  });

  it('piggybacks queued news about other members than those the message carries', () => {
    const gossip = dissemination();
    gossip.enqueue(alive(1));
    gossip.enqueue(alive(2));
    const message = gossip.piggyback({
      type: 'gossip',
      incarnation: 1,
      updates: [{ ...alive(1), incarnation: 9 }],
    });
    assert.deepEqual(message.updates, [{ ...alive(1), incarnation: 9 }, alive(2)]);
    gossip.drop(2);
    assert.deepEqual(gossip.piggyback({ type: 'gossip', incarnation: 1, updates: [] }).updates, [alive(1)]);
  });

  it('pushes to PUSH_FANOUT distinct candidates, or to all when there are fewer', () => {
    const gossip = dissemination();
    const pushes = gossip.push(alive(0), [1, 2, 3, 4, 5, 6], 42);
    assert.equal(pushes.length, PUSH_FANOUT);
    assert.equal(new Set(pushes.map((push) => push.to)).size, PUSH_FANOUT);
    for (const push of pushes) {
      assert.ok([1, 2, 3, 4, 5, 6].includes(push.to));
      assert.deepEqual(push.message, { type: 'gossip', incarnation: 42, updates: [alive(0)] });
    }
    assert.deepEqual(
      gossip
        .push(alive(0), [4, 5], 42)
        .map((push) => push.to)
        .sort(),
      [4, 5],
    );
  });

  it('a correction goes back to the stale sender with our incarnation', () => {
    assert.deepEqual(dissemination().correction(3, [alive(1)], 11), {
      to: 3,
      message: { type: 'gossip', incarnation: 11, updates: [alive(1)] },
    });
  });
});
