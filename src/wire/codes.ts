/**
 * The numbers that name message types, update kinds, member states and reporter encodings on
 * the wire.
 *
 * !!! THESE ARE PROTOCOL. !!!
 * Agents of different flip versions talk to each other during a rolling upgrade, so these
 * tables are APPEND-ONLY: never renumber an entry, never reuse the number of a removed one.
 * A new type, kind or state gets a new, unused number. Changing an existing number is a wire
 * format change that needs a new WIRE_VERSION.
 */
import type { GossipKind, MemberStateName, MessageType } from '../membership/messages.js';
import type { ChangeAnswerKind } from '../replica/answer.js';
import type { ReplicaMessage } from '../replica/messages.js';

/** Message type numbers (u8, the first byte of every body). */
export const MESSAGE_TYPE_CODES = {
  ping: 1,
  ack: 2,
  ping_req: 3,
  nack: 4,
  gossip: 5,
  state: 6,
  released: 7,
  released_ack: 8,
  boot_hint: 9,
  claim: 11,
  claim_reply: 12,
  duplicate: 10,
} as const satisfies Record<MessageType, number>;

/**
 * Body type numbers of the config replica's bodies (docs/CONSENSUS.md, "On the wire"). They share
 * the first byte of a body with MESSAGE_TYPE_CODES, so a number is never in both tables (a test
 * checks): an agent without replica bodies drops them as malformed_body (unknown message type).
 */
export const REPLICA_BODY_CODES = {
  /** A whole replica message (replica-body.ts). */
  replica: 13,
  /** One piece of a replica message too large for one packet (replica-body.ts, ReplicaChunk). */
  replica_chunk: 14,
} as const;

export type ReplicaBodyType = keyof typeof REPLICA_BODY_CODES;

/** Replica message kind numbers (u8, the first byte of a replica message's encoding). */
export const REPLICA_KIND_CODES = {
  pre_vote: 1,
  pre_vote_reply: 2,
  vote: 3,
  vote_reply: 4,
  append: 5,
  append_reply: 6,
  snapshot: 7,
  snapshot_reply: 8,
  change_forward: 9,
  change_reply: 10,
} as const satisfies Record<ReplicaMessage['kind'], number>;

/** Change answer kind numbers (u8) in a change_reply. */
export const CHANGE_ANSWER_CODES = {
  committed: 1,
  no_op: 2,
  invalid: 3,
  conflict: 4,
  no_quorum: 5,
  unknown_server: 6,
  timeout: 7,
} as const satisfies Record<ChangeAnswerKind, number>;

/** Update kind numbers (u8, the first byte of every update). */
export const UPDATE_KIND_CODES = {
  alive: 1,
  suspect: 2,
  down: 3,
  left: 4,
  readiness: 5,
} as const satisfies Record<GossipKind, number>;

/** Member state numbers (u8) in the records of a `state` message. */
export const MEMBER_STATE_CODES = {
  alive: 0,
  probably_down: 1,
  down: 2,
  left: 3,
} as const satisfies Record<MemberStateName, number>;

/** How the reporters of a suspect update are encoded (u8); the encoder picks the smaller. */
export const REPORTERS_FORMAT_CODES = {
  /** u16 count, then that many u16 server indexes in increasing order. */
  list: 0,
  /** u16 byte length, then bytes where bit i (LSB first within each byte) is server index i. */
  bitmap: 1,
} as const;

export type ReportersFormat = keyof typeof REPORTERS_FORMAT_CODES;

/**
 * Why a member is not ready for a system (readiness updates carry a bitmap of systems for each
 * of these, in this order): its health check is failing, or it is holding down after a return.
 */
export const READINESS_REASONS = ['failing', 'holding'] as const;

/** Reverses a code table, so a decoder can look a number up without trusting it. */
function reverse<Name extends string>(table: Record<Name, number>): ReadonlyMap<number, Name> {
  return new Map(Object.entries<number>(table).map(([name, code]) => [code, name as Name]));
}

export const MESSAGE_TYPE_BY_CODE = reverse<MessageType>(MESSAGE_TYPE_CODES);
export const UPDATE_KIND_BY_CODE = reverse<GossipKind>(UPDATE_KIND_CODES);
export const MEMBER_STATE_BY_CODE = reverse<MemberStateName>(MEMBER_STATE_CODES);
export const REPORTERS_FORMAT_BY_CODE = reverse<ReportersFormat>(REPORTERS_FORMAT_CODES);
export const REPLICA_BODY_BY_CODE = reverse<ReplicaBodyType>(REPLICA_BODY_CODES);
export const REPLICA_KIND_BY_CODE = reverse<ReplicaMessage['kind']>(REPLICA_KIND_CODES);
export const CHANGE_ANSWER_BY_CODE = reverse<ChangeAnswerKind>(CHANGE_ANSWER_CODES);
