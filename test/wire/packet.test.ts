import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import type { Message } from '../../src/membership/messages.js';
import { BODY_BYTES_MAX, bodySize, encodeBody } from '../../src/wire/body.js';
import { DROP_REASONS, type DropReason, totalDrops } from '../../src/wire/drop-reasons.js';
import { deriveWireKey, KeyRing } from '../../src/wire/keys.js';
import { HEADER_BYTES, PACKET_OVERHEAD_BYTES, TAG_BYTES } from '../../src/wire/layout.js';
import {
  type OpenResult,
  PACKET_BYTES_MAX,
  PacketCodec,
  type PacketCodecOptions,
} from '../../src/wire/packet.js';
import { countingNonces, digestOf, everyMessage, hex, sealRaw, tagOf } from './helpers.js';

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

const gossip: Message = {
  type: 'gossip',
  incarnation: 3,
  updates: [{ kind: 'alive', member: 2, incarnation: 9 }],
};

function opened(result: OpenResult): Extract<OpenResult, { ok: true }> {
  assert.ok(result.ok, `dropped: ${result.ok ? '' : result.reason}`);
  return result;
}

function dropped(result: OpenResult, reason: DropReason): void {
  assert.equal(result.ok, false, 'packet was accepted');
  if (!result.ok) assert.equal(result.reason, reason);
}

/**
 * A message whose body is exactly `bytes` long: one suspect update with a long reporter list,
 * in a gossip (odd sizes) or a ping (even sizes). Needs a cluster of 65536 members.
 */
function messageOfBodySize(bytes: number): Message {
  const update = { kind: 'suspect', member: 0, incarnation: 1, reporters: [] as number[] } as const;
  const message: Message =
    bytes % 2 === 1
      ? { type: 'gossip', incarnation: 1, updates: [update] }
      : { type: 'ping', incarnation: 1, seq: 1, target: 0, flags: 0, updates: [update] };
  const listBytes = bytes - bodySize(message);
  // Spread out, so the list stays smaller than a bitmap.
  update.reporters.push(...Array.from({ length: listBytes / 2 }, (_, i) => i * 20));
  assert.equal(bodySize(message), bytes);
  return message;
}

describe('packet: layout', () => {
  it('pins a packet byte for byte (the wire format is protocol)', () => {
    const sender = new PacketCodec({
      keys: ['secret'],
      selfIndex: 1,
      bootId: BOOT,
      memberCount: 3,
      randomBytes: (n) => Uint8Array.from({ length: n }, (_, i) => i),
    });
    const packet = sender.seal(
      {
        type: 'ping',
        incarnation: 7,
        seq: 42,
        target: 2,
        flags: 1,
        updates: [{ kind: 'alive', member: 0, incarnation: 3 }],
      },
      2,
    );
    // Checked against an independent AES-GCM and HKDF implementation (Python's cryptography),
    // the tags and the digest against Python's hashlib.
    const expected =
      '464c' + // magic
      '03' + // version
      '4a889bae' + // key id of 'secret'
      '95eea7c1' + // sender: the tag of "#1" (the default roster names servers by index)
      'ebbe257a' + // destination: the tag of "#2"
      '6bc8108a' + // servers: the digest of ["#0", "#1", "#2"]
      '2f47c138' + // systems: the digest of [] (no systems)
      '0000018bcfe56800' + // boot id 1700000000000
      '00000000' + // packet sequence number
      '000102030405060708090a0b' + // nonce
      'a6ca79fc3fb1f166bb82fc217de1a7d2a8096fcb251073c56886084bd7' + // ciphertext (29 bytes)
      '6ed8c465d3732cc57f1b9e452f21152b'; // tag
    assert.equal(hex(packet), expected);
  });

  it('pins the key derivation', () => {
    const key = deriveWireKey('secret');
    assert.equal(key.id, 0x4a889bae);
    assert.equal(
      hex(key.cipherKey.export()),
      '7c6b35f7a9d209c07892a39e7bcf13ef55c2a7b8ab4902d03aa215a86f75dd51',
    );
    assert.notEqual(deriveWireKey('secret2').id, key.id);
  });

  it('matches a packet built field by field from the documented layout', () => {
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => 100 + i);
    const sender = codec({ selfIndex: 3, randomBytes: () => nonce });
    for (let seq = 0; seq < 3; seq++) {
      const message = everyMessage(MEMBERS)[seq]!;
      const packet = sender.seal(message, 4);
      const raw = sealRaw({
        key: 'k',
        sender: 3,
        destination: 4,
        bootId: BOOT,
        seq,
        nonce,
        body: encodeBody(message),
      });
      assert.equal(hex(packet), hex(raw));
      assert.equal(packet.length, PACKET_OVERHEAD_BYTES + bodySize(message));
    }
  });

  it('has a 47-byte header, a 16-byte tag, and room for a 1337-byte body', () => {
    assert.equal(HEADER_BYTES, 47);
    assert.equal(TAG_BYTES, 16);
    assert.equal(PACKET_OVERHEAD_BYTES, 63);
    assert.equal(PACKET_BYTES_MAX, 1400);
    assert.equal(BODY_BYTES_MAX, PACKET_BYTES_MAX - PACKET_OVERHEAD_BYTES);
  });

  it('uses a fresh random nonce for every packet by default, across the random pool blocks', () => {
    const sender = new PacketCodec({ keys: ['k'], selfIndex: 0, bootId: 1, memberCount: MEMBERS });
    const nonces = new Set<string>();
    // 1000 packets draw three blocks of RANDOM_POOL_BLOCK_BYTES.
    for (let i = 0; i < 1000; i++) nonces.add(hex(sender.seal(gossip, 1).subarray(35, 47)));
    assert.equal(nonces.size, 1000);
  });
});

