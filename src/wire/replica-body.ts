/**
 * The binary codec of the config replica's bodies (the plaintext inside a packet; see
 * docs/CONSENSUS.md, "On the wire"). A body carries either a whole replica message or one chunk
 * of a message too large for one packet (replica-split.ts cuts, replica-reassembly.ts joins).
 *
 *   body    = type u8 13 (replica), message
 *           | type u8 14 (replica_chunk), digest 16 bytes, total u32, index u16, piece
 *   message = kind u8, from name, term u64, fields
 *   fields  = pre_vote, vote: last_index u64, last_term u64
 *           | pre_vote_reply, vote_reply: granted u8 (0 or 1)
 *           | append: prev_index u64, prev_term u64, commit u64, u16 count,
 *             count x (term u64, change json)       entry i has index prev_index + 1 + i
 *           | append_reply: success u8 (0 or 1), match_index u64 (1) or next_hint u64 (0)
 *           | snapshot: version u64, index u64, term u64, config json
 *           | snapshot_reply: match_index u64
 *           | change_forward: term u64, request u64, again u8 (0 or 1), change json
 *           | change_reply: request u64, answer
 *   answer  = kind u8, committed: version u64
 *           | no_op: version u64, reason text | invalid: u16 count, count x issue
 *           | conflict, no_quorum, timeout: message text | unknown_server: server name, message text
 *   issue   = path text, message text, flags u8 (1: line u32 follows, 2: column u32 follows)
 *   name    = u8 byte length, UTF-8: a server id, by the config's rules for names (255 bytes)
 *   text    = u16 byte length, UTF-8
 *   json    = u32 byte length, UTF-8 JSON text
 *   chunk   = the message's encoding cut in pieces of REPLICA_CHUNK_PIECE_BYTES (the last shorter),
 *             `index` the piece's number, `total` the encoding's length, `digest` the first 16
 *             bytes of its SHA-256 (the transfer's id: a message sent again merges with its
 *             first copy)
 *
 * Why JSON inside a binary body: a change and a config are documents in the config file's JSON
 * shape, open-ended (a system's `config` nests 32 levels), stored as JSON in every log and state
 * file, and checked by the config's own code from parsed JSON (parseChange, the config file's
 * validation). A binary form would copy the config's schema into the wire format and drift from
 * it. Every field of flip's own (terms, indexes, ids, answers) is binary, as in body.ts.
 *
 * The numbers of body types, kinds and answers are in codes.ts and are protocol.
 *
 * `encodeReplicaMessage` throws a RangeError on a message the replica should never build (a
 * programmer error); every decoder here never throws: the input comes from the network. A
 * decoded change or config is the sender's JSON value itself, checked, never a rewrite of it, so
 * a follower stores exactly the leader's entry.
 */
import { createHash } from 'node:crypto';
import { configIssues } from '../changes/apply.js';
import { parseChange } from '../changes/index.js';
import { CHANGE_DEPTH_MAX } from '../changes/parse-change.js';
import { type ConfigIssue, formatIssue } from '../config/errors.js';
import { NAME_BYTES_MAX } from '../config/limits.js';
import { RESERVED_NAMES, textProblem } from '../config/text-rules.js';
import { type LogChange, parseLogChange } from '../consensus/log-change.js';
import type { Entry, RaftMessage } from '../consensus/messages.js';
import type { ChangeAnswer } from '../replica/answer.js';
import type { ReplicaMessage } from '../replica/messages.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import {
  CHANGE_ANSWER_BY_CODE,
  CHANGE_ANSWER_CODES,
  REPLICA_BODY_BY_CODE,
  REPLICA_BODY_CODES,
  REPLICA_KIND_BY_CODE,
  REPLICA_KIND_CODES,
} from './codes.js';
import type { DropReason } from './drop-reasons.js';
import { BODY_BYTES_MAX } from './layout.js';
import {
  ANSWER_ISSUES_MAX,
  REPLICA_ENTRIES_MAX,
  REPLICA_MESSAGE_BYTES_MAX,
  U16_MAX,
  U32_MAX,
} from './limits.js';
import { ByteReader } from './reader.js';
import { ByteWriter } from './writer.js';

const TYPE_BYTES = 1;
const KIND_BYTES = 1;
const U64_BYTES = 8;
const U32_BYTES = 4;
const U16_BYTES = 2;
const FLAG_BYTES = 1;
const NAME_LENGTH_BYTES = 1;
const TEXT_LENGTH_BYTES = 2;
const JSON_LENGTH_BYTES = 4;
const ISSUE_FLAG_LINE = 1;
const ISSUE_FLAG_COLUMN = 2;

