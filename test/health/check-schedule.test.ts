import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckSchedule, type CheckVerdict } from '../../src/health/check-schedule.js';

/** Runs `results` in order, one per interval; returns the verdict after each. */
function verdicts(results: string, rise = 2, fall = 3): CheckVerdict[] {
  const schedule = new CheckSchedule({ check_interval_ms: 1000, rise, fall }, 0);
  const out: CheckVerdict[] = [];
  [...results].forEach((result, i) => {
    const run = schedule.due(i * 1000);
    assert.ok(run !== undefined, `a run is due at ${i * 1000}`);
    schedule.result(run, result === '+');
    out.push(schedule.verdict);
  });
  return out;
}

const U = 'unknown';
const P = 'passing';
const F = 'failing';

describe('health: check schedule (rise and fall)', () => {
  const table: [string, number, number, CheckVerdict[]][] = [
    // One pass at start makes a server healthy: there is no failure yet to doubt.
    ['+', 2, 3, [P]],
    // At start, fall failures make it failing; fewer leave it unknown (not healthy either).
    ['--+', 2, 3, [U, U, P]],
    ['---', 2, 3, [U, U, F]],
    // Healthy: fewer than fall failures in a row change nothing.
    ['+--+--+', 2, 3, [P, P, P, P, P, P, P]],
    ['+---', 2, 3, [P, P, P, F]],
    // Failing: rise passes in a row, and a failure between starts the count again.
    ['---+-++', 2, 3, [U, U, F, F, F, F, P]],
    ['---+++', 3, 3, [U, U, F, F, F, P]],
    ['+-', 1, 1, [P, F]],
  ];
  for (const [results, rise, fall, expected] of table) {
    it(`${results} with rise ${rise}, fall ${fall}`, () => {
      assert.deepEqual(verdicts(results, rise, fall), expected);
    });
  }

  it('runs one check at a time, an interval after the last started', () => {
    const schedule = new CheckSchedule({ check_interval_ms: 2000, rise: 2, fall: 3 }, 100);
    assert.equal(schedule.nextWakeAt(), 100);
    assert.equal(schedule.due(99), undefined);
    const first = schedule.due(100);
    assert.equal(first, 1);
    // Still running at its next due time: nothing new starts, and no wake-up is asked for.
    assert.equal(schedule.due(5000), undefined);
    assert.equal(schedule.nextWakeAt(), Number.POSITIVE_INFINITY);
    schedule.result(first!, true);
    assert.equal(schedule.nextWakeAt(), 2100);
    assert.equal(schedule.due(5000), 2);
  });

  it('ignores a result of a run that is not out (late or repeated)', () => {
    const schedule = new CheckSchedule({ check_interval_ms: 1000, rise: 1, fall: 1 }, 0);
    const run = schedule.due(0)!;
    assert.equal(schedule.result(run + 1, false), undefined);
    assert.equal(schedule.result(run, true), 'passing');
    assert.equal(schedule.result(run, false), undefined, 'the same run reported twice');
    assert.equal(schedule.verdict, 'passing');
  });

  it('refuses settings that cannot count', () => {
    assert.throws(() => new CheckSchedule({ check_interval_ms: 1000, rise: 0, fall: 1 }, 0), /positive/);
  });
});
