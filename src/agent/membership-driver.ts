/**
 * Runs the pure membership core for real: the monotonic clock, one timer for the core's next
 * wake-up, and packets sealed and opened by the wire codec on a UDP socket. Every input is
 * followed by a flush of the core's effects.
 */
import type { FlipConfig } from '../config/index.js';
import { nodeOptionsFor, renumberingOf, rosterOf } from '../membership/from-config.js';
import { bootIncarnation } from '../membership/incarnation.js';
import type { LeasePings } from '../membership/lease.js';
import type { Message, ReleasedItem } from '../membership/messages.js';
import type {
  ClaimMessage,
  DuplicateEvent,
  LeaseEvent,
  MemberChange,
  Refutation,
  ReleasedAck,
  ReleasedNotice,
} from '../membership/node.js';
import { isLive, MembershipNode } from '../membership/node.js';
import type { Renumbering } from '../membership/renumbering.js';
import { rosterFree } from '../membership/roster-free.js';
import type { ReplicaMessage } from '../replica/messages.js';
import { setTimer } from '../time/timer.js';
import type { Endpoint, PacketTransport } from '../transport/udp.js';
import type { DropReason } from '../wire/drop-reasons.js';
import { type PacketBody, PacketCodec } from '../wire/packet.js';
import { WIRE_PACKING } from '../wire/packing.js';
import type { ReplicaBody } from '../wire/replica-body.js';
import { ReplicaReassembler } from '../wire/replica-reassembly.js';
import { splitReplicaMessage } from '../wire/replica-split.js';
import { serverTag } from '../wire/roster.js';
import { TransferPacer } from '../wire/transfer-pacing.js';

export interface MembershipDriverComponents {
  /** Monotonic milliseconds. */
  now: () => number;
  random: () => number;
  /** Wall-clock milliseconds: the boot id and first incarnation (a restart starts higher). */
  wallNow: () => number;
}

export interface MembershipDriverEvents {
  /** This server refuted its own down or leave (before the changes of the same batch). */
  onRefuted(refutation: Refutation): void;
  onChanges(changes: MemberChange[]): void;
  /** The core has learned the cluster's view from a peer (once). */
  onSynced(): void;
  /** A peer released items to this node (see ReleaseNotices). */
  onReleased(notice: ReleasedNotice): void;
  /** A peer acknowledged one of our release notices. */
  onReleasedAck(ack: ReleasedAck): void;
  /** A peer claims items (see handover/claims.ts). */
  onClaim(claim: ClaimMessage): void;
  /** A peer agreed to our claim of items. */
  onClaimReply(reply: ClaimMessage): void;
  /** A peer had seen a later boot of this server (the clock went back); packets now carry `to`. */
  onBootAdvanced(from: number, to: number): void;
  /** News about our own lease: a round, a grant, its loss (see membership/lease.ts). */
  onLease(events: LeaseEvent[]): void;
  /**
   * Two live agents claim one id (membership/identity.ts). `kept_at` and `newcomer_at`: where
   * each run was seen ("ip:port"; for `seen`, by this agent; for `told`, by the peer that told).
   */
  onDuplicate(event: DuplicateEvent, where: { kept_at: string; newcomer_at: string }): void;
  /** Members' readiness changed in our view (membership/readiness.ts). */
  onReadiness?(members: number[]): void;
  /** Round trips of answered probes measured since the last flush (ms), for metrics. */
  onRoundTrips?(rtts_ms: number[]): void;
  onDrop(reason: DropReason, from: Endpoint): void;
}

/** Reassembly keys of replica peers start here: past every roster index (a u16). */
const PEER_REASSEMBLY_KEY_BASE = 0x1_0000;

/** How often one peer is told that its boot id is stale, at most. */
const BOOT_HINT_EVERY_MS = 1000;

