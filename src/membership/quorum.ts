/**
 * The quorum rule and its confirmation, as pure formulas (see docs/PROTOCOL.md, "Quorum" and
 * "Confirmation"). The node keeps the reports and the members heard from; these decide.
 *
 * A member is declared down when `quorum` unexpired reports name it, and only after this node
 * has heard, since the moment that quorum was counted, from `quorum - 1` other members (never the
 * suspect): with itself, a quorum that is connected now. There is no cap on the confirmation:
 * any cap c lets a minority of c + 1 that still hears c others decide.
 */

/** Members asked beyond those needed to confirm a quorum, so a lost ping or two costs no time. */
export const CONFIRM_EXTRA_ASKS = 2;

/** How many unexpired reports (expiry times in ms) there are at `now`. */
export function liveReports(expiries: Iterable<number>, now: number): number {
  let count = 0;
  for (const expiresAt of expiries) if (expiresAt > now) count++;
  return count;
}

/** Members other than the suspect that must be heard from after the quorum was counted. */
export function confirmationsNeeded(quorum: number): number {
  return Math.max(0, quorum - 1);
}

/** How many members to ping at once to confirm: those needed, a tenth more, and two. */
export function confirmationAsks(needed: number): number {
  return needed === 0 ? 0 : needed + Math.ceil(needed / 10) + CONFIRM_EXTRA_ASKS;
}

export type QuorumVerdict =
  /** Fewer live reports than the quorum: nothing to decide (a confirmation under way stops). */
  | 'no_quorum'
  /** The quorum is counted, but not enough members have been heard from since. */
  | 'confirming'
  /** Counted and confirmed: declare the member down. */
  | 'down';

/** What the quorum rule says, given the live reports and the members heard from since counting. */
export function quorumVerdict(input: {
  reports: number;
  quorum: number;
  heard_since: number;
}): QuorumVerdict {
  if (input.reports < input.quorum) return 'no_quorum';
  return input.heard_since >= confirmationsNeeded(input.quorum) ? 'down' : 'confirming';
}
