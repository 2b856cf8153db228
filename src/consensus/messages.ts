/**
 * The messages servers exchange for the consensus (Raft's RPCs, each answer a message of its
 * own). Every message carries the sender's term; `from` is the sender's server id. The kinds are
 * protocol: append-only, never renamed.
 */
import type { CommittedConfig } from '../state/cluster-state.js';
import type { LogChange } from './log-change.js';

/** A log entry as replicated: its position, the term of the leader that appended it, its change. */
export interface Entry {
  index: number;
  term: number;
  change: LogChange;
}

export type RaftMessage =
  /**
   * Would you vote for me at `term` (our term + 1)? Asked before a real election (pre-vote,
   * dissertation §9.6): nobody's term changes, so a server that was cut off and comes back
   * cannot force the cluster into a new term while a leader is heard.
   */
  | { kind: 'pre_vote'; from: string; term: number; last_index: number; last_term: number }
  /** The answer to a pre-vote; `term` is the voter's own term. */
  | { kind: 'pre_vote_reply'; from: string; term: number; granted: boolean }
  /** RequestVote (Raft §5.2). */
  | { kind: 'vote'; from: string; term: number; last_index: number; last_term: number }
  | { kind: 'vote_reply'; from: string; term: number; granted: boolean }
  /**
   * AppendEntries (Raft §5.3): `entries` follow the entry at `prev_index` of `prev_term`;
   * `commit` is the leader's commit index. Empty `entries`: a heartbeat.
   */
  | {
      kind: 'append';
      from: string;
      term: number;
      prev_index: number;
      prev_term: number;
      entries: Entry[];
      commit: number;
    }
  /**
   * The answer to an append: on success, the index up to which the follower's log now matches
   * the leader's; on failure, the index the leader should try next (`next_hint`).
   */
  | { kind: 'append_reply'; from: string; term: number; success: true; match_index: number }
  | { kind: 'append_reply'; from: string; term: number; success: false; next_hint: number }
  /** InstallSnapshot (Raft §7), in one message: the committed config, for a follower too far behind. */
  | { kind: 'snapshot'; from: string; term: number; snapshot: CommittedConfig }
  | { kind: 'snapshot_reply'; from: string; term: number; match_index: number };

export type RaftMessageKind = RaftMessage['kind'];
