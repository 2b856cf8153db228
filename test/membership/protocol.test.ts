/**
 * The protocol core's behaviour, driven through the deterministic simulator: each test is a
 * seeded run of real MembershipNodes over a simulated network.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goneIn, viewsMatch } from '../../src/sim/checkers.js';
import { readmeCluster, syntheticCluster } from '../../src/sim/clusters.js';
import { buildSimulation } from '../../src/sim/scenarios.js';

const FLIP1 = 0; // readme cluster, in server order: flip1 (priority 1), flip, flip2
const FLIP = 1;
const FLIP2 = 2;

function settled(seed = 1, config = readmeCluster()) {
  const sim = buildSimulation(config, seed);
  sim.startAll();
  sim.runUntil(10_000);
  assert.ok(viewsMatch(sim, new Set()), 'settled with everyone alive');
  return sim;
}

describe('protocol: failure detection by quorum', () => {
  it('declares a crashed member down at every live node, by quorum', () => {
    const sim = settled();
    sim.crash(FLIP1);
    sim.runUntil(sim.now + 10_000);
    for (const observer of [FLIP, FLIP2]) assert.equal(sim.stateIn(observer, FLIP1), 'down');
    const decisions = sim.trace.filter((entry) => entry.member === FLIP1 && entry.to === 'down');
    assert.ok(
      decisions.some((entry) => entry.reason === 'quorum'),
      'at least one node counted a quorum',
    );
  });

  it('needs the quorum: with quorum 3 of 3 a crash is never declared', () => {
    const config = readmeCluster();
    const sim = buildSimulation({ ...config, quorum: 3 }, 2);
    sim.startAll();
    sim.runUntil(10_000);
    sim.crash(FLIP1);
    sim.runUntil(sim.now + 60_000);
    assert.notEqual(sim.stateIn(FLIP, FLIP1), 'down');
    assert.notEqual(sim.stateIn(FLIP2, FLIP1), 'down');
    assert.equal(sim.trace.filter((entry) => entry.to === 'down').length, 0);
    // Two survivors cannot see a quorum of three, so they do not even report: nothing to add up.
    assert.ok(sim.core(FLIP)!.counters.reports_withheld > 0);
  });

  it('counts the arbiter: flip2 holds no data but its report makes the quorum', () => {
    const sim = settled(3);
    sim.crash(FLIP1);
    sim.runUntil(sim.now + 10_000);
    // Only flip and the arbiter flip2 are left, and the quorum is 2: the decision needed both.
    assert.equal(sim.stateIn(FLIP, FLIP1), 'down');
    assert.ok(sim.core(FLIP2)!.counters.probes_failed > 0, 'the arbiter probed and reported');
  });

  it('declares nothing when nobody can reach anybody', () => {
    const sim = settled(4);
    sim.isolateAll();
    sim.runUntil(sim.now + 120_000);
    assert.equal(sim.trace.filter((entry) => entry.to === 'down').length, 0);
    sim.heal();
    sim.runUntil(sim.now + 5_000);
    assert.ok(viewsMatch(sim, new Set()));
  });

  it('a member cut off alone is declared down by the majority and declares nobody down itself', () => {
    const sim = settled(5);
    sim.partition([[FLIP], [FLIP1, FLIP2]]);
    sim.runUntil(sim.now + 30_000);
    assert.equal(sim.stateIn(FLIP1, FLIP), 'down');
    assert.equal(sim.stateIn(FLIP2, FLIP), 'down');
    assert.deepEqual(goneIn(sim, FLIP), []);
    sim.heal();
    sim.runUntil(sim.now + 10_000);
    assert.ok(viewsMatch(sim, new Set()), 'it refutes and is alive again everywhere after the heal');
    assert.ok(sim.core(FLIP)!.counters.refutations > 0);
    // It tells its agent it had been declared down, so the agent announces its items again.
    assert.ok(
      sim.trace.some(
        (e) => e.observer === FLIP && e.member === FLIP && e.from === 'down' && e.reason === 'refute',
      ),
    );
  });
});

describe('protocol: incarnations, leave and restart', () => {
  it('a restarted member is seen alive again with a higher incarnation', () => {
    const sim = settled(6);
    const before = sim.core(FLIP)!.member(FLIP1).incarnation;
    sim.crash(FLIP1);
    sim.runUntil(sim.now + 10_000);
    sim.start(FLIP1);
    sim.runUntil(sim.now + 2_000);
    assert.equal(sim.stateIn(FLIP, FLIP1), 'alive');
    assert.ok(sim.core(FLIP)!.member(FLIP1).incarnation > before);
    assert.ok(sim.core(FLIP1)!.synced, 'the restarted node was told the view');
  });

  it('a graceful leave is taken at once, without a quorum', () => {
    const sim = settled(7);
    sim.leave(FLIP1);
    // The leaver announces it once its `down` scripts are done (the README cluster is under
    // `keep` without a lease program: LeaveOrder drain_first); the others take it at once.
    sim.runUntil(sim.now + 2_000);
    assert.equal(sim.stateIn(FLIP, FLIP1), 'left');
    assert.equal(sim.stateIn(FLIP2, FLIP1), 'left');
    const announced = sim.trace.find((e) => e.member === FLIP1 && e.to === 'left' && e.observer === FLIP1)!;
    const entry = sim.trace.find((e) => e.member === FLIP1 && e.to === 'left' && e.observer === FLIP)!;
    assert.ok(entry.at - announced.at < 10, `left after ${entry.at - announced.at} ms`);
    assert.equal(sim.trace.filter((e) => e.to === 'down').length, 0);
  });

  it('a member suspected by mistake refutes with a higher incarnation', () => {
    const sim = buildSimulation({ ...syntheticCluster(5), quorum: 5 }, 8);
    sim.startAll();
    sim.runUntil(10_000);
    const before = sim.core(0)!.incarnation;
    // Node 0 can hear but not speak for a while: the four others suspect it, short of a quorum of 5.
    sim.cutOneWay([0], [1, 2, 3, 4]);
    sim.runUntil(sim.now + 3_000);
    const suspected = sim.trace.filter(
      (e) => e.member === 0 && e.to === 'probably_down' && e.reason === 'probe',
    );
    assert.ok(suspected.length > 0, 'someone suspected node 0 from its own probe');
    sim.heal();
    sim.runUntil(sim.now + 3_000);
    assert.ok(sim.core(0)!.incarnation > before, 'node 0 raised its incarnation');
    assert.ok(sim.core(0)!.counters.refutations > 0);
    assert.ok(viewsMatch(sim, new Set()));
    assert.equal(
      sim.trace.filter((e) => e.to === 'down').length,
      0,
      'four reporters are not a quorum of five',
    );
  });

  it('nodes cut off from everyone report nobody, so a total partition adds up to nothing at the heal', () => {
    for (const [seed, partition_ms] of [
      [1, 1_000],
      [2, 3_000],
      [3, 8_000],
    ]) {
      const sim = buildSimulation(syntheticCluster(5), seed!);
      sim.startAll();
      sim.runUntil(10_000);
      const cutAt = sim.now;
      sim.isolateAll();
      sim.runUntil(cutAt + partition_ms!);
      sim.heal();
      sim.runUntil(sim.now + 10_000);
      const downs = sim.trace.filter((e) => e.at >= cutAt && e.to === 'down');
      assert.deepEqual(downs, [], `partition of ${partition_ms} ms`);
    }
  });

  it('a decision whose gossip was lost is repaired by anti-entropy', () => {
    const config = syntheticCluster(5);
    const sim = buildSimulation(config, 9);
    sim.startAll();
    sim.runUntil(10_000);
    // Node 4 hears nothing for a while; meanwhile node 0 crashes and the others decide.
    sim.cutOneWay([0, 1, 2, 3], [4]);
    sim.crash(0);
    sim.runUntil(sim.now + 20_000);
    assert.equal(sim.stateIn(1, 0), 'down');
    sim.heal();
    sim.runUntil(sim.now + 10_000);
    assert.equal(sim.stateIn(4, 0), 'down');
  });
});

describe('protocol: local health', () => {
  it('a stalled node stretches its own timers instead of declaring others down', () => {
    const sim = settled(10, syntheticCluster(5));
    sim.pause(1);
    sim.runUntil(sim.now + 5_000);
    sim.resume(1);
    sim.runUntil(sim.now + 200);
    assert.ok(sim.core(1)!.healthScore > 0, 'the stall raised its health score');
    sim.runUntil(sim.now + 20_000);
    const byStalled = sim.trace.filter((e) => e.observer === 1 && e.to === 'down');
    assert.deepEqual(byStalled, [], 'it declared nobody down');
    assert.ok(viewsMatch(sim, new Set()), 'and everyone is alive in the end');
  });
});

describe('simulator: determinism', () => {
  it('the same seed gives the same run, another seed another run', () => {
    const run = (seed: number) => {
      const sim = buildSimulation(syntheticCluster(7), seed, { loss: 0.1 });
      sim.startAll();
      sim.runUntil(5_000);
      sim.crash(3);
      sim.runUntil(30_000);
      return JSON.stringify(sim.trace);
    };
    assert.equal(run(42), run(42));
    assert.notEqual(run(42), run(43));
  });
});
