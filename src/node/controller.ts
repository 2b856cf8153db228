/**
 * One server's brain above the protocol core and the script runner: when planning starts, what
 * each plan wants, which items wait for a hand-back, when to announce again, and whom to tell
 * that an item was let go. Pure: no clock, timer, random source or I/O. Every call takes the
 * time (ms, monotonic); the caller carries out what `takeCommands` returns and calls `tick` when
 * `nextWakeAt` comes. The daemon (agent.ts) and the simulator drive this same class.
 *
 *   membership changes, release notices, runner notes, ticks -> NodeController -> commands
 */
import type { FlipConfig } from '../config/index.js';
import { handedBack } from '../handover/handback.js';
import { type OutgoingNotice, ReleaseNotices } from '../handover/release-notices.js';
import { mayHaveRunBefore } from '../membership/incarnation.js';
import type { ReleasedItem } from '../membership/messages.js';
import { isLive, type MemberChange, type ReleasedNotice } from '../membership/node.js';
import { startupGraceMs } from '../membership/timing.js';
import { heldBy, type Placement, place, placeAll } from '../placement/index.js';

/** What the controller needs to know of this node's membership view. */
export interface MembershipView {
  /** Indexes of the members live in this node's view, itself included. */
  liveMembers(): number[];
  /** Whether `member` is live in this node's view. */
  isLive(member: number): boolean;
  /** The incarnation known of `member` (0: not heard of yet). */
  incarnationOf(member: number): number;
}

export interface ControllerOptions {
  /** Wall-clock ms at this boot's start, in the scale of incarnations (see incarnation.ts). */
  started_at_wall_ms: number;
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
  /** Peers had declared us down: run `alive` again for what we hold (ScriptRunner.reassert). */
  | { kind: 'reassert' }
  /** A peer let go of these items for us: announce those we hold (ScriptRunner.released). */
  | { kind: 'announce'; from: number; items: ReadonlyMap<string, readonly string[]> }
  /** Tell `to` that we let go of these items (the membership core's `release`). */
  | ({ kind: 'send_release' } & OutgoingNotice)
  /** Planning started, and why (for the log). */
  | { kind: 'planning'; why: 'synced' | 'grace' };

/**
 * A handed-back item waits for the previous holder's release notice at most twice the system's
 * delay plus this: the holder plans after its own delay, runs `down`, then tells us.
 */
export const HANDBACK_MARGIN_MS = 1000;
/** How long a release notice is sent again while its receiver cannot be reached (a partition). */
export const RELEASE_NOTICE_GIVE_UP_MS = 120_000;

export class NodeController {
  readonly #config: FlipConfig;
  readonly #self: string;
  readonly #ids: string[];
  readonly #startedAtWall: number;
  readonly #releases: ReleaseNotices;
  #graceAt = Number.POSITIVE_INFINITY;
  #planning = false;
  /** Leaving: no more plans, announcements or notices accepted; our own notices still go out. */
  #leaving = false;
  #stopped = false;
  /** The placement the last plan was made from (which server held what in our view). */
  #lastPlacements: Map<string, Placement> | undefined;
  #commands: ControllerCommand[] = [];

  constructor(config: FlipConfig, options: ControllerOptions) {
    this.#config = config;
    this.#self = config.id;
    this.#ids = config.servers.map((server) => server.id);
    this.#startedAtWall = options.started_at_wall_ms;
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
  }

  /** A peer told us the cluster's view: plan from it now. */
  synced(now: number, view: MembershipView): void {
    this.#beginPlanning(now, view, 'synced');
  }

