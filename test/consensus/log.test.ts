/** The log's matching rules: what an append from a leader keeps, truncates and refuses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/index.js';
import { RaftLog } from '../../src/consensus/log.js';
import type { Entry } from '../../src/consensus/messages.js';

const noop = { kind: 'noop' } as const;
const add = (item: string): ConfigChange => ({
  kind: 'data_add',
  system: 'vip',
  items: [item],
  base_version: 0,
});

/** Entries of the given terms from `first` on, each a data_add naming its index and term. */
function entries(first: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: first + i, term, change: add(`${first + i}@${term}`) }));
}

function terms(log: RaftLog): number[] {
  return log.entries().map((entry) => entry.term);
}

describe('RaftLog', () => {
  it('refuses entries that do not follow one another, or start after the snapshot point + 1', () => {
    assert.throws(
      () => new RaftLog({ index: 0, term: 0 }, [entries(1, [1])[0]!, entries(3, [1])[0]!]),
      /follow/,
    );
    assert.throws(() => new RaftLog({ index: 2, term: 1 }, entries(4, [1])), /after the snapshot point/);
  });

  it('knows the term of its entries, of the snapshot point and of index 0, and nothing else', () => {
    const log = new RaftLog({ index: 3, term: 2 }, entries(4, [2, 3]));
    assert.deepEqual(
      [0, 1, 3, 4, 5, 6].map((i) => log.termAt(i)),
      [0, undefined, 2, 2, 3, undefined],
    );
    assert.equal(log.lastIndex, 5);
    assert.equal(log.lastTerm, 3);
    assert.equal(new RaftLog({ index: 3, term: 2 }, []).lastIndex, 3);
    assert.equal(new RaftLog({ index: 3, term: 2 }, []).lastTerm, 2);
  });

  it('compares how up to date two logs are by last term, then length (§5.4.1)', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 2, 2]));
    const table: [number, number, boolean][] = [
      [3, 2, true],
      [4, 2, true],
      [2, 2, false],
      [1, 3, true],
      [9, 1, false],
    ];
    for (const [index, term, expected] of table)
      assert.equal(log.isUpToDate(index, term), expected, `last ${index} of term ${term}`);
  });

  it('appends after a matching entry and reports the match', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1]));
    const result = log.accept(1, 1, entries(2, [1, 2]), 0);
    assert.deepEqual(result, { ok: true, match_index: 3, truncated_from: undefined });
    assert.deepEqual(terms(log), [1, 1, 2]);
  });

  it('refuses entries after a missing entry, hinting at its end', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1]));
    assert.deepEqual(log.accept(5, 2, entries(6, [2]), 0), { ok: false, next_hint: 3 });
    assert.deepEqual(terms(log), [1, 1]);
  });

  it('refuses entries after one of another term, hinting at the first entry of that term', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 2, 2, 2]));
    assert.deepEqual(log.accept(4, 3, [], 0), { ok: false, next_hint: 2 });
    // Never below the commit point: entries up to it match any leader's.
    assert.deepEqual(log.accept(4, 3, [], 2), { ok: false, next_hint: 3 });
  });

  it('removes a conflicting entry and all that follow it, and says from where', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 2, 2, 2]));
    const result = log.accept(1, 1, entries(2, [3]), 1);
    assert.deepEqual(result, { ok: true, match_index: 2, truncated_from: 2 });
    assert.deepEqual(terms(log), [1, 3]);
  });

  it('keeps entries after a late, shorter append that matches (no truncation without conflict)', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1, 1, 1]));
    const result = log.accept(0, 0, entries(1, [1, 1]), 0);
    assert.deepEqual(result, { ok: true, match_index: 2, truncated_from: undefined });
    assert.deepEqual(terms(log), [1, 1, 1, 1]);
  });

  it('skips entries up to its commit point without comparing them, even when folded', () => {
    const log = new RaftLog({ index: 5, term: 2 }, entries(6, [2]));
    const result = log.accept(2, 1, entries(3, [1, 2, 2, 2, 3]), 5);
    assert.deepEqual(result, { ok: true, match_index: 7, truncated_from: undefined });
    assert.deepEqual(
      log.entries().map((e) => [e.index, e.term]),
      [
        [6, 2],
        [7, 3],
      ],
    );
  });

  it('never truncates a committed entry, whatever an append says of it', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1]));
    // Entry 2 is committed here: an append that differs there (a stale or broken leader) leaves it.
    const result = log.accept(1, 1, entries(2, [2]), 2);
    assert.deepEqual(result, { ok: true, match_index: 2, truncated_from: undefined });
    assert.deepEqual(terms(log), [1, 1]);
  });

  it('folds committed entries into the snapshot point, keeping the last few', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1, 2, 2, 3]));
    log.compact({ index: 4, term: 2 }, 1);
    assert.deepEqual(
      log.entries().map((e) => e.index),
      [4, 5],
    );
    assert.deepEqual(log.snapshot, { index: 4, term: 2 });
    assert.equal(log.termAt(3), undefined);
    assert.equal(log.termAt(4), 2);
    assert.deepEqual(log.slice(3, 10), []);
    assert.deepEqual(
      log.slice(4, 1).map((e) => e.index),
      [4],
    );
    assert.throws(() => log.compact({ index: 5, term: 9 }, 0), /term/);
    assert.throws(() => log.compact({ index: 2, term: 1 }, 0), /never goes back/);
  });

  it('a snapshot keeps the entries after its point when the log holds the point, else empties the log', () => {
    const keeps = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1, 2, 2]));
    keeps.installSnapshot({ index: 2, term: 1 });
    assert.deepEqual(
      keeps.entries().map((e) => e.index),
      [3, 4],
    );
    const empties = new RaftLog({ index: 0, term: 0 }, entries(1, [1, 1, 2]));
    empties.installSnapshot({ index: 2, term: 5 });
    assert.deepEqual(empties.entries(), []);
    assert.equal(empties.lastIndex, 2);
    assert.equal(empties.lastTerm, 5);
  });

  it('appends a leader entry at the end, never below the last term', () => {
    const log = new RaftLog({ index: 0, term: 0 }, entries(1, [2]));
    assert.deepEqual(log.append(3, noop), { index: 2, term: 3, change: noop });
    assert.throws(() => log.append(2, noop), /below the last term/);
  });
});
