/** Release notices on a mocked clock: batching, copies at doubling gaps, acks, giving up, dedupe. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ReleaseNotices } from '../../src/agent/release-notices.js';
import type { ReleasedItem } from '../../src/membership/messages.js';

interface Sent {
  at: number;
  to: number;
  id: number;
  items: ReleasedItem[];
}

let now = 0;
function advance(ms: number): void {
  for (let i = 0; i < ms; i++) {
    now += 1;
    mock.timers.tick(1);
  }
}

function notices(options: { live?: (member: number) => boolean } = {}) {
  const sent: Sent[] = [];
  const live = new Set([1, 2, 3]);
  const releases = new ReleaseNotices({
    send: (to, id, items) => sent.push({ at: now, to, id, items }),
    live: options.live ?? ((member) => live.has(member)),
    now: () => now,
    repeat_ms: 100,
    give_up_ms: 5_000,
    batch_ms: 10,
    first_id: 2 ** 32 - 1,
  });
  return { releases, sent, live };
}

beforeEach(() => {
  now = 0;
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => {
  mock.timers.reset();
});

describe('agent: release notices', () => {
  it('batches releases per receiver, then sends copies at doubling gaps until acknowledged', () => {
    const { releases, sent } = notices();
    releases.released('web', 'a', [1]);
    releases.released('web', 'b', [1, 2]);
    assert.equal(sent.length, 0, 'waits for the batch');
    advance(10);
    assert.deepEqual(
      sent.map(({ to, id, items }) => [to, id, items.map((item) => item.item)]),
      [
        [1, 2 ** 32 - 1, ['a', 'b']],
        [2, 0, ['b']],
      ],
      'one notice per receiver; ids wrap at 2^32',
    );
    releases.acked(2, 0);
    advance(1500);
    const copies = sent.filter((notice) => notice.to === 1).map((notice) => notice.at);
    // First copy at 10; then gaps of 100, 200, 400, 800 (timer ticks are 100 ms apart).
    assert.deepEqual(copies, [10, 110, 310, 710, 1510]);
    assert.equal(sent.filter((notice) => notice.to === 2).length, 1, 'acknowledged: not sent again');
    releases.acked(1, 2 ** 32 - 1);
    advance(2000);
    assert.equal(sent.length, 6);
    assert.equal(releases.unconfirmed, 0);
  });

  it('stops sending to a receiver that is no longer live, and gives up after give_up_ms', () => {
    const { releases, sent, live } = notices();
    releases.released('web', 'a', [1]);
    releases.released('db', 'x', [3]);
    advance(150);
    live.delete(3);
    advance(6000);
    const to3 = sent.filter((notice) => notice.to === 3);
    assert.equal(to3.length, 2, 'the first copy and one more, then 3 went away');
    const to1 = sent.filter((notice) => notice.to === 1);
    assert.ok(to1.length > 5, 'the gap stops doubling at 8 x repeat_ms');
    assert.ok(to1.at(-1)!.at <= 5_010, 'nothing after give_up_ms');
    assert.equal(releases.counters.given_up, 2);
    assert.equal(releases.unconfirmed, 0);
  });

  it('acts on a (sender, id) once and keeps senders apart', () => {
    const { releases } = notices();
    assert.equal(releases.accept(1, 7), true);
    assert.equal(releases.accept(1, 7), false);
    assert.equal(releases.accept(2, 7), true);
    assert.equal(releases.accept(1, 8), true);
    assert.equal(releases.counters.repeats_ignored, 1);
  });

  it('close sends what is queued at once and nothing after', () => {
    const { releases, sent } = notices();
    releases.released('web', 'a', [1]);
    releases.close();
    assert.equal(sent.length, 1);
    releases.released('web', 'b', [1]);
    advance(2000);
    assert.equal(sent.length, 1);
  });
});
