/**
 * A server list taken in process (a committed `flip server add|rm`): member numbers carried by id
 * (Renumbering), a membership core for the new list taking over from the running one
 * (MembershipNode.succeed), and the codec numbering packets by the new list in the same run
 * (PacketCodec.setRoster).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/defaults.js';
import { LeaseGrants } from '../../src/membership/lease.js';
import type { Message } from '../../src/membership/messages.js';
import { MembershipNode } from '../../src/membership/node.js';
import { Renumbering } from '../../src/membership/renumbering.js';
import { seeded } from '../../src/testing/seeded.js';
import { PacketCodec } from '../../src/wire/packet.js';
import { WIRE_PACKING } from '../../src/wire/packing.js';

const KEYS = ['a secret of at least sixteen bytes'];

function core(self: number, memberCount: number, quorum: number, incarnation: number): MembershipNode {
  return new MembershipNode({
    self,
    memberCount,
    quorum,
    gossip_interval_ms: DEFAULTS.gossip_interval_ms,
    ping_per_interval: DEFAULTS.ping_per_interval,
    ping_timeout_ms: DEFAULTS.ping_timeout_ms,
    indirect_probes: DEFAULTS.indirect_probes,
    random: seeded(self + memberCount),
    incarnation,
    packing: WIRE_PACKING,
  });
}

describe('Renumbering', () => {
  // b removed, z added before the others: a and c move.
  const renumbering = new Renumbering(['a', 'b', 'c'], ['z', 'a', 'c']);

  it('maps kept servers both ways by id, and nothing for one added or removed', () => {
    assert.deepEqual(
      [0, 1, 2].map((index) => renumbering.previousOf(index)),
      [undefined, 0, 2],
    );
    assert.deepEqual(
      [0, 1, 2].map((index) => renumbering.nextOf(index)),
      [1, undefined, 2],
    );
    assert.deepEqual(renumbering.added(), [0]);
    assert.equal(renumbering.identity, false);
    assert.equal(new Renumbering(['a', 'b'], ['a', 'b']).identity, true);
  });

  it('renumbers maps and lists, dropping removed members', () => {
    assert.deepEqual(
      [
        ...renumbering.map(
          new Map([
            [0, 'of a'],
            [1, 'of b'],
            [2, 'of c'],
          ]),
        ),
      ],
      [
        [1, 'of a'],
        [2, 'of c'],
      ],
    );
    assert.deepEqual(renumbering.list([2, 1, 0]), [2, 1]);
  });
});

describe('MembershipNode.succeed: the core of a new list takes over by id', () => {
  /**
   * n0 of [n0, n1, n2], quorum 2: lease rounds wanted, n1 granted the round at 10, n2 declared
   * down by n1's gossip at 20.
   */
  function running(): MembershipNode {
    const old = core(0, 3, 2, 5000);
    old.start(0);
    old.takeEffects();
    old.setLeaseWanted(10, true);
    const ping = old.takeEffects().sends.find((send) => send.to === 1 && send.message.type === 'ping');
    assert.ok(ping !== undefined && ping.message.type === 'ping');
    old.receive(12, 1, { type: 'ack', seq: ping.message.seq, grant: true, incarnation: 7001, updates: [] });
    old.receive(20, 1, {
      type: 'gossip',
      incarnation: 7001,
      updates: [{ kind: 'down', member: 2, incarnation: 0, silent_ms: 0 }],
    });
    old.takeEffects();
    assert.equal(old.member(2).state, 'down');
    assert.equal(old.leaseBase(30), 10);
    return old;
  }

  it('keeps every kept member as it was, at its new number; a server added starts down, never heard of', () => {
    const old = running();
    // a0 added first: n0 moves to 1, n1 to 2, n2 to 3.
    const next = core(1, 4, 2, 1);
    next.succeed(30, old, new Renumbering(['n0', 'n1', 'n2'], ['a0', 'n0', 'n1', 'n2']));
    assert.equal(next.incarnation, 5000, 'our own incarnation, not the one the new core was made with');
    assert.deepEqual(next.member(1), old.member(0));
    assert.deepEqual(next.member(2), old.member(1));
    assert.equal(next.member(3).state, 'down');
    assert.deepEqual(next.member(0), { state: 'down', incarnation: 0, since: 30 });
    assert.deepEqual(next.liveMembers(), [1, 2]);
    assert.equal(next.lastHeard(2), old.lastHeard(1));
    assert.equal(next.lastHeard(0), Number.NEGATIVE_INFINITY);
    assert.equal(next.leaseBase(30), 10, "n1's grant carried: the lease holds through the change");
    assert.equal(next.counters.messages_sent >= old.counters.messages_sent, true, 'counters go on');
  });

  it('pings the server added at once and starts a lease round; the added server is alive once it answers', () => {
    const old = running();
    const next = core(1, 4, 2, 1);
    next.succeed(30, old, new Renumbering(['n0', 'n1', 'n2'], ['a0', 'n0', 'n1', 'n2']));
    const effects = next.takeEffects();
    const pinged = effects.sends.filter((send) => send.message.type === 'ping').map((send) => send.to);
    assert.ok(pinged.includes(0), `a0 introduced (pinged: ${pinged})`);
    assert.ok(pinged.includes(2), `the lease round pings n1 (pinged: ${pinged})`);
    assert.deepEqual(
      effects.lease.map((event) => event.kind),
      ['round'],
    );
    next.receive(40, 0, { type: 'ping', seq: 9, target: 1, flags: 0, incarnation: 9000, updates: [] });
    assert.equal(next.member(0).state, 'alive');
    assert.ok(
      next.takeEffects().changes.some((change) => change.member === 0 && change.to === 'alive'),
      'the controller hears that a0 is alive',
    );
  });

  it("drops a removed member's records; an ack to a ping the old core sent still grants", () => {
    // Quorum 3: the round pings both peers (two grants needed), n2 among them.
    const old = core(0, 3, 3, 5000);
    old.start(0);
    old.takeEffects();
    old.setLeaseWanted(10, true);
    const ping = old.takeEffects().sends.find((send) => send.to === 2 && send.message.type === 'ping');
    assert.ok(ping !== undefined && ping.message.type === 'ping');
    // n1 removed: n2 is 1 now. Its ack to the ping sent before the change arrives after it.
    const next = core(0, 2, 1, 1);
    next.succeed(11, old, new Renumbering(['n0', 'n1', 'n2'], ['n0', 'n2']));
    next.takeEffects();
    next.receive(12, 1, { type: 'ack', seq: ping.message.seq, grant: true, incarnation: 7002, updates: [] });
    assert.ok(
      next.takeEffects().lease.some((event) => event.kind === 'granted'),
      'the grant of the ping sent before the change counts',
    );
    assert.equal(next.members().length, 2);
  });

  it('refuses a renumbering made for another list, and a started core', () => {
    const old = running();
    assert.throws(() => core(1, 4, 2, 1).succeed(30, old, new Renumbering(['n0', 'n1', 'n2'], ['n0', 'n1'])));
    assert.throws(() => old.succeed(30, old, new Renumbering(['n0', 'n1', 'n2'], ['n0', 'n1', 'n2'])));
  });
});

