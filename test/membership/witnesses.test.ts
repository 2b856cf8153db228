/** Witnesses of our own reports: enough other members heard from recently, capped at 3. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  REPORT_WITNESSES_MAX,
  Witnesses,
  witnessesNeeded,
  witnessWindowMs,
} from '../../src/membership/witnesses.js';

const timing = { gossip_interval_ms: 450, ping_per_interval: 1, ping_timeout_ms: 300 };

describe('membership: witnesses', () => {
  it('needs quorum - 1 others, at most REPORT_WITNESSES_MAX', () => {
    const table: [number, number][] = [
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 3],
      [501, REPORT_WITNESSES_MAX],
    ];
    for (const [quorum, needed] of table) assert.equal(witnessesNeeded(quorum), needed, `quorum ${quorum}`);
  });

  it('waits two passes over the witnesses plus timeouts', () => {
    assert.equal(witnessWindowMs({ ...timing, quorum: 2, memberCount: 3 }), 2 * (2 * 450 + 300));
    assert.equal(witnessWindowMs({ ...timing, quorum: 501, memberCount: 1000 }), 2 * (4 * 450 + 300));
    assert.equal(
      witnessWindowMs({ ...timing, ping_per_interval: 3, quorum: 501, memberCount: 1000 }),
      2 * (2 * 450 + 300),
    );
  });

  it('trusts reports only when enough others, not the suspect, were heard within the window', () => {
    const witnesses = new Witnesses({ ...timing, quorum: 3, memberCount: 5 });
    const window = witnesses.window_ms;
    assert.equal(witnesses.enough(0, 4), false, 'nobody heard');
    witnesses.heard(0, 1);
    witnesses.heard(0, 4);
    assert.equal(witnesses.enough(10, 4), false, 'the suspect does not count');
    witnesses.heard(5, 2);
    assert.equal(witnesses.enough(10, 4), true);
    assert.equal(witnesses.enough(window + 1, 4), false, 'member 1 was heard too long ago');
    witnesses.heard(window, 1);
    assert.equal(witnesses.enough(window + 1, 4), true);
  });

  it('a quorum of 1 needs no witnesses', () => {
    assert.equal(new Witnesses({ ...timing, quorum: 1, memberCount: 3 }).enough(0, 1), true);
  });
});
