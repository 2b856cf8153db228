import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPLAY_WINDOW_SEQS, ReplayGuard, type ReplayVerdict } from '../../src/wire/replay.js';
import { Rng } from './helpers.js';

/** Checks then accepts when fresh, like the packet layer does. */
function offer(guard: ReplayGuard, sender: number, bootId: number, seq: number): ReplayVerdict {
  const verdict = guard.check(sender, bootId, seq);
  if (verdict === 'fresh') guard.accept(sender, bootId, seq);
  return verdict;
}

describe('replay guard', () => {
  it('accepts the first packet of a sender whatever its numbers, then refuses a duplicate', () => {
    const guard = new ReplayGuard();
    assert.equal(offer(guard, 1, 1000, 12345), 'fresh');
    assert.equal(offer(guard, 1, 1000, 12345), 'replay');
    assert.equal(offer(guard, 1, 1000, 12346), 'fresh');
  });

  it('accepts packets reordered within the window, once each', () => {
    const guard = new ReplayGuard();
    for (const seq of [10, 5, 7, 6, 9, 8]) assert.equal(offer(guard, 0, 1, seq), 'fresh', `seq ${seq}`);
    for (const seq of [5, 6, 7, 8, 9, 10]) assert.equal(offer(guard, 0, 1, seq), 'replay', `seq ${seq}`);
  });

  it('refuses packets older than the window, and accepts the oldest one inside it', () => {
    const guard = new ReplayGuard();
    const highest = 1000;
    offer(guard, 0, 1, highest);
    assert.equal(guard.check(0, 1, highest - REPLAY_WINDOW_SEQS), 'replay');
    assert.equal(guard.check(0, 1, 0), 'replay');
    assert.equal(offer(guard, 0, 1, highest - REPLAY_WINDOW_SEQS + 1), 'fresh');
    assert.equal(offer(guard, 0, 1, highest - REPLAY_WINDOW_SEQS + 1), 'replay');
  });

  it('forgets seen numbers that slide out of the window, and keeps those that stay in', () => {
    const guard = new ReplayGuard();
    offer(guard, 0, 1, 0);
    offer(guard, 0, 1, 3);
    offer(guard, 0, 1, 3 + REPLAY_WINDOW_SEQS - 1);
    assert.equal(guard.check(0, 1, 3), 'replay', 'still in the window, and seen');
    assert.equal(guard.check(0, 1, 4), 'fresh', 'still in the window, unseen');
    assert.equal(guard.check(0, 1, 0), 'replay', 'out of the window');
    offer(guard, 0, 1, 10_000);
    assert.equal(guard.check(0, 1, 3 + REPLAY_WINDOW_SEQS - 1), 'replay', 'a jump clears the window');
    assert.deepEqual(guard.window(0), { bootId: 1, highestSeq: 10_000, seen: 1n });
  });

  it('handles sequence numbers up to 2^32 - 1', () => {
    const guard = new ReplayGuard();
    assert.equal(offer(guard, 0, 1, 0xffff_ffff), 'fresh');
    assert.equal(offer(guard, 0, 1, 0xffff_fffe), 'fresh');
    assert.equal(offer(guard, 0, 1, 0xffff_ffff), 'replay');
  });

  it('resets on a higher boot id, so a restarted sender starting at 0 gets through', () => {
    const guard = new ReplayGuard();
    offer(guard, 2, 1000, 50_000);
    assert.equal(offer(guard, 2, 2000, 0), 'fresh');
    assert.equal(offer(guard, 2, 2000, 1), 'fresh');
    assert.equal(offer(guard, 2, 2000, 0), 'replay');
    assert.equal(guard.window(2)?.bootId, 2000);
  });

  it('refuses a lower boot id as stale, whatever its sequence number', () => {
    const guard = new ReplayGuard();
    offer(guard, 2, 2000, 5);
    assert.equal(offer(guard, 2, 1999, 6), 'stale_boot');
    assert.equal(offer(guard, 2, 0, 0xffff_ffff), 'stale_boot');
    assert.equal(offer(guard, 2, 2000, 6), 'fresh');
  });

  it('keeps senders apart', () => {
    const guard = new ReplayGuard();
    offer(guard, 0, 5, 1);
    assert.equal(offer(guard, 1, 5, 1), 'fresh');
    assert.equal(offer(guard, 1, 4, 1), 'stale_boot');
    assert.equal(offer(guard, 0, 4, 1), 'stale_boot');
    assert.equal(guard.window(3), undefined);
  });

  it('check changes nothing, and accept refuses a packet that is not fresh', () => {
    const guard = new ReplayGuard();
    offer(guard, 0, 5, 100);
    const before = guard.window(0);
    for (const [bootId, seq] of [
      [5, 100],
      [5, 101],
      [6, 0],
      [4, 200],
      [5, 0],
    ] as const) {
      guard.check(0, bootId, seq);
    }
    assert.deepEqual(guard.window(0), before);
    assert.throws(() => guard.accept(0, 5, 100), /replay/);
    assert.throws(() => guard.accept(0, 4, 100), /stale_boot/);
  });

  it('agrees with a naive model over random traffic', () => {
    const seed = 2024;
    const rng = new Rng(seed);
    const guard = new ReplayGuard();
    // The model remembers every accepted (boot, seq), not just a window, for the latest boot
    // and the one before it.
    type Boot = { bootId: number; highestSeq: number; seen: Set<number> };
    const model = new Map<number, Boot>();
    const previous = new Map<number, Boot>();
    for (let i = 0; i < 20_000; i++) {
      const sender = rng.below(3);
      const latest = model.get(sender);
      // Mostly the current boot; now and then a restart or a packet from an earlier boot.
      let bootId = latest === undefined ? rng.below(3) : latest.bootId;
      if (latest !== undefined && rng.chance(0.05)) bootId += rng.pick([-2, -1, 1]);
      const known = bootId === previous.get(sender)?.bootId ? previous.get(sender) : latest;
      const base = known?.highestSeq ?? 0;
      const seq = Math.max(0, base + rng.between(-REPLAY_WINDOW_SEQS - 8, 8));
      let expected: ReplayVerdict;
      if (latest === undefined || bootId > latest.bootId) expected = 'fresh';
      else if (bootId !== known!.bootId) expected = 'stale_boot';
      else if (known!.seen.has(seq) || seq <= known!.highestSeq - REPLAY_WINDOW_SEQS) expected = 'replay';
      else expected = 'fresh';
      assert.equal(offer(guard, sender, bootId, seq), expected, `seed ${seed}, step ${i}`);
      if (expected !== 'fresh') continue;
      if (latest === undefined || bootId > latest.bootId) {
        if (latest !== undefined) previous.set(sender, latest);
        else previous.delete(sender);
        model.set(sender, { bootId, highestSeq: seq, seen: new Set([seq]) });
      } else {
        known!.seen.add(seq);
        known!.highestSeq = Math.max(known!.highestSeq, seq);
      }
    }
  });
});
