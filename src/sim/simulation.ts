/**
 * A deterministic simulation of a flip cluster: every node runs the real protocol core
 * (MembershipNode); only time and the network are simulated. One seed drives everything:
 * per-link delay and jitter, packet loss, partitions (any grouping, one-way too), crashes,
 * restarts, graceful leaves and pauses (a stalled process whose packets queue up).
 */

import type { FlipConfig, SystemConfig } from '../config/index.js';
import { withRuntimeFields } from '../config/runtime-change.js';
import { listsToRunner, runnerOptionsFor, systemsToRunner } from '../executor/from-config.js';
import {
  LINUX_LIFETIME_FENCE_MS,
  NFT_LATE_TIMEOUT_MIN_MS,
  NFT_LEASE_TIMEOUT_MS,
} from '../executor/lease-fence.js';
import { ScriptRunner } from '../executor/runner.js';
import { type Launch, LEASE_LATE_EXIT_CODE, type RunResult } from '../executor/types.js';
import { HealthMonitor } from '../health/health-monitor.js';
import { ReadinessLink } from '../health/readiness-link.js';
import { nodeOptionsFor, renumberingOf, sameRoster } from '../membership/from-config.js';
import type { MemberStateName, Message } from '../membership/messages.js';
import { isLive, type MemberChange, MembershipNode, type Packing } from '../membership/node.js';
import { rosterFree } from '../membership/roster-free.js';
import type { HostHolding } from '../node/committed-versions.js';
import { type MembershipView, NodeController, type RenewalOutcome } from '../node/controller.js';
import { EventQueue } from './event-queue.js';
import { Random } from './random.js';

export interface NetworkOptions {
  /** Mean one-way delay of a link (ms); each link gets a fixed share between 0.5x and 1.5x. */
  delay_ms: number;
  /** Extra random delay per packet, uniform in [0, jitter_ms). */
  jitter_ms: number;
  /** Probability that any packet is lost. */
  loss: number;
}

export const LAN: NetworkOptions = { delay_ms: 0.2, jitter_ms: 0.3, loss: 0 };

/** Packets a paused process can have waiting in its socket buffer; later ones are dropped. */
export const PAUSED_INBOX_MAX = 512;
/** Rounds of effects one event may cause before the simulator calls it a bug (a loop). */
const FLUSH_ROUNDS_MAX = 1000;
/** How long a simulated health check runs (ms). */
const CHECK_RUN_MS = 20;

/** The views made so far, per core and readiness link: a view reads them live, so one each will do. */
const VIEWS = new WeakMap<MembershipNode, Map<ReadinessLink | undefined, MembershipView>>();

/**
 * The controller's view of a node's membership, read from its core: made once per core (and
 * readiness link) and kept, since the simulator asks for it at every event of every node (making
 * it afresh was a fifth of a run's time at 9 servers).
 */
function viewOf(core: MembershipNode, readiness?: ReadinessLink): MembershipView {
  let views = VIEWS.get(core);
  if (views === undefined) {
    views = new Map();
    VIEWS.set(core, views);
  }
  let view = views.get(readiness);
  if (view === undefined) {
    view = makeView(core, readiness);
    views.set(readiness, view);
  }
  return view;
}

function makeView(core: MembershipNode, readiness?: ReadinessLink): MembershipView {
  return {
    ...(readiness === undefined
      ? {}
      : {
          readyFor: (member: number, system: string) => readiness.readyFor(core, member, system),
          holdingFor: (member: number, system: string) => readiness.holdingFor(core, member, system),
        }),
    liveMembers: () => core.liveMembers(),
    isLive: (member) => isLive(core.member(member).state),
    hasLeft: (member) => core.member(member).state === 'left',
    leaseBase: (now) => core.leaseBase(now),
    heardByAnyone: (member) => core.heardByAnyone(member),
    grant_fresh_ms: core.grant_fresh_ms,
  };
}

/**
 * How long a leased item stays answered on its host after its last renewal (ms), its agent and
 * vip-lease killed or frozen, on a host without the nftables fence (a system whose fence is
 * LINUX_LIFETIME_FENCE_MS or more): the kernel deletes the address between 0.98 s and about
 * 1.41 s as measured (executor/lease-fence.ts).
 */
export const LEASE_LAPSE_MS = { min: 980, max: 1450 } as const;
/**
 * The same with the nftables fence (a system whose fence is below LINUX_LIFETIME_FENCE_MS, the
 * default's 1000 ms among them): the element's 800 ms timeout, counted from the renewal's
 * commit, up to a jiffy early and a few ms late (NFT_FENCE_MS; measured by
 * test/netns/lease.test.ts), and the simulator adds up to 50 ms of a slow commit.
 */
export const NFT_LEASE_LAPSE_MS = { min: NFT_LEASE_TIMEOUT_MS - 4, max: NFT_LEASE_TIMEOUT_MS + 50 } as const;
/**
 * How long at most an `alive` of a leased item takes to reach its lease (ms): a shell's start and
 * the config read, up to a quarter of the script; long on a loaded host (the slow-scripts fault),
 * where it may miss the renewal deadline (see Simulation's #leaseStep).
 */
export const LEASE_STEP_MS_MAX = 150;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`simulator: ${message}`);
}

/** More events than this at one virtual instant: a livelock (a wake-up its tick does not move). */
const SAME_INSTANT_EVENTS_MAX = 100_000;

/** Incarnations start here plus the boot time, so a restart always starts higher. */
const INCARNATION_BASE = 1_000_000;

/** Simulated scripts: how long a run takes and how often it fails. */
export interface ScriptModel {
  duration_ms_min: number;
  duration_ms_max: number;
  /** Probability that a run fails (exit 1). */
  failure_rate: number;
}

export interface SimulationOptions {
  /** When given, every node runs the real script runner with simulated scripts. */
  scripts?: ScriptModel;
  /** The cluster's config: every node starts with it. */
  config: FlipConfig;
  /**
   * Servers that a committed `server add` may bring in later, by id: nodes after the config's,
   * not started, that run once `join` gives them the committed config (see setServers).
   */
  spares?: readonly string[];
  seed: number;
  network?: Partial<NetworkOptions>;
  packing: Packing;
  /** Bytes each packet adds around its body (header, nonce, tag), for the byte figures. */
  packet_overhead_bytes: number;
}

export type NodeStatus = 'up' | 'crashed' | 'paused' | 'left';

/** An item configured on two hosts at once (see Simulation.ownerOverlaps). */
export interface OwnerOverlap {
  at: number;
  system: string;
  item: string;
  /** The server whose `alive` started. */
  starter: number;
  /** Hosts that still had the item configured, and their agents' status then. */
  holders: { server: number; status: NodeStatus; until: number }[];
}

