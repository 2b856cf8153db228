import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reports, suspectUpdate } from '../../src/membership/reports.js';

describe('membership: reports and their lifetime', () => {
  it('a new incarnation voids the reports about the old one', () => {
    const reports = new Reports();
    reports.about(4, 10).reporters.set(1, 500);
    reports.about(4, 10).reporters.set(2, 600);
    assert.deepEqual(reports.reportersOf(4), [1, 2]);
    reports.about(4, 11).reporters.set(3, 700);
    assert.deepEqual(reports.reportersOf(4), [3]);
    assert.deepEqual(suspectUpdate(4, reports.get(4)!), {
      kind: 'suspect',
      member: 4,
      incarnation: 11,
      reporters: [3],
    });
  });

  it('expires reports at their time, forgets members left with none, and a stall stretches them', () => {
    const reports = new Reports();
    reports.about(1, 1).reporters.set(7, 100);
    reports.about(2, 1).reporters.set(7, 100);
    reports.about(2, 1).reporters.set(8, 300);
    assert.deepEqual(reports.expire(99), []);
    assert.deepEqual(reports.expire(100), [1], 'a report expiring now has expired');
    assert.equal(reports.has(1), false);
    assert.deepEqual(reports.reportersOf(2), [8]);
    reports.stretch(50);
    assert.deepEqual(reports.expire(300), []);
    assert.deepEqual(reports.expire(350), [2]);
  });
});
