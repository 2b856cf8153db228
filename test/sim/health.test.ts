/**
 * Health checks and hold-down in the simulator: a server whose check fails gives its items up
 * (break-before-make), and gets them back only after its check passes again and the hold-down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handoverCheck, heldCheck, ownerCheck } from '../../src/sim/checkers.js';
import { readmeCluster } from '../../src/sim/clusters.js';
import { buildSimulation } from '../../src/sim/scenarios.js';

const FLIP1 = 0; // readme cluster, in server order: flip1 (priority 1), flip, flip2
const FLIP = 1;
const HOLD_DOWN_MS = 10_000;

function checkedCluster() {
  const config = readmeCluster();
  return {
    ...config,
    systems: config.systems.map((system) => ({
      ...system,
      check: 'sim-check',
      check_interval_ms: 1000,
      rise: 2,
      fall: 3,
      hold_down_ms: HOLD_DOWN_MS,
    })),
  };
}

describe('simulator: health checks', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: a failing check moves the items, a passing one brings them back after the hold-down`, () => {
      const sim = buildSimulation(checkedCluster(), seed);
      sim.startAll();
      sim.runUntil(15_000);
      assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [FLIP1], 'settled: flip1 holds its item');

      sim.failChecks(FLIP1, 'ip');
      const failedAt = sim.now;
      const moved = sim.runUntilTrue(
        () => sim.hostsOf('ip', '192.168.0.1').join() === String(FLIP),
        sim.now + 20_000,
      );
      assert.ok(moved !== undefined, 'the item moved to flip');
      // Three failed checks a second apart, then a plan: never sooner than the fall.
      assert.ok(moved - failedAt >= 2000, `moved after ${moved - failedAt} ms`);
      assert.equal(sim.stateIn(FLIP, FLIP1), 'alive', 'flip1 stays live: it answers and votes');

      sim.failChecks(FLIP1, 'ip', false);
      const passingAt = sim.now;
      // Two passes (rise) and the hold-down: the item stays on flip meanwhile.
      sim.runUntil(passingAt + HOLD_DOWN_MS);
      assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [FLIP], 'still on flip during the hold-down');
      const back = sim.runUntilTrue(
        () => sim.hostsOf('ip', '192.168.0.1').join() === String(FLIP1),
        sim.now + 10_000,
      );
      assert.ok(back !== undefined, 'the item came back to flip1');
      for (const result of [handoverCheck(sim), ownerCheck(sim), heldCheck(sim)])
        assert.ok(result.ok, `${result.name}: ${result.detail}`);
    });
  }

  it('a check that flaps (fails, passes, fails, ...) moves the item once, not back and forth', () => {
    const sim = buildSimulation(checkedCluster(), 9);
    sim.startAll();
    sim.runUntil(15_000);
    let moves = 0;
    let last = sim.hostsOf('ip', '192.168.0.1').join();
    // 6 s failing, 4 s passing, 6 times: each pass is shorter than rise + hold-down.
    for (let round = 0; round < 6; round++) {
      sim.failChecks(FLIP1, 'ip');
      for (let t = 0; t < 6000; t += 100) {
        sim.runUntil(sim.now + 100);
        const now = sim.hostsOf('ip', '192.168.0.1').join();
        if (now !== last && now !== '') moves++;
        if (now !== '') last = now;
      }
      sim.failChecks(FLIP1, 'ip', false);
      for (let t = 0; t < 4000; t += 100) {
        sim.runUntil(sim.now + 100);
        const now = sim.hostsOf('ip', '192.168.0.1').join();
        if (now !== last && now !== '') moves++;
        if (now !== '') last = now;
      }
    }
    assert.equal(moves, 1, 'moved to flip once and stayed there');
    assert.equal(last, String(FLIP));
    for (const result of [handoverCheck(sim), ownerCheck(sim)]) assert.ok(result.ok, result.detail);
  });
});
