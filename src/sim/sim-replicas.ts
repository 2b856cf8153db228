/**
 * The config replicas (issue 12) on the simulated servers: each node of a Simulation runs the
 * same ConfigReplica the agent runs, with its messages carried by the simulation's network (the
 * same partitions, loss and delay as the protocol's), its state kept on a simulated disk across
 * crashes and restarts, and every committed version applied to the node at the moment its replica
 * reports it, as the agent applies it (runtimeChange, then Simulation.setSystems). So one run
 * proves consensus and ownership together: changes asked at random servers, committed through
 * faults, and applied by each server at its own moment, break-before-make.
 *
 * Checked as it runs (ReplicaChecker, RaftChecker): no two servers apply different configs for
 * one version, versions apply in order, and no change answered committed is lost.
 */

import { objectOr } from '../changes/document.js';
import type { ConfigChange } from '../changes/index.js';
import { parseConfig } from '../config/index.js';
import { RaftChecker } from '../consensus/checkers.js';
import { DEFAULT_RAFT_TIMING, type RaftTiming } from '../consensus/timing.js';
import { CommittedVersions, DEPARTURE_CHECK_MS } from '../node/committed-versions.js';
import type { ChangeAnswer } from '../replica/answer.js';
import { ReplicaChecker } from '../replica/checkers.js';
import { ConfigReplica, type ReplicaEffect, requestTimeoutMs } from '../replica/config-replica.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import { startFrom } from '../state/start-from.js';
import type { Random } from './random.js';
import type { LifeEvent, Simulation } from './simulation.js';

export class SimReplicas {
  readonly raft = new RaftChecker();
  readonly checker: ReplicaChecker;
  readonly #sim: Simulation;
  /** The config file every server starts from (each one's copy names itself in `id`). */
  readonly #file: ConfigDocument;
  /** A joined spare's own file: the committed config its join fetched (see join). */
  readonly #files = new Map<number, ConfigDocument>();
  /** Each running node's committed versions not taken yet. */
  readonly #versions: CommittedVersions[];
  readonly #timing: RaftTiming;
  readonly #random: Random;
  readonly #ids: string[];
  /** Each node's running replica, while its process runs. */
  readonly #replicas: (ConfigReplica | undefined)[];
  /** Each node's disk: its stored cluster state, or null before its first save. */
  readonly #disks: (ClusterState | null)[];
  /** Each node's life (boot) count, and the wake-up scheduled for its replica. */
  readonly #lives: number[];
  readonly #wakeAt: number[];
  /** When each node was last paused. */
  readonly #pausedAt: number[];
  /** Answers given so far, by kind (figures). */
  readonly answers = new Map<ChangeAnswer['kind'], number>();
  /** Versions applied at a node that a running agent could not take without a restart. */
  readonly needed_restart: string[] = [];

