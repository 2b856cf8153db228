/**
 * The agent: the composition root that wires the real adapters (clock, UDP socket, child
 * processes, logger) to the pure parts (membership core, placement, script runner).
 *
 *   packets -> MembershipDriver -> member changes -> placement -> RunnerDriver -> scripts
 */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { hashToken } from '../api/auth.js';
import { ApiServer } from '../api/server.js';
import type { AgentSnapshot, SystemSnapshot } from '../api/snapshot.js';
import { assembleStatus, healthDoc } from '../api/status.js';
import type { EventBody, ReloadOutcome } from '../api/types.js';
import type { ConfigChange, SystemDocument } from '../changes/change.js';
import { itemsOf, objectOr, own, serversOf, systemsOf } from '../changes/document.js';
import { describeChange } from '../changes/index.js';
import { canonicalAddress, formatEndpoint } from '../config/address.js';
import { apiUrl } from '../config/api-listen.js';
import { ConfigError } from '../config/errors.js';
import type { ConfigOverrides, FlipConfig, SystemConfig } from '../config/index.js';
import { parseConfig, readConfigText } from '../config/index.js';
import { loadConfigIsolated } from '../config/load-isolated.js';
import {
  committedChange,
  type ListsChange,
  type RuntimeChange,
  runtimeChange,
  SYSTEM_SETTING_KEYS,
} from '../config/runtime-change.js';
import { serverEdit } from '../config/server-edit.js';
import { parseSource } from '../config/source.js';
import { shortenText } from '../executor/captured-output.js';
import { checkConfigScripts } from '../executor/config-scripts.js';
import { RunnerDriver } from '../executor/driver.js';
import { listsToRunner, runnerOptionsFor, systemsToRunner } from '../executor/from-config.js';
import { type LaunchOptions, launchScript, resolveScript } from '../executor/launcher.js';
import { LINUX_LEASE_LIFETIME_S } from '../executor/lease-fence.js';
import {
  LEASE_DATAGRAM_DEFAULTS,
  LeaseKeeper,
  type LeaseKeeperEvent,
  readUptimeMs,
  uptimeDeadlineMs,
} from '../executor/lease-keeper.js';
import { describeFailure } from '../executor/retry.js';
import { ScriptRunner } from '../executor/runner.js';
import type { Recovery } from '../executor/script-ledger.js';
import { ScriptLedger } from '../executor/script-ledger.js';
import { type Launch, RUNNER_DEFAULTS, type RunnerNote, type RunResult } from '../executor/types.js';
import { HealthMonitor, readinessIndexes } from '../health/health-monitor.js';
import { ReadinessLink } from '../health/readiness-link.js';
import { renumberingOf, sameRoster } from '../membership/from-config.js';
import type { DuplicateCounters } from '../membership/identity.js';
import { isGone } from '../membership/member-view.js';
import type { DuplicateEvent, MemberChange } from '../membership/node.js';
import { agentMetrics } from '../metrics/agent-metrics.js';
import { renderMetrics } from '../metrics/prometheus.js';
import { CommittedVersions, DEPARTURE_CHECK_MS } from '../node/committed-versions.js';
import { NodeController } from '../node/controller.js';
import { AgentStats } from '../observe/agent-stats.js';
import { EventRing } from '../observe/events.js';
import type { ChangeAnswer } from '../replica/answer.js';
import { type ClusterState, type ConfigDocument, clusterStateFile } from '../state/cluster-state.js';
import { sameJson } from '../state/json-equal.js';
import { stateLost } from '../state/lost-state.js';
import { type StartPoint, startFrom } from '../state/start-from.js';
import type { StateFile } from '../state/state-file.js';
import { setTimer } from '../time/timer.js';
import { bindUdp, type Endpoint, type PacketTransport } from '../transport/udp.js';
import { type DropCounters, type DropReason, newDropCounters } from '../wire/drop-reasons.js';
import { DropLog, PeerAuthWarnings, peerAuthWarningText } from './drop-log.js';
import { createLogger, type Logger } from './log.js';
import { MaybeHeldFile } from './maybe-held-file.js';
import { MembershipDriver } from './membership-driver.js';
import { endPreviousLife } from './previous-life.js';
import { ReplicaDriver } from './replica-driver.js';
import { StateDirError, serverStateDir } from './state-dir.js';

export interface AgentOptions {
  /** Log as human-readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean;
  logger?: Logger;
  /** For tests: the shortest gap between two dropped-packet summaries (ms); default 10 s. */
  drop_summary_interval_ms?: number;
  /** Which server this is: --id, FLIP_ID and the host's addresses (config/self-id.ts). */
  identity?: ConfigOverrides;
}

/** How long shutdown may take beyond the slowest script's timeout before we give up waiting. */
const SHUTDOWN_MARGIN_MS = 5_000;
/** Lets the leave announcements leave the socket before it closes. */
const LEAVE_FLUSH_MS = 20;
/** The shortest gap between two log lines about one duplicate id (ms): loud, not a flood. */
const DUPLICATE_LOG_EVERY_MS = 10_000;
/** The script ledger's file in this server's state directory. */
const SCRIPT_LEDGER_FILE = 'script-ledger.json';
/** How long a reload asks again for a change answered no_quorum (ms), and how often. */
const RELOAD_PROPOSE_MS = 30_000;
const RELOAD_RETRY_MS = 500;
/** How long after a start the edit of a file made while the agent was stopped is proposed (ms). */
const FILE_EDIT_PROPOSE_AFTER_MS = 3_000;

export class Agent {
  #config: FlipConfig;
  readonly #configPath: string;
  readonly #identity: ConfigOverrides | undefined;
  /** What may be configured on this host, on disk for the next start (see maybe-held-file.ts). */
  readonly #maybeHeld: MaybeHeldFile;
  /** The cluster state on disk: the replica's (state/cluster-state.ts). */
  readonly #clusterState: StateFile<ClusterState>;
  /** The config replica (issue 12), once started. */
  #replica: ReplicaDriver | undefined;
  /** The config file as last taken in: a reload proposes the edit since. */
  #fileConfig: FlipConfig | undefined;
  /** The reload under way, if any: the next waits for it (see reload). */
  #reloading: Promise<void> = Promise.resolve();
  /** The file was edited while the agent was stopped: propose the edit once the replica runs. */
  #pendingFileEdit = false;
  readonly log: Logger;
  readonly membership: MembershipDriver;
  readonly runner: ScriptRunner;
  readonly #runnerDriver: RunnerDriver;
  #serverIds: string[];
  /** A #drive is queued (#driveSoon). */
  #driveQueued = false;
  /** Every decision above the protocol core and the runner (see node/controller.ts). */
  readonly #controller: NodeController;
  /** The one timer for the controller's next wake-up, and when it fires (ms, monotonic). */
  #controllerTimer: NodeJS.Timeout | undefined;
  #controllerTimerAt = Number.POSITIVE_INFINITY;
  /** Each leased system's lease program (see executor/lease-keeper.ts). */
  readonly #keepers = new Map<string, LeaseKeeper>();
  /** The fence (ms) of each system with a lease program: FLIP_LEASE_FENCE_MS of its scripts. */
  readonly #fences = new Map<string, number>();
  /** Counts dropped packets into rate-limited log lines (see DropLog). */
  readonly #drops: DropLog;
  /** A peer whose packets fail authentication (a wrong key) gets warnings of its own. */
  readonly #authWarnings: PeerAuthWarnings;
  /** The one timer for the next drop summary, and when it fires (ms, monotonic). */
  #dropTimer: NodeJS.Timeout | undefined;
  #dropTimerAt = Number.POSITIVE_INFINITY;
  #transport: PacketTransport | undefined;
  #shuttingDown: Promise<void> | undefined;
  #resolveRemoved: ((version: number) => void) | undefined;
  /** Committed versions not applied yet, oldest first (see #applyVersions). */
  readonly #versions = new CommittedVersions();
  #departureTimer: NodeJS.Timeout | undefined;
  /** The version whose wait for departures was logged last. */
  #departureLogged: number | undefined;
  /** The cluster state was lost (state/lost-state.ts), found at start. */
  #stateLost = false;
  /**
   * Resolves with the committed version that removed this server from the cluster: the caller
   * then stops the agent (shutdown), as for a stop signal.
   */
  readonly removed: Promise<number> = new Promise((resolve) => {
    this.#resolveRemoved = resolve;
  });
  /** This server's own directory under state_dir. */
  readonly #stateDir: string;
  /** The process groups of the scripts running, for the next start to kill after a SIGKILL. */
  readonly #ledger: ScriptLedger;
  /** When each kind of duplicate-id line was last logged, and how many were left out since. */
  readonly #duplicateLogged = new Map<string, { at: number; suppressed: number }>();
  /** Health checks and hold-downs (src/health/), and what we announce of them. */
  #health: HealthMonitor | undefined;
  #readiness: ReadinessLink;
  /** The one timer for the health monitor's next wake-up, and when it fires (ms, monotonic). */
  #healthTimer: NodeJS.Timeout | undefined;
  #healthTimerAt = Number.POSITIVE_INFINITY;
  readonly #configDir: string;
  /** Recent events for the API (observe/events.ts), and what the metrics count (agent-stats.ts). */
  readonly events = new EventRing();
  readonly stats = new AgentStats();
  /** Every packet dropped since start, by reason. */
  readonly #dropCounts: DropCounters = newDropCounters();
  /** The HTTP API, when on and bound. */
  #api: ApiServer | undefined;
  #startedAt = performance.now();

