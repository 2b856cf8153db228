import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fmix32, fmix64, fnv1a64, hash64, mul64, type U64 } from '../../src/placement/hash64.js';

// Reference versions in BigInt, written from the definitions, to check the 32-bit-halves code.
const MASK = (1n << 64n) - 1n;
const big = (k: U64) => (BigInt(k.hi) << 32n) | BigInt(k.lo);
const u64 = (value: bigint): U64 => ({
  hi: Number((value >> 32n) & 0xffffffffn),
  lo: Number(value & 0xffffffffn),
});

function fnvReference(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MASK;
  return h;
}

function fmixReference(value: bigint): bigint {
  let k = value;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK;
  return k ^ (k >> 33n);
}

const u64Arb = fc.bigInt({ min: 0n, max: MASK });

describe('hash64: the arithmetic', () => {
  it('mul64 is multiplication mod 2^64', () => {
    fc.assert(
      fc.property(u64Arb, u64Arb, (a, b) => {
        assert.equal(big(mul64(u64(a), u64(b))), (a * b) & MASK);
      }),
      { numRuns: 5000 },
    );
    // The edges: all ones, and the carries out of every 16-bit piece.
    for (const a of [MASK, 0xffffffffn, 0xffff0000ffffn, 1n << 63n, 0n])
      for (const b of [MASK, 0xffffffffn, 0x1ffffn, 3n])
        assert.equal(big(mul64(u64(a), u64(b))), (a * b) & MASK, `${a} * ${b}`);
  });

  it('FNV-1a 64 gives the published values', () => {
    assert.equal(big(fnv1a64('')), 0xcbf29ce484222325n);
    assert.equal(big(fnv1a64('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(big(fnv1a64('foobar')), 0x85944171f73967e8n);
  });

  it('hash64 keeps its values (pinned: every agent of a cluster must compute the same placement)', () => {
    // Checked against an independent Python implementation of FNV-1a 64 and fmix64.
    assert.equal(big(hash64('flip')), 0xb2b6037d4f6f1235n);
    assert.equal(big(hash64('192.168.0.1')), 0x49bc1b8ed85dd527n);
  });

  it('FNV-1a 64 and fmix64 match their BigInt definitions, over UTF-8 of any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        assert.equal(big(fnv1a64(text)), fnvReference(text));
        assert.equal(big(hash64(text)), fmixReference(fnvReference(text)));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(u64Arb, (value) => assert.equal(big(fmix64(u64(value))), fmixReference(value))),
      { numRuns: 3000 },
    );
  });

  it('fmix32 matches its definition and is a bijection on a sample', () => {
    const reference = (value: bigint) => {
      const mask = 0xffffffffn;
      let h = value;
      h ^= h >> 16n;
      h = (h * 0x85ebca6bn) & mask;
      h ^= h >> 13n;
      h = (h * 0xc2b2ae35n) & mask;
      return h ^ (h >> 16n);
    };
    const seen = new Set<number>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        assert.equal(BigInt(fmix32(value)), reference(BigInt(value)));
      }),
      { numRuns: 5000 },
    );
    for (let value = 0; value < 100_000; value++) seen.add(fmix32(value * 40503));
    assert.equal(seen.size, 100_000, 'no two inputs of the sample share an output');
    assert.equal(fmix32(0), 0);
    assert.equal(fmix32(1), 0x514e28b7, 'murmur3 fmix32(1)');
  });

  it('every output bit flips about half the time when one input bit flips (avalanche)', () => {
    // 64 x 200 flips; an ideal mixer flips each output bit with probability 1/2, so each count
    // is Binomial(200, 1/2): mean 100, sd 7.1. Between 60 and 140 is more than 5.6 sd; a mixer
    // whose low input bits never reach the high output bits (FNV-1a alone) fails this.
    const trials = 200;
    const flips = new Array<number>(64).fill(0);
    let seed = 1n;
    for (let t = 0; t < trials; t++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & MASK;
      const base = fmix64(u64(seed));
      const bit = BigInt(t % 64);
      const changed = fmix64(u64(seed ^ (1n << bit)));
      const diff = big(base) ^ big(changed);
      for (let out = 0; out < 64; out++) if ((diff >> BigInt(out)) & 1n) flips[out]!++;
    }
    for (const [out, count] of flips.entries())
      assert.ok(count >= 60 && count <= 140, `output bit ${out} flipped ${count} of ${trials} times`);
  });
});
