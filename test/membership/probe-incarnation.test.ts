/**
 * A probe's failure tells of the incarnation it probed: a member heard of at a newer one while the
 * probe waited (it restarted, and our pings went to its old run; or it refuted) is not suspected
 * for it. Found by the simulator's `return` scenario: a server restarted within a probe's timeout
 * was declared down at its new incarnation, and its peer took its item while it took it back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { MembershipNode } from '../../src/membership/node.js';
import { startedCore } from './core-node.js';

/** Runs member 0's first probe to its end: its pings unanswered, the helper's nack heard. */
function failedProbe(heardMeanwhile: (core: MembershipNode, target: number, at: number) => void) {
  const core = startedCore(0);
  // Both peers heard of, at their first incarnations.
  core.receive(1, 1, { type: 'gossip', incarnation: 1001, updates: [] });
  core.receive(1, 2, { type: 'gossip', incarnation: 1002, updates: [] });
  core.takeEffects();
  const start = DEFAULTS.gossip_interval_ms;
  core.tick(start);
  const probe = core.takeEffects().sends.find((send) => send.message.type === 'ping');
  assert.ok(probe !== undefined && probe.message.type === 'ping');
  const target = probe.to;
  const helper = target === 1 ? 2 : 1;
  // Half the timeout: the retry and the indirect probe through the helper, which nacks.
  const indirectAt = start + DEFAULTS.ping_timeout_ms / 2;
  core.tick(indirectAt);
  const request = core.takeEffects().sends.find((send) => send.message.type === 'ping_req');
  assert.ok(request !== undefined && request.message.type === 'ping_req' && request.to === helper);
  core.receive(indirectAt + 10, helper, {
    type: 'nack',
    seq: request.message.seq,
    incarnation: 1000 + helper,
    updates: [],
  });
  heardMeanwhile(core, target, indirectAt + 20);
  core.takeEffects();
  core.tick(start + DEFAULTS.ping_timeout_ms);
  return { core, target };
}

describe('a failed probe is a report against the incarnation it probed only', () => {
  it('nothing heard meanwhile: the target is suspected at its incarnation', () => {
    const { core, target } = failedProbe(() => {});
    assert.deepEqual(core.member(target).state, 'probably_down');
    assert.deepEqual(core.reportersOf(target), [0]);
  });

  it('its next run heard meanwhile (a restart): no report against it', () => {
    const { core, target } = failedProbe((c, t, at) =>
      c.receive(at, t, { type: 'ping', seq: 5, target: t, flags: 1, incarnation: 900_000, updates: [] }),
    );
    assert.equal(core.member(target).incarnation, 900_000);
    assert.equal(core.member(target).state, 'alive');
    assert.deepEqual(core.reportersOf(target), []);
    assert.ok(core.counters.reports_withheld >= 1);
  });

  it('the same run heard meanwhile (no ack to our pings): it is suspected all the same', () => {
    // A member that can send but not receive is still reported: hearing it proves nothing.
    const { core, target } = failedProbe((c, t, at) =>
      c.receive(at, t, { type: 'gossip', incarnation: 1000 + t, updates: [] }),
    );
    assert.equal(core.member(target).state, 'probably_down');
  });
});
