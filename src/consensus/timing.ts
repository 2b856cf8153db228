/**
 * The consensus's timing: heartbeats, randomized election timeouts, and how long a proposal may
 * wait for its commit. Pure formulas; the random source is passed in.
 */

export interface RaftTiming {
  /** How often a leader sends AppendEntries to each follower when it has nothing new (ms). */
  heartbeat_ms: number;
  /**
   * A follower that hears from no leader for a time drawn uniformly from
   * [election_timeout_ms_min, election_timeout_ms_max) starts a pre-vote (ms). The spread keeps
   * two servers from starting together (Raft §5.2). The minimum is also the leader stickiness:
   * a server that heard from its leader within it refuses to vote, and a leader that has not
   * heard from a majority within it steps down (check-quorum).
   */
  election_timeout_ms_min: number;
  election_timeout_ms_max: number;
  /** How long a proposal waits for its commit before it is reported failed (`no_quorum`) (ms). */
  proposal_timeout_ms: number;
}

/**
 * Defaults for a LAN: heartbeats five times per minimum election timeout, so that losing four
 * in a row does not start an election; a spread as wide as the minimum, as Raft's paper
 * suggests (150-300 ms there; twice that here, since agents also run scripts); a proposal waits
 * for two full election rounds, enough to elect a new leader once and commit.
 */
export const DEFAULT_RAFT_TIMING: RaftTiming = {
  heartbeat_ms: 100,
  election_timeout_ms_min: 500,
  election_timeout_ms_max: 1000,
  proposal_timeout_ms: 3000,
};

/** A problem with a timing, or undefined: heartbeats must fit several times in the minimum. */
export function timingProblem(timing: RaftTiming): string | undefined {
  const { heartbeat_ms, election_timeout_ms_min: min, election_timeout_ms_max: max } = timing;
  if (!(heartbeat_ms > 0)) return `heartbeat_ms is ${heartbeat_ms}; it must be more than 0`;
  if (!(min >= 2 * heartbeat_ms))
    return `election_timeout_ms_min is ${min}; it must be at least twice heartbeat_ms (${heartbeat_ms})`;
  if (!(max > min)) return `election_timeout_ms_max is ${max}; it must be more than the minimum ${min}`;
  if (!(timing.proposal_timeout_ms >= max))
    return `proposal_timeout_ms is ${timing.proposal_timeout_ms}; it must be at least election_timeout_ms_max (${max})`;
  return undefined;
}

/** An election timeout drawn from the timing's range with `random` (uniform in [0, 1)). */
export function electionTimeoutMs(timing: RaftTiming, random: () => number): number {
  const spread = timing.election_timeout_ms_max - timing.election_timeout_ms_min;
  return timing.election_timeout_ms_min + Math.floor(random() * spread);
}

/**
 * How soon a server that defers to no leader seeks one (it just started, or the failure detector
 * reported its leader down): within one heartbeat, at random, so that servers that learn together
 * do not all stand together. Pre-vote makes an early try cheap.
 */
export function leaderSoughtWithinMs(timing: RaftTiming, random: () => number): number {
  return Math.floor(random() * timing.heartbeat_ms);
}

/** The number of votes (or stored copies) that make a majority of `members` servers. */
export function majority(members: number): number {
  return Math.floor(members / 2) + 1;
}
