import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkScript, launchScript, resolveScript } from '../../src/executor/launcher.js';
import type { Launch } from '../../src/executor/types.js';
import { FIXTURES, readRecords, SCRIPTS, script } from './scripts.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flip-launcher-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes an executable script into the test's directory. */
function scriptFile(name: string, text: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

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
    assert.equal(result.stdout, 'out: alive 10.0.0.1\n');
    assert.equal(result.stderr, 'err: alive 10.0.0.1\n', 'stderr is captured apart from stdout');
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
    assert.equal(result.stderr, 'fail-3: cannot do it\n');
    assert.match(result.stdout, /^starting /);
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
    assert.match(result.stdout, /hanging/);
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
      assert.match(result.stdout, /left a child behind/);
      assert.ok(result.duration_ms < 2000, `${result.duration_ms}`);
      assert.ok(!gone(child), 'a script that exits normally keeps its background children');
    } finally {
      process.kill(child, 'SIGKILL');
    }
  });

  it('keeps the head and the tail of a long stdout, stderr apart, and says exactly what was cut', async () => {
    // loud prints 17 + 200000 + 1 + 16 = 200034 bytes; by default each stream keeps 16 KiB + 16 KiB.
    const result = await launchScript(launch(script('loud')));
    assert.equal(result.ok, true);
    const head = `loud: first line\n${'x'.repeat(16384 - 17)}`;
    const tail = `${'x'.repeat(16384 - 17)}\nloud: last line\n`;
    const note = '[... 167266 bytes cut: kept the first 16384 and the last 16384 of 200034 ...]';
    assert.equal(result.stdout, `${head}\n${note}\n${tail}`);
    assert.equal(result.stderr, 'loud: a word on stderr\n');
  });

  it('keeps output_bytes_max bytes per stream: the first and the last half', async () => {
    const result = await launchScript(launch(script('loud')), { output_bytes_max: 1000 });
    assert.equal(result.ok, true);
    const note = '[... 199034 bytes cut: kept the first 500 and the last 500 of 200034 ...]';
    assert.equal(
      result.stdout,
      `loud: first line\n${'x'.repeat(483)}\n${note}\n${'x'.repeat(483)}\nloud: last line\n`,
    );
    assert.equal(result.stderr, 'loud: a word on stderr\n', 'stderr has its own budget');
  });

  it('reports a missing script without throwing', async () => {
    const result = await launchScript(launch(join(dir, 'no-such-script')));
    assert.equal(result.ok, false);
    assert.equal(result.exit_code, null);
    assert.equal(result.timed_out, false);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^cannot start script ".*no-such-script": not found \(ENOENT\)$/);
  });

  it('reports a script that is not executable without throwing', async () => {
    const result = await launchScript(launch(script('not-executable')));
    assert.equal(result.ok, false);
    assert.match(result.stderr, /permission denied \(EACCES\): it is not executable \(chmod \+x\)$/);
  });

  it('reports an argument spawn cannot pass (a NUL byte) without throwing', async () => {
    const result = await launchScript(launch(script('record'), { item: 'a\0b' }));
    assert.equal(result.ok, false);
    assert.match(result.stderr, /cannot start script/);
  });

  it('mentions the working directory when it is the missing part', async () => {
    const result = await launchScript(launch(script('record')), { cwd: join(dir, 'missing-dir') });
    assert.equal(result.ok, false);
    assert.match(result.stderr, /: its working directory ".*missing-dir" does not exist$/);
  });

  it('does not blame the working directory when it exists', async () => {
    const result = await launchScript(launch(join(dir, 'no-such-script')), { cwd: dir });
    assert.match(result.stderr, /not found \(ENOENT\)$/);
    assert.doesNotMatch(result.stderr, /working directory/);
  });

  it('names a #! interpreter that does not exist', async () => {
    const path = scriptFile('missing-interpreter', '#!/usr/bin/nosuch-flip-interpreter -e\necho hi\n');
    const result = await launchScript(launch(path), { cwd: dir });
    assert.equal(result.ok, false);
    assert.equal(result.exit_code, null);
    assert.equal(
      result.stderr,
      `cannot start script "${path}": its interpreter "/usr/bin/nosuch-flip-interpreter" (from the #! line) does not exist`,
    );
  });

  it('says that a #! line ends with a carriage return', async () => {
    const path = scriptFile('crlf', '#!/bin/sh\r\necho hi\r\n');
    const result = await launchScript(launch(path));
    assert.equal(result.ok, false);
    assert.equal(
      result.stderr,
      `cannot start script "${path}": its interpreter "/bin/sh\\r" (from the #! line) does not exist: ` +
        'the #! line ends with a carriage return (CRLF line endings; convert the file to LF)',
    );
  });

  it('names a #! interpreter that is a directory', async () => {
    const path = scriptFile('dir-interpreter', `#!${dir}\n`);
    const result = await launchScript(launch(path));
    assert.match(result.stderr, /its interpreter ".*" \(from the #! line\) is not a regular file$/);
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
    // record is `#!/usr/bin/env bash`, and env looks for bash on the same PATH.
    assert.equal(
      checkScript('record', '/nowhere', `/no/such/dir::${SCRIPTS}:${process.env.PATH}`),
      undefined,
    );
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

  it('refuses a script whose #! interpreter does not exist', () => {
    const path = scriptFile('check-missing', '#!/usr/bin/nosuch-flip-interpreter\necho hi\n');
    assert.equal(
      checkScript('check-missing', dir, dir),
      `script "check-missing" found on PATH at ${path}: its interpreter "/usr/bin/nosuch-flip-interpreter" (from the #! line) does not exist`,
    );
    assert.equal(
      checkScript('./check-missing', dir),
      `script "./check-missing" (${path}): its interpreter "/usr/bin/nosuch-flip-interpreter" (from the #! line) does not exist`,
    );
  });

  it('refuses a script whose #!/usr/bin/env program is not on PATH', () => {
    scriptFile('check-env', '#!/usr/bin/env nosuchinterp\necho hi\n');
    assert.equal(
      checkScript('./check-env', dir),
      `script "./check-env" (${join(dir, 'check-env')}): its interpreter "nosuchinterp" ` +
        '(from the #! line, run by /usr/bin/env) was not found on PATH',
    );
    scriptFile('check-env-s', '#!/usr/bin/env -S -u HOME nosuchinterp -e\n');
    assert.match(
      checkScript('./check-env-s', dir) ?? '',
      /its interpreter "nosuchinterp" .* not found on PATH$/,
    );
    scriptFile('check-env-args', '#!/usr/bin/env bash -e\n');
    assert.match(
      checkScript('./check-env-args', dir) ?? '',
      /"bash -e" .* was not found on PATH: everything after \/usr\/bin\/env is one argument/,
    );
    scriptFile('check-env-crlf', '#!/usr/bin/env bash\r\n');
    assert.match(checkScript('./check-env-crlf', dir) ?? '', /"bash\\r" .* ends with a carriage return/);
    assert.match(checkScript('./check-env', dir, '') ?? '', /not found on PATH/, 'the PATH given is used');
  });

  it('refuses a script with a CRLF #! line', () => {
    scriptFile('check-crlf', '#!/bin/sh\r\necho hi\r\n');
    assert.match(
      checkScript('./check-crlf', dir) ?? '',
      /its interpreter "\/bin\/sh\\r" \(from the #! line\) does not exist: the #! line ends with a carriage return/,
    );
  });

  it('accepts scripts with a working #! line and programs without one', () => {
    assert.equal(checkScript(script('fail-3'), '/nowhere'), undefined, '#!/usr/bin/env bash');
    scriptFile('check-sh', '#! /bin/sh -e \necho hi\n');
    assert.equal(checkScript('./check-sh', dir), undefined, 'spaces around the interpreter');
    scriptFile('check-env-s-ok', '#!/usr/bin/env -S bash -e\n');
    assert.equal(checkScript('./check-env-s-ok', dir), undefined);
    assert.equal(checkScript(process.execPath, '/nowhere'), undefined, 'a binary');
    scriptFile('check-plain', 'echo no shebang\n');
    assert.equal(checkScript('./check-plain', dir), undefined, 'a script without #! is left to the shell');
  });

  it('says a directory is not a regular file and a non-executable script is not executable', () => {
    mkdirSync(join(dir, 'check-dir'), { recursive: true });
    assert.match(checkScript('./check-dir', dir) ?? '', /is not a regular file$/);
    scriptFile('check-644', '#!/bin/sh\n', 0o644);
    assert.match(checkScript('./check-644', dir) ?? '', /is not executable \(chmod \+x\)$/);
  });
});
