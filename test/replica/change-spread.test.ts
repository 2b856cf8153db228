/**
 * The harness behind bench:changes (src/replica/change-spread.ts, timed-cluster.ts): what it
 * measures is what happened. Every change is applied on every server as one version, in order;
 * with loss, a change answered committed is applied everywhere, and the servers end on one
 * version; and a save holds back what comes after it, so a change's answer waits for three
 * saves in a row and its last apply for four. No wall-clock timing is asserted here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RAFT_TIMING } from '../../src/consensus/timing.js';
import { measureChangeSpread } from '../../src/replica/change-spread.js';
import { LAN_LINKS, SSD_DISK } from '../../src/replica/timed-cluster.js';

describe('change spread harness', () => {
  it('3 servers, no loss: 30 changes, each committed and applied on every server as the next version', () => {
    const result = measureChangeSpread({
      seed: 11,
      servers: 3,
      changes: 30,
      timing: DEFAULT_RAFT_TIMING,
      links: LAN_LINKS,
      disk: SSD_DISK,
    });
    assert.equal(result.samples.length, 30);
    assert.deepEqual(
      result.samples.map((s) => s.version),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    for (const sample of result.samples) {
      assert.equal(sample.answer, 'committed');
      assert.notEqual(sample.applied_all_ms, null);
      assert.ok(sample.applied_all_ms! >= sample.applied_first_ms!);
    }
    assert.equal(result.version, 30);
    // Random servers were asked, so some changes were forwarded to the leader.
    assert.ok(result.samples.some((s) => !s.at_leader));
  });

  it('9 servers, 5% loss: every change answered committed is applied everywhere, versions in order, one final version', () => {
    const result = measureChangeSpread({
      seed: 12,
      servers: 9,
      changes: 40,
      timing: DEFAULT_RAFT_TIMING,
      links: { ...LAN_LINKS, loss: 0.05 },
      disk: SSD_DISK,
    });
    const made = result.samples.flatMap((s) => (s.version === null ? [] : [s.version]));
    assert.deepEqual(
      made,
      Array.from({ length: made.length }, (_, i) => i + 1),
    );
    assert.equal(result.version, made.length);
    for (const sample of result.samples)
      if (sample.answer === 'committed') assert.notEqual(sample.applied_all_ms, null);
    assert.ok(result.samples.filter((s) => s.answer === 'committed').length >= 30);
  });

  it('a save holds back the effects after it: the answer waits for three saves, the last apply for four', () => {
    const save_ms = 20;
    const result = measureChangeSpread({
      seed: 13,
      servers: 3,
      changes: 10,
      timing: DEFAULT_RAFT_TIMING,
      links: LAN_LINKS,
      disk: { save_ms_min: save_ms, save_ms_max: save_ms },
    });
    for (const sample of result.samples) {
      // The leader's copy, a follower's copy, the leader's commit; then a follower's commit.
      assert.ok(sample.answer_ms >= 3 * save_ms, `answer after ${sample.answer_ms} ms`);
      assert.ok(sample.applied_all_ms! >= 4 * save_ms, `last apply after ${sample.applied_all_ms} ms`);
    }
  });
});
