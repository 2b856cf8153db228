/**
 * The packet layer carrying config replica bodies beside the membership protocol's: sealReplica
 * and openBody, what `open` (membership only) does with a replica body, and that every refusal
 * is counted under its reason and leaves the replay window as it was.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/membership/messages.js';
import type { ReplicaMessage } from '../../src/replica/messages.js';
import { encodeBody } from '../../src/wire/body.js';
import { type DropReason, totalDrops } from '../../src/wire/drop-reasons.js';
import { type OpenBodyResult, PacketCodec, type PacketCodecOptions } from '../../src/wire/packet.js';
import { encodeReplicaBody, type ReplicaBody } from '../../src/wire/replica-body.js';
import { ReplicaReassembler } from '../../src/wire/replica-reassembly.js';
import { splitReplicaMessage } from '../../src/wire/replica-split.js';
import { countingNonces, everyMessage, hex, Rng, sealRaw } from './helpers.js';
import { bigConfig, LayoutBytes, randomReplicaMessage } from './replica-helpers.js';

const MEMBERS = 5;
const BOOT = 1_700_000_000_000;

function codec(options: Partial<PacketCodecOptions> = {}): PacketCodec {
  return new PacketCodec({
    keys: ['k'],
    selfIndex: 0,
    bootId: BOOT,
    memberCount: MEMBERS,
    randomBytes: countingNonces(),
    ...options,
  });
}

function raw(body: Uint8Array, seq: number) {
  return sealRaw({ key: 'k', sender: 1, destination: 0, bootId: BOOT, seq, body });
}

function droppedAs(result: OpenBodyResult, reason: DropReason): void {
  assert.equal(result.ok, false, 'accepted');
  if (!result.ok) assert.equal(result.reason, reason, result.detail);
}

const vote: ReplicaMessage = { kind: 'vote', from: 'flip2', term: 3, last_index: 7, last_term: 2 };

describe('PacketCodec with replica bodies', () => {
  it('seals a replica message and opens it as a replica body, from its sender', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const result = receiver.openBody(sender.sealReplica({ type: 'replica', message: vote }, 0));
    assert.deepEqual(result, {
      ok: true,
      from: 1,
      bootId: BOOT,
      body: { kind: 'replica', body: { type: 'replica', message: vote } },
      roster: 'same',
    });
    assert.equal(totalDrops(receiver.drops), 0);
    assert.equal(receiver.replayWindow(1)?.highestSeq, 0, 'the replay window moved');
  });

  it('opens a replica message from a peer with another server list, from its sender by id', () => {
    // flip2 is index 1 at the sender; the receiver's list has flip0 added before it.
    const sender = codec({
      selfIndex: 1,
      memberCount: 2,
      roster: { servers: ['flip1', 'flip2'], systems: [] },
    });
    const receiver = codec({
      selfIndex: 1,
      memberCount: 3,
      roster: { servers: ['flip0', 'flip1', 'flip2'], systems: [] },
    });
    const result = receiver.openBody(sender.sealReplica({ type: 'replica', message: vote }, 0));
    assert.ok(result.ok && 'from' in result, result.ok ? 'from a peer' : result.reason);
    assert.equal(result.from, 2, 'flip2, at its index here');
    assert.equal(result.roster, 'other');
    assert.deepEqual(result.body, { kind: 'replica', body: { type: 'replica', message: vote } });
  });

  it('reads replica messages of a replica peer (a server of the committed config not in its list), and only those', () => {
    // flip3 was added: it runs the four-server list, the receiver still the three-server one.
    const newcomer = codec({
      selfIndex: 3,
      memberCount: 4,
      roster: { servers: ['flip0', 'flip1', 'flip2', 'flip3'], systems: [] },
    });
    const receiver = codec({
      selfIndex: 0,
      memberCount: 3,
      roster: { servers: ['flip0', 'flip1', 'flip2'], systems: [] },
    });
    const reply: ReplicaMessage = { kind: 'vote_reply', from: 'flip3', term: 4, granted: true };
    const before = receiver.openBody(newcomer.sealReplica({ type: 'replica', message: reply }, 0));
    droppedAs(before, 'unknown_sender');
    receiver.setReplicaPeers(['flip0', 'flip3']);
    const packet = newcomer.sealReplica({ type: 'replica', message: reply }, 0);
    const result = receiver.openBody(packet);
    assert.ok(result.ok && 'peer' in result, result.ok ? 'from a roster server' : result.reason);
    assert.equal(result.peer, 'flip3');
    assert.deepEqual(result.body, { kind: 'replica', body: { type: 'replica', message: reply } });
    droppedAs(receiver.openBody(packet), 'replay');
    // Its membership messages wait for the receiver's restart with the new list.
    droppedAs(
      receiver.openBody(newcomer.seal({ type: 'gossip', incarnation: 1, updates: [] }, 0)),
      'unknown_sender',
    );
    // And the receiver seals replica bodies for it, which it opens as from flip0.
    const back = receiver.sealReplicaToPeer({ type: 'replica', message: vote }, 'flip3');
    const opened = newcomer.openBody(back);
    assert.ok(opened.ok && 'from' in opened && opened.from === 0);
    assert.throws(
      () => receiver.sealReplicaToPeer({ type: 'replica', message: vote }, 'flip9'),
      /not a replica peer/,
    );
    assert.throws(
      () => receiver.sealReplicaToPeer({ type: 'replica', message: vote }, 'flip1'),
      /not a replica peer/,
    );
    receiver.setReplicaPeers([]);
    droppedAs(
      receiver.openBody(newcomer.sealReplica({ type: 'replica', message: reply }, 0)),
      'unknown_sender',
    );
  });

  it('opens membership messages with openBody as before, bytes unchanged', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    for (const message of everyMessage(MEMBERS)) {
      const packet = sender.seal(message, 0);
      const result = receiver.openBody(packet);
      assert.ok(result.ok, result.ok ? '' : result.detail);
      assert.deepEqual(result.body, { kind: 'membership', message });
    }
  });

  it('numbers replica and membership packets in one sequence, and its replay guard takes both', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const gossip: Message = { type: 'gossip', incarnation: 1, updates: [] };
    const packets = [
      sender.seal(gossip, 0),
      sender.sealReplica({ type: 'replica', message: vote }, 0),
      sender.seal(gossip, 0),
    ];
    for (const packet of packets) assert.ok(receiver.openBody(packet).ok);
    droppedAs(receiver.openBody(packets[1]!), 'replay');
  });

  it('carries a snapshot in chunks through sealed packets to a reassembler', () => {
    const message: ReplicaMessage = {
      kind: 'snapshot',
      from: 'flip2',
      term: 4,
      snapshot: { version: 2, index: 9, term: 4, config: bigConfig(2000) },
    };
    const split = splitReplicaMessage(message);
    assert.ok(split.ok);
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const reassembler = new ReplicaReassembler();
    const results = split.bodies.map((body) => {
      const result = receiver.openBody(sender.sealReplica(body, 0));
      assert.ok(
        result.ok &&
          'from' in result &&
          result.body.kind === 'replica' &&
          result.body.body.type === 'replica_chunk',
      );
      return reassembler.add(0, result.from, result.body.body.chunk);
    });
    assert.ok(split.bodies.length > 10);
    assert.deepEqual(results.at(-1), { kind: 'complete', message });
  });

  it('refuses to seal a body that does not fit a packet (a message not split first)', () => {
    const big: ReplicaMessage = {
      kind: 'change_reply',
      from: 'flip1',
      request: 1,
      answer: { kind: 'conflict', message: 'x'.repeat(2000) },
    };
    assert.throws(
      () => codec().sealReplica({ type: 'replica', message: big }, 1),
      /PacketCodec.sealReplica: a replica change_reply body of \d+ bytes exceeds BODY_BYTES_MAX/,
    );
    assert.throws(
      () => codec().sealReplica({ type: 'replica', message: vote }, 0),
      /destination 0 is not the index of another server/,
    );
  });

  it('open (membership only) drops a replica body as malformed_body, as an agent without replica bodies does', () => {
    const receiver = codec();
    const body = encodeReplicaBody({ type: 'replica', message: vote });
    const result = receiver.open(raw(body, 0));
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.reason, 'malformed_body');
      assert.match(result.detail ?? '', /a replica body \(type 13\), not read here/);
    }
    assert.equal(receiver.drops.malformed_body, 1);
    assert.equal(receiver.replayWindow(1), undefined, 'the replay window did not move');
    // The same packet is still fresh for a receiver that reads replica bodies.
    assert.ok(codec().openBody(raw(body, 0)).ok);
  });

  const vote_reply = (granted: number) =>
    new LayoutBytes().u8(13).u8(2).name('flip2').u64(1).u8(granted).bytes;
  const refusals: [string, Uint8Array, DropReason][] = [
    ['a malformed replica message', vote_reply(2), 'malformed_replica'],
    [
      'a change the config refuses',
      new LayoutBytes()
        .u8(13)
        .u8(9)
        .name('flip2')
        .u64(1)
        .u64(1)
        .u8(0)
        .json({ kind: 'data_add', system: 'vip', items: [], base_version: 0 }).bytes,
      'invalid_replica_content',
    ],
    [
      'a chunk that cannot be',
      new LayoutBytes().u8(14).raw(new Uint8Array(16)).u32(10).u16(0).raw([1]).bytes,
      'bad_chunk',
    ],
    ['a body type of neither kind', Uint8Array.of(15, 0), 'malformed_body'],
  ];
  for (const [name, body, reason] of refusals)
    it(`counts ${name} as ${reason}, and leaves the replay window as it was`, () => {
      const receiver = codec();
      droppedAs(receiver.openBody(raw(body, 0)), reason);
      assert.equal(receiver.drops[reason], 1);
      assert.equal(totalDrops(receiver.drops), 1);
      assert.equal(receiver.replayWindow(1), undefined);
      // A good packet with the same sequence number is still taken.
      assert.ok(receiver.openBody(raw(vote_reply(1), 0)).ok);
    });

  it('never throws on 3000 authenticated garbage replica bodies, and counts each once', () => {
    const rng = new Rng(0x9a7b);
    const receiver = codec();
    let accepted = 0;
    for (let seq = 0; seq < 3000; seq++) {
      let body: Uint8Array;
      if (rng.chance(0.5)) {
        body = rng.bytes(rng.between(1, 600));
        body[0] = rng.pick([13, 14]);
      } else {
        const message = randomReplicaMessage(
          rng,
          rng.pick(['append', 'change_forward', 'change_reply', 'vote'] as const),
        );
        const split = splitReplicaMessage(message);
        assert.ok(split.ok);
        body = encodeReplicaBody(split.bodies[0] as ReplicaBody).slice();
        const at = rng.below(body.length);
        body[at] = body[at]! ^ (1 << rng.below(8));
      }
      let result: OpenBodyResult;
      try {
        result = receiver.openBody(raw(body, seq));
      } catch (error) {
        assert.fail(`seq ${seq} threw ${(error as Error).message}: ${hex(body)}`);
      }
      if (result.ok) accepted++;
    }
    assert.equal(totalDrops(receiver.drops) + accepted, 3000);
    assert.ok(
      receiver.drops.malformed_replica > 1000,
      `malformed_replica ${receiver.drops.malformed_replica}`,
    );
  });

  it('membership bodies keep their first byte: none is a replica body type', () => {
    for (const message of everyMessage(MEMBERS))
      assert.ok(![13, 14].includes(encodeBody(message, MEMBERS)[0]!));
  });
});
