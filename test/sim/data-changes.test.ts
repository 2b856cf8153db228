import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataChangesRun } from '../../src/sim/data-changes.js';
import { buildSimulation, clusterFor, SCENARIOS, SCRIPTS } from '../../src/sim/scenarios.js';
import { passesUnderRelease } from '../helpers/scenario-runs.js';

const base = { seed: 1, nodes: 3, timing: {}, loss: 0 };

describe('simulator: items added and removed at runtime', () => {
  it('never two owners under release with leases, every item where the last version places it, at 3, 5 and 9 servers', () => {
    passesUnderRelease(
      'changes',
      [
        [3, 12],
        [5, 6],
        [9, 3],
      ],
      3000,
    );
  });

  it('under keep (the default) too: placement and the removed-items check hold', () => {
    const outcome = SCENARIOS.changes({ ...base, nodes: 5, runs: 6, seed: 3100 });
    assert.equal(outcome.figures.failed, 0, `seeds ${outcome.failed_seeds}`);
  });

  it('a run changes items: the cluster config and every server end on the last version', () => {
    const config = clusterFor({ ...base, nodes: 5, policy: 'release', leased: true });
    const sim = buildSimulation(config, 77, { loss: 0 });
    sim.setScripts({ ...SCRIPTS });
    const run = dataChangesRun(sim, 77, { loss: 0 }, 20_000);
    assert.deepEqual(
      run.checks.filter((c) => !c.ok),
      [],
    );
    const before = config.systems.map((system) => system.data.join(' '));
    const after = sim.config.systems.map((system) => system.data.join(' '));
    assert.notDeepEqual(after, before, 'the run changed some items');
    for (let i = 0; i < sim.size; i++)
      assert.deepEqual(
        sim.nodeConfig(i).systems.map((system) => system.data),
        sim.config.systems.map((system) => system.data),
      );
    assert.ok(run.faults.filter((line) => line.includes('version')).length === 12);
  });
});
