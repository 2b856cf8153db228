/**
 * The status page's pure part (web/picture.js) on status documents made by assembleStatus, and
 * the API serving the page's files: content types, the Content-Security-Policy, open on a
 * token-guarded API while the data stays guarded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/api/auth.js';
import { loadPage, PAGE_FILE_BYTES_MAX, PAGE_FILES } from '../../src/api/page.js';
import { ApiServer } from '../../src/api/server.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import type { EventDoc } from '../../src/api/types.js';
import { EventRing } from '../../src/observe/events.js';
import { describeEvent, EVENTS_SHOWN, keepEvents, picture, tokenFromFragment } from '../../web/picture.js';
import { member, snapshot, system } from '../helpers/snapshot.js';

describe('the status page picture', () => {
  it('puts each item on the server placement gives it; this server says what it holds', () => {
    const view = picture(assembleStatus(snapshot()));
    assert.deepEqual(
      view.servers.map((server) => [server.id, server.state, server.chips.map((c) => `${c.item}:${c.kind}`)]),
      [
        ['flip1', 'alive', ['192.168.0.1:wanted']],
        ['flip', 'alive', ['192.168.0.2:held']],
        ['flip2', 'alive', []],
      ],
    );
    assert.equal(view.self, 'flip');
    assert.equal(view.healthy, true);
  });

  it('shows a down member, an item held here that placement wants elsewhere, and one not yet held', () => {
    const status = assembleStatus(
      snapshot({
        members: [
          member('flip1', 0, { state: 'down' }),
          member('flip', 1, { rtt_ms: undefined, last_heard: Number.NEGATIVE_INFINITY }),
          member('flip2', 2, { state: 'probably_down', readiness: { ip: 'holding' } }),
        ],
        systems: [
          system({
            wanted: { flip: ['192.168.0.1'], flip2: ['192.168.0.2'] },
            desired_here: ['192.168.0.1'],
          }),
        ],
      }),
    );
    const view = picture(status);
    const flip = view.servers.find((server) => server.id === 'flip')!;
    assert.deepEqual(
      flip.chips.map((c) => [c.item, c.kind, c.wanted_on]),
      [
        ['192.168.0.1', 'arriving', 'flip'],
        ['192.168.0.2', 'leaving', 'flip2'],
      ],
    );
    const flip2 = view.servers.find((server) => server.id === 'flip2')!;
    assert.equal(flip2.label, 'suspect');
    assert.deepEqual(flip2.readiness, [{ system: 'ip', state: 'holding' }]);
    assert.equal(view.servers[0]!.label, 'down');
  });

  it('keeps the newest events once each, and describes them', () => {
    const event = (id: number): EventDoc => ({
      id,
      at: '2026-01-01T00:00:00.000Z',
      type: 'agent',
      state: 'started',
    });
    const kept = keepEvents(
      keepEvents([], [event(1), event(2)]),
      Array.from({ length: EVENTS_SHOWN + 5 }, (_, i) => event(i + 2)),
    );
    assert.equal(kept.length, EVENTS_SHOWN);
    assert.equal(kept.at(-1)!.id, EVENTS_SHOWN + 6);
    assert.deepEqual(
      describeEvent({
        id: 3,
        at: '2026-01-01T00:00:00.000Z',
        type: 'member',
        member: 'flip1',
        from: 'probably_down',
        to: 'down',
        incarnation: 2,
        reason: 'quorum',
      } as EventDoc),
      { text: 'flip1: suspect → down (quorum)', bad: true },
    );
  });

  it('reads a token from the fragment', () => {
    assert.equal(tokenFromFragment('#token=a%2Bb'), 'a+b');
    assert.equal(tokenFromFragment('#x=1&token=abc'), 'abc');
    assert.equal(tokenFromFragment(''), undefined);
  });
});

describe('the API serves the page', () => {
  const ring = new EventRing(10);
  let server: ApiServer;
  let base: string;
  before(async () => {
    server = await ApiServer.listen({
      host: '127.0.0.1',
      port: 0,
      policy: { loopback: false, token: hashToken('t0ken') },
      counters: { api_requests: 0, api_faults: 0, api_unauthorized: 0 },
      handlers: {
        health: () => healthDoc(snapshot()),
        status: () => assembleStatus(snapshot()),
        events: (since, limit) => ring.since(since, limit),
        metrics: () => '',
        subscribe: (listener) => ring.subscribe(listener),
      },
    });
    base = `http://127.0.0.1:${server.address.port}`;
  });
  after(() => server.close());

  it('serves each file with its type and a strict CSP, without the token; the data still needs it', async () => {
    for (const [path, { type }] of Object.entries(PAGE_FILES)) {
      const answer = await fetch(`${base}${path}`);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers.get('content-type'), type);
      const csp = answer.headers.get('content-security-policy')!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.ok(!csp.includes('unsafe'), csp);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
      assert.ok((await answer.text()).length > 100);
    }
    const html = await (await fetch(`${base}/`)).text();
    assert.ok(!/\shref="http|\ssrc="http|<script>|\sstyle=/.test(html), 'no external or inline resources');
    assert.equal((await fetch(`${base}/v1/status`)).status, 401);
    assert.equal((await fetch(`${base}/nothing.js`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
  });

  it('a missing or oversized page file leaves the page out with a reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-page-'));
    assert.match(String(loadPage(dir)), /index\.html cannot be read from/);
    for (const { file } of Object.values(PAGE_FILES)) writeFileSync(join(dir, file), 'x');
    assert.ok(loadPage(dir) instanceof Map);
    writeFileSync(join(dir, 'page.css'), Buffer.alloc(PAGE_FILE_BYTES_MAX + 1));
    assert.match(String(loadPage(dir)), /page\.css is over/);
  });
});
