/**
 * Leases: what lets a server that holds items prove, from its own clock alone, that a quorum
 * still hears it, and lets the servers that take its items over know when it must have let go.
 *
 * - **Grants.** Every ack carries a grant bit: the acker heard the pinger and has neither
 *   declared its incarnation down nor promised to (below). A pinger's lease starts at the send
 *   time of the oldest of the freshest `quorum - 1` granted pings (`LeaseGrants.base`): every
 *   granter heard it after that instant, on any clock.
 * - **Promises.** Before it declares a member down, a node asks `quorum - 1` others to confirm
 *   (quorum.ts) with a ping `about` the member. Answering is a promise: the answerer grants that
 *   incarnation no lease again, and says how long ago it last heard from it. The deciding node
 *   promises too. With a quorum of promisers and a lease needing a quorum of granters (the
 *   holder included), the two sets share a promiser whenever quorum > servers / 2, so every
 *   lease the holder can still hold started before the latest "last heard" the decider collected.
 * - **Silence.** A `down` or `left` decision carries how long its sender knows the member has
 *   been silent (`silent_ms`), so every node can count the fence from the latest moment anybody
 *   heard it (handover/fence.ts), without synchronised clocks.
 *
 * Pure: times are given. See docs/SAFETY.md for the argument and its assumptions.
 */

import type { Renumbering } from './renumbering.js';

/** A holder asks for grants this often (ms): several chances within a 1 s address lifetime. */
export const LEASE_ROUND_MS = 250;
/**
 * A round brought forward (an `alive` of a leased item started) comes at least this long after
 * the one before (ms): a burst of starts costs a round per 20 ms, not one per item.
 */
export const LEASE_ROUND_GAP_MS = 20;

/**
 * A probe that goes out while the next lease round is due within this (ms) takes the round with
 * it: the round comes at once, and the probe's ping counts as one of its own (its ack grants like
 * any other). Half a round, so the rounds still come at least every LEASE_ROUND_MS, and a
 * cluster's probes, every gossip interval, save a round's pings in the rounds they meet.
 */
export const LEASE_ALIGN_MS = LEASE_ROUND_MS / 2;

/**
 * How many members a lease round pings for `needed` grants: those needed, and one more per ten
 * (a large cluster has slow members). A grant that is lost or slow is asked again of the others
 * after leaseRetryMs, well before the round's grants go stale, so a round need not ping spare
 * members against a lost packet (a confirmation asks two more: it decides a member's fate at
 * once, while a round comes every LEASE_ROUND_MS).
 */
export function leaseRoundAsks(needed: number): number {
  return needed + Math.floor(needed / 10);
}

/**
 * What a node's lease rounds ping for (the controller says which, from its systems and what it
 * holds):
 * - `every_round`: every round pings the members a quorum of grants needs (leaseRoundAsks, a
 *   probe's target counting as one when the round came with the probe). Wanted while the node
 *   holds, may hold or wants an item of a `release` system: it renews only on a quorum of fresh
 *   grants, so every round asks for them.
 * - `before_renewal`: wanted while the node holds, may hold or wants an item of a leased `keep`
 *   system (and of no `release` one). Its renewals come on a quorum of grants for pings sent
 *   within KEEP_RENEWAL_MS (handover/fence.ts), mostly the probes' own: a round pings only when
 *   no renewal came for GRANTS_STALE_MS, and it renews without grants (a `round` event: `keep`
 *   keeps what it holds, cut off or not) only when none came for GRANTS_LOST_MS; from then on
 *   every round renews, every LEASE_ROUND_MS as under `every_round`, until a grant does again.
 *   A round brought forward (leaseRoundSoon: an `alive` needs a renewal window) renews at once.
 * - `before_lapse`: the rounds only keep the lease from lapsing (no item is renewed on grants, no
 *   fence counts on the pings): a round pings only when the grants in hand would run out within
 *   LEASE_LAPSE_AHEAD_MS, and a round that pings nobody is no round (nothing renews on it). The
 *   probes' acks grant too, so a small cluster's probing alone mostly keeps the lease, and its
 *   rounds send nothing. A standby, or any member with nothing of such systems, pings so.
 */
export type LeasePings = 'every_round' | 'before_renewal' | 'before_lapse';