  constructor(
    sim: Simulation,
    file: ConfigDocument,
    random: Random,
    timing: RaftTiming = DEFAULT_RAFT_TIMING,
  ) {
    this.#sim = sim;
    this.#file = file;
    this.#timing = timing;
    this.#random = random;
    this.#ids = sim.config.servers.map((server) => server.id);
    const n = this.#ids.length;
    this.#replicas = new Array(n).fill(undefined);
    this.#versions = Array.from({ length: n }, () => new CommittedVersions());
    this.#disks = new Array(n).fill(null);
    this.#lives = new Array(n).fill(0);
    this.#wakeAt = new Array(n).fill(Number.POSITIVE_INFINITY);
    this.#pausedAt = new Array(n).fill(0);
    this.checker = new ReplicaChecker(requestTimeoutMs(timing));
    sim.onLife((index, event) => this.#onLife(index, event));
  }

  /** Node `index`'s committed version and config, while it runs. */
  committed(index: number): { version: number; config: ConfigDocument } | undefined {
    return this.#replicas[index]?.committed;
  }

  /**
   * The server sets whose majorities the consensus may need, by node index: the newest config in
   * each running node's log and on each stopped node's disk (committed or not: a server added
   * counts in majorities at once), and the newest committed config.
   */
  voterSets(): Set<number>[] {
    const sets: Set<number>[] = [];
    const of = (ids: Iterable<string>) =>
      new Set([...ids].map((id) => this.#ids.indexOf(id)).filter((index) => index !== -1));
    for (const replica of this.#replicas) if (replica) sets.push(of(replica.raftView().members));
    for (const disk of this.#disks) {
      if (disk === null) continue;
      const members = new Set(Object.keys(objectOr(disk.committed?.config.servers)));
      for (const entry of disk.log) {
        const change = objectOr(entry.change);
        if (change.kind === 'server_add') members.add(String(change.id));
        if (change.kind === 'server_rm') members.delete(String(change.id));
      }
      sets.push(of(members));
    }
    const newest = this.newest();
    if (newest !== undefined) sets.push(of(Object.keys(objectOr(newest.config.servers))));
    return sets;
  }

  /** The newest committed version anywhere: a running node's, or one on a stopped node's disk. */
  newest(): { version: number; config: ConfigDocument } | undefined {
    let newest: { version: number; config: ConfigDocument } | undefined;
    const consider = (committed: { version: number; config: ConfigDocument } | null | undefined) => {
      if (committed && (newest === undefined || committed.version > newest.version)) newest = committed;
    };
    for (const replica of this.#replicas) consider(replica?.committed);
    for (const disk of this.#disks) consider(disk?.committed);
    return newest;
  }

  /** How many committed versions node `index` has yet to take (node/committed-versions.ts). */
  versionsWaiting(index: number): number {
    return this.#versions[index]!.size;
  }

  /** The highest committed version of the running nodes, and whether they all have it. */
  agreement(): { version: number; agreed: boolean } {
    const versions = this.#replicas.flatMap((replica) =>
      replica === undefined ? [] : [replica.committed.version],
    );
    const version = Math.max(0, ...versions);
    return { version, agreed: versions.every((v) => v === version) };
  }

  /**
   * Whether the running nodes agree on the last version, none has a request waiting, and each up
   * node took every version it committed (none waits for a departure).
   */
  settled(): boolean {
    return (
      this.agreement().agreed &&
      this.#replicas.every(
        (replica, index) =>
          replica === undefined ||
          (replica.waiting === 0 && (this.#sim.status(index) !== 'up' || this.#versions[index]!.size === 0)),
      )
    );
  }

  /**
   * Whether no running node holds an entry past its commit point. One may still commit long after
   * its request was answered `timeout` (a leader commits an entry of an earlier term with the
   * first of its own), or never (its majority is down): the scenario waits for this a while, so
   * that the checkers judge by the version the servers end on, but does not insist.
   */
  drained(): boolean {
    return this.#replicas.every((replica) => {
      if (replica === undefined) return true;
      const view = replica.raftView();
      return view.log.every((entry) => entry.index <= view.commit_index);
    });
  }

  /**
   * A client asks node `index` for `change`: its request id there, or undefined when the node
   * does not run (the client's connection fails).
   */
  propose(index: number, change: ConfigChange): number | undefined {
    const replica = this.#replicas[index];
    if (replica === undefined || this.#sim.status(index) !== 'up') return undefined;
    const now = this.#sim.now;
    const request = replica.propose(now, change);
    this.checker.onRequest({
      server: this.#ids[index]!,
      request,
      change,
      at: now,
      life: this.#lives[index]!,
      minority: false,
      partition_epoch: 0,
    });
    this.#carryOut(index);
    return request;
  }

  #onLife(index: number, event: LifeEvent): void {
    if (event === 'stop') {
      this.#replicas[index] = undefined;
      this.#wakeAt[index] = Number.POSITIVE_INFINITY;
      // The next start is from the newest committed config on its disk, as the agent's.
      const committed = this.#disks[index]?.committed;
      const id = this.#ids[index]!;
      if (committed && Object.hasOwn(objectOr(committed.config.servers), id))
        this.#sim.setStartConfig(
          index,
          parseConfig(
            JSON.stringify({ ...committed.config, id }),
            `${id}'s stored version ${committed.version}`,
          ),
        );
      return;
    }
    if (event === 'pause') {
      this.#pausedAt[index] = this.#sim.now;
      return;
    }
    if (event === 'resume') {
      // A frozen process answers nothing: the bound on its answers counts its running time, so
      // its requests waiting for an answer are taken as made the pause's length later.
      const paused = this.#sim.now - this.#pausedAt[index]!;
      const id = this.#ids[index]!;
      for (const record of this.checker.requests.values())
        if (record.server === id && record.answer === undefined && record.life === this.#lives[index])
          record.at += paused;
      // Due timers run first, as after a stall.
      this.#tick(index);
      return;
    }
    const id = this.#ids[index]!;
    const disk = this.#disks[index]!;
    const start = startFrom({
      server: id,
      file: { ...(this.#files.get(index) ?? this.#file), id },
      stored:
        disk === null
          ? { kind: 'missing', path: `${id}/cluster-state`, temp_removed: false }
          : { kind: 'ok', doc: disk, path: `${id}/cluster-state`, temp_removed: false },
    });
    if (start.kind === 'refuse') throw new Error(`${id} cannot start its replica: ${start.message}`);
    const life = ++this.#lives[index]!;
    const replica = new ConfigReplica({
      self: id,
      start,
      timing: this.#timing,
      random: this.#random.fork(index * 65_537 + life).next,
      now: this.#sim.now,
      first_request_id: life * 1_000_000,
    });
    this.#replicas[index] = replica;
    this.#versions[index] = new CommittedVersions();
    this.raft.onRestart(this.#sim.now, id, replica.raftView().committed);
    this.checker.onStart(this.#sim.now, id, replica.committed.version);
    this.#carryOut(index);
  }

  #tick(index: number): void {
    const replica = this.#replicas[index];
    if (replica === undefined || this.#sim.status(index) !== 'up') return;
    if (replica.nextWakeAt() <= this.#sim.now) replica.tick(this.#sim.now);
    this.#carryOut(index);
  }

  /** Carries out the replica's effects, in order, then schedules its next wake-up. */
  #carryOut(index: number): void {
    const replica = this.#replicas[index];
    if (replica === undefined) return;
    for (const effect of replica.takeEffects()) this.#effect(index, effect);
    const at = replica.nextWakeAt();
    if (at < this.#wakeAt[index]! || this.#wakeAt[index]! <= this.#sim.now) {
      this.#wakeAt[index] = at;
      if (Number.isFinite(at))
        this.#sim.at(at, () => {
          if (this.#replicas[index] !== replica || this.#wakeAt[index] !== at) return;
          this.#wakeAt[index] = Number.POSITIVE_INFINITY;
          this.#tick(index);
        });
    }
  }

  /**
   * Node `index` takes the committed versions waiting (node/committed-versions.ts), as the agent
   * does: a server list that drops a server still holding items waits for it, and is looked at
   * again DEPARTURE_CHECK_MS later; a paused node takes them once it runs again.
   */
  #takeVersions(index: number): void {
    const replica = this.#replicas[index];
    const versions = this.#versions[index]!;
    const retry = (after: number) =>
      this.#sim.at(this.#sim.now + after, () => {
        if (this.#replicas[index] === replica) this.#takeVersions(index);
      });
    for (;;) {
      const core = this.#sim.core(index);
      if (core === undefined || this.#sim.leaving(index)) return;
      if (this.#sim.status(index) === 'paused') {
        if (versions.size > 0) retry(DEPARTURE_CHECK_MS);
        return;
      }
      const next = versions.next(this.#sim.now, this.#sim.nodeConfig(index), core, this.#sim.hostOf(index));
      if (next === undefined) return;
      if (next.kind === 'wait') {
        retry(DEPARTURE_CHECK_MS);
        return;
      }
      if (next.kind === 'retire') {
        this.#sim.setSystems(index, next.change.systems);
        continue;
      }
      const { change, config, version } = next;
      if (change.kind === 'systems') this.#sim.setSystems(index, change.systems);
      else if (change.kind === 'lists') this.#sim.setServers(index, config, change.systems);
      else if (change.kind === 'restart')
        this.needed_restart.push(`${this.#ids[index]} version ${version}: ${change.fields.join(', ')}`);
    }
  }

  /**
   * A spare server that a committed `server add` lists joins, as `flip agent --join` through a
   * running node `via`: it starts from the committed config that node has (with its own id).
   * False when `via` does not run or its config does not list the spare yet.
   */
  join(index: number, via: number): boolean {
    const committed = this.committed(via);
    const id = this.#ids[index]!;
    if (committed === undefined || !Object.hasOwn(objectOr(committed.config.servers), id)) return false;
    const file = { ...committed.config, id };
    this.#files.set(index, file);
    this.#sim.join(index, parseConfig(JSON.stringify(file), `${id}'s joined config`));
    return true;
  }

  #effect(index: number, effect: ReplicaEffect): void {
    const id = this.#ids[index]!;
    const now = this.#sim.now;
    switch (effect.kind) {
      case 'persist':
        // The simulated disk: saved at once, and kept through any crash.
        this.#disks[index] = structuredClone(effect.state);
        return;
      case 'send': {
        const to = this.#ids.indexOf(effect.to);
        if (to === -1) return;
        const message = effect.message;
        this.#sim.carry(index, to, () => {
          const replica = this.#replicas[to];
          if (replica === undefined) return;
          replica.receive(this.#sim.now, message);
          this.#carryOut(to);
        });
        return;
      }
      case 'applied': {
        this.raft.onApplied(now, id, effect);
        this.checker.onApplied(now, id, effect);
        // As the agent: the version as this node's config, and what a running agent takes of it
        // (the simulator's nodes share one config, whose `id` each runs under).
        // As the agent: a version that removed this server makes it leave and stop; one from
        // before it was added (a joined server catching up) is not its to apply.
        if (!Object.hasOwn(objectOr(effect.config.servers), id)) {
          if (effect.removes_self) this.#sim.remove(index);
          return;
        }
        const next = parseConfig(JSON.stringify({ ...effect.config, id }), `version ${effect.version}`);
        this.#versions[index]!.push(effect.version, next);
        this.#takeVersions(index);
        return;
      }
      case 'answer':
        this.answers.set(effect.answer.kind, (this.answers.get(effect.answer.kind) ?? 0) + 1);
        this.checker.onAnswer(now, id, effect.request, effect.answer, 0);
        return;
    }
  }
}
