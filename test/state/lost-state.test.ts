/** Whether a server that finds no cluster state lost one (it then abstains from votes). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stateLost } from '../../src/state/lost-state.js';

describe('stateLost', () => {
  it('a state moved aside (cluster-state.bad, or any kept copy) beside no state: lost', () => {
    assert.equal(stateLost('missing', ['script-ledger.json', 'cluster-state.bad'], 3), true);
    assert.equal(stateLost('missing', ['cluster-state.2026-12-05'], 3), true);
  });

  it('a new server (nothing moved aside, or only a save cut short): not lost', () => {
    assert.equal(stateLost('missing', [], 3), false);
    assert.equal(stateLost('missing', ['script-ledger.json', 'maybe-held.json'], 3), false);
    assert.equal(stateLost('missing', ['cluster-state.tmp'], 3), false);
  });

  it('a state that is there, or a cluster of one, never counts as lost', () => {
    assert.equal(stateLost('present', ['cluster-state.bad'], 3), false);
    assert.equal(stateLost('missing', ['cluster-state.bad'], 1), false);
  });
});
