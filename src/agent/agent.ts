/**
 * The agent: the composition root that wires the real adapters (clock, UDP socket, child
 * processes, logger) to the pure parts (membership core, placement, script runner).
 *
 *   packets -> MembershipDriver -> member changes -> placement -> RunnerDriver -> scripts
 */
import { dirname, resolve } from 'node:path';
import { canonicalAddress, formatEndpoint } from '../config/address.js';
import { ConfigError } from '../config/errors.js';
import type { FlipConfig } from '../config/index.js';
import { loadConfigIsolated } from '../config/load-isolated.js';
import { shortenText } from '../executor/captured-output.js';
import { checkConfigScripts } from '../executor/config-scripts.js';
import { RunnerDriver } from '../executor/driver.js';
import { runnerOptionsFor } from '../executor/from-config.js';
import { resolveScript } from '../executor/launcher.js';
import { ScriptRunner } from '../executor/runner.js';
import type { RunnerNote } from '../executor/types.js';
import { handedBack } from '../handover/handback.js';
import { ReleaseNotices } from '../handover/release-notices.js';
import { startedBefore } from '../membership/incarnation.js';
import { isLive, type MemberChange, type ReleasedNotice } from '../membership/node.js';
import { startupGraceMs } from '../membership/timing.js';
import { heldBy, type Placement, place, placeAll } from '../placement/index.js';
import { setTimer } from '../time/timer.js';
import { bindUdp, type Endpoint, type PacketTransport } from '../transport/udp.js';
import type { DropReason } from '../wire/drop-reasons.js';
import { DropLog } from './drop-log.js';
import { createLogger, type Logger } from './log.js';
import { MembershipDriver } from './membership-driver.js';

export interface AgentOptions {
  /** Log as human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
  logger?: Logger;
  /** For tests: the shortest gap between two dropped-packet summaries (ms); default 10 s. */
  drop_summary_interval_ms?: number;
}

/** How long shutdown may take beyond the slowest script's timeout before we give up waiting. */
const SHUTDOWN_MARGIN_MS = 5_000;
/**
 * A handed-back item waits for the previous holder's release notice at most twice the system's
 * delay plus this: the holder plans after its own delay, runs `down`, then tells us.
 */
const HANDBACK_MARGIN_MS = 1000;
/** How long a release notice is sent again while its receiver cannot be reached (a partition). */
const RELEASE_NOTICE_GIVE_UP_MS = 120_000;
/** Lets the leave announcements leave the socket before it closes. */
const LEAVE_FLUSH_MS = 20;

export class Agent {
  readonly config: FlipConfig;
  readonly log: Logger;
  readonly membership: MembershipDriver;
  readonly runner: ScriptRunner;
  readonly #runnerDriver: RunnerDriver;
  readonly #serverIds: string[];
  readonly #releases: ReleaseNotices;
  /** The one timer for the release notices' next wake-up, and when it fires (ms, monotonic). */
  #releaseTimer: NodeJS.Timeout | undefined;
  #releaseTimerAt = Number.POSITIVE_INFINITY;
  /** Set once the notices are closed at shutdown: no timer for them any more. */
  #shuttingDownDone = false;
  /** Counts dropped packets into rate-limited log lines (see DropLog). */
  readonly #drops: DropLog;
  /** The one timer for the next drop summary, and when it fires (ms, monotonic). */
  #dropTimer: NodeJS.Timeout | undefined;
  #dropTimerAt = Number.POSITIVE_INFINITY;
  #transport: PacketTransport | undefined;
  #planning = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #shuttingDown: Promise<void> | undefined;
  /** The placement the last plan was made from (which server held what in our view). */
  #lastPlacements: Map<string, Placement> | undefined;
  /** Wall-clock start, to tell peers that were running before us (they may hold our items). */
  readonly #startedAtWall = Date.now();