/** An item put on a second live server by a hand-over (see Simulation.handoverOverlaps). */
export interface HandoverOverlap {
  at: number;
  system: string;
  item: string;
  /** The server whose `alive` started. */
  starter: number;
  /** The up server, live in the starter's view, that might still hold the item. */
  holder: number;
}

export interface TraceEntry extends MemberChange {
  observer: number;
}

/** What a node did above its membership view, for tracing a run (see Simulation.onAction). */
export type ActionEntry =
  | { kind: 'script_started'; at: number; node: number; launch: Launch }
  | { kind: 'script_ended'; at: number; node: number; launch: Launch; ok: boolean }
  | { kind: 'release_sent'; at: number; node: number; to: number; items: string[] }
  | { kind: 'announce'; at: number; node: number; from: number; items: string[] };

/**
 * How a node numbers members (its config's server list, as its core and controller do) against
 * the simulation's node indexes: the same while every node runs the cluster's first list.
 */
interface Numbering {
  /** Member number -> node index. */
  nodes: readonly number[];
  /** Node index -> member number, or -1 for a node its list lacks. */
  members: Int32Array;
  /** Equal for equal lists: whether two nodes read each other's member numbers alike. */
  key: string;
}

function numberingOf(config: FlipConfig, universe: readonly string[]): Numbering {
  const members = new Int32Array(universe.length).fill(-1);
  const nodes = config.servers.map((server, member) => {
    const index = universe.indexOf(server.id);
    assert(index !== -1, `server ${server.id} is not a node of the simulation`);
    members[index] = member;
    return index;
  });
  return { nodes, members, key: JSON.stringify(config.servers.map((server) => server.id)) };
}

interface SimNode {
  index: number;
  core: MembershipNode | undefined;
  /** How this node numbers members (its config's list); see Numbering. */
  numbering: Numbering;
  status: NodeStatus;
  boots: number;
  /** The wake-up time currently scheduled; a popped wake for another time is stale. */
  wakeAt: number;
  /** What a paused process has waiting: packets, and ends of its scripts. */
  inbox: (
    | { from: number; message: Message; roster: string }
    | { script: RunResult; launch: Launch }
    | { call: () => void }
  )[];
  /**
   * Items of `shard`/`hash`/`single` systems this node may hold: from the start of an `alive` until a
   * successful `down` (as the runner's maybe_held). A crash clears it: the process is gone, and
   * what its host still answers for is the fencing question, not this checker's.
   */
  holding: Set<string>;
  /**
   * Items of `shard`/`hash`/`single` systems configured on this node's host: from the start of an
   * `alive` until a successful `down`. A SIGKILL (kill) leaves them, as it leaves a killed
   * agent's addresses on its host; a crash of the machine takes them away.
   */
  host: Map<string, number>;
  runner: ScriptRunner | undefined;
  /** A graceful stop is under way: the runner drains, then the node is gone (see leave). */
  leaving: boolean;
  /** The leaving node announces its leave only once drained (LeaveOrder `drain_first`). */
  drainFirst: boolean;
  /** The leaving node's runner has drained. */
  drained: boolean;
  /** The node's decisions above the core and the runner: the daemon's own controller. */
  controller: NodeController | undefined;
  /** Its health checks and hold-downs, and what it announces of them (src/health/). */
  health: HealthMonitor | undefined;
  readiness: ReadinessLink | undefined;
  sent_messages: number;
  sent_bytes: number;
}

type SimEvent =
  | { kind: 'wake'; node: number; at: number }
  | { kind: 'deliver'; from: number; to: number; message: Message; roster: string }
  | { kind: 'script'; node: number; boot: number; result: RunResult; launch: Launch }
  | { kind: 'action'; run: () => void }
  | { kind: 'check'; node: number; boot: number; system: string; run: number; ok: boolean };

/** A node's process started, stopped (crashed, killed or gone after a leave), paused, or ran again after a pause. */
export type LifeEvent = 'start' | 'stop' | 'pause' | 'resume';

export class Simulation {
  /** The cluster's config, as the checkers judge by it (setClusterSystems and setClusterConfig change it). */
  #config: FlipConfig;
  /**
   * The config each node runs with: the cluster's at first (a spare's once it joins); setSystems
   * and setServers change it.
   */
  readonly #nodeConfigs: (FlipConfig | undefined)[];
  /** Every node's server id, by node index: the config's servers, then the spares. */
  readonly #universe: readonly string[];
  /** The ids the cluster's config lists now (setClusterConfig). */
  #listed: ReadonlySet<string>;
  /** Nodes removed from the cluster (a committed `server rm`): they never start again. */
  readonly #removed = new Set<number>();
  /**
   * What each node's runner last counted as maybe configured on its host (ScriptRunner.maybeHeld),
   * as an agent keeps it on disk: its next start takes down those the config no longer lists.
   */
  readonly #maybeHeld: Map<string, string[]>[];
  readonly network: NetworkOptions;
  readonly trace: TraceEntry[] = [];
  /**
   * Hand-overs that put an item on two live servers: an `alive` started while another up server,
   * live in the starter's own view, might still hold the item. The promise checked is
   * docs/PROTOCOL.md's: a hand-back between live servers is break-before-make.
   */
  readonly handoverOverlaps: HandoverOverlap[] = [];
  /**
   * Every `alive` that put a shard/hash/single item on a host while another host still had it
   * configured: its agent running, frozen or killed, until its `down` or, for a leased item,
   * until its lease lapsed (LEASE_LAPSE_MS after its last renewal). The promise of
   * no_quorum_policy `release` (docs/SAFETY.md) is that there are none.
   */
  readonly ownerOverlaps: OwnerOverlap[] = [];
  now = 0;
  /**
   * What a neighbour (a client on the same network) may reach when it sends to an item's
   * address: item key -> servers. An `alive` that succeeds announces its server (gratuitous ARP):
   * the neighbour then reaches it, or any other host still configured with the item, whose
   * answer to a later ARP request may win. A `down` announces nothing: the server stays in the
   * set until somebody announces the item again. See staleNeighbours.
   */
  readonly #neighbour = new Map<string, Set<number>>();
  /** Packets dropped by loss and by partitions, and deliveries to crashed nodes. */
  readonly dropped = { loss: 0, partition: 0, dead: 0, inbox_full: 0, roster: 0 };
  /**
   * Renewals of held items that found fewer of them on their host than they renewed: items that
   * lapsed while their holder counted them held (an outage nobody caused, put right by a claim).
   */
  renewalsShort = 0;

