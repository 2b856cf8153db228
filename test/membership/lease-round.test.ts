/**
 * Lease rounds brought forward: an `alive` of a leased item asks for a round at once (its renewal
 * names the new item to the lease program, with the round's pings), at most one per
 * LEASE_ROUND_GAP_MS, and none when rounds are not wanted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_ROUND_GAP_MS, LEASE_ROUND_MS } from '../../src/membership/lease.js';
import type { MembershipNode } from '../../src/membership/node.js';
import { startedCore } from './core-node.js';

/** The times of the lease rounds in the effects taken now. */
function rounds(core: MembershipNode): number[] {
  return core
    .takeEffects()
    .lease.filter((event) => event.kind === 'round')
    .map((event) => event.at);
}

describe('lease rounds brought forward (leaseRoundSoon)', () => {
  it('nothing while no rounds are wanted', () => {
    const core = startedCore(0);
    core.leaseRoundSoon(100);
    assert.deepEqual(rounds(core), []);
  });

  it('a round at once, and the regular rounds go on from it', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    assert.deepEqual(rounds(core), [10]);
    core.leaseRoundSoon(100);
    assert.deepEqual(rounds(core), [100]);
    assert.ok(core.nextWakeAt() <= 100 + LEASE_ROUND_MS);
    core.tick(100 + LEASE_ROUND_MS);
    assert.deepEqual(rounds(core), [100 + LEASE_ROUND_MS]);
  });

  it('a round asked for within LEASE_ROUND_GAP_MS of the last comes at the end of the gap, once', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    rounds(core);
    core.leaseRoundSoon(15);
    core.leaseRoundSoon(16);
    assert.deepEqual(rounds(core), []);
    assert.equal(core.nextWakeAt() <= 10 + LEASE_ROUND_GAP_MS, true);
    core.tick(10 + LEASE_ROUND_GAP_MS);
    assert.deepEqual(rounds(core), [10 + LEASE_ROUND_GAP_MS]);
    core.tick(10 + 2 * LEASE_ROUND_GAP_MS);
    assert.deepEqual(rounds(core), []);
  });
});
