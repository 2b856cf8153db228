/**
 * The binary codec of a message body (the plaintext inside a packet).
 *
 *   body    = type u8, incarnation u64, type fields, [state: u16 count, records],
 *             u16 update count, updates
 *   fields  = ping: seq u32, target u16, flags u8, [flag 2: about u16, about incarnation u64]
 *           | ack: seq u32, flags u8 (1 grant, 2 heard, 4 gone), [flag 2: heard ago ms u32]
 *           | nack: seq u32 | ping_req: seq u32, target u16 | gossip, state: none
 *           | released: id u32, u16 count, count x (system text, item text)
 *           | released_ack: id u32 | boot_hint: boot id u64
 *           | claim, claim_reply: id u32, u16 count, count x (system text, item text)
 *           | duplicate: member u16, kept boot u64, newcomer boot u64, kept_at text, newcomer_at text
 *   text    = u16 byte length, UTF-8 bytes
 *   record  = member u16, state u8, incarnation u64, silent ms u32 (0 unless down or left)
 *   update  = kind u8, member u16, incarnation u64, [suspect: reporters | down, left: silent ms u32
 *             | readiness: version u32, failing, holding, fresh systems]
 *   systems = u16 byte length, bytes; bit i (LSB first in each byte) = system index i; the last
 *             byte is not 0; at most READINESS_SYSTEMS_MAX bits; no system in two sets
 *   reporters = format u8 (list 0 | bitmap 1), then
 *             list: u16 count, count x u16 index (increasing)
 *             bitmap: u16 byte length, bytes; bit i (LSB first in each byte) = index i
 *
 * Updates come last so the protocol core can size the fixed part of a message once and fill
 * the rest of the packet with piggybacked updates, using `bodyBaseSize` and `updateSize`.
 * The numbers of types, kinds and states are in codes.ts and are protocol.
 *
 * `encodeBody` throws on a message the core should never build (a programmer error);
 * `decodeBody` never throws, because its input comes from the network.
 */
import {
  type Gossip,
  type Message,
  type MessageType,
  PING_FLAG_ABOUT,
  type ReadinessUpdate,
  type ReleasedItem,
  type StateRecord,
} from '../membership/messages.js';
import {
  MEMBER_STATE_BY_CODE,
  MEMBER_STATE_CODES,
  MESSAGE_TYPE_BY_CODE,
  MESSAGE_TYPE_CODES,
  REPORTERS_FORMAT_BY_CODE,
  REPORTERS_FORMAT_CODES,
  type ReportersFormat,
  UPDATE_KIND_BY_CODE,
  UPDATE_KIND_CODES,
} from './codes.js';
import { MEMBER_COUNT_MAX, READINESS_SYSTEMS_MAX, U8_MAX, U16_MAX, U32_MAX } from './limits.js';
import { ByteReader } from './reader.js';
import { ByteWriter } from './writer.js';

export { BODY_BYTES_MAX } from './layout.js';

const TYPE_BYTES = 1;
const INCARNATION_BYTES = 8;
const SEQ_BYTES = 4;
const MEMBER_BYTES = 2;
const FLAGS_BYTES = 1;
const COUNT_BYTES = 2;
const KIND_BYTES = 1;
const STATE_BYTES = 1;
const FORMAT_BYTES = 1;
const BITS_PER_BYTE = 8;
const ID_BYTES = 4;
const TEXT_LENGTH_BYTES = 2;
const MS_BYTES = 4;
/** Ack flags: bit 0, the pinger holds a lease from us; bit 1, heard_ago_ms follows. */
const ACK_FLAG_GRANT = 1;
const ACK_FLAG_HEARD = 2;
/** Ack flag: no grant because the acker holds the pinger down or left. */
const ACK_FLAG_GONE = 4;
const ACK_FLAGS_KNOWN = ACK_FLAG_GRANT | ACK_FLAG_HEARD | ACK_FLAG_GONE;
/** The ping flags this codec knows; others are malformed. */
const PING_FLAGS_KNOWN = 1 | PING_FLAG_ABOUT;
const utf8 = new TextEncoder();
/** An address as a `duplicate` notice carries it ("ip:port", "[v6]:port"): well under this. */
export const ADDRESS_TEXT_BYTES_MAX = 64;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The encoded size of one record of a `state` message. */
export const STATE_RECORD_BYTES = MEMBER_BYTES + STATE_BYTES + INCARNATION_BYTES + MS_BYTES;

