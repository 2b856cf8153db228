import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import {
  FENCE_DRIFT,
  FENCE_SLACK_MS,
  fencedAt,
  fenceWaitMs,
  KEEP_RENEWAL_MS,
  renewableUntil,
} from '../../src/handover/fence.js';
import { leaseBase } from '../../src/membership/lease.js';

const FRESH = 150;

describe('fence: how long a taker waits after a gone holder was last heard from', () => {
  const cases = [
    // policy, leased, fence_ms -> wait
    { policy: 'keep', leased: false, fence: 1300, wait: 0, why: 'nothing makes the items lapse' },
    {
      policy: 'keep',
      leased: true,
      fence: 1300,
      wait: Math.ceil((1300 + KEEP_RENEWAL_MS) * (1 + FENCE_DRIFT)) + FENCE_SLACK_MS,
      why: 'the last renewal came with the last pings',
    },
    {
      policy: 'release',
      leased: true,
      fence: 1300,
      wait: Math.ceil((1300 + FRESH) * (1 + FENCE_DRIFT)) + FENCE_SLACK_MS,
      why: 'a renewal may follow its quorum of grants by grant_fresh_ms',
    },
    {
      policy: 'release',
      leased: false,
      fence: 2000,
      wait: Math.ceil((2000 + FRESH) * (1 + FENCE_DRIFT)) + FENCE_SLACK_MS,
      why: 'the agent lets go itself',
    },
  ] as const;
  for (const c of cases) {
    it(`${c.policy}${c.leased ? ' with a lease program' : ''}, fence ${c.fence}: ${c.wait} ms (${c.why})`, () => {
      const system = { no_quorum_policy: c.policy, leased: c.leased, fence_ms: c.fence };
      assert.equal(fenceWaitMs(system, FRESH), c.wait);
      assert.equal(
        fencedAt(10_000, system, FRESH),
        c.wait === 0 ? Number.NEGATIVE_INFINITY : 10_000 + c.wait,
      );
    });
  }

  it('the shipped defaults (the nftables fence, 1000 ms): 1147 ms under keep, 1198 ms under release', () => {
    const fence_ms = DEFAULTS.fence_ms;
    assert.equal(fence_ms, 1000);
    assert.equal(fenceWaitMs({ no_quorum_policy: 'keep', leased: true, fence_ms }, FRESH), 1147);
    assert.equal(fenceWaitMs({ no_quorum_policy: 'release', leased: true, fence_ms }, FRESH), 1198);
  });

  it('with fence 1500 (a host without nftables: the address lifetime): 1657 ms under keep, 1708 ms under release', () => {
    assert.equal(fenceWaitMs({ no_quorum_policy: 'keep', leased: true, fence_ms: 1500 }, FRESH), 1657);
    assert.equal(fenceWaitMs({ no_quorum_policy: 'release', leased: true, fence_ms: 1500 }, FRESH), 1708);
  });
});

describe('lease: renewals and their base', () => {
  it('a renewal is allowed only while every grant of its quorum is fresh, with that deadline', () => {
    assert.equal(renewableUntil(1000, 1100, FRESH), 1150);
    assert.equal(renewableUntil(1000, 1150, FRESH), 1150);
    assert.equal(renewableUntil(1000, 1151, FRESH), undefined);
  });

  it('the base is the oldest of the freshest quorum - 1 grants; none needed: now; too few: never', () => {
    assert.equal(leaseBase([500, 900, 700], 2, 1000), 700);
    assert.equal(leaseBase([500, 900, 700], 1, 1000), 900);
    assert.equal(leaseBase([500, 900, 700], 3, 1000), 500);
    assert.equal(leaseBase([500], 2, 1000), Number.NEGATIVE_INFINITY);
    assert.equal(leaseBase([], 0, 1000), 1000);
  });
});
