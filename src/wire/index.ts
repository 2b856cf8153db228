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
  CHANGE_ANSWER_CODES,
  MEMBER_STATE_CODES,
  MESSAGE_TYPE_CODES,
  REPLICA_BODY_CODES,
  REPLICA_KIND_CODES,
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
export { MEMBER_COUNT_MAX, REPLICA_MESSAGE_BYTES_MAX } from './limits.js';
export {
  type OpenBodyResult,
  type OpenResult,
  PACKET_BYTES_MAX,
  type PacketBody,
  PacketCodec,
  type PacketCodecOptions,
} from './packet.js';
export { REPLAY_WINDOW_SEQS, ReplayGuard, type ReplayVerdict, type SenderWindow } from './replay.js';
export {
  type DecodeReplicaBodyResult,
  type DecodeReplicaResult,
  decodeReplicaBody,
  decodeReplicaMessage,
  encodeReplicaBody,
  encodeReplicaMessage,
  REPLICA_CHUNK_PIECE_BYTES,
  REPLICA_WHOLE_BYTES_MAX,
  type ReplicaBody,
  type ReplicaChunk,
  type ReplicaDrop,
  type ReplicaDropReason,
} from './replica-body.js';
export {
  type ReassemblerOptions,
  type ReassemblyCounts,
  type ReassemblyResult,
  ReplicaReassembler,
} from './replica-reassembly.js';
export { type ReplicaSplit, splitReplicaMessage } from './replica-split.js';