/** The encoded size of the smallest update (alive). */
export const UPDATE_BYTES_MIN = KIND_BYTES + MEMBER_BYTES + INCARNATION_BYTES;

/** The bytes each message type adds after the incarnation (for state: the record count). */
const TYPE_FIELDS_BYTES = {
  ping: SEQ_BYTES + MEMBER_BYTES + FLAGS_BYTES,
  ack: SEQ_BYTES + FLAGS_BYTES,
  ping_req: SEQ_BYTES + MEMBER_BYTES,
  nack: SEQ_BYTES,
  gossip: 0,
  state: COUNT_BYTES,
  released: ID_BYTES + COUNT_BYTES,
  released_ack: ID_BYTES,
  boot_hint: INCARNATION_BYTES,
  claim: ID_BYTES + COUNT_BYTES,
  claim_reply: ID_BYTES + COUNT_BYTES,
  duplicate: MEMBER_BYTES + 2 * INCARNATION_BYTES + 2 * TEXT_LENGTH_BYTES,
} as const satisfies Record<MessageType, number>;

const MESSAGE_TYPES = Object.keys(MESSAGE_TYPE_CODES) as MessageType[];

/**
 * The encoded size of a message of this type with no updates (and, for `state`, no records:
 * add STATE_RECORD_BYTES per record).
 */
export function bodyBaseSize(type: MessageType): number {
  return TYPE_BYTES + INCARNATION_BYTES + TYPE_FIELDS_BYTES[type] + COUNT_BYTES;
}

/**
 * The largest `bodyBaseSize` of any type: BODY_BYTES_MAX minus this is always left for updates
 * and records.
 */
export const BODY_OVERHEAD_BYTES_MAX = Math.max(...MESSAGE_TYPES.map(bodyBaseSize));

/** The smallest valid body (a gossip message with no updates). */
export const BODY_BYTES_MIN = Math.min(...MESSAGE_TYPES.map(bodyBaseSize));

/** The encoded size of reporters as a list. */
function listBytes(reporters: readonly number[]): number {
  return COUNT_BYTES + reporters.length * MEMBER_BYTES;
}

/** The encoded size of reporters as a bitmap; reporters are sorted, so the last is the largest. */
function bitmapBytes(reporters: readonly number[]): number {
  const last = reporters[reporters.length - 1];
  return COUNT_BYTES + (last === undefined ? 0 : Math.floor(last / BITS_PER_BYTE) + 1);
}

/** The smaller encoding of a reporter set; a list on a tie. */
export function reportersFormat(reporters: readonly number[]): ReportersFormat {
  return bitmapBytes(reporters) < listBytes(reporters) ? 'bitmap' : 'list';
}

/** The encoded size of a set of system indexes (sorted) as a readiness bitmap. */
function systemsBytes(systems: readonly number[]): number {
  const last = systems[systems.length - 1];
  return COUNT_BYTES + (last === undefined ? 0 : Math.floor(last / BITS_PER_BYTE) + 1);
}

/** The exact encoded size of one update (reporters must be sorted, as the type requires). */
export function updateSize(update: Gossip): number {
  if (update.kind === 'down' || update.kind === 'left') return UPDATE_BYTES_MIN + MS_BYTES;
  if (update.kind === 'readiness')
    return (
      UPDATE_BYTES_MIN +
      ID_BYTES +
      systemsBytes(update.failing) +
      systemsBytes(update.holding) +
      systemsBytes(update.fresh)
    );
  if (update.kind !== 'suspect') return UPDATE_BYTES_MIN;
  const reporters = update.reporters;
  return UPDATE_BYTES_MIN + FORMAT_BYTES + Math.min(listBytes(reporters), bitmapBytes(reporters));
}

