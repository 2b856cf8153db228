/**
 * The `committed-changes` scenario (src/sim/replica-changes.ts): changes asked at random servers,
 * committed by the config replicas through faults, each server applying a version when its own
 * replica reports it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { clusterDocument, replicaChangesRun } from '../../src/sim/replica-changes.js';
import { buildSimulation, clusterFor, SCRIPTS } from '../../src/sim/scenarios.js';
import { passesUnderRelease } from '../helpers/scenario-runs.js';

const base = { seed: 1, nodes: 3, timing: {}, loss: 0 };

describe('simulator: changes committed by the replicas, applied by each server as its replica reports them', () => {
  it('never two owners under release with leases, the replicas safe, one last version everywhere, at 3 and 5 servers', () => {
    const sizes = [
      [3, 10],
      [5, 4],
    ] as const;
    passesUnderRelease('committed-changes', sizes, 4000).forEach((outcome, i) => {
      const runs = sizes[i]![1];
      assert.ok(Number(outcome.figures.committed) > runs, `changes committed: ${outcome.figures.committed}`);
    });
  });

  it('the scenario config is the one the other scenarios run (the document parses to clusterFor)', () => {
    for (const nodes of [3, 5]) {
      const options = { ...base, nodes, policy: 'release' as const, leased: true };
      const parsed = parseConfig(JSON.stringify(clusterDocument(options)), 'x');
      const direct = clusterFor(options);
      assert.deepEqual(
        parsed.systems.map((s) => [s.name, s.type, s.no_quorum_policy, s.lease, s.data]),
        direct.systems.map((s) => [s.name, s.type, s.no_quorum_policy, s.lease, s.data]),
      );
    }
  });

  it('a run commits versions that every running server applies: its nodes end on the last committed config', () => {
    const file = clusterDocument({ ...base, policy: 'release', leased: true });
    const config = parseConfig(JSON.stringify(file), 'x');
    const sim = buildSimulation(config, 91, { loss: 0 });
    sim.setScripts({ ...SCRIPTS });
    const run = replicaChangesRun(sim, file, 91, { loss: 0 }, 20_000);
    assert.deepEqual(
      run.checks.filter((c) => !c.ok),
      [],
    );
    assert.ok(run.version > 0, 'some version committed');
    const before = config.systems.map((system) => [system.type, system.preempt, system.data]);
    const after = sim.config.systems.map((system) => [system.type, system.preempt, system.data]);
    assert.notDeepEqual(after, before, 'the last version differs from the file');
    for (let i = 0; i < sim.size; i++) {
      if (sim.status(i) !== 'up') continue;
      assert.deepEqual(
        sim.nodeConfig(i).systems.map((system) => [system.type, system.preempt, system.data]),
        after,
      );
    }
  });
});
