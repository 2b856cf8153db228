/**
 * Refutation: what this node does when it hears news about itself. Anything but "alive" at its
 * current incarnation or later is refuted with a higher incarnation, which voids every report and
 * decision about the old one (see docs/PROTOCOL.md, "Refutation, return and leave").
 */
import type { Update } from './messages.js';

/**
 * This node learnt that its peers had declared it down (or left) and refuted it with a higher
 * incarnation. Meanwhile they may have taken its items over and told the network so: the
 * controller announces again what this node holds.
 */
export interface Refutation {
  /** What the peers had declared. */
  declared: 'down' | 'left';
  /** Our incarnation after the refutation. */
  incarnation: number;
  at: number;
}

/** A refutation to make: go on at `incarnation`, and say so as a Refutation if `declared`. */
export interface Refute {
  incarnation: number;
  /** The peers had decided we were gone (not only suspected, or alive at a later life). */
  declared: 'down' | 'left' | undefined;
}

/** The incarnation that outranks both ours and the one heard: one above the larger. */
export function refutingIncarnation(own: number, heard: number): number {
  return Math.max(own, heard) + 1;
}

/**
 * What hearing `update` about ourselves calls for: a refutation, or nothing. "Alive" needs one
 * only at a later incarnation than ours (news of a life we do not know of, e.g. our own before a
 * restart with the clock set back); anything else at our incarnation or later always does, but
 * our own "left" once we have left.
 */
export function refutationFor(
  update: Update,
  own: { incarnation: number; left: boolean },
): Refute | undefined {
  if (update.kind === 'alive') {
    if (update.incarnation <= own.incarnation) return undefined;
    return { incarnation: refutingIncarnation(own.incarnation, update.incarnation), declared: undefined };
  }
  if (update.incarnation < own.incarnation) return undefined;
  if (own.left && update.kind === 'left') return undefined;
  return {
    incarnation: refutingIncarnation(own.incarnation, update.incarnation),
    declared: update.kind === 'suspect' ? undefined : update.kind,
  };
}
