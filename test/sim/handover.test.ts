/**
 * The simulator runs the daemon's controller, so hand-over is visible to it: release notices
 * travel between simulated nodes, and a returning server waits for its item to be released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readmeCluster } from '../../src/sim/clusters.js';
import { buildSimulation } from '../../src/sim/scenarios.js';

describe('simulator: hand-over through the controller', () => {
  it('a returning server gets its item back after the holder released it, and is told so', () => {
    const config = readmeCluster({});
    const ids = config.servers.map((server) => server.id);
    const flip = ids.indexOf('flip');
    const flip1 = ids.indexOf('flip1');
    const sim = buildSimulation(config, 3);
    sim.startAll();
    sim.runUntil(20_000);
    assert.deepEqual(sim.runner(flip1)!.held('ip'), ['192.168.0.1']);
    sim.crash(flip1);
    sim.runUntil(sim.now + 15_000);
    assert.deepEqual(sim.runner(flip)!.held('ip'), ['192.168.0.1', '192.168.0.2'], 'flip took 192.168.0.1');
    sim.start(flip1);
    sim.runUntil(sim.now + 20_000);
    assert.deepEqual(sim.runner(flip)!.held('ip'), ['192.168.0.2'], 'flip let it go');
    assert.deepEqual(sim.runner(flip1)!.held('ip'), ['192.168.0.1'], 'flip1 holds it again');
    const notices = sim.controller(flip)!.notice_counters;
    assert.ok(notices.sent >= 1, `flip told flip1 it let go (${JSON.stringify(notices)})`);
  });

  it("a killed agent's leftover, removed by its next run, is announced again by the holder", () => {
    const config = readmeCluster({});
    const ids = config.servers.map((server) => server.id);
    const flip = ids.indexOf('flip');
    const flip1 = ids.indexOf('flip1');
    const sim = buildSimulation(config, 5);
    sim.startAll();
    sim.runUntil(20_000);
    sim.crash(flip1);
    sim.runUntil(sim.now + 10_000);
    assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [flip], 'flip took over 192.168.0.1');
    sim.kill(flip);
    sim.runUntil(sim.now + 3_000);
    sim.start(flip1);
    sim.runUntil(sim.now + 10_000);
    assert.deepEqual(
      sim.hostsOf('ip', '192.168.0.1').sort(),
      [flip, flip1].sort(),
      "flip1 holds its item; the killed flip's host still has it too",
    );
    assert.ok(sim.staleNeighbours().length === 0);
    sim.start(flip);
    sim.runUntil(sim.now + 10_000);
    assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [flip1], "flip's start-up down removed the leftover");
    assert.deepEqual(sim.staleNeighbours(), [], 'and flip1 announced it again: no neighbour points at flip');
    assert.ok(sim.controller(flip)!.notice_counters.sent >= 1, 'flip told flip1');
  });
});

/** Cluster sizes and series counts of the heal and return tests: CPU seconds, not minutes, on a loaded CI host. */
const SERIES = [
  [3, 20],
  [5, 15],
  [9, 8],
] as const;

describe('simulator: the heal scenario', () => {
  // A few seeded series at each size; `npm run soak` runs 100 at each.
  for (const [nodes, runs] of SERIES) {
    it(`${nodes} servers: ${runs} series of partitions in which both sides held items heal break-before-make`, async () => {
      const { SCENARIOS } = await import('../../src/sim/scenarios.js');
      const outcome = SCENARIOS.heal({ seed: 17 + nodes, nodes, timing: {}, loss: 0.02, runs });
      const failed = outcome.checks.filter((c) => !c.ok);
      assert.deepEqual(failed, [], JSON.stringify(failed, null, 1));
      assert.equal(outcome.figures.cuts, 3 * runs);
      assert.ok(
        Number(outcome.figures.cuts_with_items_on_both_sides) > 2 * runs,
        'the cuts do put items on both sides',
      );
    });
  }
});

describe('simulator: the return scenario', () => {
  for (const [nodes, runs] of SERIES) {
    it(`${nodes} servers: ${runs} series of crashes, SIGKILL restarts and returns are break-before-make`, async () => {
      const { SCENARIOS } = await import('../../src/sim/scenarios.js');
      const outcome = SCENARIOS.return({ seed: 11 + nodes, nodes, timing: {}, loss: 0, runs });
      const failed = outcome.checks.filter((c) => !c.ok);
      assert.deepEqual(failed, [], JSON.stringify(failed, null, 1));
      assert.equal(outcome.figures.returns, 5 * runs);
    });
  }
});

describe('simulator: a graceful leave under keep without a lease program', () => {
  // Nothing fences such a system (its fence is 0): the items of a member that left are taken at
  // once, so the leaver must have run its `down` before it says it left.
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`no item is on two hosts while the leaver runs its down (slow scripts, seed ${seed})`, () => {
      const config = readmeCluster({});
      assert.equal(config.systems[0]!.lease, undefined);
      assert.equal(config.systems[0]!.no_quorum_policy, 'keep');
      const ids = config.servers.map((server) => server.id);
      const flip = ids.indexOf('flip');
      const flip1 = ids.indexOf('flip1');
      const sim = buildSimulation(
        config,
        seed,
        {},
        { duration_ms_min: 200, duration_ms_max: 900, failure_rate: 0 },
      );
      sim.startAll();
      sim.runUntil(20_000);
      assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [flip1]);
      sim.leave(flip1);
      sim.runUntil(sim.now + 15_000);
      assert.deepEqual(sim.hostsOf('ip', '192.168.0.1'), [flip], 'flip took it over');
      assert.deepEqual(
        sim.ownerOverlaps.map((overlap) => `${overlap.system}/${overlap.item} at ${overlap.at}`),
        [],
        'never on two hosts',
      );
    });
  }
});
