/**
 * A bounds-checked reader of big-endian integers that never throws. The first problem (running
 * off the end, a value out of range) is recorded with a description, later reads return 0
 * without moving, and the caller checks `failure` once when it is done. Decoding untrusted
 * bytes then needs no try/catch, and the reason for a rejection names the field.
 */
import { U32_SPAN, U64_SAFE_HIGH_MAX } from './limits.js';

export class ByteReader {
  readonly #view: DataView;
  #offset = 0;
  #failure: string | undefined;

  constructor(bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The first problem met, or undefined while everything read was in bounds and valid. */
  get failure(): string | undefined {
    return this.#failure;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#view.byteLength - this.#offset;
  }

  /** Records a problem found by the caller (a value out of range); only the first is kept. */
  fail(detail: string): void {
    this.#failure ??= `${detail} (at byte ${this.#offset})`;
  }

  u8(field: string): number {
    if (!this.#take(1, field)) return 0;
    return this.#view.getUint8(this.#offset - 1);
  }

  u16(field: string): number {
    if (!this.#take(2, field)) return 0;
    return this.#view.getUint16(this.#offset - 2);
  }

  u32(field: string): number {
    if (!this.#take(4, field)) return 0;
    return this.#view.getUint32(this.#offset - 4);
  }

  /** A u64 that must be a safe integer (below 2^53), as a number. */
  u64Safe(field: string): number {
    if (!this.#take(8, field)) return 0;
    const high = this.#view.getUint32(this.#offset - 8);
    const low = this.#view.getUint32(this.#offset - 4);
    if (high > U64_SAFE_HIGH_MAX) {
      this.fail(`${field} is 2^53 or more`);
      return 0;
    }
    return high * U32_SPAN + low;
  }

  /** `length` raw bytes, as a view into the input (not a copy). */
  bytes(length: number, field: string): Uint8Array {
    if (!this.#take(length, field)) return new Uint8Array(0);
    const start = this.#view.byteOffset + this.#offset - length;
    return new Uint8Array(this.#view.buffer, start, length);
  }

  /** Fails unless every byte was read: trailing bytes mean the sender and we disagree. */
  expectEnd(what: string): void {
    if (this.#failure === undefined && this.remaining !== 0) {
      this.fail(`${this.remaining} trailing bytes after ${what}`);
    }
  }

  #take(length: number, field: string): boolean {
    if (this.#failure !== undefined) return false;
    if (length > this.remaining) {
      this.fail(`truncated: ${field} needs ${length} bytes, ${this.remaining} left`);
      return false;
    }
    this.#offset += length;
    return true;
  }
}