describe('LeaseGrants.carryFrom', () => {
  it('carries grants and promises by id: a member we promised about is still refused', () => {
    const old = new LeaseGrants(3, 2);
    old.promise(2, 7);
    const next = new LeaseGrants(3, 2);
    next.carryFrom(old, new Renumbering(['a', 'b', 'c'], ['c', 'a', 'b']));
    assert.equal(next.mayGrant(0, 7), false, 'c, now 0, at the incarnation promised about');
    assert.equal(next.mayGrant(0, 8), true);
    assert.equal(next.mayGrant(2, 7), true, 'b, now 2, was promised nothing');
  });
});

/** A codec of server `selfIndex` of [n0, n1], sealing with `bootId`. */
function codec(selfIndex: number, bootId: number): PacketCodec {
  return new PacketCodec({
    keys: KEYS,
    selfIndex,
    bootId,
    memberCount: 2,
    roster: { servers: ['n0', 'n1'], systems: [] },
  });
}

describe('PacketCodec.setRoster: the same run numbers members by a new list', () => {
  it('a packet of the new list is read as from the same server, once; the sequence goes on', () => {
    const a = codec(0, 100);
    const b = codec(1, 200);
    const ping: Extract<Message, { type: 'ping' }> = {
      type: 'ping',
      seq: 1,
      target: 1,
      flags: 0,
      incarnation: 5,
      updates: [],
    };
    const before = a.seal(ping, 1);
    const opened = b.open(before);
    assert.ok(opened.ok);
    assert.equal(opened.from, 0);
    // a0 added first at n0's side: n0 is 1 and n1 is 2 now.
    a.setRoster({ servers: ['a0', 'n0', 'n1'], systems: [] }, 1);
    const mixed = b.open(a.seal({ ...ping, target: 2 }, 2));
    assert.ok(mixed.ok);
    assert.equal(mixed.from, 0, 'b, on the old list, still knows n0 by its tag');
    assert.equal(mixed.roster, 'other');
    b.setRoster({ servers: ['a0', 'n0', 'n1'], systems: [] }, 2);
    const after = b.open(a.seal({ ...ping, target: 2 }, 2));
    assert.ok(after.ok);
    assert.equal(after.from, 1);
    assert.equal(after.roster, 'same');
    const replay = b.open(before);
    assert.equal(replay.ok, false, 'a packet from before the change is still a replay');
  });

  it("refuses a list in which this server's index is another's", () => {
    const a = codec(0, 100);
    assert.throws(() => a.setRoster({ servers: ['a0', 'n0', 'n1'], systems: [] }, 0), /not this server's/);
  });
});
