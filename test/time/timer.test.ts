import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunnerDriver } from '../../src/executor/driver.js';
import { ScriptRunner } from '../../src/executor/runner.js';
import { sleep } from '../../src/testing/wait.js';
import { setTimer, TIMER_DELAY_MS_MAX, timerDelay } from '../../src/time/timer.js';

describe('time: timers never overflow', () => {
  it('clamps every delay into what setTimeout takes', () => {
    const cases: [number, number][] = [
      [-5, 0],
      [0, 0],
      [Number.NaN, 0],
      [0.2, 1],
      [450, 450],
      [TIMER_DELAY_MS_MAX, TIMER_DELAY_MS_MAX],
      [2 ** 31, TIMER_DELAY_MS_MAX],
      [3e9, TIMER_DELAY_MS_MAX],
      [Number.POSITIVE_INFINITY, TIMER_DELAY_MS_MAX],
    ];
    for (const [given, expected] of cases) assert.equal(timerDelay(given), expected, String(given));
  });

  it('a 3e9 ms timer does not fire after 1 ms (Node would, with a warning)', async () => {
    let fired = false;
    const timer = setTimer(() => {
      fired = true;
    }, 3e9);
    await sleep(50);
    clearTimeout(timer);
    assert.equal(fired, false);
  });

  it('a runner with a huge plan delay waits quietly instead of waking in a loop', async () => {
    const runner = new ScriptRunner({
      node: 'n1',
      remove_on_start: false,
      systems: [
        {
          name: 'ip',
          alive: '/bin/true',
          down: '/bin/true',
          config: {},
          data: ['x'],
          delay_ms: 3e9,
          script_timeout_ms: 1000,
        },
      ],
    });
    let ticks = 0;
    const tick = runner.tick.bind(runner);
    runner.tick = (now: number) => {
      ticks++;
      tick(now);
    };
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const driver = new RunnerDriver({ runner, onNote: () => {} });
    driver.setDesired('ip', ['x']);
    await sleep(100);
    driver.stop();
    process.off('warning', onWarning);
    assert.ok(ticks <= 1, `${ticks} wake-ups in 100 ms`);
    assert.deepEqual(warnings, []);
  });
});
