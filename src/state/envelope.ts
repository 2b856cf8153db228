/**
 * The format of a state file: one line of header, then the document as JSON.
 *
 *     flip-state v1 kind=cluster-state bytes=1234 sha256=<64 lowercase hex digits>\n
 *     {"current_term":3,...}\n
 *
 * `kind` says which document the file holds, so that a file of one kind is never read as
 * another; `bytes` is the payload's length (everything after the header's newline, the final
 * newline included) and `sha256` its SHA-256. A reader checks them in that order and names the
 * first that fails: a file cut short says how many bytes it lacks, a flipped bit anywhere in
 * the file changes the header (which must match exactly) or the payload's hash. The header is
 * text so that `head -1` shows it and `tail -n +2 FILE | jq` the document.
 *
 * Encoding and decoding are pure; state-file.ts does the I/O.
 */
import { createHash } from 'node:crypto';
import type { DocumentCheck } from './document-check.js';

/** The first bytes of every state file. */
export const STATE_MAGIC = 'flip-state';

/**
 * The envelope's version. A change to the header's layout is a new version, and this flip
 * refuses to read any other: guessing at a newer layout could half-apply it.
 */
export const STATE_FORMAT_VERSION = 1;

/** The header is at most 177 bytes (a 64-character kind, a 15-digit length); more is not a header. */
export const HEADER_BYTES_MAX = 256;

/** What a kind may be: it is a word of the header, and part of the messages. */
const KIND_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/** A version 1 header; `bytes` has no leading zero and at most 15 digits (a safe integer). */
const HEADER_V1 =
  /^flip-state v1 kind=([a-z][a-z0-9-]{0,63}) bytes=(0|[1-9][0-9]{0,14}) sha256=([0-9a-f]{64})$/;

/** The header of the version this flip reads, or of a later one. */
const HEADER_VERSION = /^flip-state v([0-9]{1,9}) /;

/**
 * The file's bytes for `doc`, which must be JSON-serialisable (what JSON cannot hold, such as
 * undefined fields or NaN, is lost as JSON.stringify loses it).
 */
export function encodeState(kind: string, doc: unknown): Buffer {
  if (!KIND_PATTERN.test(kind)) throw new Error(`assertion failed: bad state kind ${JSON.stringify(kind)}`);
  const json = JSON.stringify(doc);
  if (json === undefined) throw new Error('assertion failed: the state document is not JSON-serialisable');
  const payload = Buffer.from(`${json}\n`, 'utf8');
  const header = `${STATE_MAGIC} v${STATE_FORMAT_VERSION} kind=${kind} bytes=${payload.length} sha256=${sha256(payload)}\n`;
  return Buffer.concat([Buffer.from(header, 'latin1'), payload]);
}

/** What decoding found: the checked document, or the first thing wrong, in words. */
export type Decoded<T> = { ok: true; doc: T } | { ok: false; reason: string };

/** The document of kind `kind` in `bytes`, checked by `check`; never throws. */
export function decodeState<T>(bytes: Uint8Array, kind: string, check: DocumentCheck<T>): Decoded<T> {
  const fail = (reason: string): Decoded<T> => ({ ok: false, reason });
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length === 0) return fail('it is empty (0 bytes)');
  const magic = Buffer.from(STATE_MAGIC, 'latin1');
  if (!data.subarray(0, magic.length).equals(magic)) {
    if (data.length < magic.length && magic.subarray(0, data.length).equals(data))
      return fail(`truncated: it ends after ${data.length} bytes, inside the header`);
    return fail(
      `bad magic: it starts with ${showBytes(data.subarray(0, 16))}, not "${STATE_MAGIC}" (not a flip state file)`,
    );
  }
  const end = data.subarray(0, HEADER_BYTES_MAX).indexOf(0x0a);
  if (end < 0) {
    return data.length < HEADER_BYTES_MAX
      ? fail(`truncated: it ends after ${data.length} bytes, inside the header`)
      : fail(`malformed header: no end of line in its first ${HEADER_BYTES_MAX} bytes`);
  }
  const header = data.subarray(0, end).toString('latin1');
  const version = HEADER_VERSION.exec(header);
  if (version !== null && Number(version[1]) !== STATE_FORMAT_VERSION)
    return fail(
      `format version v${Number(version[1])}, and this flip reads only v${STATE_FORMAT_VERSION} (written by another flip version?)`,
    );
  const fields = HEADER_V1.exec(header);
  if (fields === null)
    return fail(
      `malformed header ${showBytes(data.subarray(0, end), 100)}: expected "${STATE_MAGIC} v${STATE_FORMAT_VERSION} kind=<kind> bytes=<n> sha256=<64 hex digits>"`,
    );
  const [, found_kind, declared_text, declared_sha] = fields as unknown as [string, string, string, string];
  if (found_kind !== kind) return fail(`it holds a ${found_kind}, not a ${kind}`);
  const declared = Number(declared_text);
  const payload = data.subarray(end + 1);
  if (payload.length < declared)
    return fail(
      `truncated: the header declares ${declared} payload bytes and ${payload.length} follow it (${declared - payload.length} missing)`,
    );
  if (payload.length > declared)
    return fail(
      `the header declares ${declared} payload bytes and ${payload.length} follow it (${payload.length - declared} too many)`,
    );
  const actual_sha = sha256(payload);
  if (actual_sha !== declared_sha)
    return fail(
      `checksum mismatch: the payload's SHA-256 is ${actual_sha.slice(0, 16)}…, the header says ${declared_sha.slice(0, 16)}…`,
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return fail('the payload is not UTF-8 text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(`the payload is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const checked = check(value);
  if (!checked.ok) return fail(`the payload is not a valid ${kind}: ${checked.problem}`);
  return { ok: true, doc: checked.doc };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Bytes for a message: quoted when they are printable ASCII, else in hex; at most `max` shown. */
function showBytes(bytes: Uint8Array, max = 16): string {
  const shown = bytes.subarray(0, max);
  const more = bytes.length > max ? ` and ${bytes.length - max} more bytes` : '';
  if (shown.every((byte) => byte >= 0x20 && byte <= 0x7e))
    return `${JSON.stringify(Buffer.from(shown).toString('latin1'))}${more}`;
  return `bytes ${Buffer.from(shown)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ')}${more}`;
}
