/**
 * Real agents as separate processes on 127.0.0.1, with scripts that only record: the README's
 * story happens for real, graceful stops hand over at once, and bad input is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeUdpPorts, LoopbackCluster, RECORD_SCRIPT } from '../../src/demo/loopback-cluster.js';
import { processStat } from '../../src/executor/process-groups.js';
import { LOOPBACK_TIMING, README_TIMING } from '../../src/testing/timing.js';
import { sleep, waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlip } from '../helpers/flip-cli.js';

const README = join(ROOT, 'examples/readme.json');
const FLIP_COMMAND = [process.execPath, '--import', 'tsx', CLI];

/** How long the tests wait for an agent to get somewhere, at most (polling every 50 ms). */
const WAIT_MS = 20_000;

function held(cluster: LoopbackCluster, gone: Set<string> = new Set()): Record<string, string[]> {
  return Object.fromEntries(cluster.holdings(gone).get('ip')!);
}

const ALL_UP = { flip: ['192.168.0.2'], flip1: ['192.168.0.1'], flip2: [] };
const FLIP1_DOWN = { flip: ['192.168.0.1', '192.168.0.2'], flip1: [], flip2: [] };

describe('agents on loopback: the README story for real', { timeout: 120_000 }, () => {
  const clusters: LoopbackCluster[] = [];
  after(async () => {
    for (const cluster of clusters) await cluster.close(3_000);
  });

  it('all up, flip1 killed with SIGKILL (its item moves to flip), flip1 back (it returns)', async () => {
    const cluster = await LoopbackCluster.create({
      configFile: README,
      // Fast timers so the test takes seconds; the placement is the README's all the same.
      overrides: LOOPBACK_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    for (const id of cluster.ids) cluster.start(id);
    await waitFor(() => JSON.stringify(held(cluster)) === JSON.stringify(ALL_UP), {
      what: 'all-up split',
      timeoutMs: WAIT_MS,
    });

    cluster.signal('flip1', 'SIGKILL');
    await cluster.waitExit('flip1');
    const gone = new Set(['flip1']);
    await waitFor(() => JSON.stringify(held(cluster, gone)) === JSON.stringify(FLIP1_DOWN), {
      what: 'flip takes 192.168.0.1',
      timeoutMs: WAIT_MS,
    });
    // The agent's log is written asynchronously: the decision's line may reach the file after
    // the script that it led to has recorded its run.
    const downLine = /"member":"flip1","from":"probably_down","to":"down"/;
    await waitFor(() => downLine.test(readFileSync(join(cluster.dir, 'flip.log'), 'utf8')), {
      what: "flip's log says flip1 was declared down",
      timeoutMs: 5_000,
    });

    const mark = cluster.records().length;
    cluster.start('flip1');
    await waitFor(() => JSON.stringify(held(cluster)) === JSON.stringify(ALL_UP), {
      what: '192.168.0.1 goes home',
      timeoutMs: WAIT_MS,
    });
    // flip ran `down` for the item it gave back, and flip1 ran `alive` for it only after that:
    // it waited for flip's release notice, so the two never held it at once.
    await waitFor(
      () =>
        cluster
          .records()
          .slice(mark)
          .some((r) => r.node === 'flip1' && r.event === 'alive' && r.item === '192.168.0.1'),
      { what: 'flip1 runs alive for 192.168.0.1', timeoutMs: WAIT_MS },
    );
    const records = cluster.records().slice(mark);
    const handedBack = records.findIndex(
      (r) => r.node === 'flip' && r.event === 'down' && r.item === '192.168.0.1',
    );
    const cameHome = records.findIndex(
      (r) => r.node === 'flip1' && r.event === 'alive' && r.item === '192.168.0.1',
    );
    assert.ok(handedBack >= 0, 'flip gave 192.168.0.1 back');
    assert.ok(
      cameHome > handedBack,
      `flip1's alive (record ${cameHome}) after flip's down (record ${handedBack})`,
    );
    // flip1 claimed the item and took it once flip (its `down` done) agreed; its `alive` after
    // flip's `down` is the announcement that makes neighbours forget flip.
    await waitFor(
      () =>
        /"items":\["ip\/192.168.0.1"\],"msg":"every member agreed to our claim: taking the items"/.test(
          readFileSync(join(cluster.dir, 'flip1.log'), 'utf8'),
        ),
      { what: "flip1 takes 192.168.0.1 on flip's word", timeoutMs: WAIT_MS },
    );
    await waitFor(
      () => {
        const all = cluster.records();
        const released = all.findLastIndex(
          (r) => r.node === 'flip' && r.event === 'down' && r.item === '192.168.0.1',
        );
        const announced = all.findLastIndex(
          (r) => r.node === 'flip1' && r.event === 'alive' && r.item === '192.168.0.1',
        );
        return released >= 0 && announced > released;
      },
      { what: 'flip1 announces 192.168.0.1 after flip released it', timeoutMs: WAIT_MS },
    );
  });

  it('SIGTERM: the owner runs `down` and a peer takes over long before failure detection would', async () => {
    const cluster = await LoopbackCluster.create({
      configFile: README,
      overrides: README_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    for (const id of cluster.ids) cluster.start(id);
    await waitFor(() => JSON.stringify(held(cluster)) === JSON.stringify(ALL_UP), {
      what: 'all-up split',
      timeoutMs: 30_000,
    });

    const before = cluster.records().length;
    const stoppedAt = process.hrtime.bigint();
    cluster.signal('flip1', 'SIGTERM');
    assert.equal(await cluster.waitExit('flip1'), 0, 'a graceful stop exits 0');
    const takeover = await waitFor(
      () =>
        cluster
          .records()
          .slice(before)
          .find((r) => r.node === 'flip' && r.event === 'alive' && r.item === '192.168.0.1'),
      { what: 'flip runs alive for 192.168.0.1', timeoutMs: WAIT_MS },
    );
    const released = cluster
      .records()
      .slice(before)
      .find((r) => r.node === 'flip1' && r.event === 'down' && r.item === '192.168.0.1');
    assert.ok(released, 'flip1 ran down for its item before exiting');
    // Wall clock of the record script (ns since epoch) against ours: compare in one clock.
    const handoverMs = Number(takeover.at_ns - released.at_ns) / 1e6;
    assert.ok(
      Math.abs(handoverMs) < 1500,
      `takeover ${handoverMs.toFixed(0)} ms from release: within one ping_timeout (detection needs two plus)`,
    );
    assert.ok(Number(process.hrtime.bigint() - stoppedAt) / 1e6 < 5_000);
    const log = readFileSync(join(cluster.dir, 'flip.log'), 'utf8');
    assert.match(log, /"member":"flip1","from":"alive","to":"left"/);
    assert.doesNotMatch(log, /"member":"flip1"[^\n]*"to":"down"/);
  });
});

describe('agents on loopback: scripts', { timeout: 120_000 }, () => {
  const clusters: LoopbackCluster[] = [];
  after(async () => {
    for (const cluster of clusters) await cluster.close(3_000);
  });

  function singleServerConfig(
    dir: string,
    script: string,
    data: string[],
    extra: Record<string, unknown> = {},
  ): string {
    const file = join(dir, 'solo.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'solo',
        key: 'k',
        ...LOOPBACK_TIMING,
        servers: { solo: { ip: '127.0.0.1', port: 2299, systems: ['s'] } },
        cluster: { system: { s: { alive: script, down: script, type: 'shard', data, delay: 0, ...extra } } },
      }),
    );
    return file;
  }

  it('an item with shell metacharacters reaches the script as one literal argument', async () => {
    const item = `a b; touch /tmp/flip-pwned $(id) "q'\`x\``;
    const cluster = await LoopbackCluster.create({
      configFile: singleServerConfig(mkdtempSync(join(tmpdir(), 'flip-meta-')), RECORD_SCRIPT, [item]),
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    cluster.start('solo');
    const record = await waitFor(() => cluster.records().find((r) => r.event === 'alive'), {
      what: 'alive recorded',
      timeoutMs: WAIT_MS,
    });
    assert.equal(record.item, item);
    assert.equal(record.node, 'solo');
    assert.equal(record.system, 's');
  });

  it('a hanging script is killed at its timeout and retried; a failing one is retried and reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-hang-'));
    const script = join(dir, 'flaky');
    const counter = join(dir, 'count');
    // First run hangs (killed at the timeout), later runs fail with exit 7.
    writeFileSync(
      script,
      `#!/bin/sh\nn=$(cat ${counter} 2>/dev/null || echo 0)\necho $((n+1)) > ${counter}\nif [ "$n" = 0 ]; then sleep 60; fi\necho "failing on purpose" >&2\nexit 7\n`,
    );
    chmodSync(script, 0o755);
    const cluster = await LoopbackCluster.create({
      configFile: singleServerConfig(dir, script, ['x'], { script_timeout: 500 }),
      systemOverrides: { alive: script, down: script },
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    cluster.start('solo');
    const log = () => {
      try {
        return readFileSync(join(cluster.dir, 'solo.log'), 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor(() => /"timed_out":true/.test(log()), { what: 'a timed-out run', timeoutMs: WAIT_MS });
    await waitFor(() => /"exit_code":7/.test(log()) && /failing on purpose/.test(log()), {
      what: 'a failed retry with exit 7',
      timeoutMs: WAIT_MS,
    });
    // stderr is logged in a field of its own; the empty stdout is left out.
    assert.match(log(), /"exit_code":7,[^\n]*"stderr":"failing on purpose"/);
    assert.doesNotMatch(log(), /"stdout":/);
    // The retry's line follows the failure's (the log is written asynchronously): waited for.
    await waitFor(() => /script retry scheduled/.test(log()), {
      what: 'the retry scheduled',
      timeoutMs: WAIT_MS,
    });
    assert.ok(Number(readFileSync(counter, 'utf8')) >= 2, 'the script ran again');
    // The hung `sleep 60` of the first run was killed with its process group.
    const sleeping = execFileSync('ps', ['-eo', 'args'])
      .toString()
      .split('\n')
      .filter((line) => line === 'sleep 60');
    assert.deepEqual(sleeping, []);
  });
  it("a SIGKILLed run's script still running is killed when the agent starts again, before it plans", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-restart-'));
    const script = join(dir, 'slow-alive');
    // The first `alive` ever notes its pid, then waits (60 s at most) for the test's go before it
    // leaves the marker: whether it could finish after the restart does not depend on how fast the
    // agent restarts on a busy machine. Every later run only notes itself.
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `echo "$FLIP_EVENT $$" >> '${dir}/events'`,
        `if [ "$FLIP_EVENT" = alive ] && mkdir '${dir}/first' 2>/dev/null; then`,
        `  echo $$ > '${dir}/first/pid.tmp' && mv '${dir}/first/pid.tmp' '${dir}/first/pid'`,
        '  i=0',
        `  while [ ! -e '${dir}/go' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done`,
        `  echo "the first run's alive finished" > '${dir}/marker'`,
        'fi',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const cluster = await LoopbackCluster.create({
      configFile: singleServerConfig(dir, script, ['x']),
      systemOverrides: { alive: script, down: script },
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    cluster.start('solo');
    const old = await waitFor(() => readIfThere(join(dir, 'first', 'pid')).trim() || undefined, {
      what: 'the first alive to start',
      timeoutMs: WAIT_MS,
    });
    const old_pid = Number(old);
    // Killed as soon as its script runs: the script was recorded before its spawn (its token), so
    // the next life finds it even if the agent never got to record its process group.
    cluster.signal('solo', 'SIGKILL');
    await cluster.waitExit('solo');
    assert.ok(running(old_pid), 'the script outlives the agent: it has a session of its own');

    cluster.start('solo');
    const lines = () =>
      readIfThere(join(cluster.dir, 'solo.log'))
        .split('\n')
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    const killedAt = (all: Record<string, unknown>[]) =>
      all.findIndex((line) => line.msg === 'killed a script that an earlier run of this agent left running');
    await waitFor(
      () => {
        const all = lines();
        const killed = killedAt(all);
        return killed >= 0 && all.slice(killed).some((line) => line.msg === 'plan');
      },
      { what: 'the restarted agent to plan', timeoutMs: WAIT_MS },
    ).catch((error: unknown) => {
      // What the agent did instead, for the test's report (CI saw this wait time out once).
      const tail = readIfThere(join(cluster.dir, 'solo.log')).split('\n').slice(-40).join('\n');
      throw new Error(`${(error as Error).message}; the agent's log ends:\n${tail}`);
    });
    const all = lines();
    const killed = killedAt(all);
    assert.deepEqual(
      {
        level: all[killed]!.level,
        system: all[killed]!.system,
        item: all[killed]!.item,
        event: all[killed]!.event,
        pid: all[killed]!.pid,
      },
      { level: 40, system: 's', item: 'x', event: 'alive', pid: old_pid },
    );
    // The kill is the new run's doing before its protocol starts: its start line comes after.
    const started = all.findLastIndex((line) => line.msg === 'flip agent started');
    assert.ok(killed < started, `killed (line ${killed}) before the second start (line ${started})`);
    assert.ok(!running(old_pid), 'the old script is gone by the time the new run plans');

    // Were it still running, it would leave its marker now.
    writeFileSync(join(dir, 'go'), '');
    await waitFor(() => /^alive /m.test(readIfThere(join(dir, 'events')).split('\n').slice(1).join('\n')), {
      what: "the new run's alive",
      timeoutMs: WAIT_MS,
    });
    await sleep(1000);
    assert.equal(readIfThere(join(dir, 'marker')), '', 'the marker never appears');
  });
});

describe('flip agent: start-up', { timeout: 60_000 }, () => {
  it('listens on IPv6 and, with no peer answering, cleans up after the start-up grace but takes nothing without a quorum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-v6-'));
    const file = join(dir, 'v6.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'a',
        key: 'k',
        state_dir: join(dir, 'state'),
        ...LOOPBACK_TIMING,
        servers: {
          a: { ip: '::1', port: 2296, systems: ['s'] },
          b: { ip: '::1', port: 2295, systems: ['s'] },
          c: { ip: '::1', port: 2294 },
        },
        cluster: {
          system: { s: { alive: RECORD_SCRIPT, down: RECORD_SCRIPT, type: 'single', data: ['x'], delay: 0 } },
        },
      }),
    );
    const log = join(dir, 'record.log');
    writeFileSync(log, '');
    const { spawn } = await import('node:child_process');
    const child = spawn(FLIP_COMMAND[0]!, [...FLIP_COMMAND.slice(1), 'agent', '--config', file], {
      env: { ...process.env, FLIP_DEMO_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    try {
      await waitFor(() => /"listen":"::1:2296"/.test(output), {
        what: 'listening on [::1]',
        timeoutMs: WAIT_MS,
      });
      await waitFor(() => /start-up grace over, acting on config/.test(output), {
        what: 'the grace is over',
        timeoutMs: WAIT_MS,
      });
      // Alone it cannot reach a quorum (2 of 3): it runs `down` for the item (remove_on_start),
      // says why, and never takes it, though placement with everyone alive would give it to a.
      await waitFor(() => / a s down x/.test(readFileSync(log, 'utf8')), {
        what: 'the start-up down x',
        timeoutMs: WAIT_MS,
      });
      await waitFor(() => /no quorum: taking no items/.test(output), {
        what: 'the no-quorum warning',
        timeoutMs: WAIT_MS,
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.doesNotMatch(readFileSync(log, 'utf8'), / a s alive x/, 'no alive without a quorum');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

describe('flip agent: bad input', () => {
  it('an invalid config exits 2 with the errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-bad-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      '{"id": "x", "key": "k", "servers": {"a": {"ip": "127.0.0.1", "port": 1}}, "cluster": {}}',
    );
    const result = runFlip(['agent', '--config', file]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /id: "x" is not a server/);
  });

  it('a missing or non-executable script is a config error at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-noscript-'));
    writeFileSync(join(dir, 'plain'), 'not executable');
    const result = runFlip(['agent', '--config', singleSystemConfig(dir, './nope', './plain')]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /cluster\.system\.s\.alive: .*nope/);
    assert.match(result.stderr, /cluster\.system\.s\.down: .*plain.*executable/);
  });

  it('a script whose #! interpreter cannot run is a config error at start, naming the interpreter', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-nointerp-'));
    writeFileSync(join(dir, 'up'), '#!/usr/bin/nosuch-flip-interpreter\n', { mode: 0o755 });
    writeFileSync(join(dir, 'down'), '#!/bin/sh\r\nexit 0\r\n', { mode: 0o755 });
    const result = runFlip(['agent', '--config', singleSystemConfig(dir, './up', './down')]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(
      result.stderr,
      /cluster\.system\.s\.alive: .*up.*: its interpreter "\/usr\/bin\/nosuch-flip-interpreter" \(from the #! line\) does not exist/,
    );
    assert.match(result.stderr, /cluster\.system\.s\.down: .*"\/bin\/sh\\r".*carriage return/);
  });

  it('a port in use and an address not on this host are clear errors', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const port = socket.address().port;
    const dir = mkdtempSync(join(tmpdir(), 'flip-port-'));
    const config = (ip: string) => {
      const file = join(dir, `${ip}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          id: 'a',
          key: 'k',
          state_dir: join(dir, 'state'),
          servers: { a: { ip, port } },
          cluster: {},
        }),
      );
      return file;
    };
    const inUse = runFlip(['agent', '--config', config('127.0.0.1')]);
    socket.close();
    assert.equal(inUse.status, 1);
    assert.match(inUse.stderr, /already in use/);
    const elsewhere = runFlip(['agent', '--config', config('192.0.2.55')]);
    assert.equal(elsewhere.status, 1);
    assert.match(elsewhere.stderr, /not an address of this host/);
  });

  it('a state directory that cannot be made is a clear start error (exit 1), naming path and reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-state-'));
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const [port] = await freeUdpPorts(1);
    const file = join(dir, 'flip.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'a/1',
        key: 'k',
        state_dir: join(blocker, 'state'),
        servers: { 'a/1': { ip: '127.0.0.1', port } },
        cluster: {},
      }),
    );
    const result = runFlip(['agent', '--config', file]);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(
      result.stderr,
      `flip: cannot use the state directory ${JSON.stringify(join(blocker, 'state', 'a%2F1'))}: a part of the path is not a directory (ENOTDIR)\n`,
    );
  });

  it('says how to give a config', () => {
    const result = runFlip(['agent'], { env: { FLIP_CONFIG: '' } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--config FILE or set FLIP_CONFIG/);
  });
});

/** A one-server config in `dir` whose system `s` runs `alive` and `down`; returns its path. */
function singleSystemConfig(dir: string, alive: string, down: string): string {
  const file = join(dir, 'flip.json');
  const config = {
    id: 'a',
    key: 'k',
    state_dir: join(dir, 'state'),
    servers: { a: { ip: '127.0.0.1', port: 2298, systems: ['s'] } },
    cluster: { system: { s: { alive, down, type: 'single', data: ['x'] } } },
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** The file's text, or '' when it is not there (yet). */
function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Whether process `pid` runs (a zombie runs no more). */
function running(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}
