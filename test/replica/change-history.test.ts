/** The changes committed lately, by version, that a leader checks conflicts against. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/index.js';
import { ChangeHistory, HISTORY_BYTES_MAX, HISTORY_CHANGES_MAX } from '../../src/replica/change-history.js';

const add = (item: string, base_version = 0): ConfigChange => ({
  kind: 'data_add',
  system: 'vip',
  items: [item],
  base_version,
});

describe('ChangeHistory', () => {
  it('gives the changes after a base version, in order, from the version it started at', () => {
    const history = new ChangeHistory(4);
    assert.deepEqual(history.since(4), []);
    assert.equal(history.since(3), undefined, 'version 4 was made before it started');
    history.record(5, add('a'));
    history.record(6, add('b'));
    assert.equal(history.version, 6);
    assert.deepEqual(history.since(4), [add('a'), add('b')]);
    assert.deepEqual(history.since(5), [add('b')]);
    assert.deepEqual(history.since(6), []);
    assert.throws(() => history.since(7), /after its version 6/);
  });

  it('forgets everything at a snapshot, or at a version that does not follow', () => {
    const history = new ChangeHistory(0);
    history.record(1, add('a'));
    history.record(5, null);
    assert.equal(history.from, 5);
    assert.equal(history.since(1), undefined);
    history.record(6, add('b'));
    history.record(8, add('c'));
    assert.deepEqual([history.from, history.version], [8, 8]);
  });

  it(`keeps at most ${HISTORY_CHANGES_MAX} changes and ${HISTORY_BYTES_MAX} bytes, the oldest dropped first`, () => {
    const history = new ChangeHistory(0);
    for (let v = 1; v <= HISTORY_CHANGES_MAX + 10; v++) history.record(v, add(`i${v}`));
    assert.equal(history.from, 10);
    assert.equal(history.since(9), undefined);
    assert.equal(history.since(10)?.length, HISTORY_CHANGES_MAX);
    const big = new ChangeHistory(0);
    const item = 'x'.repeat(4 * 1024 * 1024);
    for (let v = 1; v <= 5; v++) big.record(v, add(`${item}${v}`));
    // Each change is a little over 4 MiB as JSON: three fit in 16 MiB, four do not.
    assert.equal(big.from, 2);
    assert.deepEqual(
      big.since(2)?.map((change) => (change.kind === 'data_add' ? change.items[0]!.slice(-1) : '')),
      ['3', '4', '5'],
    );
  });
});
