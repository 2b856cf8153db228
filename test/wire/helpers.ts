/**
 * Shared test helpers for the wire format: seeded draws, message generators, and a packet
 * builder written from the documented layout (not from the codec), so tests can build any
 * packet, valid or not, and check the codec against the specification.
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, createHash } from 'node:crypto';
import type { Gossip, Message, StateRecord, Update } from '../../src/membership/messages.js';
import { Random } from '../../src/testing/seeded.js';
import { bodySize } from '../../src/wire/body.js';
import { deriveWireKey, type WireKey } from '../../src/wire/keys.js';

/** Seeded draws for the wire tests, from the shared seeded generator (mulberry32). */
export class Rng {
  readonly #random: Random;

  constructor(seed: number) {
    this.#random = new Random(seed);
  }

  /** A uniform u32 (exact: the generator's [0, 1) values are u32 / 2^32). */
  u32(): number {
    return this.#random.next() * 0x1_0000_0000;
  }

  /** A uniform integer in [0, bound). */
  below(bound: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * bound);
  }

  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.u32() / 0x1_0000_0000 < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.u32();
      for (let j = 0; j < 4 && i + j < length; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return bytes;
  }

  /** A safe integer below 2^53, often a small or boundary value, since those find bugs. */
  incarnation(): number {
    switch (this.below(4)) {
      case 0:
        return this.below(10);
      case 1:
        return Number.MAX_SAFE_INTEGER - this.below(3);
      case 2:
        return 1_700_000_000_000 + this.below(1_000_000);
      default:
        return this.u32() * 0x20_0000 + (this.u32() & 0x1f_ffff);
    }
  }
}

const REPORTERS_SPAN_MAX = 2048;

/** Sorted unique reporters: sometimes sparse (list wins), sometimes dense (bitmap wins). */
export function randomReporters(rng: Rng, memberCount: number): number[] {
  const reporters: number[] = [];
  const density = rng.pick([0, 0.01, 0.1, 0.5, 0.9, 1]);
  // Capped so huge clusters stay fast; the last member is sometimes added to reach high indexes.
  const span = Math.min(memberCount, rng.chance(0.5) ? REPORTERS_SPAN_MAX : rng.between(1, 64));
  for (let i = 0; i < span; i++) if (rng.chance(density)) reporters.push(i);
  if (memberCount > span && rng.chance(0.3)) reporters.push(memberCount - 1);
  return reporters;
}

/** Sorted unique system indexes below READINESS_SYSTEMS_MAX, none of `except`. */
export function randomSystems(rng: Rng, except: readonly number[] = []): number[] {
  const systems: number[] = [];
  const span = rng.pick([0, 1, 8, 64, 1024]);
  const density = rng.pick([0.05, 0.5, 1]);
  for (let i = 0; i < span; i++) if (rng.chance(density) && !except.includes(i)) systems.push(i);
  return systems;
}

export function randomUpdate(rng: Rng, memberCount: number): Gossip {
  const member = rng.below(memberCount);
  const incarnation = rng.incarnation();
  const kind = rng.pick(['alive', 'suspect', 'down', 'left', 'readiness'] as const);
  if (kind === 'readiness') {
    const failing = randomSystems(rng);
    const holding = randomSystems(rng, failing);
    const fresh = randomSystems(rng, [...failing, ...holding]);
    return { kind, member, incarnation, version: rng.u32(), failing, holding, fresh };
  }
  if (kind === 'suspect') return { kind, member, incarnation, reporters: randomReporters(rng, memberCount) };
  if (kind === 'down' || kind === 'left') return { kind, member, incarnation, silent_ms: rng.u32() };
  return { kind, member, incarnation };
}

