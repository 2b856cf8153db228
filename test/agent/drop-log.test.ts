/**
 * Dropped packets are logged as rate-limited summaries at warning and rate-limited lines at
 * debug: checked on DropLog in virtual time, then once on a real agent fed garbage over UDP.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import {
  DropLog,
  type DropLogOptions,
  type DropSummary,
  PEER_AUTH_HINT,
  PEER_AUTH_WARNING_INTERVAL_MS,
  type PeerAuthWarning,
  PeerAuthWarnings,
  peerAuthWarningText,
} from '../../src/agent/drop-log.js';
import type { Message } from '../../src/membership/messages.js';
import { waitFor } from '../../src/testing/wait.js';
import type { DropReason } from '../../src/wire/drop-reasons.js';
import { DROP_REASONS } from '../../src/wire/drop-reasons.js';
import { PacketCodec } from '../../src/wire/packet.js';

interface Drop {
  at_ms: number;
  reason: DropReason;
  from: string;
}

interface Logged {
  summaries: (DropSummary & { at_ms: number })[];
  lines: { at_ms: number; suppressed: number }[];
}

/**
 * Plays drops (in time order) through a DropLog the way the agent does: the timer set for
 * nextWakeAt fires before any later drop, every drop may write a line and a due summary, and a
 * timer still set at the end fires too.
 */
