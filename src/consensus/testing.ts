/**
 * A deterministic cluster of RaftNodes for tests: one seed drives message delay, loss,
 * duplication, partitions, crashes and restarts. The network is in memory; a node's disk is the
 * state of the last `persist` it carried out, kept across its crashes. Effects are carried out
 * in order, as an adapter must; a crash may strike in the middle of one call's effects, so that
 * a send placed before its persist would be caught by the checkers (checkers.ts), which run
 * after every step.
 */

import type { ConfigChange } from '../changes/index.js';
import { Random } from '../sim/random.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import { CLUSTER_STATE_CHECK, initialClusterState } from '../state/cluster-state.js';
import { RaftChecker } from './checkers.js';
import type { RaftMessage } from './messages.js';
import { type ProposeAnswer, RaftNode, type RaftView } from './raft-node.js';
import type { RaftTiming } from './timing.js';

/** Fast timing for simulated runs (ms). */
export const TEST_TIMING: RaftTiming = {
  heartbeat_ms: 50,
  election_timeout_ms_min: 150,
  election_timeout_ms_max: 300,
  proposal_timeout_ms: 1000,
};

export interface NetworkOptions {
  delay_ms_min: number;
  delay_ms_max: number;
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
}

export const CALM_NETWORK: NetworkOptions = { delay_ms_min: 1, delay_ms_max: 10, loss: 0, duplicate: 0 };

export interface TestClusterOptions {
  seed: number;
  /** Server ids; the base config lists them all. */
  servers: readonly string[];
  timing?: RaftTiming;
  network?: NetworkOptions;
  entries_kept?: number;
  /** The servers the base config lists (default: all of `servers`); the others join by a change. */
  members?: readonly string[];
  /** Check every persisted state against the store's schema (state/cluster-state.ts); slower. */
  check_stored?: boolean;
}

/** The base config of a test cluster: its servers, and one system `vip` with no data. */
export function testConfig(servers: readonly string[]): ConfigDocument {
  return {
    key: 'secret',
    servers: Object.fromEntries(
      servers.map((id, i) => [id, { ip: '127.0.0.1', port: 2200 + i, systems: ['vip'] }]),
    ),
    cluster: { system: { vip: { alive: 'up', down: 'down', type: 'single', data: [] } } },
  };
}

interface Host {
  node: RaftNode | undefined;
  disk: ClusterState;
  random: Random;
  /** Which side of a partition it is on. */
  side: number;
}

interface InFlight {
  at: number;
  seq: number;
  to: string;
  message: RaftMessage;
}

export class TestCluster {
  now = 0;
  readonly checker = new RaftChecker();
  readonly hosts = new Map<string, Host>();
  readonly base: ConfigDocument;
  network: NetworkOptions;
  readonly #random: Random;
  readonly #timing: RaftTiming;
  readonly #entries_kept: number | undefined;
  readonly #check_stored: boolean;
  #inflight: InFlight[] = [];
  #seq = 0;
  #boots = 0;
  /** Set by `crashDuringNextEffects`: the server to crash partway through its next effects. */
  #crash_next: string | undefined;
  /** How many messages were delivered, lost. */
  delivered = 0;
  lost = 0;
  /** Messages delivered, by kind. */
  readonly delivered_by_kind = new Map<RaftMessage['kind'], number>();

  constructor(options: TestClusterOptions) {
    this.#random = new Random(options.seed);
    this.#timing = options.timing ?? TEST_TIMING;
    this.#entries_kept = options.entries_kept;
    this.#check_stored = options.check_stored ?? false;
    this.network = options.network ?? CALM_NETWORK;
    this.base = testConfig(options.members ?? options.servers);
    for (const [i, id] of options.servers.entries()) {
      const host: Host = {
        node: undefined,
        disk: initialClusterState(id, this.base),
        random: this.#random.fork(i + 1),
        side: 0,
      };
      this.hosts.set(id, host);
      this.#boot(id, host);
    }
  }