describe('packet: seal and open', () => {
  it('round-trips every message type and update kind', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec({ selfIndex: 2 });
    for (const message of everyMessage(MEMBERS)) {
      const result = opened(receiver.open(sender.seal(message, 2)));
      assert.equal(result.from, 1);
      assert.equal(result.bootId, BOOT);
      assert.deepEqual(result.message, message);
    }
    assert.equal(totalDrops(receiver.drops), 0);
  });

  it('numbers packets 0, 1, 2, ... within a boot', () => {
    const sender = codec({ selfIndex: 1 });
    for (let seq = 0; seq < 5; seq++) {
      const packet = sender.seal(gossip, 0);
      assert.equal(Buffer.from(packet).readUInt32BE(31), seq);
    }
  });

  it('opens a packet that sits inside a larger buffer', () => {
    const packet = codec({ selfIndex: 1 }).seal(gossip, 0);
    const pooled = Buffer.concat([Buffer.alloc(7, 0xee), packet, Buffer.alloc(5, 0xee)]);
    const view = pooled.subarray(7, 7 + packet.length);
    assert.deepEqual(opened(codec().open(view)).message, gossip);
  });

  it('seals a body of exactly BODY_BYTES_MAX into a packet of exactly PACKET_BYTES_MAX', () => {
    const sender = codec({ selfIndex: 1, memberCount: 65_536 });
    const receiver = codec({ selfIndex: 2, memberCount: 65_536 });
    for (const bytes of [BODY_BYTES_MAX, BODY_BYTES_MAX - 1]) {
      const message = messageOfBodySize(bytes);
      const packet = sender.seal(message, 2);
      assert.equal(packet.length, PACKET_OVERHEAD_BYTES + bytes);
      assert.deepEqual(opened(receiver.open(packet)).message, message);
    }
  });

  it('refuses to seal a body over BODY_BYTES_MAX, without using a sequence number', () => {
    const sender = codec({ selfIndex: 1, memberCount: 65_536 });
    const tooBig = messageOfBodySize(BODY_BYTES_MAX + 1);
    assert.throws(() => sender.seal(tooBig, 0), /exceeds BODY_BYTES_MAX \(1337\)/);
    assert.equal(Buffer.from(sender.seal(gossip, 0)).readUInt32BE(31), 0);
  });

  it('refuses to seal an invalid message', () => {
    const sender = codec({ selfIndex: 1 });
    assert.throws(() =>
      sender.seal({ type: 'ping', incarnation: 1, seq: 1, target: MEMBERS, flags: 0, updates: [] }, 0),
    );
    assert.throws(() => sender.seal({ ...gossip, incarnation: -1 }, 0));
  });

  it('refuses to seal for itself or for no server, without using a sequence number', () => {
    const sender = codec({ selfIndex: 1 });
    for (const to of [1, MEMBERS, -1, 0.5, Number.NaN, 0x1_0000]) {
      assert.throws(() => sender.seal(gossip, to), /destination/, `to ${to}`);
    }
    assert.equal(Buffer.from(sender.seal(gossip, 0)).readUInt32BE(31), 0);
  });

  it('refuses invalid options', () => {
    assert.throws(() => codec({ keys: [] }), /at least one key/);
    assert.throws(() => codec({ keys: [''] }), /must not be empty/);
    assert.throws(() => codec({ selfIndex: MEMBERS }), /selfIndex/);
    assert.throws(() => codec({ selfIndex: -1 }), /selfIndex/);
    assert.throws(() => codec({ memberCount: 0 }), /memberCount/);
    assert.throws(() => codec({ memberCount: 65_537 }), /memberCount/);
    assert.throws(() => codec({ bootId: -1 }), /bootId/);
    assert.throws(() => codec({ bootId: 2 ** 53 }), /bootId/);
    assert.throws(() => codec({ randomBytes: () => new Uint8Array(8) }).seal(gossip, 1), /randomBytes/);
  });
});

