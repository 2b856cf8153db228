/**
 * State sync: the full exchange of views, besides gossip. A node asks every peer it pings for its
 * view until one has answered (it is synced), and a probe every STATE_PULL_EVERY_ROUNDS rounds asks
 * again (anti-entropy). The answer lists the members that are not plainly alive, in as many
 * `state` messages as it takes (see docs/PROTOCOL.md, "Dissemination and repair").
 */
import type { MemberTable } from './member-view.js';
import type { Message, Packing, StateRecord, Update } from './messages.js';

/**
 * Every this many rounds a probe also pulls the target's view (anti-entropy): decisions whose
 * gossip was lost, e.g. spent during a partition, still reach everyone within a few passes.
 */
export const STATE_PULL_EVERY_ROUNDS = 10;

export type StateMessage = Extract<Message, { type: 'state' }>;

/** Whether the probes of round `round` (counted from 0) pull the target's view. */
export function pullsState(round: number): boolean {
  return round % STATE_PULL_EVERY_ROUNDS === 0;
}

/** Our view as a peer asked for it: every member but ourselves that is not plainly alive. */
export function stateRecords(members: Pick<MemberTable, 'notAlive' | 'all'>, self: number): StateRecord[] {
  const records: StateRecord[] = [];
  if (members.notAlive === 0) return records;
  members.all().forEach((member, i) => {
    if (i !== self && member.state !== 'alive') {
      records.push({ member: i, state: member.state, incarnation: member.incarnation });
    }
  });
  return records;
}

/**
 * `records` in state messages of a packet each. Always one message at least, empty if need be:
 * it tells the asking node that it is synced.
 */
export function stateMessages(
  packing: Packing,
  records: readonly StateRecord[],
  incarnation: number,
): StateMessage[] {
  const perMessage = Math.max(
    1,
    Math.floor((packing.bodyBytesMax - packing.baseSize('state')) / packing.stateRecordSize),
  );
  const messages: StateMessage[] = [];
  for (let start = 0; start === 0 || start < records.length; start += perMessage) {
    messages.push({
      type: 'state',
      records: records.slice(start, start + perMessage),
      incarnation,
      updates: [],
    });
  }
  return messages;
}

/** A state record as the update it stands for; probably_down carries no reporters, so none. */
export function recordUpdate(record: StateRecord): Update | undefined {
  if (record.state === 'probably_down') return undefined;
  if (record.state === 'alive')
    return { kind: 'alive', member: record.member, incarnation: record.incarnation };
  return record.silent_ms === undefined
    ? { kind: record.state, member: record.member, incarnation: record.incarnation }
    : {
        kind: record.state,
        member: record.member,
        incarnation: record.incarnation,
        silent_ms: record.silent_ms,
      };
}

/** Whether a peer has told us its view yet, and so whether our pings must ask for it. */
export class StateSync {
  #synced: boolean;

  /** A node alone in its cluster has nobody to learn from: it is synced from the start. */
  constructor(peerCount: number) {
    this.#synced = peerCount === 0;
  }

  /** True once a peer has told us its view (or we are alone). */
  get synced(): boolean {
    return this.#synced;
  }

  /** A peer's `state` message arrived. */
  received(): void {
    this.#synced = true;
  }

  /** Whether a ping asks for the target's view: when it pulls, and every ping until synced. */
  asks(pull: boolean): boolean {
    return pull || !this.#synced;
  }
}
