/**
 * The script ledger against real processes in a temporary directory: what it records, what a
 * restart kills, and what it never kills (a pid now naming another process, a corrupt file).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchScript } from '../../src/executor/launcher.js';
import { bootId, groupExists, parseStat, processStartTicks } from '../../src/executor/process-groups.js';
import {
  LEDGER_FORMAT,
  type LedgerEntry,
  type LedgerFile,
  LedgerWriteError,
  LINGERING_MAX,
  parseLedger,
  RUN_TOKEN_ENV,
  readLedger,
  ScriptLedger,
} from '../../src/executor/script-ledger.js';
import type { Launch } from '../../src/executor/types.js';
import { waitFor } from '../../src/testing/wait.js';
import { script } from './scripts.js';

let dir = '';
const children: ChildProcess[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flip-ledger-'));
});
after(() => {
  for (const child of children) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

let dirs = 0;
/** A fresh state directory and the ledger file in it. */
function ledgerFile(): string {
  dirs += 1;
  const sub = join(dir, `state-${dirs}`);
  mkdirSync(sub, { mode: 0o700 });
  return join(sub, 'script-ledger.json');
}

function ledger(file: string, problems: { message: string; details: Record<string, unknown> }[] = []) {
  return new ScriptLedger({
    file,
    node: 'flip1',
    running_max: 2,
    onProblem: (message, details) => problems.push({ message, details }),
  });
}

function launchOf(item: string, overrides: Partial<Launch> = {}): Launch {
  return {
    run: 1,
    system: 'ip',
    item,
    event: 'alive',
    script: '/bin/true',
    args: [item, '{}'],
    env: {},
    timeout_ms: 5000,
    attempt: 1,
    plan: 1,
    reason: 'plan',
    ...overrides,
  };
}

/** A process group of its own, like a script's: `sh` leading it, with a `sleep` child. */
function group(): number {
  const child = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], { detached: true, stdio: 'ignore' });
  children.push(child);
  assert.ok(child.pid !== undefined, 'spawned');
  return child.pid;
}

function onDisk(file: string): LedgerFile {
  return JSON.parse(readFileSync(file, 'utf8')) as LedgerFile;
}

function entry(pgid: number, start_ticks: string, item = '10.0.0.1'): LedgerEntry {
  return {
    pgid,
    start_ticks,
    system: 'ip',
    item,
    event: 'alive',
    run: 3,
    state: 'running',
    started_at: new Date().toISOString(),
  };
}

function fileWith(file: string, entries: LedgerEntry[], extra: Partial<LedgerFile> = {}): void {
  const content: LedgerFile = {
    format: LEDGER_FORMAT,
    version: 1,
    node: 'flip1',
    boot_id: bootId() ?? null,
    entries,
    ...extra,
  };
  writeFileSync(file, JSON.stringify(content));
}

describe('executor: process groups', () => {
  it('reads state, group and start time from a stat line, whatever the command name holds', () => {
    const fields = (name: string) =>
      `4242 (${name}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200`;
    assert.deepEqual(parseStat(fields('sleep')), { state: 'S', pgrp: 4242, start_ticks: '987654' });
    assert.deepEqual(parseStat(fields('a) R 1 2 (b')), { state: 'S', pgrp: 4242, start_ticks: '987654' });
    assert.equal(parseStat('garbage'), undefined);
    assert.equal(parseStat('1 (x) S 1'), undefined);
  });
});

