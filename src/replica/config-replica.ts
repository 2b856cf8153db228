/**
 * One server's replica of the cluster's configuration (issue 12): the consensus (RaftNode) for
 * this server, with what clients need around it. A client may ask any server for a change; the
 * server checks it against its committed config, forwards it to the leader it knows, and the
 * leader checks it for conflicts with changes made at the same time before appending it. Each
 * request gets exactly one typed answer (answer.ts), within a bound. Every committed version is
 * reported once, in order, for the agent to plan from.
 *
 * Pure: no clock, timer, random source or I/O. Every call takes the time (ms, monotonic); the
 * caller carries out what `takeEffects` returns, in order, and calls `tick` when `nextWakeAt`
 * comes. The daemon and the simulator are to drive this same class.
 *
 *   client requests, messages, ticks -> ConfigReplica -> persist, send, applied, answer
 *
 * Effect order: effects come in the order things happened, and RaftNode's own order is kept
 * ([persist] send... applied... then its proposal outcomes, which become answers or replies). The
 * caller must carry out no effect before every persist ahead of it has been saved (StateFile.save
 * resolved): so a vote, an acknowledged append or a leader's own copy of an entry is on disk before
 * anybody can learn of it, and a version is reported applied, or a change answered committed,
 * only after this server stored it. See docs/CONSENSUS.md, "The replica".
 */
import {
  applyChange,
  type ConfigChange,
  conflicts,
  conflictsPending,
  parseChange,
} from '../changes/index.js';
import { type ProposalOutcome, RaftNode, type RaftView } from '../consensus/raft-node.js';
import type { RaftTiming } from '../consensus/timing.js';
import type { ClusterState, ConfigDocument } from '../state/cluster-state.js';
import type { StartPoint } from '../state/start-from.js';
import { quote } from '../text/quote.js';
import type { ChangeAnswer } from './answer.js';
import { ChangeHistory } from './change-history.js';
import { type ChangeForward, isRaftMessage, type ReplicaMessage } from './messages.js';

export type ReplicaEffect =
  /** Save this state (StateFile.save) before carrying out any effect after this one. */
  | { kind: 'persist'; state: ClusterState }
  | { kind: 'send'; to: string; message: ReplicaMessage }
  /**
   * A committed version, newer than any reported before: from a change (`change`), or from a
   * leader's snapshot (`change` null; the versions in between were skipped). The agent plans
   * from `config`. `index` and `term` are the log position that made it.
   */
  | {
      kind: 'applied';
      version: number;
      config: ConfigDocument;
      change: ConfigChange | null;
      index: number;
      term: number;
      /** This version removed this server (RaftNode's `applied`): it should leave and stop. */
      removes_self: boolean;
    }
  /** The one answer to a request `propose` took. */
  | { kind: 'answer'; request: number; answer: ChangeAnswer };

export interface ConfigReplicaOptions {
  /** This server's id. */
  self: string;
  /**
   * Where to start: startFrom's answer (state/start-from.ts) when it is `start`; a `refuse` stops
   * the agent before a replica is made. Its config is version 0 when it comes from the file.
   */
  start: Extract<StartPoint, { kind: 'start' }>;
  timing: RaftTiming;
  /** Uniform in [0, 1): draws election timeouts. */
  random: () => number;
  /** The time of construction (ms). */
  now: number;
  /** The first request id (random per boot, so that a late reply to an earlier life matches nothing). Default 1. */
  first_request_id?: number;
  /** How long a request waits for its answer before `timeout` (ms). Default: see requestTimeoutMs. */
  request_timeout_ms?: number;
  /** This server lost its stored state (RaftNodeOptions.state_lost). */
  state_lost?: boolean;
  /** Committed entries kept after folding (RaftNodeOptions.entries_kept). */
  entries_kept?: number;
}

/** Requests of this server's clients waiting for an answer: each holds memory until answered. */
export const REQUESTS_WAITING_MAX = 1024;
/** Forwarded requests a leader remembers, so that a duplicated forward is not appended twice. */
export const FORWARDS_REMEMBERED_MAX = 4096;

/**
 * The default bound on a request: a leader reports a change it appended within
 * proposal_timeout_ms (committed, or not within the time), and the answer of a forwarded one
 * needs a round trip more, well inside one maximum election timeout.
 */
export function requestTimeoutMs(timing: RaftTiming): number {
  return timing.proposal_timeout_ms + timing.election_timeout_ms_max;
}

/** Where a change the leader took came from: a request of this server's, or of another's. */
interface Origin {
  server: string;
  request: number;
}

interface Waiting {
  deadline: number;
  /** The leader it was forwarded to, or null when this server leads and appended it. */
  to: string | null;
  /** A forwarded change, sent again to the same leader every heartbeat until it answers. */
  forward?: { change: ConfigChange; term: number; again_at: number };
}