describe('packet: keys', () => {
  it('opens a packet sealed with an old key list at a node that has the new key first', () => {
    const old = codec({ keys: ['b'], selfIndex: 1 });
    const rotated = codec({ keys: ['a', 'b'], selfIndex: 2 });
    assert.deepEqual(opened(rotated.open(old.seal(gossip, 2))).message, gossip);
  });

  it('opens a packet sealed with the new key at a node that only has it', () => {
    const rotated = codec({ keys: ['a', 'b'], selfIndex: 1 });
    const updated = codec({ keys: ['a'], selfIndex: 2 });
    assert.deepEqual(opened(updated.open(rotated.seal(gossip, 2))).message, gossip);
  });

  it('seals with the first key only', () => {
    const rotated = codec({ keys: ['a', 'b'], selfIndex: 1 });
    const stale = codec({ keys: ['b'], selfIndex: 2 });
    dropped(stale.open(rotated.seal(gossip, 2)), 'unknown_key');
    assert.equal(stale.drops.unknown_key, 1);
  });

  it('drops a packet under a key it does not know', () => {
    const receiver = codec({ keys: ['a'], selfIndex: 2 });
    dropped(receiver.open(codec({ keys: ['c'], selfIndex: 1 }).seal(gossip, 2)), 'unknown_key');
  });

  it('drops a packet whose key id matches but whose key does not, as bad_tag', () => {
    const receiver = codec({ keys: ['a'], selfIndex: 2 });
    const forged = sealRaw({
      key: 'z',
      keyId: deriveWireKey('a').id,
      sender: 1,
      destination: 2,
      bootId: 1,
      seq: 0,
      body: encodeBody(gossip),
    });
    dropped(receiver.open(forged), 'bad_tag');
  });

  it('merges duplicate keys and looks keys up by id', () => {
    const a = deriveWireKey('a');
    const b = deriveWireKey('b');
    const ring = new KeyRing(['a', 'b', 'a']);
    assert.equal(ring.sealing.id, a.id);
    assert.equal(ring.candidates(a.id).length, 1, 'duplicates are merged');
    assert.equal(ring.candidates(b.id).length, 1);
    const unused = (a.id ^ b.id ^ 1) >>> 0;
    assert.deepEqual(ring.candidates(unused), []);
  });
});