/** The digest that names a chunked transfer: SHA-256, cut to 128 bits (collisions are not a risk here). */
export const REPLICA_DIGEST_BYTES = 16;
const CHUNK_HEADER_BYTES = TYPE_BYTES + REPLICA_DIGEST_BYTES + U32_BYTES + U16_BYTES;
/** The piece every chunk but the last carries: what a body leaves after the chunk's header. */
export const REPLICA_CHUNK_PIECE_BYTES = BODY_BYTES_MAX - CHUNK_HEADER_BYTES;
/** The largest message encoding that goes in one body, whole (after the body type byte). */
export const REPLICA_WHOLE_BYTES_MAX = BODY_BYTES_MAX - TYPE_BYTES;
/**
 * The largest config a snapshot can carry, as JSON bytes (16,776,923: 16 MiB less the snapshot's
 * fields with the longest server id). Larger configs cannot be sent to a follower that lags.
 */
export const SNAPSHOT_CONFIG_BYTES_MAX =
  REPLICA_MESSAGE_BYTES_MAX -
  (KIND_BYTES + NAME_LENGTH_BYTES + NAME_BYTES_MAX + 4 * U64_BYTES + JSON_LENGTH_BYTES);

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** One piece of a replica message too large for one packet; see the layout above. */
export interface ReplicaChunk {
  digest: Uint8Array;
  /** The length of the whole message's encoding. */
  total: number;
  /** The piece's number: it starts at index x REPLICA_CHUNK_PIECE_BYTES. */
  index: number;
  piece: Uint8Array;
}

/** What a replica body carries. */
export type ReplicaBody =
  | { type: 'replica'; message: ReplicaMessage }
  | { type: 'replica_chunk'; chunk: ReplicaChunk };

/** The drop reasons a replica decoder gives (drop-reasons.ts). */
export type ReplicaDropReason = Extract<
  DropReason,
  'malformed_replica' | 'invalid_replica_content' | 'bad_chunk' | 'chunk_digest'
>;

/** A refusal: the reason to count, and a detail naming the field, for a debug log. */
export interface ReplicaDrop {
  ok: false;
  reason: ReplicaDropReason;
  detail: string;
}

export type DecodeReplicaResult = { ok: true; message: ReplicaMessage } | ReplicaDrop;
export type DecodeReplicaBodyResult = { ok: true; body: ReplicaBody } | ReplicaDrop;

/** The number of pieces of a message encoding of `total` bytes. */
export function chunkCount(total: number): number {
  return Math.ceil(total / REPLICA_CHUNK_PIECE_BYTES);
}

/** The length of piece `index` of an encoding of `total` bytes. */
export function pieceLength(total: number, index: number): number {
  return Math.min(REPLICA_CHUNK_PIECE_BYTES, total - index * REPLICA_CHUNK_PIECE_BYTES);
}

/** The digest of a message encoding: the first REPLICA_DIGEST_BYTES of its SHA-256. */
export function replicaDigest(encoding: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(encoding).digest().subarray(0, REPLICA_DIGEST_BYTES));
}

// ---- encoding -------------------------------------------------------------------------------

/** The JSON parts of a message, encoded once: they size the message and are then written. */
interface JsonParts {
  entries: Uint8Array[];
  document: Uint8Array | undefined;
}

function jsonBytes(value: unknown, field: string): Uint8Array {
  const text = JSON.stringify(value);
  check(typeof text === 'string', `${field} is not JSON`);
  return utf8.encode(text);
}

function jsonParts(message: ReplicaMessage): JsonParts {
  switch (message.kind) {
    case 'append':
      return {
        entries: message.entries.map((e, i) => jsonBytes(e.change, `entry ${i} change`)),
        document: undefined,
      };
    case 'snapshot':
      return { entries: [], document: jsonBytes(message.snapshot.config, 'snapshot config') };
    case 'change_forward':
      return { entries: [], document: jsonBytes(message.change, 'change_forward change') };
    default:
      return { entries: [], document: undefined };
  }
}

/** The encoded size of one append entry whose change is `json` bytes of JSON. */
export function entrySize(json: Uint8Array): number {
  return U64_BYTES + JSON_LENGTH_BYTES + json.length;
}

