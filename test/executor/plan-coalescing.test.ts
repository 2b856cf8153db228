import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlanCoalescing } from '../../src/executor/plan-coalescing.js';

const set = (...items: string[]) => new Set(items);
const list = (value: ReadonlySet<string> | undefined) => (value === undefined ? undefined : [...value]);

describe('executor: plan coalescing', () => {
  it('changes inside the delay fold in; the newest set is planned when the delay ends', () => {
    const plans = new PlanCoalescing(500);
    plans.offer(0, set('a'), false);
    assert.equal(plans.delayUntil, 500);
    plans.offer(200, set('b'), false);
    assert.equal(plans.delayUntil, 500, 'a change inside the delay keeps its end');
    assert.equal(plans.take(499, false), undefined);
    assert.deepEqual(list(plans.take(500, false)), ['b']);
    assert.deepEqual(list(plans.applied), ['b']);
    assert.equal(plans.waiting, false);
  });

  it('an item withdrawn from the applied set makes a later set that wants it a plan again', () => {
    const plans = new PlanCoalescing(0);
    plans.offer(0, set('a', 'b'), false);
    assert.deepEqual(list(plans.take(0, false)), ['a', 'b']);
    plans.offer(1, set('a', 'b'), false);
    assert.equal(plans.take(1, false), undefined, 'the same set again: no plan');
    plans.withdraw('b');
    assert.deepEqual(list(plans.applied), ['a']);
    plans.offer(2, set('a', 'b'), false);
    assert.deepEqual(list(plans.take(2, false)), ['a', 'b']);
    plans.withdraw('z');
    assert.deepEqual(list(plans.applied), ['a', 'b'], 'an item not applied changes nothing');
  });

  it('a due set waits for the running plan, and only the newest is planned', () => {
    const plans = new PlanCoalescing(0);
    plans.offer(0, set('a'), false);
    assert.equal(plans.take(0, true), undefined, 'a plan runs');
    assert.equal(plans.waiting, true);
    assert.equal(plans.delayUntil, undefined, 'due, not delayed');
    plans.offer(10, set('c'), false);
    assert.deepEqual(list(plans.take(20, false)), ['c']);
  });

  it('a set equal to the applied one makes no plan, even after waiting', () => {
    const plans = new PlanCoalescing(100);
    plans.offer(0, set('a'), false);
    plans.take(100, false);
    plans.offer(200, set('a'), false);
    assert.equal(plans.waiting, false, 'no change, no delay');
    plans.offer(300, set('b'), false);
    plans.offer(350, set('a'), false);
    assert.equal(plans.waiting, true);
    assert.equal(plans.take(400, false), undefined, 'back to the applied set: nothing to plan');
    assert.equal(plans.waiting, false);
    assert.deepEqual(list(plans.newest), ['a']);
  });

  it('immediate skips the rest of the delay, but not for a set already applied', () => {
    const plans = new PlanCoalescing(1000);
    plans.offer(0, set('a'), false);
    plans.offer(10, set('b'), true);
    assert.deepEqual(list(plans.take(10, false)), ['b']);
    plans.offer(20, set('b'), true);
    assert.equal(plans.waiting, false);
  });

  it('cancel drops the waiting plan and keeps the newest set', () => {
    const plans = new PlanCoalescing(100);
    assert.equal(plans.newest, undefined);
    plans.cancel();
    assert.equal(plans.newest, undefined);
    plans.offer(0, set('a'), false);
    plans.cancel();
    assert.equal(plans.waiting, false);
    assert.equal(plans.take(1000, false), undefined);
    assert.deepEqual(list(plans.newest), ['a']);
    assert.equal(plans.applied, undefined);
  });
});
