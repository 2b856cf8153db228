/** The quorum rule and its confirmation, as tables. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  confirmationAsks,
  confirmationsNeeded,
  liveReports,
  type QuorumVerdict,
  quorumVerdict,
} from '../../src/membership/quorum.js';

describe('membership: the quorum rule', () => {
  it('counts only reports that have not expired', () => {
    assert.equal(liveReports([], 100), 0);
    assert.equal(liveReports([99, 100, 101, 500], 100), 2, 'a report expiring now has expired');
  });

  it('needs quorum - 1 others heard from, uncapped', () => {
    const table: [number, number][] = [
      [1, 0],
      [2, 1],
      [3, 2],
      [5, 4],
      [9, 8],
      [501, 500],
    ];
    for (const [quorum, needed] of table)
      assert.equal(confirmationsNeeded(quorum), needed, `quorum ${quorum}`);
  });

  it('asks those needed, a tenth more and two, at once', () => {
    const table: [number, number][] = [
      [0, 0],
      [1, 4],
      [2, 5],
      [4, 7],
      [10, 13],
      [500, 552],
    ];
    for (const [needed, asks] of table) assert.equal(confirmationAsks(needed), asks, `needed ${needed}`);
  });

  it('decides down only when the quorum is counted and confirmed', () => {
    const table: [reports: number, quorum: number, heard_since: number, verdict: QuorumVerdict][] = [
      [0, 2, 5, 'no_quorum'],
      [1, 2, 5, 'no_quorum'],
      [2, 2, 0, 'confirming'],
      [2, 2, 1, 'down'],
      [3, 3, 1, 'confirming'],
      [3, 3, 2, 'down'],
      // A minority of 2 in a 5-server cluster with quorum 3 hears only 1 other: never decides.
      [3, 3, 1, 'confirming'],
      // Stale reports adding up to a quorum in a minority of 4 of 9 (quorum 5): 3 heard < 4.
      [5, 5, 3, 'confirming'],
      [5, 5, 4, 'down'],
      [1, 1, 0, 'down'],
      [4, 3, 2, 'down'],
    ];
    for (const [reports, quorum, heard_since, verdict] of table)
      assert.equal(
        quorumVerdict({ reports, quorum, heard_since }),
        verdict,
        `${reports}/${quorum}, heard ${heard_since}`,
      );
  });
});
