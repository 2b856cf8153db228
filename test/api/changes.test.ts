/**
 * The runtime-change routes (POST /v1/changes, GET /v1/config, GET /v1/config/history) over real
 * HTTP on 127.0.0.1, against a fake ChangeService: the token, each answer's status, bad bodies,
 * the body bound, an agent that never answers or fails, and 501 where no service is wired.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/api/auth.js';
import { REDACTED } from '../../src/api/redact-config.js';
import { CHANGE_REQUEST_BYTES_MAX } from '../../src/api/routes.js';
import { ApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import type {
  ChangeResultDoc,
  ConfigDoc,
  ConfigHistoryDoc,
  ErrorDoc,
  ReloadOutcome,
} from '../../src/api/types.js';
import type { ChangeAnswer } from '../../src/replica/answer.js';
import { waitFor } from '../../src/testing/wait.js';
import { FakeChangeService, README_CONFIG } from '../helpers/fake-change-service.js';
import { snapshot } from '../helpers/snapshot.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  port: number,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    chunks?: Buffer[];
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

const TOKEN = 'c0ffee';
const AUTH = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
const ADD = { kind: 'data_add', system: 'ip', items: ['192.168.0.9'], base_version: 0 };

async function listen(extra: Partial<ApiServerOptions>): Promise<ApiServer> {
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

function post(port: number, body: unknown, headers: Record<string, string> = AUTH): Promise<Answer> {
  return call(port, '/v1/changes', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function error(answer: Answer): ErrorDoc['error'] {
  return (JSON.parse(answer.body) as ErrorDoc).error;
}

describe('change routes with a change service', () => {
  const service = new FakeChangeService(README_CONFIG);
  const counters = { api_requests: 0, api_faults: 0, api_unauthorized: 0 };
  let server: ApiServer;
  let port: number;
  before(async () => {
    server = await listen({ changes: service, counters, change_wait_ms: 300 });
    port = server.address.port;
  });
  after(() => server.close());

  it('commits a change: 200 with the version, and the config and history show it', async () => {
    const answer = await post(port, ADD);
    assert.equal(answer.status, 200, answer.body);
    const doc = JSON.parse(answer.body) as ChangeResultDoc;
    assert.deepEqual(doc, {
      outcome: 'committed',
      version: 1,
      kind: 'data_add',
      change: 'data add ip 192.168.0.9',
    });
    assert.deepEqual(service.submitted.at(-1)?.change, ADD);

    const config = await call(port, '/v1/config');
    assert.equal(config.status, 200);
    const shown = JSON.parse(config.body) as ConfigDoc;
    assert.equal(shown.version, 1);
    const ip = (shown.config.cluster as { system: { ip: { data: string[] } } }).system.ip;
    assert.deepEqual(ip.data, ['192.168.0.2', '192.168.0.1', '192.168.0.9']);

    const second = await post(port, { kind: 'server_rm', id: 'flip2', base_version: 1 });
    assert.equal(second.status, 200, second.body);
    const history = await call(port, '/v1/config/history');
    assert.equal(history.status, 200);
    const doc2 = JSON.parse(history.body) as ConfigHistoryDoc;
    assert.equal(doc2.version, 2);
    assert.equal(doc2.from, 0);
    assert.deepEqual(
      doc2.changes.map((change) => [change.version, change.kind, change.change]),
      [
        [1, 'data_add', 'data add ip 192.168.0.9'],
        [2, 'server_rm', 'server rm flip2'],
      ],
    );
    assert.deepEqual(doc2.changes[0]?.detail, ADD);
    const newest = JSON.parse((await call(port, '/v1/config/history?limit=1')).body) as ConfigHistoryDoc;
    assert.deepEqual(
      newest.changes.map((change) => change.version),
      [2],
    );
    assert.equal((await call(port, '/v1/config/history?limit=0')).status, 400);
    assert.equal((await call(port, '/v1/config/history?limit=1025')).status, 400);
  });

  it('hides the gossip key and API tokens in GET /v1/config', async () => {
    const answer = await call(port, '/v1/config');
    const doc = JSON.parse(answer.body) as ConfigDoc;
    assert.equal(doc.config.key, REDACTED);
    assert.deepEqual(doc.redacted, ['key', 'servers.flip.api.token']);
    assert.doesNotMatch(answer.body, /gossip-secret|api-secret/);
    // The service's own config keeps them: only what is shown changes.
    assert.equal(service.config.key, 'gossip-secret');
  });

  it('maps every answer kind to its status and code', async () => {
    const issue = { path: 'system', message: 'unknown system "ipp" (did you mean "ip"?)' };
    const table: [ChangeAnswer, number, string][] = [
      [{ kind: 'committed', version: 7 }, 200, 'committed'],
      [{ kind: 'no_op', version: 7, reason: 'already so' }, 200, 'no_op'],
      [{ kind: 'invalid', issues: [issue] }, 422, 'invalid_change'],
      [{ kind: 'conflict', message: 'conflicts with version 7' }, 409, 'conflict'],
      [{ kind: 'no_quorum', message: 'no leader is known here' }, 503, 'no_quorum'],
      [{ kind: 'unknown_server', server: 'flip', message: '"flip" is not a server' }, 503, 'unknown_server'],
      [{ kind: 'timeout', message: 'no answer within 4000 ms' }, 504, 'timeout'],
    ];
    for (const [forced, status, code] of table) {
      service.forced.push(forced);
      const answer = await post(port, ADD);
      assert.equal(answer.status, status, `${forced.kind}: ${answer.body}`);
      const body = JSON.parse(answer.body);
      if (status === 200) {
        assert.equal(body.outcome, code);
        assert.equal(body.version, 7);
      } else {
        assert.equal(body.error.code, code, forced.kind);
        assert.equal(body.error.status, status);
        if ('message' in forced) assert.equal(body.error.message, forced.message);
      }
      if (forced.kind === 'invalid') assert.deepEqual(body.error.issues, [issue]);
      if (forced.kind === 'no_op') assert.equal(body.reason, 'already so');
    }
  });

  it('a change that does not fit the config is 422 with the config messages, and nothing changes', async () => {
    const before = service.version;
    const answer = await post(port, { kind: 'data_add', system: 'ipp', items: ['x'], base_version: before });
    assert.equal(answer.status, 422);
    const body = error(answer);
    assert.equal(body.code, 'invalid_change');
    assert.equal(body.issues?.[0]?.path, 'system');
    assert.match(body.issues?.[0]?.message ?? '', /unknown system "ipp" \(did you mean "ip"\?\)/);
    assert.equal(service.version, before);
  });

  it('needs the token: 401 without it or with a wrong one, and the service is never asked', async () => {
    const asked = service.submitted.length;
    const missing = await post(port, ADD, { 'Content-Type': 'application/json' });
    assert.equal(missing.status, 401);
    assert.equal(error(missing).code, 'unauthorized');
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="flip"');
    const wrong = await post(port, ADD, { ...AUTH, Authorization: 'Bearer c0ffef' });
    assert.equal(wrong.status, 401);
    assert.match(error(wrong).message, /token is wrong/);
    assert.equal(service.submitted.length, asked);
    // GET on the change path is a 405, not a way around the token.
    assert.equal((await call(port, '/v1/changes')).status, 405);
  });

  it('refuses bodies that are not one change: 400 bad_json, 400 bad_change with the fields, 415', async () => {
    const asked = service.submitted.length;
    const notJson = await post(port, '{"kind": "data_add",');
    assert.equal(notJson.status, 400);
    assert.equal(error(notJson).code, 'bad_json');
    const empty = await post(port, '');
    assert.equal(empty.status, 400);
    assert.match(error(empty).message, /body is empty/);
    const misspelt = await post(port, { ...ADD, kind: 'data_ad' });
    assert.equal(misspelt.status, 400);
    assert.equal(error(misspelt).code, 'bad_change');
    assert.deepEqual(
      error(misspelt).issues?.map((issue) => issue.path),
      ['kind'],
    );
    assert.match(error(misspelt).message, /did you mean "data_add"/);
    const twice = await post(port, { ...ADD, items: ['a', 'b', 'a'] });
    assert.equal(error(twice).issues?.[0]?.path, 'items[2]');
    const array = await post(port, [ADD]);
    assert.equal(error(array).code, 'bad_change');
    const form = await post(port, ADD, { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    assert.equal(error(form).code, 'unsupported_media_type');
    // No Content-Type at all is taken as JSON (curl --data-binary with a file, say).
    const bare = await post(
      port,
      { ...ADD, items: ['192.168.0.77'], base_version: service.version },
      {
        Authorization: AUTH.Authorization,
      },
    );
    assert.equal(bare.status, 200, bare.body);
    assert.equal(service.submitted.length, asked + 1);
  });

  it('bounds the body: 413 past 1 MiB (declared or chunked), and past 4 KiB without the token', async () => {
    const items = Array.from(
      { length: 20_000 },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
    const big = { kind: 'data_add', system: 'ip', items, base_version: service.version };
    const text = JSON.stringify(big);
    assert.ok(text.length > 100_000 && text.length < CHANGE_REQUEST_BYTES_MAX);
    const taken = await post(port, big);
    assert.equal(taken.status, 200, taken.body.slice(0, 300));

    const over = Buffer.alloc(CHANGE_REQUEST_BYTES_MAX + 1, 0x20);
    const declared = await post(port, over.toString());
    assert.equal(declared.status, 413);
    assert.equal(error(declared).code, 'too_large');
    assert.match(error(declared).message, /1 MiB/);
    const chunked = await call(port, '/v1/changes', {
      method: 'POST',
      headers: { ...AUTH, 'Transfer-Encoding': 'chunked' },
      chunks: Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20)),
    });
    assert.equal(chunked.status, 413);
    const unauthorized = await post(port, Buffer.alloc(8 * 1024, 0x20).toString(), {
      'Content-Type': 'application/json',
    });
    assert.equal(unauthorized.status, 413);
    assert.match(error(unauthorized).message, /4 KiB/);
  });

  it('an agent that never answers: 504 after the bound, and the service is told to stop waiting', async () => {
    service.forced.push('hang');
    const answer = await post(port, ADD);
    assert.equal(answer.status, 504);
    assert.equal(error(answer).code, 'timeout');
    assert.match(error(answer).message, /may or may not commit/);
    assert.equal(service.submitted.at(-1)?.signal.aborted, true);
  });

  it('a client that leaves: the service is told to stop waiting', async () => {
    service.forced.push('hang');
    const asked = service.submitted.length;
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/v1/changes',
      method: 'POST',
      headers: AUTH,
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(ADD));
    await waitFor(() => service.submitted.length === asked + 1, {
      what: 'the change submitted',
      timeoutMs: 5000,
    });
    const { signal } = service.submitted.at(-1)!;
    assert.equal(signal.aborted, false);
    req.destroy();
    await waitFor(() => signal.aborted, { what: 'the wait abandoned', timeoutMs: 5000 });
  });

  it('a service that fails: 500, counted, and the server goes on', async () => {
    const faults = counters.api_faults;
    service.forced.push('reject');
    const answer = await post(port, ADD);
    assert.equal(answer.status, 500);
    assert.equal(error(answer).code, 'internal');
    assert.equal(counters.api_faults, faults + 1);
    assert.equal((await call(port, '/v1/config')).status, 200);
  });
});

describe('change routes without a change service, or without a token', () => {
  it('answer 501 where no service is wired (after the token check)', async () => {
    const server = await listen({});
    try {
      const port = server.address.port;
      for (const path of ['/v1/config', '/v1/config/history']) {
        const answer = await call(port, path);
        assert.equal(answer.status, 501, path);
        assert.equal(error(answer).code, 'not_implemented');
        assert.match(error(answer).message, /does not take runtime changes/);
      }
      const change = await post(port, ADD);
      assert.equal(change.status, 501);
      assert.equal((await post(port, ADD, { 'Content-Type': 'application/json' })).status, 401);
    } finally {
      await server.close();
    }
  });

  it('refuse changes with 403 where the agent has no api.token; reads stay open on loopback', async () => {
    const service = new FakeChangeService(README_CONFIG);
    const server = await listen({ changes: service, policy: { loopback: true, token: undefined } });
    try {
      const port = server.address.port;
      const answer = await post(port, ADD);
      assert.equal(answer.status, 403);
      assert.equal(error(answer).code, 'forbidden');
      assert.match(error(answer).message, /no api\.token/);
      assert.equal(service.submitted.length, 0);
      assert.equal((await call(port, '/v1/config')).status, 200);
    } finally {
      await server.close();
    }
  });

  it('need the token for reads when listening beyond loopback', async () => {
    const service = new FakeChangeService(README_CONFIG);
    const server = await listen({ changes: service, policy: { loopback: false, token: hashToken(TOKEN) } });
    try {
      const port = server.address.port;
      assert.equal((await call(port, '/v1/config')).status, 401);
      assert.equal((await call(port, '/v1/config/history')).status, 401);
      assert.equal((await call(port, '/v1/config', { headers: AUTH })).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('POST /v1/reload', () => {
  it('needs the token; answers the agent outcome as JSON; 501 without an agent to reload', async () => {
    const outcomes: ReloadOutcome[] = [
      { kind: 'unchanged' },
      { kind: 'restart_needed', fields: ['ping_timeout_ms'] },
      {
        kind: 'proposed',
        answers: [{ change: 'data add ip 192.168.0.9', answer: { kind: 'committed', version: 4 } }],
      },
    ];
    let calls = 0;
    const api = await listen({
      reload: async () => outcomes[calls++ % outcomes.length]!,
    });
    const bare = await listen({});
    try {
      const denied = await call(api.address.port, '/v1/reload', { method: 'POST' });
      assert.equal(denied.status, 401);
      assert.equal(calls, 0, 'no reload without the token');
      for (const outcome of outcomes) {
        const answer = await call(api.address.port, '/v1/reload', { method: 'POST', headers: AUTH });
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.body), outcome);
      }
      assert.equal((await call(api.address.port, '/v1/reload', { headers: AUTH })).status, 405, 'POST only');
      const none = await call(bare.address.port, '/v1/reload', { method: 'POST', headers: AUTH });
      assert.equal(none.status, 501);
      assert.equal(error(none).code, 'not_implemented');
    } finally {
      await api.close();
      await bare.close();
    }
  });
});
