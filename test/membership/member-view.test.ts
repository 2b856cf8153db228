/** The merge rules as a table of every (record state x update kind x incarnation) case, and the member table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { correctionFor, MemberTable, merge } from '../../src/membership/member-view.js';
import type { MemberStateName, Update, UpdateKind } from '../../src/membership/messages.js';

const STATES: readonly MemberStateName[] = ['alive', 'probably_down', 'down', 'left'];
const KINDS: readonly UpdateKind[] = ['alive', 'suspect', 'down', 'left'];
/** The record's incarnation; updates come at one less, the same, and one more. */
const AT = 10;
const RELATIONS = [
  ['older', AT - 1],
  ['equal', AT],
  ['newer', AT + 1],
] as const;

function update(kind: UpdateKind, incarnation: number): Update {
  return kind === 'suspect'
    ? { kind, member: 4, incarnation, reporters: [1, 2] }
    : { kind, member: 4, incarnation };
}

/** What merge decides; 'reports+' is reports about a newer incarnation (alive is adopted first). */
type Expected = 'ignore' | 'alive' | 'reports' | 'reports+' | 'declare';
type Row = readonly [older: Expected, equal: Expected, newer: Expected];

const MERGE: Record<MemberStateName, Record<UpdateKind, Row>> = {
  alive: {
    alive: ['ignore', 'ignore', 'alive'],
    suspect: ['ignore', 'reports', 'reports+'],
    down: ['ignore', 'declare', 'declare'],
    left: ['ignore', 'declare', 'declare'],
  },
  probably_down: {
    alive: ['ignore', 'ignore', 'alive'],
    suspect: ['ignore', 'reports', 'reports+'],
    down: ['ignore', 'declare', 'declare'],
    left: ['ignore', 'declare', 'declare'],
  },
  down: {
    alive: ['ignore', 'ignore', 'alive'],
    suspect: ['ignore', 'ignore', 'reports+'],
    down: ['ignore', 'ignore', 'declare'],
    left: ['ignore', 'declare', 'declare'],
  },
  left: {
    alive: ['ignore', 'ignore', 'alive'],
    suspect: ['ignore', 'ignore', 'reports+'],
    down: ['ignore', 'ignore', 'declare'],
    left: ['ignore', 'ignore', 'declare'],
  },
};

/** The correction sent back to a stale sender: the kind of our record at AT, or none. */
type Correction = 'none' | 'alive' | 'down' | 'left';
const CORRECTION: Record<
  MemberStateName,
  Record<UpdateKind, readonly [Correction, Correction, Correction]>
> = {
  alive: {
    alive: ['alive', 'none', 'none'],
    suspect: ['alive', 'none', 'none'],
    down: ['alive', 'none', 'none'],
    left: ['alive', 'none', 'none'],
  },
  // A suspicion needs its reporters to travel, and a record holds none: nothing to send back.
  probably_down: {
    alive: ['none', 'none', 'none'],
    suspect: ['none', 'none', 'none'],
    down: ['none', 'none', 'none'],
    left: ['none', 'none', 'none'],
  },
  down: {
    alive: ['down', 'down', 'none'],
    suspect: ['down', 'down', 'none'],
    down: ['down', 'none', 'none'],
    left: ['down', 'none', 'none'],
  },
  left: {
    alive: ['left', 'left', 'none'],
    suspect: ['left', 'left', 'none'],
    down: ['left', 'left', 'none'],
    left: ['left', 'none', 'none'],
  },
};

function outcome(state: MemberStateName, news: Update): Expected {
  const decided = merge({ state, incarnation: AT }, news);
  if (decided.action === 'reports') return decided.newer ? 'reports+' : 'reports';
  return decided.action;
}

describe('membership: merge rules', () => {
  for (const state of STATES) {
    for (const kind of KINDS) {
      RELATIONS.forEach(([relation, incarnation], column) => {
        const expected = MERGE[state][kind][column]!;
        it(`record ${state}, ${kind} ${relation}: ${expected}`, () => {
          const news = update(kind, incarnation);
          assert.equal(outcome(state, news), expected);
          const decided = merge({ state, incarnation: AT }, news);
          if (decided.action !== 'ignore')
            assert.equal(decided.update, news, 'the decision carries the update');
        });
      });
    }
  }

  for (const state of STATES) {
    for (const kind of KINDS) {
      RELATIONS.forEach(([relation, incarnation], column) => {
        const expected = CORRECTION[state][kind][column]!;
        it(`record ${state}, ${kind} ${relation}: correction ${expected}`, () => {
          const correction = correctionFor({ state, incarnation: AT }, update(kind, incarnation));
          if (expected === 'none') {
            assert.equal(correction, undefined);
            return;
          }
          assert.deepEqual(correction, { kind: expected, member: 4, incarnation: AT });
        });
      });
    }
  }

  it('news we correct never changes our record (stale news is stale both ways)', () => {
    let corrected = 0;
    for (const state of STATES) {
      for (const kind of KINDS) {
        for (const [, incarnation] of RELATIONS) {
          const news = update(kind, incarnation);
          if (!correctionFor({ state, incarnation: AT }, news)) continue;
          corrected++;
          assert.equal(
            merge({ state, incarnation: AT }, news).action,
            'ignore',
            `${state} ${kind} ${incarnation}`,
          );
        }
      }
    }
    assert.equal(corrected, 17);
  });
});

describe('membership: member table', () => {
  it('starts everyone alive and unknown (incarnation 0) but itself', () => {
    const table = new MemberTable(3, 1, 500);
    assert.deepEqual(
      table.all().map((record) => record.incarnation),
      [0, 500, 0],
    );
    assert.deepEqual(table.live(), [0, 1, 2]);
    assert.equal(table.notAlive, 0);
    assert.equal(table.get(3), undefined);
  });

  it('reports a change only when the state changes, and counts members not alive', () => {
    const table = new MemberTable(3, 0, 1);
    assert.deepEqual(table.set(5, 2, 'probably_down', 7, 'report'), {
      member: 2,
      from: 'alive',
      to: 'probably_down',
      incarnation: 7,
      at: 5,
      reason: 'report',
    });
    assert.equal(table.notAlive, 1);
    // Same state, newer incarnation: recorded, but no change and the time it began stays.
    assert.equal(table.set(9, 2, 'probably_down', 8, 'report'), undefined);
    assert.deepEqual(table.get(2), { state: 'probably_down', incarnation: 8, since: 5 });
    table.set(10, 2, 'down', 8, 'quorum');
    assert.equal(table.notAlive, 1);
    assert.deepEqual(table.live(), [0, 1]);
    table.set(11, 2, 'alive', 9, 'direct');
    assert.equal(table.notAlive, 0);
  });

  it('adopt changes the incarnation only; renew also the time', () => {
    const table = new MemberTable(2, 0, 1);
    table.adopt(1, 40);
    assert.deepEqual(table.get(1), { state: 'alive', incarnation: 40, since: 0 });
    table.renew(30, 0, 2);
    assert.deepEqual(table.get(0), { state: 'alive', incarnation: 2, since: 30 });
  });
});
