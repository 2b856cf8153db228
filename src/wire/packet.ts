/**
 * The packet layer: seals messages into authenticated, encrypted UDP payloads and opens them.
 * The byte layout is in layout.ts.
 *
 * `open` checks, in order of cost: the length, the magic bytes, the version and the key id
 * (none needs cryptography, so stray or foreign traffic is dropped cheaply); then the GCM tag;
 * then, only for packets that authenticated, the sender, the destination, the boot id, replay,
 * and the body. Sender and destination are server tags (roster.ts); a membership body sealed
 * with other server or system lists than ours is opened all the same and marked `roster:
 * 'other'`: its member and system numbers mean other servers and systems than ours. The replay window moves only for a packet that passed every check, so neither
 * garbage, nor a key holder's malformed packet, nor a packet sealed for another server can lock
 * a sender out or use up a sequence number.
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import type { Message } from '../membership/messages.js';
import { decodeBody, encodeBody } from './body.js';
import { type DropCounters, type DropReason, newDropCounters } from './drop-reasons.js';
import { KeyRing } from './keys.js';
import {
  BODY_BYTES_MAX,
  BOOT_ID_OFFSET,
  DESTINATION_OFFSET,
  HEADER_BYTES,
  KEY_ID_OFFSET,
  MAGIC,
  MAGIC_OFFSET,
  NONCE_BYTES,
  NONCE_OFFSET,
  PACKET_BYTES_MAX,
  PACKET_OVERHEAD_BYTES,
  SENDER_OFFSET,
  SEQ_OFFSET,
  SERVERS_DIGEST_OFFSET,
  SYSTEMS_DIGEST_OFFSET,
  TAG_BYTES,
  VERSION_OFFSET,
  WIRE_VERSION,
} from './layout.js';
import { MEMBER_COUNT_MAX, U32_MAX, U32_SPAN, U64_SAFE_HIGH_MAX } from './limits.js';
import { RandomPool } from './random-pool.js';
import { ReplayGuard, type SenderWindow } from './replay.js';
import { decodeReplicaBody, encodeReplicaBody, isReplicaBodyCode, type ReplicaBody } from './replica-body.js';
import { indexRoster, type RosterLists, serverTag, WireRoster } from './roster.js';

export { PACKET_BYTES_MAX } from './layout.js';

const CIPHER = 'aes-256-gcm';

export interface PacketCodecOptions {
  /** The configured secrets: the first seals, all open. */
  keys: string[];
  /**
   * This server's index: packets claiming to come from it are dropped, and so are packets sealed
   * for any other server.
   */
  selfIndex: number;
  /**
   * Set once per process start and larger after every restart (the start time in ms), so
   * receivers can tell a restart from a replay. A safe non-negative integer.
   */
  bootId: number;
  /** The number of servers in the config; indexes run from 0 to memberCount - 1. */
  memberCount: number;
  /**
   * The config's server ids (memberCount of them, index order) and system names: packets name
   * servers by the tags of these ids, and carry the digest of both lists (roster.ts). Default:
   * servers named by their index and no systems (codecs of one memberCount then agree).
   */
  roster?: RosterLists;
  /** Source of nonces; injectable so tests are reproducible. Default: the CSPRNG, a block at a time (random-pool.ts). */
  randomBytes?: (n: number) => Uint8Array;
}

/**
 * Whether the sender's server and system lists are ours (`same`), so that the member and system
 * numbers of a membership body mean what they mean here; only its system list differs
 * (`other_systems`: its member numbers are ours, its readiness system numbers are not); or its
 * server list differs (`other`). See membership/roster-free.ts for what of such a body is read.
 */
export type RosterMatch = 'same' | 'other_systems' | 'other';

export type OpenResult =
  | { ok: true; from: number; bootId: number; message: Message; roster: RosterMatch }
  /**
   * `detail` says what was wrong with a malformed body, for a debug log. A `stale_boot` drop (an
   * authentic packet whose boot id is below one already seen from its sender) also names the
   * sender and the boot id seen, so the sender can be told (see the boot_hint message).
   */
  | { ok: false; reason: DropReason; detail?: string; from?: number; knownBootId?: number };