/** A random valid message whose body is at most `bodyBytesMax` bytes. */
export function randomMessage(
  rng: Rng,
  memberCount: number,
  bodyBytesMax = Number.POSITIVE_INFINITY,
): Message {
  const incarnation = rng.incarnation();
  const seq = rng.u32();
  const target = rng.below(memberCount);
  let message: Message;
  switch (
    rng.pick([
      'ping',
      'ack',
      'ping_req',
      'nack',
      'gossip',
      'state',
      'released',
      'released_ack',
      'boot_hint',
      'claim',
      'claim_reply',
      'duplicate',
    ] as const)
  ) {
    case 'ping':
      message = { type: 'ping', incarnation, seq, target, flags: rng.below(2), updates: [] };
      if (rng.below(2) === 1)
        message.about = { member: rng.below(memberCount), incarnation: rng.incarnation() };
      break;
    case 'ack':
      message = { type: 'ack', incarnation, seq, grant: rng.below(2) === 1, updates: [] };
      if (rng.below(2) === 1) message.heard_ago_ms = rng.u32();
      if (!message.grant && rng.below(2) === 1) message.gone = true;
      break;
    case 'ping_req':
      message = { type: 'ping_req', incarnation, seq, target, updates: [] };
      break;
    case 'nack':
      message = { type: 'nack', incarnation, seq, updates: [] };
      break;
    case 'gossip':
      message = { type: 'gossip', incarnation, updates: [] };
      break;
    case 'state': {
      const records: StateRecord[] = [];
      const count = rng.below(20);
      for (let i = 0; i < count; i++) {
        const state = rng.pick(['alive', 'probably_down', 'down', 'left'] as const);
        const record: StateRecord = { member: rng.below(memberCount), state, incarnation: rng.incarnation() };
        if (state === 'down' || state === 'left') record.silent_ms = rng.u32();
        records.push(record);
      }
      message = { type: 'state', incarnation, records, updates: [] };
      break;
    }
    case 'released':
    case 'claim':
    case 'claim_reply': {
      const type = rng.pick(['released', 'claim', 'claim_reply'] as const);
      const text = () =>
        rng.pick(['', 'web', '10.0.0.1', 'fd00::1', 'dätä ✓ 🙂', 'x'.repeat(rng.below(300))]);
      const items = Array.from({ length: rng.below(6) }, () => ({ system: text(), item: text() }));
      message = { type, incarnation, id: seq, items, updates: [] };
      while (bodySize(message) > bodyBytesMax) items.pop();
      break;
    }
    case 'released_ack':
      message = { type: 'released_ack', incarnation, id: seq, updates: [] };
      break;
    case 'boot_hint':
      message = { type: 'boot_hint', incarnation, boot_id: rng.incarnation(), updates: [] };
      break;
    case 'duplicate': {
      const kept = rng.incarnation();
      const address = () => rng.pick(['', '10.0.0.1:2200', '[fd00::1]:65535', 'x'.repeat(64)]);
      message = {
        type: 'duplicate',
        incarnation,
        member: target,
        kept,
        newcomer: kept === 0 ? 1 : kept - 1,
        kept_at: address(),
        newcomer_at: address(),
        updates: [],
      };
      break;
    }
  }
  const updateCount = rng.below(12);
  for (let i = 0; i < updateCount; i++) {
    message.updates.push(randomUpdate(rng, memberCount));
    if (bodySize(message) > bodyBytesMax) message.updates.pop();
  }
  return message;
}

/** One message of every type and one update of every kind. */
export function everyMessage(memberCount: number): Message[] {
  const updates: Update[] = [
    { kind: 'alive', member: 0, incarnation: 7 },
    { kind: 'suspect', member: 1, incarnation: 8, reporters: [0, 2] },
    { kind: 'down', member: memberCount - 1, incarnation: Number.MAX_SAFE_INTEGER, silent_ms: 0xffff_ffff },
    { kind: 'left', member: 2, incarnation: 0, silent_ms: 0 },
  ];
  const readiness: Gossip[] = [
    { kind: 'readiness', member: 0, incarnation: 9, version: 1, failing: [], holding: [], fresh: [] },
    {
      kind: 'readiness',
      member: 1,
      incarnation: 9,
      version: 0xffff_ffff,
      failing: [0, 9],
      holding: [1023],
      fresh: [10],
    },
  ];
  return [
    { type: 'ping', incarnation: 1, seq: 0xffff_ffff, target: 2, flags: 1, updates },
    {
      type: 'ping',
      incarnation: 1,
      seq: 5,
      target: 0,
      flags: 0,
      about: { member: memberCount - 1, incarnation: 12 },
      updates: [],
    },
    { type: 'ack', incarnation: 2, seq: 0, grant: false, updates: [] },
    { type: 'ack', incarnation: 2, seq: 9, grant: true, heard_ago_ms: 0xffff_ffff, updates: [] },
    { type: 'ping_req', incarnation: 3, seq: 17, target: memberCount - 1, updates: updates.slice(1) },
    { type: 'nack', incarnation: 4, seq: 18, updates: updates.slice(2) },
    { type: 'gossip', incarnation: 5, updates },
    { type: 'gossip', incarnation: 5, updates: [...updates, ...readiness] },
    {
      type: 'state',
      incarnation: 6,
      records: [
        { member: 0, state: 'alive', incarnation: 1 },
        { member: 1, state: 'probably_down', incarnation: 2 },
        { member: 2, state: 'down', incarnation: 3, silent_ms: 1500 },
        { member: 3, state: 'left', incarnation: Number.MAX_SAFE_INTEGER, silent_ms: 0 },
      ],
      updates: [updates[1]!],
    },
    {
      type: 'released',
      incarnation: 7,
      id: 0xffff_ffff,
      items: [
        { system: 'web', item: '10.0.0.1' },
        { system: 'db', item: 'fd00::1' },
        { system: 'ümlaut ✓', item: '' },
      ],
      updates: [updates[0]!],
    },
    { type: 'released_ack', incarnation: 8, id: 12, updates: [updates[3]!] },
    { type: 'boot_hint', incarnation: 9, boot_id: Number.MAX_SAFE_INTEGER, updates: [] },
    { type: 'claim', incarnation: 10, id: 0, items: [{ system: 'web', item: '10.0.0.2' }], updates: [] },
    {
      type: 'claim_reply',
      incarnation: 11,
      id: 0xffff_ffff,
      items: [{ system: 'db', item: 'fd00::2' }],
      updates: [updates[2]!],
    },
    {
      type: 'duplicate',
      incarnation: 10,
      member: 2,
      kept: 1_800_000_000_000,
      newcomer: Number.MAX_SAFE_INTEGER,
      kept_at: '127.0.0.1:2200',
      newcomer_at: '[fd00::1]:2200',
      updates: [updates[2]!],
    },
  ];
}

