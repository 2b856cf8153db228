/** State sync (state-sync.ts): what a view reply holds, how it is split, and when pings ask for one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemberTable } from '../../src/membership/member-view.js';
import type { Packing, StateRecord } from '../../src/membership/messages.js';
import {
  pullsState,
  recordUpdate,
  STATE_PULL_EVERY_ROUNDS,
  StateSync,
  stateMessages,
  stateRecords,
} from '../../src/membership/state-sync.js';

/** Room for three records of 20 bytes after a 100-byte message (179 bytes: not four). */
const PACKING: Packing = {
  bodyBytesMax: 179,
  baseSize: () => 100,
  fixedSize: () => 100,
  updateSize: () => 10,
  stateRecordSize: 20,
  releasedItemSize: () => 10,
};

const record = (member: number): StateRecord => ({ member, state: 'down', incarnation: member });

describe('membership: state sync', () => {
  it('a reply lists every member but ourselves that is not plainly alive', () => {
    const table = new MemberTable(5, 0, 1);
    assert.deepEqual(stateRecords(table, 0), []);
    table.set(1, 0, 'probably_down', 1, 'report'); // ourselves: never listed
    table.set(1, 2, 'down', 6, 'quorum');
    table.set(1, 3, 'probably_down', 7, 'report');
    table.set(1, 4, 'left', 8, 'leave');
    assert.deepEqual(stateRecords(table, 0), [
      { member: 2, state: 'down', incarnation: 6 },
      { member: 3, state: 'probably_down', incarnation: 7 },
      { member: 4, state: 'left', incarnation: 8 },
    ]);
  });

  it('is split into messages that fit a packet, and is never zero messages', () => {
    const sizes = (count: number) =>
      stateMessages(
        PACKING,
        Array.from({ length: count }, (_, i) => record(i)),
        9,
      ).map((m) => m.records.length);
    assert.deepEqual(sizes(0), [0]);
    assert.deepEqual(sizes(3), [3]);
    assert.deepEqual(sizes(4), [3, 1]);
    assert.deepEqual(sizes(7), [3, 3, 1]);
    const [first] = stateMessages(PACKING, [record(1)], 9);
    assert.deepEqual(first, { type: 'state', records: [record(1)], incarnation: 9, updates: [] });
  });

  it('sends at least one record a message even when none fits the budget', () => {
    const tight = { ...PACKING, bodyBytesMax: 110 };
    assert.deepEqual(
      stateMessages(tight, [record(1), record(2)], 9).map((m) => m.records.length),
      [1, 1],
    );
  });

  it('a record stands for its update, but probably_down (its reporters do not travel)', () => {
    assert.deepEqual(recordUpdate({ member: 2, state: 'left', incarnation: 4 }), {
      kind: 'left',
      member: 2,
      incarnation: 4,
    });
    assert.deepEqual(recordUpdate({ member: 2, state: 'alive', incarnation: 4 }), {
      kind: 'alive',
      member: 2,
      incarnation: 4,
    });
    assert.equal(recordUpdate({ member: 2, state: 'probably_down', incarnation: 4 }), undefined);
  });

  it(`pulls the view on round 0 and every ${STATE_PULL_EVERY_ROUNDS}th round after`, () => {
    const pulling = Array.from({ length: 25 }, (_, round) => round).filter(pullsState);
    assert.deepEqual(pulling, [0, 10, 20]);
  });

  it('asks with every ping until a view arrives; alone, never', () => {
    const sync = new StateSync(2);
    assert.equal(sync.synced, false);
    assert.equal(sync.asks(false), true);
    sync.received();
    assert.equal(sync.synced, true);
    assert.equal(sync.asks(false), false);
    assert.equal(sync.asks(true), true);
    assert.equal(new StateSync(0).synced, true);
  });
});
