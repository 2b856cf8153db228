/**
 * Partitions that change shape faster than reports expire. A report made on one side of an old
 * partition ("s2 cannot reach s3") can travel, before the next cut, to nodes that then end up in
 * a minority together; their own fresh reports of s3 add up with it to a quorum that no majority
 * ever agreed on. The chaos run on a real network found exactly this: two servers of five, cut
 * off together, declared a third down and took its VIP while it still held it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS } from '../../src/sim/scenarios.js';

describe('membership: flapping partitions', () => {
  for (const nodes of [5, 9, 15]) {
    it(`${nodes} servers: nobody declares down a member of the majority, over 40 x 25 seeded cuts`, () => {
      const outcome = SCENARIOS['flapping-partition']!({ seed: nodes, nodes, timing: {}, loss: 0, runs: 40 });
      for (const check of outcome.checks) assert.ok(check.ok, `${check.name}: ${check.detail}`);
      assert.equal(outcome.figures.wrong_decisions, 0);
      assert.ok(Number(outcome.figures.decisions) > 0, 'the majority did decide the cut-off members down');
    });
  }
});
