/**
 * Fuzzes PacketCodec.open with hostile packets of every shape and checks that it never throws,
 * never accepts what it must not, counts every rejection, and never lets a rejected packet
 * move the replay window. Reproducible: WIRE_FUZZ_SEED and WIRE_FUZZ_PACKETS override the
 * defaults, and every failure message names the seed and the packet number.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/membership/messages.js';
import { BODY_BYTES_MAX, encodeBody } from '../../src/wire/body.js';
import { totalDrops } from '../../src/wire/drop-reasons.js';
import { type OpenResult, PACKET_BYTES_MAX, PacketCodec } from '../../src/wire/packet.js';
import { hex, indexIds, Rng, randomMessage, sealRaw, tagOf } from './helpers.js';

const SEED = Number(process.env.WIRE_FUZZ_SEED ?? 0xf1ee_d00d);
const PACKETS = Number(process.env.WIRE_FUZZ_PACKETS ?? 100_000);
const MEMBERS = 7;
const SELF = 0;
/** The tags of the default roster's servers, by index (the codecs here use it). */
const TAGS = indexIds(MEMBERS).map(tagOf);
/** Never opened, so its mutated packets would be accepted if they authenticated. */
const SENDER_MUTATED = 1;
/**
 * Sends a valid packet every PROBE_EVERY packets: proves the receiver still works. Its packets
 * sealed for other servers (misdirected) leave gaps in its numbering that must stay gaps.
 */
const SENDER_PROBE = 2;
/** Sends authenticated packets with garbage bodies. */
const SENDER_GARBAGE = 3;
/**
 * Sends authenticated packets with valid bodies and random destinations, boot ids and sequence
 * numbers.
 */
const SENDER_HEADER = 4;
const PROBE_EVERY = 64;
const BASE_PACKETS = 64;
const BOOT = 1_700_000_000_000;
const KEYS = ['current', 'previous'];

type Kind =
  | 'random_bytes'
  | 'random_after_header_prefix'
  | 'truncated'
  | 'bit_flipped'
  | 'header_rewritten'
  | 'garbage_body'
  | 'header_fields'
  | 'misdirected'
  | 'replayed';

/** Relative weights of the kinds of packet; garbage bodies cost a seal each, so fewer of them. */
const KIND_WEIGHTS: [Kind, number][] = [
  ['random_bytes', 10],
  ['random_after_header_prefix', 15],
  ['truncated', 10],
  ['bit_flipped', 25],
  ['header_rewritten', 5],
  ['garbage_body', 30],
  ['header_fields', 5],
  ['misdirected', 5],
  ['replayed', 5],
];

function pickKind(rng: Rng): Kind {
  const total = KIND_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng.below(total);
  for (const [kind, weight] of KIND_WEIGHTS) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return 'random_bytes';
}

/** A body that is nearly, but not surely, invalid: the decoder's hardest inputs. */
function garbageBody(rng: Rng): Uint8Array {
  const valid = encodeBody(randomMessage(rng, MEMBERS, BODY_BYTES_MAX - 8), MEMBERS);
  switch (rng.below(6)) {
    case 0:
      return rng.bytes(rng.below(200));
    case 1: {
      const body = valid.slice();
      for (let flips = rng.between(1, 3); flips > 0 && body.length > 0; flips--) {
        body[rng.below(body.length)] = rng.u32() & 0xff;
      }
      return body;
    }
    case 2:
      return valid.subarray(0, rng.below(valid.length));
    case 3:
      return Uint8Array.of(...valid, ...rng.bytes(rng.between(1, 8)));
    case 4: {
      // A real type byte, then random: reaches the type-specific fields and the updates.
      const body = rng.bytes(rng.below(120));
      if (body.length > 0) body[0] = rng.between(1, 6);
      return body;
    }
    default: {
      // A valid prefix and a random tail: reaches deep into updates and reporter sets.
      const cut = rng.below(valid.length + 1);
      return Uint8Array.of(...valid.subarray(0, cut), ...rng.bytes(rng.below(40)));
    }
  }
}

/** What the receiver's replay guard remembers about every sender, as a string to compare. */
function windows(codec: PacketCodec): string {
  return Array.from({ length: MEMBERS }, (_, sender) => {
    const window = codec.replayWindow(sender);
    return window === undefined ? '-' : `${window.bootId}/${window.highestSeq}/${window.seen}`;
  }).join(' ');
}

