/**
 * Cuts what the config replica wants to send into packet bodies that each fit a packet
 * (BODY_BYTES_MAX). Pure: a message in, bodies out.
 *
 * - A message that fits one body goes whole.
 * - An `append` that does not fit goes with fewer entries: the longest prefix that fits. That is
 *   still a valid append (the follower matches `prev_index`, stores the prefix and acknowledges
 *   up to its end, and commits no further than that: raft-node.ts takes the smaller of `commit`
 *   and what matched), and the leader sends the rest as soon as the acknowledgement comes
 *   (RaftNode sends the next append on every success that leaves it behind).
 * - Anything else too large (a `snapshot` of a large config, an append whose first entry alone
 *   does not fit, a forwarded change or an answer that large) goes as a chunked transfer: its
 *   encoding cut in pieces, each in a body with the transfer's digest, size and the piece's
 *   number; ReplicaReassembler puts them together. A message sent again has the same digest, so
 *   the pieces of every copy add up: a lost piece is filled by the next copy, without a
 *   retransmission protocol (the leader sends an append or snapshot again every heartbeat until
 *   it is acknowledged).
 * - A message whose encoding is over REPLICA_MESSAGE_BYTES_MAX cannot be sent: `too_big`.
 */
import type { ReplicaMessage } from '../replica/messages.js';
import { REPLICA_MESSAGE_BYTES_MAX } from './limits.js';
import {
  appendSizes,
  chunkCount,
  encodeReplicaMessage,
  pieceLength,
  REPLICA_CHUNK_PIECE_BYTES,
  REPLICA_WHOLE_BYTES_MAX,
  type ReplicaBody,
  replicaDigest,
} from './replica-body.js';

export type ReplicaSplit =
  /**
   * `message` is what goes: the one given, or an append with a prefix of its entries. `bodies`
   * are sealed in order, one packet each (sealReplica).
   */
  | { ok: true; message: ReplicaMessage; bodies: ReplicaBody[] }
  /** Its encoding is `bytes` long, over `bytes_max`: no body is made. */
  | { ok: false; reason: 'too_big'; bytes: number; bytes_max: number };

/** The bodies that carry `message`; see above. Throws only for a message encodeReplicaMessage refuses. */
export function splitReplicaMessage(message: ReplicaMessage): ReplicaSplit {
  const sent = message.kind === 'append' ? appendThatFits(message) : message;
  const encoding = encodeReplicaMessage(sent);
  if (encoding.length <= REPLICA_WHOLE_BYTES_MAX)
    return { ok: true, message: sent, bodies: [{ type: 'replica', message: sent }] };
  return chunkEncoding(sent, encoding);
}

/**
 * The append with the longest prefix of its entries that fits one body, and at least one entry
 * (a first entry too large for a body goes alone, chunked).
 */
function appendThatFits(message: Extract<ReplicaMessage, { kind: 'append' }>): typeof message {
  if (message.entries.length <= 1) return message;
  const { fixed, entries } = appendSizes(message);
  let size = fixed;
  let count = 0;
  while (count < entries.length && size + entries[count]! <= REPLICA_WHOLE_BYTES_MAX)
    size += entries[count++]!;
  return count === entries.length
    ? message
    : { ...message, entries: message.entries.slice(0, Math.max(count, 1)) };
}

/** The chunks of an encoding too large for one body. */
function chunkEncoding(message: ReplicaMessage, encoding: Uint8Array): ReplicaSplit {
  const total = encoding.length;
  if (total > REPLICA_MESSAGE_BYTES_MAX)
    return { ok: false, reason: 'too_big', bytes: total, bytes_max: REPLICA_MESSAGE_BYTES_MAX };
  const digest = replicaDigest(encoding);
  const bodies: ReplicaBody[] = [];
  for (let index = 0; index < chunkCount(total); index++) {
    const start = index * REPLICA_CHUNK_PIECE_BYTES;
    const piece = encoding.subarray(start, start + pieceLength(total, index));
    bodies.push({ type: 'replica_chunk', chunk: { digest, total, index, piece } });
  }
  return { ok: true, message, bodies };
}
