/**
 * One server's brain above the protocol core and the script runner: when planning starts, what
 * each plan wants, which items wait for a hand-back, when to announce again, and whom to tell
 * that an item was let go. Pure: no clock, timer, random source or I/O. Every call takes the
 * time (ms, monotonic); the caller carries out what `takeCommands` returns and calls `tick` when
 * `nextWakeAt` comes. The daemon (agent.ts) and the simulator drive this same class.
 *
 *   membership changes, release notices, runner notes, ticks -> NodeController -> commands
 */
import type { FlipConfig, SystemConfig } from '../config/index.js';
import {
  type FenceSystem,
  fencedAt,
  KEEP_RENEWAL_MS,
  LEASE_HOLD_MS,
  renewableUntil,
} from '../handover/fence.js';
import { handBacks } from '../handover/handback.js';
import { type OutgoingNotice, ReleaseNotices } from '../handover/release-notices.js';
import type { ReleasedItem } from '../membership/messages.js';
import { isLive, type LeaseEvent, type MemberChange, type ReleasedNotice } from '../membership/node.js';
import { startupGraceMs } from '../membership/timing.js';
import { heldBy, type Placement, place, placeAll } from '../placement/index.js';

/** What the controller needs to know of this node's membership view. */
export interface MembershipView {
  /** Indexes of the members live in this node's view, itself included. */
  liveMembers(): number[];
  /** Whether `member` is live in this node's view. */
  isLive(member: number): boolean;
  /** Our lease base at `now` (membership/lease.ts). */
  leaseBase(now: number): number;
  /** The latest moment anybody we know of heard from `member` (our clock). */
  heardByAnyone(member: number): number;
  /** How fresh every grant of a renewal must be (ms). */
  readonly grant_fresh_ms: number;
}

export interface ControllerOptions {
  /** The first release notice id; random per boot. */
  first_notice_id: number;
  /** How long a release notice is sent again while its receiver is silent (ms). */
  release_give_up_ms?: number;
}

/** What the controller tells its caller to do. */
export type ControllerCommand =
  /** Hand the runner a system's desired items (see ScriptRunner.setDesired). */
  | {
      kind: 'desired';
      system: string;
      items: string[];
      /** A leave was announced: plan at once instead of after the system's delay. */
      immediate: boolean;
      /** Items handed back to us, with how long to wait for the previous holder's release. */
      handback: ReadonlyMap<string, number> | undefined;
    }
  /**
   * Run `alive` again for what we hold in these systems (ScriptRunner.reassert): peers had
   * declared us down and may have told the network they hold our items (`why: 'refuted'`), or a
   * peer that may have held some of our items too went down (`why: 'peer_down'`: a host cut
   * off or paused while we took its items over answered for them last, and says nothing now).
   */
  | { kind: 'reassert'; systems: readonly string[]; why: 'refuted' | 'peer_down' }
  /** A peer let go of these items for us: announce those we hold (ScriptRunner.released). */
  | { kind: 'announce'; from: number; items: ReadonlyMap<string, readonly string[]> }
  /** Tell `to` that we let go of these items (the membership core's `release`). */
  | ({ kind: 'send_release' } & OutgoingNotice)
  /** Planning started, and why (for the log). */
  | { kind: 'planning'; why: 'synced' | 'grace' }
  /** Ask the membership core for lease rounds (we are a member of a system), or stop them. */
  | { kind: 'lease_wanted'; wanted: boolean }
  /**
   * Ask the membership core for a lease round now (an `alive` of a leased system started): its
   * renewal names the new item to the lease program before the script can have added it, so the
   * program's watchdog (vip-lease) knows it if this agent dies or freezes right after.
   */
  | { kind: 'lease_round' }
  /**
   * Renew the lease of these held items of a system with a lease program, unless it is later
   * than `deadline` (ms, our clock) by the time the renewal is carried out.
   */
  | { kind: 'renew'; system: string; items: readonly string[]; deadline: number }
  /**
   * We lost, or regained, the quorum (no quorum of fresh grants for LEASE_HOLD_MS): without it
   * we take no item, and under `release` we let go of what we hold (`releasing`).
   */
  | { kind: 'quorum'; state: 'lost' | 'regained'; releasing: readonly string[] };

