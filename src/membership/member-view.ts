/**
 * The member table and the merge rules: this node's record of every member, and which news about
 * a member wins over what the record says. News is ordered by incarnation, and at equal
 * incarnations `left` > `down` > `suspect` > `alive` (see docs/PROTOCOL.md, "Member states").
 * The rules are pure; the node carries out what they decide.
 */
import type { MemberStateName, Update, UpdateKind } from './messages.js';
import type { Renumbering } from './renumbering.js';

export interface MemberView {
  state: MemberStateName;
  incarnation: number;
  /** When this node last changed the member's state (ms, caller's clock). */
  since: number;
}

export interface MemberChange {
  member: number;
  from: MemberStateName;
  to: MemberStateName;
  incarnation: number;
  at: number;
  reason: MemberChangeReason;
}

/** Why a member's state changed in this node's view. */
export type MemberChangeReason =
  /** This node's own probe of it failed. */
  | 'probe'
  /** Other members reported it unreachable. */
  | 'report'
  /** A quorum agreed it is down (and confirmed it had heard from enough members). */
  | 'quorum'
  /** An update about it arrived through gossip. */
  | 'gossip'
  /** It said so itself, or answered us directly. */
  | 'direct'
  /** The reports against it expired. */
  | 'expired'
  /** Ourselves: another run with our id keeps it, so we are out of placement (identity.ts), or back. */
  | 'duplicate'
  /** Its own graceful leave (for this node: our own). */
  | 'leave'
  /** This node learnt that it was declared gone and refuted it (see Refutation). */
  | 'refute'
  /** This node saw that it could reach nobody, so its own report proves nothing. */
  | 'isolated';

export type AliveUpdate = Extract<Update, { kind: 'alive' }>;
export type SuspectUpdate = Extract<Update, { kind: 'suspect' }>;
/** A decision that a member is gone: by quorum (`down`) or by its own word (`left`). */
export type GoneUpdate = Extract<Update, { kind: 'down' | 'left' }>;

/** Whether placement counts a member in this state as live: alive, or only suspected so far. */
export function isLive(state: MemberStateName): boolean {
  return state === 'alive' || state === 'probably_down';
}

/** Whether a member in this state has been decided gone, by a quorum or by its own leave. */
export function isGone(state: MemberStateName): state is 'down' | 'left' {
  return state === 'down' || state === 'left';
}

/** At equal incarnations, which news wins: a decision beats a report beats "alive". */
export const PRECEDENCE: Readonly<Record<UpdateKind, number>> = { alive: 0, suspect: 1, down: 2, left: 3 };

/** The kind of news that a record in this state stands for. */
export function stateKind(state: MemberStateName): UpdateKind {
  return state === 'probably_down' ? 'suspect' : state;
}

/** What an update about another member does to this node's record of it. */
export type Merge =
  /** Older than what the record says, or no news: nothing changes. */
  | { action: 'ignore' }
  /** The member is alive at a newer incarnation: every report about the old one is void. */
  | { action: 'alive'; update: AliveUpdate }
  /**
   * Reports to merge by union. `newer`: they are about a newer incarnation than the record's,
   * which implies the member was alive at it, so that is adopted first.
   */
  | { action: 'reports'; update: SuspectUpdate; newer: boolean }
  /** A decision that outranks the record: the member is down or left. */
  | { action: 'declare'; update: GoneUpdate };

const IGNORE: Merge = { action: 'ignore' };

/** The merge rule: what `update` does to `record` (another member's, never this node's own). */
export function merge(record: Readonly<Pick<MemberView, 'state' | 'incarnation'>>, update: Update): Merge {
  switch (update.kind) {
    case 'alive':
      if (update.incarnation <= record.incarnation) return IGNORE;
      return { action: 'alive', update };
    case 'suspect':
      if (update.incarnation < record.incarnation) return IGNORE;
      // A decision about this incarnation stands: reports cannot reopen it.
      if (isGone(record.state) && update.incarnation === record.incarnation) return IGNORE;
      return { action: 'reports', update, newer: update.incarnation > record.incarnation };
    case 'down':
    case 'left':
      if (update.incarnation < record.incarnation) return IGNORE;
      if (update.incarnation === record.incarnation) {
        if (record.state === 'left') return IGNORE;
        if (record.state === 'down' && update.kind === 'down') return IGNORE;
      }
      return { action: 'declare', update };
  }
}

