/**
 * Readiness numbers systems by name order (wire/roster.ts): when a committed `flip system add|rm`
 * changes the list, every record a server keeps is renumbered alike, by name, as it takes the new
 * lists in process (MembershipNode.succeed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnReadiness, ReadinessTable } from '../../src/membership/readiness.js';
import { Renumbering } from '../../src/membership/renumbering.js';

describe('readiness across a change of the system list', () => {
  // db, web before; app (added first by name), web after: db removed.
  const renumbering = new Renumbering(['a', 'b'], ['b', 'a'], {
    previous: ['db', 'web'],
    next: ['app', 'web'],
  });

  it('maps each system by name; a system removed is dropped', () => {
    assert.equal(renumbering.systemOf(0), undefined, 'db removed');
    assert.equal(renumbering.systemOf(1), 1, 'web');
    assert.deepEqual(renumbering.systemList([1, 0]), [1]);
    const same = new Renumbering(['a'], ['a']);
    assert.equal(same.systemOf(3), 3, 'no system lists: numbers kept');
  });

  it("a peer's record follows the peer and its systems; a system added reads as ready until the owner says more", () => {
    const before = new ReadinessTable(2);
    before.merge({
      kind: 'readiness',
      member: 1,
      incarnation: 7,
      version: 3,
      failing: [1],
      holding: [0],
      fresh: [],
    });
    const after = new ReadinessTable(2);
    after.carryFrom(before, renumbering);
    const record = after.get(0);
    assert.deepEqual(record, {
      kind: 'readiness',
      member: 0,
      incarnation: 7,
      version: 3,
      failing: [1],
      holding: [],
      fresh: [],
    });
    assert.equal(after.state(0, 1, 7), 'failing', 'web fails, as before');
    assert.equal(after.state(0, 0, 7), 'ready', 'app: nothing said of it yet');
  });

  it('our own record keeps its version, renumbered', () => {
    const own = new OwnReadiness(0);
    own.set(2, { failing: [0], holding: [1], fresh: [] });
    const next = new OwnReadiness(1);
    next.carryFrom(own, renumbering);
    assert.deepEqual(next.record, {
      kind: 'readiness',
      member: 1,
      incarnation: 2,
      version: 1,
      failing: [],
      holding: [1],
      fresh: [],
    });
  });
});
