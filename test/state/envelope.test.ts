/**
 * The state file format: what it writes, and that every kind of damage is found and named: a
 * flipped byte anywhere, a cut anywhere, bytes added, another kind or version, a bad shape.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DocumentCheck } from '../../src/state/document-check.js';
import { decodeState, encodeState, HEADER_BYTES_MAX, STATE_MAGIC } from '../../src/state/envelope.js';
import { Random } from '../../src/testing/seeded.js';

const anything: DocumentCheck<unknown> = (value) => ({ ok: true, doc: value });
const doc = {
  current_term: 7,
  voted_for: 'flip2',
  items: ['192.168.0.1', '192.168.0.2', 'é ü 名前'],
  nested: { a: [1, 2, { b: null }], c: true },
};

function reasonOf(bytes: Uint8Array, kind = 'test-doc'): string {
  const decoded = decodeState(bytes, kind, anything);
  assert.equal(decoded.ok, false, 'damage must be found');
  return decoded.ok ? '' : decoded.reason;
}

describe('state: the file format', () => {
  it('writes one header line, then the JSON payload, and reads it back', () => {
    const bytes = encodeState('test-doc', doc);
    const text = bytes.toString('utf8');
    const newline = text.indexOf('\n');
    const header = text.slice(0, newline);
    const payload = Buffer.from(text.slice(newline + 1), 'utf8');
    assert.match(header, /^flip-state v1 kind=test-doc bytes=(\d+) sha256=[0-9a-f]{64}$/);
    assert.equal(Number(/bytes=(\d+)/.exec(header)![1]), payload.length);
    assert.deepEqual(JSON.parse(payload.toString('utf8')), doc);
    assert.ok(header.length < HEADER_BYTES_MAX);
    assert.deepEqual(decodeState(bytes, 'test-doc', anything), { ok: true, doc });
  });

  it('finds every single flipped byte, at 1000 random offsets (seeded)', () => {
    const seed = 1234;
    const random = new Random(seed);
    const bytes = encodeState('test-doc', doc);
    const header_end = bytes.indexOf(0x0a);
    let in_payload = 0;
    for (let trial = 0; trial < 1000; trial++) {
      const offset = random.int(bytes.length);
      const mask = 1 + random.int(255);
      const damaged = Buffer.from(bytes);
      damaged[offset]! ^= mask;
      const decoded = decodeState(damaged, 'test-doc', anything);
      assert.equal(decoded.ok, false, `seed ${seed}, trial ${trial}: byte ${offset} ^ ${mask} went unseen`);
      if (offset > header_end) {
        in_payload += 1;
        assert.match(
          decoded.ok ? '' : decoded.reason,
          /^checksum mismatch: /,
          `seed ${seed}, trial ${trial}`,
        );
      }
    }
    assert.ok(in_payload > 100, 'the payload got its share of the flips');
  });

  it('finds every single flipped bit of the header, each one', () => {
    const bytes = encodeState('test-doc', doc);
    const header_end = bytes.indexOf(0x0a);
    for (let offset = 0; offset <= header_end; offset++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(bytes);
        damaged[offset]! ^= 1 << bit;
        assert.equal(decodeState(damaged, 'test-doc', anything).ok, false, `byte ${offset}, bit ${bit}`);
      }
    }
  });

  it('says a file cut short is truncated, wherever it is cut', () => {
    const bytes = encodeState('test-doc', doc);
    const header_end = bytes.indexOf(0x0a);
    for (let length = 1; length < bytes.length; length++) {
      const reason = reasonOf(bytes.subarray(0, length));
      if (length === header_end || length === header_end - 1)
        // Cut inside the checksum: the header no longer has the form of one.
        assert.match(reason, /^(truncated|malformed header)/, `cut at ${length}`);
      else if (length > header_end)
        assert.match(
          reason,
          new RegExp(
            `^truncated: the header declares ${bytes.length - header_end - 1} payload bytes and ${length - header_end - 1} follow it`,
          ),
          `cut at ${length}`,
        );
      else
        assert.match(
          reason,
          /^(truncated: it ends after \d+ bytes, inside the header|malformed header)/,
          `cut at ${length}`,
        );
    }
    assert.equal(reasonOf(new Uint8Array()), 'it is empty (0 bytes)');
  });

  it('names bytes added after the payload', () => {
    const bytes = encodeState('test-doc', doc);
    assert.match(reasonOf(Buffer.concat([bytes, Buffer.from('xyz')])), /\(3 too many\)$/);
  });

  it('says what a file of something else is', () => {
    assert.match(
      reasonOf(Buffer.from('{"current_term": 1}\n')),
      /^bad magic: it starts with "\{\\"current_term\\":", not "flip-state" \(not a flip state file\)$/,
    );
    assert.match(
      reasonOf(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])),
      /^bad magic: it starts with bytes 7f 45 4c 46 02 01 01 00,/,
    );
    assert.match(
      reasonOf(Buffer.from(`${STATE_MAGIC} ${'x'.repeat(300)}`)),
      /^malformed header: no end of line in its first 256 bytes$/,
    );
    assert.match(
      reasonOf(Buffer.from(`${STATE_MAGIC} v1 kind=test-doc bytes=01 sha256=00\n{}`)),
      /^malformed header "flip-state v1 kind=test-doc bytes=01 sha256=00": expected/,
    );
  });

  it('refuses another kind, and another format version', () => {
    const bytes = encodeState('other-doc', doc);
    assert.equal(reasonOf(bytes), 'it holds a other-doc, not a test-doc');
    const v2 = Buffer.from(encodeState('test-doc', doc).toString('latin1').replace(' v1 ', ' v2 '), 'latin1');
    assert.match(reasonOf(v2), /^format version v2, and this flip reads only v1/);
  });

  it('names a payload that is not JSON, or not UTF-8, though its checksum holds', () => {
    const forge = (payload: Buffer) => {
      const sha = createHash('sha256').update(payload).digest('hex');
      return Buffer.concat([
        Buffer.from(`flip-state v1 kind=test-doc bytes=${payload.length} sha256=${sha}\n`),
        payload,
      ]);
    };
    assert.match(reasonOf(forge(Buffer.from('{"a": 1,}\n'))), /^the payload is not JSON: .*position 8/);
    assert.equal(reasonOf(forge(Buffer.from([0x22, 0xff, 0x22]))), 'the payload is not UTF-8 text');
  });

  it('hands the parsed value to the check, and reports its problem', () => {
    const check: DocumentCheck<number> = (value) =>
      typeof value === 'number' ? { ok: true, doc: value } : { ok: false, problem: 'must be a number' };
    assert.deepEqual(decodeState(encodeState('test-doc', 5), 'test-doc', check), { ok: true, doc: 5 });
    assert.deepEqual(decodeState(encodeState('test-doc', 'five'), 'test-doc', check), {
      ok: false,
      reason: 'the payload is not a valid test-doc: must be a number',
    });
  });

  it('refuses to write what JSON cannot hold, or a kind that cannot be a header word', () => {
    assert.throws(() => encodeState('test-doc', undefined), /not JSON-serialisable/);
    assert.throws(() => encodeState('Test doc', {}), /bad state kind/);
  });
});
