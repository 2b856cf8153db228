/**
 * Runtime changes through the API on real agents (127.0.0.1, recording scripts): `flip data add`
 * at any agent commits a version that every agent applies (the item is placed on one server), the
 * committed config survives a restart of every agent, and a server cut off from the majority
 * commits nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LoopbackCluster } from '../../src/demo/loopback-cluster.js';
import { LOOPBACK_TIMING } from '../../src/testing/timing.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlipAsync } from '../helpers/flip-cli.js';
import { holders } from '../helpers/records.js';

const FLIP_COMMAND = [process.execPath, '--import', 'tsx', CLI];
const WAIT_MS = 30_000;
const TOKEN = 'runtime-changes-test-token-0123456789';

/** The README cluster, each server's API with a token (changes need one). */
function configWithTokens(): string {
  const raw = JSON.parse(readFileSync(join(ROOT, 'examples/readme.json'), 'utf8'));
  for (const server of Object.values(raw.servers as Record<string, Record<string, unknown>>))
    server.api = { token: TOKEN };
  const file = join(mkdtempSync(join(tmpdir(), 'flip-changes-api-')), 'cluster.json');
  writeFileSync(file, JSON.stringify(raw));
  return file;
}

describe('agents on loopback: runtime changes through the API', { timeout: 240_000 }, () => {
  let cluster: LoopbackCluster | undefined;
  let removal: LoopbackCluster | undefined;
  after(async () => {
    await cluster?.close(3_000);
    await removal?.close(3_000);
  });

  it('server rm: the removed server leaves by itself (down, then stops), its item moves, never on two; it refuses to start again', async () => {
    removal = await LoopbackCluster.create({
      configFile: configWithTokens(),
      overrides: LOOPBACK_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    const c = removal;
    const api = (id: string) =>
      `http://127.0.0.1:${c.config.servers.find((server) => server.id === id)!.port}`;
    const flip = (id: string, ...args: string[]) =>
      runFlipAsync([...args, '--api', api(id), '--token', TOKEN]);
    for (const id of c.ids) c.start(id);
    await waitFor(
      () =>
        holders(c.records()).get('192.168.0.1')?.has('flip1') === true &&
        holders(c.records()).get('192.168.0.2')?.size === 1,
      { what: 'the README split', timeoutMs: WAIT_MS },
    );
    const removed = await waitFor(
      async () => {
        const result = await flip('flip', 'server', 'rm', 'flip1');
        return result.status === 7 ? undefined : result;
      },
      { what: 'a committed server rm', timeoutMs: WAIT_MS },
    );
    assert.equal(removed.status, 0, removed.stderr + removed.stdout);
    const stopped = await c.waitExit('flip1').catch((error: Error) => {
      throw new Error(
        `${error.message}; flip1's log:\n${readFileSync(join(c.dir, 'flip1.log'), 'utf8').slice(-6000)}`,
      );
    });
    assert.equal(stopped, 0, 'flip1 stopped by itself, exit 0');
    await waitFor(() => holders(c.records()).get('192.168.0.1')?.has('flip') === true, {
      what: 'flip took 192.168.0.1 over',
      timeoutMs: WAIT_MS,
    });
    assert.deepEqual([...(holders(c.records()).get('192.168.0.1') ?? [])], ['flip'], 'flip1 ran its down');
    assert.match(readFileSync(join(c.dir, 'flip1.log'), 'utf8'), /this server was removed from the cluster/);
    // Never two holders on the way: replayed from the records.
    const held = new Set<string>();
    for (const record of c.records().filter((r) => r.item === '192.168.0.1')) {
      if (record.event === 'alive') held.add(record.node);
      else held.delete(record.node);
      assert.ok(held.size <= 1, `192.168.0.1 on [${[...held]}]`);
    }
    // Started again, it refuses: its stored state says it is no longer a server.
    c.start('flip1');
    assert.notEqual(await c.waitExit('flip1'), 0);
    assert.match(
      readFileSync(join(c.dir, 'flip1.log'), 'utf8'),
      /flip1 is not a server of the cluster's committed config/,
    );
  });

  it('data add at one agent is applied everywhere, kept across restarts; a minority commits nothing', async () => {
    cluster = await LoopbackCluster.create({
      configFile: configWithTokens(),
      overrides: LOOPBACK_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    const c = cluster;
    const api = (id: string) =>
      `http://127.0.0.1:${c.config.servers.find((server) => server.id === id)!.port}`;
    const flip = (id: string, ...args: string[]) =>
      runFlipAsync([...args, '--api', api(id), '--token', TOKEN]);
    for (const id of c.ids) c.start(id);
    await waitFor(() => holders(c.records()).get('192.168.0.2')?.size === 1, {
      what: 'the cluster up',
      timeoutMs: WAIT_MS,
    });

    // Through flip2, the arbiter: it holds nothing, and forwards to whoever leads.
    const added = await waitFor(
      async () => {
        const result = await flip('flip2', 'data', 'add', 'ip', '192.168.0.7');
        // no_quorum until the first leader is elected: try again.
        return result.status === 7 ? undefined : result;
      },
      { what: 'a committed data add', timeoutMs: WAIT_MS },
    );
    assert.equal(added.status, 0, added.stderr + added.stdout);
    assert.match(added.stdout, /version 1\b/);
    await waitFor(() => holders(c.records()).get('192.168.0.7')?.size === 1, {
      what: '192.168.0.7 placed on one server',
      timeoutMs: WAIT_MS,
    });
    const shown = await flip('flip', 'config', 'show', '--json');
    assert.equal(shown.status, 0, shown.stderr);
    const doc = JSON.parse(shown.stdout) as {
      version: number;
      config: { cluster: { system: { ip: { data: string[] } } } };
    };
    assert.equal(doc.version, 1);
    assert.ok(doc.config.cluster.system.ip.data.includes('192.168.0.7'));

    // Every agent stopped and started again: the committed version is kept, the item placed again.
    for (const id of c.ids) c.signal(id, 'SIGTERM');
    for (const id of c.ids) await c.waitExit(id);
    const mark = c.records().length;
    for (const id of c.ids) c.start(id);
    await waitFor(
      () =>
        c
          .records()
          .slice(mark)
          .some((record) => record.event === 'alive' && record.item === '192.168.0.7'),
      { what: '192.168.0.7 placed again after the restart', timeoutMs: WAIT_MS },
    );
    for (const id of c.ids)
      assert.match(
        readFileSync(join(c.dir, `${id}.log`), 'utf8'),
        /starting from the committed config of the stored cluster state/,
      );

    // An edit of the files, taken in by `flip reload` at one agent: it goes to the cluster.
    for (const id of c.ids) {
      const file = c.configFile(id);
      const raw = JSON.parse(readFileSync(file, 'utf8')) as {
        cluster: { system: { ip: { data: string[] } } };
      };
      raw.cluster.system.ip.data.push('192.168.0.9');
      writeFileSync(file, JSON.stringify(raw));
    }
    const reloaded = await waitFor(
      async () => {
        const result = await flip('flip1', 'reload');
        return result.status === 7 ? undefined : result;
      },
      { what: 'a reload that commits', timeoutMs: WAIT_MS },
    );
    assert.equal(reloaded.status, 0, reloaded.stderr + reloaded.stdout);
    assert.match(reloaded.stdout, /committed version 2: data add ip 192\.168\.0\.9/);
    await waitFor(() => holders(c.records()).get('192.168.0.9')?.size === 1, {
      what: '192.168.0.9 placed on one server',
      timeoutMs: WAIT_MS,
    });
    const again = await flip('flip', 'reload');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to change/);

    // flip1 alone: flip and flip2 killed. Nothing commits there.
    for (const id of ['flip', 'flip2']) c.signal(id, 'SIGKILL');
    for (const id of ['flip', 'flip2']) await c.waitExit(id);
    const refused = await flip('flip1', 'data', 'add', 'ip', '192.168.0.8');
    assert.ok(
      refused.status === 7 || refused.status === 9,
      `exit ${refused.status}: ${refused.stdout}${refused.stderr}`,
    );
    assert.equal(holders(c.records()).get('192.168.0.8'), undefined, 'never placed');
  });
});