/** What an authentic packet carries: a membership protocol message, or a config replica body. */
export type PacketBody = { kind: 'membership'; message: Message } | { kind: 'replica'; body: ReplicaBody };

/** What openBody gives: as OpenResult, with the body of either kind. */
export type OpenBodyResult =
  | { ok: true; from: number; bootId: number; body: PacketBody; roster: RosterMatch }
  /**
   * A config replica body from a replica peer (setReplicaPeers): a server of the committed config
   * that is not in this codec's roster yet, named by its id.
   */
  | {
      ok: true;
      peer: string;
      bootId: number;
      body: Extract<PacketBody, { kind: 'replica' }>;
      roster: RosterMatch;
    }
  | Extract<OpenResult, { ok: false }>;

export class PacketCodec {
  /** Every packet `open` rejected, by reason. */
  readonly drops: DropCounters = newDropCounters();
  readonly #keys: KeyRing;
  #selfIndex: number;
  #memberCount: number;
  #roster: WireRoster;
  readonly #selfTag: number;
  readonly #randomBytes: (n: number) => Uint8Array;
  /** Keyed by sender tag, so that a replica peer has a window too. */
  readonly #replay = new ReplayGuard();
  /** Replica peers: servers outside the roster, by tag (setReplicaPeers). */
  #peers = new Map<number, string>();
  #bootId: number;
  #nextSeq = 0;

  constructor(options: PacketCodecOptions) {
    const { memberCount, selfIndex, bootId } = options;
    if (!Number.isInteger(memberCount) || memberCount < 1 || memberCount > MEMBER_COUNT_MAX) {
      throw new RangeError(
        `PacketCodec: memberCount ${memberCount} is not an integer in 1..${MEMBER_COUNT_MAX}`,
      );
    }
    if (!Number.isInteger(selfIndex) || selfIndex < 0 || selfIndex >= memberCount) {
      throw new RangeError(`PacketCodec: selfIndex ${selfIndex} is not a server index below ${memberCount}`);
    }
    if (!Number.isSafeInteger(bootId) || bootId < 0) {
      throw new RangeError(`PacketCodec: bootId ${bootId} is not a safe non-negative integer`);
    }
    const lists = options.roster ?? indexRoster(memberCount);
    if (lists.servers.length !== memberCount) {
      throw new RangeError(
        `PacketCodec: the roster names ${lists.servers.length} servers, not memberCount ${memberCount}`,
      );
    }
    this.#keys = new KeyRing(options.keys);
    this.#selfIndex = selfIndex;
    this.#memberCount = memberCount;
    this.#roster = new WireRoster(lists);
    this.#selfTag = this.#roster.tag(selfIndex);
    this.#bootId = bootId;
    if (options.randomBytes !== undefined) this.#randomBytes = options.randomBytes;
    else {
      const pool = new RandomPool();
      this.#randomBytes = (n) => pool.take(n);
    }
  }

