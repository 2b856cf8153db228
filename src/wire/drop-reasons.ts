/**
 * Why the packet layer dropped an incoming packet. Every rejection is counted under exactly
 * one reason, so an operator can tell a wrong key (unknown_key) from an attack or corruption
 * (bad_tag) from a peer with a different server list (unknown_sender).
 *
 * The reasons up to unknown_key are decided before authentication, from bytes anyone can
 * forge; the others are decided only for packets that authenticated, so they describe what a
 * key holder really sealed (though anyone may have resent it: a replay, a wrong_destination).
 */
export const DROP_REASONS = [
  /** Shorter than the header and tag. */
  'too_short',
  /** Longer than PACKET_BYTES_MAX. */
  'too_big',
  /** Does not start with flip's magic bytes: not a flip packet at all. */
  'bad_magic',
  /** A flip packet of a wire version this build does not speak. */
  'wrong_version',
  /** The key id matches none of the configured keys. */
  'unknown_key',
  /** Authentication failed: corrupted, forged, or sealed with a different key of the same id. */
  'bad_tag',
  /** The sender index is not a server of our config. */
  'unknown_sender',
  /** The packet claims to come from this server: a reflected packet or a duplicated server id. */
  'self',
  /** Sealed for another server: a packet replayed from elsewhere, or misrouted. */
  'wrong_destination',
  /**
   * A membership message of a kind that names members or systems by number (gossip, a state
   * exchange, an indirect probe, a duplicate notice) from a server whose server or system lists
   * differ from ours (a rolling restart after `flip server add|rm`): its numbers mean other
   * servers here. Other kinds are read for what does not depend on them (membership/roster-free.ts).
   */
  'other_roster',
  /** A boot id that is not a safe integer, which no flip agent sends. */
  'malformed_header',
  /** A sequence number already seen, or too old for the replay window. */
  'replay',
  /** A boot id lower than one already seen from that sender: a packet from before its restart. */
  'stale_boot',
  /** The body authenticated but does not decode to a valid message. */
  'malformed_body',
  /**
   * A config replica body (or a message reassembled from its chunks) that does not decode to a
   * valid replica message: truncated, trailing bytes, an unknown kind, a number or text out of
   * range, entries out of order.
   */
  'malformed_replica',
  /**
   * A replica message whose change or config is well formed on the wire but fails the config's
   * own checks (parseChange, the config file's validation): most likely a peer of another release.
   */
  'invalid_replica_content',
  /**
   * A chunk of a replica message that cannot belong to a valid transfer: a size over
   * REPLICA_MESSAGE_BYTES_MAX, a piece of the wrong length, or a size other than its transfer's.
   */
  'bad_chunk',
  /** A transfer whose reassembled bytes do not match the digest its chunks carry. */
  'chunk_digest',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export type DropCounters = Record<DropReason, number>;

/** A counter per reason, all zero. */
export function newDropCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as DropCounters;
}

/** The number of packets dropped for any reason. */
export function totalDrops(counters: DropCounters): number {
  let total = 0;
  for (const reason of DROP_REASONS) total += counters[reason];
  return total;
}
