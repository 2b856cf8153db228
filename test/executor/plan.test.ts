import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alivePhase, downPhase, firstAttemptEnded, planItems } from '../../src/executor/plan.js';
import type { ScriptEvent } from '../../src/executor/types.js';

const item = (name: string, target: ScriptEvent | undefined) => ({ item: name, target });
const names = (items: readonly { item: string }[]) => items.map((entry) => entry.item);

describe('executor: plan phases', () => {
  it('splits items into leaving, arriving and trusted down, in data order', () => {
    const order = [
      item('held', 'alive'),
      item('wanted-held', 'alive'),
      item('new', undefined),
      item('down', 'down'),
      item('wanted-down', 'down'),
      item('wanted-new', undefined),
    ];
    const desired = new Set(['wanted-held', 'wanted-down', 'wanted-new']);
    const cleaned = planItems(order, desired, true);
    assert.deepEqual(names(cleaned.leaving), ['held', 'new']);
    assert.deepEqual(names(cleaned.arriving), ['wanted-down', 'wanted-new']);
    assert.deepEqual(names(cleaned.trusted_down), []);
    const trusted = planItems(order, desired, false);
    assert.deepEqual(names(trusted.leaving), ['held']);
    assert.deepEqual(names(trusted.trusted_down), ['new']);
  });

  it('the alive phase starts after the last first down, failed or not; the plan completes after the last first alive', () => {
    const plan = downPhase(3, ['a', 'b'], ['c', 'd']);
    assert.deepEqual(firstAttemptEnded(plan, 3, 'a', 'down'), { next: 'same' });
    assert.deepEqual(
      firstAttemptEnded(plan, 3, 'c', 'alive'),
      { next: 'same' },
      'no alive in the down phase',
    );
    assert.deepEqual(firstAttemptEnded(plan, 3, 'b', 'down'), { next: 'alive', plan });
    const alive = alivePhase(plan, ['c', 'd']);
    assert.ok(alive !== undefined);
    assert.deepEqual(firstAttemptEnded(alive, 3, 'c', 'alive'), { next: 'same' });
    assert.deepEqual(firstAttemptEnded(alive, 3, 'd', 'alive'), { next: 'complete' });
  });

  it('an attempt of another plan moves nothing; an alive phase with nothing to wait for is complete', () => {
    const plan = downPhase(3, ['a'], []);
    assert.deepEqual(firstAttemptEnded(plan, 2, 'a', 'down'), { next: 'same' });
    assert.equal(plan.down_outstanding.size, 1);
    assert.equal(alivePhase(plan, []), undefined);
  });
});
