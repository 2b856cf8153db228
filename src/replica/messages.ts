/**
 * The messages replicas exchange: the consensus's own (consensus/messages.ts), and the two that
 * let a client ask any server for a change: the server forwards it to the leader it knows, and
 * the leader answers the server that forwarded it. Kinds are protocol: append-only, never renamed.
 */
import type { ConfigChange } from '../changes/index.js';
import type { RaftMessage } from '../consensus/messages.js';
import type { ChangeAnswer } from './answer.js';

/** A client's change, forwarded to the leader by the server it asked (`from`). */
export interface ChangeForward {
  kind: 'change_forward';
  from: string;
  /** The request's id at `from` (ids differ between lives of a server). */
  request: number;
  change: ConfigChange;
  /** The term in which the forwarder took the receiver for the leader. */
  term: number;
  /**
   * A copy sent again because no answer came. The receiver takes it as a first copy only while
   * it leads that very term in the life it had then (a leader never restarts into its own term)
   * and remembers every forward of the term: then it would know an earlier copy. Otherwise it
   * may have taken one in an earlier life, and it neither appends nor answers the copy.
   */
  again: boolean;
}

/** The leader's answer to a forwarded change, for the server that forwarded it. */
export interface ChangeReply {
  kind: 'change_reply';
  from: string;
  request: number;
  answer: ChangeAnswer;
}

export type ReplicaMessage = RaftMessage | ChangeForward | ChangeReply;

export function isRaftMessage(message: ReplicaMessage): message is RaftMessage {
  return message.kind !== 'change_forward' && message.kind !== 'change_reply';
}
