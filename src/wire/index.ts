/** The wire format: messages to authenticated, encrypted UDP packets and back. */
export {
  BODY_BYTES_MAX,
  BODY_BYTES_MIN,
  BODY_OVERHEAD_BYTES_MAX,
  bodyBaseSize,
  bodySize,
  type DecodeBodyResult,
  decodeBody,
  encodeBody,
  reportersFormat,
  STATE_RECORD_BYTES,
  UPDATE_BYTES_MIN,
  updateSize,
} from './body.js';
export {
  MEMBER_STATE_CODES,
  MESSAGE_TYPE_CODES,
  REPORTERS_FORMAT_CODES,
  type ReportersFormat,
  UPDATE_KIND_CODES,
} from './codes.js';
export {
  DROP_REASONS,
  type DropCounters,
  type DropReason,
  newDropCounters,
  totalDrops,
} from './drop-reasons.js';
export { deriveWireKey, KeyRing, type WireKey } from './keys.js';
export { HEADER_BYTES, PACKET_OVERHEAD_BYTES, TAG_BYTES, WIRE_VERSION } from './layout.js';
export { MEMBER_COUNT_MAX } from './limits.js';
export { type OpenResult, PACKET_BYTES_MAX, PacketCodec, type PacketCodecOptions } from './packet.js';
export { REPLAY_WINDOW_SEQS, ReplayGuard, type ReplayVerdict, type SenderWindow } from './replay.js';
