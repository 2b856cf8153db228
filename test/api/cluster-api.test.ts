/**
 * Three real agents on 127.0.0.1, each serving its API on the default (loopback, the TCP port of
 * its UDP port's number): every endpoint over real HTTP, the event stream reporting a SIGKILLed
 * agent down, and `flip status` / `flip members` with their exit statuses.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ApiClient, fetchAgain } from '../../src/api/client.js';
import type { EventDoc, EventsDoc, HealthDoc, StatusDoc } from '../../src/api/types.js';
import { EXIT_OK, EXIT_UNHEALTHY, EXIT_UNREACHABLE } from '../../src/cli/exit-codes.js';
import { freeUdpPorts, LoopbackCluster } from '../../src/demo/loopback-cluster.js';
import { LOOPBACK_TIMING } from '../../src/testing/timing.js';
import { waitFor } from '../../src/testing/wait.js';
import { CLI, ROOT, runFlip } from '../helpers/flip-cli.js';
import { parsePrometheus } from '../helpers/prometheus-parser.js';

const README = join(ROOT, 'examples/readme.json');
const FLIP_COMMAND = [process.execPath, '--import', 'tsx', CLI];
const WAIT_MS = 20_000;

describe('the API of a real 3-agent loopback cluster', { timeout: 120_000 }, () => {
  let cluster: LoopbackCluster | undefined;
  after(async () => {
    await cluster?.close(3_000);
  });

  it('serves health, status, events (JSON and a live stream) and metrics; flip status tells the health', async () => {
    cluster = await LoopbackCluster.create({
      configFile: README,
      overrides: { ...LOOPBACK_TIMING, hold_down: 0 },
      flipCommand: FLIP_COMMAND,
    });
    const c = cluster;
    for (const id of c.ids) c.start(id);
    const port = (id: string) => c.config.servers.find((server) => server.id === id)!.port;
    const base = `http://127.0.0.1:${port('flip')}`;
    const client = new ApiClient({ base });
    const status = async () => (await client.getJson<StatusDoc>('/v1/status')).body;

    // All up: the README split, seen through flip's API.
    const healthy = await waitFor(
      async () => {
        try {
          const doc = await status();
          const ip = doc.systems[0]!;
          // Every peer answered a probe of flip's already (a round trip known for each).
          const rtts = doc.members.every((member) => member.self || member.rtt_ms !== null);
          return doc.healthy && rtts && ip.held_here.join() === '192.168.0.2' ? doc : undefined;
        } catch {
          return undefined;
        }
      },
      { what: 'a healthy cluster through the API', timeoutMs: WAIT_MS },
    );
    assert.deepEqual(
      healthy.members.map((member) => [member.id, member.state]),
      [
        ['flip1', 'alive'],
        ['flip', 'alive'],
        ['flip2', 'alive'],
      ],
    );
    assert.ok(healthy.members.every((member) => member.self || member.last_heard_ago_ms! < 5_000));
    assert.deepEqual(healthy.systems[0]!.wanted, { flip1: ['192.168.0.1'], flip: ['192.168.0.2'] });
    assert.equal(healthy.quorum.reachable, true);

    const health = await client.getJson<HealthDoc>('/v1/health');
    assert.deepEqual([health.status, health.body.ok, health.body.members_live], [200, true, 3]);

    // Every agent serves its own API on its own port.
    for (const id of ['flip1', 'flip2']) {
      const other = await new ApiClient({ base: `http://127.0.0.1:${port(id)}` }).getJson<StatusDoc>(
        '/v1/status',
      );
      assert.equal(other.body.server.id, id);
    }

    const events = (await client.getJson<EventsDoc>('/v1/events?since=0')).body;
    assert.ok(events.events.some((event) => event.type === 'plan'));
    assert.ok(
      events.events.some((event) => event.type === 'script' && event.item === '192.168.0.2' && event.ok),
    );
    const later = (await client.getJson<EventsDoc>(`/v1/events?since=${events.last_id}`)).body;
    assert.ok(later.events.every((event) => event.id > events.last_id));

    const metrics = await fetchAgain(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    const families = parsePrometheus(await metrics.text());
    assert.equal(families.get('flip_members')!.samples.find((s) => s.labels.state === 'alive')!.value, 3);
    assert.ok(families.get('flip_packets_received_total')!.samples[0]!.value > 0);
    assert.ok(
      families.get('flip_probe_rtt_seconds')!.samples.find((s) => s.name.endsWith('_count'))!.value > 0,
    );

    // 4xx over the wire.
    for (const [path, method, code] of [
      ['/v1/nothing', 'GET', 404],
      ['/v1/status', 'PUT', 405],
      ['/v1/events?since=-3', 'GET', 400],
    ] as const) {
      const answer = await fetchAgain(`${base}${path}`, { method });
      assert.equal(answer.status, code, path);
      assert.equal(((await answer.json()) as { error: { status: number } }).error.status, code);
    }

    // The CLI against the healthy cluster: JSON, tables, exit 0.
    const json = runFlip(['status', '--api', base, '--json']);
    assert.equal(json.status, EXIT_OK, json.stderr);
    assert.equal((JSON.parse(json.stdout) as StatusDoc).healthy, true);
    const members = runFlip(['members', '--config', c.configFile('flip2')]);
    assert.equal(members.status, EXIT_OK, members.stderr);
    assert.match(members.stdout, /flip2\s+\S+\s+alive \(this\)/);
    assert.ok(!members.stdout.includes(String.fromCharCode(27)), 'no colour when not a terminal');
    const table = runFlip(['status', '--api', base]);
    assert.match(table.stdout, /flip \(this\)\s+192\.168\.0\.2\s+192\.168\.0\.2/);
    assert.match(table.stdout, /^healthy$/m);

    // A live stream from flip; flip1 is SIGKILLed; the stream reports it down.
    const seen: EventDoc[] = [];
    const stop = new AbortController();
    const following = client.follow((event) => seen.push(event), stop.signal);
    c.signal('flip1', 'SIGKILL');
    await c.waitExit('flip1');
    const down = await waitFor(
      () => seen.find((event) => event.type === 'member' && event.member === 'flip1' && event.to === 'down'),
      { what: 'flip1 down on the event stream', timeoutMs: WAIT_MS },
    );
    assert.ok(down.id > events.last_id);
    await waitFor(
      () =>
        seen.find(
          (event) =>
            event.type === 'script' && event.item === '192.168.0.1' && event.event === 'alive' && event.ok,
        ),
      { what: "flip takes flip1's item (on the stream)", timeoutMs: WAIT_MS },
    );
    stop.abort();
    await following;

    // Not healthy now (a member is down): the status says so and exits 3.
    const unhealthy = runFlip(['status', '--api', base, '--json']);
    assert.equal(unhealthy.status, EXIT_UNHEALTHY, unhealthy.stderr);
    const doc = JSON.parse(unhealthy.stdout) as StatusDoc;
    assert.equal(doc.healthy, false);
    assert.ok(doc.problems.includes('member flip1 is down'));
    assert.deepEqual(doc.systems[0]!.held_here, ['192.168.0.1', '192.168.0.2']);
    const after = parsePrometheus(await (await fetchAgain(`${base}/metrics`)).text());
    assert.equal(after.get('flip_members')!.samples.find((s) => s.labels.state === 'down')!.value, 1);
    // flip1's detection is counted; under a loaded CI machine a live member may also be declared
    // down for a moment (and refute it), which counts a detection of its own.
    assert.ok(
      after.get('flip_detection_seconds')!.samples.find((s) => s.name.endsWith('_count'))!.value >= 1,
    );
    assert.equal(after.get('flip_failovers_total')!.samples[0]!.value, 1);
    // Two of three live: still a quorum, so health stays 200.
    assert.equal((await fetchAgain(`${base}/v1/health`)).status, 200);

    // An API nobody serves: one line, no stack, exit 4.
    const [closed] = await freeUdpPorts(1);
    const gone = runFlip(['status', '--api', `http://127.0.0.1:${closed}`]);
    assert.equal(gone.status, EXIT_UNREACHABLE);
    assert.match(
      gone.stderr,
      /^flip: cannot reach the flip API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/,
    );
  });
});
