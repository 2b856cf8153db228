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
 * A blip never needs the lifetime to end it: the suspected member hears of the report within
 * a round trip or two and refutes it with a higher incarnation, which voids every report.
 * The lifetime only has to be long enough that the reports of a member that is really gone
 * overlap, even from reporters whose own timers local health has stretched up to
 * (1 + HEALTH_SCORE_MAX) times, plus the time the reports take to spread.
 */
export function reportTtlMs(pingTimeoutMs: number, gossipIntervalMs: number, memberCount: number): number {
  return (
    (1 + HEALTH_SCORE_MAX) * (pingTimeoutMs + gossipIntervalMs) +
    gossipIntervalMs * retransmitLimit(memberCount)
  );
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

/**
 * How long a starting node waits to hear the cluster's view from a peer before it acts on its
 * config alone: long enough for a round of introductions and their answers. The one place this
 * is defined; the agent and the simulator both use it.
 */
export function startupGraceMs(timing: { ping_timeout_ms: number; gossip_interval_ms: number }): number {
  return 2 * timing.ping_timeout_ms + timing.gossip_interval_ms;
}