/**
 * Our newer, authoritative record about `update.member` when `update` is older than it (the
 * sender's view is stale); else nothing. Only records that need no reporters are sent back:
 * a decision, or "alive" at a newer incarnation. `record` is another member's, never our own.
 */
export function correctionFor(
  record: Readonly<Pick<MemberView, 'state' | 'incarnation'>>,
  update: Update,
): Update | undefined {
  const newer =
    update.incarnation < record.incarnation ||
    (update.incarnation === record.incarnation &&
      PRECEDENCE[update.kind] < PRECEDENCE[stateKind(record.state)]);
  if (!newer) return undefined;
  if (isGone(record.state)) {
    return { kind: record.state, member: update.member, incarnation: record.incarnation };
  }
  if (record.state === 'alive' && update.incarnation < record.incarnation) {
    return { kind: 'alive', member: update.member, incarnation: record.incarnation };
  }
  return undefined;
}

/**
 * This node's record of every member, itself included, indexed by server index. Every member
 * starts alive at incarnation 0 (not heard of yet); this node starts at its own incarnation.
 */
export class MemberTable {
  readonly #records: MemberView[];
  /** How many members are not plainly alive (a fast path for state replies). */
  #notAlive = 0;

  constructor(memberCount: number, self: number, incarnation: number) {
    this.#records = Array.from({ length: memberCount }, () => ({ state: 'alive', incarnation: 0, since: 0 }));
    this.#records[self]!.incarnation = incarnation;
  }

  get size(): number {
    return this.#records.length;
  }

  /** How many members are in a state other than `alive`. */
  get notAlive(): number {
    return this.#notAlive;
  }

  /** The record of member `index`, or undefined for an index outside the cluster. */
  get(index: number): Readonly<MemberView> | undefined {
    return this.#records[index];
  }

  all(): readonly Readonly<MemberView>[] {
    return this.#records;
  }

  /** Indexes of the members that placement should treat as live (not down, not left). */
  live(): number[] {
    const out: number[] = [];
    this.#records.forEach((record, i) => {
      if (isLive(record.state)) out.push(i);
    });
    return out;
  }

  /** Records a newer incarnation for member `index` without changing its state. */
  adopt(index: number, incarnation: number): void {
    this.#records[index]!.incarnation = incarnation;
  }

  /** Our own refutation: our record carries the new incarnation from `now`. */
  renew(now: number, index: number, incarnation: number): void {
    const record = this.#records[index]!;
    record.incarnation = incarnation;
    record.since = now;
  }

  /**
   * Takes over `previous`'s records, members renumbered (MembershipNode.succeed). A server added
   * starts down at incarnation 0, since `now`: never heard of, so placement gives it nothing and
   * nobody waits for it, until it is heard from (at its own incarnation, a boot time, far higher).
   * This node's own record is the previous one's.
   */
  carryFrom(now: number, previous: MemberTable, renumbering: Renumbering): void {
    this.#notAlive = 0;
    for (let index = 0; index < this.#records.length; index++) {
      const old = renumbering.previousOf(index);
      const record: MemberView =
        old === undefined ? { state: 'down', incarnation: 0, since: now } : { ...previous.#records[old]! };
      this.#records[index] = record;
      if (record.state !== 'alive') this.#notAlive++;
    }
  }

  /** Sets member `index`'s state and incarnation; returns the change, if the state changed. */
  set(
    now: number,
    index: number,
    to: MemberStateName,
    incarnation: number,
    reason: MemberChangeReason,
  ): MemberChange | undefined {
    const record = this.#records[index]!;
    const from = record.state;
    record.state = to;
    record.incarnation = incarnation;
    if (from === to) return undefined;
    if (from === 'alive') this.#notAlive++;
    if (to === 'alive') this.#notAlive--;
    record.since = now;
    return { member: index, from, to, incarnation, at: now, reason };
  }
}
