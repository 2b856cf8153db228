/**
 * Bounded capture of one output stream of a script, and the shortening of captured text for a log
 * line. Pure: no I/O, no clock.
 *
 * A failing script usually says why at its end, after whatever it printed first, so keeping only
 * the first bytes loses exactly what an operator needs. A capture therefore keeps the head and the
 * tail of the stream, counts every byte, and says in the text exactly what it cut in the middle.
 */

/**
 * Keeps the first and the last bytes of a stream, `bytes_max` in all (the head gets the odd byte),
 * and counts the rest. Memory stays within `bytes_max` however much the stream carries.
 */
export class CapturedOutput {
  readonly #head_bytes_max: number;
  readonly #tail_bytes_max: number;
  readonly #head_chunks: Buffer[] = [];
  #head_bytes = 0;
  /**
   * The newest bytes after the head, as a ring of `tail_bytes_max` bytes; allocated with the first
   * byte after the head, since most scripts never print that much.
   */
  #ring: Buffer | undefined;
  /** Where the next byte goes in the ring; once the ring is full, also where its oldest byte is. */
  #ring_at = 0;
  #after_head_bytes = 0;

  constructor(bytes_max: number) {
    if (!Number.isSafeInteger(bytes_max) || bytes_max < 0)
      throw new RangeError(`bytes_max must be a whole number >= 0, not ${bytes_max}`);
    this.#head_bytes_max = Math.ceil(bytes_max / 2);
    this.#tail_bytes_max = bytes_max - this.#head_bytes_max;
  }

  /** Every byte added so far, kept or not. */
  get bytes_total(): number {
    return this.#head_bytes + this.#after_head_bytes;
  }

  add(chunk: Uint8Array): void {
    let rest = chunk;
    const room = this.#head_bytes_max - this.#head_bytes;
    if (room > 0 && rest.length > 0) {
      const kept = rest.subarray(0, room);
      // A copy: the caller may reuse its buffer.
      this.#head_chunks.push(Buffer.from(kept));
      this.#head_bytes += kept.length;
      rest = rest.subarray(kept.length);
    }
    if (rest.length > 0) this.#addTail(rest);
  }

  /**
   * The captured text: all of it when nothing was cut, otherwise the head, a line with the note of
   * what was cut (see cutNote), and the tail. A multi-byte character split by a cut is dropped
   * whole and counted as cut, so the text has no replacement character the script did not write;
   * bytes that were not UTF-8 to begin with become replacement characters, as decoding never throws.
   */
  text(): string {
    const head = Buffer.concat(this.#head_chunks);
    const tail = this.#tailBytes();
    if (this.#after_head_bytes <= this.#tail_bytes_max) return Buffer.concat([head, tail]).toString('utf8');
    const head_kept = head.subarray(0, completeLength(head));
    const tail_kept = tail.subarray(partialCharLength(tail));
    const note = cutNote('bytes', this.bytes_total, head_kept.length, tail_kept.length);
    return `${head_kept.toString('utf8')}\n${note}\n${tail_kept.toString('utf8')}`;
  }

  #addTail(bytes: Uint8Array): void {
    this.#after_head_bytes += bytes.length;
    const size = this.#tail_bytes_max;
    if (size === 0) return;
    this.#ring ??= Buffer.alloc(size);
    // Only the last `size` bytes of a big chunk can survive in the ring.
    const kept = bytes.length > size ? bytes.subarray(bytes.length - size) : bytes;
    const first = Math.min(kept.length, size - this.#ring_at);
    this.#ring.set(kept.subarray(0, first), this.#ring_at);
    this.#ring.set(kept.subarray(first), 0);
    this.#ring_at = (this.#ring_at + kept.length) % size;
  }

  /** The ring's bytes, oldest first. */
  #tailBytes(): Buffer {
    const ring = this.#ring;
    if (ring === undefined) return Buffer.alloc(0);
    if (this.#after_head_bytes < ring.length) return ring.subarray(0, this.#after_head_bytes);
    return Buffer.concat([ring.subarray(this.#ring_at), ring.subarray(0, this.#ring_at)]);
  }
}

/**
 * The note that stands where a text was cut, e.g.
 * `[... 123456 bytes cut: kept the first 16384 and the last 16384 of 156224 ...]`.
 */
export function cutNote(unit: 'bytes' | 'characters', total: number, head: number, tail: number): string {
  return `[... ${total - head - tail} ${unit} cut: kept the first ${head} and the last ${tail} of ${total} ...]`;
}

/** A capture's note (see CapturedOutput.text) inside a text. */
const CAPTURE_NOTE = /\[\.\.\. \d+ bytes cut: kept the first \d+ and the last \d+ of \d+ \.\.\.\]/g;

/**
 * `text` shortened for a log line to its first `head_chars` and last `tail_chars` characters
 * (UTF-16 code units, never splitting a surrogate pair), with a note of what was cut between
 * them; unchanged when it is that short already. A capture's note inside the part cut out is kept,
 * on its own line after the log's note, since it tells how much the script really wrote; the
 * characters the log's note counts as cut do not include it.
 */
export function shortenText(text: string, head_chars: number, tail_chars: number): string {
  if (text.length <= head_chars + tail_chars) return text;
  let head_end = head_chars;
  let tail_start = text.length - tail_chars;
  if (head_end > 0 && isHighSurrogate(text.charCodeAt(head_end - 1))) head_end--;
  if (tail_start < text.length && isLowSurrogate(text.charCodeAt(tail_start))) tail_start++;
  const notes: string[] = [];
  let notes_chars = 0;
  for (const match of text.matchAll(CAPTURE_NOTE)) {
    const start = match.index;
    const end = start + match[0].length;
    if (end <= head_end || start >= tail_start) continue;
    // A note across the edge of the cut moves the edge, so that it is shown whole, once.
    head_end = Math.min(head_end, start);
    tail_start = Math.max(tail_start, end);
    notes.push(match[0]);
    notes_chars += match[0].length;
  }
  const tail_kept = text.length - tail_start;
  const note = cutNote('characters', text.length - notes_chars, head_end, tail_kept);
  const head = text.slice(0, head_end);
  const tail = text.slice(tail_start);
  // The notes go on lines of their own, without adding an empty line where the text has a newline.
  const before = head === '' || head.endsWith('\n') ? '' : '\n';
  const after = tail.startsWith('\n') ? '' : '\n';
  return `${head}${before}${[note, ...notes].join('\n')}${after}${tail}`;
}

/** The length of `bytes` without an incomplete UTF-8 character at its end. */
function completeLength(bytes: Uint8Array): number {
  // A character is at most 4 bytes, so its first byte is among the last 4.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte < 0xc0 ? 1 : byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : byte < 0xf8 ? 4 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  // Only continuation bytes: not UTF-8 in the first place, which the decoder deals with.
  return bytes.length;
}

/** How many bytes at the start of `bytes` are the rest of a character that began before it. */
function partialCharLength(bytes: Uint8Array): number {
  let length = 0;
  while (length < 3 && length < bytes.length && (bytes[length]! & 0xc0) === 0x80) length++;
  return length;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
