/**
 * A cluster of ConfigReplicas driven as the agent drives one (agent/replica-driver.ts), in
 * virtual time, for figures rather than for chaos: each server carries out its replica's effects
 * in order, and a `persist` holds up every effect after it until the save is done, for a seeded
 * time that models StateFile's write, fsync, rename and directory fsync. The replica keeps taking
 * messages and ticks meanwhile; their effects queue behind the save, as they do in the agent. The
 * network is a seeded LAN: each link has a fixed base delay, each message a random jitter, and
 * may be lost.
 *
 * Unlike testing.ts (SeededCluster), nothing crashes, nothing is partitioned, and no checker runs
 * after every step; events come from a heap (sim/event-queue.ts), so that 100 servers run in
 * seconds. What the replicas report (`applied`, `answer`) goes to the caller's hooks.
 */
import { testConfig } from '../consensus/testing.js';
import type { RaftTiming } from '../consensus/timing.js';
import { EventQueue } from '../sim/event-queue.js';
import { Random } from '../sim/random.js';
import { startFrom } from '../state/start-from.js';
import type { ChangeAnswer } from './answer.js';
import { ConfigReplica, type ReplicaEffect } from './config-replica.js';
import type { ReplicaMessage } from './messages.js';

export interface LinkOptions {
  /** Each link's fixed one-way delay is drawn once, uniform in [delay_ms_min, delay_ms_max). */
  delay_ms_min: number;
  delay_ms_max: number;
  /** Extra delay per message, uniform in [0, jitter_ms). */
  jitter_ms: number;
  /** Probability that a message is lost. */
  loss: number;
}

/**
 * A switched LAN, 0.2 to 1 ms one way: the membership simulator's LAN preset (sim/simulation.ts,
 * 0.1 to 0.3 ms per link plus up to 0.3 ms of jitter) with links twice as slow at most, since a
 * replica message (an append with its entries) is larger than a gossip packet.
 */
export const LAN_LINKS: LinkOptions = { delay_ms_min: 0.2, delay_ms_max: 0.7, jitter_ms: 0.3, loss: 0 };

export interface DiskOptions {
  /** How long one save (StateFile: write, fsync, rename, fsync the directory) takes, uniform (ms). */
  save_ms_min: number;
  save_ms_max: number;
}

/**
 * 1 to 5 ms a save: `npm run bench:state` measures a p50 of 0.9 to 1.5 ms and a p99 of about 4 ms
 * for states of 3 to 100 servers on the project's VM, whose host may acknowledge a flush from its
 * cache; an SSD without a volatile write cache takes a few ms per pair of fsyncs.
 */
export const SSD_DISK: DiskOptions = { save_ms_min: 1, save_ms_max: 5 };

export interface TimedClusterOptions {
  seed: number;
  /** Server ids, all listed by the config file every server starts from. */
  servers: readonly string[];
  timing: RaftTiming;
  links: LinkOptions;
  disk: DiskOptions;
  /** A server reported a committed version (its `applied` effect, carried out). */
  onApplied?: (server: string, effect: Extract<ReplicaEffect, { kind: 'applied' }>, now: number) => void;
  /** A server answered one of its requests (its `answer` effect, carried out). */
  onAnswer?: (server: string, request: number, answer: ChangeAnswer, now: number) => void;
}

type Event =
  | { kind: 'deliver'; to: number; message: ReplicaMessage }
  | { kind: 'wake'; server: number }
  | { kind: 'saved'; server: number };

interface Server {
  id: string;
  replica: ConfigReplica;
  /** Effects taken from the replica and not carried out yet, in order. */
  queue: ReplicaEffect[];
  /** Whether a save is being written: nothing after it in `queue` is carried out until it is done. */
  saving: boolean;
  /** The time of the wake event that counts (earlier ones pushed for other times are stale). */
  wake_at: number;
}

/** The most events one run may carry out: a bound on a run that would never end. */
const EVENTS_MAX = 50_000_000;

export class TimedReplicaCluster {
  now = 0;
  /** Messages sent (before loss), lost, and sent by kind. */
  sent = 0;
  lost = 0;
  readonly sent_by_kind = new Map<ReplicaMessage['kind'], number>();
  /** Saves carried out. */
  saves = 0;
  readonly #servers: Server[];
  readonly #index = new Map<string, number>();
  readonly #events = new EventQueue<Event>();
  readonly #options: TimedClusterOptions;
  readonly #net: Random;
  readonly #disk: Random;
  /** One-way base delay of each link, from * n + to (ms). */
  readonly #link_ms: Float64Array;
  /** Messages sent and not delivered or lost yet. */
  #in_flight = 0;
  #events_run = 0;

