/**
 * Real agents on 127.0.0.1 with recording scripts: SIGHUP re-reads the config file and applies
 * new and removed items without a restart, break-before-make; a file that changes anything else
 * applies nothing and says which fields need a restart; a bad file is refused; and an item removed
 * while its holder was killed is taken down when that agent starts again.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeUdpPorts, LoopbackCluster } from '../../src/demo/loopback-cluster.js';
import { LOOPBACK_TIMING } from '../../src/testing/timing.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT } from '../helpers/flip-cli.js';
import { holders, twoHolders } from '../helpers/records.js';

const README = join(ROOT, 'examples/readme.json');
const FLIP_COMMAND = [process.execPath, '--import', 'tsx', CLI];
/** Generous: CI runs this beside other suites on 2 cores, where three agents can take 20 s to settle. */
const WAIT_MS = 30_000;

/** Each listed item held by exactly one node, and nothing else held. */
function placedOnce(cluster: LoopbackCluster, items: readonly string[]): boolean {
  const held = holders(cluster.records());
  for (const [item, nodes] of held) {
    if (items.includes(item) ? nodes.size !== 1 : nodes.size !== 0) return false;
  }
  return items.every((item) => held.has(item));
}

/** The parts of a config file these tests change. */
interface RawConfig {
  ping_timeout?: number;
  servers: Record<string, Record<string, unknown>>;
  cluster: { system: { ip: { data: string[] } } };
}

