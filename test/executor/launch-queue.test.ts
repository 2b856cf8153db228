import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LaunchQueue } from '../../src/executor/launch-queue.js';

const action = (at: number, kind: 'plan' | 'retry' | 'announce' | 'handback' = 'plan') => ({
  event: 'alive' as const,
  attempt: 1,
  at,
  plan: 1,
  kind,
});

describe('executor: the launch queue', () => {
  it('holds at most one action an item; a second is a programmer error', () => {
    const queue = new LaunchQueue<string>();
    queue.add('a', action(0), () => 'ip/a');
    assert.throws(() => queue.add('a', action(1), () => 'ip/a'), /ip\/a: second pending action/);
    assert.equal(queue.size, 1);
    assert.equal(queue.take('a')?.at, 0);
    assert.equal(queue.take('a'), undefined);
    assert.equal(queue.size, 0);
  });

  it('launches first attempts before retries and announcements, then earliest due, then first queued', () => {
    const queue = new LaunchQueue<string>();
    queue.add('retry-early', action(0, 'retry'), () => '');
    queue.add('plan-late', action(5, 'plan'), () => '');
    queue.add('announce', action(1, 'announce'), () => '');
    queue.add('plan-early', action(2, 'plan'), () => '');
    queue.add('handback', action(2, 'handback'), () => '');
    queue.add('not-due', action(50, 'plan'), () => '');
    queue.add('busy', action(0, 'plan'), () => '');
    assert.deepEqual(
      queue.ready(10, (item) => item !== 'busy'),
      ['plan-early', 'handback', 'plan-late', 'retry-early', 'announce'],
    );
    assert.equal(queue.nextDueAfter(10), 50);
    assert.equal(queue.nextDueAfter(50), Number.POSITIVE_INFINITY);
  });
});
