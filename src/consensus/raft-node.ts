/**
 * One server's part of the consensus over the cluster's configuration: Raft (Ongaro and
 * Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014, and Ongaro's
 * dissertation, 2014) with pre-vote, leader stickiness, check-quorum, single-server membership
 * changes and snapshots of the committed config. Pure: no clock, timer, random source or I/O.
 * Every call takes the time (ms, monotonic); the caller carries out what `takeEffects` returns,
 * in order, and calls `tick` when `nextWakeAt` comes. See docs/CONSENSUS.md.
 *
 *   messages, proposals, ticks -> RaftNode -> persist, send, applied, proposal outcomes
 *
 * Effect order (the persistence contract): the effects of one call come as
 *   [persist?] [send...] [applied...] [proposal...]
 * A `persist` holds the whole durable state (state/cluster-state.ts) after the call. The caller
 * must carry out effects in the order given, across calls too: no send, applied or proposal
 * effect is carried out before every persist ahead of it has been saved (StateFile.save
 * resolved). So a vote, an acknowledged append, a new term or a leader's own copy of an entry is
 * on disk before anybody can learn of it, and a change is reported committed only after this
 * server stored what it reports.
 */
import type { ChangeOutcome, ConfigChange } from '../changes/index.js';
import { type ConfigIssue, formatIssues } from '../config/errors.js';
import type { ClusterState, CommittedConfig, ConfigDocument } from '../state/cluster-state.js';
import { sameJson } from '../state/json-equal.js';
import { RaftLog } from './log.js';
import {
  configAfter,
  foldChange,
  isConfigChange,
  isMembershipChange,
  type LogChange,
  parseLogChange,
  serverIdsOf,
} from './log-change.js';
import type { Entry, RaftMessage } from './messages.js';
import {
  electionTimeoutMs,
  leaderSoughtWithinMs,
  majority,
  type RaftTiming,
  timingProblem,
} from './timing.js';

export type RaftRole = 'follower' | 'pre_candidate' | 'candidate' | 'leader';

/** Why a proposal did not commit, apart from `invalid` (which carries the config's issues). */
export type FailureReason =
  /** Not committed within proposal_timeout_ms: no majority answered (it may still commit later). */
  | 'no_quorum'
  /** Its entry was replaced by another leader's: it will never commit. */
  | 'superseded'
  /** Another server change is not committed yet, or the leader is new: retry. Nothing was appended. */
  | 'conflict'
  /** A snapshot replaced the log that held it: whether it committed is not known here. */
  | 'unknown';

export type ProposalOutcome =
  /** Committed and applied: the config at `version` is the first to hold it. */
  | { status: 'committed'; version: number; index: number }
  /**
   * Committed, but the config already was as the change would make it (applyChange's `no_op`):
   * no version was made; `version` is the committed version it holds at.
   */
  | { status: 'no_op'; version: number; index: number; reason: string }
  /**
   * applyChange refused it, with the config's issues. `index` null: refused before it was
   * appended, against the config it would apply to. A number: it was appended and committed at
   * that index, but no longer applied when folded (it commits, changes nothing, takes no version).
   */
  | { status: 'failed'; reason: 'invalid'; issues: ConfigIssue[]; message: string; index: number | null }
  | { status: 'failed'; reason: FailureReason; message: string };

export type RaftEffect =
  /** Save this state (StateFile.save) before carrying out any effect after this one. */
  | { kind: 'persist'; state: ClusterState }
  | { kind: 'send'; to: string; message: RaftMessage }
  /**
   * A committed config version, in version order: from an entry (`change`), or from a leader's
   * snapshot (`change` null; the versions between the last one applied here and it are skipped).
   */
  | {
      kind: 'applied';
      version: number;
      /** The log index of the entry (or snapshot point) that made this version, and its term. */
      index: number;
      term: number;
      change: ConfigChange | null;
      config: ConfigDocument;
      /**
       * This version removed this server: its entry is this server's `server_rm`, or, for a
       * snapshot, the config lacks it while the cluster's committed config it held listed it (a
       * server that joined and catches up from before its `server_add` is not removed).
       */
      removes_self: boolean;
    }
  /** The outcome of a proposal this server accepted. */
  | { kind: 'proposal'; id: number; outcome: ProposalOutcome };

/** What `propose` answers at once; the outcome of an accepted proposal comes as an effect. */
export type ProposeAnswer =
  | { kind: 'proposed'; id: number }
  /** Only the leader appends: ask `leader` (null when none is known here). */
  | { kind: 'not_leader'; leader: string | null };