  get config(): FlipConfig {
    return this.#config;
  }
  #startedAtWall = Date.now();

  private constructor(config: FlipConfig, configPath: string, options: AgentOptions) {
    const configDir = dirname(resolve(configPath));
    this.#config = config;
    this.#configPath = configPath;
    this.#identity = options.identity;
    this.#serverIds = config.servers.map((server) => server.id);
    this.log =
      options.logger ?? createLogger({ level: config.log_level, node: config.id, pretty: options.pretty });
    const peers = config.servers
      .filter((server) => server.id !== config.id)
      .map((server) => ({ id: server.id, address: senderText(server) }));
    this.#drops = new DropLog({
      summary_interval_ms: options.drop_summary_interval_ms,
      peers: peers.map((peer) => peer.address),
    });
    this.#authWarnings = new PeerAuthWarnings({ peers });
    this.membership = new MembershipDriver(
      config,
      { now: () => performance.now(), wallNow: () => Date.now(), random: Math.random },
      {
        onRefuted: () => {
          this.#event({ type: 'agent', state: 'refuted' });
          this.log.warn('peers had declared this server down; announcing what it holds again');
          this.#controller.refuted(performance.now(), this.membership);
          this.#health?.refuted(performance.now());
          this.#checkHealth();
          this.#drive();
        },
        onReadiness: () => {
          this.#controller.readinessChanged(performance.now(), this.membership);
          this.#checkHealth();
          this.#drive();
        },
        onLease: (events) => {
          this.#controller.lease(performance.now(), events, this.membership);
          this.#drive();
        },
        onChanges: (changes) => this.#onChanges(changes),
        onSynced: () => {
          this.#controller.synced(performance.now(), this.membership);
          this.#drive();
        },
        onReleased: (notice) => {
          this.#controller.noticeReceived(performance.now(), notice, this.membership);
          this.#drive();
        },
        onReleasedAck: (ack) => this.#controller.noticeAcked(ack.from, ack.id),
        onClaim: (claim) => {
          this.#controller.claimReceived(claim, this.membership);
          this.#drive();
        },
        onClaimReply: (reply) => {
          this.#controller.claimReplied(performance.now(), reply, this.membership);
          this.#drive();
        },
        onBootAdvanced: (from, to) =>
          this.log.warn(
            { told_by: this.#serverIds[from], boot_id: to },
            'a peer had seen a later start of this server (the clock went back); going on with a higher boot id',
          ),
        onDrop: (reason, from) => this.#onDrop(reason, from),
        onRoundTrips: (rtts) => this.stats.roundTrips(rtts),
        onDuplicate: (event, where) => this.#onDuplicate(event, where),
      },
    );
    this.#configDir = configDir;
    this.#readiness = new ReadinessLink(
      config,
      config.servers.find((server) => server.id === config.id)!.index,
    );
    this.membership.readyFor = (member, system) =>
      this.#readiness.readyFor(this.membership.core, member, system);
    this.membership.holdingFor = (member, system) =>
      this.#readiness.holdingFor(this.membership.core, member, system);
    this.#controller = new NodeController(config, {
      // Wall-clock start, to tell peers that were running before us (they may hold our items).
      first_notice_id: Math.floor(Math.random() * 2 ** 32),
    });
    const runnerOptions = {
      ...runnerOptionsFor(config, config.id, {
        resolveScript: (script) => resolveScript(script, configDir),
      }),
      permit: (system: string, item: string, now: number) => {
        const permit = this.#controller.permitAlive(now, this.membership, system, item);
        // A wait asked for a lease round brought forward: carried out now, not at the next
        // membership event (up to a gossip interval later), as the simulator does at once.
        if (permit.kind === 'wait') this.#driveSoon();
        return permit;
      },
    };
    this.runner = new ScriptRunner(runnerOptions);
    this.#stateDir = serverStateDir(resolve(configDir, config.state_dir), config.id);
    this.#maybeHeld = new MaybeHeldFile(this.#stateDir);
    this.#clusterState = clusterStateFile(this.#stateDir);
    this.#ledger = new ScriptLedger({
      file: join(this.#stateDir, SCRIPT_LEDGER_FILE),
      node: config.id,
      running_max: runnerOptions.parallel_max ?? RUNNER_DEFAULTS.parallel_max,
      onProblem: (message, details) => this.log.error(details, message),
    });
    const self = config.servers.find((server) => server.id === config.id)!;
    for (const system of config.systems)
      if (self.systems.includes(system.name)) this.#addKeeper(system, config.id, configDir);
    this.#runnerDriver = new RunnerDriver({
      runner: this.runner,
      cwd: configDir,
      onNote: (note) => this.#onNote(note),
      launch: (launch, options) => this.#launch(launch, options),
      recorder: this.#ledger,
    });
  }

  /** The lease program of one of this server's systems, when it has one (not started yet). */
  #addKeeper(system: SystemConfig, node: string, configDir: string): void {
    if (system.lease === undefined) return;
    this.#fences.set(system.name, system.fence_ms);
    this.#keepers.set(
      system.name,
      new LeaseKeeper(
        {
          program: resolveScript(system.lease, configDir),
          config_json: JSON.stringify(system.config),
          system: system.name,
          node,
          lifetime_s: LINUX_LEASE_LIFETIME_S,
          fence_ms: system.fence_ms,
          cwd: configDir,
        },
        { onEvent: (event) => this.#onKeeperEvent(system.name, event), datagrams: LEASE_DATAGRAM_DEFAULTS },
      ),
    );
  }

  /**
   * Runs a script. For a system with a lease program, `alive` adds its item with a lifetime
   * (FLIP_LEASE_LIFETIME_S) under the system's fence (FLIP_LEASE_FENCE_MS: vip-up refuses an
   * item it cannot fence that soon), and `down` waits until no renewal of the item can come after
   * it: the program has answered every request sent before.
   */
  async #launch(launch: Launch, options: LaunchOptions): Promise<RunResult> {
    const keeper = this.#keepers.get(launch.system);
    if (keeper === undefined) return launchScript(launch, options);
    if (launch.event === 'down') await keeper.sync();
    // Restarted now if it stopped (the next renewal would start it, later).
    else keeper.start();
    const fence_ms = this.#fences.get(launch.system);
    // The lease deadline on the clock the script can read (/proc/uptime), as LeaseKeeper's
    // renewals have it: the uptime read first, so that it stands for a moment no later than now.
    let deadline = {};
    if (launch.lease_deadline !== undefined) {
      const uptime = readUptimeMs();
      const now = performance.now();
      deadline = { FLIP_LEASE_DEADLINE_MS: String(uptimeDeadlineMs(launch.lease_deadline, now, uptime)) };
    }
    const result = await launchScript(
      {
        ...launch,
        env: {
          ...launch.env,
          // 10 s while the program renews by datagram (LEASE_DATAGRAM_DEFAULTS: its requests come every
          // 4 s, the elements are the fence), else 1 s.
          FLIP_LEASE_LIFETIME_S: String(keeper.lifetime_s),
          ...(fence_ms === undefined ? {} : { FLIP_LEASE_FENCE_MS: String(fence_ms) }),
          ...deadline,
        },
      },
      options,
    );
    if (launch.event === 'alive') keeper.renewAgain();
    return result;
  }

  /** Has the system's lease program renew `items`, unless later than `deadline`. */
  #renew(system: string, items: readonly string[], deadline: number, adding: number): void {
    const keeper = this.#keepers.get(system);
    if (keeper === undefined) return;
    void keeper.renew(items, deadline).then((result) => {
      const now = performance.now();
      switch (result.status) {
        case 'ok':
          if (result.renewed + adding < items.length)
            this.log.debug(
              { system, items: items.length, renewed: result.renewed, adding },
              'lease renewal found items gone from the host (they lapsed)',
            );
          this.#controller.renewalEnded(now, system, {
            kind: 'renewed',
            asked: items.length,
            renewed: result.renewed,
            adding,
          });
          this.#drive();
          return;
        case 'stale':
          this.log.debug({ system, items: items.length }, 'lease renewal came too late; not renewed');
          this.#controller.renewalEnded(now, system, { kind: 'not_renewed' });
          this.#drive();
          return;
        default:
          this.#controller.renewalEnded(now, system, { kind: 'not_renewed' });
          this.#drive();
          this.log.warn(
            {
              system,
              items: items.length,
              status: result.status,
              detail:
                result.status === 'error' ? result.message : 'reason' in result ? result.reason : undefined,
            },
            'lease renewal failed: the items lapse within the fence unless a later renewal succeeds',
          );
          this.#event({ type: 'lease_failed', system, items: items.length, status: result.status });
      }
    });
  }

  #onKeeperEvent(system: string, event: LeaseKeeperEvent): void {
    switch (event.type) {
      case 'started':
        this.log.debug({ system, pid: event.pid }, 'lease program started');
        return;
      case 'datagrams':
        this.log.info(
          { system, pid: event.pid, port: event.port },
          event.port === undefined
            ? 'lease program renews by request only'
            : 'lease rounds renew by datagram between requests',
        );
        return;
      case 'stderr':
        this.log.warn(
          { system, pid: event.pid, stderr: event.line, dropped: event.dropped },
          'lease program says',
        );
        return;
      case 'exited':
        if (event.expected) return;
        this.log.warn({ system, ...event }, 'lease program exited; restarting it');
        return;
      default:
        this.log.warn({ system, ...event }, `lease program: ${event.type}`);
    }
  }

  /**
   * Loads and checks the config, binds the socket and starts the protocol. When this server's
   * stored cluster state holds a committed config that differs from the file in more than items
   * (servers or systems changed at runtime), the agent is made again from that config before
   * anything has started: the committed config is newer than the file (state/start-from.ts).
   */
  static async start(configPath: string, options: AgentOptions = {}): Promise<Agent> {
    const config = await loadConfigIsolated(configPath, options.identity);
    const configDir = dirname(resolve(configPath));
    checkScripts(config, configDir, configPath);
    const agent = new Agent(config, configPath, options);
    const outcome = await agent.#start(config);
    if (outcome === 'started') return agent;
    const again = new Agent(outcome.config, configPath, options);
    const second = await again.#start(config);
    if (second !== 'started')
      throw new StateDirError('the committed config changed while the agent started; start it again');
    return again;
  }

  /**
   * Starts the agent, made with `this.config`; `fileConfig` is the config file's. Returns the
   * committed config to make the agent with instead when the stored one needs it (see start).
   */
  async #start(fileConfig: FlipConfig): Promise<'started' | { config: FlipConfig }> {
    const self = this.config.servers.find((server) => server.id === this.config.id)!;
    this.#transport = await bindUdp(
      { ip: self.ip, port: self.port },
      (packet, from) => this.membership.receive(packet, from),
      (error) => this.log.debug({ err: error.message }, 'send failed'),
    );
    let recovery: Recovery;
    try {
      // After the bind, whose port keeps a second agent of this server off this host.
      recovery = await endPreviousLife(this.#stateDir, this.#ledger, this.log);
    } catch (error) {
      await this.#transport.close();
      throw error;
    }
    await this.#takeStrays(recovery);
    let replica: { start: Extract<StartPoint, { kind: 'start' }>; config: FlipConfig };
    try {
      replica = await this.#clusterStart(fileConfig);
    } catch (error) {
      await this.#transport.close();
      throw error;
    }
    const change = runtimeChange(this.config, replica.config);
    if (change.kind === 'restart') {
      await this.#transport.close();
      return { config: replica.config };
    }
    if (change.kind === 'systems') this.#applySystems(performance.now(), change.systems, replica.config);
    this.#startReplica(replica.start);
    this.log.info(
      {
        id_from: this.config.id_from,
        listen: `${self.ip}:${self.port}`,
        state_dir: this.#stateDir,
        servers: this.#serverIds.length,
        quorum: this.config.quorum,
        systems: this.config.systems.map((system) => system.name),
      },
      'flip agent started',
    );
    // The lease programs start now rather than on their first renewal: a program still starting
    // would answer the first renewals of a new item too late (stale), leaving it unwatched.
    for (const keeper of this.#keepers.values()) keeper.start();
    this.#controller.start(performance.now());
    this.#health = new HealthMonitor(
      this.config.systems.filter((system) => self.systems.includes(system.name)),
      performance.now(),
    );
    // Before the first packet: our readiness rides on every message, the introductions too.
    this.#checkHealth();
    this.membership.start(this.#transport);
    this.#event({ type: 'agent', state: 'started' });
    this.#drive();
    await this.#startApi();
    return 'started';
  }

  /**
   * Where the cluster's config starts (state/start-from.ts): the stored cluster state when it
   * holds a committed config, else the file. A state that cannot be trusted stops the start.
   */
  async #clusterStart(
    fileConfig: FlipConfig,
  ): Promise<{ start: Extract<StartPoint, { kind: 'start' }>; config: FlipConfig }> {
    const file = parseSource(readConfigText(this.#configPath), this.#configPath).value as ConfigDocument;
    const stored = await this.#clusterState.load();
    const siblings = stored.kind === 'missing' ? await readdir(this.#stateDir).catch(() => []) : [];
    this.#stateLost = stateLost(
      stored.kind === 'missing' ? 'missing' : 'present',
      siblings,
      this.config.servers.length,
    );
    if (this.#stateLost)
      this.log.warn(
        { file: this.#clusterState.path, kept: siblings.filter((name) => name.startsWith('cluster-state.')) },
        'no cluster state, but one was moved aside: this server lost its state, so it neither votes nor seeks election until a leader has brought it up to date (docs/STATE.md)',
      );
    const start = startFrom({ server: this.config.id, file, stored });
    if (start.kind === 'refuse') throw new StateDirError(start.message);
    this.#fileConfig = fileConfig;
    if (start.from === 'file') return { start, config: fileConfig };
    if (!Object.hasOwn(serversOf(start.config), this.config.id))
      throw new StateDirError(
        `${this.config.id} is not a server of the cluster's committed config (version ${start.version}, ${this.#clusterState.path}): it was removed (flip server rm). To run it again, add it (flip server add) and move that file aside, so that it starts from its config file; see docs/STATE.md`,
      );
    const config = this.#committedConfig(start.version, start.config);
    if (config === undefined)
      throw new StateDirError(
        `the stored committed config (version ${start.version}) is not valid for this server; see docs/STATE.md`,
      );
    this.log.info(
      { version: start.version, file: this.#clusterState.path },
      'starting from the committed config of the stored cluster state',
    );
    if (start.file_edit !== undefined) {
      // The file as this server last took it in: a reload proposes the edit since then.
      const base = this.#committedConfig(0, start.file_edit.base);
      if (base !== undefined) this.#fileConfig = base;
      this.log.warn(
        { file: this.#configPath },
        'the config file was edited while the agent was stopped: its item changes are proposed to the cluster (as a reload would); other changes need flip commands',
      );
      this.#pendingFileEdit = true;
    }
    return { start, config };
  }

  /** A committed config document as this server's FlipConfig; undefined (logged) when invalid. */
  #committedConfig(version: number, doc: ConfigDocument): FlipConfig | undefined {
    try {
      return parseConfig(
        JSON.stringify({ ...doc, id: this.config.id }),
        `committed config version ${version}`,
      );
    } catch (error) {
      this.log.error(
        { version, errors: error instanceof ConfigError ? error.message : (error as Error).message },
        'a committed config is not valid for this server; not applied',
      );
      return undefined;
    }
  }

  /** Runs the config replica (issue 12) from `start`, with its messages on the cluster's socket. */
  #startReplica(start: Extract<StartPoint, { kind: 'start' }>): void {
    this.#replica = new ReplicaDriver({
      self: this.config.id,
      start,
      state: this.#clusterState,
      send: (to, message) => this.membership.sendReplica(to, message),
      onApplied: (version, config, _change, removes_self) => this.#onCommitted(version, config, removes_self),
      onProblem: (message, details) => this.log.error(details, message),
      now: () => performance.now(),
      random: Math.random,
      state_lost: this.#stateLost,
    });
    this.membership.onReplica = (message) => this.#replica?.receive(message);
    this.membership.resolveReplicaPeer = (id) => this.#replica?.serverEndpoint(id);
    if (this.#pendingFileEdit) {
      this.#pendingFileEdit = false;
      // Once a leader is likely known: the edit is proposed like a reload's.
      setTimer(() => void this.reload(), FILE_EDIT_PROPOSE_AFTER_MS).unref();
    }
  }

  /**
   * A version the cluster committed: its items apply at once; anything else at a restart. A
   * version that removes this server makes it leave (run `down` for what it holds, say it left)
   * and stop: the others no longer count it a member, so nothing it kept would be asked for.
   */
  #onCommitted(version: number, doc: ConfigDocument, removes_self: boolean): void {
    if (!Object.hasOwn(serversOf(doc), this.config.id)) {
      // A server that joined catches up through versions from before its `server add`; only the
      // version that removed it (the consensus says which) makes it leave.
      if (!removes_self) {
        this.log.info({ version }, 'catching up: this config version does not list this server yet');
        return;
      }
      this.log.warn(
        { version },
        'this server was removed from the cluster (flip server rm): leaving it and stopping',
      );
      this.#resolveRemoved?.(version);
      return;
    }
    const next = this.#committedConfig(version, doc);
    if (next === undefined) return;
    // Servers added since this agent started take part in the consensus at once (also while
    // their membership waits): replica messages go to them and come from them.
    this.membership.setReplicaPeers(next.servers);
    this.#versions.push(version, next);
    this.#applyVersions();
  }

  /**
   * Applies the committed versions waiting, in order. One whose server list drops a server that
   * may still hold items here waits for it to leave (handover/departures.ts): checked again every
   * DEPARTURE_CHECK_MS, and the versions after it wait behind it.
   */
  #applyVersions(): void {
    if (this.#departureTimer !== undefined) clearTimeout(this.#departureTimer);
    this.#departureTimer = undefined;
    while (this.#shuttingDown === undefined) {
      const next = this.#versions.next(performance.now(), this.config, this.membership.core, this.runner);
      if (next === undefined) return;
      if (next.kind === 'take') {
        this.#applyCommitted(next.version, next.config, next.change);
        continue;
      }
      if (next.kind === 'retire') {
        this.log.info(
          { version: next.version, systems: next.systems },
          'config version committed: letting go of these systems here first (removed, left, or set up anew); the version applies once their items are down',
        );
        this.#applySystems(performance.now(), next.change.systems, next.config);
        this.#drive();
        continue;
      }
      if (this.#departureLogged !== next.version) {
        this.#departureLogged = next.version;
        this.log.info(
          { version: next.version, waiting_for: next.servers, letting_go: next.systems },
          'config version committed: it applies once the servers it drops have left and the systems let go of are down here (break-before-make)',
        );
      }
      this.#departureTimer = setTimer(() => this.#applyVersions(), DEPARTURE_CHECK_MS);
      return;
    }
  }

  /** Applies committed version `version` (`next`), whose change from the running config is `change`. */
  #applyCommitted(version: number, next: FlipConfig, change: RuntimeChange | ListsChange): void {
    switch (change.kind) {
      case 'unchanged':
        this.log.info({ version }, 'config version committed; nothing changes here');
        return;
      case 'restart':
        this.log.warn(
          { version, fields: change.fields },
          'config version committed: these fields take effect when this agent restarts (it starts from the committed config)',
        );
        return;
      case 'systems':
        this.#applySystems(performance.now(), change.systems, next);
        this.log.info({ version, fields: change.fields }, 'config version committed: applied at once');
        break;
      case 'lists':
        this.#applyLists(performance.now(), change, next);
        this.log.info(
          { version, fields: change.fields, servers: this.#serverIds },
          'config version committed: the new lists applied at once',
        );
        break;
    }
    this.#event({ type: 'agent', state: 'reloaded' });
    this.#drive();
  }

  /**
   * Applies changed systems (runtimeChange's `systems`: items, placement settings, scripts) to the
   * runner and the controller; `next` becomes the config. A script this host lacks is reported;
   * the change applies all the same (the cluster committed it), and its runs fail visibly.
   */
  #applySystems(now: number, systems: ReadonlyMap<string, SystemConfig>, next: FlipConfig): void {
    systemsToRunner(now, this.runner, systems, {
      resolveScript: (script) => resolveScript(script, this.#configDir),
    });
    this.#reportMissingScripts(next);
    this.#config = next;
    this.#controller.setSystems(now, this.membership, systems);
  }

  /**
   * Takes new lists in process (committedChange's `lists`: servers added, removed or reordered,
   * systems added, removed or redefined, this server joining or leaving systems; its own entry
   * otherwise unchanged). The membership core for the new lists takes over from the running one,
   * keeping what it knows of every kept server and system (MembershipDriver.setServers); the
   * runner, the lease programs and the health checks take up the systems this server is a member
   * of now and forget those it let go of (CommittedVersions emptied them first); the controller
   * places over the new lists from now on, break-before-make. Only what moves by placement is
   * touched.
   */
  #applyLists(now: number, change: ListsChange, next: FlipConfig): void {
    // A new membership core only for new lists: a system's settings alone keep the running one
    // (its reports and probes under way go on).
    const renumbering = sameRoster(this.#config, next)
      ? renumberingOf(this.#config, next)
      : this.membership.setServers(next);
    // The servers of the list are members now; any other of the log (a later add) stays a peer.
    this.membership.setReplicaPeers(next.servers);
    const self = next.servers.find((server) => server.id === next.id)!;
    this.#readiness = this.#readiness.forServers(next, self.index);
    this.#serverIds = next.servers.map((server) => server.id);
    const peers = next.servers
      .filter((server) => server.id !== next.id)
      .map((server) => ({ id: server.id, address: senderText(server) }));
    this.#drops.setPeers(peers.map((peer) => peer.address));
    this.#authWarnings.setPeers(peers);
    const own = next.systems.filter((system) => self.systems.includes(system.name));
    const { removed, added } = listsToRunner(now, this.runner, this.#config, next, change.systems, {
      resolveScript: (script) => resolveScript(script, this.#configDir),
    });
    for (const name of removed) {
      const keeper = this.#keepers.get(name);
      this.#keepers.delete(name);
      this.#fences.delete(name);
      if (keeper !== undefined) void keeper.stop();
    }
    for (const system of added) {
      this.#addKeeper(system, next.id, this.#configDir);
      this.#keepers.get(system.name)?.start();
      this.log.info({ system: system.name, items: system.data.length }, 'system taken up here');
    }
    this.#reportMissingScripts(next);
    this.#health?.reshape(now, own);
    this.#config = next;
    this.#controller.setServers(now, this.membership, next, renumbering);
    this.#checkHealth();
  }

  /** A script of `next` that this host lacks is logged (the change applies all the same). */
  #reportMissingScripts(next: FlipConfig): void {
    const { errors } = checkConfigScripts(next, {
      self: next.id,
      on_host: true,
      config_dir: this.#configDir,
    });
    if (errors.length > 0)
      this.log.error(
        { errors: errors.map((error) => `${error.path}: ${error.message}`) },
        'a script of the committed config cannot run on this host: its runs fail until it is there',
      );
  }

  /**
   * Starts the HTTP API (api/). A failure to bind is logged and the agent runs on without it:
   * failing over must not depend on a status port.
   */
  async #startApi(): Promise<void> {
    const self = this.config.servers.find((server) => server.id === this.config.id)!;
    const api = self.api;
    if (api === undefined) return;
    let token = api.token;
    if (api.token_file !== undefined) {
      try {
        token = readFileSync(resolve(this.#configDir, api.token_file), 'utf8').trim();
        if (token === '') throw new Error('the file is empty');
      } catch (error) {
        this.log.error(
          { token_file: api.token_file, err: (error as Error).message },
          'cannot read api.token_file: the API stays off',
        );
        return;
      }
    }
    try {
      this.#api = await ApiServer.listen({
        host: api.host,
        port: api.port,
        policy: { loopback: api.loopback, token: token === undefined ? undefined : hashToken(token) },
        counters: this.stats,
        handlers: {
          health: () => healthDoc(this.snapshot()),
          status: () => assembleStatus(this.snapshot()),
          events: (since, limit) => this.events.since(since, limit),
          metrics: () => renderMetrics(agentMetrics(this.snapshot(), this.stats)),
          subscribe: (listener) => this.events.subscribe(listener),
        },
        onFault: (error) => this.log.error({ err: (error as Error)?.message ?? String(error) }, 'api fault'),
        changes: this.#replica,
        reload: () => this.reload(),
      });
      this.log.info({ api: apiUrl(api) }, 'api listening');
    } catch (error) {
      this.log.error(
        { api: apiUrl(api), err: (error as Error).message },
        'the API cannot listen (set servers.<id>.api.listen, or api: false); the agent runs on without it',
      );
    }
  }

  /** Records an event in the ring for the API; never throws. */
  #event(body: EventBody): void {
    this.events.add(Date.now(), body);
  }

  /** Where the API listens (host, port), when it does. */
  get apiAddress(): { host: string; port: number } | undefined {
    const address = this.#api?.address;
    return address === undefined ? undefined : { host: address.address, port: address.port };
  }

  /** A copy of what the API shows: the view, the placement, the runner, the counters. */
  snapshot(): AgentSnapshot {
    const now = performance.now();
    const core = this.membership.core;
    const placement = this.#controller.placement(this.membership);
    const desired = this.#controller.desired(this.membership);
    const runner = new Map(this.runner.status().map((status) => [status.system, status]));
    const readinessIndex = readinessIndexes(this.config.systems);
    const readinessOf = (member: number, system: string) =>
      core.readiness(member, readinessIndex.get(system) ?? 0);
    const self = this.config.servers.find((server) => server.id === this.config.id)!;
    const members = this.config.servers.map((server) => {
      const view = core.member(server.index);
      return {
        id: server.id,
        index: server.index,
        address: formatEndpoint(server.ip, server.port),
        state: view.state,
        incarnation: view.incarnation,
        since: view.since,
        last_heard: core.lastHeard(server.index),
        reporters: core.reportersOf(server.index).map((index) => this.#serverIds[index]!),
        rtt_ms: core.roundTrip(server.index),
        readiness: Object.fromEntries(
          server.systems.map((system) => [system, readinessOf(server.index, system)]),
        ),
      };
    });
    const systems: SystemSnapshot[] = this.config.systems.map((system) => {
      const placed = placement.get(system.name);
      const memberHere = self.systems.includes(system.name);
      const items = new Map(
        system.data.flatMap((item) => {
          const record = this.stats.item(system.name, item);
          return record === undefined ? [] : [[item, record] as const];
        }),
      );
      return {
        name: system.name,
        type: system.type,
        members: system.members,
        data: system.data,
        no_quorum_policy: system.no_quorum_policy,
        leased: system.lease !== undefined,
        fence_ms: system.fence_ms,
        member_here: memberHere,
        wanted: Object.fromEntries(placed?.holdings ?? []),
        unplaced: placed?.unplaced ?? [],
        desired_here: memberHere ? (desired.get(system.name) ?? []) : [],
        runner: runner.get(system.name),
        readiness: memberHere ? readinessOf(self.index, system.name) : 'unknown',
        check:
          memberHere && system.check !== undefined
            ? (this.#health?.verdict(system.name) ?? 'unknown')
            : undefined,
        items,
      };
    });
    return {
      now,
      wall_now: Date.now(),
      id: this.config.id,
      address: formatEndpoint(self.ip, self.port),
      incarnation: core.incarnation,
      started_at: this.#startedAt,
      started_at_wall: this.#startedAtWall,
      planning: this.#controller.planning,
      standing_down: core.standingDown,
      leaving: this.#shuttingDown !== undefined,
      quorum_size: this.config.quorum,
      quorum_reachable: this.#controller.hasQuorum(now, this.membership),
      members,
      systems,
      counters: {
        packets_sent: this.membership.packets_sent,
        packets_received: this.membership.packets_received,
        drops: this.#dropCounts,
        node: core.counters,
        runner: this.runner.counters(),
        releases_sent: this.#controller.notice_counters.sent,
        claims_sent: this.#controller.claim_counters.claims_sent,
      },
    };
  }

  /** Counters about two live agents with one id (membership/identity.ts), for status. */
  get duplicates(): Readonly<DuplicateCounters> {
    return this.membership.core.duplicateCounters;
  }

  /**
   * Two live agents claim one id: an error line naming the id and where the other run was seen,
   * at most every DUPLICATE_LOG_EVERY_MS per (kind, member), with the count of those left out.
   */
  #onDuplicate(event: DuplicateEvent, where: { kept_at: string; newcomer_at: string }): void {
    const member = event.kind === 'seen' ? event.member : this.membership.core.self;
    const key = `${event.kind}/${event.kind === 'told' ? event.we : ''}/${member}`;
    const now = performance.now();
    const last = this.#duplicateLogged.get(key);
    if (last !== undefined && now - last.at < DUPLICATE_LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this.#duplicateLogged.set(key, { at: now, suppressed: 0 });
    const id = this.#serverIds[member];
    const fields = {
      id,
      kept_at: where.kept_at || 'unknown',
      newcomer_at: where.newcomer_at || 'unknown',
      kept_boot: event.kept,
      newcomer_boot: event.newcomer,
      ...(suppressed > 0 ? { suppressed } : {}),
    };
    if (event.kind === 'seen') {
      this.log.error(
        fields,
        `two live agents claim server id ${id}: the one that started first keeps it, the other (at ${fields.newcomer_at}) is ignored; stop one of them (a copied config?)`,
      );
    } else if (event.we === 'newcomer') {
      this.log.error(
        { ...fields, told_by: this.#serverIds[event.by] },
        `another agent with this server's id ${id} is running (at ${fields.kept_at}) and started first: this one holds and takes nothing until it is gone; check this host's config (id)`,
      );
    } else {
      this.log.error(
        { ...fields, told_by: this.#serverIds[event.by] },
        `a second agent claims this server's id ${id} (at ${fields.newcomer_at}); it is kept out and this one keeps its items; stop it (a copied config?)`,
      );
    }
  }

  /**
   * Runs the health checks that are due, announces our readiness (logged when it changes), and
   * keeps one timer set for the monitor's next wake-up.
   */
  #checkHealth(): void {
    const health = this.#health;
    if (health === undefined || this.#shuttingDown !== undefined) return;
    const now = performance.now();
    for (const run of health.due(now)) this.#runCheck(run.system, run.run, run.script, run.timeout_ms);
    const changed = this.#readiness.announce(now, health, this.membership.core, this.#controller.planning);
    if (changed) {
      this.log.info(
        { failing: changed.failing, holding_down: changed.holding, fresh: changed.fresh },
        'readiness',
      );
      this.#event({
        type: 'readiness',
        failing: [...changed.failing],
        holding: [...changed.holding],
        fresh: [...changed.fresh],
      });
    }
    this.membership.flush();
    const at = health.nextWakeAt(now);
    if (at === this.#healthTimerAt) return;
    if (this.#healthTimer) clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
    this.#healthTimerAt = at;
    if (!Number.isFinite(at)) return;
    this.#healthTimer = setTimer(() => {
      this.#healthTimer = undefined;
      this.#healthTimerAt = Number.POSITIVE_INFINITY;
      this.#checkHealth();
      this.#drive();
    }, at - now);
  }

  /** Runs a system's check through the launcher: no shell, its process group killed on timeout. */
  #runCheck(system: string, run: number, script: string, timeout_ms: number): void {
    const config = this.config.systems.find((candidate) => candidate.name === system)!;
    const configJson = JSON.stringify(config.config);
    const launch: Launch = {
      run,
      system,
      item: system,
      event: 'check',
      script: resolveScript(script, this.#configDir),
      args: [system, configJson],
      env: {
        FLIP_EVENT: 'check',
        FLIP_SYSTEM: system,
        FLIP_NODE: this.config.id,
        FLIP_CONFIG: configJson,
      },
      timeout_ms,
      attempt: 1,
      plan: 0,
      reason: 'check',
    };
    void launchScript(launch, { cwd: this.#configDir, recorder: this.#ledger }).then((result) => {
      const health = this.#health;
      if (health === undefined || this.#shuttingDown !== undefined) return;
      const verdict = health.result(performance.now(), system, run, result.ok);
      this.stats.scriptFinished(performance.now(), system, undefined, 'check', result, undefined);
      if (verdict === 'passing' || verdict === 'failing') this.#event({ type: 'check', system, verdict });
      const logged = (text: string): string => shortenText(text.trim(), 2000, 2000);
      const fields = {
        system,
        exit_code: result.exit_code,
        signal: result.signal,
        timed_out: result.timed_out,
        duration_ms: Math.round(result.duration_ms),
        ...(logged(result.stdout) === '' ? {} : { stdout: logged(result.stdout) }),
        ...(logged(result.stderr) === '' ? {} : { stderr: logged(result.stderr) }),
      };
      if (verdict !== undefined)
        this.log[verdict === 'passing' ? 'info' : 'warn']({ ...fields, verdict }, `health check ${verdict}`);
      else if (!result.ok) this.log.warn(fields, 'health check failed');
      else this.log.debug(fields, 'health check passed');
      this.#checkHealth();
      this.#drive();
    });
  }

  /** Which items this node should hold now, per system it is a member of. */
  desired(): Map<string, string[]> {
    return this.#controller.desired(this.membership);
  }

  /**
   * Counts a dropped packet; its own line (debug), the summary (warning) and the warning about a
   * peer that fails authentication are rate-limited.
   */
  #onDrop(reason: DropReason, from: Endpoint): void {
    const now = performance.now();
    this.#dropCounts[reason]++;
    const sender = senderText(from);
    const warning = this.#authWarnings.record(now, reason, sender);
    if (warning) this.log.warn(warning, peerAuthWarningText(warning));
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

  #onChanges(changes: MemberChange[]): void {
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
      this.#event({
        type: 'member',
        member: this.#serverIds[change.member]!,
        from: change.from,
        to: change.to,
        incarnation: change.incarnation,
        reason: change.reason,
      });
    }
    this.stats.memberChanges(changes);
    this.#controller.changes(performance.now(), changes, this.membership);
    this.#drive();
    // The config replica's leader is found lost by the membership, not by a missed heartbeat.
    for (const change of changes) {
      const id = this.#serverIds[change.member];
      if (id === undefined || isGone(change.to) === isGone(change.from)) continue;
      if (isGone(change.to)) this.#replica?.peerDown(id);
      else this.#replica?.peerUp(id);
    }
  }

  /** #drive once the current work (the runner's, which asks for permits) is done; once however often asked. */
  #driveSoon(): void {
    if (this.#driveQueued) return;
    this.#driveQueued = true;
    setImmediate(() => {
      this.#driveQueued = false;
      this.#drive();
    });
  }

  /** Carries out the controller's commands, then sets one timer for its next wake-up. */
  #drive(): void {
    for (const command of this.#controller.takeCommands()) {
      switch (command.kind) {
        case 'planning':
          this.log.info(
            {
              why:
                command.why === 'synced'
                  ? 'learned the view from a peer'
                  : 'start-up grace over, acting on config',
            },
            'view ready, planning',
          );
          this.#event({ type: 'agent', state: 'planning' });
          break;
        case 'desired':
          this.#runnerDriver.setDesired(command.system, command.items, {
            immediate: command.immediate,
            handback: command.handback,
          });
          break;
        case 'reassert':
          if (command.why === 'peer_down')
            this.log.info(
              { systems: command.systems },
              'a peer that may also have held our items went down; announcing ours again',
            );
          if (command.why === 'lapsed')
            this.log.warn(
              { systems: command.systems },
              'a lease renewal was not carried out or found items lapsed: putting what this server holds in place again',
            );
          this.#runnerDriver.reassert(command.systems);
          break;
        case 'announce': {
          const queued = this.#runnerDriver.released(command.items);
          this.log.info(
            {
              from: this.#serverIds[command.from],
              items: [...command.items].flatMap(([system, items]) =>
                items.map((item) => `${system}/${item}`),
              ),
              announcing: queued,
            },
            'peer released items to this server',
          );
          this.#event({
            type: 'release_received',
            from: this.#serverIds[command.from]!,
            items: [...command.items].flatMap(([system, items]) => items.map((item) => `${system}/${item}`)),
          });
          break;
        }
        case 'send_release':
          this.membership.release(command.to, command.id, command.items);
          this.#event({
            type: 'release_sent',
            to: this.#serverIds[command.to]!,
            items: command.items.map((item) => `${item.system}/${item.item}`),
          });
          break;
        case 'cleared':
          this.log.info(
            { items: command.items.map((item) => `${command.system}/${item}`) },
            'every member agreed to our claim: taking the items',
          );
          this.#runnerDriver.cleared(command.system, command.items);
          this.#event({ type: 'claim_cleared', system: command.system, items: [...command.items] });
          break;
        case 'send_claim':
          this.membership.claim(command.to, command.id, command.items);
          break;
        case 'send_claim_reply':
          this.membership.claimReply(command.to, command.id, command.items);
          break;
        case 'lease_wanted':
          this.membership.setLeaseWanted(command.wanted, command.pings);
          break;
        case 'lease_round':
          this.membership.leaseRoundSoon();
          break;
        case 'renew':
          this.#renew(command.system, command.items, command.deadline, command.adding);
          break;
        case 'quorum':
          if (command.state === 'lost')
            this.log.warn(
              { releasing: command.releasing },
              command.releasing.length > 0
                ? 'no quorum: taking no items, and letting go of those under no_quorum_policy release'
                : 'no quorum: taking no items until a quorum answers again',
            );
          else this.log.info('quorum reachable again');
          this.#event({ type: 'quorum', state: command.state, releasing: [...command.releasing] });
          break;
      }
    }
    const at = this.#controller.nextWakeAt();
    if (at === this.#controllerTimerAt) return;
    if (this.#controllerTimer) clearTimeout(this.#controllerTimer);
    this.#controllerTimer = undefined;
    this.#controllerTimerAt = at;
    if (!Number.isFinite(at)) return;
    const now = performance.now();
    this.#controllerTimer = setTimer(() => {
      this.#controllerTimer = undefined;
      this.#controllerTimerAt = Number.POSITIVE_INFINITY;
      this.#controller.tick(performance.now(), this.membership);
      this.#drive();
    }, at - now);
  }

  /** Whether a member of `system` other than us is down or left in our view (a plan then is a failover). */
  #memberGone(system: string): boolean {
    const config = this.config.systems.find((candidate) => candidate.name === system);
    if (config === undefined) return false;
    return config.members.some((id) => {
      const index = this.#serverIds.indexOf(id);
      return id !== this.config.id && isGone(this.membership.core.member(index).state);
    });
  }

  /**
   * Reads what an earlier run may have left configured (maybe-held-file.ts, and the `alive`
   * scripts it left running, which the ledger names: an `alive` killed before its save reached
   * the disk) and has the runner take down, at its first plan, what the config no longer lists.
   * A damaged file is reported and ignored: the config's own items still get the start-up
   * clean-up.
   */
  async #takeStrays(recovery: Recovery): Promise<void> {
    const maybe = new Map<string, string[]>();
    const add = (system: string, item: string) => {
      const items = maybe.get(system) ?? [];
      if (!items.includes(item)) items.push(item);
      maybe.set(system, items);
    };
    for (const { system, item, event } of [
      ...recovery.killed,
      ...recovery.still_running,
      ...recovery.left_alone.map(({ entry }) => entry),
    ])
      if (event === 'alive') add(system, item);
    try {
      const load = await this.#maybeHeld.load();
      if (load.kind === 'corrupt')
        this.log.warn(
          { file: load.path, reason: load.reason },
          'the record of what an earlier run held is damaged; items it no longer lists are not taken down',
        );
      if (load.kind === 'ok')
        for (const [system, items] of load.items) for (const item of items) add(system, item);
    } catch (error) {
      this.log.error(
        { err: (error as Error).message },
        'cannot read what an earlier run held; going on without it',
      );
    }
    const strays = new Map<string, string[]>();
    for (const [system, items] of maybe) {
      const listed = new Set(this.config.systems.find((entry) => entry.name === system)?.data ?? []);
      const gone = items.filter((item) => !listed.has(item));
      if (gone.length > 0 && this.runner.systems().includes(system)) strays.set(system, gone);
    }
    if (strays.size === 0) return;
    this.log.warn(
      { items: Object.fromEntries(strays) },
      'an earlier run may have left items that the config no longer lists: taking them down',
    );
    this.runner.addStrays(strays);
    this.#controller.addStrays(strays);
  }

  /** Keeps what may be configured here on disk, after a script start or end changed it. */
  #saveMaybeHeld(): void {
    this.#maybeHeld.save(this.runner.maybeHeld()).catch((error: unknown) => {
      this.log.error({ err: (error as Error).message }, 'cannot save what this server may hold');
    });
  }

  /**
   * Reads the config file again (SIGHUP) and proposes what a running agent can take: the items
   * of its systems, their placement and script settings (runtime-change.ts), and servers added or
   * removed (server-edit.ts), as changes committed for the whole cluster; items and settings apply
   * at once everywhere (see NodeController.setSystems), servers at each agent's next start. A
   * file that also changes anything else applies nothing, and says which fields need a restart; a
   * bad file is refused with its errors. The running config stays in both cases.
   *
   * Reloads run one at a time, in the order asked: one that ended after a later one would take
   * in an older file, and the next start would see the later edit as made while stopped.
   */
  reload(): Promise<ReloadOutcome> {
    const outcome = this.#reloading.then(() => this.#reloadNow());
    this.#reloading = outcome.then(
      () => undefined,
      () => undefined,
    );
    return outcome;
  }

  async #reloadNow(): Promise<ReloadOutcome> {
    let next: FlipConfig;
    let fileDoc: ConfigDocument;
    try {
      // The file as a document (what start-from.ts compares), read first: should it change
      // while it is checked, the next start sees that later edit and proposes it.
      fileDoc = parseSource(readConfigText(this.#configPath), this.#configPath).value as ConfigDocument;
      next = await loadConfigIsolated(this.#configPath, this.#identity);
      checkScripts(next, this.#configDir, this.#configPath);
    } catch (error) {
      const message = error instanceof ConfigError ? error.message : (error as Error).message;
      this.log.error(
        { file: this.#configPath, errors: message },
        'reload refused: the config file is not valid; the running config stays',
      );
      return { kind: 'invalid', message };
    }
    // The edit since the file was last taken in, not the difference from the committed config:
    // items added or removed through the API stay as they are.
    const base = this.#fileConfig ?? this.config;
    // Servers added and removed are proposed as server_add and server_rm (applied by each agent at
    // its next start, as `flip server add|rm`); the rest is judged as if they were made.
    const servers = serverEdit(base, next);
    // Systems added and removed are proposed as system_add and system_rm, the settings of the
    // others as system_set; a change of the cluster-wide `cluster.config` (merged into every
    // system's) has no change kind, nor has a system's lease program or fence in process.
    const clusterConfig = (doc: ConfigDocument) =>
      own(objectOr(own(doc as Record<string, unknown>, 'cluster')), 'config') ?? null;
    const committedDoc = this.#replica?.committed().config;
    const change =
      servers.kind === 'changed'
        ? { kind: 'restart' as const, fields: servers.fields }
        : committedDoc !== undefined && !sameJson(clusterConfig(fileDoc), clusterConfig(committedDoc))
          ? { kind: 'restart' as const, fields: ['cluster.config'] }
          : committedChange(servers.after, next);
    const serverChanges = servers.kind === 'servers' ? servers.rm.length + servers.add.length : 0;
    const removedSystems = base.systems
      .map((system) => system.name)
      .filter((name) => !next.systems.some((system) => system.name === name));
    if (change.kind === 'unchanged' && serverChanges === 0 && removedSystems.length === 0) {
      this.log.info({ file: this.#configPath }, 'reload: nothing to change');
      this.#tookInFile(next, fileDoc);
      return { kind: 'unchanged' };
    }
    if (change.kind === 'restart') {
      this.log.warn(
        { file: this.#configPath, fields: change.fields },
        "reload: these fields take effect only at a restart; nothing was applied (servers and systems added or removed, and a system's settings but its lease program and fence, can change through a reload)",
      );
      return { kind: 'restart_needed', fields: change.fields };
    }
    const replica = this.#replica;
    if (replica === undefined) return { kind: 'invalid', message: 'the agent is not running' };
    const answers: { change: string; answer: ChangeAnswer }[] = [];
    const until = performance.now() + RELOAD_PROPOSE_MS;
    // Each change is asked again while no leader is known or a change made at the same time
    // conflicts, within RELOAD_PROPOSE_MS; `lacking` gives what the committed config still lacks
    // of it (another agent given the same file, or the API, may have made it already).
    const propose = async (
      lacking: (committed: ConfigDocument, version: number) => ConfigChange | undefined,
    ) => {
      for (;;) {
        const committed = replica.committed();
        const proposed = lacking(committed.config, committed.version);
        if (proposed === undefined) return;
        const answer = await replica.submit(proposed, { signal: new AbortController().signal });
        const again =
          (answer.kind === 'no_quorum' || answer.kind === 'conflict') &&
          performance.now() < until &&
          this.#shuttingDown === undefined;
        if (again) {
          await new Promise((resolve) => setTimeout(resolve, RELOAD_RETRY_MS));
          continue;
        }
        answers.push({ change: describeChange(proposed), answer });
        const fields = { file: this.#configPath, change: describeChange(proposed), answer: answer.kind };
        if (answer.kind === 'committed' || answer.kind === 'no_op')
          this.log.info(fields, 'reload: change committed');
        else this.log.warn({ ...fields, answer }, 'reload: change not committed');
        return;
      }
    };
    if (servers.kind === 'servers') {
      for (const id of servers.rm)
        await propose((committed, version) =>
          Object.hasOwn(serversOf(committed), id)
            ? { kind: 'server_rm', id, base_version: version }
            : undefined,
        );
      for (const server of servers.add)
        await propose((committed, version) =>
          Object.hasOwn(serversOf(committed), server.id)
            ? undefined
            : {
                kind: 'server_add',
                id: server.id,
                ip: server.ip,
                port: server.port,
                ...(Number.isFinite(server.priority) ? { priority: server.priority } : {}),
                systems: [...server.systems],
                base_version: version,
              },
        );
    }
    const fileSystems = systemsOf(fileDoc);
    for (const system of removedSystems)
      await propose((committed, version) =>
        Object.hasOwn(systemsOf(committed), system)
          ? { kind: 'system_rm', system, base_version: version }
          : undefined,
      );
    const changed =
      change.kind === 'systems' || change.kind === 'lists' ? change.systems : new Map<string, SystemConfig>();
    for (const [system, definition] of changed) {
      const was = base.systems.find((entry) => entry.name === system);
      if (was === undefined) {
        // Added: its definition as the file writes it, its members as the file lists them.
        await propose((committed, version) =>
          Object.hasOwn(systemsOf(committed), system)
            ? undefined
            : {
                kind: 'system_add',
                system,
                definition: objectOr(own(fileSystems, system)) as SystemDocument,
                members: [...definition.members],
                base_version: version,
              },
        );
        continue;
      }
      // The file's settings as written (a key left out is `null`: back to its default), those
      // that differ from the committed config's.
      const settings = settingsEdited(was, definition, objectOr(own(fileSystems, system)));
      if (Object.keys(settings).length > 0) {
        await propose((committed, version) => {
          const present = objectOr(own(systemsOf(committed), system));
          const values = Object.fromEntries(
            Object.entries(settings).filter(([key, value]) => !sameJson(own(present, key) ?? null, value)),
          );
          return Object.keys(values).length === 0
            ? undefined
            : { kind: 'system_set', system, values, base_version: version };
        });
      }
      const before = was?.data ?? [];
      const data = definition.data;
      const edit = {
        data_rm: before.filter((item) => !data.includes(item)),
        data_add: data.filter((item) => !before.includes(item)),
      };
      for (const kind of ['data_rm', 'data_add'] as const) {
        await propose((committed, version) => {
          const present = new Set(itemsOf(own(systemsOf(committed), system)));
          const items = edit[kind].filter((item) => (kind === 'data_rm') === present.has(item));
          return items.length === 0 ? undefined : { kind, system, items, base_version: version };
        });
      }
    }
    if (answers.every(({ answer }) => answer.kind === 'committed' || answer.kind === 'no_op'))
      this.#tookInFile(next, fileDoc);
    return { kind: 'proposed', answers };
  }

  /**
   * The file's edit is in the committed config: the file is taken in, here (the base of the next
   * reload) and in the stored cluster state (the base at the next start, start-from.ts), so the
   * edit is not proposed again.
   */
  #tookInFile(config: FlipConfig, doc: ConfigDocument): void {
    this.#fileConfig = config;
    this.#replica?.setFileBase(doc);
    this.log.info({ file: this.#configPath }, 'reload: the config file is taken in');
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
        this.#event({
          type: 'plan',
          system: note.system,
          plan: note.plan,
          desired: note.desired,
          leaving: note.leaving,
          arriving: note.arriving,
        });
        this.stats.planned(note.system, note.arriving.length, this.#memberGone(note.system));
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
        if (note.launch.event === 'alive') {
          this.#controller.scriptStarted(note.launch.system, note.launch.item);
          this.#saveMaybeHeld();
          // At once: a leased item's lease round (its renewal names the item to the lease
          // program, whose watchdog then deletes it should this agent die before its next round).
          this.#drive();
        }
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
        if (launch.event !== 'check') {
          this.stats.scriptFinished(
            performance.now(),
            launch.system,
            launch.item,
            launch.event,
            result,
            result.ok ? undefined : describeFailure(result, launch.timeout_ms),
          );
          this.#event({
            type: 'script',
            system: launch.system,
            item: launch.item,
            event: launch.event,
            ok: result.ok,
            duration_ms: Math.round(result.duration_ms),
            exit_code: result.exit_code,
            signal: result.signal,
            timed_out: result.timed_out,
          });
        }
        if (launch.event === 'alive') this.#controller.aliveEnded(launch.system, launch.item);
        if (note.released) {
          this.#controller.scriptReleased(performance.now(), launch.system, launch.item, this.membership);
          this.#drive();
        }
        if (launch.event !== 'check') this.#saveMaybeHeld();
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
        if (note.event !== 'check')
          this.#event({
            type: 'item_failed',
            system: note.system,
            item: note.item,
            event: note.event,
            attempts: note.attempts,
          });
        return;
      case 'recovered':
        this.log.info({ system: note.system, item: note.item, event: note.event }, 'item recovered');
        if (note.event !== 'check')
          this.#event({ type: 'item_recovered', system: note.system, item: note.item, event: note.event });
        return;
      case 'drained':
        return;
    }
  }

  /**
   * Graceful stop: announce the leave (peers take over at once), run `down` for everything
   * held (unless remove_on_failure is off), close the socket; or run the `down` scripts first
   * and announce the leave after them, when a system has no fence to cover them (the
   * controller's LeaveOrder). Bounded in time.
   */
  shutdown(signal = 'shutdown'): Promise<void> {
    this.#shuttingDown ??= (async () => {
      this.log.info({ signal, run_down: this.config.remove_on_failure }, 'leaving the cluster');
      this.#event({ type: 'agent', state: 'leaving' });
      const order = this.#controller.leave();
      if (order === 'announce_first') this.membership.leave();
      if (this.#healthTimer) clearTimeout(this.#healthTimer);
      this.#healthTimer = undefined;
      if (this.#departureTimer) clearTimeout(this.#departureTimer);
      this.#departureTimer = undefined;
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
      if (order === 'drain_first') this.membership.leave();
      this.#runnerDriver.stop();
      await this.#replica?.stop().catch(() => undefined);
      await Promise.all([...this.#keepers.values()].map((keeper) => keeper.stop()));
      this.#controller.stop(performance.now());
      this.#drive();
      await new Promise((resolve) => setTimeout(resolve, LEAVE_FLUSH_MS));
      await this.#transport?.close();
      // The socket is closed, so no more drops come: log what is pending rather than lose it.
      if (this.#dropTimer) clearTimeout(this.#dropTimer);
      this.#dropTimer = undefined;
      this.#dropTimerAt = Number.POSITIVE_INFINITY;
      const drops = this.#drops.flush(performance.now());
      if (drops) this.log.warn(drops, 'packets dropped');
      await this.#api?.close().catch(() => undefined);
      await this.#maybeHeld.idle().catch(() => undefined);
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

/** The config file's keys of the system fields that a running agent takes (runtime-change.ts). */
/**
 * The system_set values of a file's edit of a system: each setting that differs between `was`
 * (the file as last taken in) and `now`, as the file writes it (`written`, the system's entry in
 * the file), or `null` where the file leaves it out (the default again).
 */
function settingsEdited(
  was: SystemConfig | undefined,
  now: SystemConfig,
  written: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(SYSTEM_SETTING_KEYS) as [
    keyof typeof SYSTEM_SETTING_KEYS,
    string,
  ][]) {
    if (was !== undefined && sameJson(was[field], now[field])) continue;
    values[key] = own(written, key) ?? null;
  }
  return values;
}