/** What is wrong with the outcome of opening a packet of this kind, if anything. */
function unexpected(kind: Kind, result: OpenResult, packet: Uint8Array): string | undefined {
  if (result.ok) {
    // Only authenticated packets for us from a real sender with a valid body may get through.
    const destination = new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(11);
    if (kind === 'header_fields' && result.from === SENDER_HEADER && destination === TAGS[SELF])
      return undefined;
    if (kind === 'garbage_body' && result.from === SENDER_GARBAGE) return undefined;
    return `accepted from ${result.from}`;
  }
  let expected: readonly string[] | undefined;
  if (kind === 'garbage_body') expected = ['malformed_body'];
  if (kind === 'replayed') expected = ['replay'];
  if (kind === 'misdirected') expected = ['wrong_destination'];
  if (kind === 'header_fields') {
    // Offsets from layout.ts: sender tag 7, destination tag 11, digests 15 and 19, boot id 23.
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const sender = TAGS.indexOf(view.getUint32(7));
    if (sender === SELF) expected = ['self'];
    else if (sender < 0) expected = ['unknown_sender'];
    else if (view.getUint32(11) !== TAGS[SELF]) expected = ['wrong_destination'];
    else if (view.getUint32(23) > 0x1f_ffff) expected = ['malformed_header'];
    else expected = ['replay', 'stale_boot'];
  }
  if (expected === undefined || expected.includes(result.reason)) return undefined;
  return `dropped as ${result.reason}, expected ${expected.join(' or ')}`;
}

