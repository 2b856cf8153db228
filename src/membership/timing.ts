/**
 * The protocol's formulas, pulled out as small pure functions so they can be table-tested.
 * All times are in milliseconds.
 */

/** Each new update is piggybacked this many times per log10(cluster size) (memberlist's 4). */
export const RETRANSMIT_MULT = 4;
/** Local health score at which timeouts stop stretching (memberlist's AwarenessMaxMultiplier). */
export const HEALTH_SCORE_MAX = 8;
/** New suspicions and decisions are pushed at once to this many members besides piggybacking. */
export const PUSH_FANOUT = 3;

/**
 * How many times an update is piggybacked before it is dropped from the queue: grows with
 * log n so that, with every node relaying, an update reaches everybody with high probability
 * while per-node load stays flat.
 */
export function retransmitLimit(memberCount: number): number {
  return RETRANSMIT_MULT * Math.max(1, Math.ceil(Math.log10(memberCount + 1)));
}

/**
 * How long a report "X cannot reach Y" counts toward a quorum after this node learned it.
 * It must outlive the time the other reporters need to notice and the reports need to
 * spread (two probe timeouts plus one full round of piggybacking), and no more: older
 * blips must never add up to a quorum.
 */
export function reportTtlMs(pingTimeoutMs: number, gossipIntervalMs: number, memberCount: number): number {
  return 2 * pingTimeoutMs + gossipIntervalMs * retransmitLimit(memberCount);
}

/**
 * Lifeguard's local health: a node that sees signs of its own slowness multiplies its
 * timeouts and interval by (1 + score) instead of accusing others.
 */
export function scaled(baseMs: number, healthScore: number): number {
  return baseMs * (1 + healthScore);
}

/** A tick this much later than planned means our own process stalled. */
export function stallThresholdMs(gossipIntervalMs: number, pingTimeoutMs: number): number {
  return Math.max(gossipIntervalMs, pingTimeoutMs / 2);
}