export class MembershipDriver {
  #core: MembershipNode;
  readonly codec: PacketCodec;
  #config: FlipConfig;
  /** The agent's config replica takes the replica messages that arrive (issue 12). */
  onReplica: ((message: ReplicaMessage) => void) | undefined;
  /** Servers outside the roster that replica messages go to (setReplicaPeers), by id. */
  #replicaPeers = new Map<string, Endpoint>();
  /** Large replica messages come in pieces: put together here, within bounds. */
  #reassembler = new ReplicaReassembler();
  readonly #components: MembershipDriverComponents;
  readonly #events: MembershipDriverEvents;
  #transport: PacketTransport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  #syncedReported = false;
  /** When each member was last sent a boot hint (ms), so a stream of stale packets gets a few. */
  #hintedAt = new Map<number, number>();
  /** Where each run of each member was last heard from: "member/boot" -> endpoint. */
  #seenAt = new Map<string, Endpoint>();
  packets_sent = 0;
  /** Large replica transfers held back by their pause (wire/transfer-pacing.ts). */
  readonly transfers = new TransferPacer();
  packets_received = 0;

  constructor(config: FlipConfig, components: MembershipDriverComponents, events: MembershipDriverEvents) {
    this.#config = config;
    this.#components = components;
    this.#events = events;
    const self = config.servers.find((server) => server.id === config.id)!;
    const boot = bootIncarnation(components.wallNow());
    this.codec = new PacketCodec({
      keys: config.keys,
      selfIndex: self.index,
      bootId: boot,
      memberCount: config.servers.length,
      roster: rosterOf(config),
    });
    this.#core = new MembershipNode(
      nodeOptionsFor(config, self.index, {
        random: components.random,
        incarnation: boot,
        boot,
        packing: WIRE_PACKING,
      }),
    );
  }

  /** The protocol core of the server list in force (a new one after setServers). */
  get core(): MembershipNode {
    return this.#core;
  }

  /**
   * The lists changed in process (a committed `flip server add|rm`, `flip system add|rm`; this
   * server's own entry unchanged): a core for `config`'s lists takes over from the running one, carrying what it knows
   * of every kept server by id (MembershipNode.succeed), and packets number members by the new
   * list from now on, in the same run (boot id and sequence numbers go on). Returns how old member
   * numbers map to new ones, for the agent's other parts.
   */
  setServers(config: FlipConfig): Renumbering {
    const renumbering = renumberingOf(this.#config, config);
    const self = config.servers.findIndex((server) => server.id === config.id);
    // What the old core queued goes out first, numbered by the old list.
    if (!this.#stopped) this.#flush();
    const previous = this.#core;
    const next = new MembershipNode(
      nodeOptionsFor(config, self, {
        random: this.#components.random,
        incarnation: previous.incarnation,
        boot: this.codec.bootId,
        packing: WIRE_PACKING,
      }),
    );
    const kept = new Set(config.servers.map((server) => server.id));
    for (const server of this.#config.servers)
      if (!kept.has(server.id) && server.id !== config.id)
        this.#former.set(server.id, { ip: server.ip, port: server.port });
    for (const id of kept) this.#former.delete(id);
    this.codec.setRoster(rosterOf(config), self);
    this.#config = config;
    this.#hintedAt = renumbering.map(this.#hintedAt);
    const seen = new Map<string, Endpoint>();
    for (const [key, endpoint] of this.#seenAt) {
      const [member, boot] = key.split('/');
      const to = renumbering.nextOf(Number(member));
      if (to !== undefined) seen.set(`${to}/${boot}`, endpoint);
    }
    this.#seenAt = seen;
    // Pieces of large replica messages are kept by member number: started again.
    this.#reassembler = new ReplicaReassembler();
    this.#core = next;
    if (this.#transport !== undefined) {
      next.succeed(this.#components.now(), previous, renumbering);
      if (!this.#stopped) this.#flush();
    }
    return renumbering;
  }

  /** Starts the protocol on a bound transport. */
  /** Indexes of the members this node holds live (alive or probably down), itself included. */
  liveMembers(): number[] {
    return this.core.liveMembers();
  }

  /** Whether `member` is live in this node's view. */
  isLive(member: number): boolean {
    return isLive(this.core.member(member).state);
  }

  /** Whether `member` left at the incarnation this node knows. */
  hasLeft(member: number): boolean {
    return this.core.member(member).state === 'left';
  }

  /** Our lease base at `now` (membership/lease.ts). */
  leaseBase(now: number): number {
    return this.core.leaseBase(now);
  }

  /** The latest moment anybody we know of heard from `member` (our clock). */
  heardByAnyone(member: number): number {
    return this.core.heardByAnyone(member);
  }

  get grant_fresh_ms(): number {
    return this.core.grant_fresh_ms;
  }

  /** Whether live `member` may be given items of `system` (set by the agent, see readiness-link.ts). */
  readyFor?: (member: number, system: string) => boolean;
  /** Set by the agent: whether live `member` only holds down in `system`. */
  holdingFor?: (member: number, system: string) => boolean;

  /** Sends what the core queued (after the agent changed our readiness). */
  flush(): void {
    if (!this.#stopped) this.#flush();
  }

  /** Asks the core for lease rounds, or stops them. */
  setLeaseWanted(wanted: boolean, pings: LeasePings): void {
    if (this.#stopped) return;
    this.core.setLeaseWanted(this.#components.now(), wanted, pings);
    this.#flush();
  }

  /** Asks the core for a lease round now (or as soon as rounds may follow each other). */
  leaseRoundSoon(): void {
    if (this.#stopped) return;
    this.core.leaseRoundSoon(this.#components.now());
    this.#flush();
  }

  start(transport: PacketTransport): void {
    this.#transport = transport;
    this.core.start(this.#components.now());
    this.#flush();
  }

  /** A packet arrived on the socket. */
  receive(packet: Uint8Array, from: Endpoint): void {
    if (this.#stopped) return;
    const openedBody = this.codec.openBody(packet);
    if (openedBody.ok && 'peer' in openedBody) {
      this.packets_received++;
      this.#receiveReplica({ id: openedBody.peer }, openedBody.body.body, from);
      return;
    }
    if (openedBody.ok && openedBody.body.kind === 'replica') {
      this.packets_received++;
      this.#noteSeen(openedBody.from, openedBody.bootId, from);
      this.#receiveReplica({ index: openedBody.from }, openedBody.body.body, from);
      return;
    }
    if (!openedBody.ok) {
      this.#events.onDrop(openedBody.reason, from);
      if (
        openedBody.reason === 'stale_boot' &&
        openedBody.from !== undefined &&
        openedBody.knownBootId !== undefined
      )
        this.#hintBoot(openedBody.from, openedBody.knownBootId);
      return;
    }
    const sent = (openedBody.body as Extract<PacketBody, { kind: 'membership' }>).message;
    // From a server with other server or system lists: only what does not depend on them.
    const message = rosterFree(sent, this.#selfIndex(), openedBody.roster);
    if (message === undefined) {
      this.#events.onDrop('other_roster', from);
      return;
    }
    this.packets_received++;
    if (message.type === 'boot_hint') {
      if (this.codec.advanceBootId(message.boot_id)) {
        this.core.setBoot(this.codec.bootId);
        this.#events.onBootAdvanced(openedBody.from, this.codec.bootId);
      }
      return;
    }
    this.#noteSeen(openedBody.from, openedBody.bootId, from);
    this.core.receive(this.#components.now(), openedBody.from, message, openedBody.bootId);
    this.#flush();
  }

  /**
   * A config replica message (a whole one, or the last piece of a large one) for the agent's
   * replica, from the roster's server at `index` or from a replica peer (`id`, see
   * setReplicaPeers). A message whose `from` is not the server the packet's sender tag names is
   * dropped: the key proves a cluster member sealed it, the tag which one. Replica messages name
   * servers by id, so they are read whatever lists the sender has (a lagging agent catches up by
   * them).
   */
  #receiveReplica(sender: { index: number } | { id: string }, body: ReplicaBody, endpoint: Endpoint): void {
    const now = this.#components.now();
    const id = 'id' in sender ? sender.id : this.#config.servers[sender.index]?.id;
    let message: ReplicaMessage;
    if (body.type === 'replica') message = body.message;
    else {
      this.#reassembler.expire(now);
      // Pieces are kept by sender: a peer's key is past every roster index.
      const key = 'index' in sender ? sender.index : PEER_REASSEMBLY_KEY_BASE + serverTag(sender.id);
      const result = this.#reassembler.add(now, key, body.chunk);
      if (result.kind === 'pending') return;
      if (result.kind === 'dropped') {
        this.#events.onDrop(result.reason, endpoint);
        return;
      }
      message = result.message;
    }
    if (message.from !== id) {
      this.#events.onDrop('invalid_replica_content', endpoint);
      return;
    }
    this.onReplica?.(message);
  }

  /**
   * The servers of the committed config that the roster does not list (added while this agent
   * runs): replica messages go to them and come from them at once, so that a server added takes
   * part in the consensus before every agent restarted (its membership waits for that).
   */
  setReplicaPeers(servers: readonly { id: string; ip: string; port: number }[]): void {
    const inRoster = new Set(this.#config.servers.map((server) => server.id));
    this.#replicaPeers = new Map(
      [...this.#former, ...servers.map((server) => [server.id, server] as const)]
        .filter(([id]) => !inRoster.has(id))
        .map(([id, server]) => [id, { ip: server.ip, port: server.port }]),
    );
    this.codec.setReplicaPeers([...this.#replicaPeers.keys()]);
  }

  /**
   * Servers that a server list taken in process dropped (setServers), where they were: their
   * replica messages are still read and answered, so that one that missed its removal (cut off
   * while it was told) hears of it when it speaks up, and leaves (RaftNode's farewells).
   */
  readonly #former = new Map<string, Endpoint>();

  /**
   * Where the agent says a server outside the roster is (the newest config in the consensus's
   * log), for a replica message to a server added before this agent applied its addition.
   */
  resolveReplicaPeer: ((id: string) => Endpoint | undefined) | undefined;

  /** `id` as a replica peer from now on, when resolveReplicaPeer knows where it is. */
  #newReplicaPeer(id: string): Endpoint | undefined {
    const endpoint = this.resolveReplicaPeer?.(id);
    if (endpoint === undefined) return undefined;
    this.#replicaPeers.set(id, endpoint);
    this.codec.setReplicaPeers([...this.#replicaPeers.keys()]);
    return endpoint;
  }

  /**
   * Sends a config replica message to server `to`: in one packet, or a shorter append, or in
   * pieces (wire/replica-split.ts). False when it is too large to send at all (nothing sent).
   */
  sendReplica(to: string, message: ReplicaMessage): boolean {
    if (this.#stopped || this.#transport === undefined) return true;
    const index = this.#config.servers.findIndex((server) => server.id === to);
    const server = this.#config.servers[index];
    const peer = server === undefined ? (this.#replicaPeers.get(to) ?? this.#newReplicaPeer(to)) : undefined;
    if ((server === undefined && peer === undefined) || index === this.#selfIndex()) return true;
    const split = splitReplicaMessage(message);
    if (!split.ok) return false;
    const first = split.bodies[0];
    if (first?.type === 'replica_chunk') {
      // A large transfer: not again to the same server before its pause (wire/transfer-pacing.ts).
      const digest = Buffer.from(first.chunk.digest).toString('hex');
      if (!this.transfers.send(this.#components.now(), to, digest, split.bodies.length)) return true;
    }
    for (const body of split.bodies) {
      if (server !== undefined)
        this.#transport.send({ ip: server.ip, port: server.port }, this.codec.sealReplica(body, index));
      else this.#transport.send(peer!, this.codec.sealReplicaToPeer(body, to));
      this.packets_sent++;
    }
    return true;
  }

  #selfIndex(): number {
    return this.#config.servers.findIndex((server) => server.id === this.#config.id);
  }

  /**
   * A notice of two runs with one id goes to the member's configured address and to wherever
   * each run was heard from (a second agent with a copied config may sit elsewhere), naming both.
   */
  #sendDuplicate(to: number, message: Extract<Message, { type: 'duplicate' }>, configured: Endpoint): void {
    const named = {
      ...message,
      kept_at: this.#seenText(to, message.kept),
      newcomer_at: this.#seenText(to, message.newcomer),
    };
    const targets = new Map<string, Endpoint>([[endpointText(configured), configured]]);
    for (const boot of [message.kept, message.newcomer]) {
      const seen = this.#seenAt.get(`${to}/${boot}`);
      if (seen !== undefined) targets.set(endpointText(seen), seen);
    }
    for (const endpoint of targets.values()) {
      // Sealed once per copy: each packet needs its own sequence number.
      this.#transport!.send(endpoint, this.codec.seal(named, to));
      this.packets_sent++;
    }
  }

  /** Announces a graceful leave to every peer and stops the protocol. */
  leave(): void {
    if (this.#stopped) return;
    this.core.leave(this.#components.now());
    this.#flush();
    this.stop();
  }

  /** Sends a `released` notice; works after a leave too, while the last `down` scripts run. */
  release(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.core.release(to, id, items);
    this.#flush();
  }

  /** Asks `to` whether we may take `items` (see handover/claims.ts). */
  claim(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.core.claim(to, id, items);
    this.#flush();
  }

  /** Tells `to` that we neither hold nor want these items of its claim `id`. */
  claimReply(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.core.claimReply(to, id, items);
    this.#flush();
  }

  /**
   * An authentic packet from `to` carried a boot id below `known`, one it used before: it
   * restarted with its clock set back, and every peer drops what it sends as replays. Tell it
   * (at most once per BOOT_HINT_EVERY_MS), so it goes on above `known`.
   */
  #hintBoot(to: number, known: number): void {
    const now = this.#components.now();
    if (now - (this.#hintedAt.get(to) ?? Number.NEGATIVE_INFINITY) < BOOT_HINT_EVERY_MS) return;
    const server = this.#config.servers[to];
    if (!server || !this.#transport) return;
    this.#hintedAt.set(to, now);
    const message: Message = {
      type: 'boot_hint',
      boot_id: known,
      incarnation: this.core.incarnation,
      updates: [],
    };
    this.#transport.send({ ip: server.ip, port: server.port }, this.codec.seal(message, to));
    this.packets_sent++;
  }

  /** Remembers where a run of a member was heard from; bounded by members x runs seen lately. */
  #noteSeen(member: number, boot: number, from: Endpoint): void {
    const key = `${member}/${boot}`;
    if (this.#seenAt.has(key)) return;
    // A handful of runs per member in a life: drop the oldest entries past a generous bound.
    if (this.#seenAt.size >= 8 * this.#config.servers.length) {
      const oldest = this.#seenAt.keys().next().value;
      if (oldest !== undefined) this.#seenAt.delete(oldest);
    }
    this.#seenAt.set(key, from);
  }

  #seenText(member: number, boot: number): string {
    const endpoint = this.#seenAt.get(`${member}/${boot}`);
    return endpoint === undefined ? '' : endpointText(endpoint);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#stopped) return;
    this.core.tick(this.#components.now());
    this.#flush();
  };

  #flush(): void {
    const effects = this.core.takeEffects();
    for (const { to, message } of effects.sends) {
      const server = this.#config.servers[to];
      if (!server || !this.#transport) continue;
      if (message.type === 'duplicate') {
        this.#sendDuplicate(to, message, { ip: server.ip, port: server.port });
        continue;
      }
      this.#transport.send({ ip: server.ip, port: server.port }, this.codec.seal(message, to));
      this.packets_sent++;
    }
    for (const event of effects.duplicates) {
      const where =
        event.kind === 'seen'
          ? {
              kept_at: this.#seenText(event.member, event.kept),
              newcomer_at: this.#seenText(event.member, event.newcomer),
            }
          : { kept_at: event.kept_at, newcomer_at: event.newcomer_at };
      this.#events.onDuplicate(event, where);
    }
    for (const refutation of effects.refutations) this.#events.onRefuted(refutation);
    if (effects.changes.length > 0) this.#events.onChanges(effects.changes);
    for (const notice of effects.released) this.#events.onReleased(notice);
    for (const ack of effects.released_acks) this.#events.onReleasedAck(ack);
    for (const claim of effects.claims) this.#events.onClaim(claim);
    for (const reply of effects.claim_replies) this.#events.onClaimReply(reply);
    if (effects.lease.length > 0) this.#events.onLease(effects.lease);
    if (effects.readiness.length > 0) this.#events.onReadiness?.(effects.readiness);
    const rtts = this.core.takeRoundTrips();
    if (rtts.length > 0) this.#events.onRoundTrips?.(rtts);
    if (!this.#syncedReported && this.core.synced) {
      this.#syncedReported = true;
      this.#events.onSynced();
    }
    if (this.#stopped) return;
    const wake = this.core.nextWakeAt();
    if (wake === this.#timerAt && this.#timer) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = wake;
    this.#timer = Number.isFinite(wake) ? setTimer(this.#tick, wake - this.#components.now()) : undefined;
  }
}

/** An endpoint as logs and notices show it: "ip:port", "[v6]:port". */
function endpointText(endpoint: Endpoint): string {
  return endpoint.ip.includes(':') ? `[${endpoint.ip}]:${endpoint.port}` : `${endpoint.ip}:${endpoint.port}`;
}
