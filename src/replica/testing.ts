/**
 * A deterministic cluster of ConfigReplicas for tests, the soak and later the simulator
 * (src/testing/seeded-cluster.ts: one seed drives delay, loss, duplication, partitions, crashes
 * in the middle of a call's effects, and restarts from what was persisted). Each server starts
 * as an agent would: startFrom (state/start-from.ts) decides between the config file and the
 * stored state. The consensus's checkers (consensus/checkers.ts) and the replica's
 * (checkers.ts) run after every step.
 */

import { parseChange } from '../changes/index.js';
import { RaftChecker } from '../consensus/checkers.js';
import { TEST_TIMING, testConfig } from '../consensus/testing.js';
import type { RaftTiming } from '../consensus/timing.js';
import { majority } from '../consensus/timing.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import { startFrom } from '../state/start-from.js';
import { type NetworkOptions, SeededCluster } from '../testing/seeded-cluster.js';
import type { ChangeAnswer } from './answer.js';
import { ReplicaChecker } from './checkers.js';
import { ConfigReplica, type ReplicaEffect, requestTimeoutMs } from './config-replica.js';
import type { ReplicaMessage } from './messages.js';

export interface ReplicaClusterOptions {
  seed: number;
  /** Server ids. */
  servers: readonly string[];
  /** The servers the config file lists (default: all of `servers`); the others join by a change. */
  members?: readonly string[];
  timing?: RaftTiming;
  network?: NetworkOptions;
  entries_kept?: number;
  /**
   * Mark requests made on the minority side of a partition (checked: never committed). Only
   * meaningful while the set of servers stays as the file lists it: false when changes add or
   * remove servers. Default true.
   */
  minority_check?: boolean;
}

/** A server's disk: its stored cluster state, or null before its first persist (no file yet). */
export type ReplicaDisk = ClusterState | null;

export class ReplicaCluster extends SeededCluster<ConfigReplica, ReplicaMessage, ReplicaEffect, ReplicaDisk> {
  readonly raft = new RaftChecker();
  readonly checker: ReplicaChecker;
  /** The config file every server starts from (each server's own copy names itself in `id`). */
  readonly file: ConfigDocument;
  readonly #timing: RaftTiming;
  readonly #entries_kept: number | undefined;
  readonly #minority_check: boolean;
  /** The boot (life) each server is in. */
  readonly lives = new Map<string, number>();
  /** Changes with every partition made or healed. */
  #partition_epoch = 0;

  constructor(options: ReplicaClusterOptions) {
    super(options);
    this.#timing = options.timing ?? TEST_TIMING;
    this.#entries_kept = options.entries_kept;
    this.#minority_check = options.minority_check ?? true;
    this.file = testConfig(options.members ?? options.servers);
    this.checker = new ReplicaChecker(requestTimeoutMs(this.#timing));
    this.bootAll();
  }

  get timing(): RaftTiming {
    return this.#timing;
  }

  protected initialDisk(): ReplicaDisk {
    return null;
  }

  protected bootNode(id: string, disk: ReplicaDisk, random: () => number, boots: number): ConfigReplica {
    // Each server's file names itself; the replica leaves `id` out of what it replicates.
    const start = startFrom({
      server: id,
      file: { ...this.file, id },
      stored:
        disk === null
          ? { kind: 'missing', path: `${id}/cluster-state`, temp_removed: false }
          : { kind: 'ok', doc: disk, path: `${id}/cluster-state`, temp_removed: false },
    });
    if (start.kind === 'refuse') throw new Error(`${id} cannot start: ${start.message}`);
    const replica = new ConfigReplica({
      self: id,
      start,
      timing: this.#timing,
      random,
      now: this.now,
      entries_kept: this.#entries_kept,
      first_request_id: boots * 1_000_000,
    });
    this.lives.set(id, boots);
    this.raft.onRestart(this.now, id, replica.raftView().committed);
    this.checker.onStart(this.now, id, replica.committed.version);
    return replica;
  }

  protected carry(id: string, effect: ReplicaEffect): void {
    switch (effect.kind) {
      case 'applied':
        this.raft.onApplied(this.now, id, effect);
        this.checker.onApplied(this.now, id, effect);
        return;
      case 'answer':
        this.checker.onAnswer(this.now, id, effect.request, effect.answer, this.#partition_epoch);
        return;
    }
  }

  protected checkNow(): void {
    this.raft.check(
      this.now,
      this.live().map((id) => this.hosts.get(id)!.node!.raftView()),
    );
  }

  override partition(sides: readonly (readonly string[])[]): void {
    super.partition(sides);
    this.#partition_epoch++;
  }

  override heal(): void {
    super.heal();
    this.#partition_epoch++;
  }

  /**
   * A client asks `server` for `change` (any JSON): the request's id there, or undefined when the
   * server is down (the client's connection fails; nothing was asked).
   */
  propose(server: string, change: unknown): number | undefined {
    const host = this.hosts.get(server)!;
    if (host.node === undefined) return undefined;
    const request = host.node.propose(this.now, change);
    const parsed = parseChange(change);
    // Recorded before the effects are carried out: the answer may be among them.
    this.checker.onRequest({
      server,
      request,
      change: parsed.ok ? parsed.change : undefined,
      at: this.now,
      life: this.lives.get(server)!,
      minority: this.#minority_check && this.#inMinority(server),
      partition_epoch: this.#partition_epoch,
    });
    this.call(server, () => undefined);
    this.checkNow();
    return request;
  }

  /** The answer to a request, once given. */
  answerOf(server: string, request: number): ChangeAnswer | undefined {
    return this.checker.requests.get(`${server}/${request}`)?.answer;
  }

  /** The live leaders. */
  leaders(): string[] {
    return this.live().filter((id) => this.hosts.get(id)!.node!.raftView().role === 'leader');
  }

  /** The committed version of each of `ids` (live), the highest, and whether they all reached it. */
  agreement(ids: readonly string[] = this.live()): { version: number; agreed: boolean } {
    const versions = ids.map((id) => this.hosts.get(id)!.node!.committed.version);
    const version = Math.max(0, ...versions);
    return { version, agreed: versions.every((v) => v === version) };
  }

  /**
   * Whether `server`'s side of the partition holds fewer than a majority of the servers the
   * file lists.
   */
  #inMinority(server: string): boolean {
    const members = Object.keys(this.file.servers as object);
    const side = members.filter((id) => this.connected(server, id)).length;
    return side < majority(members.length);
  }
}