  constructor(options: TimedClusterOptions) {
    this.#options = options;
    const random = new Random(options.seed);
    this.#net = random.fork(1_000_001);
    this.#disk = random.fork(1_000_002);
    const n = options.servers.length;
    this.#link_ms = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++)
      this.#link_ms[i] = this.#net.between(options.links.delay_ms_min, options.links.delay_ms_max);
    const file = testConfig(options.servers);
    this.#servers = options.servers.map((id, i) => {
      this.#index.set(id, i);
      const start = startFrom({
        server: id,
        file: { ...file, id },
        stored: { kind: 'missing', path: `${id}/cluster-state`, temp_removed: false },
      });
      if (start.kind === 'refuse') throw new Error(`${id} cannot start: ${start.message}`);
      const replica = new ConfigReplica({
        self: id,
        start,
        timing: options.timing,
        random: random.fork(i + 1).next,
        now: 0,
      });
      return { id, replica, queue: [], saving: false, wake_at: Number.POSITIVE_INFINITY };
    });
    for (let i = 0; i < n; i++) this.#after(i);
  }

  get ids(): string[] {
    return this.#servers.map((server) => server.id);
  }

  replica(id: string): ConfigReplica {
    return this.#server(id).replica;
  }

  /** Whether no message is in flight and no server has a save or effects waiting. */
  get quiet(): boolean {
    return (
      this.#in_flight === 0 && this.#servers.every((server) => server.queue.length === 0 && !server.saving)
    );
  }

  /** A client asks `server` for `change` (any JSON); the request's id there. */
  propose(server: string, change: unknown): number {
    const i = this.#index.get(server);
    if (i === undefined) throw new Error(`no server ${server}`);
    const request = this.#servers[i]!.replica.propose(this.now, change);
    this.#after(i);
    return request;
  }

  /** Runs events up to `until` (ms). */
  runUntil(until: number): void {
    while (this.#events.peekTime() <= until) this.#step();
    this.now = Math.max(this.now, until);
  }

  /**
   * Runs events until `done()` holds (checked after each event) or the time passes `until`;
   * whether `done()` held.
   */
  runUntilTrue(done: () => boolean, until: number): boolean {
    if (done()) return true;
    while (this.#events.peekTime() <= until) {
      this.#step();
      if (done()) return true;
    }
    this.now = Math.max(this.now, until);
    return false;
  }

  #server(id: string): Server {
    const i = this.#index.get(id);
    if (i === undefined) throw new Error(`no server ${id}`);
    return this.#servers[i]!;
  }

  #step(): void {
    if (++this.#events_run > EVENTS_MAX) throw new Error(`more than ${EVENTS_MAX} events`);
    const event = this.#events.pop()!;
    this.now = Math.max(this.now, this.#events.lastTime);
    switch (event.kind) {
      case 'deliver': {
        this.#in_flight--;
        this.#servers[event.to]!.replica.receive(this.now, event.message);
        this.#after(event.to);
        return;
      }
      case 'wake': {
        const server = this.#servers[event.server]!;
        // A wake pushed for a time the replica no longer asks for is stale.
        if (this.#events.lastTime !== server.wake_at) return;
        server.wake_at = Number.POSITIVE_INFINITY;
        server.replica.tick(this.now);
        this.#after(event.server);
        return;
      }
      case 'saved': {
        this.#servers[event.server]!.saving = false;
        this.#carryOut(event.server);
        return;
      }
    }
  }

  /** After a call on server `i`: queue its effects, carry out what it can, and set its timer. */
  #after(i: number): void {
    const server = this.#servers[i]!;
    for (const effect of server.replica.takeEffects()) server.queue.push(effect);
    this.#carryOut(i);
    const at = Math.max(this.now, server.replica.nextWakeAt());
    if (at !== server.wake_at && Number.isFinite(at)) {
      server.wake_at = at;
      this.#events.push(at, { kind: 'wake', server: i });
    } else if (!Number.isFinite(at)) server.wake_at = Number.POSITIVE_INFINITY;
  }

  /** Carries out server `i`'s effects in order, up to the first save (which resumes it when done). */
  #carryOut(i: number): void {
    const server = this.#servers[i]!;
    let next = 0;
    for (; next < server.queue.length && !server.saving; next++) {
      const effect = server.queue[next]!;
      switch (effect.kind) {
        case 'persist': {
          server.saving = true;
          this.saves++;
          const { save_ms_min, save_ms_max } = this.#options.disk;
          this.#events.push(this.now + this.#disk.between(save_ms_min, save_ms_max), {
            kind: 'saved',
            server: i,
          });
          break;
        }
        case 'send':
          this.#transmit(i, effect.to, effect.message);
          break;
        case 'applied':
          this.#options.onApplied?.(server.id, effect, this.now);
          break;
        case 'answer':
          this.#options.onAnswer?.(server.id, effect.request, effect.answer, this.now);
          break;
      }
    }
    if (next > 0) server.queue.splice(0, next);
  }

  #transmit(from: number, to: string, message: ReplicaMessage): void {
    const j = this.#index.get(to);
    this.sent++;
    this.sent_by_kind.set(message.kind, (this.sent_by_kind.get(message.kind) ?? 0) + 1);
    if (j === undefined || this.#net.chance(this.#options.links.loss)) {
      this.lost++;
      return;
    }
    const n = this.#servers.length;
    const delay = this.#link_ms[from * n + j]! + this.#net.next() * this.#options.links.jitter_ms;
    this.#in_flight++;
    // A copy, as the wire would make: no two replicas share an object.
    this.#events.push(this.now + delay, { kind: 'deliver', to: j, message: structuredClone(message) });
  }
}