export interface RaftNodeOptions {
  /** This server's id (a key of the config's `servers`). */
  self: string;
  /** The config this server starts from before any version is committed (its file: version 0). */
  base: ConfigDocument;
  /** The stored state (initialClusterState for a server that has none). */
  stored: ClusterState;
  timing: RaftTiming;
  /** Uniform in [0, 1): draws election timeouts. */
  random: () => number;
  /** The time of construction (ms). */
  now: number;
  /** Committed entries kept after folding, for followers that lag by little. Default 16. */
  entries_kept?: number;
  /** The most entries one append carries. Default 64. */
  entries_per_append_max?: number;
  /** The first proposal id (random per boot, so ids of two lives differ). Default 1. */
  first_proposal_id?: number;
  /**
   * This server lost its stored state (moved aside as corrupt, docs/STATE.md) while the cluster
   * may hold one: it forgot its vote, so it neither votes nor seeks election until a leader has
   * brought it up to its commit point. Default false (a new server, or one with its state).
   */
  state_lost?: boolean;
}

/** A read-only view of a node, for checkers and status pages. */
export interface RaftView {
  self: string;
  role: RaftRole;
  term: number;
  voted_for: string | null;
  leader: string | null;
  commit_index: number;
  /** The committed config (version 0: the base, nothing committed yet). */
  committed: { version: number; index: number; term: number; config: ConfigDocument };
  /** The entries held (committed ones kept after folding included). */
  log: Entry[];
  /** The servers of the latest config in the log, committed or not: those that make majorities. */
  members: string[];
}

interface Progress {
  next: number;
  match: number;
  /** When this follower last answered us (check-quorum). */
  heard_at: number;
}

interface Pending {
  index: number;
  term: number;
  deadline: number;
}

/** An entry after the commit point, folded onto the one before it (the first onto the committed config). */
interface Folded {
  index: number;
  term: number;
  outcome: ChangeOutcome | null;
  /** The config after it. */
  config: ConfigDocument;
}

const ENTRIES_KEPT = 16;
const ENTRIES_PER_APPEND_MAX = 64;
/** How many heartbeats a leader goes on telling a removed server of its removal (#farewells). */
const FAREWELL_HEARTBEATS = 20;
/** Proposals waiting for their commit on one leader: each holds an entry, so this bounds the log too. */
export const PROPOSALS_PENDING_MAX = 1024;

export class RaftNode {
  readonly #self: string;
  readonly #timing: RaftTiming;
  readonly #random: () => number;
  readonly #entries_kept: number;
  readonly #entries_per_append_max: number;
  #file_base: ConfigDocument;

  #term: number;
  #voted_for: string | null;
  readonly #log: RaftLog;
  #committed: { version: number; index: number; term: number; config: ConfigDocument };
  #role: RaftRole = 'follower';
  #leader: string | null = null;
  #election_at: number;
  #heard_leader_at = Number.NEGATIVE_INFINITY;
  #votes = new Set<string>();
  #progress = new Map<string, Progress>();
  /**
   * Servers whose removal this leader committed, with the removal's index and until when: they
   * are no longer in the config, so nothing else would tell them. The leader goes on sending
   * them appends, as to a member, until they store the removal and its commit (then they apply
   * it and can stop), or FAREWELL_HEARTBEATS heartbeats passed.
   */
  readonly #farewells = new Map<string, { index: number; until: number }>();
  #heartbeat_at = Number.POSITIVE_INFINITY;
  #check_quorum_at = Number.POSITIVE_INFINITY;
  /** The config after every entry of the log, committed or not, and its servers. */
  #latest: ConfigDocument;
  /**
   * The entries after the commit point, folded in order: each entry is folded once per life of
   * the node (applyChange runs the config's whole validation), and a commit takes the outcomes
   * from here. Rebuilt from the first entry whose index and term changed.
   */
  #folded: Folded[] = [];
  #members: string[];
  #pending = new Map<number, Pending>();
  #next_id: number;
  /** Neither voting nor seeking election until a leader brings us up to date (`state_lost`). */
  #abstaining: boolean;
  /**
   * Servers the failure detector reported down (peerDown) and not heard from since: a leader
   * among them is not deferred to (#sticky), so a follower seeks election soon after its leader
   * is reported down rather than after a whole election timeout.
   */
  readonly #down = new Set<string>();

  #dirty = false;
  #sends: RaftEffect[] = [];
  #reports: RaftEffect[] = [];
  #effects: RaftEffect[] = [];

