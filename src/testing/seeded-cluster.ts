/**
 * A deterministic in-memory cluster of pure nodes (the consensus's RaftNode, the ConfigReplica
 * around it) for tests, the soak and later the simulator: one seed drives message delay, loss,
 * duplication, partitions, crashes and restarts. A node's disk is the state of the last `persist`
 * it carried out, kept across its crashes. Effects are carried out in order, as an adapter must;
 * a crash may strike in the middle of one call's effects (the later ones never carried out), so
 * that a send placed before the persist it depends on is caught by the checkers, which a subclass
 * runs after every step.
 *
 * A subclass says how to boot a node from its disk, what a fresh disk is, what to do with the
 * effects other than `persist` and `send`, and what to check.
 */
import { Random } from '../sim/random.js';

/** A node that takes the time in every call and hands back what to do (RaftNode's style). */
export interface SteppedNode<M, E> {
  receive(now: number, message: M): void;
  tick(now: number): void;
  nextWakeAt(): number;
  takeEffects(): E[];
}

/** The effects the cluster carries out itself: saving to the node's disk, and sending. */
export interface PersistEffect<D> {
  kind: 'persist';
  state: D;
}
export interface SendEffect<M> {
  kind: 'send';
  to: string;
  message: M;
}

export interface NetworkOptions {
  delay_ms_min: number;
  delay_ms_max: number;
  /** Probability that a message is lost. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
}

export const CALM_NETWORK: NetworkOptions = { delay_ms_min: 1, delay_ms_max: 10, loss: 0, duplicate: 0 };

export interface Host<N, D> {
  node: N | undefined;
  disk: D;
  random: Random;
  /** Which side of a partition it is on. */
  side: number;
}

interface InFlight<M> {
  at: number;
  seq: number;
  from: string;
  to: string;
  message: M;
}

/** The most events one runUntil may carry out: a bound on a run that would never end. */
const STEPS_MAX = 1_000_000;

export abstract class SeededCluster<
  N extends SteppedNode<M, E>,
  M extends { kind: string },
  E extends { kind: string },
  D,
> {
  now = 0;
  readonly hosts = new Map<string, Host<N, D>>();
  network: NetworkOptions;
  /** How many messages were delivered, lost. */
  delivered = 0;
  lost = 0;
  /** Messages delivered, by kind. */
  readonly delivered_by_kind = new Map<M['kind'], number>();
  protected readonly random: Random;
  #inflight: InFlight<M>[] = [];
  #seq = 0;
  #boots = 0;
  /** Set by `crashDuringNextEffects`: the server to crash partway through its next effects. */
  #crash_next: string | undefined;
  readonly #servers: readonly string[];

  /** The subclass calls `bootAll` at the end of its constructor, once its own fields are set. */
  protected constructor(options: { seed: number; servers: readonly string[]; network?: NetworkOptions }) {
    this.random = new Random(options.seed);
    this.network = options.network ?? CALM_NETWORK;
    this.#servers = options.servers;
  }

  /** A node of server `id` started from `disk` (a copy); `boots` counts every boot of the cluster. */
  protected abstract bootNode(id: string, disk: D, random: () => number, boots: number): N;
  /** The disk of a server that never stored anything. */
  protected abstract initialDisk(id: string): D;
  /** An effect other than persist and send, carried out (in order) by server `id`. */
  protected abstract carry(id: string, effect: E): void;
  /** The invariants, after every step and every call from outside. */
  protected abstract checkNow(): void;
  /** Told of every persist carried out (a subclass may check the state). */
  protected persisted(_id: string, _state: D): void {}

  protected bootAll(): void {
    for (const [i, id] of this.#servers.entries()) {
      const host: Host<N, D> = {
        node: undefined,
        disk: this.initialDisk(id),
        random: this.random.fork(i + 1),
        side: 0,
      };
      this.hosts.set(id, host);
      this.#boot(id, host);
    }
  }

  #boot(id: string, host: Host<N, D>): void {
    this.#boots++;
    host.node = this.bootNode(id, structuredClone(host.disk), host.random.next, this.#boots);
  }

  node(id: string): N | undefined {
    return this.hosts.get(id)?.node;
  }

  live(): string[] {
    return [...this.hosts].filter(([, host]) => host.node !== undefined).map(([id]) => id);
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

  /** Whether `a` and `b` are on the same side of the partition (if any). */
  connected(a: string, b: string): boolean {
    return this.hosts.get(a)?.side === this.hosts.get(b)?.side;
  }

  /** Ends the chaos: no partition, no pending crash, every server running, no loss or duplication. */
  calm(): void {
    this.heal();
    this.#crash_next = undefined;
    for (const id of this.hosts.keys()) this.restart(id);
    this.network = { ...this.network, loss: 0, duplicate: 0 };
  }

  /** Runs `call` on a live node and carries out its effects; undefined when the server is down. */
  protected call<T>(id: string, call: (node: N) => T): T | undefined {
    const host = this.hosts.get(id)!;
    if (host.node === undefined) return undefined;
    const result = call(host.node);
    this.#carryOut(id, host);
    return result;
  }

  #carryOut(id: string, host: Host<N, D>): void {
    const effects = host.node!.takeEffects();
    let stop = effects.length;
    if (this.#crash_next === id) {
      stop = this.random.int(effects.length + 1);
      this.#crash_next = undefined;
    }
    for (const effect of effects.slice(0, stop)) {
      // E is the node's effect union, which holds persist and send effects of these shapes.
      if (effect.kind === 'persist') {
        host.disk = structuredClone((effect as unknown as PersistEffect<D>).state);
        this.persisted(id, host.disk);
      } else if (effect.kind === 'send') {
        const send = effect as unknown as SendEffect<M>;
        this.#transmit(id, send.to, send.message);
      } else this.carry(id, effect);
    }
    if (stop < effects.length) this.crash(id);
  }

  #transmit(from: string, to: string, message: M): void {
    const sender = this.hosts.get(from)!;
    const receiver = this.hosts.get(to);
    if (receiver === undefined || receiver.side !== sender.side) {
      this.lost++;
      return;
    }
    const copies = this.random.chance(this.network.loss)
      ? 0
      : this.random.chance(this.network.duplicate)
        ? 2
        : 1;
    if (copies === 0) this.lost++;
    for (let c = 0; c < copies; c++) {
      const delay = this.random.between(this.network.delay_ms_min, this.network.delay_ms_max);
      this.#inflight.push({
        at: this.now + delay,
        seq: this.#seq++,
        from,
        to,
        message: structuredClone(message),
      });
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
    for (let steps = 0; steps < STEPS_MAX; steps++) {
      const at = this.#nextEventAt();
      if (at > until) {
        this.now = until;
        return;
      }
      this.now = Math.max(this.now, at);
      this.#step();
    }
    throw new Error(`runUntil: more than ${STEPS_MAX} steps`);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  #step(): void {
    let first: InFlight<M> | undefined;
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
      const from = this.hosts.get(first.from);
      if (host.node === undefined || from === undefined || from.side !== host.side) this.lost++;
      else {
        this.delivered++;
        const kind = first.message.kind as M['kind'];
        this.delivered_by_kind.set(kind, (this.delivered_by_kind.get(kind) ?? 0) + 1);
        const message = first.message;
        this.call(first.to, (node) => node.receive(this.now, message));
      }
    } else {
      for (const [id, host] of this.hosts)
        if (host.node !== undefined && host.node.nextWakeAt() <= this.now)
          this.call(id, (node) => node.tick(this.now));
    }
    this.checkNow();
  }
}