function nameSize(name: string): number {
  return NAME_LENGTH_BYTES + utf8.encode(name).length;
}

function textSize(text: string): number {
  return TEXT_LENGTH_BYTES + utf8.encode(text).length;
}

function answerSize(answer: ChangeAnswer): number {
  switch (answer.kind) {
    case 'committed':
      return KIND_BYTES + U64_BYTES;
    case 'no_op':
      return KIND_BYTES + U64_BYTES + textSize(answer.reason);
    case 'invalid': {
      let size = KIND_BYTES + U16_BYTES;
      for (const issue of answer.issues)
        size +=
          textSize(issue.path) +
          textSize(issue.message) +
          FLAG_BYTES +
          (issue.line !== undefined ? U32_BYTES : 0) +
          (issue.column !== undefined ? U32_BYTES : 0);
      return size;
    }
    case 'unknown_server':
      return KIND_BYTES + nameSize(answer.server) + textSize(answer.message);
    case 'conflict':
    case 'no_quorum':
    case 'timeout':
      return KIND_BYTES + textSize(answer.message);
  }
}

/** The encoded size of a message without its append entries (all of it for other kinds). */
function fixedSize(message: ReplicaMessage, parts: JsonParts): number {
  const head = KIND_BYTES + nameSize(message.from);
  switch (message.kind) {
    case 'pre_vote':
    case 'vote':
      return head + 3 * U64_BYTES;
    case 'pre_vote_reply':
    case 'vote_reply':
      return head + U64_BYTES + FLAG_BYTES;
    case 'append':
      return head + 4 * U64_BYTES + U16_BYTES;
    case 'append_reply':
      return head + U64_BYTES + FLAG_BYTES + U64_BYTES;
    case 'snapshot':
      return head + 4 * U64_BYTES + JSON_LENGTH_BYTES + parts.document!.length;
    case 'snapshot_reply':
      return head + 2 * U64_BYTES;
    case 'change_forward':
      return head + 2 * U64_BYTES + FLAG_BYTES + JSON_LENGTH_BYTES + parts.document!.length;
    case 'change_reply':
      return head + U64_BYTES + answerSize(message.answer);
  }
}

/**
 * The sizes an append splitter needs: the encoding of `message` with no entries, and of each
 * entry (replica-split.ts). The message is checked as encodeReplicaMessage checks it.
 */
export function appendSizes(message: Extract<RaftMessage, { kind: 'append' }>): {
  fixed: number;
  entries: number[];
} {
  validateMessage(message);
  const parts = jsonParts(message);
  return { fixed: fixedSize(message, parts), entries: parts.entries.map(entrySize) };
}

/** The exact length of encodeReplicaMessage(message). */
export function replicaMessageSize(message: ReplicaMessage): number {
  validateMessage(message);
  const parts = jsonParts(message);
  return fixedSize(message, parts) + parts.entries.reduce((sum, json) => sum + entrySize(json), 0);
}

/**
 * Encodes a replica message (without a body type: a `replica` body or the pieces of a chunked
 * transfer carry these bytes). Throws a RangeError for a message the replica never builds: a
 * number that is not a safe non-negative integer, a server id the config would refuse, entries
 * whose indexes do not follow `prev_index`, a text longer than its length prefix allows.
 */
export function encodeReplicaMessage(message: ReplicaMessage): Uint8Array {
  validateMessage(message);
  const parts = jsonParts(message);
  const size = fixedSize(message, parts) + parts.entries.reduce((sum, json) => sum + entrySize(json), 0);
  const writer = new ByteWriter(size);
  writer.u8(REPLICA_KIND_CODES[message.kind]);
  writeName(writer, message.from);
  switch (message.kind) {
    case 'pre_vote':
    case 'vote':
      writer.u64(message.term);
      writer.u64(message.last_index);
      writer.u64(message.last_term);
      break;
    case 'pre_vote_reply':
    case 'vote_reply':
      writer.u64(message.term);
      writer.u8(message.granted ? 1 : 0);
      break;
    case 'append':
      writer.u64(message.term);
      writer.u64(message.prev_index);
      writer.u64(message.prev_term);
      writer.u64(message.commit);
      writer.u16(message.entries.length);
      message.entries.forEach((entry, i) => {
        writer.u64(entry.term);
        writeJson(writer, parts.entries[i]!);
      });
      break;
    case 'append_reply':
      writer.u64(message.term);
      writer.u8(message.success ? 1 : 0);
      writer.u64(message.success ? message.match_index : message.next_hint);
      break;
    case 'snapshot':
      writer.u64(message.term);
      writer.u64(message.snapshot.version);
      writer.u64(message.snapshot.index);
      writer.u64(message.snapshot.term);
      writeJson(writer, parts.document!);
      break;
    case 'snapshot_reply':
      writer.u64(message.term);
      writer.u64(message.match_index);
      break;
    case 'change_forward':
      writer.u64(message.term);
      writer.u64(message.request);
      writer.u8(message.again ? 1 : 0);
      writeJson(writer, parts.document!);
      break;
    case 'change_reply':
      writer.u64(message.request);
      writeAnswer(writer, message.answer);
      break;
  }
  return writer.finish();
}

