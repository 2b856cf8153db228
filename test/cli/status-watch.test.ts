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
import { EXIT_UNHEALTHY } from '../../src/cli/exit-codes.js';
import { EventRing } from '../../src/observe/events.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT } from '../helpers/flip-cli.js';
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