  constructor(options: RaftNodeOptions) {
    const { stored } = options;
    if (stored.server !== options.self)
      throw new Error(`the stored state is server ${stored.server}'s, not ${options.self}'s`);
    const problem = timingProblem(options.timing);
    if (problem !== undefined) throw new Error(`consensus timing: ${problem}`);
    this.#self = options.self;
    this.#timing = options.timing;
    this.#random = options.random;
    this.#entries_kept = options.entries_kept ?? ENTRIES_KEPT;
    this.#entries_per_append_max = options.entries_per_append_max ?? ENTRIES_PER_APPEND_MAX;
    this.#file_base = stored.file_base;
    this.#next_id = options.first_proposal_id ?? 1;
    this.#abstaining = options.state_lost ?? false;
    this.#term = stored.current_term;
    this.#voted_for = stored.voted_for;
    const committed = stored.committed;
    this.#committed =
      committed === null ? { version: 0, index: 0, term: 0, config: options.base } : { ...committed };
    this.#log = new RaftLog(
      { index: this.#committed.index, term: this.#committed.term },
      stored.log.map((entry) => ({ ...entry, change: storedChange(entry.index, entry.change) })),
    );
    this.#latest = this.#committed.config;
    this.#members = [];
    this.#election_at = Number.POSITIVE_INFINITY;
    this.#refreshLatest(options.now);
    // A server that starts knows no leader: it seeks one within a heartbeat rather than an
    // election timeout. In a running cluster its pre-vote is refused (the others hear their
    // leader) at no cost; a cluster that starts together has a leader within about a heartbeat.
    if (this.#members.includes(this.#self))
      this.#election_at = options.now + leaderSoughtWithinMs(this.#timing, this.#random);
  }

  // ---- what the caller reads -------------------------------------------------------------

  get role(): RaftRole {
    return this.#role;
  }

  get term(): number {
    return this.#term;
  }

  get leader(): string | null {
    return this.#leader;
  }

  /** The committed config and its version (0: the base, nothing committed yet), without copying the log. */
  get committed(): { version: number; index: number; term: number; config: ConfigDocument } {
    return { ...this.#committed };
  }

  /** The servers of the latest config in the log, committed or not: those that make majorities. */
  get members(): string[] {
    return [...this.#members];
  }

  view(): RaftView {
    return {
      self: this.#self,
      role: this.#role,
      term: this.#term,
      voted_for: this.#voted_for,
      leader: this.#leader,
      commit_index: this.#committed.index,
      committed: { ...this.#committed },
      log: this.#log.entries(),
      members: [...this.#members],
    };
  }

  /** The durable state now (what the last persist effect held, or will). */
  durableState(): ClusterState {
    const c = this.#committed;
    return {
      server: this.#self,
      current_term: this.#term,
      voted_for: this.#voted_for,
      committed:
        c.version === 0 ? null : { version: c.version, index: c.index, term: c.term, config: c.config },
      log: this.#log.entries(),
      file_base: this.#file_base,
    };
  }

  /**
   * The config file as this server has now taken it in (its edit committed, or found committed):
   * saved with the durable state, so that the next start sees no edit in it (start-from.ts).
   */
  setFileBase(file: ConfigDocument): void {
    if (sameJson(file, this.#file_base)) return;
    this.#file_base = file;
    this.#dirty = true;
    this.#flush();
  }

  nextWakeAt(): number {
    let at =
      this.#role === 'leader' ? Math.min(this.#heartbeat_at, this.#check_quorum_at) : this.#election_at;
    for (const pending of this.#pending.values()) at = Math.min(at, pending.deadline);
    return at;
  }

  takeEffects(): RaftEffect[] {
    const effects = this.#effects;
    this.#effects = [];
    return effects;
  }

  // ---- inputs ----------------------------------------------------------------------------

  tick(now: number): void {
    if (this.#role === 'leader') {
      if (now >= this.#check_quorum_at) this.#checkQuorum(now);
      if (this.#role === 'leader' && now >= this.#heartbeat_at) this.#broadcast(now);
    } else if (now >= this.#election_at) {
      if (this.#abstaining) this.#resetElectionTimer(now);
      else this.#startPreVote(now);
    }
    for (const [id, pending] of this.#pending) {
      if (now < pending.deadline) continue;
      this.#pending.delete(id);
      this.#report(id, {
        status: 'failed',
        reason: 'no_quorum',
        message: `not committed within ${this.#timing.proposal_timeout_ms} ms: no majority of the servers answered`,
      });
    }
    this.#flush();
  }

  /**
   * A client's change. The leader checks it against the config it will apply to (the committed
   * config with every entry of the log after it), with applyChange: an `invalid` change is refused
   * with the config's issues and nothing is appended; any other is appended (a `no_op` too, so that
   * its answer, after the commit, names a version a majority holds). Its outcome comes later as a
   * `proposal` effect with the id answered here.
   */
  propose(now: number, change: ConfigChange): ProposeAnswer {
    if (this.#role !== 'leader') return { kind: 'not_leader', leader: this.#leader };
    const id = this.#next_id++;
    const refuse = (reason: FailureReason, message: string) =>
      this.#report(id, { status: 'failed', reason, message });
    const outcome = foldChange(this.#latest, change);
    if (outcome?.kind === 'invalid')
      this.#report(id, {
        status: 'failed',
        reason: 'invalid',
        issues: outcome.issues,
        message: formatIssues(outcome.issues),
        index: null,
      });
    else if (this.#pending.size >= PROPOSALS_PENDING_MAX)
      refuse('conflict', `${PROPOSALS_PENDING_MAX} changes are already waiting for a majority; retry later`);
    else if (isMembershipChange(change) && this.#uncommittedMembershipChange())
      refuse('conflict', 'another server change is not committed yet (servers change one at a time); retry');
    else if (isMembershipChange(change) && this.#log.termAt(this.#committed.index) !== this.#term)
      refuse('conflict', 'the leader is new and has not committed an entry of its term yet; retry');
    else {
      const entry = this.#log.append(this.#term, change);
      this.#dirty = true;
      this.#pending.set(id, {
        index: entry.index,
        term: entry.term,
        deadline: now + this.#timing.proposal_timeout_ms,
      });
      this.#latest = configAfter(this.#latest, outcome);
      this.#folded.push({ index: entry.index, term: entry.term, outcome, config: this.#latest });
      if (isMembershipChange(change)) this.#refreshLatest(now);
      this.#advanceCommit(now);
      this.#broadcast(now);
    }
    this.#flush();
    return { kind: 'proposed', id };
  }

  /**
   * The config changes after the commit point, in log order: on a leader, those that commit
   * before anything it appends now (unless it loses its leadership first).
   */
  uncommitted(): ConfigChange[] {
    const changes: ConfigChange[] = [];
    for (const entry of this.#log.slice(this.#committed.index + 1, Number.MAX_SAFE_INTEGER))
      if (isConfigChange(entry.change)) changes.push(entry.change);
    return changes;
  }

  /**
   * Whether this server leads and heard from a majority of the members within the minimum
   * election timeout (the check-quorum window): what it appends now can commit without a new
   * election. A leader cut off from its majority answers false before check-quorum deposes it.
   */
  leadsWithQuorum(now: number): boolean {
    if (this.#role !== 'leader') return false;
    const since = now - this.#timing.election_timeout_ms_min;
    return this.#hasMajority(this.#heardSince(since));
  }

  receive(now: number, message: RaftMessage): void {
    this.#handle(now, message);
    this.#flush();
  }

  /**
   * The failure detector's verdict that `id` is down (the membership's quorum agreed it, or it
   * left). Timing only, never safety: a follower whose leader it is stops deferring to that leader
   * and seeks election within one heartbeat at random (pre-vote first, so a wrong verdict costs
   * no term while a majority still hears the leader); voters that got the same verdict grant it.
   * So a lost leader is replaced about as fast as the membership finds it down, and the election
   * timeout is only the fallback for a leader that the detector finds alive but that no longer
   * reaches us, which lets heartbeats be rare.
   */
  peerDown(now: number, id: string): void {
    if (id === this.#self) return;
    this.#down.add(id);
    if (this.#role !== 'leader' && this.#leader === id) {
      this.#leader = null;
      this.#heard_leader_at = Number.NEGATIVE_INFINITY;
      if (this.#members.includes(this.#self))
        this.#election_at = Math.min(
          this.#election_at,
          now + leaderSoughtWithinMs(this.#timing, this.#random),
        );
    }
    this.#flush();
  }

  /**
   * The failure detector finds `id` up again (back after being down, or restarted): a leader sends
   * it an append at once, so that a server that comes back catches up without waiting for a
   * heartbeat.
   */
  peerUp(id: string): void {
    if (id === this.#self) return;
    this.#down.delete(id);
    if (this.#role === 'leader' && (this.#members.includes(id) || this.#farewells.has(id)))
      this.#sendAppend(id);
    this.#flush();
  }

  // ---- message handling ------------------------------------------------------------------

  #handle(now: number, m: RaftMessage): void {
    this.#farewellAgain(now, m.from);
    switch (m.kind) {
      case 'pre_vote':
        this.#send(m.from, {
          kind: 'pre_vote_reply',
          from: this.#self,
          term: this.#term,
          granted:
            m.term > this.#term &&
            !this.#abstaining &&
            !this.#sticky(now) &&
            this.#log.isUpToDate(m.last_index, m.last_term),
        });
        return;
      case 'pre_vote_reply':
        if (m.term > this.#term && !m.granted) {
          this.#becomeFollower(now, m.term, null);
          return;
        }
        if (this.#role !== 'pre_candidate' || !m.granted) return;
        this.#votes.add(m.from);
        if (this.#hasMajority(this.#votes)) this.#startElection(now);
        return;
      case 'vote':
        this.#onVote(now, m);
        return;
    }
    // Every other message is from a leader or to one: a later term makes us its follower.
    if (m.term > this.#term) {
      const from_leader = m.kind === 'append' || m.kind === 'snapshot';
      this.#becomeFollower(now, m.term, from_leader ? m.from : null);
    }
    switch (m.kind) {
      case 'vote_reply':
        if (this.#role !== 'candidate' || m.term !== this.#term || !m.granted) return;
        this.#votes.add(m.from);
        if (this.#hasMajority(this.#votes)) this.#becomeLeader(now);
        return;
      case 'append':
        this.#onAppend(now, m);
        return;
      case 'snapshot':
        this.#onSnapshot(now, m);
        return;
      case 'append_reply':
      case 'snapshot_reply': {
        if (this.#role !== 'leader' || m.term !== this.#term) return;
        const progress = this.#progressOf(m.from);
        progress.heard_at = now;
        if (m.kind === 'snapshot_reply' || m.success) {
          progress.match = Math.max(progress.match, m.match_index);
          progress.next = progress.match + 1;
          this.#advanceCommit(now);
          const farewell = this.#farewells.get(m.from);
          if (farewell !== undefined) {
            // A removed server: appends only until it holds its removal (and the commit point
            // that the next append, or this one, carries).
            if (progress.match >= farewell.index && this.#committed.index >= farewell.index)
              this.#farewells.delete(m.from);
            else this.#sendAppend(m.from);
            return;
          }
          if (progress.next <= this.#log.lastIndex) this.#sendAppend(m.from);
        } else {
          progress.next = Math.max(progress.match + 1, Math.min(m.next_hint, progress.next - 1));
          this.#sendAppend(m.from);
        }
        return;
      }
    }
  }

  /**
   * A leader hears from `from`, a server its committed config no longer lists (a removal it missed:
   * it was cut off or down while the farewells lasted, and runs on with its old list): it is told
   * of its removal again, as by the farewells after the commit (#farewells), so that it leaves.
   */
  #farewellAgain(now: number, from: string): void {
    if (this.#role !== 'leader' || from === this.#self || this.#members.includes(from)) return;
    if (this.#farewells.has(from) || serverIdsOf(this.#committed.config).includes(from)) return;
    this.#farewells.set(from, {
      index: this.#committed.index,
      until: now + FAREWELL_HEARTBEATS * this.#timing.heartbeat_ms,
    });
    this.#sendAppend(from);
  }

  #onVote(now: number, m: Extract<RaftMessage, { kind: 'vote' }>): void {
    const refuse = () =>
      this.#send(m.from, { kind: 'vote_reply', from: this.#self, term: this.#term, granted: false });
    // Leader stickiness: while a leader is heard, a vote request (from a server that was cut off,
    // or one that was removed) is refused without taking up its term.
    if (m.term < this.#term || (m.term > this.#term && this.#sticky(now))) {
      refuse();
      return;
    }
    if (m.term > this.#term) this.#becomeFollower(now, m.term, null);
    const free = !this.#abstaining && (this.#voted_for === null || this.#voted_for === m.from);
    if (!free || !this.#log.isUpToDate(m.last_index, m.last_term)) {
      refuse();
      return;
    }
    if (this.#voted_for !== m.from) {
      this.#voted_for = m.from;
      this.#dirty = true;
    }
    this.#resetElectionTimer(now);
    this.#send(m.from, { kind: 'vote_reply', from: this.#self, term: this.#term, granted: true });
  }

  #onAppend(now: number, m: Extract<RaftMessage, { kind: 'append' }>): void {
    if (m.term < this.#term) {
      this.#send(m.from, {
        kind: 'append_reply',
        from: this.#self,
        term: this.#term,
        success: false,
        next_hint: m.prev_index + 1,
      });
      return;
    }
    this.#heardFromLeader(now, m.from);
    const result = this.#log.accept(m.prev_index, m.prev_term, m.entries, this.#committed.index);
    if (!result.ok) {
      this.#send(m.from, {
        kind: 'append_reply',
        from: this.#self,
        term: this.#term,
        success: false,
        next_hint: result.next_hint,
      });
      return;
    }
    if (result.truncated_from !== undefined || m.entries.length > 0) {
      // Conservative: any append may have changed the log, and a follower acknowledges only
      // what it has stored (the persist goes before the reply).
      this.#dirty = true;
      if (result.truncated_from !== undefined) this.#supersedeFrom(result.truncated_from);
      this.#refreshLatest(now);
    }
    const commit = Math.min(m.commit, result.match_index);
    if (commit > this.#committed.index) this.#commitTo(now, commit);
    if (this.#committed.index >= m.commit) this.#abstaining = false;
    this.#send(m.from, {
      kind: 'append_reply',
      from: this.#self,
      term: this.#term,
      success: true,
      match_index: result.match_index,
    });
  }

  #onSnapshot(now: number, m: Extract<RaftMessage, { kind: 'snapshot' }>): void {
    if (m.term < this.#term) {
      this.#send(m.from, { kind: 'snapshot_reply', from: this.#self, term: this.#term, match_index: 0 });
      return;
    }
    this.#heardFromLeader(now, m.from);
    const snapshot = m.snapshot;
    if (snapshot.index > this.#committed.index && this.#log.entry(snapshot.index)?.term === snapshot.term) {
      // Our log holds the snapshot point, so (Log Matching) every entry up to it is the leader's:
      // apply them one by one, as a commit, rather than jump.
      this.#commitTo(now, snapshot.index);
    } else if (snapshot.index > this.#committed.index) {
      // Our log lacks the point: it is replaced. Proposals this server accepted up to the point
      // had entries that may or may not be the leader's: their outcome is not known here.
      for (const [id, pending] of this.#pending) {
        if (pending.index > snapshot.index) continue;
        this.#pending.delete(id);
        this.#report(id, {
          status: 'failed',
          reason: 'unknown',
          message: `a snapshot at version ${snapshot.version} replaced this server's log; check whether the change is in it`,
        });
      }
      const version_before = this.#committed.version;
      // Listed in the cluster's committed config (index > 0: folded from the leader's log, not
      // this server's own file) and not in the snapshot's: the snapshot carries its removal.
      const removes_self =
        this.#committed.index > 0 &&
        serverIdsOf(this.#committed.config).includes(this.#self) &&
        !serverIdsOf(snapshot.config).includes(this.#self);
      this.#log.installSnapshot({ index: snapshot.index, term: snapshot.term });
      this.#committed = { ...snapshot };
      // The folds were made onto the config the snapshot replaces.
      this.#folded = [];
      this.#dirty = true;
      if (snapshot.version > version_before)
        this.#reports.push({
          kind: 'applied',
          version: snapshot.version,
          index: snapshot.index,
          term: snapshot.term,
          change: null,
          config: snapshot.config,
          removes_self,
        });
      this.#refreshLatest(now);
    }
    this.#abstaining = false;
    this.#send(m.from, {
      kind: 'snapshot_reply',
      from: this.#self,
      term: this.#term,
      match_index: this.#committed.index,
    });
  }

  // ---- roles -----------------------------------------------------------------------------

  /** Whether a leader was heard within the minimum election timeout (or we lead): no votes then. */
  #sticky(now: number): boolean {
    if (this.#role === 'leader') return true;
    return (
      this.#leader !== null &&
      !this.#down.has(this.#leader) &&
      now - this.#heard_leader_at < this.#timing.election_timeout_ms_min
    );
  }

  #heardFromLeader(now: number, leader: string): void {
    if (this.#role !== 'follower') this.#becomeFollower(now, this.#term, leader);
    // Its appends are the better evidence: a leader reported down that reaches us is followed.
    this.#down.delete(leader);
    this.#leader = leader;
    this.#heard_leader_at = now;
    this.#resetElectionTimer(now);
  }

  #becomeFollower(now: number, term: number, leader: string | null): void {
    if (term > this.#term) {
      this.#term = term;
      this.#voted_for = null;
      this.#dirty = true;
    }
    const was = this.#role;
    this.#role = 'follower';
    this.#leader = leader;
    this.#votes.clear();
    if (was === 'leader') {
      this.#progress.clear();
      this.#farewells.clear();
      this.#heartbeat_at = Number.POSITIVE_INFINITY;
      this.#check_quorum_at = Number.POSITIVE_INFINITY;
    }
    if (was !== 'follower') this.#resetElectionTimer(now);
  }

  #resetElectionTimer(now: number): void {
    this.#election_at = this.#members.includes(this.#self)
      ? now + electionTimeoutMs(this.#timing, this.#random)
      : Number.POSITIVE_INFINITY;
  }

  #startPreVote(now: number): void {
    this.#role = 'pre_candidate';
    this.#leader = null;
    this.#votes = new Set([this.#self]);
    this.#resetElectionTimer(now);
    if (this.#hasMajority(this.#votes)) {
      this.#startElection(now);
      return;
    }
    for (const to of this.#others())
      this.#send(to, {
        kind: 'pre_vote',
        from: this.#self,
        term: this.#term + 1,
        last_index: this.#log.lastIndex,
        last_term: this.#log.lastTerm,
      });
  }

  #startElection(now: number): void {
    this.#role = 'candidate';
    this.#term++;
    this.#voted_for = this.#self;
    this.#dirty = true;
    this.#votes = new Set([this.#self]);
    this.#resetElectionTimer(now);
    if (this.#hasMajority(this.#votes)) {
      this.#becomeLeader(now);
      return;
    }
    for (const to of this.#others())
      this.#send(to, {
        kind: 'vote',
        from: this.#self,
        term: this.#term,
        last_index: this.#log.lastIndex,
        last_term: this.#log.lastTerm,
      });
  }

  #becomeLeader(now: number): void {
    this.#role = 'leader';
    this.#leader = this.#self;
    this.#votes.clear();
    this.#election_at = Number.POSITIVE_INFINITY;
    this.#progress.clear();
    this.#check_quorum_at = now + this.#timing.election_timeout_ms_min;
    // The cluster's first leader: every version builds on its starting config (BaseEntry).
    if (this.#log.lastIndex === 0 && this.#committed.index === 0)
      this.#log.append(this.#term, { kind: 'base', config: this.#committed.config });
    // A no-op of the new term: entries of earlier terms commit only with one of ours (§5.4.2).
    this.#log.append(this.#term, { kind: 'noop' });
    this.#dirty = true;
    this.#refreshLatest(now);
    this.#advanceCommit(now);
    this.#broadcast(now);
  }

  /** Check-quorum: a leader that has not heard from a majority within the minimum election timeout steps down. */
  #checkQuorum(now: number): void {
    const heard = this.#heardSince(now - this.#timing.election_timeout_ms_min);
    if (this.#hasMajority(heard)) this.#check_quorum_at = now + this.#timing.election_timeout_ms_min;
    else this.#becomeFollower(now, this.#term, null);
  }

  /** This leader and the followers that answered it after `since`. */
  #heardSince(since: number): Set<string> {
    const heard = new Set(
      this.#others().filter((id) => (this.#progress.get(id)?.heard_at ?? Number.NEGATIVE_INFINITY) > since),
    );
    heard.add(this.#self);
    return heard;
  }

  /** Whether `ids` hold a majority of the members (the latest config's servers). */
  #hasMajority(ids: ReadonlySet<string>): boolean {
    const count = this.#members.filter((id) => ids.has(id)).length;
    return count >= majority(this.#members.length);
  }

  #others(): string[] {
    return this.#members.filter((id) => id !== this.#self);
  }

  // ---- replication -----------------------------------------------------------------------

  #progressOf(id: string): Progress {
    let progress = this.#progress.get(id);
    if (progress === undefined) {
      // A follower we have not heard from yet counts as heard at the start of our term, so that
      // check-quorum gives it one election timeout.
      const heard_at = this.#check_quorum_at - this.#timing.election_timeout_ms_min;
      progress = { next: this.#log.lastIndex + 1, match: 0, heard_at };
      this.#progress.set(id, progress);
    }
    return progress;
  }

  #broadcast(now: number): void {
    for (const to of this.#others()) this.#sendAppend(to);
    for (const [to, farewell] of this.#farewells) {
      if (now > farewell.until || this.#members.includes(to)) this.#farewells.delete(to);
      else this.#sendAppend(to);
    }
    this.#heartbeat_at = now + this.#timing.heartbeat_ms;
  }

  #sendAppend(to: string): void {
    const progress = this.#progressOf(to);
    progress.next = Math.min(progress.next, this.#log.lastIndex + 1);
    const prev_index = progress.next - 1;
    const prev_term = this.#log.termAt(prev_index);
    // The entries it needs were folded into the committed config: it gets that instead.
    const folded = progress.next <= this.#log.lastIndex && this.#log.entry(progress.next) === undefined;
    if (prev_term === undefined || folded) {
      const c = this.#committed;
      this.#send(to, {
        kind: 'snapshot',
        from: this.#self,
        term: this.#term,
        snapshot: {
          version: c.version,
          index: c.index,
          term: c.term,
          config: c.config,
        } satisfies CommittedConfig,
      });
      return;
    }
    this.#send(to, {
      kind: 'append',
      from: this.#self,
      term: this.#term,
      prev_index,
      prev_term,
      entries: this.#log.slice(progress.next, this.#entries_per_append_max),
      commit: this.#committed.index,
    });
  }