function play(drops: Iterable<Drop>, options: DropLogOptions = {}): Logged & { log: DropLog } {
  const log = new DropLog(options);
  const logged: Logged = { summaries: [], lines: [] };
  const take = (now_ms: number) => {
    const summary = log.take(now_ms);
    if (summary) logged.summaries.push({ ...summary, at_ms: now_ms });
  };
  for (const drop of drops) {
    if (log.nextWakeAt() <= drop.at_ms) take(log.nextWakeAt());
    const line = log.record(drop.at_ms, drop.reason, drop.from);
    if (line) logged.lines.push({ at_ms: drop.at_ms, suppressed: line.suppressed });
    take(drop.at_ms);
  }
  if (log.nextWakeAt() < Number.POSITIVE_INFINITY) take(log.nextWakeAt());
  return { ...logged, log };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

const SENDERS = ['198.51.100.1:4000', '198.51.100.2:4000', '[2001:db8::3]:4000'];
const REASONS: DropReason[] = ['bad_magic', 'too_short', 'bad_tag'];

/** 120,000 drops evenly over 60 s, the senders and reasons taking turns. */
function* flood(): Generator<Drop> {
  for (let i = 0; i < 120_000; i++) yield { at_ms: i * 0.5, reason: REASONS[i % 3]!, from: SENDERS[i % 3]! };
}

describe('DropLog', () => {
  it('summarises a 60 s flood of 120,000 drops in at most 7 summaries that add up', () => {
    const { summaries } = play(flood());
    assert.ok(summaries.length <= 7, `${summaries.length} summaries`);
    assert.equal(sum(summaries.map((s) => s.total)), 120_000);
    for (const reason of REASONS) assert.equal(sum(summaries.map((s) => s.by_reason[reason] ?? 0)), 40_000);
    for (const sender of SENDERS) assert.equal(sum(summaries.map((s) => s.by_sender[sender] ?? 0)), 40_000);
    for (const summary of summaries) {
      assert.equal(summary.others, 0);
      assert.equal(summary.hint, undefined);
      assert.equal(sum(Object.values(summary.by_reason)), summary.total);
    }
    // The first drop is reported at once; after it, one summary per interval at most.
    assert.equal(summaries[0]!.at_ms, 0);
    assert.equal(summaries[0]!.total, 1);
    for (let i = 1; i < summaries.length; i++) {
      assert.ok(summaries[i]!.at_ms - summaries[i - 1]!.at_ms >= 10_000);
      assert.equal(summaries[i]!.window_ms, 10_000);
    }
  });

  it('allows at most 20 per-packet lines in any second, saying how many were left out', () => {
    const drops = [...flood()];
    const { lines } = play(drops);
    for (let i = 20; i < lines.length; i++) assert.ok(lines[i]!.at_ms - lines[i - 20]!.at_ms >= 1000);
    // 20 a second over 60 s, so not starved either.
    assert.equal(lines.length, 1200);
    assert.equal(lines[0]!.suppressed, 0);
    assert.ok(lines[20]!.suppressed > 0);
    // Every drop up to the last line was either a line or counted as left out.
    const last = lines.at(-1)!;
    const upToLast = drops.filter((drop) => drop.at_ms <= last.at_ms).length;
    assert.equal(lines.length + sum(lines.map((line) => line.suppressed)), upToLast);
  });

  it('keeps the sender map at its cap under 10,000 spoofed senders, counting the rest as others', () => {
    const peer = '10.0.0.2:7946';
    const drops: Drop[] = [{ at_ms: 0, reason: 'bad_magic', from: '203.0.113.0:1' }];
    for (let i = 0; i < 10_000; i++)
      drops.push({ at_ms: 1 + i * 0.1, reason: 'bad_magic', from: `10.${i >> 8}.${i & 255}.1:${1000 + i}` });
    drops.push({ at_ms: 1001, reason: 'unknown_key', from: peer });
    const { summaries } = play(drops, { peers: [peer] });
    assert.equal(summaries.length, 2);
    const flooded = summaries[1]!;
    assert.equal(flooded.total, 10_001);
    // The peer arrived after the map was full and is named all the same.
    assert.equal(Object.keys(flooded.by_sender).length, 21);
    assert.equal(flooded.by_sender[peer], 1);
    assert.equal(flooded.others, 10_000 - 20);
    assert.equal(sum(Object.values(flooded.by_sender)) + flooded.others, flooded.total);
    assert.equal(flooded.hint, PEER_AUTH_HINT);
  });

  it('lists senders largest first', () => {
    const drops: Drop[] = [
      { at_ms: 0, reason: 'too_short', from: 'a:1' },
      { at_ms: 1, reason: 'too_short', from: 'b:1' },
      { at_ms: 2, reason: 'too_short', from: 'c:1' },
      { at_ms: 3, reason: 'too_short', from: 'c:1' },
    ];
    const { summaries } = play(drops);
    assert.deepEqual(Object.keys(summaries[1]!.by_sender), ['c:1', 'b:1']);
  });

  it('logs nothing when nothing was dropped', () => {
    const log = new DropLog();
    for (const now_ms of [0, 10_000, 1e9]) assert.equal(log.take(now_ms), undefined);
    assert.equal(log.nextWakeAt(), Number.POSITIVE_INFINITY);
    assert.equal(log.flush(1e9), undefined);
    // Nor after a summary, until something is dropped again.
    log.record(5, 'bad_magic', 'a:1');
    assert.ok(log.take(5));
    assert.equal(log.nextWakeAt(), Number.POSITIVE_INFINITY);
    assert.equal(log.take(1e9), undefined);
  });

  it('summarises a single drop within 10 s: at once after a quiet interval', () => {
    const log = new DropLog();
    log.record(1000, 'bad_magic', 'a:1');
    assert.equal(log.nextWakeAt(), 1000);
    assert.deepEqual(log.take(1000), {
      total: 1,
      by_reason: { bad_magic: 1 },
      by_sender: { 'a:1': 1 },
      others: 0,
      window_ms: 0,
    });
    // 3 s after a summary: due 10 s after that summary, 7 s after the drop.
    log.record(4000, 'too_big', 'b:1');
    assert.equal(log.nextWakeAt(), 11_000);
    assert.equal(log.take(10_999), undefined);
    const second = log.take(11_000)!;
    assert.equal(second.total, 1);
    assert.equal(second.window_ms, 10_000);
    // A minute after the last summary: a whole interval was quiet, so it is due at once.
    log.record(71_000, 'replay', 'c:1');
    assert.equal(log.nextWakeAt(), 71_000);
    assert.equal(log.take(71_000)!.by_reason.replay, 1);
  });

  it('gives a pending summary on flush, due or not', () => {
    const log = new DropLog();
    log.record(0, 'bad_magic', 'a:1');
    log.take(0);
    log.record(100, 'bad_magic', 'a:1');
    assert.equal(log.take(200), undefined);
    const summary = log.flush(200)!;
    assert.equal(summary.total, 1);
    assert.equal(summary.window_ms, 200);
    assert.equal(log.nextWakeAt(), Number.POSITIVE_INFINITY);
  });

  it("hints at a wrong key only for configured peers' unknown_key and bad_tag drops", () => {
    const peer = '192.0.2.2:7946';
    const hinted = (reason: DropReason, from: string) => {
      const log = new DropLog({ peers: [peer] });
      log.record(0, reason, from);
      return log.take(0)!.hint;
    };
    assert.equal(hinted('unknown_key', peer), PEER_AUTH_HINT);
    assert.equal(hinted('bad_tag', peer), PEER_AUTH_HINT);
    assert.equal(hinted('bad_tag', '192.0.2.9:7946'), undefined);
    assert.equal(hinted('unknown_key', '192.0.2.2:7947'), undefined);
    assert.equal(hinted('bad_magic', peer), undefined);
    assert.equal(hinted('replay', peer), undefined);
    // The hint belongs to the summary it happened in, not to the next.
    const log = new DropLog({ peers: [peer] });
    log.record(0, 'bad_tag', peer);
    assert.equal(log.take(0)!.hint, PEER_AUTH_HINT);
    log.record(1, 'bad_magic', peer);
    assert.equal(log.take(10_000)!.hint, undefined);
  });
});

describe('PeerAuthWarnings', () => {
  const flip1 = { id: 'flip1', address: '10.0.0.2:2200' };
  const flip2 = { id: 'flip2', address: '[fd00::3]:2200' };

  /** Plays drops through PeerAuthWarnings; returns each warning with the time it was due. */
  function warnings(drops: Iterable<Drop>, interval_ms?: number): (PeerAuthWarning & { at_ms: number })[] {
    const alarm = new PeerAuthWarnings({ peers: [flip1, flip2], interval_ms });
    const out: (PeerAuthWarning & { at_ms: number })[] = [];
    for (const drop of drops) {
      const warning = alarm.record(drop.at_ms, drop.reason, drop.from);
      if (warning) out.push({ ...warning, at_ms: drop.at_ms });
    }
    return out;
  }

  it('warns at once about the first failure, naming the peer, its address and what to check', () => {
    const [first] = warnings([{ at_ms: 5, reason: 'unknown_key', from: flip1.address }]);
    assert.deepEqual(first, {
      peer: 'flip1',
      from: '10.0.0.2:2200',
      failures: 1,
      by_reason: { unknown_key: 1 },
      at_ms: 5,
    });
    assert.equal(
      peerAuthWarningText(first!),
      'packets from flip1 (10.0.0.2:2200) fail authentication: wrong key? both servers must share one of their keys',
    );
  });

  it('then warns at most once per 30 s per peer, counting every failure in between', () => {
    assert.equal(PEER_AUTH_WARNING_INTERVAL_MS, 30_000);
    // A peer with a wrong key probing 10 times a second for 2 minutes, bad tags now and then.
    const drops: Drop[] = [];
    for (let at_ms = 0; at_ms <= 120_000; at_ms += 100)
      drops.push({ at_ms, reason: at_ms % 1000 === 0 ? 'bad_tag' : 'unknown_key', from: flip1.address });
    const out = warnings(drops);
    assert.deepEqual(
      out.map((w) => w.at_ms),
      [0, 30_000, 60_000, 90_000, 120_000],
    );
    assert.equal(sum(out.map((w) => w.failures)), drops.length);
    for (const warning of out.slice(1)) {
      assert.equal(warning.failures, 300);
      assert.deepEqual(warning.by_reason, { unknown_key: 270, bad_tag: 30 });
    }
  });

  it('keeps peers apart: each peer gets its own first warning at once', () => {
    const out = warnings([
      { at_ms: 0, reason: 'unknown_key', from: flip1.address },
      { at_ms: 1, reason: 'unknown_key', from: flip1.address },
      { at_ms: 2, reason: 'bad_tag', from: flip2.address },
      { at_ms: 3, reason: 'bad_tag', from: flip2.address },
    ]);
    assert.deepEqual(
      out.map((w) => [w.peer, w.from, w.at_ms]),
      [
        ['flip1', flip1.address, 0],
        ['flip2', flip2.address, 2],
      ],
    );
  });

  it('warns at once again after a quiet 30 s, and not before', () => {
    const out = warnings([
      { at_ms: 0, reason: 'unknown_key', from: flip1.address },
      { at_ms: 29_999, reason: 'unknown_key', from: flip1.address },
      { at_ms: 90_000, reason: 'unknown_key', from: flip1.address },
    ]);
    assert.deepEqual(
      out.map((w) => [w.at_ms, w.failures]),
      [
        [0, 1],
        [90_000, 2],
      ],
    );
  });

  it('warns only about unknown_key and bad_tag, and only from configured peers', () => {
    const others = DROP_REASONS.filter((reason) => reason !== 'unknown_key' && reason !== 'bad_tag');
    const drops: Drop[] = others.map((reason, i) => ({ at_ms: i, reason, from: flip1.address }));
    // A stranger, and a peer's host on another port, are not the peer.
    for (let i = 0; i < 10_000; i++)
      drops.push({ at_ms: 100 + i, reason: 'unknown_key', from: `10.${i >> 8}.${i & 255}.9:2200` });
    drops.push({ at_ms: 20_000, reason: 'bad_tag', from: '10.0.0.2:2201' });
    assert.deepEqual(warnings(drops), []);
  });
});

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return socket;
}

