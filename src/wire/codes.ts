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
