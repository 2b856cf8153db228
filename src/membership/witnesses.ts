/**
 * Witnesses of our own reports (formerly the node's `#connected`): whether this node heard,
 * within a few rounds, from enough members other than the one in question to trust what its
 * own probes say. A node that hears nobody (it is cut off, or everybody is) cannot tell a dead
 * peer from its own isolation; its reports, kept until the network heals, would meet other
 * isolated nodes' reports and add up to a false quorum. For a quorum of q, q - 1 other voices
 * are needed, at most REPORT_WITNESSES_MAX so that a large cluster need not hear from hundreds
 * of members first (the quorum confirmation, quorum.ts, has no such cap: it decides).
 */

/** Our own reports need this many other members heard from recently, at most. */
export const REPORT_WITNESSES_MAX = 3;
/** Enough distinct recent senders to find REPORT_WITNESSES_MAX besides the member in question. */
const RECENT_SENDERS_MAX = 2 * (REPORT_WITNESSES_MAX + 1);

export interface WitnessOptions {
  quorum: number;
  memberCount: number;
  gossip_interval_ms: number;
  ping_per_interval: number;
  ping_timeout_ms: number;
}

/**
 * How recently the witnesses must have been heard from (ms): two passes over up to
 * REPORT_WITNESSES_MAX + 1 peers, plus timeouts. Each live witness probes us or is probed by us
 * within that, unless we are cut off.
 */
export function witnessWindowMs(options: WitnessOptions): number {
  const rounds = Math.ceil(
    Math.min(options.memberCount - 1, REPORT_WITNESSES_MAX + 1) / options.ping_per_interval,
  );
  return 2 * (rounds * options.gossip_interval_ms + options.ping_timeout_ms);
}

/** Witnesses needed for a quorum of `quorum`: q - 1, at most REPORT_WITNESSES_MAX. */
export function witnessesNeeded(quorum: number): number {
  return Math.max(0, Math.min(quorum - 1, REPORT_WITNESSES_MAX));
}

export class Witnesses {
  readonly #needed: number;
  readonly window_ms: number;
  /** The last RECENT_SENDERS_MAX distinct members heard from, newest first, and when. */
  readonly #recent: { member: number; at: number }[] = [];

  constructor(options: WitnessOptions) {
    this.#needed = witnessesNeeded(options.quorum);
    this.window_ms = witnessWindowMs(options);
  }

  /** An authenticated message from `member` arrived at `now`. */
  heard(now: number, member: number): void {
    const recent = this.#recent;
    const at = recent.findIndex((entry) => entry.member === member);
    if (at !== -1) recent.splice(at, 1);
    recent.unshift({ member, at: now });
    if (recent.length > RECENT_SENDERS_MAX) recent.pop();
  }

  /** Whether our own reports about `suspect` can be trusted at `now`. */
  enough(now: number, suspect: number): boolean {
    if (this.#needed === 0) return true;
    const since = now - this.window_ms;
    let heard = 0;
    for (const entry of this.#recent) {
      if (entry.member === suspect) continue;
      if (entry.at >= since && ++heard >= this.#needed) return true;
    }
    return false;
  }
}