/**
 * A handed-back item waits for the previous holder's release notice at most twice the system's
 * delay plus this: the holder plans after its own delay, runs `down`, then tells us.
 */
export const HANDBACK_MARGIN_MS = 1000;
/** How long a heard release counts for a plan still to come (ms). */
export const RELEASE_MEMORY_MS = 10_000;
/** How long a release notice is sent again while its receiver cannot be reached (a partition). */
export const RELEASE_NOTICE_GIVE_UP_MS = 120_000;

export class NodeController {
  readonly #config: FlipConfig;
  readonly #self: string;
  readonly #ids: string[];
  readonly #releases: ReleaseNotices;
  #graceAt = Number.POSITIVE_INFINITY;
  #planning = false;
  /** Leaving: no more plans, announcements or notices accepted; our own notices still go out. */
  #leaving = false;
  #stopped = false;
  /** The placement the last plan was made from (which server held what in our view). */
  #lastPlacements: Map<string, Placement> | undefined;
  /**
   * Placements before the last, and when each was superseded, kept for a hand-back's wait: a
   * server they gave an item to may not have run its `down` yet (see handBacks' `earlier`).
   */
  #earlier: { until: number; placements: Map<string, Placement> }[] = [];
  /**
   * Our releases of the last moments, and whom we told: when our view changes soon after (views
   * differ for a moment after a heal), the server that holds the item in the new view is told
   * too, or it might have announced the item before our `down` and never again.
   */
  #told: { at: number; system: string; item: string; to: Set<number> }[] = [];
  #commands: ControllerCommand[] = [];
  /**
   * Handed-back items whose wait is not over: system -> item -> the members whose release ends
   * it, and when it ends anyway. A notice from anybody else (a restarted server cleaning up a
   * leftover) must not start an `alive` while the previous holder may still hold the item.
   */
  readonly #awaiting = new Map<string, Map<string, { from: Set<number>; until: number }>>();
  /**
   * Releases heard lately: system -> item -> member -> when. A hand-back whose previous holder
   * let go before our plan came (a return into a long delay) does not wait for it again.
   */
  readonly #heard = new Map<string, Map<string, Map<number, number>>>();
  /**
   * Items that may be configured here, by system: from the start of their `alive` until a
   * successful `down` (the runner's maybe_held, as its notes tell it).
   */
  readonly #mayHold = new Map<string, Set<string>>();
  /** Until when our lease lets us hold and take items (ms); -Infinity: no quorum. */
  #leaseUntil = Number.NEGATIVE_INFINITY;
  /** What the last plan wanted here, by system (renewals renew only what is still wanted). */
  readonly #lastDesired = new Map<string, string[]>();
  /** Whether the last plan was made with the lease (so its loss or return replans). */
  #plannedWithLease = false;
  /** Whether we told the log that we have the quorum (for 'quorum' commands). */
  #quorumReported: 'lost' | 'regained' | undefined;