/** Encodes a replica body (the plaintext a packet carries). Throws as encodeReplicaMessage does. */
export function encodeReplicaBody(body: ReplicaBody): Uint8Array {
  if (body.type === 'replica') {
    const encoding = encodeReplicaMessage(body.message);
    const bytes = new Uint8Array(TYPE_BYTES + encoding.length);
    bytes[0] = REPLICA_BODY_CODES.replica;
    bytes.set(encoding, TYPE_BYTES);
    return bytes;
  }
  const { digest, total, index, piece } = body.chunk;
  const problem = chunkProblem(total, index, piece.length);
  check(problem === undefined, `chunk: ${problem}`);
  check(digest.length === REPLICA_DIGEST_BYTES, `chunk digest of ${digest.length} bytes`);
  const writer = new ByteWriter(CHUNK_HEADER_BYTES + piece.length);
  writer.u8(REPLICA_BODY_CODES.replica_chunk);
  writer.raw(digest);
  writer.u32(total);
  writer.u16(index);
  writer.raw(piece);
  return writer.finish();
}

function writeName(writer: ByteWriter, name: string): void {
  const bytes = utf8.encode(name);
  writer.u8(bytes.length);
  writer.raw(bytes);
}

function writeText(writer: ByteWriter, text: string): void {
  const bytes = utf8.encode(text);
  writer.u16(bytes.length);
  writer.raw(bytes);
}

function writeJson(writer: ByteWriter, json: Uint8Array): void {
  writer.u32(json.length);
  writer.raw(json);
}

function writeAnswer(writer: ByteWriter, answer: ChangeAnswer): void {
  writer.u8(CHANGE_ANSWER_CODES[answer.kind]);
  switch (answer.kind) {
    case 'committed':
      writer.u64(answer.version);
      return;
    case 'no_op':
      writer.u64(answer.version);
      writeText(writer, answer.reason);
      return;
    case 'invalid':
      writer.u16(answer.issues.length);
      for (const issue of answer.issues) {
        writeText(writer, issue.path);
        writeText(writer, issue.message);
        writer.u8(
          (issue.line !== undefined ? ISSUE_FLAG_LINE : 0) |
            (issue.column !== undefined ? ISSUE_FLAG_COLUMN : 0),
        );
        if (issue.line !== undefined) writer.u32(issue.line);
        if (issue.column !== undefined) writer.u32(issue.column);
      }
      return;
    case 'unknown_server':
      writeName(writer, answer.server);
      writeText(writer, answer.message);
      return;
    case 'conflict':
    case 'no_quorum':
    case 'timeout':
      writeText(writer, answer.message);
      return;
  }
}

function validateMessage(message: ReplicaMessage): void {
  check(
    Object.hasOwn(REPLICA_KIND_CODES, message.kind),
    `unknown replica message kind ${String(message.kind)}`,
  );
  checkName(message.from, `${message.kind} from`);
  if (message.kind !== 'change_reply') checkCount(message.term, 'term');
  switch (message.kind) {
    case 'pre_vote':
    case 'vote':
      checkCount(message.last_index, `${message.kind} last_index`);
      checkCount(message.last_term, `${message.kind} last_term`);
      break;
    case 'pre_vote_reply':
    case 'vote_reply':
      check(typeof message.granted === 'boolean', `${message.kind} granted is not a boolean`);
      break;
    case 'append':
      checkCount(message.prev_index, 'append prev_index');
      checkCount(message.prev_term, 'append prev_term');
      checkCount(message.commit, 'append commit');
      check(
        message.entries.length <= REPLICA_ENTRIES_MAX,
        `${message.entries.length} entries exceed ${REPLICA_ENTRIES_MAX}`,
      );
      message.entries.forEach((entry, i) => {
        check(
          entry.index === message.prev_index + 1 + i,
          `entry ${i} has index ${entry.index}, not prev_index + ${i + 1}`,
        );
        checkCount(entry.term, `entry ${i} term`);
      });
      break;
    case 'append_reply':
      checkCount(message.success ? message.match_index : message.next_hint, 'append_reply index');
      break;
    case 'snapshot':
      checkCount(message.snapshot.version, 'snapshot version');
      checkCount(message.snapshot.index, 'snapshot index');
      checkCount(message.snapshot.term, 'snapshot term');
      break;
    case 'snapshot_reply':
      checkCount(message.match_index, 'snapshot_reply match_index');
      break;
    case 'change_forward':
      checkCount(message.request, 'change_forward request');
      check(typeof message.again === 'boolean', 'change_forward again is not a boolean');
      break;
    case 'change_reply':
      checkCount(message.request, 'change_reply request');
      validateAnswer(message.answer);
      break;
  }
}