/** The exact encoded size of one item of a `released`, `claim` or `claim_reply` message. */
export function releasedItemSize(item: ReleasedItem): number {
  return 2 * TEXT_LENGTH_BYTES + utf8.encode(item.system).length + utf8.encode(item.item).length;
}

/** The encoded size of `message` without its updates (and for `state`, without its records). */
export function bodyFixedSize(message: Message): number {
  let size = bodyBaseSize(message.type);
  if (message.type === 'ping' && message.about !== undefined) size += MEMBER_BYTES + INCARNATION_BYTES;
  if (message.type === 'ack' && message.heard_ago_ms !== undefined) size += MS_BYTES;
  if (message.type === 'duplicate')
    size += utf8.encode(message.kept_at).length + utf8.encode(message.newcomer_at).length;
  return size;
}

/** The exact encoded size of a whole message. */
export function bodySize(message: Message): number {
  let size = bodyFixedSize(message);
  if (message.type === 'state') size += message.records.length * STATE_RECORD_BYTES;
  if (message.type === 'released' || message.type === 'claim' || message.type === 'claim_reply')
    for (const item of message.items) size += releasedItemSize(item);
  for (const update of message.updates) size += updateSize(update);
  return size;
}

/**
 * Encodes a message. Throws a RangeError if the message is not one the protocol allows (an
 * index outside 0..memberCount-1, an incarnation that is not a safe non-negative integer,
 * unsorted reporters, ...): sending it would only make every receiver drop it.
 */
export function encodeBody(message: Message, memberCount: number = MEMBER_COUNT_MAX): Uint8Array {
  validateMessage(message, memberCount);
  const writer = new ByteWriter(bodySize(message));
  writer.u8(MESSAGE_TYPE_CODES[message.type]);
  writer.u64(message.incarnation);
  switch (message.type) {
    case 'ping':
      writer.u32(message.seq);
      writer.u16(message.target);
      writer.u8(pingFlags(message));
      if (message.about !== undefined) {
        writer.u16(message.about.member);
        writer.u64(message.about.incarnation);
      }
      break;
    case 'ping_req':
      writer.u32(message.seq);
      writer.u16(message.target);
      break;
    case 'ack':
      writer.u32(message.seq);
      writer.u8(
        (message.grant ? ACK_FLAG_GRANT : 0) |
          (message.heard_ago_ms !== undefined ? ACK_FLAG_HEARD : 0) |
          (message.gone === true ? ACK_FLAG_GONE : 0),
      );
      if (message.heard_ago_ms !== undefined) writer.u32(message.heard_ago_ms);
      break;
    case 'nack':
      writer.u32(message.seq);
      break;
    case 'gossip':
      break;
    case 'state':
      writer.u16(message.records.length);
      for (const record of message.records) {
        writer.u16(record.member);
        writer.u8(MEMBER_STATE_CODES[record.state]);
        writer.u64(record.incarnation);
        writer.u32(record.silent_ms ?? 0);
      }
      break;
    case 'released':
    case 'claim':
    case 'claim_reply':
      writer.u32(message.id);
      writer.u16(message.items.length);
      for (const { system, item } of message.items) {
        writeText(writer, system);
        writeText(writer, item);
      }
      break;
    case 'released_ack':
      writer.u32(message.id);
      break;
    case 'boot_hint':
      writer.u64(message.boot_id);
      break;
    case 'duplicate':
      writer.u16(message.member);
      writer.u64(message.kept);
      writer.u64(message.newcomer);
      writeText(writer, message.kept_at);
      writeText(writer, message.newcomer_at);
      break;
  }
  writer.u16(message.updates.length);
  for (const update of message.updates) writeUpdate(writer, update);
  return writer.finish();
}

function writeText(writer: ByteWriter, text: string): void {
  const bytes = utf8.encode(text);
  writer.u16(bytes.length);
  writer.raw(bytes);
}

