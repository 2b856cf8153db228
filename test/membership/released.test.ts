/**
 * `released` notices through the protocol core: split to fit packets, delivered to the agent as
 * an effect, and encoded by the real wire codec.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReleasedItem } from '../../src/membership/messages.js';
import { BODY_BYTES_MAX, decodeBody, encodeBody } from '../../src/wire/body.js';
import { CORE_MEMBERS, startedCore } from './core-node.js';

const MEMBERS = CORE_MEMBERS;

const node = startedCore;

describe('membership: released notices', () => {
  it('splits a long notice into packets that fit, with one id, every item once and in order', () => {
    const sender = node(0);
    const items: ReleasedItem[] = Array.from({ length: 300 }, (_, i) => ({
      system: i % 2 === 0 ? 'web' : 'db',
      item: `10.0.${Math.floor(i / 256)}.${i % 256}`,
    }));
    sender.release(1, 77, items);
    const { sends } = sender.takeEffects();
    assert.ok(sends.length > 1, `300 items need more than one packet, got ${sends.length}`);
    const received: ReleasedItem[] = [];
    for (const { to, message } of sends) {
      assert.equal(to, 1);
      const bytes = encodeBody(message, MEMBERS);
      assert.ok(bytes.length <= BODY_BYTES_MAX, `${bytes.length} bytes`);
      const decoded = decodeBody(bytes, MEMBERS);
      assert.ok(decoded.ok && decoded.message.type === 'released');
      assert.equal(decoded.message.id, 77);
      received.push(...decoded.message.items);
    }
    assert.deepEqual(received, items);
  });

  it('leaves out an item too big for any packet and sends the rest', () => {
    const sender = node(0);
    const huge = { system: 'web', item: 'x'.repeat(BODY_BYTES_MAX) };
    sender.release(2, 1, [{ system: 'web', item: 'a' }, huge, { system: 'web', item: 'b' }]);
    const { sends } = sender.takeEffects();
    assert.equal(sends.length, 1);
    const message = sends[0]!.message;
    assert.ok(message.type === 'released');
    assert.deepEqual(
      message.items.map((item) => item.item),
      ['a', 'b'],
    );
  });

  it('hands a received notice to the agent as an effect, naming the sender', () => {
    const sender = node(0);
    const receiver = node(1);
    sender.release(1, 5, [{ system: 'web', item: '10.0.0.1' }]);
    for (const { message } of sender.takeEffects().sends) receiver.receive(10, 0, message);
    const effects = receiver.takeEffects();
    assert.deepEqual(effects.released, [{ from: 0, id: 5, items: [{ system: 'web', item: '10.0.0.1' }] }]);
    // Taken once.
    assert.deepEqual(receiver.takeEffects().released, []);
    // Every copy is acknowledged, and the ack reaches the sender's agent.
    const acks = effects.sends.filter(({ message }) => message.type === 'released_ack');
    assert.deepEqual(
      acks.map(({ to, message }) => [to, message.type === 'released_ack' && message.id]),
      [[0, 5]],
    );
    for (const { message } of acks) sender.receive(11, 1, message);
    assert.deepEqual(sender.takeEffects().released_acks, [{ from: 1, id: 5 }]);
  });

  it('a node that has left still sends its notices (its last `down` scripts run after the leave)', () => {
    const sender = node(0);
    sender.leave(5);
    sender.takeEffects();
    sender.release(1, 9, [{ system: 'web', item: '10.0.0.1' }]);
    assert.equal(sender.takeEffects().sends.length, 1);
  });
});