describe('packet: rejections', () => {
  it('drops too_short packets: anything that cannot hold a header and a tag', () => {
    const receiver = codec();
    const packet = codec({ selfIndex: 1 }).seal(gossip, 0);
    for (let length = 0; length < PACKET_OVERHEAD_BYTES; length++) {
      dropped(receiver.open(packet.subarray(0, length)), 'too_short');
    }
    assert.equal(receiver.drops.too_short, PACKET_OVERHEAD_BYTES);
  });

  it('drops too_big packets: over 1400 bytes', () => {
    const receiver = codec();
    const big = new Uint8Array(PACKET_BYTES_MAX + 1);
    big.set(codec({ selfIndex: 1 }).seal(gossip, 0));
    dropped(receiver.open(big), 'too_big');
    dropped(receiver.open(new Uint8Array(65_507)), 'too_big');
    assert.equal(receiver.drops.too_big, 2);
  });

  it('drops packets without the magic bytes, and of another wire version', () => {
    const receiver = codec();
    const body = encodeBody(gossip);
    dropped(
      receiver.open(
        sealRaw({ key: 'k', destination: 0, magic: [0x46, 0x4d], sender: 1, bootId: 1, seq: 0, body }),
      ),
      'bad_magic',
    );
    // 1 and 2: the versions before the destination, and before the tags and roster, were added
    // (an agent not yet upgraded).
    for (const version of [0, 1, 2, 4, 255]) {
      dropped(
        receiver.open(sealRaw({ key: 'k', destination: 0, version, sender: 1, bootId: 1, seq: 0, body })),
        'wrong_version',
      );
    }
    assert.ok(receiver.open(sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 1, seq: 0, body })).ok);
  });

  it('drops authenticated packets from a server that is not in its list (its tag is unknown)', () => {
    const receiver = codec();
    const body = encodeBody(gossip);
    dropped(
      receiver.open(sealRaw({ key: 'k', destination: 0, sender: MEMBERS, bootId: 1, seq: 0, body })),
      'unknown_sender',
    );
    dropped(
      receiver.open(sealRaw({ key: 'k', destination: 0, sender: 0xffff, bootId: 1, seq: 0, body })),
      'unknown_sender',
    );
    // A peer with a longer server list is a config mismatch, and shows up the same way.
    const bigger = codec({ memberCount: MEMBERS + 1, selfIndex: MEMBERS });
    dropped(receiver.open(bigger.seal(gossip, 0)), 'unknown_sender');
    assert.equal(receiver.drops.unknown_sender, 3);
  });

  it('drops packets claiming to come from itself, including its own reflected back', () => {
    const receiver = codec({ selfIndex: 2 });
    dropped(receiver.open(receiver.seal(gossip, 0)), 'self');
    dropped(receiver.open(codec({ selfIndex: 2, bootId: BOOT + 1 }).seal(gossip, 0)), 'self');
    assert.equal(receiver.drops.self, 2);
  });

  it('drops authenticated packets whose boot id is 2^53 or more', () => {
    const receiver = codec();
    const body = encodeBody(gossip);
    dropped(
      receiver.open(sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 2n ** 53n, seq: 0, body })),
      'malformed_header',
    );
    dropped(
      receiver.open(sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 2n ** 64n - 1n, seq: 0, body })),
      'malformed_header',
    );
    assert.ok(
      receiver.open(sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 2n ** 53n - 1n, seq: 0, body }))
        .ok,
    );
  });

  it('drops authenticated packets with a malformed body, with a detail, and keeps their seq fresh', () => {
    const receiver = codec();
    const body = encodeBody(gossip);
    const garbage = [new Uint8Array(0), Uint8Array.of(99), Uint8Array.of(...body, 0), body.subarray(0, 5)];
    for (const bad of garbage) {
      const result = receiver.open(
        sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 1, seq: 7, body: bad }),
      );
      dropped(result, 'malformed_body');
      if (!result.ok) assert.ok(result.detail !== undefined && result.detail.length > 0);
    }
    assert.equal(receiver.replayWindow(1), undefined);
    assert.ok(receiver.open(sealRaw({ key: 'k', destination: 0, sender: 1, bootId: 1, seq: 7, body })).ok);
    assert.equal(receiver.drops.malformed_body, garbage.length);
  });

  it('drops every single bit flip anywhere in a packet, counts it, and is not disturbed by it', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const packets = [sender.seal(gossip, 0), sender.seal(everyMessage(MEMBERS)[5]!, 0)];
    for (const packet of packets) {
      const reasons = new Map<DropReason, number>();
      for (let bit = 0; bit < packet.length * 8; bit++) {
        const flipped = packet.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        const result = receiver.open(flipped);
        assert.equal(result.ok, false, `bit ${bit} flipped was accepted`);
        if (!result.ok) reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
      }
      // The magic, version and key id are checked before the tag; everything else fails it.
      assert.deepEqual(Object.fromEntries(reasons), {
        bad_magic: 16,
        wrong_version: 8,
        unknown_key: 32,
        bad_tag: (packet.length - 7) * 8,
      });
      assert.equal(receiver.replayWindow(1), undefined, 'no flip moved the replay window');
    }
    const flips = packets.reduce((sum, packet) => sum + packet.length * 8, 0);
    assert.equal(totalDrops(receiver.drops), flips);
    for (const packet of packets) opened(receiver.open(packet));
  });
});