function validateAnswer(answer: ChangeAnswer): void {
  check(Object.hasOwn(CHANGE_ANSWER_CODES, answer.kind), `unknown answer kind ${String(answer.kind)}`);
  switch (answer.kind) {
    case 'committed':
    case 'no_op':
      checkCount(answer.version, `${answer.kind} version`);
      if (answer.kind === 'no_op') checkText(answer.reason, 'no_op reason');
      return;
    case 'invalid':
      check(
        answer.issues.length <= ANSWER_ISSUES_MAX,
        `${answer.issues.length} issues exceed ${ANSWER_ISSUES_MAX}`,
      );
      answer.issues.forEach((issue, i) => {
        checkText(issue.path, `issue ${i} path`);
        checkText(issue.message, `issue ${i} message`);
        if (issue.line !== undefined)
          check(isInteger(issue.line, 0, U32_MAX), `issue ${i} line is not a u32`);
        if (issue.column !== undefined)
          check(isInteger(issue.column, 0, U32_MAX), `issue ${i} column is not a u32`);
      });
      return;
    case 'unknown_server':
      checkName(answer.server, 'unknown_server server');
      checkText(answer.message, 'unknown_server message');
      return;
    case 'conflict':
    case 'no_quorum':
    case 'timeout':
      checkText(answer.message, `${answer.kind} message`);
      return;
  }
}

function check(condition: boolean, detail: string): asserts condition {
  if (!condition) throw new RangeError(`encodeReplicaMessage: ${detail}`);
}

function checkCount(value: number, field: string): void {
  check(Number.isSafeInteger(value) && value >= 0, `${field} ${value} is not a safe non-negative integer`);
}

function checkName(name: string, field: string): void {
  const problem = typeof name === 'string' ? textProblem(name, 'name', NAME_BYTES_MAX) : 'is not a string';
  check(problem === undefined, `${field} ${problem}`);
}

