import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CapturedOutput, cutNote, shortenText } from '../../src/executor/captured-output.js';

/** Captures `text` (or bytes), fed in chunks of `chunk_bytes`. */
function capture(
  bytes_max: number,
  input: string | Buffer,
  chunk_bytes = Number.POSITIVE_INFINITY,
): CapturedOutput {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const output = new CapturedOutput(bytes_max);
  for (let at = 0; at < bytes.length; at += Math.min(chunk_bytes, bytes.length)) {
    output.add(bytes.subarray(at, at + chunk_bytes));
  }
  return output;
}

describe('executor: CapturedOutput', () => {
  it('keeps nothing and says nothing for no bytes', () => {
    assert.equal(capture(10, '').text(), '');
    assert.equal(capture(10, '').bytes_total, 0);
    assert.equal(capture(0, '').text(), '');
  });

  it('keeps everything up to exactly the budget, cuts from one byte more', () => {
    assert.equal(capture(10, '0123456789').text(), '0123456789');
    assert.equal(
      capture(10, '0123456789a').text(),
      '01234\n[... 1 bytes cut: kept the first 5 and the last 5 of 11 ...]\n6789a',
    );
    assert.equal(capture(10, '0123456789a').bytes_total, 11);
  });

  it('gives the head the odd byte, and a budget of 0 keeps only the count', () => {
    assert.equal(
      capture(3, 'abcd').text(),
      'ab\n[... 1 bytes cut: kept the first 2 and the last 1 of 4 ...]\nd',
    );
    assert.equal(capture(1, 'ab').text(), 'a\n[... 1 bytes cut: kept the first 1 and the last 0 of 2 ...]\n');
    assert.equal(capture(0, 'abc').text(), '\n[... 3 bytes cut: kept the first 0 and the last 0 of 3 ...]\n');
  });

  it('keeps the newest tail bytes whatever the chunk sizes', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const expected = `${text.slice(0, 50)}\n${cutNote('bytes', 1000, 50, 50)}\n${text.slice(-50)}`;
    for (const chunk_bytes of [1, 7, 49, 50, 51, 100, 999, 1000])
      assert.equal(capture(100, text, chunk_bytes).text(), expected, `chunks of ${chunk_bytes}`);
  });

  it('does not keep a multi-byte character split by a cut, and counts its bytes as cut', () => {
    // 'é' is 2 bytes, '€' 3 and '😀' 4: 'éé-€€' is 11 bytes.
    assert.equal(
      capture(6, 'éé-€€').text(),
      'é\n[... 6 bytes cut: kept the first 2 and the last 3 of 11 ...]\n€',
      'a head of 3 bytes ends inside the second é',
    );
    assert.equal(
      capture(4, 'éé-€€').text(),
      'é\n[... 9 bytes cut: kept the first 2 and the last 0 of 11 ...]\n',
      'a tail of 2 bytes is only the end of a €, so it keeps none',
    );
    assert.equal(
      capture(8, '😀x😀').text(),
      '😀\n[... 1 bytes cut: kept the first 4 and the last 4 of 9 ...]\n😀',
    );
    assert.equal(
      capture(6, '😀x😀').text(),
      '\n[... 9 bytes cut: kept the first 0 and the last 0 of 9 ...]\n',
    );
    // A split at the border of head and tail, with nothing cut, joins the character again.
    assert.equal(capture(4, 'a€').text(), 'a€');
  });

  it('never throws on bytes that are not UTF-8, and replaces only those', () => {
    const bytes = Buffer.from([0x80, 0xff, 0x61, 0xc3]);
    assert.equal(capture(100, bytes).text(), '\ufffd\ufffda\ufffd');
    assert.doesNotThrow(() => capture(3, Buffer.from([0xff, 0xfe, 0x80, 0x80, 0x80, 0x80, 0xc3])).text());
  });

  it('is, for any input, the head, an exact note and the tail, within the budget', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 50 }),
        (text, bytes_max, chunk_bytes) => {
          const bytes = Buffer.from(text);
          const output = capture(bytes_max, bytes, chunk_bytes);
          const result = output.text();
          assert.equal(output.bytes_total, bytes.length);
          if (bytes.length <= bytes_max) {
            assert.equal(result, bytes.toString('utf8'));
            return;
          }
          const match =
            /\n\[\.\.\. (\d+) bytes cut: kept the first (\d+) and the last (\d+) of (\d+) \.\.\.\]\n/.exec(
              result,
            );
          assert.ok(match, result);
          const [cut, head, tail, total] = match.slice(1).map(Number) as [number, number, number, number];
          assert.equal(total, bytes.length);
          assert.equal(cut + head + tail, total);
          assert.ok(head <= Math.ceil(bytes_max / 2) && tail <= Math.floor(bytes_max / 2));
          assert.ok(head > Math.ceil(bytes_max / 2) - 4 && tail > Math.floor(bytes_max / 2) - 4);
          assert.equal(result.slice(0, match.index), bytes.subarray(0, head).toString('utf8'));
          assert.doesNotMatch(result, /\ufffd/, 'well-formed text gets no replacement character');
          assert.equal(
            result.slice(match.index + match[0].length),
            bytes.subarray(bytes.length - tail).toString('utf8'),
          );
        },
      ),
    );
  });

  it('refuses a budget that is not a whole number >= 0', () => {
    assert.throws(() => new CapturedOutput(-1), RangeError);
    assert.throws(() => new CapturedOutput(1.5), RangeError);
  });
});

describe('executor: shortenText', () => {
  it('leaves a text that fits as it is', () => {
    assert.equal(shortenText('', 2, 2), '');
    assert.equal(shortenText('abcd', 2, 2), 'abcd');
  });

  it('keeps the head and the tail and notes the characters cut', () => {
    assert.equal(
      shortenText('abcdefg', 2, 2),
      'ab\n[... 3 characters cut: kept the first 2 and the last 2 of 7 ...]\nfg',
    );
    assert.equal(
      shortenText('abcde', 2, 2),
      'ab\n[... 1 characters cut: kept the first 2 and the last 2 of 5 ...]\nde',
    );
  });

  it('does not split a surrogate pair', () => {
    assert.equal(
      shortenText('a😀bc😀d', 2, 2),
      'a\n[... 6 characters cut: kept the first 1 and the last 1 of 8 ...]\nd',
    );
  });

  it("keeps a capture's note that falls in the part cut out, whole", () => {
    const captured = capture(64, `${'h'.repeat(100)}${'t'.repeat(100)}`).text();
    const capture_note = cutNote('bytes', 200, 32, 32);
    assert.equal(captured, `${'h'.repeat(32)}\n${capture_note}\n${'t'.repeat(32)}`);
    assert.equal(
      shortenText(captured, 10, 10),
      `${'h'.repeat(10)}\n${cutNote('characters', 66, 10, 10)}\n${capture_note}\n${'t'.repeat(10)}`,
    );
    // A cut across the capture's note moves the cut's edge to keep the note whole; no empty line
    // is added next to the newline that came with it.
    assert.equal(
      shortenText(captured, 40, 50),
      `${'h'.repeat(32)}\n${cutNote('characters', 66, 33, 33)}\n${capture_note}\n${'t'.repeat(32)}`,
    );
  });
});