export class ConfigReplica {
  readonly #self: string;
  readonly #raft: RaftNode;
  readonly #request_timeout_ms: number;
  readonly #history: ChangeHistory;
  /** The last version reported applied (or started from). */
  #version: number;
  #next_request: number;
  readonly #waiting = new Map<number, Waiting>();
  /** The proposals this server (as leader) appended, by RaftNode's id: whose answer each outcome is. */
  readonly #proposals = new Map<number, Origin>();
  /**
   * Forwards taken, as "server/request", oldest first, with the answer sent for each once there
   * is one: a copy that comes again (its sender heard nothing) gets that answer again.
   */
  readonly #forwards = new Map<string, ChangeAnswer | undefined>();
  /** The term in which this server (as leader) forgot a forward (FORWARDS_REMEMBERED_MAX); -1: never. */
  #forgot_term = -1;
  /** How long a forwarder waits for its leader's answer before it sends the forward again (ms). */
  readonly #forward_again_ms: number;
  #effects: ReplicaEffect[] = [];

  constructor(options: ConfigReplicaOptions) {
    const { start } = options;
    this.#self = options.self;
    this.#request_timeout_ms = options.request_timeout_ms ?? requestTimeoutMs(options.timing);
    this.#forward_again_ms = options.timing.heartbeat_ms;
    this.#next_request = options.first_request_id ?? 1;
    this.#raft = new RaftNode({
      self: options.self,
      base: sharedPart(start.config),
      stored: start.state,
      timing: options.timing,
      random: options.random,
      now: options.now,
      state_lost: options.state_lost,
      entries_kept: options.entries_kept,
    });
    this.#version = this.#raft.committed.version;
    this.#history = new ChangeHistory(this.#version);
    // RaftNode's constructor emits nothing today; whatever it might emit goes through the same path.
    this.#drainRaft();
  }

  // ---- what the caller reads -------------------------------------------------------------

  /** The committed config and its version (0: the start config, nothing committed yet). */
  get committed(): { version: number; config: ConfigDocument } {
    const { version, config } = this.#raft.committed;
    return { version, config };
  }

  /** The leader this server knows (itself included), or null. */
  get leader(): string | null {
    return this.#raft.leader;
  }

  /** Requests taken and not answered yet. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** The consensus's own view, for checkers and status pages. */
  raftView(): RaftView {
    return this.#raft.view();
  }

  nextWakeAt(): number {
    let at = this.#raft.nextWakeAt();
    for (const waiting of this.#waiting.values())
      at = Math.min(at, waiting.deadline, waiting.forward?.again_at ?? Number.POSITIVE_INFINITY);
    return at;
  }

  takeEffects(): ReplicaEffect[] {
    const effects = this.#effects;
    this.#effects = [];
    return effects;
  }

  // ---- inputs ----------------------------------------------------------------------------

  /**
   * A client's request for a change: `value` is what the client sent (parsed JSON), checked
   * here. Returns the request's id; its answer comes as an `answer` effect, in this call's
   * effects when it is known at once.
   */
  propose(now: number, value: unknown): number {
    const request = this.#next_request++;
    const answer = this.#take(now, request, value);
    if (answer !== undefined) this.#effects.push({ kind: 'answer', request, answer });
    return request;
  }

  receive(now: number, message: ReplicaMessage): void {
    if (isRaftMessage(message)) {
      this.#raft.receive(now, message);
      this.#drainRaft();
      return;
    }
    switch (message.kind) {
      case 'change_forward':
        this.#onForward(now, message);
        return;
      case 'change_reply': {
        // Only from the leader it was forwarded to: a late reply of another life matches nothing.
        if (this.#waiting.get(message.request)?.to === message.from)
          this.#answer(message.request, message.answer);
        return;
      }
    }
  }

  /** The failure detector found `id` down (RaftNode.peerDown): a lost leader is replaced soon. */
  peerDown(now: number, id: string): void {
    this.#raft.peerDown(now, id);
    this.#drainRaft();
  }

  /** The failure detector found `id` up again (RaftNode.peerUp): a leader brings it up to date at once. */
  peerUp(id: string): void {
    this.#raft.peerUp(id);
    this.#drainRaft();
  }

  /**
   * The config file as this server has now taken it in (RaftNode.setFileBase). Its persist is an
   * effect of this call: left in the Raft node, it waited for the next message or tick, and an
   * agent stopped before that started again finding the file "edited while stopped".
   */
  setFileBase(file: ConfigDocument): void {
    this.#raft.setFileBase(file);
    this.#drainRaft();
  }

  tick(now: number): void {
    this.#raft.tick(now);
    this.#drainRaft();
    for (const [request, waiting] of this.#waiting) {
      if (now >= waiting.deadline)
        this.#answer(request, {
          kind: 'timeout',
          message: `no answer within ${this.#request_timeout_ms} ms: the change may be committed or not; look at the config (flip config show) before retrying`,
        });
      else if (waiting.to !== null && waiting.forward !== undefined && now >= waiting.forward.again_at) {
        // The forward or its answer may be lost. Sent again to the same leader only, which takes
        // one copy and answers every copy after its answer is known; another leader could not
        // tell that the first had appended it.
        waiting.forward.again_at = now + this.#forward_again_ms;
        this.#send(waiting.to, {
          kind: 'change_forward',
          from: this.#self,
          request,
          change: waiting.forward.change,
          term: waiting.forward.term,
          again: true,
        });
      }
    }
  }

  // ---- a request, where it is asked ------------------------------------------------------

  /** Takes a request: its answer when it is known at once, else undefined (it waits). */
  #take(now: number, request: number, value: unknown): ChangeAnswer | undefined {
    const parsed = parseChange(value);
    if (!parsed.ok) return { kind: 'invalid', issues: parsed.issues };
    const change = parsed.change;
    if (!this.#raft.members.includes(this.#self))
      return {
        kind: 'unknown_server',
        server: this.#self,
        message: `${quote(this.#self)} is not a server of the cluster's config (removed, or not added yet): it takes no changes; ask a server of the cluster`,
      };
    if (this.#waiting.size >= REQUESTS_WAITING_MAX)
      return {
        kind: 'conflict',
        message: `${REQUESTS_WAITING_MAX} requests are already waiting at this server; retry later`,
      };
    // Checked against what this server has committed, unless the client saw a newer version
    // elsewhere (this server lags): then the leader checks it.
    const committed = this.#raft.committed;
    if (change.base_version <= committed.version) {
      const outcome = applyChange(committed.config, change);
      if (outcome.kind === 'invalid') return { kind: 'invalid', issues: outcome.issues };
    }
    const leader = this.#raft.leader;
    if (leader === null)
      return {
        kind: 'no_quorum',
        message:
          'no leader is known here (an election is under way, or this server is cut off from a majority): nothing changed; retry',
      };
    if (leader === this.#self) {
      this.#waiting.set(request, { deadline: now + this.#request_timeout_ms, to: null });
      const answer = this.#lead(now, { server: this.#self, request }, change);
      if (answer !== undefined) this.#waiting.delete(request);
      return answer;
    }
    this.#waiting.set(request, {
      deadline: now + this.#request_timeout_ms,
      to: leader,
      forward: { change, term: this.#raft.term, again_at: now + this.#forward_again_ms },
    });
    const term = this.#raft.term;
    this.#send(leader, { kind: 'change_forward', from: this.#self, term, request, change, again: false });
    return undefined;
  }

  #onForward(now: number, message: ChangeForward): void {
    const { from, request, change } = message;
    // A duplicated forward must not be appended twice (its second copy would be answered too).
    const key = forwardKey(from, request);
    if (this.#forwards.has(key)) {
      const known = this.#forwards.get(key);
      if (known !== undefined)
        this.#send(from, { kind: 'change_reply', from: this.#self, request, answer: known });
      return;
    }
    // A copy sent again that this server does not remember is a first copy (the first was lost)
    // only if it leads the very term the forwarder meant, in the life it has had since (a leader
    // never restarts into its own term), and forgot no forward of that term. Otherwise it may
    // have taken the first copy in an earlier life, and can neither say that nothing changed nor
    // append it again: the forwarder's request ends at its bound, as `timeout`.
    const leadsThatTerm = this.#raft.role === 'leader' && this.#raft.term === message.term;
    if (message.again && !(leadsThatTerm && this.#forgot_term !== message.term)) return;
    this.#forwards.set(key, undefined);
    if (this.#forwards.size > FORWARDS_REMEMBERED_MAX) {
      this.#forwards.delete(this.#forwards.keys().next().value!);
      this.#forgot_term = this.#raft.term;
    }
    const answer =
      this.#raft.role === 'leader'
        ? this.#lead(now, { server: from, request }, change)
        : ({
            kind: 'no_quorum',
            message: 'the leader changed while the request was on its way: nothing changed; retry',
          } satisfies ChangeAnswer);
    if (answer !== undefined) this.#reply(from, request, answer);
  }

  /** Answers a forwarded request, and keeps the answer for a copy that may come again. */
  #reply(to: string, request: number, answer: ChangeAnswer): void {
    const key = forwardKey(to, request);
    if (this.#forwards.has(key)) this.#forwards.set(key, answer);
    this.#send(to, { kind: 'change_reply', from: this.#self, request, answer });
  }

  // ---- a request, at the leader ----------------------------------------------------------

  /**
   * The leader's part: refuse what cannot commit now or conflicts with a change made at the same
   * time, else append. Returns the answer when it is known at once, else undefined (the
   * outcome comes from RaftNode).
   */
  #lead(now: number, origin: Origin, change: ConfigChange): ChangeAnswer | undefined {
    if (!this.#raft.leadsWithQuorum(now))
      return {
        kind: 'no_quorum',
        message:
          'the leader has not heard from a majority of the servers lately (it is cut off, or they are down): nothing changed; retry',
      };
    const committed = this.#raft.committed.version;
    const base = change.base_version;
    if (base > committed)
      return {
        kind: 'conflict',
        message: `made against version ${base}, newer than version ${committed} that the leader has committed (it was elected lately and is catching up): retry`,
      };
    const since = this.#history.since(base);
    if (since === undefined)
      return {
        kind: 'conflict',
        message: `made against version ${base}, and the leader holds the changes committed since version ${this.#history.from} only, so it cannot tell whether this one conflicts with one of them: look at the config again (flip config show) and retry`,
      };
    const message = conflicts(change, since) ?? conflictsPending(change, this.#raft.uncommitted());
    if (message !== undefined) return { kind: 'conflict', message };
    const proposed = this.#raft.propose(now, change);
    if (proposed.kind === 'not_leader')
      throw new Error('the replica proposed through a RaftNode that is not the leader');
    // Registered before the node's effects are read: a refusal comes in this call's effects.
    this.#proposals.set(proposed.id, origin);
    this.#drainRaft();
    return undefined;
  }

  // ---- effects ---------------------------------------------------------------------------

  /** Takes RaftNode's effects in its order: persist and sends as they are, versions, outcomes. */
  #drainRaft(): void {
    for (const effect of this.#raft.takeEffects()) {
      switch (effect.kind) {
        case 'persist':
          this.#effects.push(effect);
          break;
        case 'send':
          this.#send(effect.to, effect.message);
          break;
        case 'applied':
          if (effect.version <= this.#version)
            throw new Error(`version ${effect.version} applied after version ${this.#version}`);
          this.#version = effect.version;
          this.#history.record(effect.version, effect.change);
          this.#effects.push({
            kind: 'applied',
            version: effect.version,
            config: effect.config,
            change: effect.change,
            index: effect.index,
            term: effect.term,
            removes_self: effect.removes_self,
          });
          break;
        case 'proposal': {
          const origin = this.#proposals.get(effect.id);
          if (origin === undefined) break;
          this.#proposals.delete(effect.id);
          const answer = answerOf(effect.outcome);
          if (origin.server === this.#self) this.#answer(origin.request, answer);
          else this.#reply(origin.server, origin.request, answer);
          break;
        }
      }
    }
  }

  /** Answers a waiting request of this server's, once: a later answer (after a timeout) is dropped. */
  #answer(request: number, answer: ChangeAnswer): void {
    if (!this.#waiting.delete(request)) return;
    this.#effects.push({ kind: 'answer', request, answer });
  }

  #send(to: string, message: ReplicaMessage): void {
    this.#effects.push({ kind: 'send', to, message });
  }
}