  constructor(config: FlipConfig, options: ControllerOptions) {
    this.#config = config;
    this.#self = config.id;
    this.#ids = config.servers.map((server) => server.id);
    this.#releases = new ReleaseNotices({
      repeat_ms: config.ping_timeout_ms,
      give_up_ms: options.release_give_up_ms ?? RELEASE_NOTICE_GIVE_UP_MS,
      first_id: options.first_notice_id,
    });
  }

  get planning(): boolean {
    return this.#planning;
  }

  /** Release notice counters (sent, resent, given up, repeats ignored). */
  get notice_counters(): Readonly<ReleaseNotices['counters']> {
    return this.#releases.counters;
  }

  /** The protocol started at `now`: act on the config alone once the start-up grace is over. */
  start(now: number): void {
    this.#graceAt = now + startupGraceMs(this.#config);
    // Only a member of a system holds or takes items; an arbiter only answers for others.
    if (this.#ownSystems().length > 0) this.#commands.push({ kind: 'lease_wanted', wanted: true });
  }

  /**
   * Whether our lease lets us hold and take items at `now`: a quorum of grants (ourselves
   * included) came for pings sent within the last LEASE_HOLD_MS.
   */
  hasQuorum(now: number, view: MembershipView): boolean {
    return now < view.leaseBase(now) + LEASE_HOLD_MS;
  }

  /**
   * The membership core reports on our lease: a round (renew what `keep` holds, before the
   * round's pings), a grant (renew what `release` holds, when a quorum of fresh grants is in),
   * or its loss (a peer refused us: hold nothing that needs the quorum until regranted).
   */
  lease(now: number, events: readonly LeaseEvent[], view: MembershipView): void {
    if (this.#stopped) return;
    const fresh = view.grant_fresh_ms;
    for (const event of events) {
      switch (event.kind) {
        case 'round':
          this.#renew('keep', now + KEEP_RENEWAL_MS);
          break;
        case 'granted': {
          this.#leaseUntil = Math.max(this.#leaseUntil, event.base + LEASE_HOLD_MS);
          const until = renewableUntil(event.base, now, fresh);
          if (until === undefined) break;
          this.#renew('release', until);
          break;
        }
        case 'lost':
          // A peer refused us: it promised or declared this incarnation down (see #replan).
          this.#leaseUntil = Number.NEGATIVE_INFINITY;
          this.#forgetHistory();
          break;
        case 'stalled':
          // Frozen for longer than a lease lasts: nobody renewed our leased items, so the host
          // dropped them, and a peer may hold them now. We hold none of them (the plan runs
          // `down`, which finds nothing) and take them again only as after a restart.
          if (event.late_ms < LEASE_HOLD_MS) break;
          for (const system of this.#config.systems)
            if (system.lease !== undefined) this.#mayHold.get(system.name)?.clear();
          this.#leaseUntil = Number.NEGATIVE_INFINITY;
          this.#forgetHistory();
          break;
      }
    }
    this.#checkQuorum(now, view);
  }

  /** Renews the held, still wanted items of the leased systems under `policy`. */
  #renew(policy: 'keep' | 'release', deadline: number): void {
    if (this.#leaving) return;
    for (const system of this.#config.systems) {
      if (system.lease === undefined || system.no_quorum_policy !== policy) continue;
      const held = this.#mayHold.get(system.name);
      if (held === undefined || held.size === 0) continue;
      const wanted = new Set(this.#lastDesired.get(system.name) ?? []);
      const items = [...held].filter((item) => wanted.has(item));
      if (items.length > 0) this.#commands.push({ kind: 'renew', system: system.name, items, deadline });
    }
  }

  /** Replans when the lease came or went since the last plan. */
  #checkQuorum(now: number, view: MembershipView): void {
    const has = this.hasQuorum(now, view);
    if (has !== this.#plannedWithLease && this.#planning && !this.#leaving)
      this.#replan(now, view, has === false);
  }

  /** A peer told us the cluster's view: plan from it now. */
  synced(now: number, view: MembershipView): void {
    this.#beginPlanning(now, view, 'synced');
  }

  tick(now: number, view: MembershipView): void {
    if (this.#stopped) return;
    if (!this.#planning && now >= this.#graceAt) this.#beginPlanning(now, view, 'grace');
    this.#checkQuorum(now, view);
    this.#releases.tick(now, (member) => view.isLive(member));
    this.#takeSends();
  }

  /** Member states changed in our view: replan when placement may change (at once on a leave). */
  changes(now: number, changes: readonly MemberChange[], view: MembershipView): void {
    let placementChanged = false;
    let leave = false;
    const shared = new Set<string>();
    for (const change of changes) {
      if (isLive(change.from) !== isLive(change.to)) placementChanged = true;
      // A leave, or a down whose fence the hand-back gate waits anyway: plan at once.
      if (change.to === 'left' || change.to === 'down') leave = true;
      // Down or left, from anything but left: a server cut off and declared down earlier may
      // have let its items go as it left, telling nobody it could not reach.
      if (
        (change.to === 'down' || change.to === 'left') &&
        change.from !== change.to &&
        change.from !== 'left'
      ) {
        for (const system of this.#config.servers[change.member]?.systems ?? []) shared.add(system);
      }
    }
    if (placementChanged) this.#replan(now, view, leave);
    if (placementChanged) this.#tellNewHolders(now, view);
    const systems = this.#ownSystems().filter((system) => shared.has(system));
    if (systems.length > 0 && this.#planning && !this.#stopped && !this.#leaving)
      this.#commands.push({ kind: 'reassert', systems, why: 'peer_down' });
  }

  /**
   * We refuted a down or leave: peers may have taken our items and told the network. Whatever
   * we knew of who held what is void: the next plan waits, as after a restart, for every server
   * that may hold an item coming to us.
   */
  refuted(now: number, view: MembershipView): void {
    if (this.#stopped || this.#leaving) return;
    this.#commands.push({ kind: 'reassert', systems: this.#ownSystems(), why: 'refuted' });
    this.#forgetHistory();
    this.#replan(now, view, false);
  }

  /**
   * Our `down` for `item` succeeded: tell whoever holds it now in our view, so that it announces
   * the item again (see release-notices.ts).
   */
  scriptReleased(now: number, system: string, item: string, view: MembershipView): void {
    if (this.#stopped) return;
    const config = this.#config.systems.find((candidate) => candidate.name === system);
    if (!config) return;
    this.#mayHold.get(system)?.delete(item);
    const to = this.#holdersOf(config, item, view);
    this.#releases.released(now, system, item, to);
    this.#told.push({ at: now, system, item, to: new Set(to) });
  }

  /** The other servers that hold `item` of `system` in our view. */
  #holdersOf(system: FlipConfig['systems'][number], item: string, view: MembershipView): number[] {
    const to: number[] = [];
    for (const [id, items] of place(system, this.#live(view)).holdings) {
      if (id !== this.#self && items.includes(item)) to.push(this.#ids.indexOf(id));
    }
    return to;
  }

  /** Tells the holders in our new view of what we let go lately, those not told yet. */
  #tellNewHolders(now: number, view: MembershipView): void {
    if (this.#stopped) return;
    const delayMax = Math.max(0, ...this.#config.systems.map((system) => system.delay_ms));
    const since = now - 2 * delayMax - HANDBACK_MARGIN_MS;
    this.#told = this.#told.filter((entry) => entry.at >= since);
    for (const entry of this.#told) {
      const config = this.#config.systems.find((candidate) => candidate.name === entry.system)!;
      const fresh = this.#holdersOf(config, entry.item, view).filter((member) => !entry.to.has(member));
      if (fresh.length === 0) continue;
      for (const member of fresh) entry.to.add(member);
      this.#releases.released(now, entry.system, entry.item, fresh);
    }
  }

  /**
   * Our `alive` for `item` started: a release of it not yet delivered is no longer true, and the
   * item of a leased system is renewed at the next lease round, brought forward to now.
   */
  scriptStarted(system: string, item: string): void {
    entrySet(this.#mayHold, system).add(item);
    if (this.#config.systems.find((candidate) => candidate.name === system)?.lease !== undefined)
      this.#commands.push({ kind: 'lease_round' });
    this.#releases.retaken(system, item);
    this.#told = this.#told.filter((entry) => entry.system !== system || entry.item !== item);
  }

  /**
   * A peer's release notice arrived: announce its items, once per notice id. An item handed back
   * to us that waits for another member's release is left to its wait: its `alive`, when the
   * wait ends, announces it.
   */
  noticeReceived(now: number, notice: ReleasedNotice): boolean {
    if (this.#stopped || this.#leaving || !this.#releases.accept(notice.from, notice.id)) return false;
    const bySystem = new Map<string, string[]>();
    for (const { system, item } of notice.items) {
      this.#hear(now, system, item, notice.from);
      const waiting = this.#awaiting.get(system)?.get(item);
      if (waiting !== undefined && waiting.until > now) {
        // The wait ends when every server that may hold the item has let go.
        waiting.from.delete(notice.from);
        if (waiting.from.size > 0) continue;
      }
      this.#awaiting.get(system)?.delete(item);
      bySystem.set(system, [...(bySystem.get(system) ?? []), item]);
    }
    if (bySystem.size > 0) this.#commands.push({ kind: 'announce', from: notice.from, items: bySystem });
    return true;
  }

  /** The receiver of our notice `id` got it. */
  noticeAcked(from: number, id: number): void {
    this.#releases.acked(from, id);
  }

  /**
   * A graceful stop began: no more plans, announcements or notices acted on. The runner drains;
   * release notices for its last `down` scripts are still sent, until `stop`.
   */
  leave(): void {
    this.#leaving = true;
    this.#graceAt = Number.POSITIVE_INFINITY;
  }

  /** Shutdown: what is queued for release notices goes out now, and nothing after. */
  stop(now: number): void {
    if (this.#stopped) return;
    this.#releases.close(now);
    this.#takeSends();
    this.#stopped = true;
    this.#graceAt = Number.POSITIVE_INFINITY;
  }

  nextWakeAt(): number {
    if (this.#stopped) return Number.POSITIVE_INFINITY;
    const leaseEnds = this.#plannedWithLease ? this.#leaseUntil : Number.POSITIVE_INFINITY;
    return Math.min(
      this.#planning ? Number.POSITIVE_INFINITY : this.#graceAt,
      this.#releases.nextWakeAt(),
      leaseEnds,
    );
  }

  takeCommands(): ControllerCommand[] {
    this.#takeSends();
    const commands = this.#commands;
    this.#commands = [];
    return commands;
  }

  /** Which items this node should hold now, per system it is a member of. */
  desired(view: MembershipView): Map<string, string[]> {
    return heldBy(placeAll(this.#config.systems, this.#live(view)), this.#self);
  }

  #beginPlanning(now: number, view: MembershipView, why: 'synced' | 'grace'): void {
    if (this.#planning || this.#stopped || this.#leaving) return;
    this.#planning = true;
    this.#commands.push({ kind: 'planning', why });
    this.#replan(now, view, false);
  }

  #replan(now: number, view: MembershipView, immediate: boolean): void {
    if (!this.#planning || this.#stopped || this.#leaving) return;
    const live = this.#live(view);
    const placements = placeAll(this.#config.systems, live);
    const desired = heldBy(placements, this.#self);
    const handbacks = this.#handbacks(now, placements, live, view);
    const quorum = this.hasQuorum(now, view);
    this.#reportQuorum(quorum);
    this.#plannedWithLease = quorum;
    if (!quorum) {
      // Without a quorum we take nothing: `keep` keeps what it may hold, `release` lets go.
      for (const system of this.#config.systems) {
        const wanted = desired.get(system.name);
        if (wanted === undefined) continue;
        const held = this.#mayHold.get(system.name) ?? new Set<string>();
        desired.set(
          system.name,
          system.no_quorum_policy === 'release' ? [] : wanted.filter((item) => held.has(item)),
        );
      }
    }
    this.#forgetRetaken(placements);
    if (quorum) {
      if (this.#lastPlacements !== undefined)
        this.#earlier.push({ until: now, placements: this.#lastPlacements });
      this.#lastPlacements = placements;
    } else {
      // Without the quorum, peers may declare us down and take our items: what we knew of who
      // holds what is void, and the next plan with the quorum waits, as after a restart, for
      // every server that may hold an item coming to us.
      this.#forgetHistory();
    }
    const self = this.#config.servers.find((server) => server.id === this.#self)!;
    for (const system of this.#config.systems) {
      if (!self.systems.includes(system.name)) continue;
      this.#lastDesired.set(system.name, desired.get(system.name) ?? []);
      this.#await(now, system.name, desired.get(system.name) ?? [], handbacks.get(system.name));
      this.#commands.push({
        kind: 'desired',
        system: system.name,
        items: desired.get(system.name) ?? [],
        immediate,
        handback: waits(handbacks.get(system.name)),
      });
    }
  }

  #hear(now: number, system: string, item: string, from: number): void {
    const items = entryOf(this.#heard, system);
    for (const [name, senders] of items) {
      for (const [member, at] of senders) if (now - at > RELEASE_MEMORY_MS) senders.delete(member);
      if (senders.size === 0) items.delete(name);
    }
    entryOf(items, item).set(from, now);
  }

  /**
   * A release heard from a server that this view gives the item to again is over: it may take
   * the item up again, and a later hand-back from it must wait for its next release.
   */
  #forgetRetaken(placements: Map<string, Placement>): void {
    for (const [system, items] of this.#heard) {
      const holdings = placements.get(system)?.holdings;
      if (holdings === undefined) continue;
      for (const [item, senders] of items) {
        for (const member of senders.keys()) {
          if ((holdings.get(this.#ids[member]!) ?? []).includes(item)) senders.delete(member);
        }
      }
    }
  }

  /** The members of `from` not heard letting go of `item` within RELEASE_MEMORY_MS. */
  #notHeardFrom(now: number, system: string, item: string, from: ReadonlySet<number>): Set<number> {
    const senders = this.#heard.get(system)?.get(item);
    const out = new Set<number>();
    for (const member of from) {
      const at = senders?.get(member);
      if (at === undefined || now - at > RELEASE_MEMORY_MS) out.add(member);
    }
    return out;
  }

  /** Keeps the waits of items still wanted (the runner keeps them too) and adds the new ones. */
  #await(
    now: number,
    system: string,
    wanted: readonly string[],
    handbacks: Map<string, HandBack> | undefined,
  ): void {
    const awaiting = entryOf(this.#awaiting, system);
    const keep = new Set(wanted);
    for (const [item, waiting] of awaiting)
      if (!keep.has(item) || waiting.until <= now) awaiting.delete(item);
    const held = this.#mayHold.get(system);
    for (const [item, handback] of handbacks ?? []) {
      // An item we may hold already starts no `alive` of its own: a release announces it at once.
      if (held?.has(item)) continue;
      // A wait ends when every server that may hold the item let go: a later plan that finds
      // more of them (or a later fence) adds to the wait, never shortens it.
      const waiting = awaiting.get(item);
      if (waiting === undefined)
        awaiting.set(item, { from: new Set(handback.from), until: now + handback.wait_ms });
      else {
        for (const member of handback.from) waiting.from.add(member);
        waiting.until = Math.max(waiting.until, now + handback.wait_ms);
      }
    }
  }

  /**
   * Items handed back to this server (see handedBack), with how long to wait for the previous
   * holder's release notice before running `alive` anyway. On the first plan there is no
   * earlier view: the holders are those placement gives the items to without us. Any of them
   * may have taken our items while we were away, even one that started just before us (it may
   * have reached a quorum with others first), so we always wait for them. The wait is short at
   * a cold start too: a peer's first `down` of an item is reported as a release (it may have
   * removed a leftover), so its notice comes as soon as it has planned.
   */
  #handbacks(
    now: number,
    placements: Map<string, Placement>,
    live: Set<string>,
    view: MembershipView,
  ): Map<string, Map<string, HandBack>> {
    const self = this.#self;
    // Gone members whose fence has not passed: they may still answer for what they held.
    const fencing = this.#fencing(live, view);
    // No earlier view (a start, a refutation, a plan without the quorum): whoever placement
    // gives our items to without us may hold them, and so may a gone member still inside its
    // fence, as placement with it would have it.
    const before =
      this.#lastPlacements ?? placeAll(this.#config.systems, new Set([...live].filter((id) => id !== self)));
    const beforeGone =
      this.#lastPlacements ??
      placeAll(this.#config.systems, new Set([...live, ...fencing.keys()].filter((id) => id !== self)));
    // A server an earlier placement gave an item to acts on its own view after its delay: one
    // superseded less than twice the longest delay (plus the margin) ago may still hold it.
    const delayMax = Math.max(0, ...this.#config.systems.map((system) => system.delay_ms));
    const since = now - 2 * delayMax - HANDBACK_MARGIN_MS;
    this.#earlier = this.#earlier.filter((entry) => entry.until >= since);
    const earlier = this.#earlier.map((entry) => entry.placements);
    const out = new Map<string, Map<string, HandBack>>();
    for (const [name, items] of handBacks(self, before, placements, live, earlier)) {
      const wait_ms =
        2 * this.#config.systems.find((system) => system.name === name)!.delay_ms + HANDBACK_MARGIN_MS;
      const entries = new Map<string, HandBack>();
      for (const [item, ids] of items) {
        const from = new Set(ids.map((id) => this.#ids.indexOf(id)));
        const unheard = this.#notHeardFrom(now, name, item, from);
        if (unheard.size > 0) entries.set(item, { wait_ms, from: unheard });
      }
      if (entries.size > 0) out.set(name, entries);
    }
    // Items coming from a gone holder wait for its fence (handover/fence.ts), or its release.
    const withGone = new Set([...live, ...fencing.keys()]);
    for (const [name, items] of handBacks(self, beforeGone, placements, withGone, earlier)) {
      const system = this.#config.systems.find((candidate) => candidate.name === name)!;
      for (const [item, ids] of items) {
        for (const id of ids) {
          const heardAt = fencing.get(id);
          if (heardAt === undefined) continue;
          const until = fencedAt(heardAt, fenceOf(system), view.grant_fresh_ms);
          if (until <= now) continue;
          const member = this.#ids.indexOf(id);
          if (this.#notHeardFrom(now, name, item, new Set([member])).size === 0) continue;
          const entries = entryOf(out, name);
          const entry = entries.get(item);
          const wait_ms = until - now;
          if (entry === undefined) entries.set(item, { wait_ms, from: new Set([member]) });
          else
            entries.set(item, {
              wait_ms: Math.max(entry.wait_ms, wait_ms),
              from: new Set([...entry.from, member]),
            });
        }
      }
    }
    return out;
  }

  /** Gone members (down or left) with the moment they were last heard of, by id. */
  #fencing(live: ReadonlySet<string>, view: MembershipView): Map<string, number> {
    const out = new Map<string, number>();
    this.#ids.forEach((id, index) => {
      if (id !== this.#self && !live.has(id)) out.set(id, view.heardByAnyone(index));
    });
    return out;
  }

  /**
   * What we knew of who holds what is void (a refutation, a lost quorum, a long stall): peers
   * may have declared us down and taken our items meanwhile, and a release heard before says
   * nothing about who holds an item now. The next plan waits, as after a restart, for every
   * server that may hold an item coming to us.
   */
  #forgetHistory(): void {
    this.#lastPlacements = undefined;
    this.#earlier = [];
    this.#heard.clear();
  }

  /** Tells the log when the quorum is lost or regained (once each way). */
  #reportQuorum(has: boolean): void {
    // An arbiter holds and takes nothing: the quorum is not its to report.
    if (this.#ownSystems().length === 0) return;
    const state = has ? 'regained' : 'lost';
    const before = this.#quorumReported;
    this.#quorumReported = state;
    // Said once each way; a first plan with the quorum is the normal case, not news.
    if (before === state || (before === undefined && has)) return;
    const releasing = has
      ? []
      : this.#config.systems
          .filter((system) => system.no_quorum_policy === 'release')
          .flatMap((system) =>
            [...(this.#mayHold.get(system.name) ?? [])].map((item) => `${system.name}/${item}`),
          );
    this.#commands.push({ kind: 'quorum', state, releasing });
  }

  /** The systems this server is a member of. */
  #ownSystems(): string[] {
    return this.#config.servers.find((server) => server.id === this.#self)?.systems ?? [];
  }

  #live(view: MembershipView): Set<string> {
    return new Set(view.liveMembers().map((index) => this.#ids[index]!));
  }

  #takeSends(): void {
    for (const notice of this.#releases.takeSends()) this.#commands.push({ kind: 'send_release', ...notice });
  }
}

/** An item handed back to us: how long to wait for a release, and whose release ends the wait. */
interface HandBack {
  wait_ms: number;
  from: ReadonlySet<number>;
}

/** The fence inputs of a system. */
function fenceOf(system: SystemConfig): FenceSystem {
  return {
    no_quorum_policy: system.no_quorum_policy,
    leased: system.lease !== undefined,
    fence_ms: system.fence_ms,
  };
}

/** The set under `key`, made empty when missing. */
function entrySet<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let entry = map.get(key);
  if (entry === undefined) {
    entry = new Set();
    map.set(key, entry);
  }
  return entry;
}

/** The map under `key`, made empty when missing. */
function entryOf<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let entry = map.get(key);
  if (entry === undefined) {
    entry = new Map();
    map.set(key, entry);
  }
  return entry;
}

function waits(handbacks: Map<string, HandBack> | undefined): ReadonlyMap<string, number> | undefined {
  if (handbacks === undefined) return undefined;
  return new Map([...handbacks].map(([item, handback]) => [item, handback.wait_ms]));
}

export type { ReleasedItem };
