/**
 * Random bytes drawn from the system's CSPRNG a block at a time: sealing a packet needs a fresh
 * 12-byte nonce, and one `randomFillSync` per packet (a call into OpenSSL with its locking and a
 * new Buffer) was about a twentieth of an idle agent's JavaScript time. The bytes are the same
 * CSPRNG's, each handed out once: `take` returns a view of bytes no other call has had, and a
 * block is never refilled (a new one is drawn), so a view stays as it was.
 */
import { randomFillSync } from 'node:crypto';

/** Bytes drawn at once: 341 nonces. */
export const RANDOM_POOL_BLOCK_BYTES = 4096;

export class RandomPool {
  readonly #blockBytes: number;
  readonly #fill: (block: Uint8Array) => void;
  #block: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #blocks = 0;

  constructor(blockBytes = RANDOM_POOL_BLOCK_BYTES, fill: (block: Uint8Array) => void = randomFillSync) {
    if (!Number.isInteger(blockBytes) || blockBytes < 1)
      throw new RangeError(`RandomPool: blockBytes ${blockBytes} is not a whole number above 0`);
    this.#blockBytes = blockBytes;
    this.#fill = fill;
  }

  /** Blocks drawn so far. */
  get blocks(): number {
    return this.#blocks;
  }

  /** `n` random bytes that nothing else was given; a block of their own when `n` exceeds a block. */
  take(n: number): Uint8Array {
    if (n > this.#blockBytes) {
      const bytes = new Uint8Array(n);
      this.#fill(bytes);
      return bytes;
    }
    if (this.#offset + n > this.#block.length) {
      this.#block = new Uint8Array(this.#blockBytes);
      this.#fill(this.#block);
      this.#offset = 0;
      this.#blocks++;
    }
    const bytes = this.#block.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return bytes;
  }
}