/** A forwarded request's name at the leader: its server and its number there. */
function forwardKey(server: string, request: number): string {
  return JSON.stringify([server, request]);
}

/** What a client is told of a proposal's outcome at the leader. */
function answerOf(outcome: ProposalOutcome): ChangeAnswer {
  switch (outcome.status) {
    case 'committed':
      return { kind: 'committed', version: outcome.version };
    case 'no_op':
      return { kind: 'no_op', version: outcome.version, reason: outcome.reason };
  }
  if (outcome.reason === 'invalid') return { kind: 'invalid', issues: outcome.issues };
  switch (outcome.reason) {
    case 'conflict':
      return { kind: 'conflict', message: outcome.message };
    case 'superseded':
      return {
        kind: 'no_quorum',
        message: `the leader that took it lost its majority, and another leader's log replaced it: nothing changed; retry`,
      };
    default:
      // no_quorum after it was appended, or unknown: it may still commit.
      return {
        kind: 'timeout',
        message: `${outcome.message}; it may still be committed: look at the config (flip config show) before retrying`,
      };
  }
}

/**
 * The part of a config the cluster shares: all but `id`, which names one server in its own
 * file. A replicated `id` would differ between servers, and would keep that server from ever
 * being removed (CHANGES.md, "id in the replicated config").
 */
function sharedPart(config: ConfigDocument): ConfigDocument {
  const { id: _local, ...shared } = config;
  return shared;
}
