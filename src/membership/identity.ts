/**
 * Two live agents with one server id (a copied config, a cloned VM): how a node tells them from
 * a restart, which of the two keeps the id, and how the other is kept out (see docs/PROTOCOL.md,
 * "Two agents with one id").
 *
 * Every run of an agent has a boot: the packet header's boot id in the daemon (its start time in
 * ms, higher after every restart), the start incarnation in the simulator. A node remembers, per
 * member, when it first and last heard each boot. After a restart the old boot falls silent
 * before the new one is first heard (the old process is dead before the new one binds the port),
 * so only a packet delayed on the network can come from it afterwards. Two live agents keep
 * talking: once each boot has been heard DUPLICATE_OVERLAP_MS after the other was first heard,
 * the member is in conflict.
 *
 * The rule, the same on every node and on both agents because it uses only numbers every packet
 * carries: the LOWER boot (the run that started first) keeps the id; every higher live boot is
 * a newcomer. A node drops a newcomer's packets before the protocol sees them (no grant, no
 * "heard from", no incarnation to refute), and tells it, and the other, so both log it. A
 * newcomer told so stays out of placement (holds nothing, takes nothing) until it has not been
 * told for `forget_ms`. The conflict ends when the older boot has not been heard for `forget_ms`
 * or the member is down or left in this node's view; then the newcomer is an ordinary restart.
 *
 * Pure: the caller passes the time into every call.
 */

import type { Renumbering } from './renumbering.js';

/**
 * How long after a boot is first heard another boot of the same member may still be heard
 * without a conflict: packets of a dead process still in flight (a network delay, well under
 * this on a LAN). A restart takes longer than this between the old process's death and the new
 * one's first packet (a Node.js start alone takes more), so a restart is never reported.
 */
export const DUPLICATE_OVERLAP_MS = 200;

/** Boots remembered per member; the least recently heard is forgotten first. */
export const BOOTS_PER_MEMBER_MAX = 4;

/** How often, at most, a node tells both agents of a conflict (and reports it) per member. */
export const DUPLICATE_NOTICE_EVERY_MS = 1_000;

/** What to do with a packet of `boot` from a member. */
export type BootVerdict =
  /** The member's current run: hand the packet to the protocol. */
  | 'accept'
  /** An older run of a member that restarted since (a late packet): drop it quietly. */
  | 'stale'
  /** A newcomer in a conflict: drop it, and tell both agents (see DuplicateSeen). */
  | 'newcomer';

/** A conflict this node sees about another member, to report and to tell both agents. */
export interface DuplicateSeen {
  member: number;
  /** The boot that keeps the id (the lower). */
  kept: number;
  /** The newcomer's boot. */
  newcomer: number;
}

interface Sighting {
  boot: number;
  first: number;
  last: number;
}

interface MemberBoots {
  sightings: Sighting[];
  /** The boot that keeps the id while a conflict lasts; undefined: no conflict. */
  kept: number | undefined;
  /** When both agents were last told (ms). */
  noticedAt: number;
}

export interface BootIdentitiesOptions {
  memberCount: number;
  /** How long a boot not heard counts as gone, and how long a newcomer stays out after a notice. */
  forget_ms: number;
}

/** Counters for the agent's status and the simulator's figures. */
export interface DuplicateCounters {
  /** Conflicts found about other members (each a new pair of boots). */
  duplicates_seen: number;
  /** Packets of newcomers dropped. */
  newcomer_packets: number;
  /** Notices received saying that this agent is a newcomer. */
  stood_down: number;
  /** Notices received saying that a newcomer claims this agent's id. */
  duplicate_of_self: number;
}

export class BootIdentities {
  readonly counters: DuplicateCounters = {
    duplicates_seen: 0,
    newcomer_packets: 0,
    stood_down: 0,
    duplicate_of_self: 0,
  };
  readonly #forgetMs: number;
  readonly #members: MemberBoots[];
  /** Until when this agent stays out of placement (a newcomer told so); -Infinity: not. */
  #outUntil = Number.NEGATIVE_INFINITY;