function writeUpdate(writer: ByteWriter, update: Gossip): void {
  writer.u8(UPDATE_KIND_CODES[update.kind]);
  writer.u16(update.member);
  writer.u64(update.incarnation);
  if (update.kind === 'down' || update.kind === 'left') {
    writer.u32(update.silent_ms ?? 0);
    return;
  }
  if (update.kind === 'readiness') {
    writer.u32(update.version);
    writeSystems(writer, update.failing);
    writeSystems(writer, update.holding);
    writeSystems(writer, update.fresh);
    return;
  }
  if (update.kind !== 'suspect') return;
  const reporters = update.reporters;
  const format = reportersFormat(reporters);
  writer.u8(REPORTERS_FORMAT_CODES[format]);
  if (format === 'list') {
    writer.u16(reporters.length);
    for (const reporter of reporters) writer.u16(reporter);
    return;
  }
  const bitmap = new Uint8Array(bitmapBytes(reporters) - COUNT_BYTES);
  for (const reporter of reporters) {
    const byteIndex = Math.floor(reporter / BITS_PER_BYTE);
    bitmap[byteIndex] = bitmap[byteIndex]! | (1 << (reporter % BITS_PER_BYTE));
  }
  writer.u16(bitmap.length);
  writer.raw(bitmap);
}

function writeSystems(writer: ByteWriter, systems: readonly number[]): void {
  const bitmap = new Uint8Array(systemsBytes(systems) - COUNT_BYTES);
  for (const system of systems) {
    const byteIndex = Math.floor(system / BITS_PER_BYTE);
    bitmap[byteIndex] = bitmap[byteIndex]! | (1 << (system % BITS_PER_BYTE));
  }
  writer.u16(bitmap.length);
  writer.raw(bitmap);
}

function validateMessage(message: Message, memberCount: number): void {
  check(isMemberCount(memberCount), `memberCount ${memberCount} is not an integer in 1..${MEMBER_COUNT_MAX}`);
  check(Object.hasOwn(MESSAGE_TYPE_CODES, message.type), `unknown message type ${String(message.type)}`);
  checkIncarnation(message.incarnation, 'incarnation');
  switch (message.type) {
    case 'ping':
      check(isInteger(message.flags, 0, U8_MAX), `ping flags ${message.flags} are not a u8`);
      check(
        (message.flags & PING_FLAG_ABOUT) === 0,
        'ping flag 2 is set by the codec from `about`, not by the caller',
      );
      checkMember(message.target, memberCount, 'ping target');
      checkSeq(message.seq);
      if (message.about !== undefined) {
        checkMember(message.about.member, memberCount, 'ping about');
        checkIncarnation(message.about.incarnation, 'ping about incarnation');
      }
      break;
    case 'ping_req':
      checkMember(message.target, memberCount, 'ping_req target');
      checkSeq(message.seq);
      break;
    case 'ack':
      checkSeq(message.seq);
      check(typeof message.grant === 'boolean', 'ack grant is not a boolean');
      if (message.heard_ago_ms !== undefined)
        check(
          isInteger(message.heard_ago_ms, 0, U32_MAX),
          `ack heard_ago_ms ${message.heard_ago_ms} is not a u32`,
        );
      break;
    case 'nack':
      checkSeq(message.seq);
      break;
    case 'gossip':
      break;
    case 'state':
      check(message.records.length <= U16_MAX, `${message.records.length} state records exceed ${U16_MAX}`);
      message.records.forEach((record, i) => {
        validateRecord(record, memberCount, `record ${i}`);
      });
      break;
    case 'released':
    case 'claim':
    case 'claim_reply': {
      const type = message.type;
      check(isInteger(message.id, 0, U32_MAX), `${type} id ${message.id} is not a u32`);
      check(message.items.length <= U16_MAX, `${message.items.length} ${type} items exceed ${U16_MAX}`);
      message.items.forEach(({ system, item }, i) => {
        check(utf8.encode(system).length <= U16_MAX, `${type} item ${i} system name is too long`);
        check(utf8.encode(item).length <= U16_MAX, `${type} item ${i} is too long`);
      });
      break;
    }
    case 'released_ack':
      check(isInteger(message.id, 0, U32_MAX), `released_ack id ${message.id} is not a u32`);
      break;
    case 'boot_hint':
      checkIncarnation(message.boot_id, 'boot_hint boot id');
      break;
    case 'duplicate':
      checkMember(message.member, memberCount, 'duplicate member');
      checkIncarnation(message.kept, 'duplicate kept boot');
      checkIncarnation(message.newcomer, 'duplicate newcomer boot');
      check(message.kept !== message.newcomer, 'duplicate kept and newcomer boots are equal');
      check(utf8.encode(message.kept_at).length <= ADDRESS_TEXT_BYTES_MAX, 'duplicate kept_at is too long');
      check(
        utf8.encode(message.newcomer_at).length <= ADDRESS_TEXT_BYTES_MAX,
        'duplicate newcomer_at is too long',
      );
      break;
  }
  check(message.updates.length <= U16_MAX, `${message.updates.length} updates exceed ${U16_MAX}`);
  message.updates.forEach((update, i) => {
    validateUpdate(update, memberCount, `update ${i}`);
  });
}