describe('packet: destination', () => {
  const A = 1;
  const B = 2;
  const C = 3;

  it('drops a packet sealed for B at C as wrong_destination, changing nothing else; B accepts it once', () => {
    const a = codec({ selfIndex: A });
    const b = codec({ selfIndex: B });
    const c = codec({ selfIndex: C });
    // C has heard from A before, so it has a window that a misdirected packet could move.
    opened(c.open(a.seal(gossip, C)));
    const forB = a.seal(gossip, B);
    const windowBefore = c.replayWindow(A);
    const dropsBefore = { ...c.drops };

    dropped(c.open(forB), 'wrong_destination');
    assert.deepEqual(c.replayWindow(A), windowBefore, "C's replay window did not move");
    assert.deepEqual(c.drops, { ...dropsBefore, wrong_destination: 1 }, 'only the drop counter moved');
    // Again: still not C's, and never a replay at C, since C never accepted it.
    dropped(c.open(forB), 'wrong_destination');
    assert.equal(c.drops.wrong_destination, 2);
    assert.equal(c.drops.replay, 0);

    // B, the receiver it was sealed for, accepts it once all the same.
    const atB = opened(b.open(forB));
    assert.equal(atB.from, A);
    assert.deepEqual(atB.message, gossip);
    dropped(b.open(forB), 'replay');
    assert.equal(totalDrops(b.drops), 1);
  });

  it("never fills a gap in the receiver's window: its own packets around it still open, reordered", () => {
    const a = codec({ selfIndex: A });
    const c = codec({ selfIndex: C });
    // A's sequence numbers 0, 1, 2 go to C, B, C: seq 1 is a gap in C's window for good.
    const [first, forB, third] = [a.seal(gossip, C), a.seal(gossip, B), a.seal(gossip, C)];
    opened(c.open(third));
    dropped(c.open(forB), 'wrong_destination');
    opened(c.open(first));
    assert.deepEqual(c.replayWindow(A), { bootId: BOOT, highestSeq: 2, seen: 0b101n });
    dropped(c.open(forB), 'wrong_destination');
  });

  it('authenticates the destination: rewriting it, or flipping any of its bits, fails the tag', () => {
    const a = codec({ selfIndex: A });
    const b = codec({ selfIndex: B });
    const c = codec({ selfIndex: C });
    const forB = a.seal(gossip, B);
    // Offset 9, two bytes (see layout.ts). The attack: readdress B's packet to C.
    const readdressed = forB.slice();
    new DataView(readdressed.buffer).setUint16(9, C);
    dropped(c.open(readdressed), 'bad_tag');
    for (let bit = 9 * 8; bit < 11 * 8; bit++) {
      const flipped = forB.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      dropped(b.open(flipped), 'bad_tag');
      dropped(c.open(flipped), 'bad_tag');
    }
    assert.equal(c.drops.bad_tag, 17);
    assert.equal(b.drops.bad_tag, 16);
    assert.equal(c.replayWindow(A), undefined);
    assert.equal(b.replayWindow(A), undefined);
    opened(b.open(forB));
  });

  it('drops authenticated packets sealed for a server that is not this one (another tag)', () => {
    const receiver = codec();
    const body = encodeBody(gossip);
    for (const destination of [MEMBERS, 0xffff, 2]) {
      dropped(
        receiver.open(sealRaw({ key: 'k', sender: 1, destination, bootId: 1, seq: 0, body })),
        'wrong_destination',
      );
    }
    assert.equal(receiver.replayWindow(1), undefined);
    opened(receiver.open(sealRaw({ key: 'k', sender: 1, destination: 0, bootId: 1, seq: 0, body })));
  });

  it('checks the sender first: its own packet reflected back is self, whatever its destination', () => {
    const receiver = codec({ selfIndex: B });
    dropped(receiver.open(receiver.seal(gossip, A)), 'self');
    assert.equal(receiver.drops.wrong_destination, 0);
  });
});

