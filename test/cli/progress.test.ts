/** Progress lines: the pure formatter and redraw rule, and the writer on a fake terminal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatDuration,
  formatProgress,
  ProgressLine,
  progressWanted,
  QuietProgress,
  REDRAW_MS_MIN,
  shouldRedraw,
} from '../../src/cli/progress.js';
import { runFlip } from '../helpers/flip-cli.js';

describe('progress: formatting', () => {
  const cases: [number, string][] = [
    [0, '0 s'],
    [12_400, '12 s'],
    [59_600, '1 min 00 s'],
    [185_000, '3 min 05 s'],
    [7_440_000, '2 h 04 min'],
    [-5, '0 s'],
  ];
  for (const [ms, text] of cases) it(`${ms} ms is ${text}`, () => assert.equal(formatDuration(ms), text));

  it('runs done of the total, failures, and the time left from the pace so far', () => {
    assert.equal(
      formatProgress({ label: 'random', done: 40, total: 100, failed: 1, elapsed_ms: 8_000 }),
      'random: 40/100 runs (40%), 1 failed, 12 s left',
    );
    assert.equal(
      formatProgress({ label: 'heal', done: 0, total: 7, failed: 0, elapsed_ms: 3_000 }),
      'heal: 0/7 runs (0%), none failed, time left unknown',
    );
    assert.equal(
      formatProgress({ label: 'b', done: 7, total: 7, failed: 2, elapsed_ms: 3_000 }, 'trials'),
      'b: 7/7 trials (100%), 2 failed, done',
    );
  });

  it('counts beyond the total are shown as the total', () => {
    assert.match(
      formatProgress({ label: 'x', done: 9, total: 5, failed: 0, elapsed_ms: 1 }),
      /5\/5 runs \(100%\)/,
    );
  });
});

describe('progress: when to draw', () => {
  it('first, at the end, and at most every REDRAW_MS_MIN in between', () => {
    assert.equal(shouldRedraw(undefined, 5, false), true);
    assert.equal(shouldRedraw(1000, 1000 + REDRAW_MS_MIN - 1, false), false);
    assert.equal(shouldRedraw(1000, 1000 + REDRAW_MS_MIN, false), true);
    assert.equal(shouldRedraw(1000, 1001, true), true);
  });

  it('only on a terminal, and never in CI', () => {
    assert.equal(progressWanted(true, {}), true);
    assert.equal(progressWanted(false, {}), false);
    assert.equal(progressWanted(undefined, {}), false);
    assert.equal(progressWanted(true, { CI: 'true' }), false);
    assert.equal(progressWanted(true, { CI: '1' }), false);
    assert.equal(progressWanted(true, { CI: '' }), true);
    assert.equal(progressWanted(true, { CI: 'false' }), true);
  });
});

/** A terminal that records what is written, `columns` wide. */
function terminal(columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { columns, write: (text: string) => writes.push(text) } };
}

describe('progress: the line on a terminal', () => {
  it('redraws in place at most ten times a second, and always the last update', () => {
    const { writes, stream } = terminal(200);
    let now = 0;
    const line = new ProgressLine(stream, () => now);
    line.begin('random', 1000);
    for (let done = 1; done <= 1000; done++) {
      now += 1; // a run a millisecond: 1000 updates in one second
      line.update(done, 0);
    }
    // begin, then one every 100 ms over 1 s, then the last.
    assert.ok(writes.length <= 12, `${writes.length} redraws`);
    assert.ok(writes.every((text) => text.startsWith('\r\x1b[K')));
    assert.equal(writes.at(-1), '\r\x1b[Krandom: 1000/1000 runs (100%), none failed, done');
    line.end();
    assert.equal(writes.at(-1), '\r\x1b[K', 'end clears the line');
  });

  it('is cut to the terminal width so that it never wraps', () => {
    const { writes, stream } = terminal(20);
    new ProgressLine(stream, () => 0).begin('a-long-scenario-name', 10);
    assert.equal(writes[0], `\r\x1b[K${'a-long-scenario-name'.slice(0, 19)}`);
  });

  it('prints log lines above itself and redraws', () => {
    const { writes, stream } = terminal(200);
    const line = new ProgressLine(stream, () => 0);
    line.begin('bench', 4, 'trials');
    line.log('trial 1: 812 ms');
    assert.deepEqual(writes.slice(1), [
      '\r\x1b[K',
      'trial 1: 812 ms\n',
      '\r\x1b[Kbench: 0/4 trials (0%), none failed, time left unknown',
    ]);
  });

  it('quiet progress draws nothing but still logs', () => {
    const { writes, stream } = terminal(200);
    const quiet = new QuietProgress(stream);
    quiet.begin();
    quiet.update();
    quiet.log('a line');
    quiet.end();
    assert.deepEqual(writes, ['a line\n']);
  });
});

describe('flip sim: progress', () => {
  it('writes nothing on stderr when it is not a terminal', () => {
    const result = runFlip(['sim', '--scenario', 'return', '--runs', '2']);
    assert.equal(result.status, 0, result.stdout);
    assert.equal(result.stderr, '');
  });
});
