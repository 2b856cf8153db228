/**
 * The API's http adapter on 127.0.0.1 with made-up handlers: a policy as if listening beyond
 * loopback (token needed for reads), every 4xx, the bounds, a fault in a handler.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/api/auth.js';
import { ApiClient } from '../../src/api/client.js';
import { API_LIMITS, ApiServer } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import type { EventDoc } from '../../src/api/types.js';
import { EventRing } from '../../src/observe/events.js';
import { waitFor } from '../../src/testing/wait.js';
import { snapshot } from '../helpers/snapshot.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
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
    req.end();
  });
}

describe('api server over real HTTP (token required for reads)', () => {
  const ring = new EventRing(50);
  const counters = { api_requests: 0, api_faults: 0, api_unauthorized: 0 };
  let failStatus = false;
  let server: ApiServer;
  let port: number;
  const auth = { Authorization: 'Bearer t0ken' };

  before(async () => {
    server = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      policy: { loopback: false, token: hashToken('t0ken') },
      counters,
      handlers: {
        health: () => healthDoc(snapshot()),
        status: () => {
          if (failStatus) throw new Error('boom');
          return assembleStatus(snapshot());
        },
        events: (since, limit) => ring.since(since, limit),
        metrics: () => '# HELP flip_x x\n# TYPE flip_x gauge\nflip_x 1\n',
        subscribe: (listener) => ring.subscribe(listener),
      },
    });
    port = server.address.port;
  });
  after(() => server.close());

  it('health and metrics are open; status and events need the token', async () => {
    const health = await call(port, '/v1/health');
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).ok, true);
    const metrics = await call(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const denied = await call(port, '/v1/status');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers['www-authenticate'], 'Bearer realm="flip"');
    assert.equal(JSON.parse(denied.body).error.code, 'unauthorized');
    assert.equal((await call(port, '/v1/status', { headers: { Authorization: 'Bearer nope' } })).status, 401);
    const ok = await call(port, '/v1/status', { headers: auth });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).server.id, 'flip');
    assert.ok(counters.api_unauthorized >= 2);
  });

  it('404, 405 with Allow, 400, 413: JSON errors', async () => {
    const notFound = await call(port, '/nope', { headers: auth });
    assert.deepEqual([notFound.status, JSON.parse(notFound.body).error.code], [404, 'not_found']);
    const method = await call(port, '/v1/status', { method: 'POST', headers: auth });
    assert.deepEqual([method.status, method.headers.allow], [405, 'GET']);
    const query = await call(port, '/v1/events?since=x', { headers: auth });
    assert.deepEqual([query.status, JSON.parse(query.body).error.code], [400, 'bad_query']);
    const body = 'x'.repeat(API_LIMITS.body_bytes_max + 1);
    const declared = await call(port, '/v1/health', {
      headers: { 'Content-Length': String(body.length) },
      body,
    });
    assert.equal(declared.status, 413);
    // A chunked body is counted as it comes.
    const chunked = await call(port, '/v1/health', {
      method: 'POST',
      headers: { 'Transfer-Encoding': 'chunked' },
      body,
    });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.body).error.code, 'too_large');
    assert.equal((await call(port, '/v1/health', { method: 'POST', body: 'small' })).status, 405);
  });

  it('headers over the bound get a 400 and the server goes on', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(API_LIMITS.header_bytes_max + 10)}\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    assert.match(answer, /^HTTP\/1\.1 4\d\d/);
    assert.equal((await call(port, '/v1/health')).status, 200);
  });

  it('a fault in a handler is a 500, counted, and the next request is served', async () => {
    failStatus = true;
    const fault = await call(port, '/v1/status', { headers: auth });
    failStatus = false;
    assert.equal(fault.status, 500);
    assert.equal(JSON.parse(fault.body).error.code, 'internal');
    assert.equal(counters.api_faults, 1);
    assert.equal((await call(port, '/v1/status', { headers: auth })).status, 200);
  });

  it('events as JSON after an id, and as a stream; streams are bounded in number', async () => {
    ring.add(0, { type: 'agent', state: 'started' });
    const events = JSON.parse((await call(port, '/v1/events?since=0', { headers: auth })).body);
    assert.equal(events.events.length, 1);
    assert.equal(events.last_id, 1);

    const client = new ApiClient({ base: `http://127.0.0.1:${port}`, token: 't0ken' });
    const seen: EventDoc[] = [];
    const stop = new AbortController();
    // since=0: the kept event first, then live ones.
    const following = client.follow((event) => seen.push(event), stop.signal, 0);
    await waitFor(() => server.streams === 1, { what: 'stream open' });
    ring.add(0, { type: 'quorum', state: 'lost', releasing: [] });
    await waitFor(() => seen.length === 2, { what: 'two events on the stream' });
    assert.deepEqual(
      seen.map((event) => [event.id, event.type]),
      [
        [1, 'agent'],
        [2, 'quorum'],
      ],
    );
    // Without the token the stream is refused like any read.
    await assert.rejects(
      new ApiClient({ base: `http://127.0.0.1:${port}` }).follow(() => undefined),
      /token/,
    );

    const extra = Array.from({ length: API_LIMITS.streams_max }, () => new AbortController());
    const refusals: Error[] = [];
    const others = extra.map((controller) =>
      client
        .follow(() => undefined, controller.signal)
        .catch((error: Error) => {
          refusals.push(error);
        }),
    );
    // One stream too many: it is refused while the others stay open.
    await waitFor(() => refusals.length === 1 && server.streams === API_LIMITS.streams_max, {
      what: 'streams at the bound, one refused',
    });
    assert.match(refusals[0]!.message, /at most 16 event streams/);
    stop.abort();
    for (const controller of extra) controller.abort();
    await Promise.all(others);
    assert.equal(refusals.length, 1);
    await following;
    await waitFor(() => server.streams === 0, { what: 'streams closed' });
  });
});