  constructor(options: BootIdentitiesOptions) {
    if (!(Number.isInteger(options.memberCount) && options.memberCount >= 1))
      throw new RangeError(`BootIdentities: memberCount ${options.memberCount} is not a positive integer`);
    if (!(options.forget_ms > DUPLICATE_OVERLAP_MS))
      throw new RangeError(
        `BootIdentities: forget_ms ${options.forget_ms} must exceed DUPLICATE_OVERLAP_MS (${DUPLICATE_OVERLAP_MS})`,
      );
    this.#forgetMs = options.forget_ms;
    this.#members = Array.from({ length: options.memberCount }, () => ({
      sightings: [],
      kept: undefined,
      noticedAt: Number.NEGATIVE_INFINITY,
    }));
  }

  /**
   * Takes over `previous`'s sightings, conflicts and standing down, members renumbered (a server
   * list changed in process: MembershipNode.succeed); its counters go on from where they were.
   */
  carryFrom(previous: BootIdentities, renumbering: Renumbering): void {
    Object.assign(this.counters, previous.counters);
    this.#outUntil = previous.#outUntil;
    for (let index = 0; index < this.#members.length; index++) {
      const old = renumbering.previousOf(index);
      const boots = old === undefined ? undefined : previous.#members[old];
      if (boots !== undefined)
        this.#members[index] = { ...boots, sightings: boots.sightings.map((sighting) => ({ ...sighting })) };
    }
  }

  /**
   * A packet of `boot` came from `member` at `now`. `gone`: the member is down or left in our
   * view, which ends a conflict (the older run is dead or leaving; the next is a restart).
   */
  heard(now: number, member: number, boot: number, gone = false): BootVerdict {
    const state = this.#members[member];
    if (state === undefined) throw new RangeError(`BootIdentities: member ${member} out of range`);
    this.#forget(now, state);
    let sighting = state.sightings.find((candidate) => candidate.boot === boot);
    if (sighting === undefined) {
      sighting = { boot, first: now, last: now };
      state.sightings.push(sighting);
      if (state.sightings.length > BOOTS_PER_MEMBER_MAX) {
        state.sightings.sort((a, b) => b.last - a.last);
        state.sightings.length = BOOTS_PER_MEMBER_MAX;
      }
    }
    sighting.last = Math.max(sighting.last, now);
    if (gone && state.kept !== undefined && boot !== state.kept) {
      // The run that kept the id is down or left here: the newcomer may have it now.
      state.sightings = state.sightings.filter((candidate) => candidate.boot !== state.kept);
      state.kept = undefined;
    }
    if (state.kept === undefined) {
      const kept = conflictKeeper(state.sightings);
      if (kept !== undefined) {
        state.kept = kept;
        this.counters.duplicates_seen++;
      }
    }
    if (state.kept !== undefined) {
      if (boot === state.kept) return 'accept';
      this.counters.newcomer_packets++;
      return 'newcomer';
    }
    const newest = Math.max(...state.sightings.map((candidate) => candidate.boot));
    return boot === newest ? 'accept' : 'stale';
  }

  /**
   * The conflict to tell both agents of now, about `member`, if one lasts and they were not
   * told within DUPLICATE_NOTICE_EVERY_MS; marks them told.
   */
  noticeDue(now: number, member: number, newcomer: number): DuplicateSeen | undefined {
    const state = this.#members[member];
    if (state?.kept === undefined || newcomer === state.kept) return undefined;
    if (now - state.noticedAt < DUPLICATE_NOTICE_EVERY_MS) return undefined;
    state.noticedAt = now;
    return { member, kept: state.kept, newcomer };
  }

  /** The boot that keeps `member`'s id while a conflict lasts (for status and tests). */
  keptBoot(member: number): number | undefined {
    return this.#members[member]?.kept;
  }

  /**
   * A peer told us of a conflict about our own id. `own`: our boot. Returns what it means for
   * us: 'newcomer' (we stay out of placement for forget_ms), 'kept' (another agent claims our
   * id; we keep it) or undefined (about another run of ours: ignored).
   */
  toldOfConflict(
    now: number,
    own: number,
    notice: { kept: number; newcomer: number },
  ): 'newcomer' | 'kept' | undefined {
    if (notice.newcomer === own && notice.kept < own) {
      this.#outUntil = Math.max(this.#outUntil, now + this.#forgetMs);
      this.counters.stood_down++;
      return 'newcomer';
    }
    if (notice.kept === own && notice.newcomer > own) {
      this.counters.duplicate_of_self++;
      return 'kept';
    }
    return undefined;
  }

  /** Whether this agent stays out of placement at `now`: a newcomer told so lately. */
  standingDown(now: number): boolean {
    return now < this.#outUntil;
  }

  /** When standing down ends (ms; -Infinity when not standing down). */
  get outUntil(): number {
    return this.#outUntil;
  }

  #forget(now: number, state: MemberBoots): void {
    state.sightings = state.sightings.filter((candidate) => now - candidate.last < this.#forgetMs);
    if (state.kept !== undefined && !state.sightings.some((candidate) => candidate.boot === state.kept))
      state.kept = undefined;
  }
}

/**
 * Whether these sightings show two live runs, and if so the boot that keeps the id: the lowest
 * boot of any pair in which each was heard DUPLICATE_OVERLAP_MS after the later one was first
 * heard. After a restart the old boot is not heard after the new one appeared (but for packets
 * in flight), so no pair qualifies.
 */
export function conflictKeeper(sightings: readonly Sighting[]): number | undefined {
  let kept: number | undefined;
  for (const a of sightings) {
    for (const b of sightings) {
      if (a.boot >= b.boot) continue;
      const overlapFrom = Math.max(a.first, b.first) + DUPLICATE_OVERLAP_MS;
      if (a.last >= overlapFrom && b.last >= overlapFrom)
        kept = kept === undefined ? a.boot : Math.min(kept, a.boot);
    }
  }
  return kept;
}
