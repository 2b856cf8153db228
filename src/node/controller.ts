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
import { withRuntimeFields } from '../config/runtime-change.js';
import type { AlivePermit } from '../executor/types.js';
import { Claims, type ClaimView, type Standing } from '../handover/claims.js';
import {
  ALIVE_LEASE_LEAD_MS,
  fencedAt,
  fenceOf,
  fenceWaitMs,
  KEEP_RENEWAL_MS,
  LEASE_HOLD_MS,
  RENEWAL_SPACING_MS,
  renewableUntil,
} from '../handover/fence.js';
import { type OutgoingNotice, ReleaseNotices } from '../handover/release-notices.js';
import { LEASE_ROUND_GAP_MS, LEASE_ROUND_MS, type LeasePings } from '../membership/lease.js';
import type { ReleasedItem } from '../membership/messages.js';
import {
  type ClaimMessage,
  isLive,
  type LeaseEvent,
  type MemberChange,
  type ReleasedNotice,
} from '../membership/node.js';
import type { Renumbering } from '../membership/renumbering.js';
import { startupGraceMs } from '../membership/timing.js';
import { placeReady, readyIn } from '../placement/eligible.js';
import { heldBy, type Placement, place } from '../placement/index.js';

/** What the controller needs to know of this node's membership view. */
export interface MembershipView {
  /** Indexes of the members live in this node's view, itself included. */
  liveMembers(): number[];
  /** Whether `member` is live in this node's view. */
  isLive(member: number): boolean;
  /** Whether `member` left (said so itself) at the incarnation this node knows. */
  hasLeft(member: number): boolean;
  /** Our lease base at `now` (membership/lease.ts). */
  leaseBase(now: number): number;
  /** The latest moment anybody we know of heard from `member` (our clock). */
  heardByAnyone(member: number): number;
  /** How fresh every grant of a renewal must be (ms). */
  readonly grant_fresh_ms: number;
  /**
   * Whether live `member` is ready for `system` (membership/readiness.ts): placement gives a
   * system's items only to its ready members. Absent: every live member is ready.
   */
  readyFor?(member: number, system: string): boolean;
  /**
   * Whether live `member` only holds down in `system` (healthy, back lately): such members get
   * a system's items when no member is ready for it. Absent: never.
   */
  holdingFor?(member: number, system: string): boolean;
}

export interface ControllerOptions {
  /** The first release notice id; random per boot. */
  first_notice_id: number;
  /** How long a release notice is sent again while its receiver is silent (ms). */
  release_give_up_ms?: number;
  /** The first claim message id; random per boot (default: first_notice_id). */
  first_claim_id?: number;
  /**
   * Items an earlier life may have left configured that the config no longer lists (the
   * runner's strays): counted as maybe held, so we agree to nobody's claim of them until their
   * `down` succeeded.
   */
  strays?: ReadonlyMap<string, readonly string[]>;
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
      /**
       * Arriving items whose `alive` waits until a `cleared` command lets them through (their
       * claims, handover/claims.ts), each with Infinity: no wait here ends by a timeout.
       */
      handback: ReadonlyMap<string, number> | undefined;
    }
  /** Every member agreed to our claim of these items: their first `alive` may run now. */
  | { kind: 'cleared'; system: string; items: readonly string[] }
  /** Ask `to` whether we may take these items (the membership core's `claim`). */
  | { kind: 'send_claim'; to: number; id: number; items: ReleasedItem[] }
  /** Tell `to` that we neither hold nor want these items of its claim `id`. */
  | { kind: 'send_claim_reply'; to: number; id: number; items: ReleasedItem[] }
  /**
   * Run `alive` again for what we hold in these systems (ScriptRunner.reassert): peers had
   * declared us down and may have told the network they hold our items (`why: 'refuted'`), or a
   * peer that may have held some of our items too went down (`why: 'peer_down'`: a host cut
   * off or paused while we took its items over answered for them last, and says nothing now).
   */
  | { kind: 'reassert'; systems: readonly string[]; why: 'refuted' | 'peer_down' | 'lapsed' }
  /** A peer let go of these items for us: announce those we hold (ScriptRunner.released). */
  | { kind: 'announce'; from: number; items: ReadonlyMap<string, readonly string[]> }
  /** Tell `to` that we let go of these items (the membership core's `release`). */
  | ({ kind: 'send_release' } & OutgoingNotice)
  /** Planning started, and why (for the log). */
  | { kind: 'planning'; why: 'synced' | 'grace' }
  /** Ask the membership core for lease rounds (we are a member of a system), or stop them. */
  | { kind: 'lease_wanted'; wanted: boolean; pings: LeasePings }
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
  | {
      kind: 'renew';
      system: string;
      items: readonly string[];
      deadline: number;
      /**
       * How many of `items` have an `alive` still running: their script may not have put them on
       * the host yet, so a renewal may find them missing without their having lapsed. Pass it
       * back in the outcome (RenewalOutcome `adding`).
       */
      adding: number;
    }
  /**
   * We lost, or regained, the quorum (no quorum of fresh grants for LEASE_HOLD_MS): without it
   * we take no item, and under `release` we let go of what we hold (`releasing`).
   */
  | { kind: 'quorum'; state: 'lost' | 'regained'; releasing: readonly string[] };

/**
 * How a renewal of a system's held items ended, as the lease program answered: carried out, with
 * how many of the items it was asked to renew it found on the host (an item that lapsed there is
 * not renewed, nor added back), or not carried out at all (too late, failed, no program).
 */
/**
 * The order of a graceful stop's two steps: saying that we left (the membership's leave) and
 * draining the runner (`down` for what we may hold).
 * - `announce_first`: every item we hold is fenced by a lease that lapses on our host within the
 *   fence the takers wait for, so they may start taking over at once.
 * - `drain_first`: a system under `keep` without a lease program has no fence (its fence is 0),
 *   so a taker runs `alive` as soon as it hears that we left; only our own `down` takes the item
 *   off our host. We say we left once our `down` scripts are done: no moment on two hosts.
 */
