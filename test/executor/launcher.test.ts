import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkScript, launchScript, resolveScript } from '../../src/executor/launcher.js';
import type { Launch } from '../../src/executor/runner.js';
import { FIXTURES, readRecords, SCRIPTS, script } from './scripts.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flip-launcher-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function launch(path: string, overrides: Partial<Launch> = {}, env: Record<string, string> = {}): Launch {
  const item = overrides.item ?? '10.0.0.1';
  const config = '{"interface":"eth0"}';
  return {
    run: 7,
    system: 'ip',
    item,
    event: 'alive',
    script: path,
    args: [item, config],
    env: {
      FLIP_EVENT: 'alive',
      FLIP_SYSTEM: 'ip',
      FLIP_ITEM: item,
      FLIP_NODE: 'flip1',
      FLIP_CONFIG: config,
      ...env,
    },
    timeout_ms: 5000,
    attempt: 1,
    plan: 1,
    reason: 'plan',
    ...overrides,
  };
}

/** Gone means no such process, or a zombie waiting to be reaped: it runs no more. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

describe('executor: launchScript', () => {
  it('runs a script with the item and config as arguments and the FLIP_ variables', async () => {
    const record = join(dir, 'plain.rec');
    const result = await launchScript(launch(script('record'), {}, { FLIP_TEST_RECORD: record }));
    assert.equal(result.run, 7);
    assert.equal(result.ok, true);
    assert.equal(result.exit_code, 0);
    assert.equal(result.signal, null);
    assert.equal(result.timed_out, false);
    assert.ok(result.duration_ms >= 0);
    assert.match(result.output, /out: alive 10\.0\.0\.1/);
    assert.match(result.output, /err: alive 10\.0\.0\.1/, 'stderr is captured with stdout');
    assert.deepEqual(readRecords(record), [
      {
        argc: '2',
        arg1: '10.0.0.1',
        arg2: '{"interface":"eth0"}',
        FLIP_EVENT: 'alive',
        FLIP_SYSTEM: 'ip',
        FLIP_ITEM: '10.0.0.1',
        FLIP_NODE: 'flip1',
        FLIP_CONFIG: '{"interface":"eth0"}',
        PATH_SET: 'yes',
      },
    ]);
  });

  it('passes an item full of shell metacharacters as one literal argument', async () => {
    const record = join(dir, 'meta.rec');
    const item = 'a; rm -rf / $(x) "q" `y` * | > z \' \\ $HOME\nline2';
    const result = await launchScript(launch(script('record'), { item }, { FLIP_TEST_RECORD: record }));
    assert.equal(result.ok, true);
    const [fields] = readRecords(record);
    assert.equal(fields?.argc, '2');
    assert.equal(fields?.arg1, item);
    assert.equal(fields?.FLIP_ITEM, item);
  });

  it('reports a failing script with its exit code and output', async () => {
    const result = await launchScript(launch(script('fail-3')));
    assert.equal(result.ok, false);
    assert.equal(result.exit_code, 3);
    assert.equal(result.timed_out, false);
    assert.match(result.output, /fail-3: cannot do it/);
  });

  it('kills the whole process group with SIGTERM at the timeout', async () => {
    const pidfile = join(dir, 'hang.pid');
    const result = await launchScript(
      launch(script('hang'), { timeout_ms: 300 }, { FLIP_TEST_PIDFILE: pidfile }),
      { kill_grace_ms: 5000 },
    );
    assert.equal(result.ok, false);
    assert.equal(result.timed_out, true);
    assert.equal(result.signal, 'SIGTERM');
    assert.ok(result.duration_ms >= 290, `${result.duration_ms}`);
    assert.ok(result.duration_ms < 3000, `did not wait for the SIGKILL deadline: ${result.duration_ms}`);
    assert.match(result.output, /hanging/);
    const child = Number(readFileSync(pidfile, 'utf8'));
    assert.ok(child > 0);
    assert.ok(gone(child), 'the child sleep is gone too');
  });

  it('kills a group that ignores SIGTERM with SIGKILL after kill_grace_ms', async () => {
    const pidfile = join(dir, 'stubborn.pid');
    const result = await launchScript(
      launch(script('hang'), { timeout_ms: 200 }, { FLIP_TEST_PIDFILE: pidfile, FLIP_TEST_IGNORE_TERM: '1' }),
      { kill_grace_ms: 300 },
    );
    assert.equal(result.timed_out, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(result.duration_ms >= 480, `${result.duration_ms}`);
    const child = Number(readFileSync(pidfile, 'utf8'));
    assert.ok(gone(child), 'the child sleep, which ignored SIGTERM too, is gone');
  });

  it('does not wait for a background child that keeps the output open', async () => {
    const pidfile = join(dir, 'leave.pid');
    const result = await launchScript(launch(script('leave-child'), {}, { FLIP_TEST_PIDFILE: pidfile }), {
      close_wait_ms: 100,
    });
    const child = Number(readFileSync(pidfile, 'utf8'));
    try {
      assert.equal(result.ok, true);
      assert.match(result.output, /left a child behind/);
      assert.ok(result.duration_ms < 2000, `${result.duration_ms}`);
      assert.ok(!gone(child), 'a script that exits normally keeps its background children');
    } finally {
      process.kill(child, 'SIGKILL');
    }
  });

  it('keeps the first output_bytes_max bytes and says how much was dropped', async () => {
    const result = await launchScript(launch(script('loud')), { output_bytes_max: 1000 });
    assert.equal(result.ok, true);
    assert.ok(result.output.startsWith('x'.repeat(1000)));
    assert.equal(result.output.indexOf('done'), -1);
    assert.match(result.output, /\n\[output truncated: kept the first 1000 of 200005 bytes\]$/);
  });

  it('reports a missing script without throwing', async () => {
    const result = await launchScript(launch(join(dir, 'no-such-script')));
    assert.equal(result.ok, false);
    assert.equal(result.exit_code, null);
    assert.equal(result.timed_out, false);
    assert.match(result.output, /cannot start script ".*no-such-script": not found \(ENOENT\)/);
  });

  it('reports a script that is not executable without throwing', async () => {
    const result = await launchScript(launch(script('not-executable')));
    assert.equal(result.ok, false);
    assert.match(result.output, /permission denied \(EACCES\)/);
  });

  it('reports an argument spawn cannot pass (a NUL byte) without throwing', async () => {
    const result = await launchScript(launch(script('record'), { item: 'a\0b' }));
    assert.equal(result.ok, false);
    assert.match(result.output, /cannot start script/);
  });

  it('mentions the working directory when it is the missing part', async () => {
    const result = await launchScript(launch(script('record')), { cwd: join(dir, 'missing-dir') });
    assert.equal(result.ok, false);
    assert.match(result.output, /working directory ".*missing-dir" does not exist/);
  });
});

describe('executor: resolveScript and checkScript', () => {
  it('resolves paths with a slash against the config directory and leaves bare names', () => {
    const table: [string, string][] = [
      ['scripts/up', '/etc/flip/scripts/up'],
      ['./up', '/etc/flip/up'],
      ['../bin/up', '/etc/bin/up'],
      ['/usr/local/bin/up', '/usr/local/bin/up'],
      ['ip_up', 'ip_up'],
    ];
    for (const [script, expected] of table)
      assert.equal(resolveScript(script, '/etc/flip'), expected, script);
  });

  it('accepts executable scripts by path and by name on PATH', () => {
    assert.equal(checkScript('scripts/record', FIXTURES), undefined);
    assert.equal(checkScript(script('record'), '/nowhere'), undefined);
    assert.equal(checkScript('bash', '/nowhere'), undefined);
    assert.equal(checkScript('record', '/nowhere', `/no/such/dir::${SCRIPTS}`), undefined);
  });

  it('explains what is wrong with a script', () => {
    assert.match(checkScript('scripts/missing', FIXTURES) ?? '', /"scripts\/missing" \(.*\) does not exist/);
    assert.match(checkScript('scripts/not-executable', FIXTURES) ?? '', /is not executable/);
    assert.match(checkScript('scripts/', FIXTURES) ?? '', /is not a regular file/);
    assert.match(checkScript('./', FIXTURES) ?? '', /is not a regular file/);
    assert.match(
      checkScript('no-such-flip-script', FIXTURES) ?? '',
      /"no-such-flip-script" was not found on PATH/,
    );
    assert.match(
      checkScript('not-executable', FIXTURES, SCRIPTS) ?? '',
      /found on PATH at .* is not executable/,
    );
    assert.match(checkScript('record', FIXTURES, '') ?? '', /not found on PATH/);
    assert.match(checkScript('', FIXTURES) ?? '', /empty/);
  });
});
