import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootIncarnation } from '../../src/membership/incarnation.js';

describe('membership: what an incarnation means', () => {
  it('a boot starts at its wall-clock time in whole ms', () => {
    assert.equal(bootIncarnation(1_764_000_000_123.9), 1_764_000_000_123);
  });
});