  private constructor(config: FlipConfig, configDir: string, options: AgentOptions) {
    this.config = config;
    this.#serverIds = config.servers.map((server) => server.id);
    this.log =
      options.logger ?? createLogger({ level: config.log_level, node: config.id, pretty: options.pretty });
    this.#drops = new DropLog({
      summary_interval_ms: options.drop_summary_interval_ms,
      peers: config.servers.filter((server) => server.id !== config.id).map((server) => senderText(server)),
    });
    this.membership = new MembershipDriver(
      config,
      { now: () => performance.now(), wallNow: () => Date.now(), random: Math.random },
      {
        onRefuted: () => {
          this.log.warn('peers had declared this server down; announcing what it holds again');
          this.#runnerDriver.reassert();
        },
        onChanges: (changes) => this.#onChanges(changes),
        onSynced: () => this.#beginPlanning('learned the view from a peer'),
        onReleased: (notice) => this.#onReleased(notice),
        onReleasedAck: (ack) => this.#releases.acked(ack.from, ack.id),
        onBootAdvanced: (from, to) =>
          this.log.warn(
            { told_by: this.#serverIds[from], boot_id: to },
            'a peer had seen a later start of this server (the clock went back); going on with a higher boot id',
          ),
        onDrop: (reason, from) => this.#onDrop(reason, from),
      },
    );
    this.#releases = new ReleaseNotices({
      repeat_ms: config.ping_timeout_ms,
      give_up_ms: RELEASE_NOTICE_GIVE_UP_MS,
      first_id: Math.floor(Math.random() * 2 ** 32),
    });
    this.runner = new ScriptRunner(
      runnerOptionsFor(config, config.id, { resolveScript: (script) => resolveScript(script, configDir) }),
    );
    this.#runnerDriver = new RunnerDriver({
      runner: this.runner,
      cwd: configDir,
      onNote: (note) => this.#onNote(note),
    });
  }

  /** Loads and checks the config, binds the socket and starts the protocol. */
  static async start(configPath: string, options: AgentOptions = {}): Promise<Agent> {
    const config = await loadConfigIsolated(configPath);
    const configDir = dirname(resolve(configPath));
    checkScripts(config, configDir, configPath);
    const agent = new Agent(config, configDir, options);
    await agent.#start();
    return agent;
  }

  async #start(): Promise<void> {
    const self = this.config.servers.find((server) => server.id === this.config.id)!;
    this.#transport = await bindUdp(
      { ip: self.ip, port: self.port },
      (packet, from) => this.membership.receive(packet, from),
      (error) => this.log.debug({ err: error.message }, 'send failed'),
    );
    this.log.info(
      {
        listen: `${self.ip}:${self.port}`,
        servers: this.#serverIds.length,
        quorum: this.config.quorum,
        systems: this.config.systems.map((system) => system.name),
      },
      'flip agent started',
    );
    this.membership.start(this.#transport);
    if (!this.#planning) {
      this.#graceTimer = setTimeout(
        () => this.#beginPlanning('start-up grace over, acting on config'),
        startupGraceMs(this.config),
      );
    }
  }

  /** Which items this node should hold now, per system it is a member of. */
  desired(): Map<string, string[]> {
    return heldBy(placeAll(this.config.systems, this.#live()), this.config.id);
  }

  /** Ids of the servers placement treats as live in this node's view. */
  #live(): Set<string> {
    return new Set(this.membership.liveMembers().map((index) => this.#serverIds[index]!));
  }

  /** Our `down` for `item` succeeded: tell whoever holds it now to announce it (see ReleaseNotices). */
  #noteRelease(systemName: string, item: string): void {
    const system = this.config.systems.find((candidate) => candidate.name === systemName);
    if (!system) return;
    const to: number[] = [];
    for (const [id, items] of place(system, this.#live()).holdings) {
      if (id !== this.config.id && items.includes(item)) to.push(this.#serverIds.indexOf(id));
    }
    this.#releases.released(performance.now(), systemName, item, to);
    this.#driveReleases();
  }

  /** Carries out the release notices' effects and keeps one timer for their next wake-up. */
  #driveReleases(): void {
    const now = performance.now();
    this.#releases.tick(now, (member) => this.membership.isLive(member));
    for (const { to, id, items } of this.#releases.takeSends()) this.membership.release(to, id, items);
    const at = this.#releases.nextWakeAt();
    if (at === this.#releaseTimerAt) return;
    if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
    this.#releaseTimer = undefined;
    this.#releaseTimerAt = at;
    if (!Number.isFinite(at) || this.#shuttingDownDone) return;
    this.#releaseTimer = setTimer(() => {
      this.#releaseTimer = undefined;
      this.#releaseTimerAt = Number.POSITIVE_INFINITY;
      this.#driveReleases();
    }, at - now);
  }

  /** A peer released items to us: announce those we hold and want, at once. */
  #onReleased(notice: ReleasedNotice): void {
    if (this.#shuttingDown || !this.#releases.accept(notice.from, notice.id)) return;
    const bySystem = new Map<string, string[]>();
    for (const { system, item } of notice.items)
      bySystem.set(system, [...(bySystem.get(system) ?? []), item]);
    const queued = this.#runnerDriver.released(bySystem);
    this.log.info(
      {
        from: this.#serverIds[notice.from],
        items: notice.items.map(({ system, item }) => `${system}/${item}`),
        announcing: queued,
      },
      'peer released items to this server',
    );
  }

  /** Counts a dropped packet; its own line (debug) and the summary (warning) are rate-limited. */
  #onDrop(reason: DropReason, from: Endpoint): void {
    const now = performance.now();
    const sender = senderText(from);
    const line = this.#drops.record(now, reason, sender);
    if (line) {
      const fields =
        line.suppressed > 0
          ? { reason, from: sender, suppressed: line.suppressed }
          : { reason, from: sender };
      this.log.debug(fields, 'packet dropped');
    }
    this.#reportDrops(now);
  }

  /** Logs the drop summary if one is due, and keeps one timer set for the next. */
  #reportDrops(now: number): void {
    const summary = this.#drops.take(now);
    if (summary) this.log.warn(summary, 'packets dropped');
    const at = this.#drops.nextWakeAt();
    if (at === this.#dropTimerAt) return;
    if (this.#dropTimer) clearTimeout(this.#dropTimer);
    this.#dropTimer = undefined;
    this.#dropTimerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.#dropTimer = setTimer(() => {
      this.#dropTimer = undefined;
      this.#dropTimerAt = Number.POSITIVE_INFINITY;
      this.#reportDrops(performance.now());
    }, at - now);
    // A pending summary must not keep the process alive; shutdown logs it.
    this.#dropTimer.unref();
  }

  #beginPlanning(why: string): void {
    if (this.#planning || this.#shuttingDown) return;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#planning = true;
    this.log.info({ why }, 'view ready, planning');
    this.#replan();
  }

  #replan(immediate = false): void {
    if (!this.#planning || this.#shuttingDown) return;
    const live = this.#live();
    const placements = placeAll(this.config.systems, live);
    const desired = heldBy(placements, this.config.id);
    const handbacks = this.#handbacks(placements, live);
    this.#lastPlacements = placements;
    for (const system of this.runner.systems()) {
      this.#runnerDriver.setDesired(system, desired.get(system) ?? [], {
        immediate,
        handback: handbacks.get(system),
      });
    }
  }

  /**
   * Items handed back to this server (see handedBack), with how long to wait for the previous
   * holder's release notice before running `alive` anyway. On the first plan there is no
   * earlier view: the holders are those placement gives the items to without us, among peers
   * that started well before us (at a cold start nobody held anything yet).
   */
  #handbacks(placements: Map<string, Placement>, live: Set<string>): Map<string, Map<string, number>> {
    const self = this.config.id;
    let before = this.#lastPlacements;
    let heldThen = (_id: string) => true;
    if (before === undefined) {
      before = placeAll(this.config.systems, new Set([...live].filter((id) => id !== self)));
      const grace = startupGraceMs(this.config);
      heldThen = (id) =>
        startedBefore(this.membership.incarnationOf(this.#serverIds.indexOf(id)), this.#startedAtWall, grace);
    }
    const out = new Map<string, Map<string, number>>();
    for (const [name, items] of handedBack(self, before, placements, live, heldThen)) {
      const delay = this.config.systems.find((system) => system.name === name)!.delay_ms;
      out.set(name, new Map(items.map((item) => [item, 2 * delay + HANDBACK_MARGIN_MS])));
    }
    return out;
  }

  #onChanges(changes: MemberChange[]): void {
    let placementChanged = false;
    let leave = false;
    for (const change of changes) {
      this.log.info(
        {
          member: this.#serverIds[change.member],
          from: change.from,
          to: change.to,
          incarnation: change.incarnation,
          reason: change.reason,
        },
        'member state',
      );
      if (isLive(change.from) !== isLive(change.to)) placementChanged = true;
      if (change.to === 'left') leave = true;
    }
    // A leave is announced by the leaver itself: take its data over at once, without waiting
    // for more changes to arrive (the planned hand-over path).
    if (placementChanged) this.#replan(leave);
  }

  #onNote(note: RunnerNote): void {
    switch (note.type) {
      case 'plan':
        this.log.info(
          {
            system: note.system,
            plan: note.plan,
            desired: note.desired,
            leaving: note.leaving,
            arriving: note.arriving,
          },
          'plan',
        );
        return;
      case 'started':
        this.log.info(
          {
            system: note.launch.system,
            item: note.launch.item,
            event: note.launch.event,
            attempt: note.launch.attempt,
            reason: note.launch.reason,
          },
          'script started',
        );
        return;
      case 'finished': {
        const { launch, result } = note;
        // A log line keeps the start and the end of each stream, since a script's error is
        // usually at the end, and says what it cut.
        const logged = (text: string): string => shortenText(text.trim(), 2000, 2000);
        const stdout = logged(result.stdout);
        const stderr = logged(result.stderr);
        const fields = {
          system: launch.system,
          item: launch.item,
          event: launch.event,
          exit_code: result.exit_code,
          signal: result.signal,
          timed_out: result.timed_out,
          duration_ms: Math.round(result.duration_ms),
          ...(stdout === '' ? {} : { stdout }),
          ...(stderr === '' ? {} : { stderr }),
        };
        if (result.ok) this.log.info(fields, 'script finished');
        else this.log.warn(fields, 'script failed');
        if (note.released) this.#noteRelease(launch.system, launch.item);
        return;
      }
      case 'retry':
        this.log.warn(
          { system: note.system, item: note.item, event: note.event, attempt: note.attempt },
          'script retry scheduled',
        );
        return;
      case 'failed':
        this.log.error(
          { system: note.system, item: note.item, event: note.event, attempts: note.attempts },
          'item failed: its script keeps failing; retrying periodically',
        );
        return;
      case 'recovered':
        this.log.info({ system: note.system, item: note.item, event: note.event }, 'item recovered');
        return;
      case 'drained':
        return;
    }
  }

  /**
   * Graceful stop: announce the leave (peers take over at once), run `down` for everything
   * held (unless remove_on_failure is off), close the socket. Bounded in time.
   */
  shutdown(signal = 'shutdown'): Promise<void> {
    this.#shuttingDown ??= (async () => {
      if (this.#graceTimer) clearTimeout(this.#graceTimer);
      this.log.info({ signal, run_down: this.config.remove_on_failure }, 'leaving the cluster');
      this.membership.leave();
      const slowest = Math.max(0, ...this.config.systems.map((system) => system.script_timeout_ms));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), slowest + SHUTDOWN_MARGIN_MS);
      });
      const drained = this.#runnerDriver.drain(this.config.remove_on_failure).then(() => 'drained' as const);
      const outcome = await Promise.race([drained, deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout')
        this.log.error('scripts still running at the shutdown deadline; exiting anyway');
      this.#runnerDriver.stop();
      this.#releases.close(performance.now());
      for (const { to, id, items } of this.#releases.takeSends()) this.membership.release(to, id, items);
      this.#shuttingDownDone = true;
      if (this.#releaseTimer) clearTimeout(this.#releaseTimer);
      this.#releaseTimer = undefined;
      await new Promise((resolve) => setTimeout(resolve, LEAVE_FLUSH_MS));
      await this.#transport?.close();
      // The socket is closed, so no more drops come: log what is pending rather than lose it.
      if (this.#dropTimer) clearTimeout(this.#dropTimer);
      this.#dropTimer = undefined;
      this.#dropTimerAt = Number.POSITIVE_INFINITY;
      const drops = this.#drops.flush(performance.now());
      if (drops) this.log.warn(drops, 'packets dropped');
      this.log.info('flip agent stopped');
    })();
    return this.#shuttingDown;
  }
}

/**
 * A sender as drops are counted and logged, in one spelling per address (see canonicalAddress),
 * so that a configured peer is recognised however the socket or the config writes its address.
 */
function senderText(endpoint: Endpoint): string {
  return formatEndpoint(canonicalAddress(endpoint.ip), endpoint.port);
}

/** A missing or non-executable script of this server's systems is a config error at start. */
function checkScripts(config: FlipConfig, configDir: string, file: string): void {
  const { errors } = checkConfigScripts(config, { self: config.id, on_host: true, config_dir: configDir });
  if (errors.length > 0) throw new ConfigError(errors, file);
}
