import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootIncarnation, startedBefore } from '../../src/membership/incarnation.js';

describe('membership: what an incarnation means', () => {
  it('a boot starts at its wall-clock time in whole ms', () => {
    assert.equal(bootIncarnation(1_764_000_000_123.9), 1_764_000_000_123);
  });

  it('tells a member that started well before us from one unknown or recent', () => {
    const table: [incarnation: number, wall: number, margin: number, before: boolean][] = [
      [0, 10_000, 1000, false],
      [5000, 10_000, 1000, true],
      [9000, 10_000, 1000, false],
      [8999, 10_000, 1000, true],
      [5003, 10_000, 1000, true],
    ];
    for (const [incarnation, wall, margin, before] of table)
      assert.equal(startedBefore(incarnation, wall, margin), before, `${incarnation} vs ${wall}`);
  });
});
