import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, ReadinessUpdate } from '../../src/membership/messages.js';
import { bodySize, decodeBody, encodeBody, updateSize } from '../../src/wire/body.js';
import { UPDATE_KIND_CODES } from '../../src/wire/codes.js';
import { BODY_BYTES_MAX } from '../../src/wire/layout.js';
import { READINESS_SYSTEMS_MAX } from '../../src/wire/limits.js';
import { Rng, randomSystems } from './helpers.js';

const MEMBERS = 5;

function readiness(failing: number[], holding: number[], version = 3, fresh: number[] = []): ReadinessUpdate {
  return { kind: 'readiness', member: 2, incarnation: 1_700_000_000_123, version, failing, holding, fresh };
}

function gossip(...updates: ReadinessUpdate[]): Message {
  return { type: 'gossip', incarnation: 1, updates };
}

/** The byte offset of the first update's fields after its kind, member and incarnation. */
const UPDATE_START = 1 + 8 + 2;
const AFTER_HEADER = UPDATE_START + 1 + 2 + 8;

describe('wire: readiness updates', () => {
  it('is update kind 5, appended after left', () => {
    assert.equal(UPDATE_KIND_CODES.readiness, 5);
    assert.equal(UPDATE_KIND_CODES.left, 4);
  });

  it('round-trips, with sizes that match the encoding', () => {
    for (const update of [
      readiness([], []),
      readiness([0], [7]),
      readiness([3, 8, 9], [0, 1023]),
      readiness([3], [0], 7, [1, 2, 1000]),
      readiness(
        Array.from({ length: 512 }, (_, i) => 2 * i),
        Array.from({ length: 512 }, (_, i) => 2 * i + 1),
        0xffff_ffff,
      ),
    ]) {
      const message = gossip(update);
      const bytes = encodeBody(message, MEMBERS);
      assert.equal(bytes.length, bodySize(message));
      const decoded = decodeBody(bytes, MEMBERS);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.detail);
      assert.deepEqual(decoded.message, message);
    }
  });

  it('the largest update fits a packet with room for others', () => {
    const all = Array.from({ length: READINESS_SYSTEMS_MAX }, (_, i) => i);
    const third = (r: number) => all.filter((i) => i % 3 === r);
    const size = updateSize(readiness(third(0), third(1), 1, third(2)));
    assert.equal(size, 1 + 2 + 8 + 4 + 3 * (2 + 128));
    assert.ok(size * 3 < BODY_BYTES_MAX);
  });

  it('refuses to encode what a receiver would drop', () => {
    assert.throws(() => encodeBody(gossip(readiness([2, 1], [])), MEMBERS), /not sorted and unique/);
    assert.throws(() => encodeBody(gossip(readiness([1], [1])), MEMBERS), /in two sets/);
    assert.throws(
      () => encodeBody(gossip(readiness([READINESS_SYSTEMS_MAX], [])), MEMBERS),
      /not below 1024/,
    );
    assert.throws(() => encodeBody(gossip(readiness([], [], -1)), MEMBERS), /version -1/);
  });

  it('decodes nothing malformed: a system in both sets, a zero last byte, an oversized bitmap', () => {
    const base = encodeBody(gossip(readiness([0], [1])), MEMBERS);
    // version u32, then failing: length u16 = 1, byte 0b01; holding: length 1, byte 0b10.
    const failingByte = AFTER_HEADER + 4 + 2;
    const holdingByte = failingByte + 1 + 2;
    assert.equal(base[failingByte], 0b01);
    assert.equal(base[holdingByte], 0b10);
    const both = base.slice();
    both[holdingByte] = 0b11;
    const zero = base.slice();
    zero[holdingByte] = 0;
    const long = base.slice();
    long[failingByte - 1] = 129;
    for (const [bytes, pattern] of [
      [both, /system 0 is in two sets/],
      [zero, /ends in a zero byte/],
      [long, /longer than 128/],
      [base.slice(0, base.length - 1), /./],
    ] as const) {
      const decoded = decodeBody(bytes, MEMBERS);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.detail, pattern);
    }
  });

  it('random readiness updates round-trip, and every truncation is refused (seed 10)', () => {
    const rng = new Rng(10);
    for (let run = 0; run < 300; run++) {
      const failing = randomSystems(rng);
      const holding = randomSystems(rng, failing);
      const update = readiness(failing, holding, rng.u32(), randomSystems(rng, [...failing, ...holding]));
      const message = gossip(update);
      const bytes = encodeBody(message, MEMBERS);
      const decoded = decodeBody(bytes, MEMBERS);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.message, message);
      const cut = rng.below(bytes.length);
      assert.equal(decodeBody(bytes.slice(0, cut), MEMBERS).ok, false, `cut at ${cut}`);
    }
  });
});
