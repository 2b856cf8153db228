/** Bounds of the fixed-width integers the wire format uses. */

export const U8_MAX = 0xff;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;

/** 2^32: the weight of the high half of a u64 written as two u32 halves. */
export const U32_SPAN = 0x1_0000_0000;

/**
 * A u64 whose high half exceeds this is 2^53 or more: not a safe integer, so no JavaScript
 * number holds it exactly and the decoder rejects it.
 */
export const U64_SAFE_HIGH_MAX = 0x1f_ffff;

/** Server indexes are u16, so a cluster has at most this many members. */
export const MEMBER_COUNT_MAX = U16_MAX + 1;

/**
 * Systems a readiness update can name: a bitmap each of failing and holding systems, at most
 * this many bits (128 bytes) each, so an update always fits a packet beside others. The config
 * allows 1000 systems (config/limits.ts).
 */
export const READINESS_SYSTEMS_MAX = 1024;

/**
 * The largest encoded config replica message (bytes): what a chunked transfer can carry
 * (replica-body.ts). Twice the config file's bound (8 MiB, config/limits.ts), so that a snapshot
 * of any config a file can hold, written as JSON, fits with room; 12,769 chunks of a u16 index.
 */
export const REPLICA_MESSAGE_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Entries one append may carry on the wire. The leader sends at most 64 (consensus/raft-node.ts);
 * a packet holds about 50 of the smallest (no-ops), so more is a bug or an attack.
 */
export const REPLICA_ENTRIES_MAX = 1024;

/** Issues one `invalid` answer may carry: the config's checks list at most 101 (config/errors.ts). */
export const ANSWER_ISSUES_MAX = 1024;
