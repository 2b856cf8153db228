/**
 * Readiness: which live members may be given the items of which system. A member is live (it
 * answers, votes and is never declared down for this) and yet not ready for a system while its
 * health check fails there, or while it holds down after a return (src/health/). Placement must
 * be the same on every server, so readiness is shared state, not a local guess: each member
 * alone announces its own, as a versioned record, and the others adopt the newest they hear.
 *
 * A record is ordered by (incarnation, version): the owner numbers its announcements within its
 * life, and a restart or a refutation starts a higher incarnation. A record counts only at the
 * member's current incarnation in this node's view: a member that restarted or refuted is not
 * ready until its readiness at the new incarnation arrives (the owner sends it on every message,
 * beside its incarnation, so this is a matter of one packet). A member declared down or gone is
 * forgotten, and must announce again when it returns. Pure: no clock, no I/O.
 */
import type { ReadinessUpdate } from './messages.js';
import type { Renumbering } from './renumbering.js';

/** How one record compares with another of the same member: by incarnation, then version. */
export function compareReadiness(a: ReadinessUpdate, b: ReadinessUpdate): number {
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1;
  return a.version === b.version ? 0 : a.version < b.version ? -1 : 1;
}

/** Whether two records say the same about the same systems (versions aside). */
export function sameReadiness(a: ReadinessUpdate, b: ReadinessUpdate): boolean {
  return sameList(a.failing, b.failing) && sameList(a.holding, b.holding) && sameList(a.fresh, b.fresh);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * A member's readiness for a system: 'ready' or 'fresh' (ready, see ReadinessUpdate.fresh) get
 * items; 'failing', 'holding' and 'unknown' (nothing said at its incarnation) get none.
 */
export type ReadinessState = 'ready' | 'fresh' | 'failing' | 'holding' | 'unknown';

/** Whether a member in `state` gets items. */
export function placeable(state: ReadinessState): boolean {
  return state === 'ready' || state === 'fresh';
}

/** The state a record gives `system`. */
export function stateIn(record: ReadinessUpdate, system: number): ReadinessState {
  if (record.failing.includes(system)) return 'failing';
  if (record.holding.includes(system)) return 'holding';
  if (record.fresh.includes(system)) return 'fresh';
  return 'ready';
}

export class ReadinessTable {
  readonly #records: (ReadinessUpdate | undefined)[];

  constructor(memberCount: number) {
    this.#records = new Array(memberCount).fill(undefined);
  }

  get(member: number): ReadinessUpdate | undefined {
    return this.#records[member];
  }

  /** Every record known, for the full state sync. */
  all(): ReadinessUpdate[] {
    return this.#records.filter((record): record is ReadinessUpdate => record !== undefined);
  }

  /**
   * Adopts `update` when it is newer than the record held: 'newer' (adopted), 'same' or
   * 'older' (ours is newer: the sender may be told ours).
   */
  merge(update: ReadinessUpdate): 'newer' | 'same' | 'older' {
    const known = this.#records[update.member];
    const order = known === undefined ? 1 : compareReadiness(update, known);
    if (order < 0) return 'older';
    if (order === 0) return 'same';
    this.#records[update.member] = update;
    return 'newer';
  }

  /** The member is gone (down or left): what it said no longer counts. Whether it had a record. */
  forget(member: number): boolean {
    const had = this.#records[member] !== undefined;
    this.#records[member] = undefined;
    return had;
  }

  /** Takes over `previous`'s records, members renumbered (MembershipNode.succeed). */
  carryFrom(previous: ReadinessTable, renumbering: Renumbering): void {
    for (let index = 0; index < this.#records.length; index++) {
      const old = renumbering.previousOf(index);
      const record = old === undefined ? undefined : previous.#records[old];
      this.#records[index] = record === undefined ? undefined : renumbered(record, index, renumbering);
    }
  }

  /** `member`'s readiness for `system`, given its incarnation in this node's view. */
  state(member: number, system: number, incarnation: number): ReadinessState {
    const record = this.#records[member];
    if (record === undefined || record.incarnation !== incarnation) return 'unknown';
    return stateIn(record, system);
  }
}

/** What a member says of its systems (indexes), as a readiness update carries it. */
export interface ReadinessSets {
  failing: readonly number[];
  holding: readonly number[];
  fresh: readonly number[];
}

/**
 * This member's own record: a new version whenever what it says changes, or its incarnation
 * does (a refutation), so that peers always adopt the latest.
 */
export class OwnReadiness {
  readonly #member: number;
  #record: ReadinessUpdate | undefined;
  #version = 0;

  constructor(member: number) {
    this.#member = member;
  }

  get record(): ReadinessUpdate | undefined {
    return this.#record;
  }

  /** Sets what we say at `incarnation`; returns the new record, or undefined when nothing changed. */
  set(incarnation: number, sets: ReadinessSets): ReadinessUpdate | undefined {
    const failing = sortedUnique(sets.failing);
    const holding = sortedUnique(sets.holding).filter((system) => !failing.includes(system));
    const fresh = sortedUnique(sets.fresh).filter(
      (system) => !failing.includes(system) && !holding.includes(system),
    );
    const next: ReadinessUpdate = {
      kind: 'readiness',
      member: this.#member,
      incarnation,
      version: this.#version + 1,
      failing,
      holding,
      fresh,
    };
    const now = this.#record;
    if (now !== undefined && now.incarnation === incarnation && sameReadiness(now, next)) return undefined;
    this.#version++;
    this.#record = next;
    return next;
  }

  /**
   * Takes over `previous`'s record and version under this member's number (a server list changed
   * in process: ours may have moved), its systems renumbered (the system list changed). The record
   * is the same news, so it keeps its version: every server renumbers it alike.
   */
  carryFrom(previous: OwnReadiness, renumbering: Renumbering): void {
    this.#version = previous.#version;
    const record = previous.#record;
    this.#record = record === undefined ? undefined : renumbered(record, this.#member, renumbering);
  }

  /** Our incarnation rose: the same sets again, at the new incarnation (if we said anything yet). */
  renew(incarnation: number): ReadinessUpdate | undefined {
    const now = this.#record;
    if (now === undefined) return undefined;
    return this.set(incarnation, now);
  }
}

/**
 * `record` as member `member`, its systems renumbered: a system removed is dropped, and one added
 * is in no list, so ready by the record (its owner says otherwise within a heartbeat).
 */
function renumbered(record: ReadinessUpdate, member: number, renumbering: Renumbering): ReadinessUpdate {
  return {
    ...record,
    member,
    failing: renumbering.systemList(record.failing),
    holding: renumbering.systemList(record.holding),
    fresh: renumbering.systemList(record.fresh),
  };
}

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
