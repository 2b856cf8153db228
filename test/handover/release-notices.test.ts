/** Release notices in virtual time: batching, copies at doubling gaps, acks, giving up, dedupe. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type OutgoingNotice, ReleaseNotices } from '../../src/handover/release-notices.js';

interface Sent extends OutgoingNotice {
  at: number;
}

/** A notices instance driven the way the agent drives it: tick at every wake-up, send what it says. */
function notices() {
  const sent: Sent[] = [];
  const live = new Set([1, 2, 3]);
  const releases = new ReleaseNotices({
    repeat_ms: 100,
    give_up_ms: 5_000,
    batch_ms: 10,
    first_id: 2 ** 32 - 1,
  });
  let now = 0;
  const collect = () => {
    for (const notice of releases.takeSends()) sent.push({ ...notice, at: now });
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const wake = releases.nextWakeAt();
      if (wake > until) break;
      now = Math.max(now, wake);
      releases.tick(now, (member) => live.has(member));
      collect();
    }
    now = until;
  };
  return {
    releases,
    sent,
    live,
    advance,
    released: (system: string, item: string, to: number[]) => releases.released(now, system, item, to),
    close: () => {
      releases.close(now);
      collect();
    },
  };
}

describe('handover: release notices', () => {
  it('batches releases per receiver, then sends copies at doubling gaps until acknowledged', () => {
    const { releases, sent, advance, released } = notices();
    released('web', 'a', [1]);
    released('web', 'b', [1, 2]);
    assert.equal(sent.length, 0, 'waits for the batch');
    assert.equal(releases.nextWakeAt(), 10);
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
    // First copy at 10; then gaps of 100, 200, 400, 800.
    assert.deepEqual(copies, [10, 110, 310, 710, 1510]);
    assert.equal(sent.filter((notice) => notice.to === 2).length, 1, 'acknowledged: not sent again');
    releases.acked(1, 2 ** 32 - 1);
    advance(2000);
    assert.equal(sent.length, 6);
    assert.equal(releases.unconfirmed, 0);
    assert.equal(releases.nextWakeAt(), Number.POSITIVE_INFINITY, 'nothing left to wake up for');
  });

  it('stops sending to a receiver that is no longer live, and gives up after give_up_ms', () => {
    const { releases, sent, live, advance, released } = notices();
    released('web', 'a', [1]);
    released('db', 'x', [3]);
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
    const { sent, advance, released, close, releases } = notices();
    released('web', 'a', [1]);
    close();
    assert.equal(sent.length, 1);
    released('web', 'b', [1]);
    advance(2000);
    assert.equal(sent.length, 1);
    assert.equal(releases.nextWakeAt(), Number.POSITIVE_INFINITY);
  });
});
