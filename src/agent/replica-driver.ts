/**
 * The adapter around the agent's config replica (replica/config-replica.ts, issue 12): it gives
 * the replica the time, a timer and the messages that arrive, and carries out its effects in
 * order: a `persist` is saved (StateFile: write, fsync, rename, fsync the directory) before any
 * effect after it, so a vote, an acknowledged append or a reported version is on disk before
 * anybody can learn of it. It is also the API's ChangeService: a change asked through this
 * server's API is a proposal, answered once by the replica.
 *
 * No decision is made here; the replica makes them all.
 */
import { AnswerWaiters } from '../api/answer-waiters.js';
import type { ChangeService, CommittedView, RecentChanges, SubmitOptions } from '../api/change-service.js';
import { recentChanges } from '../api/recent-changes.js';
import { objectOr, own, serversOf } from '../changes/document.js';
import type { ConfigChange } from '../changes/index.js';
import type { RaftTiming } from '../consensus/timing.js';
import type { ChangeAnswer } from '../replica/answer.js';
import { ChangeHistory } from '../replica/change-history.js';
import { ConfigReplica, type ReplicaEffect } from '../replica/config-replica.js';
import type { ReplicaMessage } from '../replica/messages.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import type { StartPoint } from '../state/start-from.js';
import type { StateFile } from '../state/state-file.js';
import { setTimer } from '../time/timer.js';

/**
 * The agent's consensus timing: slower than DEFAULT_RAFT_TIMING's 100 ms heartbeat, because an
 * idle agent pays for every heartbeat (a sealed packet and its answer to each follower) while a
 * change does not wait for one: the leader sends an entry, and then the commit point, as soon as
 * it has them. Nor does finding a lost leader: the membership reports it down (quorum-agreed,
 * about 1.3 s at flip's defaults) and the followers seek election within a heartbeat
 * (RaftNode.peerDown). The heartbeat only repairs a lost message, and the election timeout is
 * the fallback for a leader that the membership finds alive but whose appends stop arriving:
 * three heartbeats. Failover does not wait for any of it; it needs no leader.
 */
export const AGENT_RAFT_TIMING: RaftTiming = {
  heartbeat_ms: 1_500,
  election_timeout_ms_min: 4_500,
  election_timeout_ms_max: 6_000,
  proposal_timeout_ms: 6_000,
};

export interface ReplicaDriverOptions {
  self: string;
  start: Extract<StartPoint, { kind: 'start' }>;
  /** The cluster-state file (state/cluster-state.ts). */
  state: StateFile<ClusterState>;
  /** Sends a message to a server; false when it is too large to send (it is then dropped). */
  send: (to: string, message: ReplicaMessage) => boolean;
  /** A committed version, newer than any before, in order; `change` null for a snapshot. */
  onApplied: (
    version: number,
    config: ConfigDocument,
    change: ConfigChange | null,
    removes_self: boolean,
  ) => void;
  /** Something went wrong that the log must show (a save that failed, a message too large). */
  onProblem: (message: string, details: Record<string, unknown>) => void;
  now: () => number;
  random: () => number;
  timing?: RaftTiming;
  /** This server lost its stored state (state/lost-state.ts): it abstains until brought up to date. */
  state_lost?: boolean;
}

export class ReplicaDriver implements ChangeService {
  readonly replica: ConfigReplica;
  readonly #options: ReplicaDriverOptions;
  readonly #waiters = new AnswerWaiters();
  readonly #history: ChangeHistory;
  /** The effects being carried out, in order: each batch waits for the one before. */
  #carrying: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  /** A save failed: nothing after it may be carried out (the replica's promises need it on disk). */
  #broken = false;

  constructor(options: ReplicaDriverOptions) {
    this.#options = options;
    this.replica = new ConfigReplica({
      self: options.self,
      start: options.start,
      timing: options.timing ?? AGENT_RAFT_TIMING,
      state_lost: options.state_lost,
      random: options.random,
      now: options.now(),
      first_request_id: 1 + Math.floor(options.random() * 2 ** 30),
    });
    this.#history = new ChangeHistory(this.replica.committed.version);
    this.#drain();
  }

