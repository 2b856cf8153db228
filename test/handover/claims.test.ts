/**
 * Claims of arriving items (src/handover/claims.ts): who is asked and when, which answers count,
 * and when an item is let through. Members 1 and 2 share the system `ip`; the claimer is 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Claims, type ClaimView, type Standing } from '../../src/handover/claims.js';

const REPEAT = 300;

function claimsView(standing: Map<number, Standing>): ClaimView {
  return {
    membersOf: () => [1, 2],
    standing: (_system, member) => standing.get(member) ?? { kind: 'live' },
  };
}

const live = (): Map<number, Standing> =>
  new Map<number, Standing>([
    [1, { kind: 'live' }],
    [2, { kind: 'live' }],
  ]);

const item = (name: string) => ({ system: 'ip', item: name });

describe('claims', () => {
  it('asks every live member once per repeat period, one message per member with all its items', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 40 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    claims.want('ip', 'b');
    const first = claims.sends(0, view);
    assert.deepEqual(
      first.map((send) => [send.to, send.id, send.items]),
      [
        [1, 40, [item('a'), item('b')]],
        [2, 41, [item('a'), item('b')]],
      ],
    );
    assert.deepEqual(claims.sends(REPEAT - 1, view), []);
    assert.equal(claims.nextWakeAt(), REPEAT);
    assert.equal(claims.sends(REPEAT, view).length, 2);
  });

  it('lets an item through only when every member agreed, each answer to its own claim', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    const [to1, to2] = claims.sends(0, view);
    claims.replied(1, to1!.id, [item('a')]);
    assert.deepEqual([...claims.open(1, view)], []);
    // Member 2 answering member 1's question counts for nothing.
    claims.replied(2, to1!.id, [item('a')]);
    assert.deepEqual([...claims.open(2, view)], []);
    claims.replied(2, to2!.id, [item('a')]);
    assert.deepEqual([...claims.open(3, view)], [['ip', ['a']]]);
    assert.deepEqual([...claims.open(4, view)], [], 'an item is let through once');
    assert.equal(claims.waiting('ip', 'a'), false);
  });

  it('an answer to an earlier episode is dropped', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    const old = claims.sends(0, view);
    claims.end('ip', 'a');
    claims.want('ip', 'a');
    for (const send of old) claims.replied(send.to, send.id, [item('a')]);
    assert.deepEqual([...claims.open(10, view)], []);
    assert.equal(claims.waiting('ip', 'a'), true);
  });

  it('a gone member counts once its fence ends; one that left also once it released the item', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const standing = live();
    standing.set(2, { kind: 'gone', left: false, fenced_at: 1_700 });
    const view = claimsView(standing);
    claims.want('ip', 'a');
    const sends = claims.sends(0, view);
    assert.deepEqual(
      sends.map((send) => send.to),
      [1],
      'a gone member is not asked',
    );
    claims.replied(1, sends[0]!.id, [item('a')]);
    assert.deepEqual([...claims.open(100, view)], []);
    assert.deepEqual(claims.sends(100, view), [], 'nobody left to ask');
    assert.equal(claims.nextWakeAt(), 1_700);
    assert.deepEqual([...claims.open(1_700, view)], [['ip', ['a']]]);

    const left = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    standing.set(2, { kind: 'gone', left: true, fenced_at: 1_700 });
    left.want('ip', 'a');
    const asked = left.sends(0, view);
    left.replied(1, asked[0]!.id, [item('a')]);
    left.released(2, 'ip', 'a');
    assert.deepEqual([...left.open(100, view)], [['ip', ['a']]]);
  });

  it('a release notice from a member that went down does not stand for its fence', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const standing = live();
    standing.set(2, { kind: 'gone', left: false, fenced_at: 1_700 });
    const view = claimsView(standing);
    claims.want('ip', 'a');
    const [send] = claims.sends(0, view);
    claims.replied(1, send!.id, [item('a')]);
    claims.released(2, 'ip', 'a');
    assert.deepEqual([...claims.open(100, view)], []);
  });

  it('a release notice brings a new question to its sender at once', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    claims.sends(0, view);
    claims.released(1, 'ip', 'a');
    assert.deepEqual(
      claims.sends(5, view).map((send) => send.to),
      [1],
    );
  });

  it('restart() voids every answer gathered and asks again at once; the item stays claimed', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    const [to1, to2] = claims.sends(0, view);
    claims.replied(1, to1!.id, [item('a')]);
    claims.replied(2, to2!.id, [item('a')]);
    assert.deepEqual([...claims.open(10, view)], [['ip', ['a']]]);
    // Our standing came into doubt before the alive started: the claim starts over.
    claims.restart(20);
    assert.equal(claims.waiting('ip', 'a'), true, 'still claimed: the runner waits for it');
    assert.equal(claims.letThrough('ip', 'a'), false, 'let through no more');
    assert.equal(claims.nextWakeAt(), 20, 'the members are asked again at once, not after a repeat');
    const again = claims.sends(20, view);
    assert.deepEqual(
      again.map((send) => send.to),
      [1, 2],
    );
    // Answers to the claims before the restart count for nothing, even when they come late.
    claims.replied(1, to1!.id, [item('a')]);
    claims.replied(2, to2!.id, [item('a')]);
    assert.deepEqual([...claims.open(30, view)], []);
    for (const send of again) claims.replied(send.to, send.id, [item('a')]);
    assert.deepEqual([...claims.open(40, view)], [['ip', ['a']]], 'let through again on the new answers');
  });

  it('a member that never answers holds the claim forever, restarts or not', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(live());
    claims.want('ip', 'a');
    const [to1] = claims.sends(0, view);
    claims.replied(1, to1!.id, [item('a')]);
    for (let now = 0; now < 600_000; now += REPEAT) {
      if (now % (100 * REPEAT) === 0) claims.restart(now);
      const sends = claims.sends(now, view);
      assert.ok(
        sends.some((send) => send.to === 2),
        `at ${now}: the silent member is asked again every repeat`,
      );
      assert.deepEqual([...claims.open(now, view)], [], `at ${now}`);
    }
  });

  it('replies to claims older than a few repeat periods are dropped (asked again instead)', () => {
    const claims = new Claims({ repeat_ms: REPEAT, first_id: 0 });
    const view = claimsView(new Map<number, Standing>([[1, { kind: 'live' }]]));
    const one: ClaimView = { ...view, membersOf: () => [1] };
    claims.want('ip', 'a');
    const [old] = claims.sends(0, one);
    for (let now = REPEAT; now <= 5 * REPEAT; now += REPEAT) claims.sends(now, one);
    claims.replied(1, old!.id, [item('a')]);
    assert.equal(claims.counters.replies_dropped, 1);
    assert.deepEqual([...claims.open(5 * REPEAT, one)], []);
  });
});
