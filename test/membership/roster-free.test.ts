/**
 * rosterFree: what of a message from a server with other server or system lists may be read.
 * Nothing that names a member or a system by number passes; what is about the sender and the
 * receiver themselves does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Message, PING_FLAG_ABOUT, PING_FLAG_WANT_STATE } from '../../src/membership/messages.js';
import { rosterFree } from '../../src/membership/roster-free.js';
import { everyMessage } from '../wire/helpers.js';

const SELF = 3;

describe('rosterFree', () => {
  it('never lets a member or system number through, for every message of the wire tests', () => {
    const kinds = new Set<string>();
    for (const message of everyMessage(9)) {
      kinds.add(message.type);
      const read = rosterFree(message, SELF, 'other');
      if (read === undefined) continue;
      assert.deepEqual(read.updates, [], `${message.type}: no gossip`);
      assert.equal(read.incarnation, message.incarnation, `${message.type}: the sender's incarnation`);
      if (read.type === 'ping') {
        assert.equal(read.target, SELF, 'a ping is a direct probe of the receiver');
        assert.equal(read.about, undefined, 'no confirmation subject');
        assert.equal(read.flags & (PING_FLAG_ABOUT | PING_FLAG_WANT_STATE), 0, 'no state asked for');
      }
      if (read.type === 'ack') assert.equal(read.heard_ago_ms, undefined, 'no answer about a member');
    }
    assert.ok(kinds.size >= 12, `the wire tests' messages cover every type (${[...kinds].join(', ')})`);
  });

  it('drops what names members by number (gossip, state, indirect probes, duplicate notices) and claims', () => {
    const dropped = new Set<string>();
    for (const message of everyMessage(9))
      if (['gossip', 'state', 'ping_req', 'duplicate', 'claim', 'claim_reply'].includes(message.type)) {
        dropped.add(message.type);
        assert.equal(rosterFree(message, SELF, 'other'), undefined, message.type);
      }
    assert.ok(dropped.has('claim') && dropped.has('claim_reply'), 'the wire tests carry claims');
  });

  it("drops claims and their answers: an answer counts against the answerer's list, which differs", () => {
    const items = [{ system: 'vip', item: '10.0.0.1' }];
    assert.equal(
      rosterFree({ type: 'claim', incarnation: 5, id: 8, items, updates: [] }, SELF, 'other'),
      undefined,
    );
    assert.equal(
      rosterFree({ type: 'claim_reply', incarnation: 5, id: 8, items, updates: [] }, SELF, 'other'),
      undefined,
    );
  });

  it('keeps the items of release notices, the lease grant and the sequence numbers', () => {
    const items = [{ system: 'vip', item: '10.0.0.1' }];
    const update = { kind: 'alive', member: 1, incarnation: 2 } as const;
    const cases: Message[] = [
      { type: 'released', incarnation: 5, id: 7, items, updates: [update] },
      { type: 'released_ack', incarnation: 5, id: 7, updates: [update] },
      { type: 'ack', incarnation: 5, seq: 11, grant: true, heard_ago_ms: 20, updates: [update] },
      { type: 'nack', incarnation: 5, seq: 12, updates: [] },
      { type: 'boot_hint', incarnation: 5, boot_id: 99, updates: [] },
    ];
    for (const message of cases) {
      const { updates: _updates, ...kept } = message as Message & { heard_ago_ms?: number };
      if (message.type === 'ack') delete (kept as { heard_ago_ms?: number }).heard_ago_ms;
      assert.deepEqual(rosterFree(message, SELF, 'other'), { ...kept, updates: [] }, message.type);
    }
  });

  it('of the same lists, reads everything; of only another system list, everything but readiness', () => {
    for (const message of everyMessage(9)) {
      assert.equal(rosterFree(message, SELF, 'same'), message);
      const read = rosterFree(message, SELF, 'other_systems');
      assert.deepEqual(read, {
        ...message,
        updates: message.updates.filter((update) => update.kind !== 'readiness'),
      });
    }
    assert.ok(
      everyMessage(9).some((message) => message.updates.some((update) => update.kind === 'readiness')),
      'the wire tests carry readiness updates',
    );
  });
});