  #boot(id: string, host: Host): void {
    this.#boots++;
    host.node = new RaftNode({
      self: id,
      base: this.base,
      stored: JSON.parse(JSON.stringify(host.disk)) as ClusterState,
      timing: this.#timing,
      random: host.random.next,
      now: this.now,
      entries_kept: this.#entries_kept,
      first_proposal_id: this.#boots * 1_000_000,
    });
    this.checker.onRestart(this.now, id, host.node.view().committed);
  }

  node(id: string): RaftNode | undefined {
    return this.hosts.get(id)?.node;
  }

  live(): string[] {
    return [...this.hosts].filter(([, host]) => host.node !== undefined).map(([id]) => id);
  }

  views(): RaftView[] {
    return this.live().map((id) => this.hosts.get(id)!.node!.view());
  }

  /** The live leaders, by id (more than one only across terms). */
  leaders(): string[] {
    return this.views()
      .filter((view) => view.role === 'leader')
      .map((view) => view.self);
  }

  crash(id: string): void {
    const host = this.hosts.get(id)!;
    host.node = undefined;
  }

  /** Crashes `id` partway through the effects of its next call (a random number of them carried out). */
  crashDuringNextEffects(id: string): void {
    this.#crash_next = id;
  }

  restart(id: string): void {
    const host = this.hosts.get(id)!;
    if (host.node === undefined) this.#boot(id, host);
  }

  /** Splits the servers: each list is one side; servers not listed are on side 0. */
  partition(sides: readonly (readonly string[])[]): void {
    for (const host of this.hosts.values()) host.side = 0;
    sides.forEach((ids, i) => {
      for (const id of ids) this.hosts.get(id)!.side = i + 1;
    });
  }

  heal(): void {
    for (const host of this.hosts.values()) host.side = 0;
  }

  /** Ends the chaos: no partition, no pending crash, every server running, no loss or duplication. */
  calm(): void {
    this.heal();
    this.#crash_next = undefined;
    for (const id of this.hosts.keys()) this.restart(id);
    this.network = { ...this.network, loss: 0, duplicate: 0 };
  }

  /** A client's proposal at `at`, forwarded once to the leader it names. */
  propose(at: string, change: ConfigChange): { server: string; answer: ProposeAnswer } {
    // The proposal is registered before its effects are carried out: a one-server cluster
    // reports it committed in the same call.
    const ask = (server: string) =>
      this.#call(server, (node) => {
        const answer = node.propose(this.now, change);
        if (answer.kind === 'proposed') this.checker.proposals.set(`${server}/${answer.id}`, change);
        return answer;
      });
    let server = at;
    let answer = ask(server);
    if (answer?.kind === 'not_leader' && answer.leader !== null && this.hosts.get(answer.leader)?.node) {
      server = answer.leader;
      answer = ask(server);
    }
    this.#check();
    if (answer === undefined) return { server, answer: { kind: 'not_leader', leader: null } };
    return { server, answer };
  }

  /** Runs `call` on a live node and carries out its effects. */
  #call<T>(id: string, call: (node: RaftNode) => T): T | undefined {
    const host = this.hosts.get(id)!;
    if (host.node === undefined) return undefined;
    const result = call(host.node);
    this.#carryOut(id, host);
    return result;
  }

  #carryOut(id: string, host: Host): void {
    const node = host.node!;
    const effects = node.takeEffects();
    let stop = effects.length;
    if (this.#crash_next === id) {
      stop = this.#random.int(effects.length + 1);
      this.#crash_next = undefined;
    }
    for (const effect of effects.slice(0, stop)) {
      switch (effect.kind) {
        case 'persist': {
          host.disk = JSON.parse(JSON.stringify(effect.state)) as ClusterState;
          const check = this.#check_stored ? CLUSTER_STATE_CHECK(host.disk) : undefined;
          if (check !== undefined && !check.ok)
            throw new Error(`${id} persisted a state the store refuses: ${check.problem}`);
          break;
        }
        case 'send':
          this.#transmit(id, effect.to, effect.message);
          break;
        case 'applied':
          this.checker.onApplied(this.now, id, effect);
          break;
        case 'proposal':
          this.checker.onOutcome(this.now, id, effect.id, effect.outcome);
          break;
      }
    }
    if (stop < effects.length) this.crash(id);
  }

  #transmit(from: string, to: string, message: RaftMessage): void {
    const sender = this.hosts.get(from)!;
    const receiver = this.hosts.get(to);
    if (receiver === undefined || receiver.side !== sender.side) {
      this.lost++;
      return;
    }
    const copies = this.#random.chance(this.network.loss)
      ? 0
      : this.#random.chance(this.network.duplicate)
        ? 2
        : 1;
    if (copies === 0) this.lost++;
    for (let c = 0; c < copies; c++) {
      const delay = this.#random.between(this.network.delay_ms_min, this.network.delay_ms_max);
      this.#inflight.push({ at: this.now + delay, seq: this.#seq++, to, message: structuredClone(message) });
    }
  }

  /** The time of the next event (a delivery or a node's wake). */
  #nextEventAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const m of this.#inflight) at = Math.min(at, m.at);
    for (const host of this.hosts.values()) if (host.node) at = Math.min(at, host.node.nextWakeAt());
    return at;
  }

  /** Runs events until `until` (ms), checking the invariants after each one. */
  runUntil(until: number): void {
    for (let steps = 0; steps < 1_000_000; steps++) {
      const at = this.#nextEventAt();
      if (at > until) {
        this.now = until;
        return;
      }
      this.now = Math.max(this.now, at);
      this.#step();
    }
    throw new Error('runUntil: more than 1 000 000 steps');
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  #step(): void {
    let first: InFlight | undefined;
    for (const m of this.#inflight)
      if (
        m.at <= this.now &&
        (first === undefined || m.at < first.at || (m.at === first.at && m.seq < first.seq))
      )
        first = m;
    if (first !== undefined) {
      this.#inflight.splice(this.#inflight.indexOf(first), 1);
      const host = this.hosts.get(first.to)!;
      // A message to a server that crashed, or across a partition made since it was sent, is lost.
      const from = this.hosts.get(first.message.from);
      if (host.node === undefined || from === undefined || from.side !== host.side) this.lost++;
      else {
        this.delivered++;
        const kind = first.message.kind;
        this.delivered_by_kind.set(kind, (this.delivered_by_kind.get(kind) ?? 0) + 1);
        const message = first.message;
        this.#call(first.to, (node) => node.receive(this.now, message));
      }
    } else {
      for (const [id, host] of this.hosts)
        if (host.node !== undefined && host.node.nextWakeAt() <= this.now)
          this.#call(id, (node) => node.tick(this.now));
    }
    this.#check();
  }

  #check(): void {
    this.checker.check(this.now, this.views());
  }

  /** The highest committed version among live servers, and whether they all reached it. */
  agreement(ids: readonly string[] = this.live()): { version: number; agreed: boolean } {
    const versions = ids.map((id) => this.hosts.get(id)!.node!.view().committed.version);
    const version = Math.max(0, ...versions);
    return { version, agreed: versions.every((v) => v === version) };
  }
}