  readonly #options: SimulationOptions;
  readonly #random: Random;
  readonly #netRandom: Random;
  readonly #scriptRandom: Random;
  readonly #kernelRandom: Random;
  readonly #nodes: SimNode[];
  /** Systems with a lease program: their items lapse on a host nobody renews them on. */
  readonly #leased = new Set<string>();
  /** Per leased system: how long after a renewal its items lapse (LEASE_LAPSE_MS, NFT_LEASE_LAPSE_MS). */
  readonly #lapse = new Map<string, { min: number; max: number }>();
  /** Systems whose items belong to one server at a time (shard, hash, single). */
  readonly #exclusive = new Set<string>();
  /** Servers whose health check of a system fails, by index (see failChecks). */
  readonly #failingChecks = new Map<number, Set<string>>();
  readonly #queue = new EventQueue<SimEvent>();
  readonly #linkFactor: Float64Array;
  /** blocked[from * n + to]: packets from -> to are dropped. */
  #blocked: Uint8Array;
  #anyBlocked = false;
  #listeners: ((entry: TraceEntry) => void)[] = [];
  readonly #lifeListeners: ((index: number, event: LifeEvent) => void)[] = [];
  #actionListeners: ((entry: ActionEntry) => void)[] = [];

  constructor(options: SimulationOptions) {
    this.#options = options;
    this.#config = options.config;
    this.network = { ...LAN, ...options.network };
    this.#random = new Random(options.seed);
    this.#netRandom = this.#random.fork(0xface);
    this.#scriptRandom = this.#random.fork(0x5c41);
    this.#kernelRandom = this.#random.fork(0xf3ce);
    this.#learnSystems(options.config.systems);
    const spares = options.spares ?? [];
    this.#universe = [...options.config.servers.map((server) => server.id), ...spares];
    // The cluster as the checkers judge it, numbered by node: a spare is a member of nothing yet.
    this.#config = {
      ...options.config,
      servers: [
        ...options.config.servers,
        ...spares.map((id, k) => ({
          id,
          index: options.config.servers.length + k,
          ip: '127.0.0.1',
          port: 0,
          priority: Number.POSITIVE_INFINITY,
          systems: [],
          api: undefined,
        })),
      ],
    };
    this.#listed = new Set(options.config.servers.map((server) => server.id));
    const n = this.#universe.length;
    const first = numberingOf(options.config, this.#universe);
    // Each node's own copy names it in `id`, as every agent's file does.
    this.#nodeConfigs = Array.from({ length: n }, (_, index) =>
      index < options.config.servers.length ? { ...options.config, id: this.#universe[index]! } : undefined,
    );
    this.#maybeHeld = Array.from({ length: n }, () => new Map());
    this.#blocked = new Uint8Array(n * n);
    const linkRandom = this.#random.fork(0x1111);
    this.#linkFactor = Float64Array.from({ length: n * n }, () => 0.5 + linkRandom.next());
    this.#nodes = Array.from({ length: n }, (_, index) => ({
      index,
      core: undefined,
      numbering: first,
      status: 'crashed',
      boots: 0,
      wakeAt: Number.POSITIVE_INFINITY,
      inbox: [],
      runner: undefined,
      leaving: false,
      drainFirst: false,
      drained: false,
      controller: undefined,
      health: undefined,
      readiness: undefined,
      holding: new Set(),
      host: new Map(),
      sent_messages: 0,
      sent_bytes: 0,
    }));
  }

  get size(): number {
    return this.#nodes.length;
  }

  get config(): FlipConfig {
    return this.#config;
  }

  /** The config node `index` runs with (or starts with next); a spare not joined: the cluster's. */
  nodeConfig(index: number): FlipConfig {
    return this.#nodeConfigs[index] ?? this.#config;
  }

  /** Whether the cluster's config (setClusterConfig) lists node `index`. */
  listed(index: number): boolean {
    return this.#listed.has(this.#universe[index]!);
  }

  /**
   * Node `index` was removed from the cluster (its replica applied its `server rm`): it leaves,
   * as the agent does (`down` for what it holds, then gone), and never starts again (the agent
   * refuses to: its stored state says it is no server of the cluster).
   */
  remove(index: number): void {
    this.#removed.add(index);
    this.leave(index);
  }

  /** Whether node `index` can run: it has a config of its own and was not removed. */
  startable(index: number): boolean {
    return this.#nodeConfigs[index] !== undefined && !this.#removed.has(index);
  }

  /** Whether node `index` has a config of its own: one of the config's servers, or a spare that joined. */
  configured(index: number): boolean {
    return this.#nodeConfigs[index] !== undefined;
  }

  /**
   * A spare joins (`flip agent --join`): it starts with `config`, the committed config that lists
   * it, as the agent starts with the config the join fetched.
   */
  join(index: number, config: FlipConfig): void {
    const node = this.#nodes[index]!;
    assert(
      config.servers.some((server) => server.id === this.#universe[index]),
      'a join lists its server',
    );
    if (node.status === 'up' || node.status === 'paused') return;
    this.#nodeConfigs[index] = config;
    this.#learnSystems(config.systems);
    node.numbering = numberingOf(config, this.#universe);
    this.start(index);
  }

  /**
   * Node `index` takes new lists (a committed `server add|rm`, a reorder, `system add|rm`, a system
   * set up anew; committedChange's `lists`), in process as the agent does (MembershipNode.succeed,
   * NodeController.setServers): `config` is its new config. A stopped node starts with it; a
   * paused one applies nothing (false: the caller tries again later).
   */
  setServers(index: number, config: FlipConfig, systems: ReadonlyMap<string, SystemConfig>): boolean {
    const node = this.#nodes[index]!;
    if (node.status === 'paused') return false;
    const before = this.#nodeConfigs[index] ?? this.#config;
    this.#nodeConfigs[index] = config;
    this.#learnSystems(config.systems);
    node.numbering = numberingOf(config, this.#universe);
    const previous = node.core;
    if (node.status !== 'up' || previous === undefined) return true;
    const self = node.numbering.members[index]!;
    assert(self !== -1, 'a node takes only a list that names it');
    const renumbering = renumberingOf(before, config);
    // As the agent: a new membership core only for new lists.
    let core = previous;
    if (!sameRoster(before, config)) {
      core = new MembershipNode(
        nodeOptionsFor(config, self, {
          random: this.#random.fork(index * 7919 + node.boots * 31 + 17).next,
          incarnation: previous.incarnation,
          packing: this.#options.packing,
        }),
      );
      core.succeed(this.now, previous, renumbering);
      node.core = core;
    }
    if (node.runner && node.controller) {
      // As the agent's #applyLists: systems let go of are forgotten (CommittedVersions emptied
      // them first), systems this node is a member of now are taken up.
      listsToRunner(this.now, node.runner, before, config, systems);
      const own = config.systems.filter((system) => config.servers[self]!.systems.includes(system.name));
      node.health?.reshape(this.now, own);
      node.readiness = node.readiness?.forServers(config, self);
      node.controller.setServers(this.now, viewOf(core, node.readiness), config, renumbering);
      this.#checkHealth(node, core);
    }
    this.#flush(node);
    return true;
  }

  /**
   * What the host model must know of each system (leased, how soon its items lapse, whether one
   * server holds an item at a time): those of the config, and any a committed `system add` brings.
   */
  #learnSystems(systems: readonly SystemConfig[]): void {
    for (const system of systems) {
      if (system.type !== 'replicated') this.#exclusive.add(system.name);
      if (system.lease === undefined) continue;
      this.#leased.add(system.name);
      this.#lapse.set(
        system.name,
        system.fence_ms < LINUX_LIFETIME_FENCE_MS ? NFT_LEASE_LAPSE_MS : LEASE_LAPSE_MS,
      );
    }
  }

  /** What node `index`'s host holds (its runner), for CommittedVersions; nothing when it does not run. */
  hostOf(index: number): HostHolding {
    const runner = this.#nodes[index]!.runner;
    return { holds: (system) => runner?.holds(system) ?? false };
  }

  /**
   * The config node `index` starts with next, when it does not run: an agent starts from the
   * newest committed config it stored (state/start-from.ts), whatever it had taken in process.
   */
  setStartConfig(index: number, config: FlipConfig): void {
    const node = this.#nodes[index]!;
    if (node.status === 'up' || node.status === 'paused') return;
    if (!config.servers.some((server) => server.id === this.#universe[index])) return;
    this.#nodeConfigs[index] = config;
    this.#learnSystems(config.systems);
    node.numbering = numberingOf(config, this.#universe);
  }

  /**
   * The cluster as the checkers judge it: `config`, the latest committed version (as any of its
   * servers validates it), numbered by node; a node it does not list is a member of nothing.
   */
  setClusterConfig(config: FlipConfig): void {
    this.#listed = new Set(config.servers.map((server) => server.id));
    this.#config = {
      ...config,
      servers: this.#universe.map((id, index) => {
        const server = config.servers.find((entry) => entry.id === id);
        return server === undefined
          ? { ...this.#config.servers[index]!, index, systems: [] }
          : { ...server, index };
      }),
    };
  }

  /**
   * Node `index` applies changed systems (a committed change reaching it): `systems` gives the new
   * definition of each, by name, of which a running node takes the fields of
   * SYSTEM_FIELDS_AT_RUNTIME, as an agent does. At once when it runs, else at its next start, as
   * an agent starts from its stored state. A paused (frozen) node applies nothing: false, and the
   * caller tries again later.
   */
  setSystems(index: number, systems: ReadonlyMap<string, SystemConfig>): boolean {
    const node = this.#nodes[index]!;
    if (node.status === 'paused') return false;
    const config = this.#nodeConfigs[index];
    if (config === undefined) return true;
    this.#nodeConfigs[index] = withSystems(config, systems);
    if (node.status !== 'up' || !node.core) return true;
    if (node.runner && node.controller) {
      systemsToRunner(this.now, node.runner, systems);
      node.controller.setSystems(this.now, viewOf(node.core, node.readiness), systems);
    }
    this.#flush(node);
    return true;
  }

  /** The cluster's config as the checkers judge by it: the systems of the latest change. */
  setClusterSystems(systems: ReadonlyMap<string, SystemConfig>): void {
    this.#config = withSystems(this.#config, systems);
  }

  /** Calls `listener` for every member state change any node makes. */
  onChange(listener: (entry: TraceEntry) => void): void {
    this.#listeners.push(listener);
  }

  /** Calls `listener` for every script start and end and every release notice sent or acted on. */
  onAction(listener: (entry: ActionEntry) => void): void {
    this.#actionListeners.push(listener);
  }

  #action(entry: ActionEntry): void {
    for (const listener of this.#actionListeners) listener(entry);
  }

  // ---- running -----------------------------------------------------------------------------

  /** Starts every node, each at a random moment in the first interval (as real servers would). */
  startAll(): void {
    const spread = this.config.gossip_interval_ms;
    for (const node of this.#nodes) {
      this.at(this.now + this.#random.next() * spread, () => this.start(node.index));
    }
  }

  /** Runs `run` at virtual time `at` (ms). */
  at(at: number, run: () => void): void {
    this.#queue.push(Math.max(at, this.now), { kind: 'action', run });
  }

  /** Calls `listener` whenever a node's process starts, stops, pauses or runs again after a pause. */
  onLife(listener: (index: number, event: LifeEvent) => void): void {
    this.#lifeListeners.push(listener);
  }

  #life(index: number, event: LifeEvent): void {
    for (const listener of this.#lifeListeners) listener(index, event);
  }

  /**
   * Sends a message of another layer (the config replicas) from node `from` to node `to` through
   * the same network as the protocol's: partitions, loss and delay. `deliver` runs when it arrives
   * at a running node; a paused one runs it when it runs again; a stopped one drops it.
   */
  carry(from: number, to: number, deliver: () => void): void {
    const delay = this.#route(from, to);
    if (delay === undefined) return;
    this.at(this.now + delay, () => {
      const node = this.#nodes[to]!;
      if (node.status === 'paused') {
        if (node.inbox.length < PAUSED_INBOX_MAX) node.inbox.push({ call: deliver });
        else this.dropped.inbox_full++;
      } else if (node.status === 'up') deliver();
      else this.dropped.dead++;
    });
  }

  /** Processes events up to and including time `until`, then sets the clock to it. */
  runUntil(until: number): void {
    while (this.#queue.peekTime() <= until) this.#step();
    this.now = Math.max(this.now, until);
  }

  /** Runs until `condition` holds (checked after each event) or `until` passes; the time it held. */
  runUntilTrue(condition: () => boolean, until: number): number | undefined {
    if (condition()) return this.now;
    while (this.#queue.peekTime() <= until) {
      this.#step();
      if (condition()) return this.now;
    }
    this.now = Math.max(this.now, until);
    return undefined;
  }

  /** Events handled at the current instant so far (see SAME_INSTANT_EVENTS_MAX). */
  #sameInstant = 0;

  /** Handles the next event, at its time. */
  #step(): void {
    const event = this.#queue.pop()!;
    this.#sameInstant = this.#queue.lastTime === this.now ? this.#sameInstant + 1 : 0;
    assert(
      this.#sameInstant < SAME_INSTANT_EVENTS_MAX,
      `time stands still at ${this.now} ms: ${this.#sameInstant} events at one instant, the last ${JSON.stringify(event).slice(0, 200)} (a wake-up that its tick does not move)`,
    );
    this.now = this.#queue.lastTime;
    this.#handle(event);
  }

  #handle(event: SimEvent): void {
    switch (event.kind) {
      case 'action':
        event.run();
        return;
      case 'wake': {
        const node = this.#nodes[event.node]!;
        if (node.status !== 'up' || node.wakeAt !== event.at || !node.core) return;
        node.wakeAt = Number.POSITIVE_INFINITY;
        if (node.core.nextWakeAt() <= this.now) node.core.tick(this.now);
        node.runner?.tick(this.now);
        if (node.controller && node.controller.nextWakeAt() <= this.now)
          node.controller.tick(this.now, viewOf(node.core, node.readiness));
        this.#flush(node);
        return;
      }
      case 'check': {
        const node = this.#nodes[event.node]!;
        if (node.boots !== event.boot || !node.health) return;
        // A paused process reads the check's end when it runs again.
        if (node.status === 'paused') this.#queue.push(this.now + CHECK_RUN_MS, event);
        if (node.status !== 'up') return;
        node.health.result(this.now, event.system, event.run, event.ok);
        this.#flush(node);
        return;
      }
      case 'script': {
        const node = this.#nodes[event.node]!;
        if (node.boots !== event.boot || !node.runner) return;
        if (node.status === 'paused') {
          node.inbox.push({ script: event.result, launch: event.launch });
          return;
        }
        if (node.status !== 'up') return;
        this.#noteFinished(node, event.launch, event.result);
        node.runner.finished(this.now, event.result);
        this.#flush(node);
        return;
      }
      case 'deliver': {
        const node = this.#nodes[event.to]!;
        if (node.status === 'paused') {
          if (node.inbox.length < PAUSED_INBOX_MAX)
            node.inbox.push({ from: event.from, message: event.message, roster: event.roster });
          else this.dropped.inbox_full++;
          return;
        }
        if (node.status !== 'up' || !node.core) {
          this.dropped.dead++;
          return;
        }
        this.#receive(node, event.from, event.message, event.roster);
        this.#flush(node);
        return;
      }
    }
  }

  /**
   * A packet from node `from` reaches `node`'s core, read as the wire reads it (wire/roster.ts):
   * the sender by its member number in the receiver's list (none: dropped, as a packet from an
   * unknown server tag), and, when the list the sender numbered it by (`roster`, as sent) is not
   * the receiver's, only what names no member (membership/roster-free.ts).
   */
  #receive(node: SimNode, from: number, message: Message, roster: string): void {
    const sender = node.numbering.members[from]!;
    if (sender === -1) {
      this.dropped.roster++;
      return;
    }
    const read =
      roster === node.numbering.key
        ? message
        : rosterFree(message, node.numbering.members[node.index]!, 'other');
    if (read === undefined) {
      this.dropped.roster++;
      return;
    }
    node.core!.receive(this.now, sender, read);
  }

  /**
   * Carries out a node's effects until none are left, as the agent does: the core's packets go
   * through the network and its changes and notices to the controller; the controller's
   * commands go to the runner and the core; the runner's launches become simulated scripts and
   * its notes go back to the controller.
   */
  #flush(node: SimNode): void {
    const core = node.core!;
    const packing = this.#options.packing;
    for (let round = 0; ; round++) {
      assert(round < FLUSH_ROUNDS_MAX, "a node's effects did not settle");
      this.#checkHealth(node, core);
      const effects = core.takeEffects();
      for (const { to, message } of effects.sends) {
        node.sent_messages++;
        let bytes = this.#options.packet_overhead_bytes + packing.fixedSize(message);
        for (const update of message.updates) bytes += packing.updateSize(update);
        if (message.type === 'state') bytes += message.records.length * packing.stateRecordSize;
        node.sent_bytes += bytes;
        this.#transmit(node.index, node.numbering.nodes[to]!, message, node.numbering.key);
      }
      for (const change of effects.changes) {
        const entry = { ...change, member: node.numbering.nodes[change.member]!, observer: node.index };
        this.trace.push(entry);
        for (const listener of this.#listeners) listener(entry);
      }
      const controller = node.controller;
      const runner = node.runner;
      if (!controller || !runner) {
        if (effects.sends.length === 0) break;
        continue;
      }
      const view = viewOf(core, node.readiness);
      for (let i = 0; i < effects.refutations.length; i++) controller.refuted(this.now, view);
      if (effects.refutations.length > 0 && node.health) {
        node.health.refuted(this.now);
        this.#checkHealth(node, core);
      }
      if (effects.readiness.length > 0) controller.readinessChanged(this.now, view);
      if (effects.lease.length > 0) controller.lease(this.now, effects.lease, view);
      if (effects.changes.length > 0) controller.changes(this.now, effects.changes, view);
      for (const notice of effects.released) controller.noticeReceived(this.now, notice, view);
      for (const ack of effects.released_acks) controller.noticeAcked(ack.from, ack.id);
      for (const claim of effects.claims) controller.claimReceived(claim, view);
      for (const reply of effects.claim_replies) controller.claimReplied(this.now, reply, view);
      if (!controller.planning && core.synced) controller.synced(this.now, view);
      let acted = false;
      for (const command of controller.takeCommands()) {
        acted = true;
        switch (command.kind) {
          case 'desired':
            runner.setDesired(this.now, command.system, command.items, {
              immediate: command.immediate,
              handback: command.handback,
            });
            break;
          case 'reassert':
            for (const system of command.systems) runner.reassert(this.now, system);
            break;
          case 'announce':
            this.#action({
              kind: 'announce',
              at: this.now,
              node: node.index,
              from: node.numbering.nodes[command.from]!,
              items: [...command.items].flatMap(([system, items]) =>
                items.map((item) => `${system}/${item}`),
              ),
            });
            for (const [system, items] of command.items) runner.released(this.now, system, items);
            break;
          case 'send_release':
            this.#action({
              kind: 'release_sent',
              at: this.now,
              node: node.index,
              to: node.numbering.nodes[command.to]!,
              items: command.items.map(({ system, item }) => `${system}/${item}`),
            });
            core.release(command.to, command.id, command.items);
            break;
          case 'cleared':
            runner.cleared(this.now, command.system, command.items);
            break;
          case 'send_claim':
            core.claim(command.to, command.id, command.items);
            break;
          case 'send_claim_reply':
            core.claimReply(command.to, command.id, command.items);
            break;
          case 'planning':
          case 'quorum':
            break;
          case 'lease_wanted':
            core.setLeaseWanted(this.now, command.wanted, command.pings);
            break;
          case 'lease_round':
            core.leaseRoundSoon(this.now);
            break;
          case 'renew':
            this.#renewOnHost(node, command.system, command.items, command.deadline, command.adding);
            break;
        }
      }
      const ran = this.#runScripts(node, runner, controller, view);
      if (!acted && !ran && effects.sends.length === 0) break;
    }
    if (node.leaving && node.drained && node.controller) {
      // As the agent: once drained, the last release notices go out, then the process exits.
      node.controller.stop(this.now);
      for (const command of node.controller.takeCommands()) {
        if (command.kind !== 'send_release') continue;
        this.#action({
          kind: 'release_sent',
          at: this.now,
          node: node.index,
          to: node.numbering.nodes[command.to]!,
          items: command.items.map(({ system, item }) => `${system}/${item}`),
        });
        core.release(command.to, command.id, command.items);
      }
      node.controller = undefined;
      node.runner = undefined;
      if (node.drainFirst) core.leave(this.now);
      this.#flush(node);
      this.#gone(node);
      return;
    }
    let wake = core.nextWakeAt();
    if (node.runner) wake = Math.min(wake, node.runner.nextWakeAt());
    if (node.controller) wake = Math.min(wake, node.controller.nextWakeAt());
    if (node.health) wake = Math.min(wake, node.health.nextWakeAt(this.now));
    if (wake !== node.wakeAt && Number.isFinite(wake)) {
      node.wakeAt = Math.max(wake, this.now);
      this.#queue.push(node.wakeAt, { kind: 'wake', node: node.index, at: node.wakeAt });
    }
  }

  /**
   * Starts the health checks due, as simulated runs that end CHECK_RUN_MS later and fail while
   * `failChecks` says so, and announces the node's readiness (a change reaches the controller
   * through the core's effects).
   */
  #checkHealth(node: SimNode, core: MembershipNode): void {
    if (!node.health || !node.readiness) return;
    for (const run of node.health.due(this.now)) {
      const ok = !(this.#failingChecks.get(node.index)?.has(run.system) ?? false);
      this.#queue.push(this.now + CHECK_RUN_MS, {
        kind: 'check',
        node: node.index,
        boot: node.boots,
        system: run.system,
        run: run.run,
        ok,
      });
    }
    node.readiness.announce(this.now, node.health, core, node.controller?.planning ?? false);
  }

  /**
   * A fault: the health check of `system` fails on server `index` (its service is broken) from
   * now until `failChecks(index, system, false)`; it outlives restarts, as a host's fault does.
   */
  failChecks(index: number, system: string, failing = true): void {
    let systems = this.#failingChecks.get(index);
    if (systems === undefined) {
      systems = new Set();
      this.#failingChecks.set(index, systems);
    }
    if (failing) systems.add(system);
    else systems.delete(system);
  }

  /** Starts the runner's launches as simulated scripts and hands its notes to the controller. */
  #runScripts(
    node: SimNode,
    runner: ScriptRunner,
    controller: NodeController,
    view: MembershipView,
  ): boolean {
    const model = this.#options.scripts!;
    const effects = runner.takeEffects();
    if (effects.launches.length > 0 || effects.notes.some((note) => note.type === 'finished'))
      this.#maybeHeld[node.index] = runner.maybeHeld();
    for (const launch of effects.launches) {
      const duration = this.#scriptRandom.between(model.duration_ms_min, model.duration_ms_max);
      const lease = this.#leaseStep(launch, duration);
      const ok = lease !== 'late' && !this.#scriptRandom.chance(model.failure_rate);
      const result: RunResult = {
        run: launch.run,
        ok,
        exit_code: ok ? 0 : lease === 'late' ? LEASE_LATE_EXIT_CODE : 1,
        signal: null,
        timed_out: false,
        duration_ms: duration,
        stdout: '',
        stderr: '',
      };
      if (lease !== 'late') this.#noteLaunch(node, launch, lease);
      this.#action({ kind: 'script_started', at: this.now, node: node.index, launch });
      this.#queue.push(this.now + duration, {
        kind: 'script',
        node: node.index,
        boot: node.boots,
        result,
        launch,
      });
    }
    let released = false;
    for (const note of effects.notes) {
      if (note.type === 'drained') node.drained = true;
      if (note.type === 'started' && note.launch.event === 'alive')
        controller.scriptStarted(note.launch.system, note.launch.item);
      if (note.type === 'finished' && note.launch.event === 'alive')
        controller.aliveEnded(note.launch.system, note.launch.item);
      if (note.type !== 'finished' || !note.released) continue;
      controller.scriptReleased(this.now, note.launch.system, note.launch.item, view);
      released = true;
    }
    return released;
  }

  /**
   * When an `alive` of a leased item leases it, as vip-up does with FLIP_LEASE_DEADLINE_MS: some
   * time into the script (its start and config read, up to a quarter of it and at most
   * LEASE_STEP_MS_MAX), counted from the deadline when it comes later (a shorter element under the
   * nftables fence); 'late', changing nothing, when too little would be left, or at all after the
   * deadline with the address lifetime alone. `now` for any other launch.
   */
  #leaseStep(launch: Launch, duration: number): number | 'late' {
    if (launch.event !== 'alive' || launch.lease_deadline === undefined || !this.#leased.has(launch.system))
      return this.now;
    const at = this.now + this.#scriptRandom.between(0, Math.min(duration / 4, LEASE_STEP_MS_MAX));
    const late = at - launch.lease_deadline;
    if (late <= 0) return at;
    const nft = this.#lapse.get(launch.system) === NFT_LEASE_LAPSE_MS;
    return nft && NFT_LEASE_TIMEOUT_MS - late >= NFT_LATE_TIMEOUT_MIN_MS ? launch.lease_deadline : 'late';
  }

  /**
   * An `alive` starting on `node`: record any other live holder, then count `node` as one. A
   * leased item lasts on the host from `leased_at` (the script's lease, see #leaseStep).
   */
  #noteLaunch(node: SimNode, launch: Launch, leased_at = this.now): void {
    if (launch.event !== 'alive' || !this.#exclusive.has(launch.system)) return;
    const key = `${launch.system}\u0000${launch.item}`;
    const core = node.core;
    // An `alive` for an item the server may hold already (an announcement, a retry) adds no holder.
    const adds = !node.holding.has(key);
    if (!this.#onHost(node, key)) {
      const holders = this.#nodes
        .filter((other) => other !== node && this.#onHost(other, key))
        .map((other) => ({ server: other.index, status: other.status, until: other.host.get(key)! }));
      if (holders.length > 0)
        this.ownerOverlaps.push({
          at: this.now,
          system: launch.system,
          item: launch.item,
          starter: node.index,
          holders,
        });
    }
    for (const other of this.#nodes) {
      // Only running servers: a paused (frozen) or dead one cannot run its `down`; fencing is for those.
      if (!adds || other === node || other.status !== 'up' || !other.holding.has(key)) continue;
      const member = node.numbering.members[other.index]!;
      if (core && member !== -1 && isLive(core.member(member).state)) {
        this.handoverOverlaps.push({
          at: this.now,
          system: launch.system,
          item: launch.item,
          starter: node.index,
          holder: other.index,
        });
      }
    }
    this.#neighbourOf(key).add(node.index);
    node.holding.add(key);
    // A leased item is added with its lifetime (vip-up with FLIP_LEASE_LIFETIME_S), or renewed.
    node.host.set(
      key,
      this.#leased.has(launch.system)
        ? leased_at + this.#kernelLifetime(launch.system)
        : Number.POSITIVE_INFINITY,
    );
  }

  /** Whether `node`'s host has the item `key` configured now (a leased one until it lapses). */
  #onHost(node: SimNode, key: string): boolean {
    return (node.host.get(key) ?? Number.NEGATIVE_INFINITY) > this.now;
  }

  #kernelLifetime(system: string): number {
    const lapse = this.#lapse.get(system) ?? LEASE_LAPSE_MS;
    return this.#kernelRandom.between(lapse.min, lapse.max);
  }

  /**
   * The node's lease program renews these items now, as vip-lease does: only those still
   * configured (a lapsed one is never added back), and nothing once the deadline has passed. Its
   * answer goes to the controller, as the agent passes vip-lease's on.
   */
  #renewOnHost(
    node: SimNode,
    system: string,
    items: readonly string[],
    deadline: number,
    adding: number,
  ): void {
    if (!this.#leased.has(system)) return;
    let outcome: RenewalOutcome = { kind: 'not_renewed' };
    if (this.now <= deadline) {
      let renewed = 0;
      for (const item of items) {
        const key = `${system}\u0000${item}`;
        if (!this.#onHost(node, key)) continue;
        node.host.set(key, this.now + this.#kernelLifetime(system));
        renewed++;
      }
      outcome = { kind: 'renewed', asked: items.length, renewed, adding };
      if (renewed + adding < items.length) this.renewalsShort++;
    }
    node.controller?.renewalEnded(this.now, system, outcome);
  }

  #noteFinished(node: SimNode, launch: Launch, result: RunResult): void {
    this.#action({ kind: 'script_ended', at: this.now, node: node.index, launch, ok: result.ok });
    if (!result.ok || !this.#exclusive.has(launch.system)) return;
    const key = `${launch.system}\u0000${launch.item}`;
    if (launch.event === 'down') {
      node.holding.delete(key);
      node.host.delete(key);
      return;
    }
    const reached = this.#neighbourOf(key);
    reached.clear();
    for (const other of this.#nodes) if (other === node || this.#onHost(other, key)) reached.add(other.index);
  }

  #neighbourOf(key: string): Set<number> {
    let reached = this.#neighbour.get(key);
    if (reached === undefined) {
      reached = new Set();
      this.#neighbour.set(key, reached);
    }
    return reached;
  }

  /** `roster`: the sender's list as it numbered the message (a packet's roster digest, stamped when sealed). */
  #transmit(from: number, to: number, message: Message, roster: string): void {
    const delay = this.#route(from, to);
    if (delay === undefined) return;
    // The core never changes a message after handing it out, so receivers can share it.
    this.#queue.push(this.now + delay, { kind: 'deliver', from, to, message, roster });
  }

  /** How long a packet from `from` takes to reach `to`, or undefined when it is lost (counted). */
  #route(from: number, to: number): number | undefined {
    const n = this.#nodes.length;
    if (this.#anyBlocked && this.#blocked[from * n + to] === 1) {
      this.dropped.partition++;
      return undefined;
    }
    if (this.network.loss > 0 && this.#netRandom.chance(this.network.loss)) {
      this.dropped.loss++;
      return undefined;
    }
    return (
      this.network.delay_ms * this.#linkFactor[from * n + to]! +
      this.#netRandom.next() * this.network.jitter_ms
    );
  }

  // ---- faults ------------------------------------------------------------------------------

  start(index: number): void {
    const node = this.#nodes[index]!;
    if (node.status === 'up' || node.status === 'paused') return;
    const config = this.#nodeConfigs[index];
    if (config === undefined || this.#removed.has(index)) return;
    const self = node.numbering.members[index]!;
    // A server removed from the cluster does not start again (its agent refuses).
    if (self === -1) return;
    node.core = new MembershipNode(
      nodeOptionsFor(config, self, {
        random: this.#random.fork(index * 7919 + node.boots).next,
        incarnation: INCARNATION_BASE + Math.floor(this.now),
        packing: this.#options.packing,
      }),
    );
    node.boots++;
    node.status = 'up';
    node.inbox = [];
    node.wakeAt = Number.POSITIVE_INFINITY;
    node.controller = undefined;
    node.health = undefined;
    node.readiness = undefined;
    node.leaving = false;
    node.drained = false;
    if (this.#options.scripts) {
      const id = this.#universe[index]!;
      const strays = this.#maybeHeld[index]!;
      node.runner = new ScriptRunner({
        ...runnerOptionsFor(config, id),
        strays,
        permit: (system, item, now) =>
          node.controller !== undefined && node.core !== undefined
            ? node.controller.permitAlive(now, viewOf(node.core), system, item)
            : { kind: 'refuse' },
      });
      node.controller = new NodeController(
        { ...config, id },
        {
          first_notice_id: Math.floor(this.#random.fork(index * 104_729 + node.boots).next() * 2 ** 32),
          strays,
        },
      );
      node.controller.start(this.now);
      const own = config.systems.filter((system) => config.servers[self]!.systems.includes(system.name));
      node.health = new HealthMonitor(own, this.now);
      node.readiness = new ReadinessLink(config, self);
      // Before the first packet: our readiness rides on every message, the introductions too.
      node.readiness.announce(this.now, node.health, node.core, false);
    }
    node.core.start(this.now);
    this.#flush(node);
    this.#life(index, 'start');
  }

  /** The machine dies at once: no leave, nothing more sent or received, its addresses gone. */
  crash(index: number): void {
    this.kill(index);
    this.#nodes[index]!.host.clear();
  }

  /**
   * The process dies at once (SIGKILL): no leave, nothing more sent or received, no `down`. Its
   * host keeps the addresses the process configured, until a later run cleans them up.
   */
  kill(index: number): void {
    const node = this.#nodes[index]!;
    node.holding.clear();
    node.leaving = false;
    node.status = 'crashed';
    node.core = undefined;
    node.runner = undefined;
    node.controller = undefined;
    node.health = undefined;
    node.readiness = undefined;
    node.inbox = [];
    node.wakeAt = Number.POSITIVE_INFINITY;
    this.#life(index, 'stop');
  }

  /**
   * A graceful stop, as the agent's: the node announces its leave, its runner drains (`down` for
   * what it may hold, unless remove_on_failure is off), the release notices for those go out,
   * then it is gone; or, when the controller says so (LeaveOrder `drain_first`), it drains first
   * and announces its leave as it goes. Without scripts it is gone at once.
   */
  leave(index: number): void {
    const node = this.#nodes[index]!;
    if (node.status !== 'up' || !node.core || node.leaving) return;
    const order = node.controller?.leave() ?? 'announce_first';
    node.drainFirst = order === 'drain_first';
    if (!node.drainFirst || !node.runner) node.core.leave(this.now);
    if (node.runner && node.controller) {
      node.leaving = true;
      node.drained = false;
      node.runner.drain(this.now, { runDown: this.config.remove_on_failure });
      this.#flush(node);
      return;
    }
    this.#flush(node);
    this.#gone(node);
  }

  #gone(node: SimNode): void {
    node.status = 'left';
    node.leaving = false;
    node.core = undefined;
    node.holding.clear();
    node.runner = undefined;
    node.controller = undefined;
    node.health = undefined;
    node.readiness = undefined;
    node.wakeAt = Number.POSITIVE_INFINITY;
    this.#life(node.index, 'stop');
  }

  /** SIGKILL and an immediate restart, as by a supervisor: the host keeps what it had. */
  restart(index: number): void {
    this.kill(index);
    this.start(index);
  }

  /** The process stalls: no timers run, packets wait in its socket buffer. */
  pause(index: number): void {
    const node = this.#nodes[index]!;
    if (node.status !== 'up') return;
    node.status = 'paused';
    this.#life(index, 'pause');
  }

  resume(index: number): void {
    const node = this.#nodes[index]!;
    if (node.status !== 'paused' || !node.core) return;
    node.status = 'up';
    const inbox = node.inbox;
    node.inbox = [];
    // Like Node.js after a stall: due timers run first, then the buffered packets.
    node.wakeAt = Number.POSITIVE_INFINITY;
    node.core.tick(this.now);
    node.runner?.tick(this.now);
    this.#flush(node);
    this.#life(index, 'resume');
    for (const entry of inbox) {
      if (node.status !== 'up' || !node.core) break;
      if ('call' in entry) {
        entry.call();
        continue;
      }
      if ('script' in entry) {
        this.#noteFinished(node, entry.launch, entry.script);
        node.runner?.finished(this.now, entry.script);
      } else this.#receive(node, entry.from, entry.message, entry.roster);
      this.#flush(node);
    }
  }

  /** Cuts the cluster into groups: nodes in different groups cannot reach each other. */
  partition(groups: readonly (readonly number[])[]): void {
    const n = this.#nodes.length;
    const groupOf = new Int32Array(n).fill(-1);
    groups.forEach((group, g) => {
      for (const index of group) groupOf[index] = g;
    });
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) {
        if (from !== to && groupOf[from] !== groupOf[to]) this.#blocked[from * n + to] = 1;
      }
    }
    this.#anyBlocked = true;
  }

  /** Packets from any of `from` to any of `to` are dropped (one way only). */
  cutOneWay(from: readonly number[], to: readonly number[]): void {
    const n = this.#nodes.length;
    for (const a of from) for (const b of to) if (a !== b) this.#blocked[a * n + b] = 1;
    this.#anyBlocked = true;
  }

  /** Every node alone: nobody can reach anybody. */
  isolateAll(): void {
    this.partition(this.#nodes.map((node) => [node.index]));
  }

  heal(): void {
    this.#blocked.fill(0);
    this.#anyBlocked = false;
  }

  setLoss(loss: number): void {
    this.network.loss = loss;
  }

  // ---- observation -----------------------------------------------------------------------

  /**
   * Where a neighbour may send an item's traffic to a server whose host no longer has the item
   * (the `shard`/`hash`/`single` items only): the server let the item go and nobody announced it since,
   * though another host has it. (An item no host has is unreachable whatever the neighbour holds.)
   */
  staleNeighbours(): { system: string; item: string; server: number }[] {
    const out: { system: string; item: string; server: number }[] = [];
    for (const [key, reached] of this.#neighbour) {
      const [system, item] = key.split('\u0000') as [string, string];
      if (!this.#nodes.some((node) => this.#onHost(node, key))) continue;
      for (const server of reached)
        if (!this.#onHost(this.#nodes[server]!, key)) out.push({ system, item, server });
    }
    return out;
  }

  /** The servers whose host has `item` of `system` configured, whatever their process does. */
  hostsOf(system: string, item: string): number[] {
    const key = `${system}\u0000${item}`;
    return this.#nodes.filter((node) => this.#onHost(node, key)).map((node) => node.index);
  }

  /** Whether server `index` holds the lease that lets it keep and take leased items (the quorum) now. */
  hasQuorum(index: number): boolean {
    const node = this.#nodes[index]!;
    if (node.core === undefined || node.controller === undefined) return false;
    return node.controller.hasQuorum(this.now, viewOf(node.core, node.readiness));
  }

  status(index: number): NodeStatus {
    return this.#nodes[index]!.status;
  }

  /** Whether the node is leaving: its graceful stop is under way (its runner drains). */
  leaving(index: number): boolean {
    return this.#nodes[index]!.leaving;
  }

  /** The nodes whose process runs (up or paused). */
  running(): number[] {
    return this.#nodes
      .filter((node) => node.status === 'up' || node.status === 'paused')
      .map((node) => node.index);
  }

  core(index: number): MembershipNode | undefined {
    return this.#nodes[index]!.core;
  }

  runner(index: number): ScriptRunner | undefined {
    return this.#nodes[index]!.runner;
  }

  /** The node's controller, when the node is up and the simulation runs scripts. */
  controller(index: number): NodeController | undefined {
    return this.#nodes[index]!.controller;
  }

  /** Changes how simulated scripts behave from now on. */
  setScripts(model: ScriptModel): void {
    if (this.#options.scripts) Object.assign(this.#options.scripts, model);
  }

  /** The state of `member` in `observer`'s view. */
  stateIn(observer: number, member: number): MemberStateName | undefined {
    const node = this.#nodes[observer]!;
    const number = node.numbering.members[member]!;
    return number === -1 ? undefined : node.core?.member(number).state;
  }

  /** Server ids that `observer` treats as live (placement's input). */
  liveIdsIn(observer: number): Set<string> {
    const core = this.#nodes[observer]!.core;
    if (!core) return new Set();
    const nodes = this.#nodes[observer]!.numbering.nodes;
    return new Set(core.liveMembers().map((member) => this.#universe[nodes[member]!]!));
  }

  sentBy(index: number): { messages: number; bytes: number } {
    const node = this.#nodes[index]!;
    return { messages: node.sent_messages, bytes: node.sent_bytes };
  }

  /** Resets the per-node traffic counters (to measure a steady-state window). */
  resetTraffic(): void {
    for (const node of this.#nodes) {
      node.sent_messages = 0;
      node.sent_bytes = 0;
    }
  }
}

/** `config` with the items of the systems in `systems` replaced. */
function withSystems(config: FlipConfig, systems: ReadonlyMap<string, SystemConfig>): FlipConfig {
  return {
    ...config,
    systems: config.systems.map((system) => {
      const next = systems.get(system.name);
      return next === undefined ? system : withRuntimeFields(system, next);
    }),
  };
}