function checkText(text: string, field: string): void {
  check(
    typeof text === 'string' && utf8.encode(text).length <= U16_MAX,
    `${field} is longer than ${U16_MAX} bytes`,
  );
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

/**
 * Why a chunk's numbers cannot be those of a valid transfer, or undefined. Every piece but the
 * last is full, so each chunk can be checked alone; a message that fits one body whole is never
 * chunked.
 */
function chunkProblem(total: number, index: number, pieceBytes: number): string | undefined {
  if (total > REPLICA_MESSAGE_BYTES_MAX)
    return `a transfer of ${total} bytes is larger than ${REPLICA_MESSAGE_BYTES_MAX}`;
  if (total <= REPLICA_WHOLE_BYTES_MAX)
    return `a transfer of ${total} bytes fits one body (${REPLICA_WHOLE_BYTES_MAX}) and is never chunked`;
  const count = chunkCount(total);
  if (!isInteger(index, 0, count - 1)) return `piece ${index} of a transfer of ${count} pieces`;
  const expected = pieceLength(total, index);
  if (pieceBytes !== expected) return `piece ${index} of ${pieceBytes} bytes, not ${expected}`;
  return undefined;
}

// ---- decoding -------------------------------------------------------------------------------

function malformed(detail: string): ReplicaDrop {
  return { ok: false, reason: 'malformed_replica', detail };
}

function invalidContent(detail: string): ReplicaDrop {
  return { ok: false, reason: 'invalid_replica_content', detail };
}

/**
 * Decodes a replica body (its first byte must be a REPLICA_BODY_CODES number). Never throws. A
 * whole message is decoded as decodeReplicaMessage does; a chunk is checked alone (its size, its
 * number, its piece's length: `bad_chunk`) and is for a ReplicaReassembler.
 */
export function decodeReplicaBody(bytes: Uint8Array): DecodeReplicaBodyResult {
  const reader = new ByteReader(bytes);
  const code = reader.u8('body type');
  const type = REPLICA_BODY_BY_CODE.get(code);
  if (reader.failure !== undefined) return malformed(reader.failure);
  if (type === undefined) return malformed(`body type ${code} is not a replica body`);
  if (type === 'replica') {
    const decoded = decodeReplicaMessage(bytes.subarray(TYPE_BYTES));
    return decoded.ok ? { ok: true, body: { type, message: decoded.message } } : decoded;
  }
  const digest = reader.bytes(REPLICA_DIGEST_BYTES, 'chunk digest');
  const total = reader.u32('chunk total');
  const index = reader.u16('chunk index');
  if (reader.failure !== undefined) return { ok: false, reason: 'bad_chunk', detail: reader.failure };
  const piece = bytes.subarray(reader.offset);
  const problem = chunkProblem(total, index, piece.length);
  if (problem !== undefined) return { ok: false, reason: 'bad_chunk', detail: problem };
  return { ok: true, body: { type, chunk: { digest: digest.slice(), total, index, piece } } };
}

/** A JSON part read from the wire, checked once every binary field is known to be right. */
interface PendingJson {
  field: string;
  bytes: Uint8Array;
}

/**
 * Decodes a replica message's encoding. Never throws: anything that is not exactly one valid
 * message is `malformed_replica` (with the field) or, when only its change or config fails the
 * config's own checks, `invalid_replica_content` (with the config's message).
 */
export function decodeReplicaMessage(bytes: Uint8Array): DecodeReplicaResult {
  if (bytes.length > REPLICA_MESSAGE_BYTES_MAX)
    return malformed(`a message of ${bytes.length} bytes is larger than ${REPLICA_MESSAGE_BYTES_MAX}`);
  const reader = new ByteReader(bytes);
  const code = reader.u8('replica kind');
  const kind = REPLICA_KIND_BY_CODE.get(code);
  if (reader.failure !== undefined) return malformed(reader.failure);
  if (kind === undefined) return malformed(`unknown replica message kind ${code}`);
  const from = readName(reader, `${kind} from`);
  const pending: PendingJson[] = [];
  let build: (json: unknown[]) => ReplicaMessage | ReplicaDrop;
  switch (kind) {
    case 'pre_vote':
    case 'vote': {
      const term = reader.u64Safe(`${kind} term`);
      const last_index = reader.u64Safe(`${kind} last_index`);
      const last_term = reader.u64Safe(`${kind} last_term`);
      if (last_term > term) reader.fail(`${kind} last_term ${last_term} is after its term ${term}`);
      if (last_index === 0 && last_term !== 0) reader.fail(`${kind} last_term ${last_term} of an empty log`);
      build = () => ({ kind, from, term, last_index, last_term });
      break;
    }
    case 'pre_vote_reply':
    case 'vote_reply': {
      const term = reader.u64Safe(`${kind} term`);
      const granted = readFlag(reader, `${kind} granted`);
      build = () => ({ kind, from, term, granted });
      break;
    }
    case 'append': {
      const term = reader.u64Safe('append term');
      const prev_index = reader.u64Safe('append prev_index');
      const prev_term = reader.u64Safe('append prev_term');
      const commit = reader.u64Safe('append commit');
      if (prev_term > term) reader.fail(`append prev_term ${prev_term} is after its term ${term}`);
      if (prev_index === 0 && prev_term !== 0) reader.fail(`append prev_term ${prev_term} at index 0`);
      const count = readCount(
        reader,
        'append entry count',
        U64_BYTES + JSON_LENGTH_BYTES,
        REPLICA_ENTRIES_MAX,
      );
      if (!Number.isSafeInteger(prev_index + count))
        reader.fail(`append entries pass 2^53 after ${prev_index}`);
      const terms: number[] = [];
      for (let i = 0; i < count && reader.failure === undefined; i++) {
        const entryTerm = reader.u64Safe(`entry ${i} term`);
        const before = terms[i - 1] ?? prev_term;
        if (entryTerm < before) reader.fail(`entry ${i} term ${entryTerm} is below ${before} before it`);
        if (entryTerm > term) reader.fail(`entry ${i} term ${entryTerm} is after the append's term ${term}`);
        if (entryTerm === 0) reader.fail(`entry ${i} has term 0, which no leader has`);
        terms.push(entryTerm);
        pending.push({ field: `entry ${i} change`, bytes: readJsonBytes(reader, `entry ${i} change`) });
      }
      build = (json) => {
        const entries: Entry[] = [];
        for (const [i, value] of json.entries()) {
          const parsed = parseLogChange(value);
          if (!parsed.ok) return invalidContent(`entry ${i} change: ${issueText(parsed.issues)}`);
          entries.push({ index: prev_index + 1 + i, term: terms[i]!, change: value as LogChange });
        }
        return { kind, from, term, prev_index, prev_term, entries, commit };
      };
      break;
    }
    case 'append_reply': {
      const term = reader.u64Safe('append_reply term');
      const success = readFlag(reader, 'append_reply success');
      const index = reader.u64Safe(success ? 'append_reply match_index' : 'append_reply next_hint');
      build = () =>
        success
          ? { kind, from, term, success: true, match_index: index }
          : { kind, from, term, success: false, next_hint: index };
      break;
    }
    case 'snapshot': {
      const term = reader.u64Safe('snapshot term');
      const version = reader.u64Safe('snapshot version');
      const index = reader.u64Safe('snapshot index');
      const snapshotTerm = reader.u64Safe('snapshot snapshot term');
      if (snapshotTerm > term)
        reader.fail(`snapshot term ${snapshotTerm} is after the message's term ${term}`);
      if (version > index) reader.fail(`snapshot version ${version} is above its index ${index}`);
      pending.push({ field: 'snapshot config', bytes: readJsonBytes(reader, 'snapshot config') });
      build = ([config]) => {
        const problem = configProblem(config);
        if (problem !== undefined) return invalidContent(`snapshot config: ${problem}`);
        return {
          kind,
          from,
          term,
          snapshot: { version, index, term: snapshotTerm, config: config as ConfigDocument },
        };
      };
      break;
    }
    case 'snapshot_reply': {
      const term = reader.u64Safe('snapshot_reply term');
      const match_index = reader.u64Safe('snapshot_reply match_index');
      build = () => ({ kind, from, term, match_index });
      break;
    }
    case 'change_forward': {
      const term = reader.u64Safe('change_forward term');
      const request = reader.u64Safe('change_forward request');
      const again = readFlag(reader, 'change_forward again');
      pending.push({ field: 'change_forward change', bytes: readJsonBytes(reader, 'change_forward change') });
      build = ([change]) => {
        const parsed = parseChange(change);
        if (!parsed.ok) return invalidContent(`change_forward change: ${issueText(parsed.issues)}`);
        return { kind, from, term, request, again, change: change as typeof parsed.change };
      };
      break;
    }
    case 'change_reply': {
      const request = reader.u64Safe('change_reply request');
      const answer = readAnswer(reader);
      build = () => ({ kind, from, request, answer });
      break;
    }
  }
  reader.expectEnd('the replica message');
  if (reader.failure !== undefined) return malformed(reader.failure);
  const values: unknown[] = [];
  for (const { field, bytes: json } of pending) {
    const parsed = parseJson(json);
    if (!parsed.ok) return malformed(`${field} ${parsed.detail}`);
    values.push(parsed.value);
  }
  let built: ReplicaMessage | ReplicaDrop;
  try {
    built = build(values);
  } catch (error) {
    // The config's checks are written never to throw; should one still, the packet is dropped
    // and named, never let through and never a crash of the receiver.
    return invalidContent(
      `the config's checks failed on it (${error instanceof Error ? error.name : 'error'})`,
    );
  }
  return 'ok' in built ? built : { ok: true, message: built };
}

function issueText(issues: ConfigIssue[]): string {
  const first = issues[0];
  const rest = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return first === undefined ? 'refused' : `${formatIssue(first)}${rest}`;
}

function readFlag(reader: ByteReader, field: string): boolean {
  const value = reader.u8(field);
  if (value > 1) reader.fail(`${field} is ${value}, not 0 or 1`);
  return value === 1;
}

/**
 * Reads a u16 count no larger than `max`, whose items of at least `itemBytes` each fit in the
 * bytes left, so a forged count cannot make the decoder loop or allocate for nothing.
 */
function readCount(reader: ByteReader, field: string, itemBytes: number, max: number): number {
  const count = reader.u16(field);
  if (count > max) {
    reader.fail(`${field} ${count} is above ${max}`);
    return 0;
  }
  if (count * itemBytes > reader.remaining) {
    reader.fail(`${field} ${count} needs ${count * itemBytes} bytes, ${reader.remaining} left`);
    return 0;
  }
  return count;
}

function readUtf8(reader: ByteReader, length: number, field: string): string {
  const bytes = reader.bytes(length, field);
  if (reader.failure !== undefined) return '';
  try {
    return utf8Strict.decode(bytes);
  } catch {
    reader.fail(`${field} is not UTF-8`);
    return '';
  }
}

/** A server id: by the config's rules for names (not empty, no control character, 255 bytes). */
function readName(reader: ByteReader, field: string): string {
  const length = reader.u8(`${field} length`);
  const name = readUtf8(reader, length, field);
  if (reader.failure !== undefined) return '';
  const problem = textProblem(name, 'name', NAME_BYTES_MAX);
  if (problem !== undefined) reader.fail(`${field} ${problem}`);
  return name;
}

function readText(reader: ByteReader, field: string): string {
  return readUtf8(reader, reader.u16(`${field} length`), field);
}

function readJsonBytes(reader: ByteReader, field: string): Uint8Array {
  const length = reader.u32(`${field} length`);
  return reader.bytes(length, field);
}

function parseJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; detail: string } {
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    return { ok: false, detail: 'is not UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, detail: 'is not JSON' };
  }
}