export type LeaveOrder = 'announce_first' | 'drain_first';

export type RenewalOutcome =
  /** `adding`: the renew command's, how many of the items asked had an `alive` still running. */
  { kind: 'renewed'; asked: number; renewed: number; adding: number } | { kind: 'not_renewed' };

/**
 * How long after our release a holder that our view gives the item to only later is told too
 * (ms). Views differ after a heal, and a server cut off from the rest plans from a stale view: it
 * may release an item "to" a server that does not hold it and learn the true holder only when the
 * cut heals. Telling it then costs one announcement; not telling it leaves neighbours pointing at
 * us. As long as a release notice is sent again to an unreachable receiver, at most.
 */
export const TELL_MEMORY_MS = 30_000;
/** How long a release notice is sent again while its receiver cannot be reached (a partition). */
export const RELEASE_NOTICE_GIVE_UP_MS = 120_000;

export class NodeController {
  #config: FlipConfig;
  readonly #self: string;
  #ids: string[];
  readonly #releases: ReleaseNotices;
  #graceAt = Number.POSITIVE_INFINITY;
  #planning = false;
  /** Leaving: no more plans, announcements or notices accepted; our own notices still go out. */
  #leaving = false;
  #stopped = false;
  /**
   * Our releases of the last moments, and whom we told: when our view changes soon after (views
   * differ for a moment after a heal), the server that holds the item in the new view is told
   * too, or it might have announced the item before our `down` and never again.
   */
  #told: { at: number; system: string; item: string; to: Set<number> }[] = [];
  #commands: ControllerCommand[] = [];
  /** Our claims of arriving items (handover/claims.ts): every `alive` of an item not held waits for one. */
  readonly #claims: Claims;
  /** The other members of each system, by index (those a claim asks). */
  readonly #membersOf = new Map<string, number[]>();
  /** The systems by name, and those this server is a member of (looked up on every claim). */
  #systemsByName: ReadonlyMap<string, SystemConfig>;
  #own: readonly string[];
  /**
   * Items that may be configured here, by system: from the start of their `alive` until a
   * successful `down` (the runner's maybe_held, as its notes tell it).
   */
  readonly #mayHold = new Map<string, Set<string>>();
  /** Items whose `alive` is running, by system: on the host only once their script put them there. */
  readonly #adding = new Map<string, Set<string>>();
  /**
   * Items a previous life of this server may have left configured, by system, until a `down`
   * of them succeeds (the runner's leftover_possible): with `remove_on_start` the first plan runs
   * `down` for every item it does not want. Until then we answer no claim for them.
   */
  readonly #unsure = new Map<string, Set<string>>();
  /**
   * Items of `preempt: false` systems held here in good standing, by system: taken with the
   * quorum, and no lease lost or refutation since. They stay wanted here while we are ready for
   * the system, whatever placement prefers: a member placement gives them to claims them, and we
   * never answer while we hold them, so they move only when we fail (a check, a lost lease, a
   * stop) and let go, or are declared down and fenced.
   */
  readonly #sticky = new Map<string, Set<string>>();
  /**
   * Items of `preempt: false` systems we hold but must let go of before we may want them again,
   * by system: we lost our lease or were declared down, so another member may hold them now
   * (it took them over after our fence, and keeps them as we would). We run `down` and claim
   * them anew; whoever holds them then keeps them.
   */
  readonly #yielding = new Map<string, Set<string>>();
  /**
   * Leased items held here that nobody renewed for longer than a lease, by system: those of
   * `release` systems held when we lost the quorum, and those of any leased system held when this
   * process stalled for longer than a lease. The host may have dropped them and another member
   * taken them over after our fence, even if our `down` failed and the runner still counts them
   * held. Until an `alive` of them starts again they are not renewed, and are claimed like items
   * not held (the claim's clearance puts them in place again); we still answer no claim for them.
   */
  readonly #lapsing = new Map<string, Set<string>>();
  /**
   * Until when a renewal may be made under each policy (ms): KEEP_RENEWAL_MS after the last lease
   * round under `keep`, `grant_fresh_ms` after the pings of the last quorum of fresh grants under
   * `release` (handover/fence.ts). An `alive` of a leased item is a renewal too (its script leases
   * the item first), so it starts only with time left before it, and is told the deadline.
   */
  readonly #renewableUntil = { keep: Number.NEGATIVE_INFINITY, release: Number.NEGATIVE_INFINITY };
  /**
   * Each system's last renewal asked for: when, and of which items (sorted, joined). The same
   * items are renewed again only RENEWAL_SPACING_MS (by policy) later; a renewal that did not go through is
   * forgotten, so the next round renews.
   */
  readonly #lastRenewal = new Map<string, { at: number; items: string }>();
  /** When each system's held items were last put in place again after a failed renewal. */
  readonly #lapseReassertAt = new Map<string, number>();
  /** Until when our lease lets us hold and take items (ms); -Infinity: no quorum. */
  #leaseUntil = Number.NEGATIVE_INFINITY;
  /** What the last plan wanted here, by system (renewals renew only what is still wanted). */
  readonly #lastDesired = new Map<string, string[]>();
  /** Whether the last plan was made with the lease (so its loss or return replans). */
  #plannedWithLease = false;
  /** An `alive` was refused for want of a lease: replan once it is back. */
  #refused = false;
  /** The lease rounds we last asked the membership core for (none asked yet: undefined). */
  #leaseWanted: { wanted: boolean; pings: LeasePings } | undefined;
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
    this.#systemsByName = new Map(config.systems.map((system) => [system.name, system]));
    this.#own = config.servers.find((server) => server.id === this.#self)?.systems ?? [];
    this.#claims = new Claims({
      repeat_ms: config.ping_timeout_ms,
      first_id: options.first_claim_id ?? options.first_notice_id,
    });
    this.#numberMembers(config);
    for (const name of this.#ownSystems()) {
      const system = config.systems.find((candidate) => candidate.name === name);
      if (system !== undefined) this.#unsure.set(name, new Set(system.data));
    }
    if (options.strays !== undefined) this.addStrays(options.strays);
  }

  /**
   * Items an earlier life may have left configured that the config no longer lists (the
   * runner's strays), added before the first plan: counted as maybe held until their `down`.
   */
  addStrays(strays: ReadonlyMap<string, readonly string[]>): void {
    for (const name of this.#ownSystems()) {
      const data = this.#systemsByName.get(name)?.data ?? [];
      for (const item of strays.get(name) ?? [])
        if (!data.includes(item)) entrySet(this.#mayHold, name).add(item);
    }
  }

  /**
   * Systems changed at runtime (a reload, a committed change): `systems` gives the new definition
   * of each, by name, of which the fields of SYSTEM_FIELDS_AT_RUNTIME are taken (items, `type`,
   * `preempt`, scripts); the next plan places them. Servers apply a change at different moments,
   * and break-before-make holds whatever the order: an item that moves because of it is claimed,
   * and a server that holds it (or still wants it, under the old definition) agrees to the claim
   * only once it let go. A removed item is no longer wanted, renewed or claimed: its holder runs
   * `down`.
   */
  setSystems(now: number, view: MembershipView, systems: ReadonlyMap<string, SystemConfig>): void {
    if (this.#stopped) return;
    this.#config = {
      ...this.#config,
      systems: this.#config.systems.map((system) => {
        const next = systems.get(system.name);
        if (next === undefined) return system;
        // Items kept under `preempt: false` go back to placement's choice once it is true.
        if (next.preempt) this.#sticky.delete(system.name);
        return withRuntimeFields(system, next);
      }),
    };
    this.#systemsByName = new Map(this.#config.systems.map((system) => [system.name, system]));
    this.#replan(now, view, false);
    this.#takeSends();
  }

  /**
   * The server list changed in process (a committed `flip server add|rm`; see
   * MembershipDriver.setServers, whose `renumbering` maps old member numbers to new ones).
   * `config` is the new config: its systems differ from ours at most in their members and the
   * fields of SYSTEM_FIELDS_AT_RUNTIME. Release notices go on to the same servers (one removed is
   * told nothing more); every claim starts over, asking the members of the new list; the next
   * plan places over the new list. Whatever moves hands over break-before-make as after any
   * change of placement: a server that applied the list later agrees to no claim until it has
   * (claims pass only between servers with one list: membership/roster-free.ts).
   */
  setServers(now: number, view: MembershipView, config: FlipConfig, renumbering: Renumbering): void {
    if (this.#stopped) return;
    for (const system of config.systems)
      if (system.preempt && this.#systemsByName.get(system.name)?.preempt === false)
        this.#sticky.delete(system.name);
    this.#config = config;
    this.#ids = config.servers.map((server) => server.id);
    this.#own = config.servers.find((server) => server.id === this.#self)?.systems ?? [];
    this.#systemsByName = new Map(config.systems.map((system) => [system.name, system]));
    this.#numberMembers(config);
    // Systems this server no longer runs were let go of before (CommittedVersions): nothing of
    // them is held here, and what we kept about them goes.
    for (const map of [
      this.#mayHold,
      this.#adding,
      this.#unsure,
      this.#sticky,
      this.#yielding,
      this.#lapsing,
    ])
      for (const name of [...map.keys()]) if (!this.#own.includes(name)) map.delete(name);
    for (const name of [...this.#lastDesired.keys()])
      if (!this.#own.includes(name)) this.#lastDesired.delete(name);
    if (this.#graceAt !== Number.POSITIVE_INFINITY) this.#wantLease();
    this.#releases.renumber(renumbering);
    this.#claims.renumber(now);
    this.#told = this.#told
      .filter((entry) => this.#systemsByName.has(entry.system))
      .map((entry) => ({ ...entry, to: new Set(renumbering.list(entry.to)) }));
    this.#replan(now, view, false);
    this.#takeSends();
  }

  /** The other members of each system, by index in `config`'s server list. */
  #numberMembers(config: FlipConfig): void {
    this.#membersOf.clear();
    for (const system of config.systems) {
      const members: number[] = [];
      config.servers.forEach((server, index) => {
        if (server.id !== this.#self && server.systems.includes(system.name)) members.push(index);
      });
      this.#membersOf.set(system.name, members);
    }
  }

  get planning(): boolean {
    return this.#planning;
  }

  /** Release notice counters (sent, resent, given up, repeats ignored). */
  get notice_counters(): Readonly<ReleaseNotices['counters']> {
    return this.#releases.counters;
  }

  /** Claim counters (claims sent, replies heard and dropped, items let through). */
  get claim_counters(): Readonly<Claims['counters']> {
    return this.#claims.counters;
  }

  /** The protocol started at `now`: act on the config alone once the start-up grace is over. */
  start(now: number): void {
    this.#graceAt = now + startupGraceMs(this.#config);
    this.#wantLease();
  }

  /** What lease rounds our systems need (at the start, and when they change at runtime). */
  #wantLease(): void {
    // Only a member of a system holds or takes items; an arbiter only answers for others.
    const own = this.#ownSystems();
    // Renewals on a quorum of fresh grants (release) need every round's pings, while we hold, may
    // hold or want items of such a system; those of a leased keep system, on grants as fresh as
    // its fence counts on, need a round only when no probe brought them (before_renewal).
    // Otherwise (a standby, an idle member) the lease only has to stay in hand, and a round that
    // pings comes at once when an item is wanted here (MembershipNode.setLeaseWanted).
    const renews = (system: SystemConfig) =>
      (this.#mayHold.get(system.name)?.size ?? 0) > 0 ||
      (this.#unsure.get(system.name)?.size ?? 0) > 0 ||
      (this.#lastDesired.get(system.name)?.length ?? 0) > 0;
    let pings: LeasePings = 'before_lapse';
    for (const name of own) {
      const system = this.#systemsByName.get(name);
      if (system === undefined || !renews(system)) continue;
      if (system.no_quorum_policy === 'release') pings = 'every_round';
      else if (system.lease !== undefined && pings === 'before_lapse') pings = 'before_renewal';
    }
    const wanted = { wanted: own.length > 0, pings };
    const last = this.#leaseWanted;
    if (last === undefined ? !wanted.wanted : last.wanted === wanted.wanted && last.pings === wanted.pings)
      return;
    this.#leaseWanted = wanted;
    this.#commands.push({ kind: 'lease_wanted', ...wanted });
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
   * round's pings, or on grants as fresh: `fresh`), a grant (renew what `release` holds, when a
   * quorum of fresh grants is in), or its loss (a peer refused us: hold nothing that needs the
   * quorum until regranted).
   */
  lease(now: number, events: readonly LeaseEvent[], view: MembershipView): void {
    if (this.#stopped) return;
    const fresh = view.grant_fresh_ms;
    /** Our standing came into doubt: the claims started over, and what we want may have changed. */
    let doubted = false;
    for (const event of events) {
      switch (event.kind) {
        case 'round':
          this.#renewableUntil.keep = Math.max(this.#renewableUntil.keep, now + KEEP_RENEWAL_MS);
          this.#renew(now, 'keep', now + KEEP_RENEWAL_MS);
          break;
        case 'fresh': {
          // Grants as fresh as a keep fence counts on (a round's pings would be no fresher): the
          // renewal follows pings that a quorum heard, where a round's only went out with them.
          const keepUntil = renewableUntil(event.base, now, KEEP_RENEWAL_MS);
          if (keepUntil === undefined) break;
          this.#renewableUntil.keep = Math.max(this.#renewableUntil.keep, keepUntil);
          this.#renew(now, 'keep', keepUntil);
          break;
        }
        case 'granted': {
          this.#leaseUntil = Math.max(this.#leaseUntil, event.base + LEASE_HOLD_MS);
          const until = renewableUntil(event.base, now, fresh);
          if (until === undefined) break;
          this.#renewableUntil.release = Math.max(this.#renewableUntil.release, until);
          this.#renew(now, 'release', until);
          break;
        }
        case 'lost':
          // A peer refused us: it promised or declared this incarnation down (see #replan).
          this.#leaseUntil = Number.NEGATIVE_INFINITY;
          this.#claims.restart(now);
          this.#yieldStanding();
          doubted = true;
          break;
        case 'stalled':
          // Frozen for longer than a lease lasts: nobody renewed our leased items, so the host
          // dropped them, and a peer may hold them now. They lapse here: not renewed (a renewal
          // would put back what is still on the host without anyone's word), and put in place
          // again only through a claim, as items we do not hold (see #lapsing). We still answer
          // no claim for them: the runner counts them held until its `down` or `alive` says else.
          if (event.late_ms < LEASE_HOLD_MS) break;
          this.#yieldStanding();
          this.#markLapsing(() => true);
          this.#leaseUntil = Number.NEGATIVE_INFINITY;
          this.#claims.restart(now);
          doubted = true;
          break;
      }
    }
    // After a doubt, plan again even when a grant in the same batch kept the quorum (a refutation
    // of a suspicion loses the lease and regains it at once): what we let go of (#yielding) and
    // what lapsed (#lapsing) change the plan and its claims, which nothing else would replan.
    if (doubted && this.#planning && !this.#leaving) this.#replan(now, view, !this.hasQuorum(now, view));
    else this.#checkQuorum(now, view);
  }

  /**
   * Marks what we may hold of the leased systems that `which` picks as lapsing (see #lapsing). A
   * lapsing item is no longer kept in good standing (preempt false, #sticky): another member may
   * hold it now, and placement's choice claims it. Kept, it would be wanted here while its
   * `down` failed, and both would claim it from each other for ever; it is kept again only once
   * its claim let its `alive` start here.
   */
  #markLapsing(which: (system: SystemConfig) => boolean): void {
    for (const system of this.#config.systems) {
      if (system.lease === undefined || !which(system)) continue;
      for (const item of this.#mayHold.get(system.name) ?? []) {
        entrySet(this.#lapsing, system.name).add(item);
        this.#sticky.get(system.name)?.delete(item);
      }
    }
  }

  /**
   * Renews the held, still wanted items of the leased systems under `policy`: at once when they
   * changed since the last renewal, or that one did not go through; else RENEWAL_SPACING_MS[policy] after it.
   */
  #renew(now: number, policy: 'keep' | 'release', deadline: number): void {
    if (this.#leaving) return;
    for (const system of this.#config.systems) {
      if (system.lease === undefined || system.no_quorum_policy !== policy) continue;
      const held = this.#mayHold.get(system.name);
      if (held === undefined || held.size === 0) continue;
      const wanted = new Set(this.#lastDesired.get(system.name) ?? []);
      const lapsing = this.#lapsing.get(system.name);
      const items = [...held].filter((item) => wanted.has(item) && lapsing?.has(item) !== true);
      if (items.length === 0) continue;
      const key = [...items].sort().join(' ');
      const last = this.#lastRenewal.get(system.name);
      if (
        last !== undefined &&
        last.items === key &&
        (now === last.at || now - last.at < RENEWAL_SPACING_MS[policy])
      )
        continue;
      this.#lastRenewal.set(system.name, { at: now, items: key });
      const adding = this.#adding.get(system.name);
      this.#commands.push({
        kind: 'renew',
        system: system.name,
        items,
        deadline,
        adding: adding === undefined ? 0 : items.filter((item) => adding.has(item)).length,
      });
    }
  }

  /** Replans when the lease came or went since the last plan, or an `alive` was refused. */
  #checkQuorum(now: number, view: MembershipView): void {
    const has = this.hasQuorum(now, view);
    // The lease's end as the view has it: a new server list (setServers) may need fewer grants, so
    // it may last longer than the grants reported so far say; never a wake-up in the past.
    if (has) this.#leaseUntil = Math.max(this.#leaseUntil, view.leaseBase(now) + LEASE_HOLD_MS);
    if ((has !== this.#plannedWithLease || (has && this.#refused)) && this.#planning && !this.#leaving)
      this.#replan(now, view, has === false);
  }

  /**
   * The runner asks right before any `alive` starts (RunnerOptions.permit). Without a fresh lease
   * nothing is taken or put back: the process may have been frozen since the plan, and the others
   * may have declared us down and taken the item once our fence passed, so the claims' answers
   * are void too. Only `keep` without a lease announces what it holds regardless. An item of a
   * system with a lease program also waits for a renewal window (see #inRenewalWindow).
   */
  permitAlive(now: number, view: MembershipView, system: string, item: string): AlivePermit {
    const config = this.#systemsByName.get(system);
    if (this.hasQuorum(now, view)) {
      const claimed =
        config?.type !== 'replicated' &&
        (this.#mayHold.get(system)?.has(item) !== true || this.#lapsing.get(system)?.has(item) === true);
      if (claimed) {
        // An item not held starts only on a claim that still stands in the view of now: a member
        // that counted as gone when it was let through may be back (see Claims.open). A
        // `replicated` system's items are on every member at once: they are not claimed.
        this.#moveClaims(now, view);
        if (!this.#claims.letThrough(system, item)) {
          this.#refused = true;
          return { kind: 'refuse' };
        }
      }
      return this.#inRenewalWindow(now, config);
    }
    const held =
      this.#mayHold.get(system)?.has(item) === true && this.#lapsing.get(system)?.has(item) !== true;
    if (config?.no_quorum_policy === 'keep' && config.lease === undefined && held) return { kind: 'go' };
    // An item held here (an announcement after a release notice, an `alive` run again) waits for
    // the lease to come back: refused, it would be dropped, and the neighbours that the notice
    // was for would go on sending to the server that let it go. A newer plan replaces the wait
    // (under `release`, a `down` once the quorum is gone for good).
    if (held) return { kind: 'wait', retry_at: now + LEASE_ROUND_MS };
    this.#claims.restart(now);
    // The refused item is planned again once the lease is back.
    this.#refused = true;
    return { kind: 'refuse' };
  }

  /**
   * An `alive` of a leased item leases it: a renewal, which the fences of the other servers count
   * on being made by the renewal deadline of the last round (keep) or quorum of grants (release).
   * It starts with at least ALIVE_LEASE_LEAD_MS left before that deadline, and its script is told
   * the deadline; otherwise it waits for the next window, which a lease round brought forward opens.
   */
  #inRenewalWindow(now: number, config: SystemConfig | undefined): AlivePermit {
    if (config?.lease === undefined) return { kind: 'go' };
    const deadline = this.#renewableUntil[config.no_quorum_policy];
    if (now + ALIVE_LEASE_LEAD_MS <= deadline) return { kind: 'go', lease_deadline: deadline };
    this.#commands.push({ kind: 'lease_round' });
    return { kind: 'wait', retry_at: now + LEASE_ROUND_GAP_MS };
  }

  /**
   * A renewal of `system`'s held items ended. When it was not carried out (too late, or the lease
   * program failed), or found fewer of them on the host than it was asked to renew (they lapsed
   * there: a stall or a slow renewal outlasted the fence's element), the host drops or dropped
   * them while we still count them held, and nobody would answer for them. So what we hold there
   * is put in place again (an `alive` of a held item, which the runner starts only with a fresh
   * lease: nobody can have taken it over meanwhile), at most once per LEASE_HOLD_MS per system.
   * Items whose `alive` was still running when the renewal was asked may be missing only because
   * their script had not added them yet: they count as found (a start-up's `alive` scripts would
   * otherwise all run twice, with a warning).
   */
  renewalEnded(now: number, system: string, outcome: RenewalOutcome): void {
    if (outcome.kind === 'renewed' && outcome.renewed + outcome.adding >= outcome.asked) return;
    this.#lastRenewal.delete(system);
    if (this.#stopped || this.#leaving || !this.#planning || !this.#own.includes(system)) return;
    if (now < (this.#lapseReassertAt.get(system) ?? Number.NEGATIVE_INFINITY) + LEASE_HOLD_MS) return;
    this.#lapseReassertAt.set(system, now);
    this.#commands.push({ kind: 'reassert', systems: [system], why: 'lapsed' });
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
    this.#moveClaims(now, view);
  }

  /**
   * A member's readiness changed in our view (membership/readiness.ts): its items move, as after
   * any other change of placement (after the system's delay; break-before-make by hand-backs).
   */
  readinessChanged(now: number, view: MembershipView): void {
    if (this.#stopped || this.#leaving || !this.#planning) return;
    this.#replan(now, view, false);
    this.#tellNewHolders(now, view);
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
    // A member that went down or left may be what a claim waits for (its fence, its release).
    this.#moveClaims(now, view);
    const systems = this.#ownSystems().filter((system) => shared.has(system));
    if (systems.length > 0 && this.#planning && !this.#stopped && !this.#leaving)
      this.#commands.push({ kind: 'reassert', systems, why: 'peer_down' });
  }

  /**
   * We refuted a down or leave: peers may have taken our items (once our fence passed) and told
   * the network. We announce what we hold again and plan anew; an item we do not hold is claimed
   * as ever, so it waits for whoever took it to let go.
   */
  refuted(now: number, view: MembershipView): void {
    if (this.#stopped || this.#leaving) return;
    this.#yieldStanding();
    // A `preempt: false` system's held items are let go and claimed anew, not announced.
    const systems = this.#ownSystems().filter((name) => this.#systemsByName.get(name)?.preempt !== false);
    if (systems.length > 0) this.#commands.push({ kind: 'reassert', systems, why: 'refuted' });
    this.#claims.restart(now);
    this.#replan(now, view, false);
  }

  /**
   * We lost our standing (a lease lost, a refutation): what `preempt: false` systems hold here
   * stops being ours to keep; we let it go and claim it again (see #yielding).
   */
  #yieldStanding(): void {
    for (const name of this.#ownSystems()) {
      if (this.#systemsByName.get(name)?.preempt !== false) continue;
      this.#sticky.delete(name);
      const held = this.#mayHold.get(name);
      if (held !== undefined && held.size > 0)
        for (const item of held) entrySet(this.#yielding, name).add(item);
    }
  }

  /**
   * Our `down` for `item` succeeded: tell whoever holds it now in our view, so that it announces
   * the item again (see release-notices.ts).
   */
  scriptReleased(now: number, system: string, item: string, view: MembershipView): void {
    if (this.#stopped) return;
    const config = this.#systemsByName.get(system);
    if (!config) return;
    this.#mayHold.get(system)?.delete(item);
    this.#unsure.get(system)?.delete(item);
    if (this.#graceAt !== Number.POSITIVE_INFINITY) this.#wantLease();
    const kept = this.#sticky.get(system)?.delete(item) === true;
    this.#lapsing.get(system)?.delete(item);
    const to = this.#holdersOf(config, item, view);
    this.#releases.released(now, system, item, to);
    this.#told.push({ at: now, system, item, to: new Set(to) });
    // Let go after a lost standing: the item may be wanted again, through a claim. Or a kept item
    // (preempt false) let go: the last plan may want it only because it was held here, and while
    // that plan stands we claim it and answer nobody's claim of it, so a member that placement
    // gives it to and we would wait for each other for ever.
    const yielded = this.#yielding.get(system)?.delete(item) === true;
    if (yielded || kept) this.#replan(now, view, false);
  }

  /** The other servers that hold `item` of `system` in our view. */
  #holdersOf(system: FlipConfig['systems'][number], item: string, view: MembershipView): number[] {
    // Without preemption the holder need not be where placement puts the item: tell every live
    // member; those that hold it announce it, the others ignore the notice.
    if (!system.preempt)
      return (this.#membersOf.get(system.name) ?? []).filter((member) => view.isLive(member));
    const to: number[] = [];
    const live = this.#live(view);
    for (const [id, items] of place(system, readyIn(system, live, this.#ready(view), this.#holding(view)))
      .holdings) {
      if (id !== this.#self && items.includes(item)) to.push(this.#ids.indexOf(id));
    }
    return to;
  }

  /** Tells the holders in our new view of what we let go lately, those not told yet. */
  #tellNewHolders(now: number, view: MembershipView): void {
    if (this.#stopped) return;
    const since = now - TELL_MEMORY_MS;
    this.#told = this.#told.filter((entry) => entry.at >= since);
    for (const entry of this.#told) {
      const config = this.#systemsByName.get(entry.system);
      if (config === undefined) continue; // a system removed since
      const fresh = this.#holdersOf(config, entry.item, view).filter((member) => !entry.to.has(member));
      if (fresh.length === 0) continue;
      for (const member of fresh) entry.to.add(member);
      this.#releases.released(now, entry.system, entry.item, fresh);
    }
  }

  /** Our `alive` for `item` ended (done or failed): the item is on the host now, or not at all. */
  aliveEnded(system: string, item: string): void {
    this.#adding.get(system)?.delete(item);
  }

  /**
   * Our `alive` for `item` started: a release of it not yet delivered is no longer true, and the
   * item of a leased system is renewed at the next lease round, brought forward to now.
   */
  scriptStarted(system: string, item: string): void {
    entrySet(this.#mayHold, system).add(item);
    entrySet(this.#adding, system).add(item);
    if (this.#graceAt !== Number.POSITIVE_INFINITY) this.#wantLease();
    this.#lapsing.get(system)?.delete(item);
    // Only a fresh lease lets an `alive` start (permitAlive), except `keep` announcing what it
    // holds without a lease program: that keeps the standing it had.
    if (this.#systemsByName.get(system)?.preempt === false && !this.#yielding.get(system)?.has(item))
      entrySet(this.#sticky, system).add(item);
    this.#claims.end(system, item);
    if (this.#systemsByName.get(system)?.lease !== undefined) this.#commands.push({ kind: 'lease_round' });
    this.#releases.retaken(system, item);
    this.#told = this.#told.filter((entry) => entry.system !== system || entry.item !== item);
  }

  /**
   * A peer's release notice arrived: announce its items, once per notice id. An item we claim
   * is left to its claim (the sender is asked again at once, and a member that left counts as
   * agreeing): its `alive`, once let through, announces it.
   */
  noticeReceived(now: number, notice: ReleasedNotice, view: MembershipView): boolean {
    if (this.#stopped || this.#leaving || !this.#releases.accept(notice.from, notice.id)) return false;
    const bySystem = new Map<string, string[]>();
    for (const { system, item } of notice.items) {
      // A system we do not run (any more, or yet: the sender has other lists) has nothing to announce here.
      if (!this.#own.includes(system)) continue;
      if (this.#claims.waiting(system, item)) {
        this.#claims.released(notice.from, system, item);
        continue;
      }
      bySystem.set(system, [...(bySystem.get(system) ?? []), item]);
    }
    if (bySystem.size > 0) this.#commands.push({ kind: 'announce', from: notice.from, items: bySystem });
    this.#moveClaims(now, view);
    return true;
  }

  /**
   * A peer claims items (handover/claims.ts): agree to those we neither hold nor want. The others
   * get no answer; the peer asks again.
   */
  claimReceived(claim: ClaimMessage, view?: MembershipView): void {
    if (this.#stopped) return;
    // Placement of each system, made once per claim (a failover claims many items at once).
    const elsewhere = new Map<string, ReadonlySet<string>>();
    const placedElsewhere = (system: string, item: string): boolean => {
      if (view === undefined) return false;
      let items = elsewhere.get(system);
      if (items === undefined) {
        items = this.#placedElsewhere(system, claim.from, view);
        elsewhere.set(system, items);
      }
      return items.has(item);
    };
    const items = claim.items.filter(
      ({ system, item }) => !this.mayWant(system, item) && !placedElsewhere(system, item),
    );
    if (items.length > 0)
      this.#commands.push({ kind: 'send_claim_reply', to: claim.from, id: claim.id, items });
  }

  /**
   * The items of a `preempt` system that our view places on a live member other than `claimer`
   * and us: we do not answer its claim of them. The claimer's view is stale (a server back from a
   * cut that still counts down a member which restarted and took the item meanwhile, with the
   * agreement of everybody the claimer now asks): answered, it would be let through while that
   * member holds the item. It asks again until its view places the item as ours does. (Without
   * preemption the holder need not be where placement puts the item: not judged here.)
   */
  #placedElsewhere(system: string, claimer: number, view: MembershipView): ReadonlySet<string> {
    const config = this.#systemsByName.get(system);
    const out = new Set<string>();
    if (config === undefined || !config.preempt || config.type === 'replicated') return out;
    const live = this.#live(view);
    const placed = place(config, readyIn(config, live, this.#ready(view), this.#holding(view))).holdings;
    const claimerId = this.#ids[claimer];
    for (const [id, items] of placed)
      if (id !== claimerId && id !== this.#self) for (const item of items) out.add(item);
    return out;
  }

  /** A peer agreed to our claim `id` for these items. */
  claimReplied(now: number, reply: ClaimMessage, view: MembershipView): void {
    if (this.#stopped) return;
    this.#claims.replied(reply.from, reply.id, reply.items);
    this.#moveClaims(now, view);
  }

  /**
   * Whether this server may hold `item` of `system`, or wants it: then it agrees to nobody's
   * claim of it. Before our first plan and until a `down` cleaned them up, a previous life's
   * leftovers count as held; a leaving server wants nothing, and holds what its drain has not
   * let go yet.
   */
  mayWant(system: string, item: string): boolean {
    if (!this.#ownSystems().includes(system)) return false;
    if (this.#unsure.get(system)?.has(item) || this.#mayHold.get(system)?.has(item)) return true;
    if (this.#leaving) return false;
    return this.#lastDesired.get(system)?.includes(item) === true;
  }

  /** Lets through the claimed items every member agreed to, and sends the claims that are due. */
  #moveClaims(now: number, view: MembershipView): void {
    if (this.#stopped || this.#leaving || !this.#planning) return;
    const claimView = this.#claimView(view);
    // Without the quorum nothing is taken: the replan that follows its loss ends the claims.
    if (this.hasQuorum(now, view)) {
      for (const [system, items] of this.#claims.open(now, claimView))
        this.#commands.push({ kind: 'cleared', system, items });
    } else this.#claims.hold();
    for (const send of this.#claims.sends(now, claimView))
      this.#commands.push({ kind: 'send_claim', ...send });
  }

  /** Who must agree to a claim, and where each stands in `view`. */
  #claimView(view: MembershipView): ClaimView {
    const live: Standing = { kind: 'live' };
    return {
      membersOf: (system) => this.#membersOf.get(system) ?? [],
      standing: (system, member) => {
        if (view.isLive(member)) return live;
        const config = this.#systemsByName.get(system);
        return {
          kind: 'gone',
          left: view.hasLeft(member),
          // A system removed since: no claim of it is let through.
          fenced_at:
            config === undefined
              ? Number.POSITIVE_INFINITY
              : fencedAt(view.heardByAnyone(member), fenceOf(config), view.grant_fresh_ms),
        };
      },
    };
  }

  /** The receiver of our notice `id` got it. */
  noticeAcked(from: number, id: number): void {
    this.#releases.acked(from, id);
  }

  /**
   * A graceful stop began: no more plans, announcements or notices acted on. The runner drains;
   * release notices for its last `down` scripts are still sent, until `stop`. Says whether the
   * leave is announced before the drain or after it (LeaveOrder).
   */
  leave(): LeaveOrder {
    this.#leaving = true;
    this.#graceAt = Number.POSITIVE_INFINITY;
    const unfenced = this.#ownSystems().some((name) => {
      const system = this.#systemsByName.get(name);
      return system !== undefined && fenceWaitMs(fenceOf(system), 0) === 0;
    });
    return unfenced && this.#config.remove_on_failure ? 'drain_first' : 'announce_first';
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
    // Before the first grant there is no end to wait for (the lease's own events replan); a
    // leaving server plans no more, so the end of its lease is nothing to wake for.
    const leaseEnds =
      this.#plannedWithLease && !this.#leaving && Number.isFinite(this.#leaseUntil)
        ? this.#leaseUntil
        : Number.POSITIVE_INFINITY;
    return Math.min(
      this.#planning ? Number.POSITIVE_INFINITY : this.#graceAt,
      this.#releases.nextWakeAt(),
      leaseEnds,
      this.#planning && !this.#leaving ? this.#claims.nextWakeAt() : Number.POSITIVE_INFINITY,
    );
  }

  takeCommands(): ControllerCommand[] {
    this.#takeSends();
    const commands = this.#commands;
    this.#commands = [];
    return commands;
  }

  /** Placement of every system in this node's view: what each member should hold (for status). */
  placement(view: MembershipView): Map<string, Placement> {
    return this.#placeAll(this.#live(view), view);
  }

  /** Which items this node should hold now, per system it is a member of. */
  desired(view: MembershipView): Map<string, string[]> {
    return this.#wanted(view);
  }

  /**
   * What we want per system: placement's share, plus what `preempt: false` keeps here (held in
   * good standing while we are ready for the system), minus what we must let go of first.
   */
  #wanted(view: MembershipView): Map<string, string[]> {
    const desired = heldBy(this.#placeAll(this.#live(view), view), this.#self);
    const ready = this.#ready(view);
    for (const system of this.#config.systems) {
      const placed = desired.get(system.name);
      if (placed === undefined) continue;
      const yielding = this.#yielding.get(system.name);
      const keep =
        system.preempt || !ready(this.#self, system.name) ? undefined : this.#sticky.get(system.name);
      if ((yielding === undefined || yielding.size === 0) && (keep === undefined || keep.size === 0))
        continue;
      const held = this.#mayHold.get(system.name);
      const wanted = new Set(placed);
      for (const item of keep ?? []) if (held?.has(item)) wanted.add(item);
      for (const item of yielding ?? []) wanted.delete(item);
      desired.set(
        system.name,
        system.data.filter((item) => wanted.has(item)),
      );
    }
    return desired;
  }

  #beginPlanning(now: number, view: MembershipView, why: 'synced' | 'grace'): void {
    if (this.#planning || this.#stopped || this.#leaving) return;
    this.#planning = true;
    // Without remove_on_start the runner trusts a fresh start to hold nothing it does not want.
    if (!this.#config.remove_on_start) this.#unsure.clear();
    this.#commands.push({ kind: 'planning', why });
    this.#replan(now, view, false);
  }

  #replan(now: number, view: MembershipView, immediate: boolean): void {
    if (!this.#planning || this.#stopped || this.#leaving) return;
    const desired = this.#wanted(view);
    const quorum = this.hasQuorum(now, view);
    this.#reportQuorum(quorum);
    this.#plannedWithLease = quorum;
    if (quorum) this.#refused = false;
    if (!quorum) {
      this.#claims.restart(now);
      this.#markLapsing((system) => system.no_quorum_policy === 'release');
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
    // Every wanted item we may not hold yet is claimed; a claim of an item no longer wanted ends.
    // A `replicated` system's items are meant to be on every member at once: nothing to claim
    // (its members want them all, so a claim would wait for ever).
    const own = this.#ownSystems();
    for (const name of own) {
      const items = desired.get(name) ?? [];
      this.#lastDesired.set(name, items);
      const exclusive = this.#systemsByName.get(name)?.type !== 'replicated';
      this.#claims.retain(name, new Set(exclusive ? items : []));
      if (!exclusive) continue;
      const held = this.#mayHold.get(name);
      const lapsing = this.#lapsing.get(name);
      for (const item of items) if (!held?.has(item) || lapsing?.has(item)) this.#claims.want(name, item);
    }
    if (!quorum) this.#claims.hold();
    const claimView = this.#claimView(view);
    const opened = quorum ? this.#claims.open(now, claimView) : new Map<string, string[]>();
    for (const name of own) {
      const items = desired.get(name) ?? [];
      const gated = items.filter((item) => this.#claims.waiting(name, item));
      this.#commands.push({
        kind: 'desired',
        system: name,
        items,
        immediate,
        handback:
          gated.length === 0 ? undefined : new Map(gated.map((item) => [item, Number.POSITIVE_INFINITY])),
      });
    }
    // Let through at once what needs nobody's word; also ends a wait an earlier plan left in the runner.
    for (const [system, items] of opened) this.#commands.push({ kind: 'cleared', system, items });
    for (const send of this.#claims.sends(now, claimView))
      this.#commands.push({ kind: 'send_claim', ...send });
    this.#wantLease();
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
  #ownSystems(): readonly string[] {
    return this.#own;
  }

  /**
   * Placement of every system among the members of `candidates` that are ready for it. A member
   * not live in our view (a gone one, in a set only for its fence) has no readiness to go by:
   * it is placed as it last was.
   */
  #placeAll(candidates: ReadonlySet<string>, view: MembershipView): Map<string, Placement> {
    return placeReady(this.#config.systems, candidates, this.#ready(view), this.#holding(view));
  }

  /** Whether server `id` only holds down in `system` (healthy, back lately) in our view. */
  #holding(view: MembershipView): ((id: string, system: string) => boolean) | undefined {
    const holdingFor = view.holdingFor;
    if (holdingFor === undefined) return undefined;
    return (id, system) => holdingFor.call(view, this.#ids.indexOf(id), system);
  }

  /** Whether server `id` may be given items of `system` in our view. */
  #ready(view: MembershipView): (id: string, system: string) => boolean {
    const readyFor = view.readyFor;
    if (readyFor === undefined) return () => true;
    return (id, system) => {
      const member = this.#ids.indexOf(id);
      return !view.isLive(member) || readyFor.call(view, member, system);
    };
  }

  #live(view: MembershipView): Set<string> {
    return new Set(view.liveMembers().map((index) => this.#ids[index]!));
  }

  #takeSends(): void {
    for (const notice of this.#releases.takeSends()) this.#commands.push({ kind: 'send_release', ...notice });
  }
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

export type { ReleasedItem };
