import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../../src/api/sse.js';
import { assembleStatus, healthDoc } from '../../src/api/status.js';
import { COLOUR, PLAIN, paintFor, renderMembers, renderStatus } from '../../src/cli/status-render.js';
import { member, snapshot, system } from '../helpers/snapshot.js';

describe('status document from a snapshot', () => {
  it('a calm cluster: members with ages and round trips, items where placement wants them, healthy', () => {
    const doc = assembleStatus(snapshot());
    assert.equal(doc.version, 1);
    assert.equal(doc.server.id, 'flip');
    assert.equal(doc.server.uptime_ms, 10_000);
    assert.equal(doc.server.started_at, '2025-12-31T23:59:50.000Z');
    assert.deepEqual(doc.quorum, { size: 2, live: 3, reachable: true });
    const [flip1, flip] = doc.members;
    assert.equal(flip1!.last_heard_ago_ms, 100);
    assert.equal(flip1!.rtt_ms, 0.5);
    assert.equal(flip!.self, true);
    assert.equal(flip!.last_heard_ago_ms, null);
    const ip = doc.systems[0]!;
    assert.deepEqual(
      ip.items.map((item) => [item.item, item.wanted_on, item.held_here, item.disagrees, item.script]),
      [
        ['192.168.0.1', 'flip1', false, false, 'idle'],
        ['192.168.0.2', 'flip', true, false, 'idle'],
      ],
    );
    assert.deepEqual(ip.items[1]!.last_run, { event: 'alive', ok: true, ago_ms: 1000, duration_ms: 12 });
    assert.equal(doc.healthy, true);
    assert.deepEqual(doc.problems, []);
    // JSON-safe: no Infinity, no Map.
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });

  it('a member down, a failing script and a disagreement each make it unhealthy, and say why', () => {
    const snap = snapshot({
      members: [
        member('flip1', 0, { state: 'down', reporters: ['flip', 'flip2'] }),
        member('flip', 1),
        member('flip2', 2),
      ],
      systems: [
        system({
          wanted: { flip1: [], flip: ['192.168.0.1', '192.168.0.2'] },
          desired_here: ['192.168.0.1', '192.168.0.2'],
          runner: {
            system: 'ip',
            plan: 4,
            phase: 'idle',
            next_plan_waiting: false,
            desired: ['192.168.0.1', '192.168.0.2'],
            held: ['192.168.0.2'],
            running: [],
            failed: [
              { item: '192.168.0.1', event: 'alive', attempts: 3, last_error: 'exit code 2: no such device' },
            ],
          },
        }),
      ],
    });
    const doc = assembleStatus(snap);
    assert.equal(doc.healthy, false);
    assert.deepEqual(doc.members[0]!.reports_against, ['flip', 'flip2']);
    const item = doc.systems[0]!.items[0]!;
    assert.equal(item.script, 'failing');
    assert.equal(item.disagrees, true);
    assert.equal(item.last_error, 'exit code 2: no such device');
    assert.equal(item.failures, 3);
    assert.ok(doc.problems.some((problem) => /member flip1 is down/.test(problem)));
    assert.ok(doc.problems.some((problem) => /192\.168\.0\.1: alive script failing/.test(problem)));
    const text = renderStatus(doc, PLAIN);
    assert.match(text, /192\.168\.0\.1✗/);
    assert.match(text, /NOT healthy/);
    assert.match(renderMembers(doc, PLAIN), /flip1\s+127\.0\.0\.1:2200\s+down/);
  });

  it('a held item this server is not to hold is marked once no plan is on its way', () => {
    const busy = system({ wanted: { flip1: ['192.168.0.1', '192.168.0.2'], flip: [] }, desired_here: [] });
    const doc = assembleStatus(snapshot({ systems: [busy] }));
    const item = doc.systems[0]!.items[1]!;
    assert.equal(item.disagrees, true);
    assert.ok(doc.problems.some((problem) => /held here but wanted elsewhere/.test(problem)));
    assert.match(renderStatus(doc, PLAIN), /192\.168\.0\.2!/);
  });

  it('colour only on a terminal, and never with NO_COLOR', () => {
    assert.equal(paintFor({ isTTY: true }, {}), COLOUR);
    assert.equal(paintFor({ isTTY: true }, { NO_COLOR: '1' }), PLAIN);
    assert.equal(paintFor({ isTTY: false }, {}), PLAIN);
    assert.equal(paintFor({}, {}), PLAIN);
    assert.ok(renderStatus(assembleStatus(snapshot()), COLOUR).includes(String.fromCharCode(27)));
  });

  it('health: 200-worthy with a quorum, not without one or while leaving', () => {
    assert.equal(healthDoc(snapshot()).ok, true);
    const lost = healthDoc(snapshot({ quorum_reachable: false }));
    assert.deepEqual([lost.ok, lost.reason], [false, 'no quorum reachable']);
    assert.equal(healthDoc(snapshot({ leaving: true })).ok, false);
    assert.equal(assembleStatus(snapshot({ quorum_reachable: false })).healthy, false);
  });
});

describe('server-sent events parser', () => {
  it('splits events across chunks, joins data lines, skips comments', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('retry: 2000\n\n: keep-alive\n\nid: 1\nevent: member\nda'), []);
    const events = parser.push('ta: {"a":1}\n\nid: 2\r\ndata: x\r\ndata: y\r\n\r\n');
    assert.deepEqual(events, [
      { id: '1', event: 'member', data: '{"a":1}' },
      { id: '2', event: undefined, data: 'x\ny' },
    ]);
  });
});
