/**
 * The random pool that nonces come from: every byte handed out once, views that stay as they
 * were when the next block is drawn, and requests larger than a block served on their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RANDOM_POOL_BLOCK_BYTES, RandomPool } from '../../src/wire/random-pool.js';

/** A fill that numbers the bytes it writes, so that a byte handed out twice shows. */
function counting(): { fill: (block: Uint8Array) => void; calls: () => number } {
  let next = 0;
  let calls = 0;
  return {
    fill: (block) => {
      calls++;
      for (let i = 0; i < block.length; i++) block[i] = next++ % 251;
    },
    calls: () => calls,
  };
}

describe('RandomPool', () => {
  it('hands out every byte once, drawing a new block only when one runs out', () => {
    const source = counting();
    const pool = new RandomPool(50, source.fill);
    const taken: number[] = [];
    for (let i = 0; i < 20; i++) taken.push(...pool.take(12));
    // 4 nonces of 12 fit in a block of 50: 20 nonces take 5 blocks, 2 bytes of each left unused.
    assert.equal(source.calls(), 5);
    assert.equal(pool.blocks, 5);
    const expected = Array.from({ length: 5 }, (_, block) =>
      Array.from({ length: 48 }, (_, i) => (block * 50 + i) % 251),
    ).flat();
    assert.deepEqual(taken, expected);
  });

  it('a view keeps its bytes when the next block is drawn', () => {
    const pool = new RandomPool(24, counting().fill);
    const first = pool.take(12);
    const copy = [...first];
    pool.take(12);
    pool.take(12);
    pool.take(12);
    assert.deepEqual([...first], copy);
  });

  it('a request larger than a block gets bytes of its own', () => {
    const source = counting();
    const pool = new RandomPool(16, source.fill);
    assert.equal(pool.take(40).length, 40);
    assert.equal(pool.blocks, 0);
    assert.equal(pool.take(12).length, 12);
    assert.equal(pool.blocks, 1);
  });

  it('draws from the CSPRNG by default: no two nonces of many blocks alike', () => {
    const pool = new RandomPool();
    const seen = new Set<string>();
    const count = Math.ceil((3 * RANDOM_POOL_BLOCK_BYTES) / 12);
    for (let i = 0; i < count; i++) seen.add(Buffer.from(pool.take(12)).toString('hex'));
    assert.equal(seen.size, count);
    assert.ok(pool.blocks >= 3);
  });

  it('refuses a block size that is not a whole number above 0', () => {
    assert.throws(() => new RandomPool(0), /blockBytes 0/);
    assert.throws(() => new RandomPool(1.5), /blockBytes 1.5/);
  });
});