  /**
   * The leader commits the highest index a majority of members stored, if its entry is of the
   * leader's own term (Figure 8): entries of earlier terms commit only with one of ours. Terms
   * never go down along the log, so when that entry is of an earlier term, so are all below it.
   */
  #advanceCommit(now: number): void {
    if (this.#role !== 'leader') return;
    const stored = this.#members
      .map((id) => (id === this.#self ? this.#log.lastIndex : (this.#progress.get(id)?.match ?? 0)))
      .sort((a, b) => b - a);
    const n = stored[majority(this.#members.length) - 1] ?? 0;
    if (n <= this.#committed.index || this.#log.termAt(n) !== this.#term) return;
    this.#commitTo(now, n);
    if (this.#role === 'leader') this.#broadcast(now);
  }

  /**
   * Applies the entries up to `index` in order, reports them, and folds them into the committed
   * config. An entry whose fold is `no_op` or `invalid` commits but changes nothing and takes no
   * version; its proposer learns so (CONSENSUS.md, "Folding").
   */
  #commitTo(now: number, index: number): void {
    let { version, config } = this.#committed;
    let removed_self = false;
    for (let i = this.#committed.index + 1; i <= index; i++) {
      const entry = this.#log.entry(i);
      if (entry === undefined) throw new Error(`commit ${index}: entry ${i} is not in the log`);
      // The fold made when the entry came in, onto this same config (see #refreshLatest).
      const folded = this.#folded[0];
      let outcome: ChangeOutcome | null;
      if (folded !== undefined && folded.index === i && folded.term === entry.term) {
        this.#folded.shift();
        outcome = folded.outcome;
      } else outcome = foldChange(config, entry.change);
      if (outcome?.kind === 'applied') config = outcome.config;
      if (outcome?.kind === 'applied' && isConfigChange(entry.change)) {
        version++;
        this.#reports.push({
          kind: 'applied',
          version,
          index: i,
          term: entry.term,
          change: entry.change,
          config,
          removes_self: entry.change.kind === 'server_rm' && entry.change.id === this.#self,
        });
        if (entry.change.kind === 'server_rm' && entry.change.id === this.#self) removed_self = true;
        else if (entry.change.kind === 'server_rm' && this.#role === 'leader')
          this.#farewells.set(entry.change.id, {
            index: i,
            until: now + FAREWELL_HEARTBEATS * this.#timing.heartbeat_ms,
          });
      }
      for (const [id, pending] of this.#pending) {
        if (pending.index !== i) continue;
        this.#pending.delete(id);
        this.#report(id, committedOutcome(pending.term === entry.term ? outcome : undefined, version, i));
      }
    }
    const term = this.#log.termAt(index)!;
    this.#committed = { version, index, term, config };
    this.#dirty = true;
    if (version > 0) this.#log.compact({ index, term }, this.#entries_kept);
    // The latest config is unchanged: it already had these entries applied.
    // A leader that removed itself leads until the removal commits, then steps down (§4.2.2).
    if (removed_self && this.#role === 'leader') this.#becomeFollower(now, this.#term, null);
  }

  #supersedeFrom(index: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.index < index) continue;
      this.#pending.delete(id);
      this.#report(id, { status: 'failed', reason: 'superseded', message: 'another leader replaced it' });
    }
  }

  #uncommittedMembershipChange(): boolean {
    for (const entry of this.#log.slice(this.#committed.index + 1, Number.MAX_SAFE_INTEGER))
      if (isMembershipChange(entry.change)) return true;
    return false;
  }

  /**
   * The latest config: the committed one with every later entry folded. Its servers make the
   * majorities from the moment a server change is appended (dissertation §4.1), committed or not.
   * Entries whose index and term are unchanged since the last fold keep their outcome: an entry
   * at an index and term is always the same change, folded onto the same config.
   */
  #refreshLatest(now: number): void {
    let config = this.#committed.config;
    const folded: Folded[] = [];
    let reusing = true;
    for (const entry of this.#log.slice(this.#committed.index + 1, Number.MAX_SAFE_INTEGER)) {
      const before = reusing ? this.#folded[folded.length] : undefined;
      if (before !== undefined && before.index === entry.index && before.term === entry.term) {
        folded.push(before);
        config = before.config;
        continue;
      }
      reusing = false;
      const outcome = foldChange(config, entry.change);
      config = configAfter(config, outcome);
      folded.push({ index: entry.index, term: entry.term, outcome, config });
    }
    this.#folded = folded;
    this.#latest = config;
    const was_member = this.#members.includes(this.#self);
    this.#members = serverIdsOf(config);
    const member = this.#members.includes(this.#self);
    if (this.#role !== 'leader' && member !== was_member) this.#resetElectionTimer(now);
  }

  // ---- effects ---------------------------------------------------------------------------

  #send(to: string, message: RaftMessage): void {
    this.#sends.push({ kind: 'send', to, message });
  }

  #report(id: number, outcome: ProposalOutcome): void {
    this.#reports.push({ kind: 'proposal', id, outcome });
  }

