/**
 * The membership protocol core of one node: SWIM-style probing with indirect probes and
 * piggybacked gossip, quorum agreement on "down", refutation by incarnation, graceful leave
 * and Lifeguard-style local health.
 *
 * Pure and deterministic: it never reads a clock, a socket or Math.random. The caller passes
 * the time into every call, delivers packets with `receive`, calls `tick` when `nextWakeAt`
 * comes, and carries out what `takeEffects` returns (messages to send, state changes). The
 * daemon and the simulator run this same code.
 *
 * This file is the entry point: it dispatches packets and ticks and carries out what the parts
 * decide. The parts, one concept a file: member-view.ts (the member table and the merge rules),
 * probing.ts (the probe cycle and relaying), refutation.ts (news about ourselves),
 * dissemination.ts (pushes, piggybacking, corrections), state-sync.ts (full view exchange),
 * reports.ts and quorum.ts (reports and the decision), witnesses.ts, awareness.ts, timing.ts.
 */

import { KEEP_RENEWAL_MS, LEASE_HOLD_MS, renewableUntil } from '../handover/fence.js';
import { Awareness } from './awareness.js';
import { Dissemination, fittingGossip } from './dissemination.js';
import { BootIdentities, type DuplicateSeen } from './identity.js';
import {
  GRANTS_LOST_MS,
  GRANTS_RENEW_GAP_MS,
  GRANTS_STALE_MS,
  grantFreshMs,
  LEASE_ALIGN_MS,
  LEASE_LAPSE_AHEAD_MS,
  LEASE_ROUND_GAP_MS,
  LEASE_ROUND_MS,
  LeaseGrants,
  type LeasePings,
  leaseRetryMs,
  leaseRoundAsks,
} from './lease.js';
import {
  type AliveUpdate,
  correctionFor,
  type GoneUpdate,
  isGone,
  isLive,
  type MemberChange,
  type MemberChangeReason,
  MemberTable,
  type MemberView,
  merge,
  type SuspectUpdate,
} from './member-view.js';
import {
  type Gossip,
  type MemberStateName,
  type Message,
  type Outgoing,
  type Packing,
  PING_FLAG_WANT_STATE,
  type ReadinessUpdate,
  type ReleasedItem,
  type Update,
} from './messages.js';
import { ProbeOrder, sample } from './probe-order.js';
import { ProbeCycle } from './probing.js';
import { confirmationAsks, confirmationsNeeded, liveReports, quorumVerdict } from './quorum.js';
import {
  OwnReadiness,
  type ReadinessSets,
  type ReadinessState,
  ReadinessTable,
  stateIn,
} from './readiness.js';
import { type Refutation, refutationFor, refutingIncarnation } from './refutation.js';
import type { Renumbering } from './renumbering.js';
import { Reports, suspectUpdate } from './reports.js';
import { pullsState, recordUpdate, StateSync, stateMessages, stateRecords } from './state-sync.js';
import { reportTtlMs, stallThresholdMs } from './timing.js';
import { Witnesses } from './witnesses.js';

export type { DuplicateSeen } from './identity.js';
export type { MemberChange, MemberChangeReason, MemberView } from './member-view.js';
export { isLive } from './member-view.js';
export type { Outgoing, Packing } from './messages.js';
export type { Refutation } from './refutation.js';

export interface NodeOptions {
  /** This node's server index. */
  self: number;
  memberCount: number;
  quorum: number;
  gossip_interval_ms: number;
  ping_per_interval: number;
  ping_timeout_ms: number;
  indirect_probes: number;
  /** Uniform in [0, 1). */
  random: () => number;
  /** The incarnation this node starts with; a restart must start higher (a boot time in ms). */
  incarnation: number;
  packing: Packing;
  /** Overrides the report lifetime (ms); default reportTtlMs(). */
  report_ttl_ms?: number;
  /**
   * This run's boot (the packet header's boot id; identity.ts): what peers' notices of a second
   * agent with our id name us by. Default: `incarnation`.
   */
  boot?: number;
}

/** What this node learnt about two live agents with one id (identity.ts), for the agent's log. */
export type DuplicateEvent =
  /** We hear two agents claim `member`'s id; we told both. */
  | ({ kind: 'seen'; at: number } & DuplicateSeen)
  /** A peer told us another agent claims our id; `we`: whether we keep it or stay out. */
  | {
      kind: 'told';
      at: number;
      by: number;
      we: 'kept' | 'newcomer';
      kept: number;
      newcomer: number;
      kept_at: string;
      newcomer_at: string;
    };

/** A peer acknowledged our `released` notice `id`. */
export interface ReleasedAck {
  from: number;
  id: number;
}

/** A peer's `released` notice: it gave these items up to us (see `release`). */
export interface ReleasedNotice {
  from: number;
  id: number;
  items: ReleasedItem[];
}

/**
 * A peer's `claim` (it wants to take these items) or `claim_reply` (it neither holds nor wants
 * these items of our claim `id`); see handover/claims.ts.
 */
export interface ClaimMessage {
  from: number;
  id: number;
  items: ReleasedItem[];
}

/** What changed about this node's own lease (lease.ts), for the controller to renew or give up. */
export type LeaseEvent =
  /** A lease round began: grants were asked for now. Renew what `keep` holds, by KEEP_RENEWAL_MS from now. */
  | { kind: 'round'; at: number }
  /** A grant arrived and moved the lease base to `base`. */
  | { kind: 'granted'; at: number; base: number }
  /**
   * A grant made the quorum's grants as fresh as a round's pings (their pings sent at `base` or
   * later, within KEEP_RENEWAL_MS) at least GRANTS_RENEW_GAP_MS after the last of these or of a
   * round: renew what `keep` holds, by KEEP_RENEWAL_MS from `base`. Follows the `granted`.
   */
  | { kind: 'fresh'; at: number; base: number }
  /** A peer refused us a grant, or declared us gone: the lease is void until regranted. */
  | { kind: 'lost'; at: number }
  /** Our process stalled (GC, swap, SIGSTOP) for `late_ms`: renewals stopped meanwhile. */
  | { kind: 'stalled'; at: number; late_ms: number };

export interface Effects {
  sends: Outgoing[];
  changes: MemberChange[];
  /** Refutations of our own down or leave, each also in `changes` with reason 'refute'. */
  refutations: Refutation[];
  released: ReleasedNotice[];
  released_acks: ReleasedAck[];
  claims: ClaimMessage[];
  claim_replies: ClaimMessage[];
  lease: LeaseEvent[];
  duplicates: DuplicateEvent[];
  /** Members whose readiness (readiness.ts) changed in our view, ourselves included. */
  readiness: number[];
}

/** Counters for the daemon's metrics and the simulator's figures. */
export interface NodeCounters {
  probes: number;
  probes_failed: number;
  indirect_requests: number;
  refutations: number;
  declared_down: number;
  messages_sent: number;
  /** Probe failures not reported because we heard from too few members to trust ourselves. */
  reports_withheld: number;
  /** Quorums of reports that waited to hear from the majority before the decision. */
  confirmations: number;
  /** Grants refused to us (a peer promised or declared our incarnation down). */
  grants_refused: number;
  /** Lease rounds that pinged nobody: the grants in hand kept the lease (LeasePings). */
  lease_rounds_quiet: number;
  /** Lease rounds whose grants were short after leaseRetryMs: their silent members were pinged again. */
  lease_rounds_retried: number;
}

/**
 * A quorum of reports is in; before deciding, this node makes sure it is on the majority's side
 * now (see #checkQuorum): it must hear from enough other members after the quorum was reached.
 */
interface Confirmation {
  incarnation: number;
  /**
   * Members other than the suspect that answered our ping `about` it (a promise each), and when.
   * Only answers of the last ping_timeout count (see #freshAnswers).
   */
  heard: Map<number, number>;
  /** Our pings about the suspect: seq -> the member asked. */
  asked: Map<number, number>;
  /** When we last asked. */
  askedAt: number;
}

