/**
 * Puts chunked replica messages back together (replica-split.ts cuts them). Pure and bounded:
 * the time comes with every call, and what it holds is bounded in transfers per sender, in bytes
 * in all, and in time. What it gives up is counted.
 *
 * A transfer is named by its sender and its digest, the digest of the whole message, so the
 * pieces of a message sent again (the leader repeats an unacknowledged append or snapshot every
 * heartbeat) fill the gaps its first copy left. A transfer is dropped when:
 * - no piece of it came for `idle_ms_max` (its sender stopped sending it: `expired`);
 * - its sender starts more than `transfers_per_sender_max` transfers, or all senders more than
 *   `transfers_max`: the one (of that sender, or of all) that moved least lately goes (`evicted`);
 * - holding a new piece would pass `bytes_held_max`: transfers of any sender that moved least
 *   lately go until it fits (`evicted`).
 * A complete transfer is checked against its digest and decoded as a whole replica body is, and
 * is then forgotten.
 */
import { Buffer } from 'node:buffer';
import type { ReplicaMessage } from '../replica/messages.js';
import { REPLICA_MESSAGE_BYTES_MAX } from './limits.js';
import {
  chunkCount,
  decodeReplicaMessage,
  REPLICA_CHUNK_PIECE_BYTES,
  type ReplicaChunk,
  type ReplicaDropReason,
  replicaDigest,
} from './replica-body.js';

export interface ReassemblerOptions {
  /**
   * A transfer no piece of which came for this long is dropped (ms). Default 5000: fifty
   * heartbeats of the default Raft timing, each of which sends an unacknowledged message again.
   */
  idle_ms_max?: number;
  /**
   * Transfers held per sender. Default 4: a leader's snapshot and a newer one, and a forwarded
   * change and its reply, each with room.
   */
  transfers_per_sender_max?: number;
  /**
   * Transfers held in all. Default 64. Each holds a slot per piece (12,769 at most), so this
   * bounds what transfers cost beside their bytes.
   */
  transfers_max?: number;
  /**
   * Bytes of pieces held in all, at least REPLICA_MESSAGE_BYTES_MAX (one whole transfer).
   * Default twice that, 32 MiB.
   */
  bytes_held_max?: number;
}

export type ReassemblyResult =
  /** Kept: `have` pieces of `count` are here. */
  | { kind: 'pending'; have: number; count: number }
  /** The last piece came: the message, decoded and checked. */
  | { kind: 'complete'; message: ReplicaMessage }
  /** Refused (the piece, or the whole transfer when it completed wrong): count `reason`. */
  | { kind: 'dropped'; reason: ReplicaDropReason; detail: string };

/** What a reassembler gave up and finished, by cause. */
export interface ReassemblyCounts {
  completed: number;
  /** Dropped after idle_ms_max without a piece. */
  expired: number;
  /** Dropped to keep a bound (per sender, or bytes held). */
  evicted: number;
}

interface Transfer {
  from: number;
  total: number;
  digest: Uint8Array;
  pieces: (Uint8Array | undefined)[];
  have: number;
  bytes: number;
  touched_at: number;
}

export const REASSEMBLY_IDLE_MS_MAX = 5000;
export const REASSEMBLY_TRANSFERS_PER_SENDER_MAX = 4;
export const REASSEMBLY_TRANSFERS_MAX = 64;
export const REASSEMBLY_BYTES_HELD_MAX = 2 * REPLICA_MESSAGE_BYTES_MAX;

