/** The consensus's timing formulas. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RAFT_TIMING,
  electionTimeoutMs,
  majority,
  type RaftTiming,
  timingProblem,
} from '../../src/consensus/timing.js';
import { Random } from '../../src/sim/random.js';

describe('consensus timing', () => {
  it('a majority is more than half', () => {
    const table: [number, number][] = [
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
      [5, 3],
      [9, 5],
      [100, 51],
    ];
    for (const [members, expected] of table) assert.equal(majority(members), expected, `${members} members`);
  });

  it('draws election timeouts across the whole range and never outside it', () => {
    const random = new Random(7);
    const drawn = Array.from({ length: 2000 }, () => electionTimeoutMs(DEFAULT_RAFT_TIMING, random.next));
    const { election_timeout_ms_min: min, election_timeout_ms_max: max } = DEFAULT_RAFT_TIMING;
    assert.ok(drawn.every((ms) => ms >= min && ms < max));
    assert.ok(Math.min(...drawn) < min + (max - min) / 10, 'reaches the bottom tenth');
    assert.ok(Math.max(...drawn) >= max - (max - min) / 10, 'reaches the top tenth');
    assert.equal(
      electionTimeoutMs(DEFAULT_RAFT_TIMING, () => 0),
      min,
    );
  });

  it('accepts the defaults and names the field of a timing that cannot work', () => {
    assert.equal(timingProblem(DEFAULT_RAFT_TIMING), undefined);
    const bad: [Partial<RaftTiming>, RegExp][] = [
      [{ heartbeat_ms: 0 }, /heartbeat_ms/],
      [{ election_timeout_ms_min: 150 }, /election_timeout_ms_min is 150; it must be at least twice/],
      [{ election_timeout_ms_max: 500 }, /election_timeout_ms_max is 500/],
      [{ proposal_timeout_ms: 900 }, /proposal_timeout_ms is 900/],
    ];
    for (const [change, message] of bad)
      assert.match(timingProblem({ ...DEFAULT_RAFT_TIMING, ...change }) ?? '', message);
  });
});