describe('executor: script ledger', () => {
  it('records a running script with its start time, and forgets it once its group is gone', async () => {
    const file = ledgerFile();
    const recorder = ledger(file);
    await recorder.recover();
    const scriptPath = join(dir, 'pause');
    writeFileSync(scriptPath, '#!/bin/sh\nsleep 0.4\n', { mode: 0o755 });
    const running = launchScript(launchOf('10.0.0.1', { script: scriptPath, run: 5 }), { recorder });
    const recorded = onDisk(file).entries;
    assert.equal(recorded.length, 1, 'on disk as soon as launchScript returns');
    const [first] = recorded;
    assert.equal(first!.start_ticks, processStartTicks(first!.pgid));
    assert.deepEqual(
      { system: first!.system, item: first!.item, event: first!.event, run: first!.run, state: first!.state },
      { system: 'ip', item: '10.0.0.1', event: 'alive', run: 5, state: 'running' },
    );
    assert.equal(onDisk(file).node, 'flip1');
    const result = await running;
    assert.equal(result.ok, true);
    assert.deepEqual(recorder.entries(), [], 'forgotten as soon as the group is gone');
    await waitFor(() => onDisk(file).entries.length === 0, { what: 'the end on disk', intervalMs: 1 });
    assert.deepEqual(
      readdirSync(join(file, '..')).sort(),
      ['script-ledger.json'],
      'no temporary file is left beside it',
    );
  });

  it('keeps a group its script left behind as lingering, never kills it, and forgets it when gone', async () => {
    const file = ledgerFile();
    const recorder = ledger(file);
    await recorder.recover();
    const pidfile = join(dir, 'left.pid');
    const result = await launchScript(
      launchOf('x', { script: script('leave-child'), env: { FLIP_TEST_PIDFILE: pidfile } }),
      {
        recorder,
        close_wait_ms: 50,
      },
    );
    assert.equal(result.ok, true);
    const child = Number(readFileSync(pidfile, 'utf8'));
    await waitFor(() => onDisk(file).entries[0]?.state === 'lingering', {
      what: 'lingering on disk',
      intervalMs: 1,
    });
    const [lingering] = onDisk(file).entries;

    // A restart finds the group without its leader: it is reported and left alone.
    const restarted = ledger(file);
    const recovery = await restarted.recover();
    assert.deepEqual(recovery.killed, []);
    assert.equal(recovery.left_alone.length, 1);
    assert.match(recovery.left_alone[0]!.why, /left processes behind/);
    assert.doesNotThrow(() => process.kill(child, 0), 'the left-behind process still runs');
    process.kill(child, 'SIGKILL');
    await waitFor(() => !groupExists(lingering!.pgid), { what: 'the group to go' });
  });

  it('at a restart, SIGKILLs a recorded group whose leader has the recorded start time, all of it', async () => {
    const file = ledgerFile();
    const pgid = group();
    const start = processStartTicks(pgid);
    assert.ok(start !== undefined, 'a start time in /proc');
    fileWith(file, [entry(pgid, start)]);
    await waitFor(() => readdirSync('/proc').some((pid) => /^\d+$/.test(pid) && inGroup(Number(pid), pgid)), {
      what: 'the child sleep',
    });
    const recovery = await ledger(file).recover();
    assert.deepEqual(
      recovery.killed.map((killed) => killed.pgid),
      [pgid],
    );
    assert.deepEqual(recovery.still_running, []);
    assert.equal(recovery.problem, undefined);
    assert.equal(groupExists(pgid), false, 'the leader and its child are gone');
    assert.deepEqual(onDisk(file).entries, [], 'the ledger is cleared');
  });

  it('records a script before its spawn; a restart kills it by the token in its environment though its group was never recorded', async () => {
    const file = ledgerFile();
    const recorder = ledger(file);
    await recorder.recover();
    const token = recorder.starting(launchOf('10.0.0.7'));
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      onDisk(file).starting?.map((starting) => [starting.token, starting.item]),
      [[token, '10.0.0.7']],
      'on disk before anything is spawned',
    );
    // The agent dies between the spawn and started(): only the token names the script.
    const child = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [RUN_TOKEN_ENV]: token },
    });
    children.push(child);
    const pgid = child.pid!;
    // Another group that carries some other token is not touched.
    const other = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [RUN_TOKEN_ENV]: 'f'.repeat(32) },
    });
    children.push(other);
    await waitFor(() => readdirSync('/proc').some((pid) => /^\d+$/.test(pid) && inGroup(Number(pid), pgid)), {
      what: 'the child sleep',
    });
    const recovery = await ledger(file).recover();
    assert.deepEqual(
      recovery.killed.map((killed) => [killed.pgid, killed.item, killed.event]),
      [[pgid, '10.0.0.7', 'alive']],
    );
    assert.equal(groupExists(pgid), false, 'the script and its child are gone');
    assert.equal(groupExists(other.pid!), true, 'the other group runs on');
    assert.deepEqual(onDisk(file).starting, [], 'the ledger is cleared');
  });

  it('forgets a starting entry once started or once its spawn failed', async () => {
    const file = ledgerFile();
    const recorder = ledger(file);
    await recorder.recover();
    const token = recorder.starting(launchOf('a'));
    recorder.started(launchOf('a'), group(), token);
    assert.deepEqual(onDisk(file).starting, []);
    assert.equal(onDisk(file).entries.length, 1);
    const failed = recorder.starting(launchOf('b'));
    recorder.notStarted(failed);
    await waitFor(() => onDisk(file).starting?.length === 0, {
      what: 'the failed start forgotten',
      intervalMs: 1,
    });
    // Through the launcher: a script that does not exist leaves nothing behind.
    const missing = await launchScript(launchOf('c', { script: join(dir, 'no-such-script') }), { recorder });
    assert.equal(missing.ok, false);
    await waitFor(() => onDisk(file).starting?.length === 0, { what: 'nothing starting', intervalMs: 1 });
  });

  it('never kills a pid that now names another process (another start time)', async () => {
    const file = ledgerFile();
    const pgid = group();
    const start = processStartTicks(pgid)!;
    const other = String(BigInt(start) - 1n);
    fileWith(file, [entry(pgid, other)]);
    const recovery = await ledger(file).recover();
    assert.deepEqual(recovery.killed, []);
    assert.equal(recovery.left_alone.length, 1);
    assert.match(recovery.left_alone[0]!.why, /another process/);
    assert.ok(groupExists(pgid), 'still running');
    assert.deepEqual(onDisk(file).entries, []);
  });

  it('kills nothing from a ledger of an earlier boot, or of another server', async () => {
    const pgid = group();
    const start = processStartTicks(pgid)!;
    const earlier = ledgerFile();
    fileWith(earlier, [entry(pgid, start)], { boot_id: 'a-boot-long-ago' });
    const rebooted = await ledger(earlier).recover();
    assert.deepEqual(rebooted.killed, []);
    assert.equal(rebooted.previous_boot, bootId() !== undefined);
    const foreign = ledgerFile();
    fileWith(foreign, [entry(pgid, start)], { node: 'flip2' });
    const other = await ledger(foreign).recover();
    assert.match(other.problem ?? '', /written by server "flip2"/);
    assert.deepEqual(other.killed, []);
    assert.ok(groupExists(pgid), 'still running');
  });

  it('reports a corrupt, oversized or linked ledger, ignores it and starts a clean one', async () => {
    const cases: [string, (file: string) => void, RegExp][] = [
      ['garbage', (file) => writeFileSync(file, '{"format": "flip-script-ledger", "entr'), /not JSON/],
      ['empty', (file) => writeFileSync(file, ''), /not JSON/],
      ['a list', (file) => writeFileSync(file, '[]'), /not a JSON object/],
      [
        'another format',
        (file) => writeFileSync(file, '{"format":"x","version":1}'),
        /not a flip-script-ledger/,
      ],
      ['too large', (file) => writeFileSync(file, ' '.repeat(1024 * 1024 + 1)), /at most/],
      ['a directory', (file) => mkdirSync(file), /not a regular file/],
      [
        'a symbolic link',
        (file) => {
          writeFileSync(`${file}.elsewhere`, '{}');
          symlinkSync(`${file}.elsewhere`, file);
        },
        /symbolic link/,
      ],
    ];
    for (const [name, make, problem] of cases) {
      const file = ledgerFile();
      make(file);
      const recovery = await (async () => {
        try {
          return await ledger(file).recover();
        } catch (error) {
          // A directory where the file should be cannot be replaced: that is a start error.
          assert.ok(error instanceof LedgerWriteError, `${name}: ${(error as Error)?.stack}`);
          return undefined;
        }
      })();
      if (recovery === undefined) {
        assert.equal(name, 'a directory');
        continue;
      }
      assert.match(recovery.problem ?? '', problem, name);
      assert.deepEqual(recovery.killed, [], name);
      assert.deepEqual(onDisk(file).entries, [], `${name}: replaced by a clean ledger`);
    }
  });

  it('checks every field of every entry before trusting a ledger', () => {
    const good = entry(4242, '987654');
    const text = (entries: unknown[], extra: Record<string, unknown> = {}) =>
      JSON.stringify({ format: LEDGER_FORMAT, version: 1, node: 'n', boot_id: null, entries, ...extra });
    assert.ok('ledger' in parseLedger(text([good])), 'a good ledger');
    const bad: [string, unknown][] = [
      ['pgid 0 (our own group)', { ...good, pgid: 0 }],
      ['pgid 1 (init)', { ...good, pgid: 1 }],
      ['a negative pgid (every process)', { ...good, pgid: -1 }],
      ['a fractional pgid', { ...good, pgid: 42.5 }],
      ['a pgid beyond any pid', { ...good, pgid: 2 ** 23 }],
      ['a start time that is not digits', { ...good, start_ticks: '12a' }],
      ['a numeric start time', { ...good, start_ticks: 987654 }],
      ['an unknown event', { ...good, event: 'up' }],
      ['an unknown state', { ...good, state: 'done' }],
      ['no item', { ...good, item: undefined }],
      ['not an object', 'entry'],
    ];
    for (const [name, raw] of bad) assert.ok('problem' in parseLedger(text([raw])), name);
    assert.ok('problem' in parseLedger(text([good], { version: 2 })), 'another version');
    assert.ok('problem' in parseLedger(text([good], { boot_id: 7 })), 'a numeric boot id');
    assert.ok('problem' in parseLedger(text(new Array(4097).fill(good))), 'too many entries');
    assert.deepEqual(readLedger(join(dir, 'no-such-ledger.json')), { ledger: undefined });
  });

  it('holds at most running_max running entries plus LINGERING_MAX lingering ones, oldest forgotten first', async () => {
    const file = ledgerFile();
    const problems: { message: string; details: Record<string, unknown> }[] = [];
    const recorder = ledger(file, problems);
    await recorder.recover();
    const groups = Array.from({ length: LINGERING_MAX + 3 }, () => group());
    for (const [i, pgid] of groups.entries()) {
      recorder.started(launchOf(`item-${i}`), pgid);
      recorder.ended(pgid, false);
    }
    await nextTurn();
    const lingering = onDisk(file).entries;
    assert.equal(lingering.length, LINGERING_MAX);
    assert.deepEqual(
      lingering.map((kept) => kept.pgid),
      groups.slice(3),
      'the newest are kept',
    );
    const running = [group(), group()];
    for (const pgid of running) recorder.started(launchOf('r'), pgid);
    assert.equal(onDisk(file).entries.length, 2 + LINGERING_MAX);
    assert.deepEqual(problems, []);
    // A lingering group that is gone is dropped at the next write.
    process.kill(-groups[3]!, 'SIGKILL');
    await waitFor(() => !groupExists(groups[3]!), { what: 'the group to go' });
    recorder.ended(running[0]!, true);
    await nextTurn();
    assert.ok(!onDisk(file).entries.some((kept) => kept.pgid === groups[3]), 'the gone group is dropped');
    assert.ok(!onDisk(file).entries.some((kept) => kept.pgid === running[0]), 'the ended one is dropped');
  });

  it('shortens a long item: the ledger stays small, the log still shows both ends', async () => {
    const file = ledgerFile();
    const recorder = ledger(file);
    await recorder.recover();
    recorder.started(launchOf(`head-${'x'.repeat(16_000)}-tail`), group());
    const [recorded] = onDisk(file).entries;
    assert.ok(recorded!.item.length < 400, `${recorded!.item.length} characters`);
    assert.match(recorded!.item, /^head-x+\n\[\.\.\. .* cut/);
    assert.match(recorded!.item, /-tail$/);
  });

  it('reports a write that fails without throwing, and fails recover, which is a start error', async () => {
    const file = join(dir, 'no-such-dir', 'script-ledger.json');
    const problems: { message: string; details: Record<string, unknown> }[] = [];
    const recorder = ledger(file, problems);
    recorder.started(launchOf('a'), group());
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /cannot write the script ledger/);
    assert.match(String(problems[0]!.details.error), /ENOENT/);
    await assert.rejects(recorder.recover(), (error: unknown) => {
      assert.ok(error instanceof LedgerWriteError, String(error));
      assert.match(error.message, /no-such-dir\/script-ledger\.json: .*ENOENT/);
      return true;
    });
    assert.equal(existsSync(file), false);
  });
});

function inGroup(pid: number, pgid: number): boolean {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
    return pid !== pgid && stat?.pgrp === pgid && stat.state !== 'Z';
  } catch {
    return false;
  }
}

/** After the next turn of the event loop, when the ledger has written what ended() changed. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
