/** percentile: nearest rank, the one implementation the simulator, tests and benchmarks use. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile } from '../../src/stats/percentile.js';

describe('stats: percentile', () => {
  it('takes the nearest rank', () => {
    const five = [15, 20, 35, 40, 50];
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const table: [number[], number, number][] = [
      [five, 0, 15],
      [five, 5, 15],
      [five, 30, 20],
      [five, 40, 20],
      [five, 50, 35],
      [five, 100, 50],
      [ten, 50, 5],
      [ten, 90, 9],
      [ten, 95, 10],
      [ten, 99, 10],
      [ten, 100, 10],
      [[7], 0, 7],
      [[7], 50, 7],
      [[7], 100, 7],
      [[3, 1, 2], 50, 2],
      [[-5, 5], 50, -5],
    ];
    for (const [values, p, expected] of table) {
      assert.equal(percentile(values, p), expected, `p${p} of [${values}]`);
    }
  });

  it('is NaN for an empty list and leaves the list as it was', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    const values = [3, 1, 2];
    percentile(values, 100);
    assert.deepEqual(values, [3, 1, 2]);
  });
});