/**
 * Under `before_renewal`, a round pings once the last renewal (a grant as fresh as KEEP_RENEWAL_MS
 * allows, or a round that renewed) is this old (ms). At the defaults a probe goes out every
 * 450 ms, and the round due within LEASE_ALIGN_MS goes with it, its ping counting as the round's:
 * in a cluster of three (one grant needed) the probes' acks alone bring every renewal, and the
 * holder of leased items sends and wakes no more than any other member.
 */
export const GRANTS_STALE_MS = 500;

/**
 * Under `before_renewal`, a round that finds the last renewal this old (ms) renews without
 * grants, as its pings go out: the grants of the round GRANTS_STALE_MS brought were lost or late
 * (an ack later than KEEP_RENEWAL_MS keeps the lease but renews nothing). So renewals still come
 * at most this far apart (a probe's ack renews, or a round; then every round while no fresh grant
 * comes): the nftables fence's 800 ms element leaves 250 ms for a late timer
 * (executor/lease-fence.ts).
 */
export const GRANTS_LOST_MS = 550;

/**
 * A fresh grant is a keep renewal (a `fresh` event) at most once per this after the last one, or
 * the last round that renewed (ms): the grants of one round, or a probe's and a confirmation's,
 * coming one after another, renew once (in a cluster of nine, every grant past the fourth of a
 * round would renew again). Shorter than GRANTS_STALE_MS, so a probe's grant always renews.
 */
export const GRANTS_RENEW_GAP_MS = 300;

/**
 * Under `before_lapse`, a round pings when the lease would lapse within this (ms): a round and a
 * ping timeout's worth more, so a lost ping is asked again (at the next round) before the lapse,
 * while a probe's grant, every gossip interval, mostly comes first.
 */
export const LEASE_LAPSE_AHEAD_MS = LEASE_ROUND_MS + 50;

/**
 * How long into a round that pinged a member's grants may take before the members that have not
 * granted since the round began are pinged once more (ms): a quarter of the ping timeout. A grant
 * comes within a round trip, so one still missing then was most likely lost; asked again, its
 * grant comes while the round's others are still fresh (grantFreshMs is half the timeout), and one
 * lost packet no longer costs the round its renewal. On a bare quorum (every live member's grant
 * needed) under loss, lost rounds in a row let items lapse on a host that holds them.
 */
export function leaseRetryMs(ping_timeout_ms: number): number {
  return ping_timeout_ms / 4;
}

/** Pings remembered for their grants at most this long (ms); later acks grant nothing. */
export const GRANT_PING_MEMORY_MS = 10_000;

/** Pings remembered at most: a bound on the table whatever the rate of pings. */
const GRANT_PINGS_MAX = 4096;

/**
 * How fresh every grant of a renewal must be (ms): half the ping timeout, so that a renewal
 * follows its quorum of acks closely and a lease never outlives its evidence by more than this.
 */
export function grantFreshMs(ping_timeout_ms: number): number {
  return ping_timeout_ms / 2;
}

/** Grants needed besides ourselves: quorum - 1. */
export function grantsNeeded(quorum: number): number {
  return Math.max(0, quorum - 1);
}

/**
 * The lease base: the send time of the `needed`-th freshest grant (the oldest of the freshest
 * `needed`), or `now` when none is needed (a quorum of one is always connected), or -Infinity
 * when fewer members have granted.
 */
export function leaseBase(grantedAt: readonly number[], needed: number, now: number): number {
  if (needed <= 0) return now;
  if (grantedAt.length < needed) return Number.NEGATIVE_INFINITY;
  const sorted = [...grantedAt].sort((a, b) => b - a);
  return sorted[needed - 1]!;
}

interface SentPing {
  to: number;
  at: number;
  /** Our incarnation when we sent it. */
  incarnation: number;
}

/** What an ack's grant bit did to our lease. */
export interface GrantResult {
  /** The ack answered one of our remembered pings. */
  known: boolean;
  /** The ack refused a grant for a ping we sent at `incarnation`. */
  refused: boolean;
  /** The incarnation we had when we sent the ping. */
  incarnation: number;
}