describe('packet: replay', () => {
  it('drops the same packet the second time', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const packet = sender.seal(gossip, 0);
    opened(receiver.open(packet));
    dropped(receiver.open(packet), 'replay');
    dropped(receiver.open(packet), 'replay');
    assert.equal(receiver.drops.replay, 2);
  });

  it('accepts reordered packets once each', () => {
    const sender = codec({ selfIndex: 1 });
    const receiver = codec();
    const packets = Array.from({ length: 10 }, () => sender.seal(gossip, 0));
    for (const i of [9, 0, 5, 1, 8, 2, 7, 3, 6, 4]) opened(receiver.open(packets[i]!));
    for (const packet of packets) dropped(receiver.open(packet), 'replay');
  });

  it('accepts a restarted sender (higher boot id) at once; the boot before it only once a packet, older ones never', () => {
    const receiver = codec();
    const first = codec({ selfIndex: 1, bootId: BOOT - 60_000 });
    const firstPacket = first.seal(gossip, 0);
    opened(receiver.open(firstPacket));
    const before = codec({ selfIndex: 1, bootId: BOOT });
    const oldPackets = Array.from({ length: 200 }, () => before.seal(gossip, 0));
    opened(receiver.open(oldPackets[199]!));
    const after = codec({ selfIndex: 1, bootId: BOOT + 60_000 });
    const result = opened(receiver.open(after.seal(gossip, 0)));
    assert.equal(result.bootId, BOOT + 60_000);
    // The boot before keeps its window (a second agent with the same id must not lock the
    // first out: the protocol decides whom to listen to), so each packet counts once.
    dropped(receiver.open(oldPackets[199]!), 'replay');
    dropped(receiver.open(oldPackets[0]!), 'replay');
    assert.equal(opened(receiver.open(oldPackets[198]!)).bootId, BOOT);
    dropped(receiver.open(oldPackets[198]!), 'replay');
    // Two boots back is stale.
    dropped(receiver.open(first.seal(gossip, 0)), 'stale_boot');
    opened(receiver.open(after.seal(gossip, 0)));
    assert.equal(receiver.drops.stale_boot, 1);
    assert.equal(receiver.replayWindow(1)?.bootId, BOOT + 60_000);
  });

  it('names the sender and the boot id it has seen when it drops a stale boot', () => {
    const receiver = codec();
    opened(receiver.open(codec({ selfIndex: 2, bootId: BOOT }).seal(gossip, 0)));
    // The sender restarts with its clock set back a minute: every packet looks like a replay.
    const restarted = codec({ selfIndex: 2, bootId: BOOT - 60_000 });
    const result = receiver.open(restarted.seal(gossip, 0));
    assert.deepEqual(result, { ok: false, reason: 'stale_boot', from: 2, knownBootId: BOOT });
    // Told so (a boot_hint), it goes on above that boot id, from sequence number 0.
    assert.equal(restarted.advanceBootId(BOOT), true);
    assert.equal(restarted.bootId, BOOT + 1);
    const next = opened(receiver.open(restarted.seal(gossip, 0)));
    assert.equal(next.bootId, BOOT + 1);
    assert.equal(receiver.replayWindow(2)?.highestSeq, 0);
  });

  it('ignores a boot hint at or below its own boot id (an old packet of it was replayed)', () => {
    const sender = codec({ selfIndex: 2, bootId: BOOT });
    assert.equal(sender.advanceBootId(BOOT), false);
    assert.equal(sender.advanceBootId(BOOT - 1), false);
    assert.equal(sender.advanceBootId(Number.MAX_SAFE_INTEGER), false, 'no boot id past 2^53 - 1');
    assert.equal(sender.bootId, BOOT);
  });

  it('keeps senders apart', () => {
    const receiver = codec();
    const one = codec({ selfIndex: 1 });
    const two = codec({ selfIndex: 2 });
    // Both start at seq 0 with the same boot id.
    opened(receiver.open(one.seal(gossip, 0)));
    opened(receiver.open(two.seal(gossip, 0)));
  });
});