describe('agent: dropped packets', () => {
  it('logs garbage and wrong-key packets as warning summaries, with the hint for the peer', async () => {
    // The peer's socket is bound first, so the config can name its port; a port for the agent
    // is found by binding and closing.
    const peer = await bound();
    const stranger = await bound();
    const probe = await bound();
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const dir = mkdtempSync(join(tmpdir(), 'flip-drops-'));
    const file = join(dir, 'flip.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'a',
        key: 'the right key',
        state_dir: join(dir, 'state'),
        servers: {
          a: { ip: '127.0.0.1', port },
          b: { ip: '127.0.0.1', port: peer.address().port },
        },
        cluster: {},
      }),
    );
    const records: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, callback) {
          for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line));
          callback();
        },
      }),
    );
    const agent = await Agent.start(file, { logger, drop_summary_interval_ms: 200 });
    try {
      const codec = (key: string) =>
        new PacketCodec({ keys: [key], selfIndex: 1, bootId: Date.now(), memberCount: 2 });
      const message: Message = { type: 'boot_hint', boot_id: 1, incarnation: 1, updates: [] };
      const wrongKey = codec('a wrong key').seal(message, 0);
      const badTag = codec('the right key').seal(message, 0);
      badTag[badTag.length - 1]! ^= 1;
      const to = (socket: Socket, packet: Uint8Array) => socket.send(packet, port, '127.0.0.1');
      for (let i = 0; i < 20; i++) to(stranger, Buffer.alloc(100, 0x41));
      for (let i = 0; i < 5; i++) to(stranger, Buffer.alloc(3));
      for (let i = 0; i < 5; i++) to(peer, wrongKey);
      for (let i = 0; i < 5; i++) to(peer, badTag);

      const summaries = () =>
        records.filter((r) => r.msg === 'packets dropped') as unknown as (DropSummary & { level: number })[];
      await waitFor(() => sum(summaries().map((s) => s.total)) >= 35, {
        what: '35 drops summarised',
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      const all = summaries();
      assert.equal(sum(all.map((s) => s.total)), 35);
      const reasons = (reason: DropReason) => sum(all.map((s) => s.by_reason[reason] ?? 0));
      assert.deepEqual(
        [reasons('bad_magic'), reasons('too_short'), reasons('unknown_key'), reasons('bad_tag')],
        [20, 5, 5, 5],
      );
      const peerText = `127.0.0.1:${peer.address().port}`;
      const strangerText = `127.0.0.1:${stranger.address().port}`;
      assert.equal(sum(all.map((s) => s.by_sender[peerText] ?? 0)), 10);
      assert.equal(sum(all.map((s) => s.by_sender[strangerText] ?? 0)), 25);
      for (const summary of all) {
        assert.equal(summary.level, 40, 'a summary is a warning');
        assert.equal(summary.hint, summary.by_sender[peerText] ? PEER_AUTH_HINT : undefined);
      }
      // The peer's authentication failures also got a warning of their own: one, at once, as the
      // next is allowed 30 s later; the stranger's garbage got none.
      const loud = records.filter((r) => String(r.msg).includes('fail authentication'));
      assert.equal(loud.length, 1, JSON.stringify(loud));
      assert.equal(loud[0]!.level, 40);
      assert.equal(loud[0]!.peer, 'b');
      assert.equal(loud[0]!.from, peerText);
      assert.equal(
        loud[0]!.msg,
        `packets from b (${peerText}) fail authentication: wrong key? both servers must share one of their keys`,
      );
      // 35 drops at once exceed the 20 lines a second allowed at debug.
      const lines = records.filter((r) => r.msg === 'packet dropped');
      assert.ok(lines.length >= 1 && lines.length <= 20, `${lines.length} debug lines`);
      assert.ok(lines.every((line) => line.level === 20));
    } finally {
      await agent.shutdown();
      peer.close();
      stranger.close();
    }
  });
});