/** The grants this node collects for its own lease, and the promises it made about others. */
export class LeaseGrants {
  readonly #needed: number;
  /** Per member: the send time of our latest ping it granted (ms; -Infinity: none). */
  readonly #grantedAt: Float64Array;
  readonly #sent = new Map<number, SentPing>();
  /** Per member: the highest incarnation we promised never to grant again. */
  readonly #promised = new Map<number, number>();

  constructor(memberCount: number, quorum: number) {
    this.#needed = grantsNeeded(quorum);
    this.#grantedAt = new Float64Array(memberCount).fill(Number.NEGATIVE_INFINITY);
  }

  /** We sent ping `seq` to `to` at `at`, at our incarnation `incarnation`. */
  sent(seq: number, to: number, at: number, incarnation: number): void {
    if (this.#sent.size >= GRANT_PINGS_MAX) this.#forget(at, GRANT_PINGS_MAX / 2);
    this.#sent.set(seq, { to, at, incarnation });
  }

  /**
   * `from` acked our ping `seq`, granting or refusing. A grant counts from the ping's send
   * time: the granter heard us after it.
   */
  acked(seq: number, from: number, grant: boolean): GrantResult {
    const ping = this.#sent.get(seq);
    if (ping === undefined || ping.to !== from) return { known: false, refused: false, incarnation: 0 };
    this.#sent.delete(seq);
    if (grant) {
      if (ping.at > this.#grantedAt[from]!) this.#grantedAt[from] = ping.at;
      return { known: true, refused: false, incarnation: ping.incarnation };
    }
    return { known: true, refused: true, incarnation: ping.incarnation };
  }

  /** The send time of our latest ping that `member` granted (ms; -Infinity: none). */
  grantedAt(member: number): number {
    return this.#grantedAt[member] ?? Number.NEGATIVE_INFINITY;
  }

  /** Our incarnation changed: grants of the old one are void (the granters promised about it). */
  renewed(): void {
    this.#grantedAt.fill(Number.NEGATIVE_INFINITY);
  }

  /** The lease base at `now` (see leaseBase). */
  base(now: number): number {
    const granted: number[] = [];
    for (const at of this.#grantedAt) if (at > Number.NEGATIVE_INFINITY) granted.push(at);
    return leaseBase(granted, this.#needed, now);
  }

  /** We promise never to grant `member` at `incarnation` (or earlier) again. */
  promise(member: number, incarnation: number): void {
    if ((this.#promised.get(member) ?? -1) < incarnation) this.#promised.set(member, incarnation);
  }

  /** Whether we may grant `member` a lease for a ping it sent at `incarnation`. */
  mayGrant(member: number, incarnation: number): boolean {
    const promised = this.#promised.get(member);
    return promised === undefined || promised < incarnation;
  }

  /**
   * Takes over `previous`'s grants, remembered pings and promises, members renumbered (a server
   * list changed in process: MembershipNode.succeed). A removed member's are dropped. The grants
   * needed follow this table's quorum, so the lease base is the new list's at once.
   */
  carryFrom(previous: LeaseGrants, renumbering: Renumbering): void {
    for (let index = 0; index < this.#grantedAt.length; index++) {
      const old = renumbering.previousOf(index);
      if (old !== undefined) this.#grantedAt[index] = previous.#grantedAt[old]!;
    }
    for (const [seq, ping] of previous.#sent) {
      const to = renumbering.nextOf(ping.to);
      if (to !== undefined) this.#sent.set(seq, { ...ping, to });
    }
    for (const [member, incarnation] of renumbering.map(previous.#promised))
      this.#promised.set(member, incarnation);
  }

  /** Drops remembered pings older than GRANT_PING_MEMORY_MS. */
  expire(now: number): void {
    this.#forget(now, GRANT_PINGS_MAX);
  }

  /**
   * Drops the oldest pings until the rest are recent and at most `keep_max`. Pings are kept in
   * the order they were sent, so this stops at the first one it keeps: a tick costs nothing
   * when nothing expires.
   */
  #forget(now: number, keep_max: number): void {
    for (const [seq, ping] of this.#sent) {
      if (now - ping.at <= GRANT_PING_MEMORY_MS && this.#sent.size <= keep_max) return;
      this.#sent.delete(seq);
    }
  }
}