describe('packet: drop counters', () => {
  it('has a counter for every reason, starting at zero', () => {
    const receiver = codec();
    assert.deepEqual(Object.keys(receiver.drops).sort(), [...DROP_REASONS].sort());
    assert.equal(totalDrops(receiver.drops), 0);
  });
});

describe('packet: rosters (server tags and the roster digest)', () => {
  /** A codec of the server `self` in `servers` (index order), with `systems`. */
  function member(servers: string[], self: string, systems: string[] = []): PacketCodec {
    return codec({
      selfIndex: servers.indexOf(self),
      memberCount: servers.length,
      roster: { servers, systems },
    });
  }

  it('names sender and destination by tag: a server whose index differs here is known by its id', () => {
    // "c" is index 2 at the sender, index 3 at the receiver, where "x" was added before it.
    const sender = member(['a', 'b', 'c'], 'c');
    const receiver = member(['a', 'x', 'b', 'c'], 'a');
    const packet = sender.seal(gossip, 0);
    assert.equal(Buffer.from(packet).readUInt32BE(7), tagOf('c'));
    assert.equal(Buffer.from(packet).readUInt32BE(11), tagOf('a'));
    assert.equal(Buffer.from(packet).readUInt32BE(15), digestOf('servers', ['a', 'b', 'c']));
    assert.equal(Buffer.from(packet).readUInt32BE(19), digestOf('systems', []));
    const result = opened(receiver.open(packet));
    assert.equal(result.from, 3, "the sender is c, at c's index here");
    assert.equal(result.roster, 'other', 'its numbers are not ours');
    assert.deepEqual(result.message, gossip, 'the body is decoded all the same');
  });

  it('marks the roster the same only when both lists are equal, in order', () => {
    const servers = ['a', 'b', 'c'];
    assert.equal(opened(member(servers, 'a').open(member(servers, 'b').seal(gossip, 0))).roster, 'same');
    // Another order is another numbering.
    assert.equal(
      opened(member(['a', 'c', 'b'], 'a').open(member(servers, 'b').seal(gossip, 0))).roster,
      'other',
    );
    // Readiness numbers systems: other systems, other system numbers; the member numbers agree.
    assert.equal(
      opened(member(servers, 'a', ['vip']).open(member(servers, 'b', ['db', 'vip']).seal(gossip, 0))).roster,
      'other_systems',
    );
  });

  it('decodes a body of another roster whose member numbers are beyond our list', () => {
    const sender = member(['a', 'b', 'c', 'd', 'e'], 'e');
    const receiver = member(['a', 'e'], 'a');
    const about4: Message = {
      type: 'gossip',
      incarnation: 1,
      updates: [{ kind: 'alive', member: 4, incarnation: 2 }],
    };
    const result = opened(receiver.open(sender.seal(about4, 0)));
    assert.equal(result.from, 1);
    assert.equal(result.roster, 'other');
    // Of the same roster, such a number is malformed.
    const same = member(['a', 'e'], 'e');
    assert.throws(() => same.seal(about4, 0), /not a server index below 2/);
  });

  it('a server of the sender that is not in our list is an unknown sender; one sealed for another is not ours', () => {
    const receiver = member(['a', 'b'], 'a');
    dropped(receiver.open(member(['a', 'b', 'n'], 'n').seal(gossip, 0)), 'unknown_sender');
    dropped(receiver.open(member(['a', 'b', 'n'], 'n').seal(gossip, 1)), 'unknown_sender');
    dropped(receiver.open(member(['a', 'b', 'n'], 'b').seal(gossip, 2)), 'wrong_destination');
    assert.equal(receiver.drops.unknown_sender, 2);
    assert.equal(receiver.drops.wrong_destination, 1);
  });

  it('refuses a roster whose server count is not memberCount, or with two servers of one tag', () => {
    assert.throws(
      () => codec({ memberCount: 3, roster: { servers: ['a', 'b'], systems: [] } }),
      /names 2 servers, not memberCount 3/,
    );
    // Two ids whose tags collide (found by search; checked here first).
    assert.equal(tagOf('s25985'), tagOf('s72319'));
    assert.throws(
      () => codec({ memberCount: 2, roster: { servers: ['s25985', 's72319'], systems: [] } }),
      /have one tag/,
    );
  });
});
