/**
 * A deterministic cluster of RaftNodes for tests (src/testing/seeded-cluster.ts: one seed drives
 * message delay, loss, duplication, partitions, crashes and restarts, and a crash may strike in
 * the middle of a call's effects), with the consensus's checkers (checkers.ts) run after every
 * step.
 */
import type { ConfigChange } from '../changes/index.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import { CLUSTER_STATE_CHECK, initialClusterState } from '../state/cluster-state.js';
import { type NetworkOptions, SeededCluster } from '../testing/seeded-cluster.js';
import { RaftChecker } from './checkers.js';
import type { RaftMessage } from './messages.js';
import { type ProposeAnswer, type RaftEffect, RaftNode, type RaftView } from './raft-node.js';
import type { RaftTiming } from './timing.js';

export { CALM_NETWORK, type NetworkOptions } from '../testing/seeded-cluster.js';

/** Fast timing for simulated runs (ms). */
export const TEST_TIMING: RaftTiming = {
  heartbeat_ms: 50,
  election_timeout_ms_min: 150,
  election_timeout_ms_max: 300,
  proposal_timeout_ms: 1000,
};

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

export class TestCluster extends SeededCluster<RaftNode, RaftMessage, RaftEffect, ClusterState> {
  readonly checker = new RaftChecker();
  readonly base: ConfigDocument;
  readonly #timing: RaftTiming;
  readonly #entries_kept: number | undefined;
  readonly #check_stored: boolean;

  constructor(options: TestClusterOptions) {
    super(options);
    this.#timing = options.timing ?? TEST_TIMING;
    this.#entries_kept = options.entries_kept;
    this.#check_stored = options.check_stored ?? false;
    this.base = testConfig(options.members ?? options.servers);
    this.bootAll();
  }

  protected initialDisk(id: string): ClusterState {
    return initialClusterState(id, this.base);
  }

  protected bootNode(id: string, disk: ClusterState, random: () => number, boots: number): RaftNode {
    const node = new RaftNode({
      self: id,
      base: this.base,
      stored: disk,
      timing: this.#timing,
      random,
      now: this.now,
      entries_kept: this.#entries_kept,
      first_proposal_id: boots * 1_000_000,
    });
    this.checker.onRestart(this.now, id, node.view().committed);
    return node;
  }

  protected override persisted(id: string, state: ClusterState): void {
    if (!this.#check_stored) return;
    const check = CLUSTER_STATE_CHECK(state);
    if (!check.ok) throw new Error(`${id} persisted a state the store refuses: ${check.problem}`);
  }

  protected carry(id: string, effect: RaftEffect): void {
    if (effect.kind === 'applied') this.checker.onApplied(this.now, id, effect);
    else if (effect.kind === 'proposal') this.checker.onOutcome(this.now, id, effect.id, effect.outcome);
  }

  protected checkNow(): void {
    this.checker.check(this.now, this.views());
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

  /**
   * A failure detector's verdict at server `at` about server `about` (RaftNode.peerDown, peerUp),
   * right or wrong: verdicts are timing only, so every invariant must hold whatever they say.
   */
  report(at: string, about: string, down: boolean): void {
    this.call(at, (node) => (down ? node.peerDown(this.now, about) : node.peerUp(about)));
    this.checkNow();
  }

  /** A client's proposal at `at`, forwarded once to the leader it names. */
  propose(at: string, change: ConfigChange): { server: string; answer: ProposeAnswer } {
    // The proposal is registered before its effects are carried out: a one-server cluster
    // reports it committed in the same call.
    const ask = (server: string) =>
      this.call(server, (node) => {
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
    this.checkNow();
    if (answer === undefined) return { server, answer: { kind: 'not_leader', leader: null } };
    return { server, answer };
  }

  /** The highest committed version among live servers, and whether they all reached it. */
  agreement(ids: readonly string[] = this.live()): { version: number; agreed: boolean } {
    const versions = ids.map((id) => this.hosts.get(id)!.node!.view().committed.version);
    const version = Math.max(0, ...versions);
    return { version, agreed: versions.every((v) => v === version) };
  }
}