/** Rewrites `id`'s config file with `change` applied to its parsed JSON. */
function editConfig(cluster: LoopbackCluster, id: string, change: (raw: RawConfig) => void): void {
  const file = cluster.configFile(id);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawConfig;
  change(raw);
  writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`);
}

function setItems(cluster: LoopbackCluster, ids: readonly string[], items: readonly string[]): void {
  for (const id of ids)
    editConfig(cluster, id, (raw) => {
      raw.cluster.system.ip.data = [...items];
    });
}

const log = (cluster: LoopbackCluster, id: string) => readFileSync(join(cluster.dir, `${id}.log`), 'utf8');

describe('agents on loopback: runtime item changes by SIGHUP', { timeout: 180_000 }, () => {
  const clusters: LoopbackCluster[] = [];
  after(async () => {
    for (const cluster of clusters) await cluster.close(3_000);
  });

  async function started(): Promise<LoopbackCluster> {
    const cluster = await LoopbackCluster.create({
      configFile: README,
      overrides: LOOPBACK_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(cluster);
    for (const id of cluster.ids) cluster.start(id);
    // The README's split, settled: not a moment on the way to it (the first server up may take
    // both), and no script record for a second (no hand-over under way).
    let last = { count: -1, at: 0 };
    await waitFor(
      () => {
        const records = cluster.records();
        if (records.length !== last.count) last = { count: records.length, at: performance.now() };
        return (
          placedOnce(cluster, ['192.168.0.1', '192.168.0.2']) &&
          holders(records).get('192.168.0.2')?.has('flip') === true &&
          performance.now() - last.at > 1_000
        );
      },
      { what: 'the README split, settled', timeoutMs: WAIT_MS },
    );
    return cluster;
  }

  it('adds and removes items without a restart, each held by one server, never two at once', async () => {
    const cluster = await started();
    const added = ['192.168.0.0', '192.168.0.2', '192.168.0.1', '192.168.0.3'];
    setItems(cluster, cluster.ids, added);
    for (const id of cluster.ids) cluster.signal(id, 'SIGHUP');
    await waitFor(() => placedOnce(cluster, added), { what: 'the added items placed', timeoutMs: WAIT_MS });
    for (const id of cluster.ids) assert.match(log(cluster, id), /config version committed: applied at once/);
    const kept = ['192.168.0.1', '192.168.0.3'];
    setItems(cluster, cluster.ids, kept);
    for (const id of cluster.ids) cluster.signal(id, 'SIGHUP');
    await waitFor(() => placedOnce(cluster, kept), { what: 'the removed items let go', timeoutMs: WAIT_MS });
    assert.deepEqual(twoHolders(cluster.records()), [], 'no item on two servers at once');
    for (const id of cluster.ids) assert.ok(cluster.running(id), `${id} still runs`);
    // The file's edits are committed, so the file is taken in: a restart finds no edit to propose.
    const restarted = 'flip2';
    await waitFor(() => (log(cluster, restarted).match(/the config file is taken in/g) ?? []).length >= 2, {
      what: `${restarted} took in the file after both reloads`,
      timeoutMs: WAIT_MS,
    });
    cluster.signal(restarted, 'SIGTERM');
    await cluster.waitExit(restarted);
    cluster.start(restarted);
    await waitFor(() => /starting from the committed config/.test(log(cluster, restarted)), {
      what: `${restarted} started from the committed config`,
      timeoutMs: WAIT_MS,
    });
    // The edit, were there one, is logged just after; its proposal a few seconds later.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.doesNotMatch(log(cluster, restarted), /edited while the agent was stopped/);
  });

  it('a file that changes more than what applies at runtime applies nothing and names the fields; a bad file is refused', async () => {
    const cluster = await started();
    const before = cluster.records().length;
    editConfig(cluster, 'flip', (raw) => {
      raw.ping_timeout = 400;
      raw.cluster.system.ip.data.push('192.168.0.9');
    });
    cluster.signal('flip', 'SIGHUP');
    await waitFor(() => /take effect only at a restart/.test(log(cluster, 'flip')), {
      what: 'the restart warning',
      timeoutMs: WAIT_MS,
    });
    assert.match(log(cluster, 'flip'), /"fields":\["ping_timeout_ms"\]/);
    writeFileSync(cluster.configFile('flip'), '{ "id": "flip", ');
    cluster.signal('flip', 'SIGHUP');
    await waitFor(() => /reload refused/.test(log(cluster, 'flip')), {
      what: 'the refusal',
      timeoutMs: WAIT_MS,
    });
    assert.ok(cluster.running('flip'));
    assert.deepEqual(
      cluster
        .records()
        .slice(before)
        .filter((record) => record.item === '192.168.0.9'),
      [],
      'nothing applied',
    );
  });

  it('servers added to and removed from the file are proposed as server add and rm, which the running agents take at once', async () => {
    const cluster = await started();
    const [port] = await freeUdpPorts(1);
    for (const id of cluster.ids)
      editConfig(cluster, id, (raw) => {
        raw.servers.flip3 = { ip: '127.0.0.1', port };
      });
    cluster.signal('flip', 'SIGHUP');
    await waitFor(() => /"change":"server add flip3[^"]*","answer":"committed"/.test(log(cluster, 'flip')), {
      what: 'server add flip3 committed by the reload',
      timeoutMs: WAIT_MS,
    });
    const applied = (id: string) => (log(cluster, id).match(/the new lists applied at once/g) ?? []).length;
    for (const id of cluster.ids)
      await waitFor(() => applied(id) === 1, {
        what: `${id} took the list with flip3 in process`,
        timeoutMs: WAIT_MS,
      });
    // Another agent given the same file finds the change made: it takes its file in, proposing nothing.
    cluster.signal('flip1', 'SIGHUP');
    await waitFor(() => /reload: the config file is taken in/.test(log(cluster, 'flip1')), {
      what: 'flip1 taking in the same file',
      timeoutMs: WAIT_MS,
    });
    assert.doesNotMatch(log(cluster, 'flip1'), /"change":"server add flip3/);
    // The server taken out of the files again: a reload at flip1 removes it.
    for (const id of cluster.ids)
      editConfig(cluster, id, (raw) => {
        delete raw.servers.flip3;
      });
    cluster.signal('flip1', 'SIGHUP');
    await waitFor(() => /"change":"server rm flip3","answer":"committed"/.test(log(cluster, 'flip1')), {
      what: 'server rm flip3 committed by the reload',
      timeoutMs: WAIT_MS,
    });
    // flip3 never ran (down here since its addition, never heard of): nothing to wait for.
    for (const id of cluster.ids)
      await waitFor(() => applied(id) === 2, {
        what: `${id} took the list without flip3 in process`,
        timeoutMs: WAIT_MS,
      });
    for (const id of cluster.ids) {
      assert.ok(cluster.running(id), `${id} runs on`);
      assert.equal(log(cluster, id).split('flip agent started').length, 2, `${id} never restarted`);
    }
  });

  it('a system added to the file, then removed: proposed as system add and rm, taken at once by every agent', async () => {
    const cluster = await started();
    const record = cluster.config.systems[0]!.alive;
    const items = ['10.9.1.1', '10.9.1.2'];
    for (const id of cluster.ids)
      editConfig(cluster, id, (raw) => {
        const system = raw.cluster.system as unknown as Record<string, unknown>;
        system.web = { alive: record, down: record, type: 'shard', data: items, config: { tag: 1 } };
        for (const server of ['flip', 'flip1']) {
          const entry = raw.servers[server]!;
          entry.systems = [...((entry.systems as string[] | undefined) ?? []), 'web'];
        }
      });
    cluster.signal('flip1', 'SIGHUP');
    await waitFor(() => /"change":"system add web[^"]*","answer":"committed"/.test(log(cluster, 'flip1')), {
      what: 'the system add committed',
      timeoutMs: WAIT_MS,
    });
    await waitFor(() => items.every((item) => holders(cluster.records()).get(item)?.size === 1), {
      what: "the new system's items placed, one holder each",
      timeoutMs: WAIT_MS,
    });
    for (const id of cluster.ids)
      editConfig(cluster, id, (raw) => {
        delete (raw.cluster.system as unknown as Record<string, unknown>).web;
        for (const server of ['flip', 'flip1']) {
          const entry = raw.servers[server]!;
          entry.systems = (entry.systems as string[]).filter((name) => name !== 'web');
        }
      });
    // At flip1, which took in the file with the system (flip's file is as it took it in: no edit).
    cluster.signal('flip1', 'SIGHUP');
    await waitFor(() => /"change":"system rm web","answer":"committed"/.test(log(cluster, 'flip1')), {
      what: 'the system rm committed',
      timeoutMs: WAIT_MS,
    });
    await waitFor(() => items.every((item) => (holders(cluster.records()).get(item)?.size ?? 0) === 0), {
      what: "the removed system's items down",
      timeoutMs: WAIT_MS,
    });
    assert.deepEqual(twoHolders(cluster.records()), []);
    for (const id of cluster.ids) {
      assert.equal(log(cluster, id).match(/flip agent started/g)?.length, 1, `${id} started once`);
      assert.doesNotMatch(
        log(cluster, id),
        /take effect only at a restart|take effect when this agent restarts/,
      );
    }
  });

  it('an item removed while its holder was killed is taken down when that agent starts again', async () => {
    const cluster = await started();
    const holder = 'flip';
    cluster.signal(holder, 'SIGKILL');
    await cluster.waitExit(holder);
    setItems(cluster, cluster.ids, ['192.168.0.1']);
    for (const id of cluster.ids) if (id !== holder) cluster.signal(id, 'SIGHUP');
    const mark = cluster.records().length;
    cluster.start(holder);
    await waitFor(
      () =>
        cluster
          .records()
          .slice(mark)
          .some(
            (record) => record.node === holder && record.event === 'down' && record.item === '192.168.0.2',
          ),
      { what: `${holder} takes down 192.168.0.2`, timeoutMs: WAIT_MS },
    );
    assert.match(log(cluster, holder), /no longer lists: taking them down/);
    await waitFor(() => placedOnce(cluster, ['192.168.0.1']), { what: 'one item left', timeoutMs: WAIT_MS });
  });
});
