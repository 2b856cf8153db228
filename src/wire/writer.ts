/**
 * A writer of big-endian integers into a buffer sized in advance. The encoder computes the
 * exact size first (the same functions the protocol core uses to pack packets), so a write
 * past the end or a buffer left short is a bug in the size functions and throws.
 */
import { U32_SPAN } from './limits.js';

export class ByteWriter {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.#view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.#view.setUint8(this.#offset, value);
    this.#offset += 1;
  }

  u16(value: number): void {
    this.#view.setUint16(this.#offset, value);
    this.#offset += 2;
  }

  u32(value: number): void {
    this.#view.setUint32(this.#offset, value);
    this.#offset += 4;
  }

  /** A safe non-negative integer as a u64 (two u32 halves; the caller checked the range). */
  u64(value: number): void {
    this.u32(Math.floor(value / U32_SPAN));
    this.u32(value % U32_SPAN);
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.#offset);
    this.#offset += bytes.length;
  }

  /** The filled buffer; throws if the size computed in advance was wrong. */
  finish(): Uint8Array {
    if (this.#offset !== this.bytes.length) {
      throw new Error(`wire: wrote ${this.#offset} bytes into a buffer of ${this.bytes.length}`);
    }
    return this.bytes;
  }
}
