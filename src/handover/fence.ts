/**
 * Fencing: when a server may take over an item from a holder that is gone (declared down by a
 * quorum, or left), because that holder must have let go by then.
 *
 * A holder stops answering for an item in one of two ways:
 * - its agent runs `down` (it left, or under `release` it lost its lease: no quorum of grants);
 * - nobody renews the item any more (the agent was killed, froze, or under `release` lost its
 *   lease) and the host drops it by itself within `fence_ms` of the last renewal: the shipped
 *   Linux VIP handling gives addresses a 1 s lifetime that its lease program renews.
 *
 * Renewals are bounded by what the takers know. Under `keep` a holder renews on a quorum of grants
 * for pings it sent within KEEP_RENEWAL_MS (mostly its probes'), or, when those do not come, at
 * a lease round as the round's pings go out (membership/lease.ts, `before_renewal`), so its last
 * renewal is no later than KEEP_RENEWAL_MS after the latest moment anybody heard from it (a ping
 * lost in such a round aside: docs/SAFETY.md). Under `release` it renews only on a quorum of fresh grants
 * (membership/lease.ts), each sent at most `grant_fresh_ms` before, and the deciding quorum
 * promised to grant no more: its last renewal is no later than `grant_fresh_ms` after the latest
 * moment a promiser heard from it. A `down` or `left` decision carries that moment as a silence,
 * so every taker counts the fence from it, on its own clock:
 *
 *   fenced at = heard by anyone + (fence_ms + renewal) x (1 + FENCE_DRIFT) + FENCE_SLACK_MS
 *   renewal   = grant_fresh_ms under release, KEEP_RENEWAL_MS under keep
 *
 * Clocks are not synchronised; they are assumed to run at rates within FENCE_DRIFT / 2 of the
 * truth (a 1% error on each side), as client-go's leader election assumes a bounded skew rate.
 * A system without a lease program under `keep` has no fence: a frozen or killed agent's items
 * stay on its host until it returns or the host dies, and taking them over is not delayed.
 *
 * Pure formulas, table-tested in test/handover/fence.test.ts.
 */
import type { NoQuorumPolicy, SystemConfig } from '../config/index.js';

/** Clock rates may differ by this fraction between the holder and the taker. */
export const FENCE_DRIFT = 0.02;
/**
 * Under `keep` a holder renews on grants for pings it sent at most this long before (ms), or at a
 * lease round, just as it sends the round's pings; the renewal must be carried out within this
 * of those pings, or its lease program refuses it as stale: long enough for a loaded host, whose
 * program may read it tens of ms after the agent wrote it.
 */
export const KEEP_RENEWAL_MS = 100;
/**
 * An `alive` of a leased item is a renewal (its script leases the item first), so it starts only
 * with at least this long left before the renewal deadline (ms): the time its script takes to
 * reach the lease (a shell's start, the config read) on a busy host. Past the deadline the script
 * leases nothing (FLIP_LEASE_DEADLINE_MS) and is started again in the next window.
 */
export const ALIVE_LEASE_LEAD_MS = 40;
/**
 * A system's held items are renewed at most once per this (ms), by policy, while they stay the
 * same and the last renewal went through (and once per instant); a renewal of other items (an
 * `alive` just started, a `down` done) comes at once. Each renewal costs a datagram per held
 * address (or a request to the lease program).
 * - `keep`: not spaced. Its renewals come when the membership core says it may renew (a grant as
 *   fresh as KEEP_RENEWAL_MS, mostly a probe's, every 450 ms at the defaults, or a round), and
 *   its rounds count from them (membership/lease.ts, `before_renewal`): a renewal skipped here
 *   would leave the next up to GRANTS_LOST_MS after the skipped one. So renewals come at most
 *   550 ms apart, and the 800 ms element of the nftables fence leaves 250 ms for a late timer.
 * - `release` renews only on a quorum of fresh grants: a renewal skipped would shorten what a
 *   brief loss of grants may outlast (the simulator's `random --policy release --lease` found
 *   items lapsed on their holder about twice as often with 300 ms). Only the renewals that the
 *   grants of one round would make one after another are merged.
 * Renewing less only shortens what a host may hold: the fences are unchanged.
 */
export const RENEWAL_SPACING_MS: Readonly<Record<NoQuorumPolicy, number>> = { keep: 0, release: 100 };
/** Added to every fence: a timer that fires late on the holder, a packet's transit (ms). */
export const FENCE_SLACK_MS = 25;
/**
 * How long an item's lease lasts after its renewal at the agent (ms): just under the 0.98 s a
 * 1 s kernel lifetime lasts at least, so the agent's own `down` under `release` comes first.
 */
export const LEASE_HOLD_MS = 950;

/** What the fence of a system depends on. */
export interface FenceSystem {
  no_quorum_policy: NoQuorumPolicy;
  /** The system has a lease program: held items lapse by themselves. */
  leased: boolean;
  fence_ms: number;
}

/** The fence inputs of a configured system. */
export function fenceOf(system: SystemConfig): FenceSystem {
  return {
    no_quorum_policy: system.no_quorum_policy,
    leased: system.lease !== undefined,
    fence_ms: system.fence_ms,
  };
}

/**
 * How long after the last moment anybody heard from a gone holder a taker waits before its
 * `alive` (ms); 0 when there is nothing to wait for.
 */
export function fenceWaitMs(system: FenceSystem, grant_fresh_ms: number): number {
  if (system.no_quorum_policy === 'keep' && !system.leased) return 0;
  const renewal = system.no_quorum_policy === 'release' ? grant_fresh_ms : KEEP_RENEWAL_MS;
  return Math.ceil((system.fence_ms + renewal) * (1 + FENCE_DRIFT)) + FENCE_SLACK_MS;
}

/** When the taker may run `alive` for an item of a holder last heard from at `heard_at`. */
export function fencedAt(heard_at: number, system: FenceSystem, grant_fresh_ms: number): number {
  const wait = fenceWaitMs(system, grant_fresh_ms);
  return wait === 0 ? Number.NEGATIVE_INFINITY : heard_at + wait;
}

/**
 * Whether a renewal may be made now, on a lease whose base is `base` (membership/lease.ts):
 * every grant of its quorum was sent within `grant_fresh_ms`. Its deadline is then
 * base + grant_fresh_ms: a renewal carried out later is stale and must not happen.
 */
export function renewableUntil(base: number, now: number, grant_fresh_ms: number): number | undefined {
  const until = base + grant_fresh_ms;
  return until >= now ? until : undefined;
}
