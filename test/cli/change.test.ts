/**
 * The runtime-change commands end to end: `flip data|server|system ...` and `flip config
 * show|history` as separate processes against an API server on 127.0.0.1 with a fake change
 * service (each change applied at once by the real applyChange); then every answer's exit status
 * and line, calling the command function in this process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/api/auth.js';
import { REDACTED } from '../../src/api/redact-config.js';
import { ApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import type { ChangeResultDoc, ConfigDoc, ErrorDoc } from '../../src/api/types.js';
import { change, configHistory, configShow } from '../../src/cli/commands/change.js';
import {
  CliError,
  EXIT_CHANGE_CONFLICT,
  EXIT_CHANGE_INVALID,
  EXIT_CHANGE_TIMEOUT,
  EXIT_DENIED,
  EXIT_NO_QUORUM,
  EXIT_NOT_AVAILABLE,
  EXIT_OK,
  EXIT_UNKNOWN_SERVER,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
} from '../../src/cli/exit-codes.js';
import type { ChangeAnswer } from '../../src/replica/answer.js';
import { FakeChangeService, README_CONFIG } from '../helpers/fake-change-service.js';
import { runFlipAsync } from '../helpers/flip-cli.js';
import { snapshot } from '../helpers/snapshot.js';

const TOKEN = 'c0ffee';

function listen(extra: Partial<ApiServerOptions>): Promise<ApiServer> {
  return ApiServer.listen({
    host: '127.0.0.1',
    port: 0,
    policy: { loopback: true, token: hashToken(TOKEN) },
    counters: { api_requests: 0, api_faults: 0, api_unauthorized: 0 },
    handlers: {
      health: () => healthDoc(snapshot()),
      status: () => assembleStatus(snapshot()),
      events: () => ({ events: [], last_id: 0, truncated: false }),
      metrics: () => '',
      subscribe: () => () => undefined,
    },
    page: 'no page in this test',
    ...extra,
  });
}

/** Runs flip with FLIP_TOKEN set and no config to fall back on. */
function flip(args: string[], env: NodeJS.ProcessEnv = { FLIP_TOKEN: TOKEN }) {
  return runFlipAsync(args, { env: { FLIP_CONFIG: '', FLIP_ID: '', FLIP_TOKEN: '', ...env } });
}

