import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Awareness } from '../../src/membership/awareness.js';
import { BroadcastQueue } from '../../src/membership/broadcasts.js';
import type { Update } from '../../src/membership/messages.js';
import { ProbeOrder, sample } from '../../src/membership/probe-order.js';
import {
  HEALTH_SCORE_MAX,
  reportTtlMs,
  retransmitLimit,
  scaled,
  startupGraceMs,
} from '../../src/membership/timing.js';
import { Random } from '../../src/sim/random.js';

describe('membership: formulas', () => {
  it('retransmitLimit grows with log10 of the cluster size', () => {
    const table: [number, number][] = [
      [1, 4],
      [3, 4],
      [9, 4],
      [10, 8],
      [99, 8],
      [100, 12],
      [1000, 16],
    ];
    for (const [n, limit] of table) assert.equal(retransmitLimit(n), limit, `n=${n}`);
  });

  it('reportTtlMs covers health-stretched timers plus the spread', () => {
    assert.equal(reportTtlMs(500, 250, 3), 9 * 750 + 250 * 4);
    assert.equal(reportTtlMs(1500, 1000, 1000), 9 * 2500 + 1000 * 16);
  });

  it('scaled stretches by (1 + score)', () => {
    assert.equal(scaled(500, 0), 500);
    assert.equal(scaled(500, 3), 2000);
  });

  it('awareness stays within [0, HEALTH_SCORE_MAX]', () => {
    const awareness = new Awareness();
    awareness.apply(-1);
    assert.equal(awareness.score, 0);
    for (let i = 0; i < 20; i++) awareness.apply(1);
    assert.equal(awareness.score, HEALTH_SCORE_MAX);
    awareness.apply(-2);
    assert.equal(awareness.score, HEALTH_SCORE_MAX - 2);
  });
});

describe('membership: probe order', () => {
  it('probes every eligible peer exactly once per pass, in a changing order', () => {
    const peers = [1, 2, 3, 4, 5, 6, 7];
    const order = new ProbeOrder(peers, new Random(7).next);
    const passes: number[][] = [];
    for (let pass = 0; pass < 4; pass++) passes.push(peers.map(() => order.next(() => true)!));
    for (const pass of passes) assert.deepEqual([...pass].sort(), peers);
    assert.notDeepEqual(passes[0], passes[1]);
  });

  it('skips ineligible peers and gives up when none is eligible', () => {
    const order = new ProbeOrder([1, 2, 3], new Random(1).next);
    for (let i = 0; i < 6; i++)
      assert.equal(
        order.next((peer) => peer === 2),
        2,
      );
    assert.equal(
      order.next(() => false),
      undefined,
    );
  });

  it('sample picks distinct items', () => {
    const random = new Random(3).next;
    for (let i = 0; i < 100; i++) {
      const picked = sample([1, 2, 3, 4, 5], 3, random);
      assert.equal(new Set(picked).size, 3);
    }
    assert.equal(sample([1, 2], 5, random).length, 2);
  });
});

describe('membership: broadcast queue', () => {
  const size = () => 11;
  const alive = (member: number, incarnation: number): Update => ({ kind: 'alive', member, incarnation });

  it('keeps one entry per member, the newest', () => {
    const queue = new BroadcastQueue(4, size);
    queue.enqueue(alive(1, 1));
    queue.enqueue(alive(1, 2));
    queue.enqueue(alive(2, 1));
    assert.equal(queue.size, 2);
    assert.deepEqual(
      queue.take(1000).map((u) => u.incarnation),
      [1, 2],
    );
  });

  it('sends each update at most `limit` times, least-sent first, within the budget', () => {
    const queue = new BroadcastQueue(2, size);
    queue.enqueue(alive(1, 1));
    queue.enqueue(alive(2, 1));
    queue.enqueue(alive(3, 1));
    assert.equal(queue.take(22).length, 2, 'budget fits two');
    const second = queue.take(22);
    assert.ok(
      second.some((u) => u.member === 1),
      'the unsent one goes first',
    );
    let sends = 0;
    for (let i = 0; i < 10; i++) sends += queue.take(1000).length;
    assert.equal(sends + 4, 6, 'three updates, two sends each');
    assert.equal(queue.size, 0);
  });

  it('skips excluded members and can drop a member', () => {
    const queue = new BroadcastQueue(4, size);
    queue.enqueue(alive(1, 1));
    queue.enqueue(alive(2, 1));
    assert.deepEqual(
      queue.take(1000, new Set([1])).map((u) => u.member),
      [2],
    );
    queue.drop(1);
    assert.deepEqual(
      queue.take(1000).map((u) => u.member),
      [2],
    );
  });
});

describe('membership: the start-up grace', () => {
  it('is two timeouts and a round: a round of introductions and their answers', () => {
    const table: [timeout: number, interval: number, grace: number][] = [
      [300, 450, 1050],
      [1500, 1000, 4000],
      [300, 100, 700],
    ];
    for (const [ping_timeout_ms, gossip_interval_ms, grace] of table)
      assert.equal(startupGraceMs({ ping_timeout_ms, gossip_interval_ms }), grace);
  });
});
