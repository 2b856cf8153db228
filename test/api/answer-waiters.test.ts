/** AnswerWaiters: a replica's answer reaches the request that waits for it, once; an abort ends the wait. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerWaiters } from '../../src/api/answer-waiters.js';

describe('AnswerWaiters', () => {
  it('gives each request its own answer, once, and drops answers nobody waits for', async () => {
    const waiters = new AnswerWaiters();
    const one = waiters.wait(1, new AbortController().signal);
    const two = waiters.wait(2, new AbortController().signal);
    assert.equal(waiters.size, 2);
    assert.equal(waiters.settle(2, { kind: 'committed', version: 5 }), true);
    assert.equal(waiters.settle(1, { kind: 'no_quorum', message: 'none' }), true);
    assert.deepEqual(await two, { kind: 'committed', version: 5 });
    assert.deepEqual(await one, { kind: 'no_quorum', message: 'none' });
    assert.equal(waiters.settle(1, { kind: 'committed', version: 6 }), false, 'answered once');
    assert.equal(waiters.settle(3, { kind: 'committed', version: 6 }), false, 'never waited for');
    assert.equal(waiters.size, 0);
    assert.throws(() => {
      waiters.wait(4, new AbortController().signal);
      waiters.wait(4, new AbortController().signal);
    }, /already waited for/);
  });

  it('ends the wait with a timeout answer when the signal aborts, before or during the wait', async () => {
    const waiters = new AnswerWaiters();
    const stop = new AbortController();
    const waiting = waiters.wait(1, stop.signal);
    stop.abort();
    const answer = await waiting;
    assert.equal(answer.kind, 'timeout');
    assert.equal(waiters.size, 0);
    assert.equal(waiters.settle(1, { kind: 'committed', version: 1 }), false, 'a late answer is dropped');
    assert.equal((await waiters.wait(2, stop.signal)).kind, 'timeout');
    assert.equal(waiters.size, 0);
  });
});
