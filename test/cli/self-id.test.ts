/**
 * One config file for the whole cluster: `flip agent` and `flip config check` take the server
 * from --id, then FLIP_ID, then the file's `id`, then the one server whose ip is on this host,
 * and say clearly when none or several fit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostAddresses } from '../../src/cli/host-addresses.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlip } from '../helpers/flip-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'flip-cli-self-id-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Environment without a FLIP_ID inherited from whoever runs the tests. */
const NO_FLIP_ID = { FLIP_ID: '' };

/** `count` documentation addresses (RFC 5737) that are not on this host: nobody else's server. */
function elsewhere(count: number): string[] {
  const own = new Set(hostAddresses());
  const free: string[] = [];
  for (const net of ['198.51.100', '203.0.113', '192.0.2'])
    for (let host = 1; host < 255 && free.length < count; host++)
      if (!own.has(`${net}.${host}`)) free.push(`${net}.${host}`);
  return free;
}

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function write(name: string, config: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({ key: 'k', state_dir: join(dir, 'state'), cluster: {}, ...config }, null, 1),
  );
  return file;
}

/** Three servers; `a` on 127.0.0.1 (on every host), `b` and `c` on addresses not on this one. */
function sharedFile(port: number): string {
  const [b, c] = elsewhere(2);
  return write('shared.json', {
    servers: {
      a: { ip: '127.0.0.1', port },
      b: { ip: b, port: 2200 },
      c: { ip: c, port: 2200 },
    },
  });
}

/** Three servers, all on 127.0.0.1: this host owns every one. */
function loopbackFile(name: string, ports: number[], id?: string): string {
  return write(name, {
    ...(id === undefined ? {} : { id }),
    servers: {
      a: { ip: '127.0.0.1', port: ports[0] },
      b: { ip: '127.0.0.1', port: ports[1] },
      c: { ip: '127.0.0.1', port: ports[2] },
    },
  });
}

/**
 * Starts `flip agent ARGS`, waits for its "flip agent started" line, stops it with SIGTERM and
 * returns that line. Bounded: 30 s to start.
 */
