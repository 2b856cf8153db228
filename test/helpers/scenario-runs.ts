/** Running a simulator scenario in tests: its runs under `release` with leases, all passed. */
import assert from 'node:assert/strict';
import type { ScenarioName } from '../../src/sim/scenario-names.js';
import { SCENARIOS, type ScenarioResult } from '../../src/sim/scenarios.js';

/**
 * Runs scenario `name` under `release` with leases for each [servers, runs] of `sizes` (seed
 * `seed_base` + servers) and asserts that every run passed with no item on two hosts; returns
 * each outcome, for further checks.
 */
export function passesUnderRelease(
  name: ScenarioName,
  sizes: readonly (readonly [number, number])[],
  seed_base: number,
): ScenarioResult[] {
  return sizes.map(([nodes, runs]) => {
    const outcome = SCENARIOS[name]({
      seed: seed_base + nodes,
      nodes,
      runs,
      timing: {},
      loss: 0,
      policy: 'release',
      leased: true,
    });
    assert.equal(
      outcome.figures.failed,
      0,
      `nodes=${nodes}: seeds ${outcome.failed_seeds}: ${JSON.stringify(outcome.checks.filter((c) => !c.ok))}`,
    );
    assert.equal(outcome.figures.two_owners, 0);
    return outcome;
  });
}