export class ReplicaReassembler {
  readonly counts: ReassemblyCounts = { completed: 0, expired: 0, evicted: 0 };
  readonly #idle_ms_max: number;
  readonly #per_sender_max: number;
  readonly #transfers_max: number;
  readonly #bytes_held_max: number;
  /** By "sender/digest". */
  readonly #transfers = new Map<string, Transfer>();
  #bytes_held = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.#idle_ms_max = options.idle_ms_max ?? REASSEMBLY_IDLE_MS_MAX;
    this.#per_sender_max = options.transfers_per_sender_max ?? REASSEMBLY_TRANSFERS_PER_SENDER_MAX;
    this.#transfers_max = options.transfers_max ?? REASSEMBLY_TRANSFERS_MAX;
    this.#bytes_held_max = options.bytes_held_max ?? REASSEMBLY_BYTES_HELD_MAX;
    if (!Number.isInteger(this.#transfers_max) || this.#transfers_max < 1)
      throw new RangeError(`ReplicaReassembler: transfers_max ${this.#transfers_max} is not 1 or more`);
    if (!(this.#idle_ms_max > 0))
      throw new RangeError(`ReplicaReassembler: idle_ms_max ${this.#idle_ms_max} is not above 0`);
    if (!Number.isInteger(this.#per_sender_max) || this.#per_sender_max < 1)
      throw new RangeError(
        `ReplicaReassembler: transfers_per_sender_max ${this.#per_sender_max} is not 1 or more`,
      );
    if (!(this.#bytes_held_max >= REPLICA_MESSAGE_BYTES_MAX))
      throw new RangeError(
        `ReplicaReassembler: bytes_held_max ${this.#bytes_held_max} is below one transfer (${REPLICA_MESSAGE_BYTES_MAX})`,
      );
  }

  /** Bytes of pieces held now. */
  get bytesHeld(): number {
    return this.#bytes_held;
  }

  /** Transfers held now. */
  get transfersHeld(): number {
    return this.#transfers.size;
  }

  /**
   * Takes a chunk (checked alone by decodeReplicaBody) from the sender with server index `from`.
   * Never throws.
   */
  add(now: number, from: number, chunk: ReplicaChunk): ReassemblyResult {
    this.expire(now);
    const key = `${from}/${hex(chunk.digest)}`;
    let transfer = this.#transfers.get(key);
    if (transfer !== undefined && transfer.total !== chunk.total)
      return dropped('bad_chunk', `a piece of ${chunk.total} bytes' transfer, which is of ${transfer.total}`);
    if (transfer === undefined) {
      this.#makeRoomForSender(from);
      transfer = {
        from,
        total: chunk.total,
        digest: chunk.digest.slice(),
        pieces: new Array<Uint8Array | undefined>(chunkCount(chunk.total)),
        have: 0,
        bytes: 0,
        touched_at: now,
      };
      this.#transfers.set(key, transfer);
    }
    transfer.touched_at = now;
    if (transfer.pieces[chunk.index] === undefined) {
      this.#makeRoomForBytes(chunk.piece.length, key);
      transfer.pieces[chunk.index] = chunk.piece.slice();
      transfer.have += 1;
      transfer.bytes += chunk.piece.length;
      this.#bytes_held += chunk.piece.length;
    }
    if (transfer.have < transfer.pieces.length)
      return { kind: 'pending', have: transfer.have, count: transfer.pieces.length };
    return this.#complete(key, transfer);
  }

  /** Drops transfers idle for idle_ms_max at `now`; returns how many. */
  expire(now: number): number {
    let expired = 0;
    for (const [key, transfer] of this.#transfers)
      if (now - transfer.touched_at >= this.#idle_ms_max) {
        this.#forget(key, transfer);
        expired += 1;
      }
    this.counts.expired += expired;
    return expired;
  }

  /** When the next transfer expires if no piece of it comes (for a timer), or undefined. */
  nextWakeAt(): number | undefined {
    let at: number | undefined;
    for (const transfer of this.#transfers.values()) {
      const due = transfer.touched_at + this.#idle_ms_max;
      if (at === undefined || due < at) at = due;
    }
    return at;
  }

  #complete(key: string, transfer: Transfer): ReassemblyResult {
    this.#forget(key, transfer);
    const encoding = new Uint8Array(transfer.total);
    transfer.pieces.forEach((piece, index) => {
      encoding.set(piece!, index * REPLICA_CHUNK_PIECE_BYTES);
    });
    if (!sameBytes(replicaDigest(encoding), transfer.digest))
      return dropped('chunk_digest', `a transfer of ${transfer.total} bytes does not match its digest`);
    const decoded = decodeReplicaMessage(encoding);
    if (!decoded.ok) return dropped(decoded.reason, decoded.detail);
    this.counts.completed += 1;
    return { kind: 'complete', message: decoded.message };
  }

  /** Drops the transfers that moved least lately until a new one of `from` keeps both bounds. */
  #makeRoomForSender(from: number): void {
    const byAge = [...this.#transfers].sort(([, a], [, b]) => a.touched_at - b.touched_at);
    let own = byAge.filter(([, transfer]) => transfer.from === from).length;
    let all = byAge.length;
    for (const [key, transfer] of byAge) {
      if (own < this.#per_sender_max && all < this.#transfers_max) return;
      if (transfer.from !== from && all < this.#transfers_max) continue;
      this.#forget(key, transfer);
      this.counts.evicted += 1;
      all -= 1;
      if (transfer.from === from) own -= 1;
    }
  }

  #makeRoomForBytes(bytes: number, keep: string): void {
    while (this.#bytes_held + bytes > this.#bytes_held_max) {
      let stalest: [string, Transfer] | undefined;
      for (const entry of this.#transfers)
        if (entry[0] !== keep && (stalest === undefined || entry[1].touched_at < stalest[1].touched_at))
          stalest = entry;
      // Only the transfer being filled is left, and it fits alone (bytes_held_max >= one transfer).
      if (stalest === undefined) return;
      this.#forget(...stalest);
      this.counts.evicted += 1;
    }
  }

  #forget(key: string, transfer: Transfer): void {
    this.#transfers.delete(key);
    this.#bytes_held -= transfer.bytes;
  }
}

function dropped(reason: ReplicaDropReason, detail: string): ReassemblyResult {
  return { kind: 'dropped', reason, detail };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