  /**
   * The server list changed in process (a committed `flip server add|rm`): packets number members
   * by `roster` from now on, with this server at `selfIndex`. The boot id, the sequence numbers and
   * the replay windows (keyed by sender tag) go on, so peers see one run and no replay.
   */
  setRoster(roster: RosterLists, selfIndex: number): void {
    const next = new WireRoster(roster);
    const memberCount = roster.servers.length;
    if (memberCount < 1 || memberCount > MEMBER_COUNT_MAX)
      throw new RangeError(`PacketCodec.setRoster: ${memberCount} servers is not in 1..${MEMBER_COUNT_MAX}`);
    if (
      !Number.isInteger(selfIndex) ||
      selfIndex < 0 ||
      selfIndex >= memberCount ||
      next.tag(selfIndex) !== this.#selfTag
    )
      throw new RangeError(
        `PacketCodec.setRoster: index ${selfIndex} is not this server's in the new roster`,
      );
    this.#roster = next;
    this.#memberCount = memberCount;
    this.#selfIndex = selfIndex;
    // A replica peer that the roster lists now is a member.
    for (const tag of [...this.#peers.keys()]) if (next.indexOf(tag) !== undefined) this.#peers.delete(tag);
  }

  /**
   * The boot id this codec seals with. It is the configured one, plus one each time the
   * 2^32 sequence numbers of a boot run out (years of traffic), which receivers see as a
   * restart; a real restart still starts higher, its start time in ms being far larger.
   */
  get bootId(): number {
    return this.#bootId;
  }

  /**
   * Encodes, encrypts and authenticates a message for the server with index `to`, the only one
   * that will accept it. Throws a RangeError if `to` is not another server's index, if the
   * message is invalid, or if its body exceeds BODY_BYTES_MAX: the caller must pack updates to
   * fit (see bodyBaseSize and updateSize), as a UDP packet over PACKET_BYTES_MAX could fragment.
   */
  seal(message: Message, to: number): Uint8Array {
    this.#checkDestination(to, 'seal');
    return this.#sealBody(
      encodeBody(message, this.#memberCount),
      this.#roster.tag(to),
      `a ${message.type} body`,
      'seal',
    );
  }

  /**
   * As `seal`, for a config replica body (replica-body.ts): a whole replica message or one chunk
   * of a larger one, as splitReplicaMessage cuts them so that each fits. Throws a RangeError as
   * `seal` does, and for a body that does not fit BODY_BYTES_MAX (a message not split first).
   */
  sealReplica(body: ReplicaBody, to: number): Uint8Array {
    this.#checkDestination(to, 'sealReplica');
    return this.#sealBody(encodeReplicaBody(body), this.#roster.tag(to), replicaWhat(body), 'sealReplica');
  }

  /**
   * The servers besides the roster whose config replica bodies this codec opens, and to which it
   * seals them: a committed config's servers that the running roster does not list yet (a server
   * added while this agent runs takes part in the consensus at once, though its membership waits
   * for the agent's restart). Ids of the roster, or of a tag the roster has, are left out.
   */
  setReplicaPeers(ids: readonly string[]): void {
    const peers = new Map<number, string>();
    for (const id of ids) {
      const tag = serverTag(id);
      if (this.#roster.indexOf(tag) === undefined && tag !== this.#selfTag) peers.set(tag, id);
    }
    this.#peers = peers;
  }

  /** As sealReplica, for a replica peer (setReplicaPeers) named by its id. */
  sealReplicaToPeer(body: ReplicaBody, id: string): Uint8Array {
    const tag = serverTag(id);
    if (this.#peers.get(tag) !== id)
      throw new RangeError(`PacketCodec.sealReplicaToPeer: ${JSON.stringify(id)} is not a replica peer`);
    return this.#sealBody(encodeReplicaBody(body), tag, replicaWhat(body), 'sealReplicaToPeer');
  }

  #checkDestination(to: number, method: string): void {
    if (!Number.isInteger(to) || to < 0 || to >= this.#memberCount || to === this.#selfIndex) {
      throw new RangeError(
        `PacketCodec.${method}: destination ${to} is not the index of another server (self ${this.#selfIndex}, ` +
          `${this.#memberCount} servers)`,
      );
    }
  }

  /** Seals `body` for the server whose tag is `toTag`. */
  #sealBody(body: Uint8Array, toTag: number, what: string, method: string): Uint8Array {
    if (body.length > BODY_BYTES_MAX) {
      throw new RangeError(
        `PacketCodec.${method}: ${what} of ${body.length} bytes exceeds BODY_BYTES_MAX (${BODY_BYTES_MAX})`,
      );
    }
    const nonce = this.#randomBytes(NONCE_BYTES);
    if (nonce.length !== NONCE_BYTES) {
      throw new RangeError(
        `PacketCodec.${method}: randomBytes returned ${nonce.length} bytes, not ${NONCE_BYTES}`,
      );
    }
    const key = this.#keys.sealing;
    const packet = new Uint8Array(PACKET_OVERHEAD_BYTES + body.length);
    const view = new DataView(packet.buffer);
    packet.set(MAGIC, MAGIC_OFFSET);
    view.setUint8(VERSION_OFFSET, WIRE_VERSION);
    view.setUint32(KEY_ID_OFFSET, key.id);
    view.setUint32(SENDER_OFFSET, this.#selfTag);
    view.setUint32(DESTINATION_OFFSET, toTag);
    view.setUint32(SERVERS_DIGEST_OFFSET, this.#roster.servers_digest);
    view.setUint32(SYSTEMS_DIGEST_OFFSET, this.#roster.systems_digest);
    const seq = this.#takeSeq();
    view.setUint32(BOOT_ID_OFFSET, Math.floor(this.#bootId / U32_SPAN));
    view.setUint32(BOOT_ID_OFFSET + 4, this.#bootId % U32_SPAN);
    view.setUint32(SEQ_OFFSET, seq);
    packet.set(nonce, NONCE_OFFSET);

    const cipher = createCipheriv(CIPHER, key.cipherKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(packet.subarray(0, HEADER_BYTES));
    const ciphertext = cipher.update(body);
    const ciphertextTail = cipher.final();
    packet.set(ciphertext, HEADER_BYTES);
    packet.set(ciphertextTail, HEADER_BYTES + ciphertext.length);
    packet.set(cipher.getAuthTag(), HEADER_BYTES + body.length);
    return packet;
  }

  /**
   * Authenticates, decrypts and decodes a received packet. Never throws; a rejected packet
   * is counted in `drops` and leaves the replay state as it was. Membership messages only: a
   * config replica body is dropped as `malformed_body`, as by an agent that predates it (see
   * openBody).
   */
  open(packet: Uint8Array): OpenResult {
    const opened = this.#open(packet, false);
    if (!opened.ok) return opened;
    if ('peer' in opened || opened.body.kind !== 'membership')
      throw new Error('PacketCodec.open: a replica body got through');
    return {
      ok: true,
      from: opened.from,
      bootId: opened.bootId,
      message: opened.body.message,
      roster: opened.roster,
    };
  }

  /**
   * As `open`, for a receiver that reads both kinds of body: a membership message, or a config
   * replica body (a whole message, decoded and checked, or a chunk for a ReplicaReassembler). A
   * replica body that does not decode is dropped with the reason its decoder gives
   * (`malformed_replica`, `invalid_replica_content`, `bad_chunk`). Never throws.
   */
  openBody(packet: Uint8Array): OpenBodyResult {
    return this.#open(packet, true);
  }

  #open(packet: Uint8Array, replica: boolean): OpenBodyResult {
    if (packet.length < PACKET_OVERHEAD_BYTES) return this.#drop('too_short');
    if (packet.length > PACKET_BYTES_MAX) return this.#drop('too_big');
    if (packet[MAGIC_OFFSET] !== MAGIC[0] || packet[MAGIC_OFFSET + 1] !== MAGIC[1]) {
      return this.#drop('bad_magic');
    }
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    if (view.getUint8(VERSION_OFFSET) !== WIRE_VERSION) return this.#drop('wrong_version');
    const candidates = this.#keys.candidates(view.getUint32(KEY_ID_OFFSET));
    if (candidates.length === 0) return this.#drop('unknown_key');

    const header = packet.subarray(0, HEADER_BYTES);
    const nonce = packet.subarray(NONCE_OFFSET, NONCE_OFFSET + NONCE_BYTES);
    const ciphertext = packet.subarray(HEADER_BYTES, packet.length - TAG_BYTES);
    const tag = packet.subarray(packet.length - TAG_BYTES);
    let body: Uint8Array | undefined;
    for (const key of candidates) {
      body = decrypt(key.cipherKey, header, nonce, ciphertext, tag);
      if (body !== undefined) break;
    }
    if (body === undefined) return this.#drop('bad_tag');

    const senderTag = view.getUint32(SENDER_OFFSET);
    if (senderTag === this.#selfTag) return this.#drop('self');
    const from = this.#roster.indexOf(senderTag);
    const peer = from === undefined ? this.#peers.get(senderTag) : undefined;
    if (from === undefined && peer === undefined) return this.#drop('unknown_sender');
    // Sealed for another server: accepting it would let anybody who saw it replay it here once,
    // as its sequence number is new here.
    if (view.getUint32(DESTINATION_OFFSET) !== this.#selfTag) return this.#drop('wrong_destination');
    const roster: RosterMatch =
      view.getUint32(SERVERS_DIGEST_OFFSET) !== this.#roster.servers_digest
        ? 'other'
        : view.getUint32(SYSTEMS_DIGEST_OFFSET) !== this.#roster.systems_digest
          ? 'other_systems'
          : 'same';
    const bootIdHigh = view.getUint32(BOOT_ID_OFFSET);
    if (bootIdHigh > U64_SAFE_HIGH_MAX) return this.#drop('malformed_header');
    const bootId = bootIdHigh * U32_SPAN + view.getUint32(BOOT_ID_OFFSET + 4);
    const seq = view.getUint32(SEQ_OFFSET);
    const verdict = this.#replay.check(senderTag, bootId, seq);
    if (verdict === 'stale_boot') {
      this.drops.stale_boot += 1;
      const knownBootId = this.#replay.window(senderTag)!.bootId;
      return from === undefined
        ? { ok: false, reason: 'stale_boot', knownBootId }
        : { ok: false, reason: 'stale_boot', from, knownBootId };
    }
    if (verdict !== 'fresh') return this.#drop(verdict);

    const opened = this.#decode(body, replica, roster);
    if (!opened.ok) return this.#drop(opened.reason, opened.detail);
    if (from === undefined) {
      // A replica peer speaks only for the consensus: its membership is the roster's business.
      if (opened.body.kind !== 'replica') return this.#drop('unknown_sender');
      this.#replay.accept(senderTag, bootId, seq);
      return { ok: true, peer: peer!, bootId, body: opened.body, roster };
    }
    this.#replay.accept(senderTag, bootId, seq);
    return { ok: true, from, bootId, body: opened.body, roster };
  }

  /**
   * The body by its first byte: a replica body (when read here), else a membership message. A
   * membership body of another server list is decoded against the largest server count (its
   * numbers are the sender's; the receiver reads what does not depend on them).
   */
  #decode(
    body: Uint8Array,
    replica: boolean,
    roster: RosterMatch,
  ): { ok: true; body: PacketBody } | { ok: false; reason: DropReason; detail: string } {
    const type = body[0];
    if (type !== undefined && isReplicaBodyCode(type)) {
      if (!replica)
        return {
          ok: false,
          reason: 'malformed_body',
          detail: `a replica body (type ${type}), not read here`,
        };
      const decoded = decodeReplicaBody(body);
      return decoded.ok ? { ok: true, body: { kind: 'replica', body: decoded.body } } : decoded;
    }
    const decoded = decodeBody(body, roster === 'other' ? MEMBER_COUNT_MAX : this.#memberCount);
    return decoded.ok ? { ok: true, body: { kind: 'membership', message: decoded.message } } : decoded;
  }

  /**
   * Goes on with a boot id above `seen` (one a peer has already seen from this server: its clock
   * went back across a restart), from sequence number 0. A hint at or below the current boot id
   * changes nothing: it can only come from an old packet replayed to that peer.
   */
  advanceBootId(seen: number): boolean {
    if (!Number.isSafeInteger(seen + 1) || seen <= this.#bootId) return false;
    this.#bootId = seen + 1;
    this.#nextSeq = 0;
    return true;
  }

  /** What the replay guard remembers about a sender (for diagnostics and tests). */
  replayWindow(sender: number): SenderWindow | undefined {
    if (!Number.isInteger(sender) || sender < 0 || sender >= this.#memberCount) return undefined;
    return this.#replay.window(this.#roster.tag(sender));
  }

  #takeSeq(): number {
    if (this.#nextSeq > U32_MAX) {
      if (!Number.isSafeInteger(this.#bootId + 1)) throw new RangeError('PacketCodec: boot id exhausted');
      this.#bootId += 1;
      this.#nextSeq = 0;
    }
    const seq = this.#nextSeq;
    this.#nextSeq += 1;
    return seq;
  }

  #drop(reason: DropReason, detail?: string): Extract<OpenResult, { ok: false }> {
    this.drops[reason] += 1;
    return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
  }
}

/** A replica body as an error message names it. */
function replicaWhat(body: ReplicaBody): string {
  return body.type === 'replica' ? `a replica ${body.message.kind} body` : 'a replica chunk body';
}

/** The plaintext if the tag verifies under `key`, else undefined (GCM reports failure by throwing). */
function decrypt(
  key: KeyObject,
  header: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Uint8Array | undefined {
  try {
    const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(header);
    decipher.setAuthTag(tag);
    const head = decipher.update(ciphertext);
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return undefined;
  }
}