describe('packet: fuzz', () => {
  it(`survives ${PACKETS} hostile packets (seed ${SEED})`, (t) => {
    const started = performance.now();
    const rng = new Rng(SEED);
    const nonces = (n: number) => rng.bytes(n);
    const receiver = new PacketCodec({
      keys: KEYS,
      selfIndex: SELF,
      bootId: BOOT,
      memberCount: MEMBERS,
      randomBytes: nonces,
    });
    const mutated = new PacketCodec({
      keys: KEYS,
      selfIndex: SENDER_MUTATED,
      bootId: BOOT,
      memberCount: MEMBERS,
      randomBytes: nonces,
    });
    // Sealing with the second key exercises decryption with a key other than the first.
    const mutatedOld = new PacketCodec({
      keys: ['previous'],
      selfIndex: SENDER_MUTATED,
      bootId: BOOT,
      memberCount: MEMBERS,
      randomBytes: nonces,
    });
    const probe = new PacketCodec({
      keys: KEYS,
      selfIndex: SENDER_PROBE,
      bootId: BOOT,
      memberCount: MEMBERS,
      randomBytes: nonces,
    });
    const bases = Array.from({ length: BASE_PACKETS }, (_, i) =>
      (i % 4 === 0 ? mutatedOld : mutated).seal(randomMessage(rng, MEMBERS, BODY_BYTES_MAX), SELF),
    );
    const prefix = bases[1]!.subarray(0, 7);
    let garbageSeq = 0;
    let lastProbe: Uint8Array | undefined;

    let rejected = 0;
    let accepted = 0;
    const byKind = new Map<Kind, { sent: number; rejected: number }>();
    const where = (i: number, kind: Kind, packet: Uint8Array) =>
      `seed ${SEED} (WIRE_FUZZ_SEED=${SEED}), packet ${i}, ${kind}: ${hex(packet)}`;

    for (let i = 0; i < PACKETS; i++) {
      if (i % PROBE_EVERY === 0) {
        const message: Message = randomMessage(rng, MEMBERS, BODY_BYTES_MAX);
        lastProbe = probe.seal(message, SELF);
        const result = receiver.open(lastProbe);
        assert.ok(
          result.ok,
          `seed ${SEED}, probe before packet ${i} was dropped: ${result.ok ? '' : result.reason}`,
        );
        assert.deepEqual(result.message, message, `seed ${SEED}, probe before packet ${i}`);
        accepted++;
      }

      const kind = pickKind(rng);
      let packet: Uint8Array;
      switch (kind) {
        case 'random_bytes':
          packet = rng.bytes(rng.below(PACKET_BYTES_MAX + 100));
          break;
        case 'random_after_header_prefix':
          // Magic, version and a known key id: random bytes that reach the GCM check.
          packet = rng.bytes(rng.below(PACKET_BYTES_MAX + 100));
          packet.set(prefix.subarray(0, Math.min(prefix.length, packet.length)));
          break;
        case 'truncated': {
          const base = rng.pick(bases);
          packet = base.subarray(0, rng.below(base.length));
          break;
        }
        case 'bit_flipped': {
          packet = rng.pick(bases).slice();
          // Distinct bits, so no flip undoes another.
          const bits = new Set<number>();
          const flips = rng.between(1, 4);
          while (bits.size < flips) bits.add(rng.below(packet.length * 8));
          for (const bit of bits) packet[bit >> 3]! ^= 1 << (bit & 7);
          break;
        }
        case 'header_rewritten': {
          // A valid packet with a header field changed: the tag covers the header.
          packet = rng.pick(bases).slice();
          const view = new DataView(packet.buffer);
          const field = rng.below(4);
          if (field === 0) {
            const sender = TAGS.indexOf(view.getUint32(7));
            view.setUint32(7, TAGS[(sender + rng.between(1, MEMBERS - 1)) % MEMBERS]!);
          }
          // The destination: readdressed to another server, or to any u32.
          else if (field === 1)
            view.setUint32(11, rng.chance(0.5) ? TAGS[rng.between(1, MEMBERS - 1)]! : rng.u32() >>> 0);
          // The low half of the boot id.
          else if (field === 2) view.setUint32(27, view.getUint32(27) ^ rng.between(1, 0xffff_ffff));
          else view.setUint32(31, view.getUint32(31) ^ rng.between(1, 0xffff_ffff));
          break;
        }
        case 'garbage_body':
          // Sealed with the right key and a fresh seq, so only the body decoder can refuse it.
          packet = sealRaw({
            key: rng.pick(KEYS),
            members: MEMBERS,
            sender: SENDER_GARBAGE,
            destination: SELF,
            bootId: BOOT,
            seq: garbageSeq,
            nonce: rng.bytes(12),
            body: garbageBody(rng),
          });
          break;
        case 'header_fields': {
          // Authenticated, with a valid body: the sender, destination, boot id and seq decide.
          const sender = rng.pick([SELF, SENDER_HEADER, SENDER_HEADER, MEMBERS, 0xffff]);
          const destination = rng.pick([SELF, SELF, SELF, SENDER_MUTATED, MEMBERS, 0xffff]);
          const bootId = rng.pick([
            BigInt(BOOT - 1),
            BigInt(BOOT),
            BigInt(BOOT),
            BigInt(BOOT + 1),
            2n ** 53n,
            2n ** 64n - 1n,
          ]);
          const seq = rng.pick([0, 1, rng.below(300), 0xffff_ffff]);
          const body = encodeBody(randomMessage(rng, MEMBERS, BODY_BYTES_MAX), MEMBERS);
          packet = sealRaw({
            key: 'current',
            members: MEMBERS,
            sender,
            destination,
            bootId,
            seq,
            nonce: rng.bytes(12),
            body,
          });
          break;
        }
        case 'misdirected': {
          // Genuine packets of the probe sender, sealed for another server: never accepted here,
          // though their sequence numbers are fresh, and the next probe still opens.
          let to = rng.below(MEMBERS);
          while (to === SELF || to === SENDER_PROBE) to = rng.below(MEMBERS);
          packet = probe.seal(randomMessage(rng, MEMBERS, BODY_BYTES_MAX), to);
          break;
        }
        case 'replayed':
          packet = lastProbe!;
          break;
      }

      const before = windows(receiver);
      let result: OpenResult;
      try {
        result = receiver.open(packet);
      } catch (error) {
        assert.fail(`open threw ${error} at ${where(i, kind, packet)}`);
      }
      const stats = byKind.get(kind) ?? { sent: 0, rejected: 0 };
      byKind.set(kind, stats);
      stats.sent++;
      if (result.ok) accepted++;
      else {
        rejected++;
        stats.rejected++;
      }
      const problem: string | undefined =
        unexpected(kind, result, packet) ??
        (!result.ok && windows(receiver) !== before
          ? 'a rejected packet moved the replay window'
          : undefined);
      if (problem !== undefined) assert.fail(`${problem} at ${where(i, kind, packet)}`);
      if (result.ok && kind === 'garbage_body') garbageSeq++;
    }

    assert.equal(
      totalDrops(receiver.drops),
      rejected,
      `seed ${SEED}: drops ${JSON.stringify(receiver.drops)}`,
    );
    // The garbage sender's rejected packets never burnt its sequence number.
    const last = sealRaw({
      key: 'current',
      members: MEMBERS,
      sender: SENDER_GARBAGE,
      destination: SELF,
      bootId: BOOT,
      seq: garbageSeq,
      body: encodeBody({ type: 'gossip', incarnation: 1, updates: [] }),
    });
    assert.ok(receiver.open(last).ok, `seed ${SEED}: a fresh packet after the fuzz was dropped`);

    const seconds = (performance.now() - started) / 1000;
    const summary = [...byKind].map(([kind, s]) => `${kind} ${s.rejected}/${s.sent}`).join(', ');
    t.diagnostic(
      `fuzz seed ${SEED}: ${PACKETS} packets in ${seconds.toFixed(2)} s, ${rejected} rejected, ` +
        `${accepted} accepted (incl. probes); rejected/sent by kind: ${summary}; ` +
        `drops ${JSON.stringify(receiver.drops)}`,
    );
    // Every kind must have been exercised, or the fuzzer is testing less than it claims.
    for (const [kind] of KIND_WEIGHTS)
      assert.ok((byKind.get(kind)?.sent ?? 0) > 0, `${kind} never generated`);
    assert.ok(receiver.drops.malformed_body > PACKETS / 10, 'the body decoder was exercised');
  });
});