function validateRecord(record: StateRecord, memberCount: number, where: string): void {
  checkMember(record.member, memberCount, `${where} member`);
  check(
    Object.hasOwn(MEMBER_STATE_CODES, record.state),
    `${where} has unknown state ${String(record.state)}`,
  );
  checkIncarnation(record.incarnation, `${where} incarnation`);
  if (record.silent_ms !== undefined) checkMs(record.silent_ms, `${where} silent_ms`);
}

function validateUpdate(update: Gossip, memberCount: number, where: string): void {
  check(Object.hasOwn(UPDATE_KIND_CODES, update.kind), `${where} has unknown kind ${String(update.kind)}`);
  checkMember(update.member, memberCount, `${where} member`);
  checkIncarnation(update.incarnation, `${where} incarnation`);
  if (update.kind === 'readiness') {
    check(isInteger(update.version, 0, U32_MAX), `${where} version ${update.version} is not a u32`);
    const seen = new Set<number>();
    for (const [name, systems] of [
      ['failing', update.failing],
      ['holding', update.holding],
      ['fresh', update.fresh],
    ] as const) {
      systems.forEach((system, i) => {
        check(
          isInteger(system, 0, READINESS_SYSTEMS_MAX - 1),
          `${where} ${name} system ${system} is not below ${READINESS_SYSTEMS_MAX}`,
        );
        if (i > 0) check(system > systems[i - 1]!, `${where} ${name} systems are not sorted and unique`);
        check(!seen.has(system), `${where} system ${system} is in two sets`);
      });
      for (const system of systems) seen.add(system);
    }
    return;
  }
  if ((update.kind === 'down' || update.kind === 'left') && update.silent_ms !== undefined)
    checkMs(update.silent_ms, `${where} silent_ms`);
  if (update.kind !== 'suspect') return;
  // No count limit: a list is chosen only while smaller than the bitmap, so below 4097 entries.
  const reporters = update.reporters;
  reporters.forEach((reporter, i) => {
    checkMember(reporter, memberCount, `${where} reporter`);
    if (i > 0) check(reporter > reporters[i - 1]!, `${where} reporters are not sorted and unique`);
  });
}

function check(condition: boolean, detail: string): asserts condition {
  if (!condition) throw new RangeError(`encodeBody: ${detail}`);
}

function checkMember(value: number, memberCount: number, field: string): void {
  check(isInteger(value, 0, memberCount - 1), `${field} ${value} is not a server index below ${memberCount}`);
}

function checkIncarnation(value: number, field: string): void {
  check(Number.isSafeInteger(value) && value >= 0, `${field} ${value} is not a safe non-negative integer`);
}

function checkMs(value: number, field: string): void {
  check(isInteger(value, 0, U32_MAX), `${field} ${value} is not a u32`);
}

/** The flags byte of a ping: the caller's flags, and PING_FLAG_ABOUT when it carries `about`. */
function pingFlags(message: Extract<Message, { type: 'ping' }>): number {
  return message.flags | (message.about !== undefined ? PING_FLAG_ABOUT : 0);
}

