/**
 * LeaseKeeper against small fake lease programs (test/fixtures/scripts/lease-*): the protocol,
 * the deadline's conversion, ordering, stalls, restarts and stopping. No root needed; the real
 * vip-lease is tested on real interfaces in test/netns/lease.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DatagramSender, parseDatagramsReply } from '../../src/executor/lease-datagrams.js';
import {
  LEASE_DATAGRAM_DEFAULTS,
  LEASE_KEEPER_DEFAULTS,
  LeaseKeeper,
  type LeaseKeeperEvent,
  type LeaseKeeperOptions,
  type LeaseProgram,
  readUptimeMs,
  UPTIME_RESOLUTION_MS,
  uptimeDeadlineMs,
} from '../../src/executor/lease-keeper.js';
import { sleep, waitFor } from '../../src/testing/wait.js';
import { script } from './scripts.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flip-lease-keeper-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const CONFIG = '{"interface":"eth0","prefix":24}';

function program(name: string, env: Record<string, string> = {}): LeaseProgram {
  return { program: script(name), config_json: CONFIG, system: 'vip', node: 'flip1', env };
}

/** A keeper whose events are collected; stopped by the caller. */
function keeper(
  name: string,
  env: Record<string, string> = {},
  options: LeaseKeeperOptions = {},
): { keeper: LeaseKeeper; events: LeaseKeeperEvent[] } {
  const events: LeaseKeeperEvent[] = [];
  const k = new LeaseKeeper(program(name, env), {
    restart_backoff_ms_min: 50,
    restart_backoff_ms_max: 400,
    ...options,
    onEvent: (event) => events.push(event),
  });
  return { keeper: k, events };
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** No process of the group is left (zombies count as gone). */
function groupGone(pgid: number): boolean {
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return false;
  }
  return true;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('executor: uptimeDeadlineMs', () => {
  it('moves the deadline onto the uptime clock, rounded down and one uptime step early', () => {
    const cases: Array<[deadline: number, now: number, uptime: number, expected: number]> = [
      [1500, 1000, 50_000, 50_490],
      [1000.9, 1000, 50_000, 49_990],
      [1000, 1000, 50_000, 49_990],
      // Already past: still sent, and the program answers `stale`.
      [900, 1000, 50_000, 49_890],
      // Never below 0.
      [0, 100_000, 50, 0],
    ];
    for (const [deadline, now, uptime, expected] of cases)
      assert.equal(uptimeDeadlineMs(deadline, now, uptime), expected, `${deadline} ${now} ${uptime}`);
    assert.equal(UPTIME_RESOLUTION_MS, 10);
  });

  it('reads /proc/uptime in ms', () => {
    const first = readUptimeMs();
    assert.ok(Number.isInteger(first) && first > 0);
    assert.equal(first % 10, 0);
    assert.ok(readUptimeMs() >= first);
  });
});

describe('executor: LeaseKeeper', () => {
  it('starts the program with the config and FLIP_ variables, and renews', async () => {
    const record = join(dir, 'start.rec');
    const { keeper: k, events } = keeper('lease-echo', { FLIP_TEST_RECORD: record });
    try {
      const result = await k.renew(['10.0.0.1', '10.0.0.2'], performance.now() + 5000);
      assert.deepEqual(result, { status: 'ok', renewed: 2 });
      assert.equal(
        lines(record)[0],
        `start 1 ${CONFIG} EVENT=lease SYSTEM=vip NODE=flip1 CONFIG=${CONFIG} LIFETIME=1`,
      );
      assert.match(lines(record)[1]!, /^renew 1 \d+ 10\.0\.0\.1 10\.0\.0\.2$/);
      assert.equal(events[0]?.type, 'started');
      assert.equal(k.pid, (events[0] as { pid: number }).pid);
    } finally {
      await k.stop();
    }
  });

  it('sends the deadline on the /proc/uptime clock: a past one comes back stale', async () => {
    const record = join(dir, 'deadline.rec');
    const { keeper: k } = keeper('lease-echo', { FLIP_TEST_RECORD: record });
    try {
      const before = readUptimeMs();
      const ok = await k.renew(['a'], performance.now() + 3000);
      const after = readUptimeMs();
      assert.deepEqual(ok, { status: 'ok', renewed: 1 });
      const sent = Number(lines(record)[1]!.split(' ')[2]);
      // Earlier is the safe side (a pause between the keeper's two clock reads, on a loaded host,
      // moves it earlier by that pause): bounded loosely below, strictly above.
      assert.ok(sent >= before + 3000 - 2 * UPTIME_RESOLUTION_MS - 500, `${sent} vs ${before}`);
      assert.ok(sent <= after + 3000, `${sent} vs ${after}`);
      assert.deepEqual(await k.renew(['a'], performance.now() - 100), { status: 'stale' });
    } finally {
      await k.stop();
    }
  });

  it('answers requests in order, several in flight, and sync after all of them', async () => {
    const record = join(dir, 'order.rec');
    const { keeper: k } = keeper('lease-echo', { FLIP_TEST_RECORD: record, FLIP_TEST_DELAY_S: '0.05' });
    try {
      const order: string[] = [];
      const deadline = performance.now() + 10_000;
      const renewals = [['a'], ['a', 'b'], ['a', 'b', 'c']].map((items, i) =>
        k.renew(items, deadline).then((result) => {
          order.push(`renew${i}`);
          return result;
        }),
      );
      const synced = k.sync().then(() => order.push('sync'));
      const results = await Promise.all(renewals);
      await synced;
      assert.deepEqual(
        results.map((result) => (result.status === 'ok' ? result.renewed : result.status)),
        [1, 2, 3],
      );
      assert.deepEqual(order, ['renew0', 'renew1', 'renew2', 'sync']);
      assert.deepEqual(
        lines(record)
          .slice(1)
          .map((line) => line.split(' ').slice(0, 2).join(' ')),
        ['renew 1', 'renew 2', 'renew 3', 'sync 4'],
      );
    } finally {
      await k.stop();
    }
  });

  it('kills the whole group of a program that stops answering, and resolves its requests as killed', async () => {
    const pidfile = join(dir, 'hang.pid');
    const { keeper: k, events } = keeper(
      'lease-hang',
      { FLIP_TEST_PIDFILE: pidfile },
      { stall_ms: 300, start_grace_ms: 0 },
    );
    try {
      const started = performance.now();
      const pending = [k.renew(['a'], started + 5000), k.renew(['b'], started + 5000)];
      const synced = k.sync();
      const child = await waitFor(() => {
        const text = lines(pidfile)[0];
        return text === undefined ? false : Number(text);
      });
      const pid = k.pid!;
      assert.ok(alive(child));
      assert.deepEqual(await Promise.all(pending), [{ status: 'killed' }, { status: 'killed' }]);
      await synced;
      const took = performance.now() - started;
      assert.ok(took >= 300 && took < 3000, `resolved after ${took} ms`);
      // Resolved only once nothing of the group is left.
      assert.equal(alive(child), false, 'the child survived');
      assert.ok(groupGone(pid));
      const types = events.map((event) => event.type);
      assert.deepEqual(types, ['started', 'stalled', 'exited']);
      const stalled = events[1] as Extract<LeaseKeeperEvent, { type: 'stalled' }>;
      assert.equal(stalled.pending, 3);
      assert.ok(stalled.waited_ms >= 300);
      const exited = events[2] as Extract<LeaseKeeperEvent, { type: 'exited' }>;
      assert.equal(exited.signal, 'SIGKILL');
      assert.equal(exited.expected, false);
      assert.equal(k.pid, undefined);
    } finally {
      await k.stop();
    }
  });

  it('gives a just started program start_grace_ms more for its first reply, not for later ones', async () => {
    const { keeper: k, events } = keeper(
      'lease-echo',
      { FLIP_TEST_DELAY_S: '0.3' },
      { stall_ms: 150, start_grace_ms: 1000 },
    );
    try {
      assert.deepEqual(await k.renew(['a'], performance.now() + 5000), { status: 'ok', renewed: 1 });
      assert.deepEqual(await k.renew(['a'], performance.now() + 5000), { status: 'killed' });
      assert.deepEqual(
        events.map((event) => event.type),
        ['started', 'stalled', 'exited'],
      );
    } finally {
      await k.stop();
    }
  });

  it('restarts a program that exited, after a back-off, on the next request', async () => {
    const record = join(dir, 'restart.rec');
    const { keeper: k, events } = keeper('lease-echo', {
      FLIP_TEST_RECORD: record,
      FLIP_TEST_EXIT_AFTER: '2',
    });
    try {
      const deadline = () => performance.now() + 5000;
      assert.deepEqual(await k.renew(['a'], deadline()), { status: 'ok', renewed: 1 });
      // The second request makes it exit 3 without an answer.
      assert.deepEqual(await k.renew(['a'], deadline()), { status: 'killed' });
      const exited = events.find((event) => event.type === 'exited');
      assert.ok(exited?.type === 'exited' && exited.code === 3 && exited.retry_in_ms === 50);
      // Within the back-off nothing starts...
      const refused = await k.renew(['a'], deadline());
      assert.equal(refused.status, 'unavailable');
      assert.equal(events.filter((event) => event.type === 'started').length, 1);
      // ...after it, the next request starts the program again.
      await sleep(80);
      assert.deepEqual(await k.renew(['a', 'b'], deadline()), { status: 'ok', renewed: 2 });
      assert.equal(events.filter((event) => event.type === 'started').length, 2);
      assert.equal(lines(record).filter((line) => line.startsWith('start')).length, 2);
    } finally {
      await k.stop();
    }
  });

  it('reports a program that cannot start, never throws, and backs off', async () => {
    const events: LeaseKeeperEvent[] = [];
    const k = new LeaseKeeper(
      { program: join(dir, 'missing-program'), config_json: CONFIG, system: 'vip', node: 'flip1' },
      { restart_backoff_ms_min: 100, onEvent: (event) => events.push(event) },
    );
    const first = await k.renew(['a'], performance.now() + 1000);
    assert.equal(first.status, 'unavailable');
    const failed = await waitFor(() => events.find((event) => event.type === 'start_failed'));
    assert.ok(failed.type === 'start_failed');
    assert.match(failed.message, /not found|ENOENT/);
    assert.equal(failed.retry_in_ms, 100);
    const second = await k.renew(['a'], performance.now() + 1000);
    assert.ok(second.status === 'unavailable' && /restarted in/.test(second.reason), JSON.stringify(second));
    assert.equal(events.filter((event) => event.type === 'start_failed').length, 1);
    await k.stop();
  });

  it('stop closes stdin: the program sees end of input and exits by itself', async () => {
    const record = join(dir, 'eof.rec');
    const { keeper: k, events } = keeper('lease-echo', { FLIP_TEST_RECORD: record });
    assert.deepEqual(await k.renew(['a'], performance.now() + 5000), { status: 'ok', renewed: 1 });
    const pid = k.pid!;
    await k.stop();
    assert.equal(lines(record).at(-1), 'eof');
    const exited = events.at(-1);
    assert.ok(exited?.type === 'exited');
    assert.equal(exited.code, 0);
    assert.equal(exited.expected, true);
    assert.ok(groupGone(pid));
    const after = await k.renew(['a'], performance.now() + 5000);
    assert.deepEqual(after, { status: 'unavailable', reason: 'stopped' });
    await k.sync();
    await k.stop();
  });

  it('stop kills a program that ignores end of input after stop_wait_ms', async () => {
    const pidfile = join(dir, 'stop.pid');
    const { keeper: k, events } = keeper('lease-hang', { FLIP_TEST_PIDFILE: pidfile }, { stop_wait_ms: 200 });
    assert.ok(k.start());
    const child = await waitFor(() => {
      const text = lines(pidfile)[0];
      return text === undefined ? false : Number(text);
    });
    const started = performance.now();
    await k.stop();
    const took = performance.now() - started;
    assert.ok(took >= 190 && took < 3000, `stopped after ${took} ms`);
    assert.equal(alive(child), false);
    const exited = events.at(-1);
    assert.ok(exited?.type === 'exited' && exited.signal === 'SIGKILL' && exited.expected);
  });

  it('kills a program whose reply does not answer the oldest request', async () => {
    const { keeper: k, events } = keeper('lease-garbage');
    try {
      assert.deepEqual(await k.renew(['a'], performance.now() + 5000), { status: 'killed' });
      const bad = events.find((event) => event.type === 'bad_reply');
      assert.ok(bad?.type === 'bad_reply' && bad.line === 'ok 999999 1');
    } finally {
      await k.stop();
    }
  });

  it("reports the program's stderr line by line", async () => {
    const { keeper: k, events } = keeper('lease-echo', { FLIP_TEST_STDERR: 'first warning\nsecond warning' });
    try {
      await k.renew(['a'], performance.now() + 5000);
      const stderr = await waitFor(() => {
        const found = events.filter((event) => event.type === 'stderr');
        return found.length === 2 ? found : false;
      });
      assert.deepEqual(
        stderr.map((event) => (event.type === 'stderr' ? [event.line, event.dropped] : [])),
        [
          ['first warning', 0],
          ['second warning', 0],
        ],
      );
    } finally {
      await k.stop();
    }
  });

  it('refuses items that the protocol cannot carry, and needs no program for none', async () => {
    const { keeper: k, events } = keeper('lease-echo');
    for (const item of ['a b', 'a\nb', '', 'tab\t']) {
      assert.throws(() => k.renew([item], performance.now() + 1000), TypeError);
    }
    assert.throws(() => k.renew(['a'], Number.NaN), TypeError);
    assert.deepEqual(await k.renew([], performance.now() + 1000), { status: 'ok', renewed: 0 });
    await k.sync();
    assert.deepEqual(events, []);
    await k.stop();
  });

  it('has defaults that match the contract', () => {
    assert.equal(LEASE_KEEPER_DEFAULTS.stall_ms, 1000);
  });
});

/** A sender that records each datagram and answers as `ok` says; `hold` keeps the sends pending until released. */
class FakeSender implements DatagramSender {
  sent: Array<{ address: string; port: number; payload: string }> = [];
  held: Array<() => void> = [];
  hold = false;
  closed = false;
  constructor(readonly ok: (address: string) => boolean = () => true) {}
  open(): Promise<void> {
    return Promise.resolve();
  }
  send(address: string, port: number, payload: Buffer): Promise<boolean> {
    this.sent.push({ address, port, payload: payload.toString('hex') });
    const result = this.ok(address);
    if (!this.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.held.push(() => resolve(result)));
  }
  close(): void {
    this.closed = true;
  }
}

describe('executor: LeaseKeeper, renewal by datagram', () => {
  const TOKEN = '0x0102030405060708';

  it('parses the reply to `datagrams`', () => {
    assert.deepEqual(parseDatagramsReply('9 0x00ff00ff00ff00ff'), {
      port: 9,
      token: Buffer.from('00ff00ff00ff00ff', 'hex'),
    });
    assert.equal(parseDatagramsReply('0'), 'none');
    for (const bad of [
      undefined,
      '',
      '9',
      '0 0x0102030405060708',
      '70000 0x0102030405060708',
      '9 0x0102',
      '9 0xZZ02030405060708',
    ])
      assert.equal(parseDatagramsReply(bad), undefined, String(bad));
  });

  it('asks at start; between requests a round is datagrams to the items, a request once a second or for a new item', async () => {
    const record = join(dir, 'datagrams.rec');
    const sender = new FakeSender((address) => address !== '10.0.0.9');
    const { keeper: k, events } = keeper(
      'lease-echo',
      { FLIP_TEST_RECORD: record, FLIP_TEST_DATAGRAMS: `9 ${TOKEN}` },
      { datagrams: { lifetime_s: 2, request_every_ms: 300, gap_ms: 650, sender: () => sender } },
    );
    try {
      const deadline = () => performance.now() + 5000;
      assert.deepEqual(await k.renew(['10.0.0.1', '10.0.0.2'], deadline()), { status: 'ok', renewed: 2 });
      assert.deepEqual(
        lines(record)
          .slice(1)
          .map((line) => line.split(' ')[0]),
        ['datagrams', 'renew'],
      );
      assert.equal(lines(record)[1], 'datagrams 1 2');
      assert.ok(events.some((event) => event.type === 'datagrams' && event.port === 9));
      // Within request_every_ms, the same items (or fewer): datagrams only.
      assert.deepEqual(await k.renew(['10.0.0.1', '10.0.0.2'], deadline()), { status: 'ok', renewed: 2 });
      assert.deepEqual(await k.renew(['10.0.0.2'], deadline()), { status: 'ok', renewed: 1 });
      assert.equal(lines(record).length, 3, 'no request for them');
      assert.deepEqual(sender.sent, [
        { address: '10.0.0.1', port: 9, payload: '0102030405060708' },
        { address: '10.0.0.2', port: 9, payload: '0102030405060708' },
        { address: '10.0.0.2', port: 9, payload: '0102030405060708' },
      ]);
      // A past deadline: stale, and nothing sent.
      assert.deepEqual(await k.renew(['10.0.0.1'], performance.now() - 1), { status: 'stale' });
      assert.equal(sender.sent.length, 3);
      // A new item: a request.
      await k.renew(['10.0.0.1', '10.0.0.3'], deadline());
      assert.match(lines(record).at(-1)!, /^renew 3 \d+ 10\.0\.0\.1 10\.0\.0\.3$/);
      // A send the kernel refused counts as not renewed.
      await k.renew(['10.0.0.1', '10.0.0.3'], deadline());
      assert.equal(sender.sent.length, 5);
      // request_every_ms after the last request: a request again.
      await sleep(350);
      await k.renew(['10.0.0.1', '10.0.0.3'], deadline());
      assert.match(lines(record).at(-1)!, /^renew 4 /);
      assert.equal(sender.sent.length, 5);
      // An alive just put an item on the host: the next round is a request too.
      k.renewAgain();
      await k.renew(['10.0.0.1', '10.0.0.3'], deadline());
      assert.match(lines(record).at(-1)!, /^renew 5 /);
      assert.equal(sender.sent.length, 5);
      assert.equal(k.lifetime_s, 2, 'scripts add addresses with the lifetime of datagrams');
    } finally {
      await k.stop();
    }
    assert.equal(sender.closed, true, 'stop closes the sockets');
  });

  it('asks the program, not the kernel, for an item last renewed more than gap_ms ago (its element may have lapsed)', async () => {
    const record = join(dir, 'gap.rec');
    const sender = new FakeSender((address) => address !== '10.0.0.9');
    let skew = 0;
    const now = () => performance.now() + skew;
    const { keeper: k } = keeper(
      'lease-echo',
      { FLIP_TEST_RECORD: record, FLIP_TEST_DATAGRAMS: `9 ${TOKEN}` },
      { now, datagrams: { lifetime_s: 10, request_every_ms: 4000, gap_ms: 650, sender: () => sender } },
    );
    const requests = () => lines(record).filter((line) => line.startsWith('renew ')).length;
    try {
      const deadline = () => now() + 5000;
      await k.renew(['10.0.0.1', '10.0.0.2'], deadline());
      assert.equal(requests(), 1);
      // Renewed 600 ms apart, each within gap_ms of the one before: datagrams.
      for (let round = 0; round < 3; round++) {
        skew += 600;
        assert.deepEqual(await k.renew(['10.0.0.1', '10.0.0.2'], deadline()), { status: 'ok', renewed: 2 });
      }
      assert.equal(requests(), 1, 'datagrams while each item was renewed within gap_ms');
      assert.equal(sender.sent.length, 6);
      // A stall: 700 ms since the last renewal, well within request_every_ms of the request.
      skew += 700;
      await k.renew(['10.0.0.1', '10.0.0.2'], deadline());
      assert.equal(requests(), 2, 'a request puts back elements that may have lapsed');
      assert.equal(sender.sent.length, 6);
      // An item left out of a round for longer than gap_ms comes back by request.
      skew += 100;
      await k.renew(['10.0.0.1', '10.0.0.2'], deadline());
      for (let round = 0; round < 2; round++) {
        skew += 400;
        await k.renew(['10.0.0.1'], deadline());
      }
      assert.equal(requests(), 2);
      skew += 100;
      await k.renew(['10.0.0.1', '10.0.0.2'], deadline());
      assert.equal(requests(), 3, '10.0.0.2 was last renewed 900 ms before');
      // A datagram the kernel refused renews nothing: that item's next round is a request.
      await k.renew(['10.0.0.1', '10.0.0.9'], deadline());
      assert.equal(requests(), 4, 'a new item');
      skew += 100;
      await k.renew(['10.0.0.1', '10.0.0.9'], deadline());
      assert.equal(requests(), 4);
      skew += 600;
      await k.renew(['10.0.0.1', '10.0.0.9'], deadline());
      assert.equal(requests(), 5, 'the refused datagram did not renew 10.0.0.9');
    } finally {
      await k.stop();
    }
  });

  it('asks the program again while an item it renewed is not on the host (an alive still adding it)', async () => {
    const record = join(dir, 'missing.rec');
    const sender = new FakeSender();
    const { keeper: k } = keeper(
      'lease-echo',
      { FLIP_TEST_RECORD: record, FLIP_TEST_DATAGRAMS: `9 ${TOKEN}`, FLIP_TEST_MISSING: '10.0.0.2' },
      { datagrams: { lifetime_s: 2, request_every_ms: 1000, gap_ms: 650, sender: () => sender } },
    );
    try {
      for (let round = 0; round < 3; round++)
        assert.deepEqual(await k.renew(['10.0.0.1', '10.0.0.2'], performance.now() + 5000), {
          status: 'ok',
          renewed: 1,
        });
      assert.deepEqual(
        lines(record)
          .slice(1)
          .map((line) => line.split(' ')[0]),
        ['datagrams', 'renew', 'renew', 'renew'],
      );
      assert.equal(sender.sent.length, 0);
    } finally {
      await k.stop();
    }
  });

  it('counts the items whose datagram the kernel refused as not renewed', async () => {
    const sender = new FakeSender((address) => address !== '10.0.0.9');
    const { keeper: k } = keeper(
      'lease-echo',
      { FLIP_TEST_DATAGRAMS: `9 ${TOKEN}` },
      { datagrams: { lifetime_s: 2, request_every_ms: 1000, gap_ms: 650, sender: () => sender } },
    );
    try {
      await k.renew(['10.0.0.1', '10.0.0.9'], performance.now() + 5000);
      assert.deepEqual(await k.renew(['10.0.0.1', '10.0.0.9'], performance.now() + 5000), {
        status: 'ok',
        renewed: 1,
      });
    } finally {
      await k.stop();
    }
  });

  it('sync waits for datagrams still being sent', async () => {
    const sender = new FakeSender();
    const { keeper: k } = keeper(
      'lease-echo',
      { FLIP_TEST_DATAGRAMS: `9 ${TOKEN}` },
      { datagrams: { lifetime_s: 2, request_every_ms: 1000, gap_ms: 650, sender: () => sender } },
    );
    try {
      await k.renew(['10.0.0.1'], performance.now() + 5000);
      sender.hold = true;
      void k.renew(['10.0.0.1'], performance.now() + 5000);
      let synced = false;
      const sync = k.sync().then(() => {
        synced = true;
      });
      await sleep(100);
      assert.equal(synced, false, 'a datagram is still on its way');
      for (const release of sender.held) release();
      await sync;
      assert.equal(synced, true);
    } finally {
      await k.stop();
    }
  });

  it('renews by request only when the program does not know `datagrams`, or says 0', async () => {
    for (const answer of [undefined, '0']) {
      const record = join(dir, `no-datagrams-${answer ?? 'old'}.rec`);
      const sender = new FakeSender();
      const env: Record<string, string> = { FLIP_TEST_RECORD: record };
      if (answer !== undefined) env.FLIP_TEST_DATAGRAMS = answer;
      const { keeper: k, events } = keeper('lease-echo', env, {
        datagrams: { lifetime_s: 2, request_every_ms: 1000, gap_ms: 650, sender: () => sender },
      });
      try {
        for (let round = 0; round < 3; round++) await k.renew(['10.0.0.1'], performance.now() + 5000);
        assert.deepEqual(
          lines(record)
            .slice(1)
            .map((line) => line.split(' ')[0]),
          ['datagrams', 'renew', 'renew', 'renew'],
          String(answer),
        );
        assert.equal(sender.sent.length, 0);
        assert.equal(k.lifetime_s, 1, "the program's own lifetime");
        assert.ok(events.some((event) => event.type === 'datagrams' && event.port === undefined));
        assert.ok(!events.some((event) => event.type === 'bad_reply'));
      } finally {
        await k.stop();
      }
    }
  });

  it('kills a program whose answer to `datagrams` is malformed', async () => {
    const { keeper: k, events } = keeper(
      'lease-echo',
      { FLIP_TEST_DATAGRAMS: '9 0x12' },
      { datagrams: { lifetime_s: 2, request_every_ms: 1000, gap_ms: 650, sender: () => new FakeSender() } },
    );
    try {
      assert.deepEqual(await k.renew(['10.0.0.1'], performance.now() + 5000), { status: 'killed' });
      assert.ok(events.some((event) => event.type === 'bad_reply' && event.line === 'ok 1 9 0x12'));
    } finally {
      await k.stop();
    }
  });

  it('refuses a lifetime shorter than two request intervals', () => {
    assert.throws(
      () =>
        new LeaseKeeper(program('lease-echo'), {
          datagrams: { lifetime_s: 1, request_every_ms: 600, gap_ms: 650 },
        }),
      RangeError,
    );
    assert.ok(LEASE_DATAGRAM_DEFAULTS.request_every_ms * 2 <= LEASE_DATAGRAM_DEFAULTS.lifetime_s * 1000);
  });
});
