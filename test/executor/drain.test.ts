import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Drain } from '../../src/executor/drain.js';

describe('executor: drain', () => {
  it('the first drain decides; nothing is taken down before it', () => {
    const drain = new Drain<string>();
    assert.equal(drain.draining, false);
    assert.equal(drain.takeDown('a', true), false, 'serving: no drain down');
    assert.equal(drain.drained(true), false);
    assert.equal(drain.start(false), true);
    assert.equal(drain.draining, true);
    assert.equal(drain.start(true), false, 'a second drain changes nothing');
    assert.equal(drain.takeDown('a', true), false, 'the first drain said no downs');
  });

  it('each item that may be held gets one down', () => {
    const drain = new Drain<string>();
    drain.start(true);
    assert.equal(drain.takeDown('a', true), true);
    assert.equal(drain.takeDown('a', true), false, 'only once');
    assert.equal(drain.takeDown('b', false), false, 'not held: nothing to take down');
    assert.equal(drain.takeDown('b', true), true, 'an alive started since: now it may be held');
  });

  it("'drained' is noted once, when the runner is idle", () => {
    const drain = new Drain<string>();
    drain.start(true);
    assert.equal(drain.drained(false), false);
    assert.equal(drain.drained(true), true);
    assert.equal(drain.drained(true), false);
  });
});
