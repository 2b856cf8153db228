/**
 * The byte layout of a flip packet (wire version 1). Every number is big-endian.
 *
 *   offset  bytes  field
 *        0      2  magic 'F' 'L' (0x46 0x4c)
 *        2      1  wire version (1)
 *        3      4  key id: which configured key sealed the packet (derived from it by HKDF)
 *        7      2  sender: the sender's server index (u16)
 *        9      8  boot id: fixed for one run of the sender, larger after a restart (u64)
 *       17      4  packet sequence number within that boot (u32)
 *       21     12  nonce: 96 random bits, fresh for every packet
 *       33      n  body, encrypted with AES-256-GCM
 *     33+n     16  GCM authentication tag
 *
 * The whole 33-byte header is GCM additional data: it travels in the clear but any change to
 * it fails authentication, so the sender, boot id and sequence number can be trusted.
 */

/**
 * The largest packet flip sends or accepts: below a 1500-byte Ethernet MTU with room for IP and
 * UDP headers, tunnels and VLAN tags, so packets are not fragmented.
 */
export const PACKET_BYTES_MAX = 1400;

/** 'F' 'L': tells flip packets from stray traffic before any cryptography is spent on them. */
export const MAGIC = Uint8Array.of(0x46, 0x4c);
export const WIRE_VERSION = 1;

export const MAGIC_OFFSET = 0;
export const MAGIC_BYTES = 2;
export const VERSION_OFFSET = MAGIC_OFFSET + MAGIC_BYTES;
export const VERSION_BYTES = 1;
export const KEY_ID_OFFSET = VERSION_OFFSET + VERSION_BYTES;
export const KEY_ID_BYTES = 4;
export const SENDER_OFFSET = KEY_ID_OFFSET + KEY_ID_BYTES;
export const SENDER_BYTES = 2;
export const BOOT_ID_OFFSET = SENDER_OFFSET + SENDER_BYTES;
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