function checkSeq(value: number): void {
  check(isInteger(value, 0, U32_MAX), `seq ${value} is not a u32`);
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function isMemberCount(value: number): boolean {
  return isInteger(value, 1, MEMBER_COUNT_MAX);
}

export type DecodeBodyResult =
  | { ok: true; message: Message }
  | { ok: false; reason: 'malformed_body'; detail: string };

/**
 * Decodes a body for a cluster of `memberCount` servers. Never throws: anything that is not
 * exactly one valid message (truncation, trailing bytes, an unknown number, an index that is
 * not a member, reporters out of order) is `malformed_body` with a detail naming the field.
 */
export function decodeBody(bytes: Uint8Array, memberCount: number): DecodeBodyResult {
  if (!isMemberCount(memberCount)) {
    return malformed(`memberCount ${memberCount} is not an integer in 1..${MEMBER_COUNT_MAX}`);
  }
  const reader = new ByteReader(bytes);
  const typeCode = reader.u8('message type');
  const type = MESSAGE_TYPE_BY_CODE.get(typeCode);
  if (reader.failure !== undefined) return malformed(reader.failure);
  if (type === undefined) return malformed(`unknown message type ${typeCode}`);

  const incarnation = reader.u64Safe('incarnation');
  let message: Message;
  switch (type) {
    case 'ping': {
      const seq = reader.u32('ping seq');
      const target = readMember(reader, memberCount, 'ping target');
      const flags = reader.u8('ping flags');
      if ((flags & ~PING_FLAGS_KNOWN) !== 0) reader.fail(`ping flags ${flags} have unknown bits`);
      const ping: Extract<Message, { type: 'ping' }> = {
        type,
        incarnation,
        seq,
        target,
        flags: flags & ~PING_FLAG_ABOUT,
        updates: [],
      };
      if ((flags & PING_FLAG_ABOUT) !== 0) {
        const member = readMember(reader, memberCount, 'ping about');
        ping.about = { member, incarnation: reader.u64Safe('ping about incarnation') };
      }
      message = ping;
      break;
    }
    case 'ping_req': {
      const seq = reader.u32('ping_req seq');
      const target = readMember(reader, memberCount, 'ping_req target');
      message = { type, incarnation, seq, target, updates: [] };
      break;
    }
    case 'ack': {
      const seq = reader.u32('ack seq');
      const flags = reader.u8('ack flags');
      if ((flags & ~ACK_FLAGS_KNOWN) !== 0) reader.fail(`ack flags ${flags} have unknown bits`);
      const ack: Extract<Message, { type: 'ack' }> = {
        type,
        incarnation,
        seq,
        grant: (flags & ACK_FLAG_GRANT) !== 0,
        updates: [],
      };
      if ((flags & ACK_FLAG_GONE) !== 0) ack.gone = true;
      if ((flags & ACK_FLAG_HEARD) !== 0) ack.heard_ago_ms = reader.u32('ack heard_ago_ms');
      message = ack;
      break;
    }
    case 'nack':
      message = { type, incarnation, seq: reader.u32('nack seq'), updates: [] };
      break;
    case 'gossip':
      message = { type, incarnation, updates: [] };
      break;
    case 'state':
      message = { type, incarnation, records: readRecords(reader, memberCount), updates: [] };
      break;
    case 'released':
    case 'claim':
    case 'claim_reply': {
      const id = reader.u32(`${type} id`);
      message = { type, incarnation, id, items: readReleasedItems(reader, type), updates: [] };
      break;
    }
    case 'released_ack':
      message = { type, incarnation, id: reader.u32('released_ack id'), updates: [] };
      break;
    case 'boot_hint':
      message = { type, incarnation, boot_id: reader.u64Safe('boot_hint boot id'), updates: [] };
      break;
    case 'duplicate': {
      const member = readMember(reader, memberCount, 'duplicate member');
      const kept = reader.u64Safe('duplicate kept boot');
      const newcomer = reader.u64Safe('duplicate newcomer boot');
      const kept_at = readText(reader, 'duplicate kept_at', ADDRESS_TEXT_BYTES_MAX);
      const newcomer_at = readText(reader, 'duplicate newcomer_at', ADDRESS_TEXT_BYTES_MAX);
      if (reader.failure === undefined && kept === newcomer)
        reader.fail('duplicate kept and newcomer boots are equal');
      message = { type, incarnation, member, kept, newcomer, kept_at, newcomer_at, updates: [] };
      break;
    }
  }
  message.updates = readUpdates(reader, memberCount);
  reader.expectEnd('the message');
  if (reader.failure !== undefined) return malformed(reader.failure);
  return { ok: true, message };
}

function malformed(detail: string): DecodeBodyResult {
  return { ok: false, reason: 'malformed_body', detail };
}

function readMember(reader: ByteReader, memberCount: number, field: string): number {
  const index = reader.u16(field);
  if (index >= memberCount) reader.fail(`${field} ${index} is not a server index below ${memberCount}`);
  return index;
}

/**
 * Reads a u16 count and checks that the bytes left can hold that many items of at least
 * `itemBytes` each, so a forged count cannot make the decoder loop or allocate for nothing.
 */
function readCount(reader: ByteReader, field: string, itemBytes: number): number {
  const count = reader.u16(field);
  if (count * itemBytes > reader.remaining) {
    reader.fail(`${field} ${count} needs ${count * itemBytes} bytes, ${reader.remaining} left`);
    return 0;
  }
  return count;
}

function readRecords(reader: ByteReader, memberCount: number): StateRecord[] {
  const count = readCount(reader, 'state record count', STATE_RECORD_BYTES);
  const records: StateRecord[] = [];
  for (let i = 0; i < count && reader.failure === undefined; i++) {
    const member = readMember(reader, memberCount, `record ${i} member`);
    const stateCode = reader.u8(`record ${i} state`);
    const state = MEMBER_STATE_BY_CODE.get(stateCode);
    if (state === undefined) reader.fail(`record ${i} has unknown state ${stateCode}`);
    const incarnation = reader.u64Safe(`record ${i} incarnation`);
    const silent_ms = reader.u32(`record ${i} silent_ms`);
    if (state === 'down' || state === 'left') records.push({ member, state, incarnation, silent_ms });
    else if (state !== undefined) records.push({ member, state, incarnation });
  }
  return records;
}

function readReleasedItems(reader: ByteReader, type: 'released' | 'claim' | 'claim_reply'): ReleasedItem[] {
  const count = readCount(reader, `${type} item count`, 2 * TEXT_LENGTH_BYTES);
  const items: ReleasedItem[] = [];
  for (let i = 0; i < count && reader.failure === undefined; i++) {
    const system = readText(reader, `${type} item ${i} system`);
    const item = readText(reader, `${type} item ${i}`);
    if (reader.failure === undefined) items.push({ system, item });
  }
  return items;
}

function readText(reader: ByteReader, field: string, bytesMax = U16_MAX): string {
  const length = reader.u16(`${field} length`);
  if (length > bytesMax) {
    reader.fail(`${field} of ${length} bytes is longer than ${bytesMax}`);
    return '';
  }
  const bytes = reader.bytes(length, field);
  if (reader.failure !== undefined) return '';
  try {
    return utf8Strict.decode(bytes);
  } catch {
    reader.fail(`${field} is not UTF-8`);
    return '';
  }
}

function readUpdates(reader: ByteReader, memberCount: number): Gossip[] {
  const count = readCount(reader, 'update count', UPDATE_BYTES_MIN);
  const updates: Gossip[] = [];
  for (let i = 0; i < count && reader.failure === undefined; i++) {
    const kindCode = reader.u8(`update ${i} kind`);
    const kind = UPDATE_KIND_BY_CODE.get(kindCode);
    if (kind === undefined) {
      reader.fail(`update ${i} has unknown kind ${kindCode}`);
      break;
    }
    const member = readMember(reader, memberCount, `update ${i} member`);
    const incarnation = reader.u64Safe(`update ${i} incarnation`);
    if (kind === 'suspect') {
      const reporters = readReporters(reader, memberCount, `update ${i} reporters`);
      updates.push({ kind, member, incarnation, reporters });
    } else if (kind === 'down' || kind === 'left') {
      updates.push({ kind, member, incarnation, silent_ms: reader.u32(`update ${i} silent_ms`) });
    } else if (kind === 'readiness') {
      updates.push(readReadiness(reader, member, incarnation, `update ${i}`));
    } else {
      updates.push({ kind, member, incarnation });
    }
  }
  return updates;
}

function readReadiness(
  reader: ByteReader,
  member: number,
  incarnation: number,
  where: string,
): ReadinessUpdate {
  const version = reader.u32(`${where} version`);
  const failing = readSystems(reader, `${where} failing systems`);
  const holding = readSystems(reader, `${where} holding systems`);
  const fresh = readSystems(reader, `${where} fresh systems`);
  const all = [...failing, ...holding, ...fresh];
  const twice = all.find((system, i) => all.indexOf(system) !== i);
  if (twice !== undefined) reader.fail(`${where} system ${twice} is in two sets`);
  return { kind: 'readiness', member, incarnation, version, failing, holding, fresh };
}

/** A bitmap of system indexes; only the smallest encoding is valid, so it round-trips exactly. */
function readSystems(reader: ByteReader, field: string): number[] {
  const length = reader.u16(`${field} length`);
  const lengthMax = READINESS_SYSTEMS_MAX / BITS_PER_BYTE;
  if (length > lengthMax) {
    reader.fail(`${field} bitmap of ${length} bytes is longer than ${lengthMax}`);
    return [];
  }
  const bitmap = reader.bytes(length, `${field} bitmap`);
  if (reader.failure !== undefined) return [];
  if (length > 0 && bitmap[length - 1] === 0) reader.fail(`${field} bitmap ends in a zero byte`);
  const systems: number[] = [];
  bitmap.forEach((byte, byteIndex) => {
    for (let bit = 0; bit < BITS_PER_BYTE; bit++)
      if ((byte & (1 << bit)) !== 0) systems.push(byteIndex * BITS_PER_BYTE + bit);
  });
  return systems;
}

function readReporters(reader: ByteReader, memberCount: number, field: string): number[] {
  const formatCode = reader.u8(`${field} format`);
  const format = REPORTERS_FORMAT_BY_CODE.get(formatCode);
  if (reader.failure !== undefined) return [];
  if (format === undefined) {
    reader.fail(`${field} have unknown format ${formatCode}`);
    return [];
  }
  return format === 'list'
    ? readReporterList(reader, memberCount, field)
    : readReporterBitmap(reader, memberCount, field);
}

function readReporterList(reader: ByteReader, memberCount: number, field: string): number[] {
  const count = readCount(reader, `${field} count`, MEMBER_BYTES);
  const reporters: number[] = [];
  for (let i = 0; i < count && reader.failure === undefined; i++) {
    const reporter = readMember(reader, memberCount, `${field} entry`);
    const previous = reporters[reporters.length - 1];
    if (previous !== undefined && reporter <= previous) reader.fail(`${field} are not sorted and unique`);
    reporters.push(reporter);
  }
  return reporters;
}

function readReporterBitmap(reader: ByteReader, memberCount: number, field: string): number[] {
  const length = reader.u16(`${field} bitmap length`);
  const lengthMax = Math.ceil(memberCount / BITS_PER_BYTE);
  if (length > lengthMax) {
    reader.fail(`${field} bitmap of ${length} bytes is longer than ${lengthMax} for ${memberCount} servers`);
    return [];
  }
  const bitmap = reader.bytes(length, `${field} bitmap`);
  const reporters: number[] = [];
  bitmap.forEach((byte, byteIndex) => {
    for (let bit = 0; bit < BITS_PER_BYTE; bit++) {
      if ((byte & (1 << bit)) !== 0) reporters.push(byteIndex * BITS_PER_BYTE + bit);
    }
  });
  // Only the last byte can hold bits past the member count, so the largest index tells.
  const last = reporters[reporters.length - 1];
  if (last !== undefined && last >= memberCount) {
    reader.fail(`${field} bitmap names server index ${last}, not below ${memberCount}`);
  }
  return reporters;
}