function readAnswer(reader: ByteReader): ChangeAnswer {
  const code = reader.u8('answer kind');
  const kind = CHANGE_ANSWER_BY_CODE.get(code);
  if (reader.failure !== undefined) return { kind: 'timeout', message: '' };
  switch (kind) {
    case undefined:
      reader.fail(`unknown answer kind ${code}`);
      return { kind: 'timeout', message: '' };
    case 'committed':
      return { kind, version: reader.u64Safe('committed version') };
    case 'no_op':
      return { kind, version: reader.u64Safe('no_op version'), reason: readText(reader, 'no_op reason') };
    case 'invalid': {
      const count = readCount(reader, 'issue count', 2 * TEXT_LENGTH_BYTES + FLAG_BYTES, ANSWER_ISSUES_MAX);
      const issues: ConfigIssue[] = [];
      for (let i = 0; i < count && reader.failure === undefined; i++) {
        const issue: ConfigIssue = {
          path: readText(reader, `issue ${i} path`),
          message: readText(reader, `issue ${i} message`),
        };
        const flags = reader.u8(`issue ${i} flags`);
        if ((flags & ~(ISSUE_FLAG_LINE | ISSUE_FLAG_COLUMN)) !== 0)
          reader.fail(`issue ${i} flags ${flags} have unknown bits`);
        if ((flags & ISSUE_FLAG_LINE) !== 0) issue.line = reader.u32(`issue ${i} line`);
        if ((flags & ISSUE_FLAG_COLUMN) !== 0) issue.column = reader.u32(`issue ${i} column`);
        issues.push(issue);
      }
      return { kind, issues };
    }
    case 'unknown_server':
      return {
        kind,
        server: readName(reader, 'unknown_server server'),
        message: readText(reader, 'unknown_server message'),
      };
    case 'conflict':
    case 'no_quorum':
    case 'timeout':
      return { kind, message: readText(reader, `${kind} message`) };
  }
}

/**
 * Why a snapshot's config cannot be installed, or undefined: it must be a JSON object, nest no
 * deeper than a change may (CHANGE_DEPTH_MAX), use no key that JavaScript reserves, and pass the
 * config file's own validation (the check every committed config passed when it was made).
 */
function configProblem(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return 'is not a JSON object';
  const stack: { node: unknown; depth: number }[] = [{ node: config, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= CHANGE_DEPTH_MAX) return `nests deeper than ${CHANGE_DEPTH_MAX} levels`;
    for (const [key, child] of Object.entries(node)) {
      if (RESERVED_NAMES.has(key)) return `uses the reserved key "${key}"`;
      stack.push({ node: child, depth: depth + 1 });
    }
  }
  const issues = configIssues(config as ConfigDocument);
  return issues.length === 0 ? undefined : issueText(issues);
}

/** Whether a body's first byte says it is a replica body (the packet layer dispatches on it). */
export function isReplicaBodyCode(code: number): boolean {
  return REPLICA_BODY_BY_CODE.has(code);
}
