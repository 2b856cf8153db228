/**
 * Bad input to the flip command never hurts: every case ends with a clear message and an exit
 * status, never a stack trace, and nothing a user typed is echoed back without bound.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ROOT, runFlip } from '../helpers/flip-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flip-cli-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STACK = /\n\s+at .*:\d+:\d+|internal error/;

function noStack(result: { stdout: string; stderr: string }): void {
  assert.doesNotMatch(result.stderr, STACK, result.stderr);
  assert.doesNotMatch(result.stdout, STACK, result.stdout);
}

function writeConfig(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 1));
  return file;
}

function cluster(
  servers: number,
  scripts: { alive: string; down: string } = { alive: '/bin/true', down: '/bin/true' },
) {
  const entries: Record<string, unknown> = {};
  for (let i = 0; i < servers; i++)
    entries[`s${i}`] = { ip: `10.0.${i >> 8}.${i & 255}`, port: 2200, systems: i === 0 ? ['ip'] : [] };
  return {
    id: 's0',
    key: 'k',
    servers: entries,
    cluster: { system: { ip: { ...scripts, type: 'shard', data: ['x'] } } },
  };
}

/** Runs `flip ARGS | head -N` in a shell with pipefail, as a user would. */
function intoHead(args: string[], lines: number) {
  const command = [process.execPath, '--import', 'tsx', CLI, ...args].map((part) => `'${part}'`).join(' ');
  return spawnSync('bash', ['-o', 'pipefail', '-c', `${command} | head -${lines} >/dev/null`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('flip: a closed pipe ends the command quietly', () => {
  const big = () => writeConfig('big.json', cluster(1000));
  it('config check | head -1', () => {
    const result = intoHead(['config', 'check', big()], 1);
    noStack(result);
    assert.doesNotMatch(result.stderr, /EPIPE/);
    assert.equal(result.status, 0, result.stderr);
  });
  it('plan | head -0', () => {
    const result = intoHead(['plan', big()], 0);
    noStack(result);
    assert.doesNotMatch(result.stderr, /EPIPE/);
    assert.equal(result.status, 0, result.stderr);
  });
});

describe('flip config check: bad files', () => {
  it('a YAML alias bomb: exit 2, one clear line', () => {
    const lines = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    let previous = 'a';
    for (const name of ['b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      lines.push(`${name}: &${name} [${new Array(9).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    const result = runFlip(['config', 'check', writeConfig('bomb.yaml', lines.join('\n'))]);
    assert.equal(result.status, 2);
    noStack(result);
    assert.match(result.stderr, /too many aliases/);
    assert.equal(result.stderr.trim().split('\n').length, 2, result.stderr);
  });

  it('a FIFO: refused at once instead of hanging', () => {
    const fifo = join(dir, 'fifo.json');
    spawnSync('mkfifo', [fifo]);
    const result = runFlip(['config', 'check', fifo]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /named pipe \(FIFO\), not a regular file/);
  });

  it('a byte-order mark: accepted', () => {
    const result = runFlip([
      'config',
      'check',
      writeConfig('bom.json', `\uFEFF${JSON.stringify(cluster(2))}`),
    ]);
    assert.equal(result.status, 0, result.stderr);
  });
});

describe('flip config check: scripts', () => {
  const scriptDir = join(dir, 'scripts');
  mkdirSync(scriptDir, { recursive: true });
  const script = (name: string, text: string, mode = 0o755) => {
    const path = join(scriptDir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  const ok = script('ok', '#!/bin/sh\nexit 0\n');

  it('refuses a missing script given relative to the config file (exit 2)', () => {
    const file = writeConfig('rel.json', cluster(2, { alive: './scripts/nope', down: './scripts/ok' }));
    const result = runFlip(['config', 'check', file]);
    assert.equal(result.status, 2, result.stdout);
    assert.match(result.stderr, /cluster\.system\.ip\.alive: script "\.\/scripts\/nope" .*does not exist/);
    noStack(result);
  });

  it('warns about absolute scripts missing here, which may exist on the target host (exit 0)', () => {
    const file = writeConfig('abs.json', cluster(2, { alive: '/nonexistent/flip/up', down: ok }));
    const result = runFlip(['config', 'check', file]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /ok, 1 warning/);
    assert.match(
      result.stderr,
      /warning: .*cluster\.system\.ip\.alive: script "\/nonexistent\/flip\/up" does not exist here \(it must exist on server s0\)/,
    );
  });

  it('with --id, checks as that server: its missing, non-executable or directory scripts are errors', () => {
    const notExecutable = script('plain', '#!/bin/sh\n', 0o644);
    for (const [alive, pattern] of [
      ['/nonexistent/flip/up', /does not exist/],
      [notExecutable, /not executable/],
      [scriptDir, /not a regular file/],
    ] as const) {
      const file = writeConfig('id.json', cluster(2, { alive, down: ok }));
      const result = runFlip(['config', 'check', file, '--id', 's0']);
      assert.equal(result.status, 2, `${alive}: ${result.stdout}`);
      assert.match(result.stderr, pattern);
      // Another server, not a member of the system, has nothing to run.
      assert.equal(runFlip(['config', 'check', file, '--id', 's1']).status, 0);
    }
  });

  it('names a missing #! interpreter', () => {
    const bad = script('bad-interp', '#!/nonexistent/bin/interp\n');
    const file = writeConfig('interp.json', cluster(2, { alive: bad, down: ok }));
    const result = runFlip(['config', 'check', file, '--id', 's0']);
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /interpreter "\/nonexistent\/bin\/interp" \(from the #! line\) does not exist/,
    );
  });

  it('--id that is not a server is a clear error', () => {
    const result = runFlip(['config', 'check', writeConfig('c.json', cluster(2)), '--id', 'zz']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--id: "zz" is not a server in servers/);
  });
});

describe('flip plan: options', () => {
  const file = () => writeConfig('plan.json', cluster(3));
  it('--down given twice takes both', () => {
    const result = runFlip(['plan', file(), '--down', 's1', '--down', 's2', '--json']);
    assert.equal(result.status, 0, result.stderr);
    const repeated = JSON.parse(result.stdout);
    const together = JSON.parse(runFlip(['plan', file(), '--down', 's1,s2', '--json']).stdout);
    assert.deepEqual(repeated, together);
    const plain = runFlip(['plan', file(), '--down', 's1', '--down', 's2']);
    assert.match(plain.stdout.split('\n')[1]!, /^\S*\s+x\s+x$/);
  });

  it('a 100 kB unknown id is not echoed back whole', () => {
    const id = 'q'.repeat(100_000);
    const result = runFlip(['plan', file(), '--down', id]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown server id "q{60}…" \(100,000 characters\)/);
    assert.ok(result.stderr.length < 400, `${result.stderr.length} characters`);
  });
});

describe('flip sim: options', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    it(`--scenario ${name} is an unknown scenario, not a TypeError`, () => {
      const result = runFlip(['sim', '--scenario', name]);
      assert.equal(result.status, 2);
      noStack(result);
      assert.match(result.stderr, /unknown scenario/);
    });
  }

  it('checks ranges against the help text', () => {
    for (const [option, value] of [
      ['--loss', '0.995'],
      ['--loss', '1'],
      ['--loss', '-0.1'],
      ['--loss', ''],
      ['--nodes', '5001'],
      ['--nodes', '1e3'],
      ['--interval', '60001'],
      ['--pings', '101'],
    ]) {
      const result = runFlip(['sim', '--scenario', 'all-alive', option!, value!]);
      assert.equal(result.status, 2, `${option} ${value}`);
      noStack(result);
    }
    const help = runFlip(['sim', '--help']).stdout;
    assert.match(help, /--loss <p>\s+packet loss, 0-0\.99/);
  });

  it('refuses an option given twice', () => {
    const result = runFlip(['sim', '--seed', '1', '--seed', '2']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /given more than once/);
  });

  it('keeps its lines short for a large cluster', () => {
    const result = runFlip(['sim', '--scenario', 'one-down', '--nodes', '120']);
    assert.equal(result.status, 0, result.stdout);
    const longest = Math.max(...result.stdout.split('\n').map((line) => line.length));
    assert.ok(longest < 400, `longest line ${longest} characters`);
    assert.match(result.stdout, /tables left out/);
  });
});

describe('flip agent: bad config', () => {
  it('exits 2 with one clear line for an alias bomb or an out-of-range time', () => {
    const bomb = writeConfig(
      'agent-bomb.yaml',
      `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: [${new Array(200).fill('*a').join(',')}]\nc: [${new Array(1000).fill('*a').join(',')}]\n`,
    );
    const time = writeConfig('agent-time.json', { ...cluster(2), gossip_interval: 2 ** 31 });
    for (const file of [bomb, time]) {
      const result = runFlip(['agent', '--config', file]);
      assert.equal(result.status, 2, result.stdout);
      noStack(result);
      assert.match(result.stderr, /too many aliases|out of range \(1 to 60,000 ms\)/);
    }
  });
});

describe('flip demo: bad config', () => {
  it("reports problems against the operator's file, not the demo's copies, and reads YAML", () => {
    const bomb = writeConfig(
      'demo-bomb.yaml',
      `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: [${new Array(1000).fill('*a').join(',')}]\n`,
    );
    const result = runFlip(['demo', '--config', bomb]);
    assert.equal(result.status, 2, result.stdout);
    noStack(result);
    assert.match(result.stderr, /demo-bomb\.yaml: the YAML expands too many aliases/);
    const raw = cluster(2);
    (raw.cluster.system.ip.data as string[]).push('a\u0000b');
    const nul = runFlip(['demo', '--config', writeConfig('demo-nul.json', raw)]);
    assert.equal(nul.status, 2);
    assert.match(nul.stderr, /demo-nul\.json:\d+:\d+: cluster\.system\.ip\.data\[1\]: contains a NUL/);
  });
});
