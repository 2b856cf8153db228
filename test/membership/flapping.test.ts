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
  // A few seeded series each; `npm run soak` runs 40 at each size.
  for (const [nodes, runs] of [
    [5, 10],
    [9, 6],
    [15, 3],
  ] as const) {
    it(`${nodes} servers: nobody declares down a member of the majority, over ${runs} x 25 seeded cuts`, () => {
      const outcome = SCENARIOS['flapping-partition']!({ seed: nodes, nodes, timing: {}, loss: 0, runs });
      for (const check of outcome.checks) assert.ok(check.ok, `${check.name}: ${check.detail}`);
      assert.equal(outcome.figures.wrong_decisions, 0);
      assert.ok(Number(outcome.figures.decisions) > 0, 'the majority did decide the cut-off members down');
    });
  }
});
