import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunnerDriver } from '../../src/executor/driver.js';
import { ScriptRunner } from '../../src/executor/runner.js';
import type { Launch, RunnerNote, RunResult } from '../../src/executor/types.js';
import { sleep, waitFor } from '../../src/testing/wait.js';
import { readRecords, script } from './scripts.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flip-driver-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.FLIP_TEST_RECORD;
});

function runner(data: string[], extra: { alive?: string; down?: string; retry_base_ms?: number } = {}) {
  return new ScriptRunner({
    node: 'n1',
    systems: [
      {
        name: 'ip',
        alive: extra.alive ?? script('record'),
        down: extra.down ?? script('record'),
        config: { interface: 'lo' },
        data,
        delay_ms: 20,
        script_timeout_ms: 5000,
      },
    ],
    remove_on_start: false,
    retry_base_ms: extra.retry_base_ms,
  });
}

function ok(launch: Launch): RunResult {
  return {
    run: launch.run,
    ok: true,
    exit_code: 0,
    signal: null,
    timed_out: false,
    duration_ms: 1,
    stdout: '',
    stderr: '',
  };
}

describe('executor: RunnerDriver', () => {
  it('runs real scripts on real timers: coalesced plans, downs before alives, drain', async () => {
    const record = join(dir, 'driver.rec');
    process.env.FLIP_TEST_RECORD = record;
    const core = runner(['a', 'b', 'c']);
    const notes: RunnerNote[] = [];
    const driver = new RunnerDriver({ runner: core, onNote: (note) => notes.push(note) });

    driver.setDesired('ip', ['a']);
    driver.setDesired('ip', ['a', 'b']);
    await waitFor(() => core.idle(), { what: 'the first plan', intervalMs: 5 });
    assert.deepEqual(core.held('ip'), ['a', 'b']);
    assert.equal(notes.filter((note) => note.type === 'plan').length, 1, 'two quick calls make one plan');

    driver.setDesired('ip', ['b', 'c']);
    await waitFor(() => core.idle(), { what: 'the second plan', intervalMs: 5 });
    assert.deepEqual(core.held('ip'), ['b', 'c']);

    await driver.drain(true);
    assert.deepEqual(core.held('ip'), []);
    assert.equal(notes.at(-1)?.type, 'drained');
    driver.stop();

    const calls = readRecords(record).map((fields) => `${fields.FLIP_EVENT} ${fields.arg1}`);
    assert.deepEqual(calls.slice(0, 2).sort(), ['alive a', 'alive b']);
    assert.deepEqual(calls.slice(2, 4), ['down a', 'alive c']);
    assert.deepEqual(calls.slice(4).sort(), ['down b', 'down c']);
    for (const fields of readRecords(record)) {
      assert.equal(fields.arg2, '{"interface":"lo"}');
      assert.equal(fields.FLIP_NODE, 'n1');
      assert.equal(fields.FLIP_SYSTEM, 'ip');
    }
  });

  it('retries a failed script on its timer and stops acting after stop()', async () => {
    const core = runner(['a', 'b'], { retry_base_ms: 30 });
    const notes: RunnerNote[] = [];
    const launched: Launch[] = [];
    const driver = new RunnerDriver({
      runner: core,
      onNote: (note) => notes.push(note),
      launch: async (launch) => {
        launched.push(launch);
        if (launch.attempt === 1) return { ...ok(launch), ok: false, exit_code: 1, stderr: 'not yet' };
        return ok(launch);
      },
    });
    driver.setDesired('ip', ['a']);
    await waitFor(() => core.held('ip').length === 1, { what: 'the retry to succeed', intervalMs: 5 });
    assert.deepEqual(
      launched.map((launch) => launch.attempt),
      [1, 2],
    );
    const retry = notes.find((note) => note.type === 'retry');
    assert.ok(retry !== undefined && retry.type === 'retry' && retry.attempt === 2);

    driver.stop();
    driver.setDesired('ip', ['b']);
    await sleep(60);
    assert.equal(launched.length, 2, 'a stopped driver starts nothing');
  });

  it('after stop(), a pending retry timer launches nothing and a late result is not fed to the runner', async () => {
    // Was already safe (the driver clears its timer and checks `stopped` in every callback); pinned.
    const core = runner(['a', 'b'], { retry_base_ms: 30 });
    const launched: Launch[] = [];
    const notes: RunnerNote[] = [];
    let finishB: ((result: RunResult) => void) | undefined;
    const driver = new RunnerDriver({
      runner: core,
      onNote: (note) => notes.push(note),
      launch: (launch) => {
        launched.push(launch);
        if (launch.item === 'b') return new Promise((resolve) => (finishB = resolve));
        return Promise.resolve({ ...ok(launch), ok: false, exit_code: 1 });
      },
    });
    driver.setDesired('ip', ['a', 'b']);
    await waitFor(() => notes.some((note) => note.type === 'retry'), {
      what: 'the retry of a to be scheduled',
      intervalMs: 1,
    });
    driver.stop();
    const b = launched.find((launch) => launch.item === 'b')!;
    finishB?.(ok(b));
    await sleep(100);
    assert.deepEqual(
      launched.map((launch) => `${launch.item} ${launch.attempt}`),
      ['a 1', 'b 1'],
      'no retry of a after stop',
    );
    assert.deepEqual(
      core.status()[0]!.running.map((run) => run.item),
      ['b'],
      "b's result came after stop and was not given to the runner",
    );
  });

  it('turns a rejecting launcher into a failed run', async () => {
    const core = runner(['a'], { retry_base_ms: 10_000 });
    const notes: RunnerNote[] = [];
    const driver = new RunnerDriver({
      runner: core,
      onNote: (note) => notes.push(note),
      launch: () => Promise.reject(new Error('boom')),
    });
    driver.setDesired('ip', ['a']);
    await waitFor(() => notes.some((note) => note.type === 'finished'), {
      what: 'the failed run',
      intervalMs: 5,
    });
    const finished = notes.find((note) => note.type === 'finished');
    assert.ok(finished?.type === 'finished');
    assert.equal(finished.result.ok, false);
    assert.equal(finished.result.stderr, 'launcher failed: boom');
    const drained = driver.drain(false);
    assert.equal(driver.drain(true), drained, 'a second drain returns the first one');
    await drained;
    assert.ok(driver.drained);
    driver.stop();
  });
});
