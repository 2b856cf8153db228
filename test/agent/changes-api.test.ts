/**
 * Runtime changes through the API on real agents (127.0.0.1, recording scripts): `flip data add`
 * at any agent commits a version that every agent applies (the item is placed on one server), the
 * committed config survives a restart of every agent, and a server cut off from the majority
 * commits nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeUdpPorts, LoopbackCluster, RECORD_SCRIPT } from '../../src/demo/loopback-cluster.js';
import { LOOPBACK_TIMING } from '../../src/testing/timing.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlipAsync } from '../helpers/flip-cli.js';
import { holders, twoHolders } from '../helpers/records.js';

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

/** The committed config that flip1's API shows (`flip config show --json`). */
async function committedConfig(
  flip: (id: string, ...args: string[]) => Promise<{ status: number | null; stdout: string; stderr: string }>,
): Promise<{ version: number; config: { cluster: { system: { ip: Record<string, unknown> } } } }> {
  const shown = await flip('flip1', 'config', 'show', '--json');
  assert.equal(shown.status, 0, shown.stderr);
  return JSON.parse(shown.stdout);
}

/** Records as short lines, for messages. */
function lines(records: ReturnType<LoopbackCluster['records']>): string {
  return records.map((record) => `${record.node} ${record.event} ${record.item}`).join('; ');
}

/** Fails when the records ever show an item on two servers at once. */
function assertNeverTwo(records: ReturnType<LoopbackCluster['records']>): void {
  assert.deepEqual(twoHolders(records), [], lines(records));
}

/**
 * Starts `flip agent --config FILE --join HOST:PORT --token` in a process group of its own, its
 * output kept; `log()` is what it printed so far, `kill()` ends the group.
 */
function joinAgent(file: string, via: string, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(
    FLIP_COMMAND[0]!,
    [...FLIP_COMMAND.slice(1), 'agent', '--config', file, '--join', via, '--token', TOKEN],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    log: () => output,
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    },
  };
}

/**
 * Whether a change command's answer says to ask again: no leader is known (exit 7), or a new
 * leader has not committed an entry of its term yet (a conflict that says to retry, exit 6). Both
 * pass by themselves; CI once met the second.
 */
function askAgain(result: { status: number | null; stderr: string }): boolean {
  return (
    result.status === 7 ||
    (result.status === 6 && /has not committed an entry of its term yet/.test(result.stderr))
  );
}

