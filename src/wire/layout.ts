/**
 * The byte layout of a flip packet (wire version 3). Every number is big-endian.
 *
 *   offset  bytes  field
 *        0      2  magic 'F' 'L' (0x46 0x4c)
 *        2      1  wire version (3)
 *        3      4  key id: which configured key sealed the packet (derived from it by HKDF)
 *        7      4  sender: the tag of the sender's server id (roster.ts)
 *       11      4  destination: the tag of the server the packet was sealed for
 *       15      4  servers: the digest of the sender's server list (roster.ts)
 *       19      4  systems: the digest of the sender's system list (roster.ts)
 *       23      8  boot id: fixed for one run of the sender, larger after a restart (u64)
 *       31      4  packet sequence number within that boot (u32)
 *       35     12  nonce: 96 random bits, fresh for every packet
 *       47      n  body, encrypted with AES-256-GCM
 *     47+n     16  GCM authentication tag
 *
 * The whole 47-byte header is GCM additional data: it travels in the clear but any change to
 * it fails authentication, so the sender, destination, digests, boot id and sequence number can
 * be trusted.
 *
 * Version 2 added the destination. Every server shares one key and a sender numbers its packets
 * in one sequence for all its peers, so without it a packet sealed for one peer was accepted,
 * once, by any other: its sequence number was a gap in that receiver's replay window. A replayed
 * packet then made the wrong server believe it had just heard from the sender, which is what the
 * quorum's checks rely on. Now a receiver drops a packet not sealed for it (wrong_destination).
 *
 * Version 3 names sender and destination by a tag of their id instead of their index in the
 * server list, and adds the digests of the server and system lists. The index of a server moves
 * when a server is added or removed before it, so while some agents run the old list and some
 * the new (a rolling restart after `flip server add|rm`), an agent whose index did not move took
 * packets of one whose index did as another server's, and read the member numbers in their
 * bodies wrongly. Now the sender is known by its id, and a body from a sender with other lists is
 * read only for what does not depend on them (membership/roster-free.ts): with another server
 * list, nothing that numbers members; with only another system list, all but readiness.
 *
 * Versions 1, 2 and 3 do not talk to each other: each drops the others' packets as wrong_version.
 */

/**
 * The largest packet flip sends or accepts: below a 1500-byte Ethernet MTU with room for IP and
 * UDP headers, tunnels and VLAN tags, so packets are not fragmented.
 */
export const PACKET_BYTES_MAX = 1400;

/** 'F' 'L': tells flip packets from stray traffic before any cryptography is spent on them. */
export const MAGIC = Uint8Array.of(0x46, 0x4c);
/** Protocol: raised whenever the header or the meaning of a field changes (see above). */
export const WIRE_VERSION = 3;

export const MAGIC_OFFSET = 0;
export const MAGIC_BYTES = 2;
export const VERSION_OFFSET = MAGIC_OFFSET + MAGIC_BYTES;
export const VERSION_BYTES = 1;
export const KEY_ID_OFFSET = VERSION_OFFSET + VERSION_BYTES;
export const KEY_ID_BYTES = 4;
export const SENDER_OFFSET = KEY_ID_OFFSET + KEY_ID_BYTES;
export const SENDER_BYTES = 4;
export const DESTINATION_OFFSET = SENDER_OFFSET + SENDER_BYTES;
export const DESTINATION_BYTES = 4;
export const SERVERS_DIGEST_OFFSET = DESTINATION_OFFSET + DESTINATION_BYTES;
export const SERVERS_DIGEST_BYTES = 4;
export const SYSTEMS_DIGEST_OFFSET = SERVERS_DIGEST_OFFSET + SERVERS_DIGEST_BYTES;
export const SYSTEMS_DIGEST_BYTES = 4;
export const BOOT_ID_OFFSET = SYSTEMS_DIGEST_OFFSET + SYSTEMS_DIGEST_BYTES;
export const BOOT_ID_BYTES = 8;
export const SEQ_OFFSET = BOOT_ID_OFFSET + BOOT_ID_BYTES;
export const SEQ_BYTES = 4;
export const NONCE_OFFSET = SEQ_OFFSET + SEQ_BYTES;
/** 96 bits, the nonce size GCM is designed for. */
export const NONCE_BYTES = 12;

/** Everything before the ciphertext; all of it is authenticated. */
export const HEADER_BYTES = NONCE_OFFSET + NONCE_BYTES;
/** The full 128-bit GCM tag: truncated tags weaken authentication. */
export const TAG_BYTES = 16;
/** What a packet costs besides its body. */
export const PACKET_OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;
/** The largest body that fits in a packet. */
export const BODY_BYTES_MAX = PACKET_BYTES_MAX - PACKET_OVERHEAD_BYTES;
