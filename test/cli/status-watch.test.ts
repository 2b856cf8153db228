/**
 * `flip status --watch` against an API server with made-up handlers: it prints the status, then
 * each event as it comes, and on SIGINT exits with the status's health.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ApiServer } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import type { EventDoc, StatusDoc } from '../../src/api/types.js';
import { EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_USAGE } from '../../src/cli/exit-codes.js';
import { EventRing } from '../../src/observe/events.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlip } from '../helpers/flip-cli.js';
import { member, snapshot } from '../helpers/snapshot.js';

describe('flip status --watch', { timeout: 60_000 }, () => {
  const ring = new EventRing(10);
  let server: ApiServer;
  before(async () => {
    const snap = snapshot({
      members: [member('flip1', 0, { state: 'probably_down' }), member('flip', 1), member('flip2', 2)],
    });
    server = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      policy: { loopback: true, token: undefined },
      counters: { api_requests: 0, api_faults: 0, api_unauthorized: 0 },
      handlers: {
        health: () => healthDoc(snap),
        status: () => assembleStatus(snap),
        events: (since, limit) => ring.since(since, limit),
        metrics: () => '',
        subscribe: (listener) => ring.subscribe(listener),
      },
    });
  });
  after(() => server.close());

  it('prints the status, then events as JSON lines, and exits 3 (not healthy) on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'status',
        '--api',
        `http://127.0.0.1:${server.address.port}`,
        '--json',
        '--watch',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => server.streams === 1, { what: 'the CLI follows the stream', timeoutMs: 30_000 });
      ring.add(Date.now(), {
        type: 'member',
        member: 'flip1',
        from: 'probably_down',
        to: 'down',
        incarnation: 1,
        reason: 'quorum',
      });
      await waitFor(() => stdout.includes('"type":"member"'), {
        what: 'the event printed',
        timeoutMs: 10_000,
      });
      child.kill('SIGINT');
      assert.equal(await exited, EXIT_UNHEALTHY, stderr);
    } finally {
      child.kill('SIGKILL');
    }
    const status = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}\n{') + 2)) as StatusDoc;
    assert.equal(status.healthy, false);
    const event = JSON.parse(stdout.trim().split('\n').at(-1)!) as EventDoc;
    assert.deepEqual([event.type, event.type === 'member' && event.to], ['member', 'down']);
  });
});

describe('flip status: bad input and an API nobody serves', { timeout: 60_000 }, () => {
  it('a bad --api is a usage error; an API from the config that is not running is exit 4; one line each', () => {
    const bad = runFlip(['status', '--api', 'ftp://x']);
    assert.equal(bad.status, EXIT_USAGE);
    assert.equal(bad.stderr, 'flip: --api must be an http:// URL, not ftp:\n');
    const none = runFlip(['members'], { env: { FLIP_CONFIG: '', FLIP_ID: '' } });
    assert.equal(none.status === EXIT_USAGE || none.status === EXIT_UNREACHABLE, true, none.stderr);
    assert.equal(none.stderr.trim().split('\n').length, 1);
    const fromConfig = runFlip(['status', '--config', 'examples/readme.json', '--id', 'flip2']);
    assert.equal(fromConfig.status, EXIT_UNREACHABLE);
    assert.match(
      fromConfig.stderr,
      /^flip: cannot reach the flip API at http:\/\/127\.0\.0\.1:2202: ECONNREFUSED\n$/,
    );
  });
});