  tick(now: number, view: MembershipView): void {
    if (this.#stopped) return;
    if (!this.#planning && now >= this.#graceAt) this.#beginPlanning(now, view, 'grace');
    this.#releases.tick(now, (member) => view.isLive(member));
    this.#takeSends();
  }

  /** Member states changed in our view: replan when placement may change (at once on a leave). */
  changes(now: number, changes: readonly MemberChange[], view: MembershipView): void {
    let placementChanged = false;
    let leave = false;
    for (const change of changes) {
      if (isLive(change.from) !== isLive(change.to)) placementChanged = true;
      if (change.to === 'left') leave = true;
    }
    if (placementChanged) this.#replan(now, view, leave);
  }

  /** We refuted a down or leave: peers may have taken our items and told the network. */
  refuted(): void {
    if (this.#stopped || this.#leaving) return;
    this.#commands.push({ kind: 'reassert' });
  }

  /**
   * Our `down` for `item` succeeded: tell whoever holds it now in our view, so that it announces
   * the item again (see release-notices.ts).
   */
  scriptReleased(now: number, system: string, item: string, view: MembershipView): void {
    if (this.#stopped) return;
    const config = this.#config.systems.find((candidate) => candidate.name === system);
    if (!config) return;
    const to: number[] = [];
    for (const [id, items] of place(config, this.#live(view)).holdings) {
      if (id !== this.#self && items.includes(item)) to.push(this.#ids.indexOf(id));
    }
    this.#releases.released(now, system, item, to);
  }

  /** A peer's release notice arrived: announce its items, once per notice id. */
  noticeReceived(notice: ReleasedNotice): boolean {
    if (this.#stopped || this.#leaving || !this.#releases.accept(notice.from, notice.id)) return false;
    const bySystem = new Map<string, string[]>();
    for (const { system, item } of notice.items)
      bySystem.set(system, [...(bySystem.get(system) ?? []), item]);
    this.#commands.push({ kind: 'announce', from: notice.from, items: bySystem });
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
    return Math.min(this.#planning ? Number.POSITIVE_INFINITY : this.#graceAt, this.#releases.nextWakeAt());
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

  #replan(_now: number, view: MembershipView, immediate: boolean): void {
    if (!this.#planning || this.#stopped || this.#leaving) return;
    const live = this.#live(view);
    const placements = placeAll(this.#config.systems, live);
    const desired = heldBy(placements, this.#self);
    const handbacks = this.#handbacks(placements, live, view);
    this.#lastPlacements = placements;
    const self = this.#config.servers.find((server) => server.id === this.#self)!;
    for (const system of this.#config.systems) {
      if (!self.systems.includes(system.name)) continue;
      this.#commands.push({
        kind: 'desired',
        system: system.name,
        items: desired.get(system.name) ?? [],
        immediate,
        handback: handbacks.get(system.name),
      });
    }
  }

  /**
   * Items handed back to this server (see handedBack), with how long to wait for the previous
   * holder's release notice before running `alive` anyway. On the first plan there is no
   * earlier view: the holders are those placement gives the items to without us, among peers
   * that started well before us or whose start we do not know yet (a state sync leaves plainly
   * alive members out, so after a restart into a running cluster the peer holding our items may
   * be one of those). At a cold start the peers' starts are known by then and nobody waits.
   */
  #handbacks(
    placements: Map<string, Placement>,
    live: Set<string>,
    view: MembershipView,
  ): Map<string, Map<string, number>> {
    const self = this.#self;
    let before = this.#lastPlacements;
    let heldThen = (_id: string) => true;
    if (before === undefined) {
      before = placeAll(this.#config.systems, new Set([...live].filter((id) => id !== self)));
      const grace = startupGraceMs(this.#config);
      heldThen = (id) =>
        mayHaveRunBefore(view.incarnationOf(this.#ids.indexOf(id)), this.#startedAtWall, grace);
    }
    const out = new Map<string, Map<string, number>>();
    for (const [name, items] of handedBack(self, before, placements, live, heldThen)) {
      const delay = this.#config.systems.find((system) => system.name === name)!.delay_ms;
      out.set(name, new Map(items.map((item) => [item, 2 * delay + HANDBACK_MARGIN_MS])));
    }
    return out;
  }

  #live(view: MembershipView): Set<string> {
    return new Set(view.liveMembers().map((index) => this.#ids[index]!));
  }

  #takeSends(): void {
    for (const notice of this.#releases.takeSends()) this.#commands.push({ kind: 'send_release', ...notice });
  }
}

export type { ReleasedItem };