async function startedAs(args: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'agent', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const line = await waitFor(
      () => output.split('\n').find((text) => text.includes('"flip agent started"')),
      { what: `flip agent started (stderr: ${errors})`, timeoutMs: 30_000, intervalMs: 50 },
    );
    return JSON.parse(line) as Record<string, unknown>;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('flip config check: which server', () => {
  it('a shared file is checked as the server whose ip is on this host, and says so', async () => {
    const result = runFlip(['config', 'check', sharedFile(await freePort())], { env: NO_FLIP_ID });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^this server: a \(from this host's address 127\.0\.0\.1\)$/m);
  });

  it('FLIP_ID names the server; --id beats it', async () => {
    const file = loopbackFile('named.json', [2201, 2202, 2203], 'a');
    const env = runFlip(['config', 'check', file], { env: { FLIP_ID: 'b' } });
    assert.equal(env.status, 0, env.stderr);
    assert.match(env.stdout, /^this server: b \(from FLIP_ID\)$/m);
    const option = runFlip(['config', 'check', file, '--id', 'c'], { env: { FLIP_ID: 'b' } });
    assert.match(option.stdout, /^this server: c \(from --id\)$/m);
    const fileId = runFlip(['config', 'check', file], { env: NO_FLIP_ID });
    assert.match(fileId.stdout, /^this server: a \(from the file's id\)$/m);
  });

  it('a shared file whose servers this host cannot tell apart is still checked, as a whole', () => {
    const result = runFlip(['config', 'check', loopbackFile('all-here.json', [2201, 2202, 2203])], {
      env: NO_FLIP_ID,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^this server: none \(no server named, and this host owns the ip of several servers: a \(127\.0\.0\.1\), b \(127\.0\.0\.1\), c \(127\.0\.0\.1\); choose one with --id ID or FLIP_ID=ID\)$/m,
    );
  });

  it('an unknown FLIP_ID is an error naming the variable and the known ids', () => {
    const result = runFlip(['config', 'check', loopbackFile('x.json', [2201, 2202, 2203])], {
      env: { FLIP_ID: 'bb' },
    });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /FLIP_ID: "bb" is not a server in servers \(did you mean "b"\?\); servers: a, b, c/,
    );
  });
});

describe('flip plan: a shared file', () => {
  it('plans without a server of its own', () => {
    const file = write('plan.json', {
      servers: {
        a: { ip: '127.0.0.1', port: 2201, systems: ['ip'] },
        b: { ip: '127.0.0.1', port: 2202, systems: ['ip'] },
      },
      cluster: { system: { ip: { alive: 'up', down: 'down', type: 'shard', data: ['x', 'y'] } } },
    });
    const result = runFlip(['plan', file, '--down', 'b'], { env: NO_FLIP_ID });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^a\s+b\nx\s+x\ny\s*$/m);
  });
});

describe('flip agent: which server', () => {
  it('several servers on this host and none named: exit 2 naming the candidates and --id', () => {
    const result = runFlip(['agent', '--config', loopbackFile('several.json', [2201, 2202, 2203])], {
      env: NO_FLIP_ID,
    });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /id: no server named, and this host owns the ip of several servers: a \(127\.0\.0\.1\), b \(127\.0\.0\.1\), c \(127\.0\.0\.1\); choose one with --id ID or FLIP_ID=ID/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('no server on this host and none named: exit 2 naming the servers', () => {
    const [a, b] = elsewhere(2);
    const file = write('none.json', { servers: { a: { ip: a, port: 2200 }, b: { ip: b, port: 2200 } } });
    const result = runFlip(['agent', '--config', file], { env: NO_FLIP_ID });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no server's ip is an address of this host \(.*127\.0\.0\.1.*\)/);
    assert.match(result.stderr, new RegExp(`servers: a \\(${a}\\), b \\(${b}\\)`));
  });

  it("a shared file that kept another server's id: exit 2, saying to leave it out or pass --id", () => {
    const elsewhereIp = elsewhere(1)[0]!;
    const file = write('kept-id.json', {
      id: 'a',
      servers: { a: { ip: elsewhereIp, port: 2200 }, b: { ip: '127.0.0.1', port: 2201 } },
    });
    const check = runFlip(['config', 'check', file], { env: NO_FLIP_ID });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^this server: a \(from the file's id\)$/m);
    assert.match(
      check.stderr,
      /^warning: .*kept-id\.json: id: the file names a .*pass --id b.*\(flip agent would refuse to start here\)$/m,
    );
    const result = runFlip(['agent', '--config', file], { env: NO_FLIP_ID });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      new RegExp(
        `kept-id\\.json:\\d+:\\d+: id: the file names a \\(${elsewhereIp.replace(/\./g, '\\.')}\\), whose ip is not an address of this host, which owns the ip of b \\(127\\.0\\.0\\.1\\).*pass --id b`,
      ),
    );
  });

  it('an unknown --id: exit 2 with a did-you-mean and the known ids', () => {
    const result = runFlip(
      ['agent', '--config', loopbackFile('unknown.json', [2201, 2202, 2203]), '--id', 'cc'],
      { env: NO_FLIP_ID },
    );
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /--id: "cc" is not a server in servers \(did you mean "c"\?\); servers: a, b, c/,
    );
  });

  it('--id given twice is refused', () => {
    const result = runFlip(['agent', '--config', 'x.json', '--id', 'a', '--id', 'b']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /given more than once/);
  });

  it('runs as the server on this host, as FLIP_ID, and as --id over FLIP_ID', async () => {
    const auto = await startedAs(['--config', sharedFile(await freePort())], NO_FLIP_ID);
    assert.deepEqual([auto.node, auto.id_from], ['a', 'address']);
    const ports = [await freePort(), await freePort(), await freePort()];
    const file = loopbackFile('run.json', ports, 'a');
    const env = await startedAs(['--config', file], { FLIP_ID: 'b' });
    assert.deepEqual([env.node, env.id_from, env.listen], ['b', 'FLIP_ID', `127.0.0.1:${ports[1]}`]);
    const option = await startedAs(['--config', file, '--id', 'c'], { FLIP_ID: 'b' });
    assert.deepEqual([option.node, option.id_from, option.listen], ['c', '--id', `127.0.0.1:${ports[2]}`]);
  });
});