/** Round trips kept for takeRoundTrips between two calls, at most. */
const RTT_SAMPLES_MAX = 256;

/** Peers pinged at start to announce ourselves and ask for the view. */
const INTRODUCTIONS_MAX = 64;

export class MembershipNode {
  readonly self: number;
  readonly counters: NodeCounters = {
    probes: 0,
    probes_failed: 0,
    indirect_requests: 0,
    refutations: 0,
    declared_down: 0,
    messages_sent: 0,
    reports_withheld: 0,
    confirmations: 0,
    grants_refused: 0,
    lease_rounds_quiet: 0,
    lease_rounds_retried: 0,
  };

  readonly #options: NodeOptions;
  readonly #members: MemberTable;
  readonly #peers: number[];
  readonly #order: ProbeOrder;
  readonly #dissemination: Dissemination;
  readonly #awareness = new Awareness();
  readonly #probes: ProbeCycle;
  readonly #suspicions = new Reports();
  readonly #confirmations = new Map<number, Confirmation>();
  /** When we last received an authenticated message from each member (ms; -Infinity: never). */
  readonly #lastHeard: Float64Array;
  /**
   * The latest moment anybody we know of heard from each member, on our clock (ms; -Infinity:
   * nobody): our own hearing, confirmers' answers, and the silence a down or left decision
   * carries. The fence of a gone member is counted from it (handover/fence.ts).
   */
  readonly #heardByAnyone: Float64Array;
  /** The round trip of our last answered probe of each member (ms; NaN: none yet). */
  readonly #rtt: Float64Array;
  /** Round trips measured since the last takeRoundTrips (bounded), for metrics. */
  #rttSamples: number[] = [];
  readonly #grants: LeaseGrants;
  /** Whether the controller wants a lease (it holds or wants items), and the next round. */
  #leaseWanted = false;
  /** What the rounds ping for (lease.ts). */
  #leasePings: LeasePings = 'every_round';
  #nextLeaseAt = Number.POSITIVE_INFINITY;
  #lastLeaseRoundAt = Number.NEGATIVE_INFINITY;
  /** When the last round that pinged is checked for missing grants (#leaseRetry); Infinity: none due. */
  #leaseRetryAt = Number.POSITIVE_INFINITY;
  /** When a round brought forward (leaseRoundSoon) is due; Infinity: none. Under `before_renewal` it renews whatever the grants. */
  #soonLeaseAt = Number.POSITIVE_INFINITY;
  /**
   * The last moment we told the controller to renew what `keep` holds (ms): a `round` or `fresh`
   * event. The rounds of `before_renewal` count from it.
   */
  #keepRenewedAt = Number.NEGATIVE_INFINITY;
  /** Whether a grant as fresh as a round's pings came since the last round that renewed. */
  #keepGranted = false;
  /** The members pinged at #pingedAt, the clock's latest instant: a round then counts them asked. */
  #pingedAt = Number.NEGATIVE_INFINITY;
  readonly #pinged = new Set<number>();
  /** The latest time given to any call: outgoing decisions are stamped with silence from it. */
  #clock = Number.NEGATIVE_INFINITY;
  #startedAt = Number.NEGATIVE_INFINITY;
  #lease: LeaseEvent[] = [];
  /** Whether our own reports can be trusted (see witnesses.ts). */
  readonly #witnesses: Witnesses;
  readonly #reportTtlMs: number;
  readonly #stateSync: StateSync;
  /** Which run of each member we listen to, and whether we are a newcomer (identity.ts). */
  readonly #identities: BootIdentities;
  #boot: number;
  /** Whether we were out of placement as a newcomer at the last look (to report the change). */
  #out = false;
  #duplicates: DuplicateEvent[] = [];
  #incarnation: number;
  #rounds = 0;
  #nextRoundAt = 0;
  #lastTickAt: number | undefined;
  #started = false;
  #left = false;
  #sends: Outgoing[] = [];
  #changes: MemberChange[] = [];
  #refutations: Refutation[] = [];
  #released: ReleasedNotice[] = [];
  #releasedAcks: ReleasedAck[] = [];
  #claims: ClaimMessage[] = [];
  #claimReplies: ClaimMessage[] = [];
  /** What every member says of its readiness, and what we say of ours (readiness.ts). */
  readonly #readiness: ReadinessTable;
  readonly #ownReadiness: OwnReadiness;
  #readinessChanged = new Set<number>();

