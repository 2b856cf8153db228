/**
 * A 64-bit string hash that every node computes bit for bit the same: FNV-1a 64 over the
 * string's UTF-8 bytes, and murmur3's 64-bit finaliser (fmix64) to spread it. Pure integer
 * arithmetic on two unsigned 32-bit halves (no BigInt, no float rounding, no platform
 * dependence). Rendezvous placement hashes each item and member id with it once, then scores
 * the pairs with fmix32.
 *
 * FNV-1a alone spreads a change of the last byte only upwards (a multiplication carries bits
 * to the left, never to the right), and short names that differ in one character ("10.0.0.1",
 * "10.0.0.2") would keep similar high bits; fmix64 makes every output bit depend on every input
 * bit, which is what comparing scores by their high bits needs.
 *
 * The values are protocol: agents of one cluster must compute the same placement, so changing
 * this hash (or how rendezvous.ts combines it) moves items between old and new versions during
 * an upgrade. test/placement pins some values.
 */

/** An unsigned 64-bit value as two unsigned 32-bit halves. */
export interface U64 {
  hi: number;
  lo: number;
}

const TWO_32 = 0x1_0000_0000;

/** FNV-1a 64's offset basis 0xcbf29ce484222325; its prime is 0x100000001b3, 2^40 + 0x1b3. */
const FNV_OFFSET: U64 = { hi: 0xcbf29ce4, lo: 0x84222325 };
const FNV_PRIME_LOW = 0x1b3;
/** fmix64's multipliers, 0xff51afd7ed558ccd and 0xc4ceb9fe1a85ec53. */
const FMIX_1: U64 = { hi: 0xff51afd7, lo: 0xed558ccd };
const FMIX_2: U64 = { hi: 0xc4ceb9fe, lo: 0x1a85ec53 };

const utf8 = new TextEncoder();

/** a * b mod 2^64. */
export function mul64(a: U64, b: U64): U64 {
  // The low halves' full 64-bit product, from 16-bit pieces: every partial sum stays below 2^53.
  const a0 = a.lo & 0xffff;
  const a1 = a.lo >>> 16;
  const b0 = b.lo & 0xffff;
  const b1 = b.lo >>> 16;
  const middle = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (middle % 0x1_0000) * 0x1_0000;
  const carry = Math.floor(low / TWO_32);
  const high = a1 * b1 + Math.floor(middle / 0x1_0000) + carry;
  // The cross products only reach the high half; their own high halves fall off the top.
  return {
    hi: (high + Math.imul(a.hi, b.lo) + Math.imul(a.lo, b.hi)) >>> 0,
    lo: low >>> 0,
  };
}

/** FNV-1a 64 of the UTF-8 bytes of `text`. */
export function fnv1a64(text: string): U64 {
  let hi = FNV_OFFSET.hi;
  let lo = FNV_OFFSET.lo;
  for (const byte of utf8.encode(text)) {
    lo = (lo ^ byte) >>> 0;
    // h * (2^40 + 0x1b3) = h * 0x1b3 + (h << 40): the product lo * 0x1b3 is below 2^41, exact.
    const low = lo * FNV_PRIME_LOW;
    hi = (Math.imul(hi, FNV_PRIME_LOW) + Math.floor(low / TWO_32) + (lo << 8)) >>> 0;
    lo = low >>> 0;
  }
  return { hi, lo };
}

/** murmur3's fmix64: a bijection of 64-bit values in which every output bit depends on every input bit. */
export function fmix64(k: U64): U64 {
  // k ^= k >>> 33 touches only the low half: its bits are the high half's shifted by one.
  let h: U64 = { hi: k.hi, lo: (k.lo ^ (k.hi >>> 1)) >>> 0 };
  h = mul64(h, FMIX_1);
  h = { hi: h.hi, lo: (h.lo ^ (h.hi >>> 1)) >>> 0 };
  h = mul64(h, FMIX_2);
  return { hi: h.hi, lo: (h.lo ^ (h.hi >>> 1)) >>> 0 };
}

/** The spread hash of a string: fmix64(FNV-1a 64). */
export function hash64(text: string): U64 {
  return fmix64(fnv1a64(text));
}

/**
 * murmur3's fmix32: the 32-bit finaliser, a bijection with full avalanche in two multiplications.
 * Rendezvous placement scores each (item, member) pair with two of them over the halves of
 * their 64-bit keys: in JavaScript fmix64 costs about 25 times as much (10 million fmix32 take
 * about 15 ms, 10 million fmix64 about 400).
 */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