describe('flip data|server|system and flip config show|history, as processes', { timeout: 180_000 }, () => {
  const service = new FakeChangeService(README_CONFIG);
  let server: ApiServer;
  let api: string;
  before(async () => {
    server = await listen({ changes: service });
    api = `http://127.0.0.1:${server.address.port}`;
  });
  after(() => server.close());

  it('commits each kind of change and prints its version, made against the version the agent has', async () => {
    const add = await flip(['data', 'add', 'ip', '192.168.0.9', '192.168.0.10', '--api', api]);
    assert.equal(add.status, EXIT_OK, add.stderr);
    assert.equal(add.stdout, 'committed version 1: data add ip 192.168.0.9 192.168.0.10\n');
    assert.deepEqual(service.submitted.at(-1)?.change, {
      kind: 'data_add',
      system: 'ip',
      items: ['192.168.0.9', '192.168.0.10'],
      base_version: 0,
    });

    const server4 = await flip([
      'server',
      'add',
      'flip4',
      '--ip',
      '127.0.0.1',
      '--port',
      '2204',
      '--priority',
      '4',
      '--systems',
      'ip',
      '--api',
      api,
      '--json',
    ]);
    assert.equal(server4.status, EXIT_OK, server4.stderr);
    const doc = JSON.parse(server4.stdout) as ChangeResultDoc;
    assert.deepEqual(doc, {
      outcome: 'committed',
      version: 2,
      kind: 'server_add',
      change: 'server add flip4 --ip 127.0.0.1 --port 2204 --priority 4 --systems ip',
    });
    assert.equal(service.submitted.at(-1)?.change.base_version, 1);

    const set = await flip(['system', 'set', 'ip', 'delay=200', 'config={"dev":"lo"}', '--api', api]);
    assert.equal(set.status, EXIT_OK, set.stderr);
    // Keys in the config schema's order, whatever order they were typed in.
    assert.equal(
      set.stdout,
      'committed version 3: system set ip config={"dev":"lo"} delay=200\n' +
        'each member of ip takes its items down, then up again with the new config\n',
    );
    const again = await flip(['system', 'set', 'ip', 'delay=200', '--api', api]);
    assert.equal(again.status, EXIT_OK, again.stderr);
    assert.match(again.stdout, /^nothing to change: version 3 already is so/);

    const web = await flip([
      'system',
      'add',
      'web',
      'type=hash',
      'alive=/usr/local/bin/web-up',
      'down=/usr/local/bin/web-down',
      'data=10.0.1.1,10.0.1.2',
      '--members',
      'flip1,flip4',
      '--api',
      api,
    ]);
    assert.equal(web.status, EXIT_OK, web.stderr);
    assert.equal(
      web.stdout,
      'committed version 4: system add web (type hash, 2 items, members flip1,flip4)\n',
    );
    const rm = await flip(['server', 'rm', 'flip2', '--api', api]);
    assert.equal(rm.status, EXIT_OK, rm.stderr);
    assert.equal(
      rm.stdout,
      'committed version 5: server rm flip2\n' +
        'flip2 leaves by itself; the other agents take this once it has left\n',
    );

    const history = await flip(['config', 'history', '--limit', '3', '--api', api]);
    assert.equal(history.status, EXIT_OK, history.stderr);
    assert.deepEqual(history.stdout.trimEnd().split('\n'), [
      '3  system set ip config={"dev":"lo"} delay=200',
      '4  system add web (type hash, 2 items, members flip1,flip4)',
      '5  server rm flip2',
      '(versions 1 to 2 not shown: pass --limit for more)',
    ]);

    const show = await flip(['config', 'show', '--api', api, '--json']);
    assert.equal(show.status, EXIT_OK, show.stderr);
    const shown = JSON.parse(show.stdout) as ConfigDoc;
    assert.equal(shown.version, 5);
    assert.equal(shown.config.key, REDACTED);
    assert.deepEqual(Object.keys(shown.config.servers as object), ['flip', 'flip1', 'flip4']);
    const text = await flip(['config', 'show', '--api', api]);
    assert.equal(text.status, EXIT_OK, text.stderr);
    assert.match(text.stdout, /^# version 5\n# not shown: key, servers\.flip\.api\.token\n\{/);
    assert.doesNotMatch(text.stdout, /gossip-secret|api-secret/);
  });

  it('refuses bad arguments before sending anything, naming the argument (exit 2, no stack)', async () => {
    const asked = service.submitted.length;
    const noIp = await flip(['server', 'add', 'flip5', '--port', '2205', '--api', api]);
    assert.equal(noIp.status, EXIT_USAGE);
    assert.match(noIp.stderr, /required option '--ip <ip>' not specified/);
    const badPort = await flip([
      'server',
      'add',
      'flip5',
      '--ip',
      '127.0.0.1',
      '--port',
      '99999',
      '--api',
      api,
    ]);
    assert.equal(badPort.status, EXIT_USAGE);
    assert.equal(badPort.stderr, 'flip: --port "99999": is out of range (1 to 65,535)\n');
    const badKeys = await flip(['system', 'set', 'ip', 'dealy=3', 'preempt=maybe', '--api', api]);
    assert.equal(badKeys.status, EXIT_USAGE);
    assert.match(
      badKeys.stderr,
      /^flip: 1 problems|^flip: dealy=3: unknown key "dealy" \(did you mean "delay"\?\)/,
    );
    const whole = await flip(['system', 'set', 'ip', 'data=a', '--api', api]);
    assert.equal(whole.status, EXIT_USAGE);
    assert.match(whole.stderr, /^flip: data=a: cannot be set whole/);
    for (const result of [noIp, badPort, badKeys, whole]) assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.equal(service.submitted.length, asked);
  });

  it('exits 5 for an invalid change, with the config messages; 6 for a conflict; 10 without the token', async () => {
    const invalid = await flip(['data', 'add', 'ipp', '10.9.9.9', '--api', api]);
    assert.equal(invalid.status, EXIT_CHANGE_INVALID, invalid.stderr);
    assert.deepEqual(invalid.stderr.trimEnd().split('\n'), [
      'flip: invalid change, nothing changed: the change does not fit the committed config (1 problem); nothing changed',
      '  system: unknown system "ipp" (did you mean "ip"?); cluster.system defines: ip, web',
    ]);
    // Made against version 0, before version 1 added this item: the real conflict rule says so.
    const stale = await flip([
      'data',
      'rm',
      'ip',
      '192.168.0.9',
      '--base-version',
      '0',
      '--api',
      api,
      '--json',
    ]);
    assert.equal(stale.status, EXIT_CHANGE_CONFLICT, stale.stderr);
    const error = (JSON.parse(stale.stdout) as ErrorDoc).error;
    assert.equal(error.code, 'conflict');
    assert.match(error.message, /^conflicts with version 1 \(data add ip 192\.168\.0\.9 192\.168\.0\.10\)/);
    const noToken = await flip(['data', 'add', 'ip', '10.9.9.9', '--api', api], {});
    assert.equal(noToken.status, EXIT_DENIED);
    assert.match(noToken.stderr, /needs its token: .*\(pass --token or set FLIP_TOKEN\)/);
    const wrong = await flip(['data', 'add', 'ip', '10.9.9.9', '--api', api, '--token', 'nope']);
    assert.equal(wrong.status, EXIT_DENIED);
    assert.match(wrong.stderr, /the token is wrong/);
  });

  it('exits 11 where the agent takes no changes, and 4 where no API answers', async () => {
    const bare = await listen({});
    const closed = await listen({});
    const closedApi = `http://127.0.0.1:${closed.address.port}`;
    await closed.close();
    try {
      const bareApi = `http://127.0.0.1:${bare.address.port}`;
      const add = await flip(['data', 'add', 'ip', '10.9.9.9', '--api', bareApi]);
      assert.equal(add.status, EXIT_NOT_AVAILABLE, add.stderr);
      assert.match(add.stderr, /^flip: not available at .*does not take runtime changes/);
      const show = await flip(['config', 'show', '--api', bareApi]);
      assert.equal(show.status, EXIT_NOT_AVAILABLE);
      const gone = await flip(['config', 'history', '--api', closedApi]);
      assert.equal(gone.status, EXIT_UNREACHABLE);
      assert.match(gone.stderr, /^flip: cannot reach the flip API at .*ECONNREFUSED/);
    } finally {
      await bare.close();
    }
  });
});

describe('change command: every answer, its exit status and its line', () => {
  const service = new FakeChangeService(README_CONFIG);
  let server: ApiServer;
  let api: string;
  before(async () => {
    server = await listen({ changes: service, change_wait_ms: 200 });
    api = `http://127.0.0.1:${server.address.port}`;
  });
  after(() => server.close());

  async function run(forced: ChangeAnswer | 'hang' | undefined, json = false) {
    if (forced !== undefined) service.forced.push(forced);
    const out: string[] = [];
    const err: string[] = [];
    const exit = await change(
      { command: 'data add', system: 'ip', items: ['10.1.1.1'] },
      { api, token: TOKEN, json, baseVersion: String(service.version) },
      { out: (text) => out.push(text), err: (text) => err.push(text) },
      {},
    );
    return { exit, out, err };
  }

  it('maps each answer to its exit status and a line saying whether anything changed', async () => {
    const table: [ChangeAnswer | 'hang', number, RegExp][] = [
      [{ kind: 'committed', version: 9 }, EXIT_OK, /^committed version 9: data add ip 10\.1\.1\.1$/],
      [
        { kind: 'no_op', version: 9, reason: 'it is so' },
        EXIT_OK,
        /^nothing to change: version 9 already is so \(it is so\)$/,
      ],
      [
        { kind: 'invalid', issues: [{ path: 'items[0]', message: 'is there' }] },
        EXIT_CHANGE_INVALID,
        /^flip: invalid change, nothing changed: .*\n {2}items\[0\]: is there$/,
      ],
      [
        { kind: 'conflict', message: 'conflicts with version 8' },
        EXIT_CHANGE_CONFLICT,
        /^flip: conflict, nothing changed: conflicts with version 8$/,
      ],
      [
        { kind: 'no_quorum', message: 'no leader' },
        EXIT_NO_QUORUM,
        /^flip: no quorum reachable, nothing changed: no leader$/,
      ],
      [
        { kind: 'unknown_server', server: 'flip', message: 'not a server' },
        EXIT_UNKNOWN_SERVER,
        /^flip: unknown server, nothing changed: not a server$/,
      ],
      [
        { kind: 'timeout', message: 'no answer within 4000 ms' },
        EXIT_CHANGE_TIMEOUT,
        /^flip: no answer in time, the change may or may not be committed: no answer within 4000 ms$/,
      ],
      [
        'hang',
        EXIT_CHANGE_TIMEOUT,
        /^flip: no answer in time, the change may or may not be committed: the agent gave no answer within 200 ms/,
      ],
    ];
    const exits = new Set<number>();
    for (const [forced, exit, line] of table) {
      const asked = service.submitted.length;
      const result = await run(forced);
      // Sent once: no status makes the client resend a change on its own (421 did, with fetch).
      assert.equal(service.submitted.length, asked + 1, 'submitted once');
      const kind = typeof forced === 'string' ? forced : forced.kind;
      assert.equal(result.exit, exit, kind);
      assert.match((exit === EXIT_OK ? result.out : result.err).join('\n'), line, kind);
      exits.add(result.exit);
    }
    assert.equal(
      exits.size,
      6,
      'one status per class: ok, invalid, conflict, no quorum, unknown server, timeout',
    );
  });

  it('--json prints the API answer, success or refusal', async () => {
    const ok = await run(undefined, true);
    assert.equal(ok.exit, EXIT_OK);
    assert.equal((JSON.parse(ok.out.join('')) as ChangeResultDoc).outcome, 'committed');
    assert.deepEqual(ok.err, []);
    const refused = await run({ kind: 'no_quorum', message: 'no leader' }, true);
    assert.equal(refused.exit, EXIT_NO_QUORUM);
    assert.deepEqual(JSON.parse(refused.out.join('')), {
      error: { status: 503, code: 'no_quorum', message: 'no leader' },
    });
  });

  it('config show and history read the service; a bad --limit or --base-version is bad input', async () => {
    const out: string[] = [];
    const output = { out: (text: string) => out.push(text), err: () => undefined };
    assert.equal(await configShow({ api }, output, {}), EXIT_OK);
    assert.match(out[0] ?? '', /^# version \d+/);
    await assert.rejects(
      configHistory({ api, limit: 'x' }, output, {}),
      (error: unknown) =>
        error instanceof CliError && error.exitCode === EXIT_USAGE && /--limit "x"/.test(error.message),
    );
    await assert.rejects(
      change({ command: 'system rm', system: 'ip' }, { api, baseVersion: '-1' }, output, {}),
      (error: unknown) => error instanceof CliError && error.exitCode === EXIT_USAGE,
    );
  });
});