describe('agents on loopback: runtime changes through the API', { timeout: 240_000 }, () => {
  const clusters: LoopbackCluster[] = [];
  after(async () => {
    for (const cluster of clusters) await cluster.close(3_000);
  });

  /** The README cluster with API tokens, every agent started and the item split settled. */
  async function started() {
    const c = await LoopbackCluster.create({
      configFile: configWithTokens(),
      overrides: LOOPBACK_TIMING,
      flipCommand: FLIP_COMMAND,
    });
    clusters.push(c);
    const api = (id: string) =>
      `http://127.0.0.1:${c.config.servers.find((server) => server.id === id)!.port}`;
    const flip = (id: string, ...args: string[]) =>
      runFlipAsync([...args, '--api', api(id), '--token', TOKEN]);
    for (const id of c.ids) c.start(id);
    await waitFor(
      () =>
        [...(holders(c.records()).get('192.168.0.1') ?? [])].join() === 'flip1' &&
        [...(holders(c.records()).get('192.168.0.2') ?? [])].join() === 'flip',
      { what: "the cluster up, the README's split", timeoutMs: WAIT_MS },
    );
    // The split needs only the members: the arbiter's API may still be starting on a loaded host.
    await waitFor(
      async () => {
        const answers = await Promise.all(
          c.ids.map((id) =>
            fetch(`${api(id)}/v1/health`).then(
              () => true,
              () => false,
            ),
          ),
        );
        return answers.every(Boolean);
      },
      { what: "every agent's API listening", timeoutMs: WAIT_MS },
    );
    return { c, api, flip };
  }

  /**
   * `flip server add ID --ip 127.0.0.1 --port (a free one) EXTRA...` at flip, asked again while no
   * leader is known (exit 7); then ID started with `--join` through flip1 and a minimal file, its
   * scripts recording into the cluster's log. Resolves once it has started.
   */
  async function addAndJoin(
    c: LoopbackCluster,
    flip: (
      id: string,
      ...args: string[]
    ) => Promise<{ status: number | null; stdout: string; stderr: string }>,
    id: string,
    extra: string[] = [],
  ): Promise<ReturnType<typeof joinAgent>> {
    const [port] = await freeUdpPorts(1);
    const added = await waitFor(
      async () => {
        const result = await flip(
          'flip',
          'server',
          'add',
          id,
          '--ip',
          '127.0.0.1',
          '--port',
          String(port),
          ...extra,
        );
        return askAgain(result) ? undefined : result;
      },
      { what: 'a committed server add', timeoutMs: WAIT_MS },
    );
    assert.equal(added.status, 0, added.stderr + added.stdout);
    const file = join(c.dir, `${id}.json`);
    writeFileSync(file, JSON.stringify({ id, key: 'secret', state_dir: join(c.dir, 'state') }));
    const via = `127.0.0.1:${c.config.servers.find((server) => server.id === 'flip1')!.port}`;
    const agent = joinAgent(file, via, { ...process.env, FLIP_DEMO_LOG: c.recordLog });
    try {
      await waitFor(() => /flip agent started/.test(agent.log()), {
        what: `${id} started`,
        timeoutMs: WAIT_MS,
      });
    } catch (error) {
      agent.kill();
      throw error;
    }
    return agent;
  }

  it('server add, then flip agent --join with a minimal file: the file gets the committed config, and the agent starts with it', async () => {
    const { c, api } = await started();
    const [port] = await freeUdpPorts(1);
    const added = await waitFor(
      async () => {
        const result = await runFlipAsync([
          'server',
          'add',
          'flip3',
          '--ip',
          '127.0.0.1',
          '--port',
          String(port),
          '--api',
          api('flip'),
          '--token',
          TOKEN,
        ]);
        return askAgain(result) ? undefined : result;
      },
      { what: 'a committed server add', timeoutMs: WAIT_MS },
    );
    assert.equal(added.status, 0, added.stderr + added.stdout);
    const file = join(c.dir, 'flip3.json');
    const minimal = { id: 'flip3', key: 'secret', state_dir: join(c.dir, 'state') };
    writeFileSync(file, JSON.stringify(minimal));
    // A server the cluster does not list is told to be added first; its file stays as it was.
    const stranger = join(c.dir, 'flip9.json');
    writeFileSync(stranger, JSON.stringify({ ...minimal, id: 'flip9' }));
    const refused = await runFlipAsync([
      'agent',
      '--config',
      stranger,
      '--join',
      api('flip').slice('http://'.length),
    ]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /"flip9" is not a server of the cluster's config \(version 1 at .*\): add it first/,
    );
    assert.deepEqual(JSON.parse(readFileSync(stranger, 'utf8')), { ...minimal, id: 'flip9' }, 'untouched');
    const flip3 = joinAgent(file, api('flip1').slice('http://'.length));
    try {
      await waitFor(() => /flip agent started/.test(flip3.log()), {
        what: 'flip3 started',
        timeoutMs: WAIT_MS,
      });
      assert.match(flip3.log(), /joined: .* now holds the cluster's config version 1 from 127\.0\.0\.1:\d+/);
      assert.match(flip3.log(), /"servers":4/);
      const written = JSON.parse(readFileSync(file, 'utf8')) as {
        id: string;
        key: string;
        servers: Record<string, unknown>;
      };
      assert.equal(written.id, 'flip3');
      assert.equal(written.key, 'secret', 'its own key, not the hidden one');
      assert.deepEqual(Object.keys(written.servers).sort(), ['flip', 'flip1', 'flip2', 'flip3']);
      assert.deepEqual(JSON.parse(readFileSync(`${file}.join`, 'utf8')), minimal, 'the minimal file kept');
    } finally {
      flip3.kill();
    }
  });

  it('a server added takes part in the consensus before any agent restarts: with one old server stopped, a change commits with its vote', async () => {
    const { c, flip } = await started();
    const flip3 = await addAndJoin(c, flip, 'flip3');
    try {
      // Four voters now: a majority is three. With flip2 stopped, flip and flip1 (which still run
      // the three-server list) need flip3's vote and acknowledgements.
      c.signal('flip2', 'SIGTERM');
      assert.equal(await c.waitExit('flip2'), 0);
      const data = await waitFor(
        async () => {
          const result = await flip('flip', 'data', 'add', 'ip', '192.168.0.9');
          return result.status === 0 ? result : undefined;
        },
        { what: 'a change committed by flip, flip1 and flip3', timeoutMs: WAIT_MS },
      );
      assert.match(data.stdout, /^committed version 2: data add ip 192\.168\.0\.9$/m);
      await waitFor(() => /"version":2,.*"msg":"config version committed/.test(flip3.log()), {
        what: 'flip3 applied version 2',
        timeoutMs: WAIT_MS,
      });
    } finally {
      flip3.kill();
    }
  });

  it('server add before the others in priority order: every agent takes the new list at once, the data rebalances onto the new server without a restart, never on two; a rolling restart keeps it', async () => {
    const { c, flip } = await started();
    // a0 at priority 0 comes first: every server's index moves in the new list.
    const a0 = await addAndJoin(c, flip, 'a0', ['--priority', '0', '--systems', 'ip']);
    const where = () =>
      [...(holders(c.records()).get('192.168.0.1') ?? [])].join() === 'a0' &&
      [...(holders(c.records()).get('192.168.0.2') ?? [])].join() === 'flip1';
    try {
      // Shard over [a0, flip1, flip] in that order: 192.168.0.1 to a0, 192.168.0.2 to flip1.
      await waitFor(where, {
        what: 'the items where the list with a0 first puts them, no agent restarted',
        timeoutMs: WAIT_MS,
      });
      assertNeverTwo(c.records());
      for (const id of ['flip', 'flip1', 'flip2']) {
        const log = readFileSync(join(c.dir, `${id}.log`), 'utf8');
        assert.equal(log.split('flip agent started').length, 2, `${id} started once`);
        assert.match(log, /the new lists applied at once/, id);
      }
      // One at a time, each from the stored committed config: the list with a0 first.
      for (const id of ['flip1', 'flip', 'flip2']) {
        c.signal(id, 'SIGTERM');
        assert.equal(await c.waitExit(id), 0, `${id} stopped`);
        const before = readFileSync(join(c.dir, `${id}.log`), 'utf8').split('flip agent started').length;
        c.start(id);
        await waitFor(
          () => readFileSync(join(c.dir, `${id}.log`), 'utf8').split('flip agent started').length > before,
          { what: `${id} started again`, timeoutMs: WAIT_MS },
        );
        assertNeverTwo(c.records());
      }
      // Shard over [a0, flip1, flip] in that order: 192.168.0.1 to a0, 192.168.0.2 to flip1.
      await waitFor(
        () =>
          [...(holders(c.records()).get('192.168.0.1') ?? [])].join() === 'a0' &&
          [...(holders(c.records()).get('192.168.0.2') ?? [])].join() === 'flip1',
        {
          what: 'the items where the list with a0 first puts them',
          timeoutMs: WAIT_MS,
        },
      );
      assertNeverTwo(c.records());
      // No packet was taken for another server's: with index numbering, the old lists dropped
      // the new list's packets as their own (self) or as sealed for another (wrong_destination).
      for (const [id, log] of [
        ...['flip', 'flip1', 'flip2'].map((id) => [id, readFileSync(join(c.dir, `${id}.log`), 'utf8')]),
        ['a0', a0.log()],
      ]) {
        for (const line of log!.split('\n').filter((entry) => entry.includes('"msg":"packets dropped"'))) {
          const reasons = (JSON.parse(line) as { by_reason: Record<string, number> }).by_reason;
          assert.equal(reasons.self ?? 0, 0, `${id}: ${line}`);
          assert.equal(reasons.wrong_destination ?? 0, 0, `${id}: ${line}`);
        }
      }
    } finally {
      a0.kill();
    }
  });

  it('server rm: the removed server leaves by itself (down, then stops), its item moves, never on two; it refuses to start again', async () => {
    const { c, flip } = await started();
    const removed = await waitFor(
      async () => {
        const result = await flip('flip', 'server', 'rm', 'flip1');
        return askAgain(result) ? undefined : result;
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

  it('system set applies at once, without a restart: a new type moves items break-before-make, a new alive runs; a reload sets what the files say', async () => {
    const { c, flip } = await started();
    // A second `alive`: it notes each item it is run for, then records as the other one does.
    const taggedLog = join(c.dir, 'tagged.log');
    const tagged = join(c.dir, 'tagged-alive');
    writeFileSync(
      tagged,
      `#!/bin/sh\necho "$FLIP_NODE $1" >> '${taggedLog}'\nexec '${RECORD_SCRIPT}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const mark = c.records().length;
    const before = holders(c.records());
    // Asked again while no leader is known (7) or no answer came in time (9: a loaded host); a
    // set that committed meanwhile is then a no-op.
    const set = await waitFor(
      async () => {
        const result = await flip('flip2', 'system', 'set', 'ip', 'type=single', `alive=${tagged}`);
        return result.status === 7 || result.status === 9 ? undefined : result;
      },
      { what: 'a committed system set', timeoutMs: WAIT_MS },
    );
    assert.equal(set.status, 0, set.stderr + set.stdout);
    const first = await committedConfig(flip);
    assert.equal(first.version, 1);
    assert.equal(first.config.cluster.system.ip.type, 'single');
    // `single`: every item on the one server placement prefers.
    const together = () => {
      const held = holders(c.records());
      const [a, b] = [held.get('192.168.0.1'), held.get('192.168.0.2')];
      return a?.size === 1 && b?.size === 1 && [...a][0] === [...b][0] ? [...a][0] : undefined;
    };
    const holder = await waitFor(together, { what: 'both items on one server', timeoutMs: WAIT_MS });
    // The item that moved (the one the other member held) came up through the new `alive`, after
    // its old holder's `down`.
    const item = ['192.168.0.1', '192.168.0.2'].find((candidate) => !before.get(candidate)?.has(holder))!;
    assert.ok(item !== undefined, `an item moved to ${holder}`);
    const moved = c.records().slice(mark);
    const arrived = moved.findIndex(
      (record) => record.event === 'alive' && record.node === holder && record.item === item,
    );
    const left = moved.findIndex(
      (record) => record.event === 'down' && record.node !== holder && record.item === item,
    );
    assert.ok(arrived !== -1 && left !== -1 && left < arrived, `down before alive: ${lines(moved)}`);
    assert.match(
      readFileSync(taggedLog, 'utf8'),
      new RegExp(`^${holder} ${item.replaceAll('.', '\\.')}$`, 'm'),
    );
    assertNeverTwo(c.records());
    for (const id of c.ids) {
      const log = readFileSync(join(c.dir, `${id}.log`), 'utf8');
      assert.equal(log.match(/flip agent started/g)?.length, 1, `${id} started once`);
      assert.match(log, /config version committed: applied at once/);
    }

    // The files are edited (type `replicated`, a delay): a reload at one agent sets the edit for
    // the whole cluster, and each item goes to both members.
    for (const id of c.ids) {
      const file = c.configFile(id);
      const raw = JSON.parse(readFileSync(file, 'utf8')) as {
        cluster: { system: { ip: Record<string, unknown> } };
      };
      Object.assign(raw.cluster.system.ip, { type: 'replicated', delay: 200 });
      writeFileSync(file, JSON.stringify(raw));
    }
    const reloaded = await flip('flip', 'reload');
    assert.equal(reloaded.status, 0, reloaded.stderr + reloaded.stdout);
    assert.match(reloaded.stdout, /committed version 2: system set ip type=replicated delay=200/);
    await waitFor(
      () =>
        [...(holders(c.records()).get('192.168.0.1') ?? [])].sort().join() === 'flip,flip1' &&
        [...(holders(c.records()).get('192.168.0.2') ?? [])].sort().join() === 'flip,flip1',
      { what: 'each item on both members', timeoutMs: WAIT_MS },
    );
    const doc = await committedConfig(flip);
    assert.equal(doc.version, 2);
    assert.equal(doc.config.cluster.system.ip.type, 'replicated');
    assert.equal(doc.config.cluster.system.ip.delay, 200);
    assert.equal(
      doc.config.cluster.system.ip.alive,
      tagged,
      "the API's setting stays: the file did not edit it",
    );
  });

  it('system add, a new config, system rm: each applies at once, without a restart; a new config takes every item down, then up with it; never on two', async () => {
    const { c, flip } = await started();
    // An `alive` that notes the config it is given, then records as the other one does.
    const configLog = join(c.dir, 'configs.log');
    const noting = join(c.dir, 'noting-alive');
    writeFileSync(
      noting,
      `#!/bin/sh\necho "$FLIP_NODE $1 $2" >> '${configLog}'\nexec '${RECORD_SCRIPT}' "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const items = ['10.9.0.1', '10.9.0.2'];
    /** Asked again while no leader is known (7) or no answer came in time (9: a loaded host). */
    const change = async (...args: string[]) => {
      const result = await waitFor(
        async () => {
          const answer = await flip('flip2', ...args);
          return answer.status === 7 || answer.status === 9 ? undefined : answer;
        },
        { what: `a committed ${args.slice(0, 2).join(' ')}`, timeoutMs: WAIT_MS },
      );
      assert.equal(result.status, 0, result.stderr + result.stdout);
    };
    const placed = () => items.every((item) => holders(c.records()).get(item)?.size === 1);

    await change(
      'system',
      'add',
      'web',
      `alive=${noting}`,
      `down=${RECORD_SCRIPT}`,
      'type=shard',
      `data=${items.join(',')}`,
      'config={"tag":1}',
      '--members',
      'flip,flip1',
    );
    await waitFor(placed, { what: 'the new system placed, one holder an item', timeoutMs: WAIT_MS });
    for (const item of items)
      assert.ok(['flip', 'flip1'].includes([...holders(c.records()).get(item)!][0]!), `${item} on a member`);

    const mark = c.records().length;
    await change('system', 'set', 'web', 'config={"tag":2}');
    // Every item went down where it was, then came up again with the new config.
    await waitFor(
      () =>
        items.every((item) =>
          readFileSync(configLog, 'utf8')
            .split('\n')
            .some((line) => line.endsWith(` ${item} {"tag":2}`)),
        ) && placed(),
      { what: 'every item up again with the new config', timeoutMs: WAIT_MS },
    );
    const redone = c.records().slice(mark);
    for (const item of items) {
      const down = redone.findIndex((record) => record.item === item && record.event === 'down');
      const up = redone.findIndex((record) => record.item === item && record.event === 'alive');
      assert.ok(down !== -1 && up > down, `${item}: down, then alive: ${lines(redone)}`);
    }

    await change('system', 'rm', 'web');
    await waitFor(() => items.every((item) => (holders(c.records()).get(item)?.size ?? 0) === 0), {
      what: "the removed system's items down everywhere",
      timeoutMs: WAIT_MS,
    });
    assertNeverTwo(c.records());
    for (const id of c.ids) {
      const log = readFileSync(join(c.dir, `${id}.log`), 'utf8');
      assert.equal(log.match(/flip agent started/g)?.length, 1, `${id} started once`);
      assert.doesNotMatch(log, /take effect when this agent restarts/, `${id} applied everything at once`);
    }
    const members = ['flip', 'flip1'].map((id) => readFileSync(join(c.dir, `${id}.log`), 'utf8'));
    for (const log of members) {
      assert.match(log, /system taken up here/);
      assert.match(log, /letting go of these systems here first/);
    }
  });

  it('data add at one agent is applied everywhere, kept across restarts; a minority commits nothing', async () => {
    const { c, flip } = await started();

    // Through flip2, the arbiter: it holds nothing, and forwards to whoever leads.
    const added = await waitFor(
      async () => {
        const result = await flip('flip2', 'data', 'add', 'ip', '192.168.0.7');
        // no_quorum until the first leader is elected: try again.
        return askAgain(result) ? undefined : result;
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
        return askAgain(result) ? undefined : result;
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