  /** Ends a call: the persist (if the durable state changed) goes before every send and report. */
  #flush(): void {
    if (this.#dirty) this.#effects.push({ kind: 'persist', state: this.durableState() });
    this.#dirty = false;
    const applied = this.#reports.filter((effect) => effect.kind === 'applied');
    const proposals = this.#reports.filter((effect) => effect.kind !== 'applied');
    this.#effects.push(...this.#sends, ...applied, ...proposals);
    this.#sends = [];
    this.#reports = [];
  }
}

/** What a proposal's committed entry tells its proposer; `outcome` undefined: another leader's entry took its index. */
function committedOutcome(
  outcome: ChangeOutcome | null | undefined,
  version: number,
  index: number,
): ProposalOutcome {
  if (outcome === undefined || outcome === null)
    return { status: 'failed', reason: 'superseded', message: 'another leader replaced it' };
  switch (outcome.kind) {
    case 'applied':
      return { status: 'committed', version, index };
    case 'no_op':
      return { status: 'no_op', version, index, reason: outcome.reason };
    case 'invalid':
      return {
        status: 'failed',
        reason: 'invalid',
        issues: outcome.issues,
        message: formatIssues(outcome.issues),
        index,
      };
  }
}

/** A stored log entry's change, checked: a state file holds the change only as JSON. */
function storedChange(index: number, value: unknown): LogChange {
  const parsed = parseLogChange(value);
  if (parsed.ok) return parsed.change;
  throw new Error(`the stored log entry ${index} is not a change: ${formatIssues(parsed.issues)}`);
}