  /** A replica message from a peer (membership-driver.ts checked its sender). */
  receive(message: ReplicaMessage): void {
    if (this.#stopped) return;
    this.replica.receive(this.#options.now(), message);
    this.#drain();
  }

  /** The membership found server `id` down (ConfigReplica.peerDown). */
  peerDown(id: string): void {
    if (this.#stopped) return;
    this.replica.peerDown(this.#options.now(), id);
    this.#drain();
  }

  /** The membership found server `id` up again (ConfigReplica.peerUp). */
  peerUp(id: string): void {
    if (this.#stopped) return;
    this.replica.peerUp(id);
    this.#drain();
  }

  // ---- ChangeService ---------------------------------------------------------------------

  submit(change: ConfigChange, options: SubmitOptions): Promise<ChangeAnswer> {
    if (this.#stopped || this.#broken)
      return Promise.resolve({
        kind: 'no_quorum',
        message: this.#broken
          ? 'this server cannot save its cluster state (see its log): it takes no changes'
          : 'this server is stopping',
      });
    const request = this.replica.propose(this.#options.now(), change);
    // Waited for before the propose's effects are carried out: an answer known at once is among them.
    const answer = this.#waiters.wait(request, options.signal);
    this.#drain();
    return answer;
  }

  committed(): CommittedView {
    return this.replica.committed;
  }

  /**
   * Where server `id` gossips (ip and port) as the newest config in the log says, a server_add
   * not yet committed included (a new server counts in majorities from its append); undefined
   * when that config does not list it. For the replica messages to a server the agent's running
   * list does not have yet.
   */
  serverEndpoint(id: string): { ip: string; port: number } | undefined {
    const view = this.replica.raftView();
    for (let i = view.log.length - 1; i >= 0; i--) {
      const change = view.log[i]!.change;
      if (change.kind === 'server_add' && change.id === id) return { ip: change.ip, port: change.port };
      if (change.kind === 'server_rm' && change.id === id) return undefined;
      if (change.kind === 'base') return endpointIn(change.config, id);
    }
    return endpointIn(view.committed.config, id);
  }

  /** The config file as the agent has now taken it in: saved with the cluster state. */
  setFileBase(file: ConfigDocument): void {
    if (this.#stopped) return;
    this.replica.setFileBase(file);
    this.#drain();
  }

  history(limit: number): RecentChanges {
    return recentChanges(this.#history, limit);
  }

  // ---- running ---------------------------------------------------------------------------

  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#carrying;
  }

  #drain(): void {
    const effects = this.replica.takeEffects();
    if (effects.length > 0) this.#carrying = this.#carrying.then(() => this.#carryOut(effects));
    this.#schedule();
  }

  async #carryOut(effects: readonly ReplicaEffect[]): Promise<void> {
    for (const effect of effects) {
      if (this.#broken) return;
      switch (effect.kind) {
        case 'persist':
          try {
            await this.#options.state.save(effect.state);
          } catch (error) {
            this.#broken = true;
            this.#options.onProblem(
              'cannot save the cluster state: this server stops taking part in config changes until it is restarted',
              { err: (error as Error).message, file: this.#options.state.path },
            );
            return;
          }
          break;
        case 'send':
          if (!this.#options.send(effect.to, effect.message))
            this.#options.onProblem('a config replica message is too large to send; dropped', {
              to: effect.to,
              kind: effect.message.kind,
            });
          break;
        case 'applied':
          this.#history.record(effect.version, effect.change);
          this.#options.onApplied(effect.version, effect.config, effect.change, effect.removes_self);
          break;
        case 'answer':
          this.#waiters.settle(effect.request, effect.answer);
          break;
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const at = this.replica.nextWakeAt();
    if (at === this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (!Number.isFinite(at)) return;
    this.#timer = setTimer(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        if (this.#stopped) return;
        this.replica.tick(this.#options.now());
        this.#drain();
      },
      Math.max(0, at - this.#options.now()),
    );
  }
}

/** Server `id`'s ip and port in a config document, when it lists them. */
function endpointIn(config: ConfigDocument, id: string): { ip: string; port: number } | undefined {
  const server = objectOr(own(serversOf(config), id));
  const ip = own(server, 'ip');
  const port = own(server, 'port');
  return typeof ip === 'string' && typeof port === 'number' ? { ip, port } : undefined;
}