  constructor(options: NodeOptions) {
    assert(options.self >= 0 && options.self < options.memberCount, 'self index out of range');
    assert(options.quorum >= 1 && options.quorum <= options.memberCount, 'quorum out of range');
    this.#options = options;
    this.self = options.self;
    this.#incarnation = options.incarnation;
    // The probe cycle draws the first sequence number: the first use of the random source.
    this.#probes = new ProbeCycle(
      {
        ping_timeout_ms: options.ping_timeout_ms,
        indirect_probes: options.indirect_probes,
        random: options.random,
        awareness: this.#awareness,
        counters: this.counters,
      },
      {
        incarnation: () => this.#incarnation,
        incarnationOf: (member) => this.#members.get(member)!.incarnation,
        asksState: (pull) => this.#stateSync.asks(pull),
        probeable: (peer) => this.#probeable(peer),
        helpersFor: (target) =>
          this.#peers.filter((peer) => peer !== target && this.#members.get(peer)!.state === 'alive'),
        send: (to, message) => this.#send(to, message),
        unreachable: (now, target, incarnation) => this.#reportUnreachable(now, target, incarnation),
        answered: (now, target) => this.#withdrawReport(now, target),
        roundTrip: (target, rtt_ms) => this.#roundTrip(target, rtt_ms),
      },
    );
    this.#lastHeard = new Float64Array(options.memberCount).fill(Number.NEGATIVE_INFINITY);
    this.#heardByAnyone = new Float64Array(options.memberCount).fill(Number.NEGATIVE_INFINITY);
    this.#rtt = new Float64Array(options.memberCount).fill(Number.NaN);
    this.#grants = new LeaseGrants(options.memberCount, options.quorum);
    this.#members = new MemberTable(options.memberCount, this.self, this.#incarnation);
    this.#peers = Array.from({ length: options.memberCount }, (_, i) => i).filter((i) => i !== this.self);
    this.#order = new ProbeOrder(this.#peers, options.random);
    this.#dissemination = new Dissemination({
      packing: options.packing,
      memberCount: options.memberCount,
      random: options.random,
    });
    this.#reportTtlMs =
      options.report_ttl_ms ??
      reportTtlMs(options.ping_timeout_ms, options.gossip_interval_ms, options.memberCount);
    this.#witnesses = new Witnesses(options);
    this.#stateSync = new StateSync(this.#peers.length);
    this.#boot = options.boot ?? options.incarnation;
    // A live agent is heard within a report lifetime (else it is reported); three of them
    // without a word and a run counts as gone.
    this.#identities = new BootIdentities({
      memberCount: options.memberCount,
      forget_ms: 3 * this.#reportTtlMs,
    });
    this.#readiness = new ReadinessTable(options.memberCount);
    this.#ownReadiness = new OwnReadiness(this.self);
  }

  /** Counters about two agents with one id (identity.ts). */
  get duplicateCounters(): Readonly<BootIdentities['counters']> {
    return this.#identities.counters;
  }

  /** Whether this agent stays out of placement: peers told it another run has its id. */
  get standingDown(): boolean {
    return this.#identities.standingDown(this.#clock);
  }

  /** The boot that keeps `member`'s id while two runs claim it; undefined: no conflict. */
  keptBoot(member: number): number | undefined {
    return this.#identities.keptBoot(member);
  }

  /** Our boot changed (the driver went on above a boot id a peer had seen). */
  setBoot(boot: number): void {
    this.#boot = boot;
  }

  // ---- readiness (readiness.ts decides) -------------------------------------------------------

  /**
   * What we say of our readiness: the systems (indexes, see ReadinessUpdate) whose check fails
   * here, and those we hold down in. A change is a new version, pushed at once and piggybacked;
   * from the first call on, every message we send carries our record beside our incarnation.
   */
  setReadiness(now: number, sets: ReadinessSets): void {
    this.#clock = Math.max(this.#clock, now);
    this.#announceReadiness(this.#ownReadiness.set(this.#incarnation, sets));
  }

  /** `member`'s readiness for system index `system` in our view ('unknown': nothing said yet). */
  readiness(member: number, system: number): ReadinessState {
    if (member === this.self) {
      const own = this.#ownReadiness.record;
      if (own === undefined) return 'unknown';
      return stateIn(own, system);
    }
    return this.#readiness.state(member, system, this.#members.get(member)!.incarnation);
  }

  #announceReadiness(record: ReadinessUpdate | undefined): void {
    if (record === undefined) return;
    this.#readinessChanged.add(this.self);
    this.#dissemination.enqueue(record);
    if (this.#started && !this.#left) this.#push(record, -1);
  }

  /** A peer's readiness record: adopted when newer; true when the sender should get ours. */
  #applyReadiness(update: ReadinessUpdate): boolean {
    if (update.member === this.self || update.member >= this.#members.size) return false;
    const merged = this.#readiness.merge(update);
    if (merged === 'newer') {
      this.#readinessChanged.add(update.member);
      this.#dissemination.enqueue(update);
    }
    return merged === 'older';
  }

  // ---- queries -------------------------------------------------------------------------

  get incarnation(): number {
    return this.#incarnation;
  }

  /** Local health score (0 = healthy). */
  get healthScore(): number {
    return this.#awareness.score;
  }

  /** True once a peer has told us its view (or we are alone). */
  get synced(): boolean {
    return this.#stateSync.synced;
  }

  get left(): boolean {
    return this.#left;
  }

  member(index: number): Readonly<MemberView> {
    return this.#members.get(index)!;
  }

  members(): readonly Readonly<MemberView>[] {
    return this.#members.all();
  }

  /** Indexes of the members that placement should treat as live (not down, not left). */
  liveMembers(): number[] {
    const live = this.#members.live();
    // A newcomer holds nothing and takes nothing: it is out of its own placement.
    return this.standingDown ? live.filter((member) => member !== this.self) : live;
  }

  /**
   * The base of our own lease at `now` (lease.ts): the send time of the oldest of the freshest
   * quorum - 1 granted pings; `now` for a quorum of one; -Infinity without enough grants.
   */
  leaseBase(now: number): number {
    if (this.#identities.standingDown(now)) return Number.NEGATIVE_INFINITY;
    return this.#grants.base(now);
  }

  /** How fresh every grant of a renewal must be (ms). */
  get grant_fresh_ms(): number {
    return grantFreshMs(this.#options.ping_timeout_ms);
  }

  /**
   * The latest moment anybody we know of heard from `member`, on our clock: -Infinity when
   * nobody did since we started (then our start is the safe guess for a fence).
   */
  heardByAnyone(member: number): number {
    return Math.max(this.#heardByAnyone[member]!, this.#lastHeard[member]!, this.#startedAt);
  }

  /**
   * Asks for lease rounds (the controller holds or wants items) or stops them. A round comes
   * every LEASE_ROUND_MS and pings enough members for a quorum of grants at once: every round,
   * only when the grants in hand are too old to renew on, or only when the lease is about to
   * lapse (`pings`, see LeasePings).
   */
  setLeaseWanted(now: number, wanted: boolean, pings: LeasePings = 'every_round'): void {
    this.#clock = Math.max(this.#clock, now);
    const before = this.#leasePings;
    this.#leasePings = pings;
    if (wanted === this.#leaseWanted) {
      // Rounds that renew (items to hold or take), or renew otherwise: the next comes now, not
      // when the lease would have lapsed or the grants in hand gone stale.
      if (wanted && before !== pings && pings !== 'before_lapse') this.leaseRoundSoon(now);
      return;
    }
    this.#leaseWanted = wanted;
    this.#nextLeaseAt = wanted ? now : Number.POSITIVE_INFINITY;
    this.#leaseRetryAt = Number.POSITIVE_INFINITY;
    this.#soonLeaseAt = Number.POSITIVE_INFINITY;
    if (wanted && this.#started && !this.#left) this.#leaseRound(now, 'soon');
  }

  /** When we last received an authenticated message from `member` (ms; -Infinity: never). */
  lastHeard(member: number): number {
    return this.#lastHeard[member]!;
  }

  /** The round trip of our last answered probe of `member` (ms), or undefined. */
  roundTrip(member: number): number | undefined {
    const rtt = this.#rtt[member]!;
    return Number.isNaN(rtt) ? undefined : rtt;
  }

  /** The round trips measured since the last call (ms), oldest first; the first RTT_SAMPLES_MAX. */
  takeRoundTrips(): number[] {
    const samples = this.#rttSamples;
    this.#rttSamples = [];
    return samples;
  }

  #roundTrip(member: number, rtt_ms: number): void {
    this.#rtt[member] = rtt_ms;
    // Nobody may be taking them (the simulator): beyond the bound they are not kept, in O(1).
    if (this.#rttSamples.length < RTT_SAMPLES_MAX) this.#rttSamples.push(rtt_ms);
  }

  /** Reporters currently counted against `member` (for status and tests). */
  reportersOf(member: number): number[] {
    return this.#suspicions.reportersOf(member);
  }

  /** When the caller must call `tick` next (ms). */
  nextWakeAt(): number {
    if (!this.#started || this.#left) return Number.POSITIVE_INFINITY;
    let wake = Math.min(this.#nextRoundAt, this.#probes.wakeAt(), this.#nextLeaseAt, this.#leaseRetryAt);
    if (this.#out) wake = Math.min(wake, this.#identities.outUntil);
    for (const confirmation of this.#confirmations.values())
      wake = Math.min(wake, confirmation.askedAt + this.#options.ping_timeout_ms / 2);
    // Reports expire at the next tick after their time (at most one interval late): quorum
    // counting ignores expired reports anyway, so no wake-up is needed for them.
    return wake;
  }

  takeEffects(): Effects {
    const effects = {
      sends: this.#sends,
      changes: this.#changes,
      refutations: this.#refutations,
      released: this.#released,
      released_acks: this.#releasedAcks,
      claims: this.#claims,
      claim_replies: this.#claimReplies,
      lease: this.#lease,
      duplicates: this.#duplicates,
      readiness: [...this.#readinessChanged],
    };
    this.#claims = [];
    this.#claimReplies = [];
    this.#duplicates = [];
    this.#readinessChanged = new Set();
    this.#lease = [];
    this.#releasedAcks = [];
    this.#sends = [];
    this.#changes = [];
    this.#refutations = [];
    this.#released = [];
    return effects;
  }

  // ---- inputs --------------------------------------------------------------------------

  /** Starts probing. Pings carry the joining flag until a peer has sent us its view. */
  start(now: number): void {
    assert(!this.#started, 'start() called twice');
    this.#started = true;
    this.#startedAt = now;
    this.#clock = Math.max(this.#clock, now);
    this.#lastTickAt = now;
    // Introduce ourselves at once to a bounded sample of peers, so a restarted node is seen
    // alive and told the view without waiting for the round-robin. These pings are not
    // probes: a peer that has not started yet must not be suspected for missing them.
    for (const peer of sample(this.#peers, INTRODUCTIONS_MAX, this.#options.random)) {
      this.#probes.ping(peer);
    }
    this.#nextRoundAt = now + this.#interval();
    if (this.#leaseWanted) this.#leaseRound(now, 'soon');
  }

  /**
   * Takes over from `previous`, this server's node of the old server list, at `now`: the server
   * list changed in process (a committed `flip server add|rm`). This node was made for the new
   * list and not started; `previous` is not used again.
   *
   * Kept, member by member (`renumbering` carries each by id): the records (state, incarnation),
   * when each was last heard and by anyone, round trips, lease grants, remembered lease pings and
   * promises, readiness, the runs seen of each (identity.ts); our incarnation, boot, readiness,
   * counters and lease wish. A server added starts down at incarnation 0 (never heard of; see
   * MemberTable.carryFrom) and is pinged at once, so it is alive here as soon as it answers.
   * Started afresh, which can only delay a decision, never make one: reports and confirmations
   * under way, probes in flight, the gossip queue, the witnesses of our own connectivity, the state
   * sync. A lease round starts at once when rounds are wanted, under the new quorum.
   */
  succeed(now: number, previous: MembershipNode, renumbering: Renumbering): void {
    assert(!this.#started, 'succeed() on a started node');
    assert(renumbering.next.length === this.#members.size, 'renumbering of another list');
    const at = Math.max(now, previous.#clock);
    this.#started = true;
    this.#left = previous.#left;
    this.#incarnation = previous.#incarnation;
    this.#boot = previous.#boot;
    Object.assign(this.counters, previous.counters);
    this.#members.carryFrom(at, previous.#members, renumbering);
    for (let index = 0; index < this.#members.size; index++) {
      const old = renumbering.previousOf(index);
      if (old === undefined) continue;
      this.#lastHeard[index] = previous.#lastHeard[old]!;
      this.#heardByAnyone[index] = previous.#heardByAnyone[old]!;
      this.#rtt[index] = previous.#rtt[old]!;
    }
    this.#grants.carryFrom(previous.#grants, renumbering);
    this.#readiness.carryFrom(previous.#readiness, renumbering);
    this.#ownReadiness.carryFrom(previous.#ownReadiness, renumbering);
    this.#identities.carryFrom(previous.#identities, renumbering);
    this.#out = previous.#out;
    this.#leaseWanted = previous.#leaseWanted;
    this.#leasePings = previous.#leasePings;
    this.#lastLeaseRoundAt = previous.#lastLeaseRoundAt;
    this.#keepRenewedAt = previous.#keepRenewedAt;
    this.#keepGranted = previous.#keepGranted;
    this.#startedAt = previous.#startedAt;
    this.#clock = at;
    this.#lastTickAt = at;
    this.#rounds = previous.#rounds;
    this.#nextRoundAt = at + this.#interval();
    const own = this.#ownReadiness.record;
    if (own !== undefined) this.#dissemination.enqueue(own);
    for (const added of sample(renumbering.added(), INTRODUCTIONS_MAX, this.#options.random))
      this.#probes.ping(added);
    this.#nextLeaseAt = this.#leaseWanted ? at : Number.POSITIVE_INFINITY;
    if (this.#leaseWanted && !this.#left) this.#leaseRound(at, 'soon');
  }

  tick(now: number): void {
    if (!this.#started || this.#left) return;
    this.#clock = Math.max(this.#clock, now);
    this.#noticeStall(now);
    this.#checkStandingDown(now);
    this.#expireReports(now);
    this.#withdrawIfIsolated(now);
    this.#probes.advance(now);
    this.#askAgain(now);
    const probing = now >= this.#nextRoundAt;
    if (probing) {
      this.#nextRoundAt = now + this.#interval();
      for (let i = 0; i < this.#options.ping_per_interval; i++) {
        // Down and left members are probed too (their failures count for nothing): it is how
        // two sides that each declared the other down find each other after a partition.
        const target = this.#order.next((peer) => !this.#probes.probing(peer));
        if (target === undefined) break;
        this.#startProbe(now, target, pullsState(this.#rounds));
      }
      this.#rounds++;
    }
    // A round due soon goes out with the probes: their pings count as its own (LEASE_ALIGN_MS).
    const aligned =
      probing && this.#leasePings !== 'before_lapse' && this.#nextLeaseAt - now <= LEASE_ALIGN_MS;
    // A round brought forward and still to come is this one, a little early: one that renewed
    // nothing (quiet, under `before_renewal`) would otherwise take its place.
    if (now >= this.#nextLeaseAt || aligned) {
      const soon = this.#soonLeaseAt !== Number.POSITIVE_INFINITY;
      this.#leaseRound(now, soon ? 'soon' : now >= this.#nextLeaseAt ? 'due' : 'aligned');
    } else if (now >= this.#leaseRetryAt) this.#leaseRetry();
    this.#grants.expire(now);
    this.#lastTickAt = now;
  }

  /**
   * A message from `from`. `boot`: the sender's run (identity.ts); without it, every message of
   * `from` counts as one run's.
   */
  receive(now: number, from: number, message: Message, boot?: number): void {
    if (!this.#started || this.#left) return;
    if (from === this.self || from < 0 || from >= this.#members.size) return;
    this.#clock = Math.max(this.#clock, now);
    if (boot !== undefined && !this.#admit(now, from, boot)) return;
    if (message.type === 'duplicate') this.#toldOfDuplicate(now, from, message);
    this.#handle(now, from, message);
    // After the message's own news (a refutation in it voids the quorum it would confirm).
    if (message.type === 'ack') this.#confirmWith(now, from, message);
  }

  #handle(now: number, from: number, message: Message): void {
    this.#lastHeard[from] = now;
    this.#witnesses.heard(now, from);
    this.#hearFrom(now, from, message.incarnation);
    const corrections: Gossip[] = [];
    for (const update of message.updates) {
      if (update.kind === 'readiness') {
        const ours = this.#applyReadiness(update) ? this.#readiness.get(update.member) : undefined;
        if (ours !== undefined) corrections.push(ours);
        continue;
      }
      this.#apply(now, update, from);
      const correction = this.#correctionFor(update);
      if (correction) corrections.push(correction);
    }
    // The sender told us something older than what we know: answer with the newer record,
    // so a decision whose gossip was lost (its retransmits spent during a partition) still
    // reaches every node that talks to us.
    if (corrections.length > 0) this.#sendCorrections(from, corrections);

    switch (message.type) {
      case 'ping': {
        if (message.target !== this.self) return;
        const gone = this.#holdsGone(from, message.incarnation);
        const ack: Message = {
          type: 'ack',
          seq: message.seq,
          grant: !gone && this.#grants.mayGrant(from, message.incarnation),
          incarnation: this.#incarnation,
          updates: [],
        };
        if (gone) ack.gone = true;
        if (message.about !== undefined && message.about.member !== this.self) {
          // A confirmation: promise, and say when the member was last heard from (lease.ts).
          const about = message.about;
          this.#grants.promise(about.member, about.incarnation);
          const heard = this.heardByAnyone(about.member);
          if (heard > Number.NEGATIVE_INFINITY) ack.heard_ago_ms = silenceMs(now - heard);
        }
        this.#send(from, ack);
        if ((message.flags & PING_FLAG_WANT_STATE) !== 0) this.#sendState(from);
        return;
      }
      case 'ack': {
        this.#probes.onAck(now, from, message.seq);
        const grant = this.#grants.acked(message.seq, from, message.grant);
        if (grant.known && !grant.refused) {
          const base = this.#grants.base(now);
          this.#lease.push({ kind: 'granted', at: now, base });
          // Quiet rounds: the lease moved on, so the round that would have found it about to
          // lapse moves too. Without this the node woke at the old time for nothing, at every
          // probe's ack (2.2 wake-ups a second at the defaults).
          if (this.#leaseWanted && this.#leasePings === 'before_lapse')
            this.#nextLeaseAt = Math.max(this.#nextLeaseAt, this.#lapseRoundAt(now));
          // A grant that a keep renewal is made on (its quorum's pings as fresh as a round's):
          // rounds need not renew while they come, and the one that would have asked for it
          // moves on (a round brought forward still comes).
          if (this.#leaseWanted && renewableUntil(base, now, KEEP_RENEWAL_MS) !== undefined) {
            this.#keepGranted = true;
            if (now - this.#keepRenewedAt >= GRANTS_RENEW_GAP_MS) {
              this.#lease.push({ kind: 'fresh', at: now, base });
              this.#keepRenewedAt = now;
            }
            if (this.#leasePings === 'before_renewal')
              this.#nextLeaseAt = Math.min(
                Math.max(this.#nextLeaseAt, this.#keepRenewedAt + GRANTS_STALE_MS),
                this.#soonLeaseAt,
              );
          }
          // The round has its grants: no wake-up to find that out (#leaseRetry).
          if (
            this.#leaseRetryAt !== Number.POSITIVE_INFINITY &&
            this.#roundGranted() >= confirmationsNeeded(this.#options.quorum)
          )
            this.#leaseRetryAt = Number.POSITIVE_INFINITY;
        }
        // Held gone: the gossip sent with the ack says so, and we refute that, as declared.
        if (grant.refused && message.gone === true) this.counters.grants_refused++;
        else if (grant.refused && grant.incarnation === this.#incarnation && !this.#left) {
          // The peer promised (or declared) this incarnation of us down: we cannot renew on it.
          // Refute, so that grants resume at the next incarnation, and drop the lease meanwhile.
          this.counters.grants_refused++;
          this.#refute(now, refutingIncarnation(this.#incarnation, this.#incarnation));
        }
        return;
      }
      case 'nack':
        this.#probes.onNack(from, message.seq);
        return;
      case 'ping_req':
        if (message.target === this.self || message.target >= this.#members.size) return;
        this.#probes.relay(now, from, message);
        return;
      case 'state': {
        const stale: Update[] = [];
        for (const record of message.records) {
          const update = recordUpdate(record);
          if (!update) continue;
          this.#apply(now, update, from);
          const correction = this.#correctionFor(update);
          if (correction) stale.push(correction);
        }
        if (stale.length > 0) this.#sendCorrections(from, stale);
        this.#stateSync.received();
        return;
      }
      case 'released':
        this.#send(from, {
          type: 'released_ack',
          id: message.id,
          incarnation: this.#incarnation,
          updates: [],
        });
        if (message.items.length > 0) this.#released.push({ from, id: message.id, items: message.items });
        return;
      case 'released_ack':
        this.#releasedAcks.push({ from, id: message.id });
        return;
      case 'claim':
        this.#claims.push({ from, id: message.id, items: message.items });
        return;
      case 'claim_reply':
        if (message.items.length > 0) this.#claimReplies.push({ from, id: message.id, items: message.items });
        return;
      case 'boot_hint':
        // The transport's business (see MembershipDriver); nothing for the protocol.
        return;
      case 'duplicate':
        // Handled before (see #toldOfDuplicate).
        return;
      case 'gossip':
        return;
    }
  }

  /**
   * Tells `to` that this node ran `down` for `items`, which now belong to it (see the
   * `released` message). Sent as few messages as fit, each with the same `id`; also after a
   * leave, while the leaving node runs its last `down` scripts.
   */
  release(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.#sendItems(to, 'released', id, items);
  }

  /** Asks `to` whether we may take `items` (a `claim`, see handover/claims.ts). */
  claim(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.#sendItems(to, 'claim', id, items);
  }

  /** Tells `to` that we neither hold nor want these items of its claim `id`. */
  claimReply(to: number, id: number, items: readonly ReleasedItem[]): void {
    this.#sendItems(to, 'claim_reply', id, items);
  }

  /** Sends `items` to `to` in as few messages of `type` as fit, each with the same `id`. */
  #sendItems(
    to: number,
    type: 'released' | 'claim' | 'claim_reply',
    id: number,
    items: readonly ReleasedItem[],
  ): void {
    assert(to !== this.self && to >= 0 && to < this.#members.size, `${type}: bad member index`);
    const packing = this.#options.packing;
    const room = packing.bodyBytesMax - packing.baseSize(type);
    let batch: ReleasedItem[] = [];
    let used = 0;
    const flush = () => {
      if (batch.length === 0) return;
      this.#send(to, { type, id, items: batch, incarnation: this.#incarnation, updates: [] });
      batch = [];
      used = 0;
    };
    for (const item of items) {
      const size = packing.releasedItemSize(item);
      // An item too big for any packet is left out. For a release notice that is a hint lost (the
      // receiver announces the item at its next plan anyway); a claim for it is never answered,
      // so the claimer never takes it: config validation keeps names far below this size.
      if (size > room) continue;
      if (used + size > room) flush();
      batch.push(item);
      used += size;
    }
    flush();
  }

  /**
   * Graceful leave: tell every peer at once (they mark us left without a quorum, since we
   * say so ourselves, authenticated), then stop. The caller sends the effects and exits.
   */
  leave(now: number): void {
    if (this.#left) return;
    this.#clock = Math.max(this.#clock, now);
    const update: Update = { kind: 'left', member: this.self, incarnation: this.#incarnation };
    this.#setState(now, this.self, 'left', this.#incarnation, 'leave');
    for (const peer of this.#peers) {
      this.#sends.push({
        to: peer,
        message: { type: 'gossip', incarnation: this.#incarnation, updates: [{ ...update, silent_ms: 0 }] },
      });
      this.counters.messages_sent++;
    }
    this.#left = true;
    this.#probes.clear();
    this.#nextLeaseAt = Number.POSITIVE_INFINITY;
    this.#leaseRetryAt = Number.POSITIVE_INFINITY;
    this.#soonLeaseAt = Number.POSITIVE_INFINITY;
  }

  /**
   * Brings the next lease round forward to now, or to LEASE_ROUND_GAP_MS after the last one: an
   * item whose `alive` just started is renewed (named to its lease program) at once, with the
   * round's pings, instead of up to LEASE_ROUND_MS later. Nothing when no rounds are wanted.
   */
  leaseRoundSoon(now: number): void {
    this.#clock = Math.max(this.#clock, now);
    if (!this.#leaseWanted || !this.#started || this.#left) return;
    const at = Math.max(now, this.#lastLeaseRoundAt + LEASE_ROUND_GAP_MS);
    if (at <= now) this.#leaseRound(now, 'soon');
    else {
      this.#nextLeaseAt = Math.min(this.#nextLeaseAt, at);
      this.#soonLeaseAt = Math.min(this.#soonLeaseAt, at);
    }
  }

  // ---- leases (lease.ts decides) ------------------------------------------------------------

  /**
   * Whether we hold `member` down or left at `incarnation` (or later): then a ping of it earns no
   * grant, and the ack says why. A ping also earns none when we promised (lease.ts).
   */
  #holdsGone(member: number, incarnation: number): boolean {
    const record = this.#members.get(member)!;
    return isGone(record.state) && record.incarnation >= incarnation;
  }

  /**
   * Pings enough live members at once for a quorum of grants: those needed and a tenth more
   * (leaseRoundAsks), counting those pinged at this instant already (a probe's target); a grant
   * still missing after leaseRetryMs is asked of the others (#leaseRetry). `why`: the round was
   * due, brought forward (leaseRoundSoon, the first round), or taken along by a probe while due
   * within LEASE_ALIGN_MS. Under `before_renewal` a round that comes when the last keep renewal
   * was a grant's renews only if that is GRANTS_LOST_MS old, and pings nobody if it is less than
   * GRANTS_STALE_MS old; after a renewal on a round (none since on grants), every round renews.
   */
  #leaseRound(now: number, why: 'due' | 'soon' | 'aligned'): void {
    this.#nextLeaseAt = now + LEASE_ROUND_MS;
    this.#soonLeaseAt = Number.POSITIVE_INFINITY;
    this.#lastLeaseRoundAt = now;
    this.#leaseRetryAt = Number.POSITIVE_INFINITY;
    const needed = confirmationsNeeded(this.#options.quorum);
    if (needed === 0) this.#lease.push({ kind: 'granted', at: now, base: now });
    let renews = true;
    // Under `before_renewal`, rounds renew (every LEASE_ROUND_MS, as under `every_round`) until a
    // grant does again: a cut-off holder's renewals stay as close as they were.
    if (this.#leasePings === 'before_renewal' && why !== 'soon' && this.#keepGranted) {
      const renewed = this.#keepRenewedAt;
      // Quiet: a probe's grant came since the last renewal was due, and renewed.
      if (now + (why === 'aligned' ? LEASE_ALIGN_MS : 0) < renewed + GRANTS_STALE_MS) {
        this.#nextLeaseAt = renewed + GRANTS_STALE_MS;
        this.counters.lease_rounds_quiet++;
        return;
      }
      renews = now >= renewed + GRANTS_LOST_MS;
      if (!renews) this.#nextLeaseAt = renewed + GRANTS_LOST_MS;
    }
    if (this.#leasePings === 'before_lapse') {
      // Only the lease is kept: the next round comes when it would lapse within
      // LEASE_LAPSE_AHEAD_MS (a grant that comes meanwhile makes that round a quiet one). A quiet
      // round is no round to renew on: it pings nobody.
      const pingAt = this.#lapseRoundAt(now);
      if (pingAt > now) {
        this.#nextLeaseAt = Math.max(this.#nextLeaseAt, pingAt);
        this.counters.lease_rounds_quiet++;
        return;
      }
    }
    if (renews) {
      this.#lease.push({ kind: 'round', at: now });
      this.#keepRenewedAt = now;
      this.#keepGranted = false;
    }
    if (needed === 0) return;
    const pinged = this.#pingedAt === now ? this.#pinged : undefined;
    let asks = leaseRoundAsks(needed);
    const live: number[] = [];
    for (const peer of this.#peers) {
      if (!isLive(this.#members.get(peer)!.state)) continue;
      if (pinged?.has(peer)) asks--;
      else live.push(peer);
    }
    for (const peer of sample(live, Math.max(0, asks), this.#options.random)) this.#probes.ping(peer);
    this.#leaseRetryAt = now + leaseRetryMs(this.#options.ping_timeout_ms);
  }

  /**
   * The round that began at #lastLeaseRoundAt has fewer grants than a quorum needs (of pings sent
   * since it began): pings once more, at once, enough of the live members that have not granted
   * since then (see leaseRetryMs). Once per round; nothing when the grants are in.
   */
  #leaseRetry(): void {
    this.#leaseRetryAt = Number.POSITIVE_INFINITY;
    const since = this.#lastLeaseRoundAt;
    const needed = confirmationsNeeded(this.#options.quorum);
    const granted = this.#roundGranted();
    const silent: number[] = [];
    for (const peer of this.#peers)
      if (this.#grants.grantedAt(peer) < since && isLive(this.#members.get(peer)!.state)) silent.push(peer);
    if (granted >= needed || silent.length === 0) return;
    this.counters.lease_rounds_retried++;
    for (const peer of sample(silent, confirmationAsks(needed - granted), this.#options.random))
      this.#probes.ping(peer);
  }

  /** When a round finds the lease about to lapse (within LEASE_LAPSE_AHEAD_MS): -Infinity when there is none. */
  #lapseRoundAt(now: number): number {
    return this.leaseBase(now) + LEASE_HOLD_MS - LEASE_LAPSE_AHEAD_MS;
  }

  /** The members that granted since the last lease round began. */
  #roundGranted(): number {
    let granted = 0;
    for (const peer of this.#peers) if (this.#grants.grantedAt(peer) >= this.#lastLeaseRoundAt) granted++;
    return granted;
  }

  // ---- rounds and stalls -------------------------------------------------------------------

  /**
   * Rounds keep their pace whatever our health: only timeouts stretch. Steady rounds keep the
   * evidence that we are connected (witnesses.ts) flowing at a known rate.
   */
  #interval(): number {
    return this.#options.gossip_interval_ms;
  }

  /** Whether a silence from `peer` means anything: down and left members are silent anyway. */
  #probeable(peer: number): boolean {
    return isLive(this.#members.get(peer)!.state);
  }

  /** Probes `target` (pulling its view if `pull`), noting whether we can trust our report. */
  #startProbe(now: number, target: number, pull = false): void {
    this.#probes.start(now, target, this.#witnesses.enough(now, target), pull);
  }

  /**
   * A tick much later than planned means this process stalled (GC, swap, SIGSTOP): the
   * silence we saw was ours, so push every pending deadline back by the stall and count it
   * against our own health rather than against the peers.
   */
  #noticeStall(now: number): void {
    const last = this.#lastTickAt;
    if (last === undefined) return;
    const planned = Math.max(last, Math.min(this.nextWakeAt(), now));
    const late = now - planned;
    if (late < stallThresholdMs(this.#options.gossip_interval_ms, this.#options.ping_timeout_ms)) return;
    this.#awareness.apply(1);
    this.#probes.stretch(late);
    this.#suspicions.stretch(late);
    this.#lease.push({ kind: 'stalled', at: now, late_ms: late });
  }

  // ---- reports and quorum ------------------------------------------------------------------

  /**
   * Our own probe of `target` at its incarnation `probed` failed: report it, spread the report,
   * and count the votes. Not when a newer incarnation was heard of meanwhile: a restarted member
   * whose old run our probe's pings went to, or one that refuted, is not suspected for them.
   */
  #reportUnreachable(now: number, target: number, probed: number): void {
    const member = this.#members.get(target)!;
    if (isGone(member.state)) return;
    if (member.incarnation > probed) {
      this.counters.reports_withheld++;
      return;
    }
    if (!this.#witnesses.enough(now, target)) {
      this.counters.reports_withheld++;
      return;
    }
    const suspicion = this.#suspicions.about(target, member.incarnation);
    suspicion.reporters.set(this.self, now + this.#reportTtlMs);
    if (member.state === 'alive') this.#setState(now, target, 'probably_down', member.incarnation, 'probe');
    const update = suspectUpdate(target, suspicion);
    this.#dissemination.enqueue(update);
    this.#push(update, target);
    this.#checkQuorum(now, target);
  }

  /** Our probe got an answer: take back our own report (others' reports expire or are refuted). */
  #withdrawReport(now: number, target: number, reason: MemberChangeReason = 'direct'): void {
    const suspicion = this.#suspicions.get(target);
    if (!suspicion?.reporters.delete(this.self)) return;
    if (suspicion.reporters.size === 0) {
      this.#suspicions.forget(target);
      this.#dissemination.drop(target);
      const member = this.#members.get(target)!;
      if (member.state === 'probably_down') this.#setState(now, target, 'alive', member.incarnation, reason);
    } else {
      // Do not keep spreading a report we took back.
      this.#dissemination.enqueue(suspectUpdate(target, suspicion));
    }
  }

  /** Cut off from everybody: take back our own reports before they can meet others' at the heal. */
  #withdrawIfIsolated(now: number): void {
    for (const [member, suspicion] of this.#suspicions.entries()) {
      if (suspicion.reporters.has(this.self) && !this.#witnesses.enough(now, member)) {
        this.#withdrawReport(now, member, 'isolated');
      }
    }
  }

  /**
   * Decides `down` once a quorum of unexpired reports is in and this node has heard, since that
   * moment, from quorum - 1 other members (never counting the suspect): with itself, a quorum.
   * No cap, unlike the witnesses of our own reports: any cap lets a minority bigger than it
   * decide. Reports live for seconds, and a partition can change shape faster than that: a
   * report made on one side of an old cut can reach nodes that the next cut leaves in a
   * minority together, where their own fresh reports add up with it to a quorum that no
   * majority agreed on. Hearing from enough members after the quorum was reached shows that this
   * node is on the majority's side now. It asks at once (a ping to that many members, a tenth
   * more and two, so a few lost packets cost no time) so a real failure is decided within a
   * round trip; a minority never gets enough answers.
   */
  #checkQuorum(now: number, member: number): void {
    const suspicion = this.#suspicions.get(member);
    const view = this.#members.get(member)!;
    const quorum = this.#options.quorum;
    const reports = suspicion ? liveReports(suspicion.reporters.values(), now) : 0;
    if (
      !suspicion ||
      quorumVerdict({ reports, quorum, heard_since: Number.POSITIVE_INFINITY }) === 'no_quorum' ||
      view.state === 'down' ||
      view.state === 'left'
    ) {
      this.#confirmations.delete(member);
      return;
    }
    const needed = confirmationsNeeded(quorum);
    let confirmation = this.#confirmations.get(member);
    if (confirmation?.incarnation !== suspicion.incarnation) {
      // We promise first: from now on this incarnation of the member gets no grant from us.
      this.#grants.promise(member, suspicion.incarnation);
    }
    if (needed > 0 && confirmation?.incarnation !== suspicion.incarnation) {
      confirmation = { incarnation: suspicion.incarnation, heard: new Map(), asked: new Map(), askedAt: now };
      this.#confirmations.set(member, confirmation);
      this.counters.confirmations++;
      this.#ask(now, member, confirmation, confirmationAsks(needed));
    }
    const heard_since = confirmation ? this.#freshAnswers(now, confirmation) : Number.POSITIVE_INFINITY;
    if (quorumVerdict({ reports, quorum, heard_since }) !== 'down') return;
    this.#confirmations.delete(member);
    this.counters.declared_down++;
    this.#declare(now, { kind: 'down', member, incarnation: suspicion.incarnation }, 'quorum');
  }

  /**
   * Pings `count` members `about` the suspect, those not yet answered first: each answer is a
   * promise and says when the member was last heard from (lease.ts).
   */
  #ask(now: number, member: number, confirmation: Confirmation, count: number): void {
    confirmation.askedAt = now;
    this.#freshAnswers(now, confirmation);
    const askable = this.#peers.filter(
      (peer) =>
        peer !== member && !confirmation.heard.has(peer) && this.#members.get(peer)!.state === 'alive',
    );
    const about = { member, incarnation: confirmation.incarnation };
    for (const peer of sample(askable, count, this.#options.random)) {
      confirmation.asked.set(this.#probes.ping(peer, about), peer);
    }
  }

  /** Confirmations still short of answers after half a ping timeout ask again. */
  #askAgain(now: number): void {
    for (const [member, confirmation] of this.#confirmations) {
      // The same sum as nextWakeAt's, so a tick at that time always asks (no float drift).
      if (now < confirmation.askedAt + this.#options.ping_timeout_ms / 2) continue;
      const missing = confirmationsNeeded(this.#options.quorum) - this.#freshAnswers(now, confirmation);
      if (missing > 0) this.#ask(now, member, confirmation, confirmationAsks(missing));
    }
  }

  /** An ack to one of our pings about a suspect counts toward that confirmation (a promise). */
  #confirmWith(now: number, from: number, ack: Extract<Message, { type: 'ack' }>): void {
    if (this.#confirmations.size === 0) return;
    for (const [member, confirmation] of [...this.#confirmations]) {
      if (member === from || confirmation.asked.get(ack.seq) !== from) continue;
      confirmation.asked.delete(ack.seq);
      confirmation.heard.set(from, now);
      if (ack.heard_ago_ms !== undefined) this.#heardOf(member, now - ack.heard_ago_ms);
      this.#checkQuorum(now, member);
    }
  }

  /**
   * How many answers of the last ping_timeout `confirmation` has; older ones are dropped (their
   * members are asked again). A decision thus rests on a quorum that answered within one
   * ping_timeout, not on answers gathered bit by bit across a partition's changes of shape: an
   * answer from one side of an old cut must not add up with answers from the other side of the
   * next to a quorum that no majority agreed on at any moment.
   */
  #freshAnswers(now: number, confirmation: Confirmation): number {
    const since = now - this.#options.ping_timeout_ms;
    for (const [peer, at] of confirmation.heard) if (at < since) confirmation.heard.delete(peer);
    return confirmation.heard.size;
  }

  /** Somebody heard from `member` at `at` (our clock). */
  #heardOf(member: number, at: number): void {
    if (at > this.#heardByAnyone[member]!) this.#heardByAnyone[member] = at;
  }

  #expireReports(now: number): void {
    for (const member of this.#suspicions.expire(now)) {
      this.#confirmations.delete(member);
      const view = this.#members.get(member)!;
      if (view.state === 'probably_down') this.#setState(now, member, 'alive', view.incarnation, 'expired');
    }
  }

  // ---- applying news (member-view.ts, refutation.ts, state-sync.ts decide) ------------------

  /** Any message from `from` is first-hand news about it. */
  #hearFrom(now: number, from: number, incarnation: number): void {
    const member = this.#members.get(from)!;
    if (incarnation > member.incarnation) {
      this.#apply(now, { kind: 'alive', member: from, incarnation }, from);
      return;
    }
    if (incarnation < member.incarnation) return;
    if (isGone(member.state) || this.#suspicions.has(from)) {
      // It is talking to us, so it is up but does not know what we think: tell it, so it
      // refutes with a higher incarnation.
      const notice: Update = isGone(member.state)
        ? { kind: member.state, member: from, incarnation }
        : suspectUpdate(from, this.#suspicions.get(from)!);
      this.#send(from, { type: 'gossip', incarnation: this.#incarnation, updates: [notice] });
    }
  }

  /** Our newer, authoritative record about `update.member` when `update` is stale; else nothing. */
  #correctionFor(update: Update): Update | undefined {
    if (update.member === this.self) return undefined;
    const record = this.#members.get(update.member);
    return record && correctionFor(record, update);
  }

  #sendCorrections(to: number, corrections: Gossip[]): void {
    const correction = this.#dissemination.correction(to, corrections, this.#incarnation);
    this.#send(correction.to, correction.message);
  }

  /** Applies one update learned from `via` (or from ourselves), as the merge rule decides. */
  #apply(now: number, update: Update, via: number): void {
    if (update.member === this.self) {
      this.#aboutMe(now, update);
      return;
    }
    const record = this.#members.get(update.member);
    if (!record) return;
    const decided = merge(record, update);
    switch (decided.action) {
      case 'ignore':
        return;
      case 'alive':
        this.#adoptAlive(now, decided.update, via);
        return;
      case 'reports':
        // A report about a newer incarnation implies the member was alive at it.
        if (decided.newer) {
          this.#adoptAlive(
            now,
            { kind: 'alive', member: decided.update.member, incarnation: decided.update.incarnation },
            via,
          );
        }
        this.#mergeReports(now, decided.update, via);
        return;
      case 'declare':
        // Whoever decided tells how long the member had been silent then: count from there.
        this.#heardOf(update.member, now - (decided.update.silent_ms ?? 0));
        this.#declare(now, decided.update, via === update.member ? 'direct' : 'gossip');
        return;
    }
  }

  /** The member is alive at a newer incarnation than we knew: reports about the old one are void. */
  #adoptAlive(now: number, update: AliveUpdate, via: number): void {
    const record = this.#members.get(update.member)!;
    this.#suspicions.forget(update.member);
    // Learning a first incarnation (0 = never heard of) is not news worth gossiping.
    if (record.incarnation > 0 || record.state !== 'alive') this.#dissemination.enqueue(update);
    // What it said of its readiness at the old incarnation counts no more.
    if (this.#readiness.get(update.member) !== undefined) this.#readinessChanged.add(update.member);
    this.#members.adopt(update.member, update.incarnation);
    if (record.state !== 'alive') {
      this.#setState(
        now,
        update.member,
        'alive',
        update.incarnation,
        via === update.member ? 'direct' : 'gossip',
      );
      this.#push(update, update.member);
    }
  }

  /** Merges reports by union; new ones are spread, and prompt a probe of our own. */
  #mergeReports(now: number, update: SuspectUpdate, via: number): void {
    const record = this.#members.get(update.member)!;
    const suspicion = this.#suspicions.about(update.member, update.incarnation);
    let learned = false;
    for (const reporter of update.reporters) {
      if (reporter >= this.#members.size) continue;
      const known = suspicion.reporters.has(reporter);
      // A reporter speaking first-hand renews its report; relayed reports never do, so
      // a stale report cannot be kept alive by being passed around.
      if (!known || reporter === via) suspicion.reporters.set(reporter, now + this.#reportTtlMs);
      if (!known) learned = true;
    }
    if (!learned) return;
    this.#dissemination.enqueue(suspectUpdate(update.member, suspicion));
    if (record.state === 'alive')
      this.#setState(now, update.member, 'probably_down', update.incarnation, 'report');
    // Others cannot reach it: check for ourselves now rather than at our next turn.
    if (!suspicion.reporters.has(this.self) && !this.#probes.probing(update.member))
      this.#startProbe(now, update.member);
    this.#checkQuorum(now, update.member);
  }

  /** Decides `down` or `left` for a member, spreads it, and forgets reports about it. */
  #declare(now: number, update: GoneUpdate, reason: MemberChangeReason): void {
    this.#members.adopt(update.member, update.incarnation);
    this.#suspicions.forget(update.member);
    this.#setState(now, update.member, update.kind, update.incarnation, reason);
    this.#dissemination.enqueue(update);
    this.#push(update, update.member);
    this.#probes.forget(update.member);
  }

  /** Someone says something about us: refute it if refutation.ts says so. */
  #aboutMe(now: number, update: Update): void {
    const refute = refutationFor(update, { incarnation: this.#incarnation, left: this.#left });
    if (!refute) return;
    this.#refute(now, refute.incarnation);
    if (refute.declared) {
      // Others had us gone and may have taken our data over (and told the network so). Say it
      // as a change of our own state, so the agent can announce again what it holds.
      this.#changes.push({
        member: this.self,
        from: refute.declared,
        to: 'alive',
        incarnation: this.#incarnation,
        at: now,
        reason: 'refute',
      });
      this.#refutations.push({ declared: refute.declared, incarnation: this.#incarnation, at: now });
    }
  }

  /** Goes on at `incarnation` (higher than ours) and spreads it. */
  #refute(now: number, incarnation: number): void {
    this.#incarnation = incarnation;
    // Grants were for the old incarnation, which peers may have promised or declared down.
    this.#grants.renewed();
    this.#lease.push({ kind: 'lost', at: now });
    this.#members.renew(now, this.self, this.#incarnation);
    this.counters.refutations++;
    this.#awareness.apply(1);
    const update: Update = { kind: 'alive', member: this.self, incarnation: this.#incarnation };
    this.#dissemination.enqueue(update);
    this.#push(update, -1);
    // Our readiness, said again at the new incarnation (peers count it only there).
    this.#announceReadiness(this.#ownReadiness.renew(this.#incarnation));
  }

  /** A peer asked for our view (a joining node, or a pull): send it, unpiggybacked. */
  #sendState(to: number): void {
    // Readiness first, so that the view is complete when the state (which syncs) arrives.
    let readiness: Gossip[] = this.#readiness.all();
    const own = this.#ownReadiness.record;
    if (own !== undefined) readiness.push(own);
    while (readiness.length > 0) {
      const fitting = fittingGossip(this.#options.packing, readiness);
      if (fitting.length === 0) break;
      this.#sends.push({ to, message: { type: 'gossip', incarnation: this.#incarnation, updates: fitting } });
      this.counters.messages_sent++;
      readiness = readiness.slice(fitting.length);
    }
    const records = stateRecords(this.#members, this.self).map((record) =>
      isGone(record.state) ? { ...record, silent_ms: this.#silence(record.member) } : record,
    );
    for (const message of stateMessages(this.#options.packing, records, this.#incarnation)) {
      this.#sends.push({ to, message });
      this.counters.messages_sent++;
    }
  }

  // ---- two agents with one id (identity.ts decides) ----------------------------------------

  /**
   * Whether a message of `boot` from `member` goes to the protocol: a newcomer's does not (we
   * tell both runs, at most every DUPLICATE_NOTICE_EVERY_MS), nor a late one of an older run.
   */
  #admit(now: number, member: number, boot: number): boolean {
    const verdict = this.#identities.heard(now, member, boot, isGone(this.#members.get(member)!.state));
    if (verdict === 'accept') return true;
    if (verdict === 'stale') return false;
    const seen = this.#identities.noticeDue(now, member, boot);
    if (seen === undefined) return false;
    this.#duplicates.push({ kind: 'seen', at: now, ...seen });
    // To the member's configured address; the daemon also sends it where it saw each run.
    this.#sends.push({
      to: member,
      message: {
        type: 'duplicate',
        member,
        kept: seen.kept,
        newcomer: seen.newcomer,
        kept_at: '',
        newcomer_at: '',
        incarnation: this.#incarnation,
        updates: [],
      },
    });
    this.counters.messages_sent++;
    return false;
  }

  #toldOfDuplicate(now: number, from: number, message: Extract<Message, { type: 'duplicate' }>): void {
    if (message.member !== this.self) return;
    const we = this.#identities.toldOfConflict(now, this.#boot, message);
    if (we === undefined) return;
    const { kept, newcomer, kept_at, newcomer_at } = message;
    this.#duplicates.push({ kind: 'told', at: now, by: from, we, kept, newcomer, kept_at, newcomer_at });
    this.#checkStandingDown(now);
  }

  /** Says when we go out of placement as a newcomer, or come back, as a change of our own state. */
  #checkStandingDown(now: number): void {
    const out = this.#identities.standingDown(now);
    if (out === this.#out) return;
    this.#out = out;
    if (out) {
      // Grants were for a run that must not hold anything: drop the lease.
      this.#grants.renewed();
      this.#lease.push({ kind: 'lost', at: now });
    }
    this.#changes.push({
      member: this.self,
      from: out ? 'alive' : 'down',
      to: out ? 'down' : 'alive',
      incarnation: this.#incarnation,
      at: now,
      reason: 'duplicate',
    });
  }

  // ---- output --------------------------------------------------------------------------------

  #setState(
    now: number,
    index: number,
    to: MemberStateName,
    incarnation: number,
    reason: MemberChangeReason,
  ): void {
    const change = this.#members.set(now, index, to, incarnation, reason);
    if (change) this.#changes.push(change);
    // A gone member's readiness is void: it announces again when it returns.
    if (isGone(to) && index !== this.self && this.#readiness.forget(index)) this.#readinessChanged.add(index);
  }

  /** Pushes a fresh update at once to a few members, besides piggybacking it later. */
  #push(update: Gossip, about: number): void {
    const candidates = this.#peers.filter((peer) => peer !== about && this.#probeable(peer));
    for (const push of this.#dissemination.push(update, candidates, this.#incarnation)) {
      this.#send(push.to, push.message);
    }
  }

  /**
   * Queues a message, filling the rest of its packet with piggybacked gossip. Decisions carry
   * the silence as of now (a retransmit days later must not make the member look just heard).
   */
  #send(to: number, message: Message): void {
    // Our readiness rides with our incarnation, so a peer never sees one without the other.
    const own = this.#ownReadiness.record;
    if (
      own !== undefined &&
      !message.updates.some((update) => update.kind === 'readiness' && update.member === this.self)
    )
      message.updates = [...message.updates, own];
    const sent = this.#dissemination.piggyback(message);
    if (sent.updates.some((update) => update.kind === 'down' || update.kind === 'left'))
      sent.updates = sent.updates.map((update) =>
        (update.kind === 'down' || update.kind === 'left') && update.member !== this.self
          ? { ...update, silent_ms: this.#silence(update.member) }
          : update,
      );
    if (sent.type === 'ping') {
      this.#grants.sent(sent.seq, to, this.#clock, this.#incarnation);
      if (this.#pingedAt !== this.#clock) {
        this.#pingedAt = this.#clock;
        this.#pinged.clear();
      }
      this.#pinged.add(to);
    }
    this.#sends.push({ to, message: sent });
    this.counters.messages_sent++;
  }

  /** How long since anybody we know of heard from `member`, as a decision carries it. */
  #silence(member: number): number {
    return silenceMs(this.#clock - this.heardByAnyone(member));
  }
}

/** A silence in ms as the wire carries it: whole, from 0 to 2^32 - 1 (about 49 days). */
function silenceMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(Math.floor(ms), 0xffff_ffff);
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