export interface RawPacket {
  /** The secret to seal with. */
  key: string;
  /** The sender's index in the default roster (servers named "#INDEX", as PacketCodec's default). */
  sender: number;
  /** The index of the server the packet is sealed for, in the same roster. */
  destination: number;
  /** Overrides the sender's tag (otherwise the tag of "#sender"). */
  senderTag?: number;
  /** Overrides the destination's tag. */
  destinationTag?: number;
  /** The server list's digest; by default that of `members` servers named by index. */
  servers?: number;
  /** The system list's digest; by default that of no systems. */
  systems?: number;
  /** For the default roster digest; 5 by default. */
  members?: number;
  bootId: number | bigint;
  seq: number;
  body: Uint8Array;
  nonce?: Uint8Array;
  magic?: readonly [number, number];
  version?: number;
  /** Overrides the key id derived from `key`. */
  keyId?: number;
}

const derivedKeys = new Map<string, WireKey>();

function wireKey(secret: string): WireKey {
  let key = derivedKeys.get(secret);
  if (key === undefined) {
    key = deriveWireKey(secret);
    derivedKeys.set(secret, key);
  }
  return key;
}

/**
 * A server id's tag, as layout.ts and roster.ts document it: the first 4 bytes of SHA-256 of
 * "flip server tag", NUL, the id (computed here, not by the codec's code).
 */
export function tagOf(id: string): number {
  return createHash('sha256').update(`flip server tag\u0000${id}`, 'utf8').digest().readUInt32BE(0);
}

/** A list's digest as documented: the first 4 bytes of SHA-256 of "flip servers" (or "flip systems"), NUL, its JSON. */
export function digestOf(kind: 'servers' | 'systems', list: readonly string[]): number {
  return createHash('sha256')
    .update(`flip ${kind}\u0000${JSON.stringify(list)}`, 'utf8')
    .digest()
    .readUInt32BE(0);
}

/** The default roster's server ids: "#0", "#1", ... */
export function indexIds(members: number): string[] {
  return Array.from({ length: members }, (_, index) => `#${index}`);
}

/** Builds and seals a packet field by field, following the layout documented in layout.ts. */
export function sealRaw(packet: RawPacket): Uint8Array {
  const key = wireKey(packet.key);
  const nonce = packet.nonce ?? new Uint8Array(12);
  const header = Buffer.alloc(47);
  const [magic0, magic1] = packet.magic ?? [0x46, 0x4c];
  header.writeUInt8(magic0, 0);
  header.writeUInt8(magic1, 1);
  header.writeUInt8(packet.version ?? 3, 2);
  header.writeUInt32BE(packet.keyId ?? key.id, 3);
  header.writeUInt32BE(packet.senderTag ?? tagOf(`#${packet.sender}`), 7);
  header.writeUInt32BE(packet.destinationTag ?? tagOf(`#${packet.destination}`), 11);
  header.writeUInt32BE(packet.servers ?? digestOf('servers', indexIds(packet.members ?? 5)), 15);
  header.writeUInt32BE(packet.systems ?? digestOf('systems', []), 19);
  header.writeBigUInt64BE(BigInt(packet.bootId), 23);
  header.writeUInt32BE(packet.seq, 31);
  header.set(nonce, 35);
  const cipher = createCipheriv('aes-256-gcm', key.cipherKey, nonce, { authTagLength: 16 });
  cipher.setAAD(header);
  const ciphertext = Buffer.concat([cipher.update(packet.body), cipher.final()]);
  return new Uint8Array(Buffer.concat([header, ciphertext, cipher.getAuthTag()]));
}

/** A nonce source that counts, so sealed packets are reproducible. */
export function countingNonces(): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const nonce = new Uint8Array(n);
    new DataView(nonce.buffer).setUint32(n - 4, counter++);
    return nonce;
  };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
