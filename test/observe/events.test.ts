import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventDoc } from '../../src/api/types.js';
import { EventRing } from '../../src/observe/events.js';

const body = (n: number) => ({ type: 'agent', state: n % 2 === 0 ? 'started' : 'leaving' }) as const;

describe('event ring', () => {
  it('numbers events from 1 and returns those after an id, oldest first', () => {
    const ring = new EventRing(10);
    assert.deepEqual(ring.since(0), { events: [], last_id: 0, truncated: false });
    for (let i = 0; i < 4; i++) ring.add(1_700_000_000_000 + i, body(i));
    const all = ring.since(0);
    assert.deepEqual(
      all.events.map((event) => event.id),
      [1, 2, 3, 4],
    );
    assert.equal(all.events[0]!.at, '2023-11-14T22:13:20.000Z');
    assert.equal(all.truncated, false);
    assert.deepEqual(
      ring.since(2).events.map((event) => event.id),
      [3, 4],
    );
    assert.deepEqual(ring.since(4).events, []);
    assert.deepEqual(ring.since(99).events, []);
  });

  it('keeps only the newest `capacity` and says when a reader missed some', () => {
    const ring = new EventRing(3);
    for (let i = 0; i < 7; i++) ring.add(i, body(i));
    const all = ring.since(0);
    assert.deepEqual(
      all.events.map((event) => event.id),
      [5, 6, 7],
    );
    assert.equal(all.truncated, true);
    assert.equal(all.last_id, 7);
    assert.equal(ring.since(4).truncated, false);
    assert.deepEqual(
      ring.since(5).events.map((event) => event.id),
      [6, 7],
    );
    assert.deepEqual(
      ring.since(0, 2).events.map((event) => event.id),
      [6, 7],
    );
    // Wrapping many times keeps the order.
    for (let i = 0; i < 100; i++) ring.add(i, body(i));
    assert.deepEqual(
      ring.since(0).events.map((event) => event.id),
      [105, 106, 107],
    );
  });

  it('tells listeners each new event; one that throws is removed and counted, the others still hear', () => {
    const ring = new EventRing(5);
    const heard: EventDoc[] = [];
    const stop = ring.subscribe((event) => heard.push(event));
    ring.subscribe(() => {
      throw new Error('broken stream');
    });
    assert.equal(ring.listeners, 2);
    ring.add(0, body(0));
    ring.add(0, body(1));
    assert.equal(heard.length, 2);
    assert.equal(ring.listener_faults, 1);
    assert.equal(ring.listeners, 1);
    stop();
    ring.add(0, body(2));
    assert.equal(heard.length, 2);
    assert.throws(() => new EventRing(0));
  });
});
