import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BOOTS_PER_MEMBER_MAX,
  BootIdentities,
  conflictKeeper,
  DUPLICATE_NOTICE_EVERY_MS,
  DUPLICATE_OVERLAP_MS,
} from '../../src/membership/identity.js';

const FORGET = 10_000;
const OLD = 1_000;
const NEW = 2_000;

function identities(): BootIdentities {
  return new BootIdentities({ memberCount: 3, forget_ms: FORGET });
}

describe('identity: two runs with one id, or a restart', () => {
  it('a restart: the old boot falls silent before the new one is heard; never a conflict', () => {
    const ids = identities();
    for (let t = 0; t <= 5_000; t += 250) assert.equal(ids.heard(t, 1, OLD), 'accept');
    assert.equal(ids.heard(5_600, 1, NEW), 'accept');
    // A packet of the old run still in flight: dropped quietly, no conflict.
    assert.equal(ids.heard(5_601, 1, OLD), 'stale');
    for (let t = 5_700; t <= 20_000; t += 250) assert.equal(ids.heard(t, 1, NEW), 'accept');
    assert.equal(ids.keptBoot(1), undefined);
    assert.equal(ids.counters.duplicates_seen, 0);
  });

  it('two live runs: once both are heard past the overlap, the lower boot keeps the id', () => {
    const ids = identities();
    for (let t = 0; t <= 1_000; t += 100) ids.heard(t, 1, OLD);
    assert.equal(ids.heard(1_050, 1, NEW), 'accept', 'first taken for a restart');
    assert.equal(ids.heard(1_060, 1, OLD), 'stale', 'within the overlap: still a possible restart');
    assert.equal(ids.heard(1_050 + DUPLICATE_OVERLAP_MS, 1, NEW), 'accept');
    assert.equal(
      ids.heard(1_050 + DUPLICATE_OVERLAP_MS, 1, OLD),
      'accept',
      'the older run is heard again: conflict',
    );
    assert.equal(ids.keptBoot(1), OLD);
    assert.equal(ids.heard(1_400, 1, NEW), 'newcomer');
    assert.equal(ids.heard(1_400, 1, OLD), 'accept');
    assert.equal(ids.counters.duplicates_seen, 1);
    assert.equal(ids.counters.newcomer_packets, 1);
  });

  it('the lower boot keeps the id whichever run was heard first (every node agrees)', () => {
    const ids = identities();
    ids.heard(0, 2, NEW);
    ids.heard(10, 2, OLD);
    ids.heard(500, 2, NEW);
    assert.equal(ids.heard(500, 2, OLD), 'accept');
    assert.equal(ids.heard(600, 2, NEW), 'newcomer');
  });

  it('the conflict ends when the older run is down or left here, or not heard for forget_ms', () => {
    const ids = identities();
    ids.heard(0, 1, OLD);
    ids.heard(0, 1, NEW);
    ids.heard(500, 1, OLD);
    ids.heard(500, 1, NEW);
    assert.equal(ids.keptBoot(1), OLD);
    assert.equal(ids.heard(600, 1, NEW, true), 'accept', 'the member is down here: the newcomer restarts it');
    assert.equal(ids.keptBoot(1), undefined);

    const silent = identities();
    silent.heard(0, 1, OLD);
    silent.heard(0, 1, NEW);
    silent.heard(500, 1, OLD);
    assert.equal(silent.heard(500, 1, NEW), 'newcomer');
    assert.equal(silent.heard(500 + FORGET - 1, 1, NEW), 'newcomer');
    assert.equal(silent.heard(500 + FORGET, 1, NEW), 'accept');
  });

  it('notices go out at most every DUPLICATE_NOTICE_EVERY_MS per member, only while a conflict lasts', () => {
    const ids = identities();
    assert.equal(ids.noticeDue(0, 1, NEW), undefined, 'no conflict');
    ids.heard(0, 1, OLD);
    ids.heard(0, 1, NEW);
    ids.heard(300, 1, OLD);
    ids.heard(300, 1, NEW);
    assert.deepEqual(ids.noticeDue(300, 1, NEW), { member: 1, kept: OLD, newcomer: NEW });
    assert.equal(ids.noticeDue(300 + DUPLICATE_NOTICE_EVERY_MS - 1, 1, NEW), undefined);
    assert.ok(ids.noticeDue(300 + DUPLICATE_NOTICE_EVERY_MS, 1, NEW));
    assert.equal(ids.noticeDue(5_000, 1, OLD), undefined, 'never about the run that keeps the id');
  });

  it('a newcomer told so stays out for forget_ms after the last notice; the older run only reports', () => {
    const newcomer = identities();
    assert.equal(newcomer.standingDown(0), false);
    assert.equal(newcomer.toldOfConflict(100, NEW, { kept: OLD, newcomer: NEW }), 'newcomer');
    assert.equal(newcomer.standingDown(100 + FORGET - 1), true);
    assert.equal(newcomer.standingDown(100 + FORGET), false);
    // A notice whose numbers do not fit the rule (a higher boot kept) changes nothing.
    assert.equal(newcomer.toldOfConflict(200, NEW, { kept: NEW + 1, newcomer: NEW }), undefined);
    assert.equal(newcomer.toldOfConflict(200, 7, { kept: OLD, newcomer: NEW }), undefined);

    const kept = identities();
    assert.equal(kept.toldOfConflict(100, OLD, { kept: OLD, newcomer: NEW }), 'kept');
    assert.equal(kept.standingDown(100), false);
    assert.equal(kept.counters.duplicate_of_self, 1);
  });

  it('remembers a bounded number of boots per member', () => {
    const ids = identities();
    for (let boot = 1; boot <= 3 * BOOTS_PER_MEMBER_MAX; boot++) ids.heard(boot * 1_000, 0, boot);
    assert.equal(ids.heard(40_000, 0, 3 * BOOTS_PER_MEMBER_MAX), 'accept');
  });

  it('conflictKeeper: a table of sightings', () => {
    const at = (boot: number, first: number, last: number) => ({ boot, first, last });
    const o = DUPLICATE_OVERLAP_MS;
    const cases: [string, ReturnType<typeof at>[], number | undefined][] = [
      ['one run', [at(5, 0, 1e6)], undefined],
      ['restart', [at(5, 0, 1_000), at(6, 1_000, 9_000)], undefined],
      ['restart, a late packet', [at(5, 0, 1_000 + o - 1), at(6, 1_000, 9_000)], undefined],
      ['two live', [at(5, 0, 1_000 + o), at(6, 1_000, 1_000 + o)], 5],
      ['three live', [at(7, 0, 5_000), at(6, 0, 5_000), at(9, 0, 5_000)], 6],
    ];
    for (const [name, sightings, kept] of cases) assert.equal(conflictKeeper(sightings), kept, name);
  });

  it('refuses options that make no sense', () => {
    assert.throws(() => new BootIdentities({ memberCount: 0, forget_ms: FORGET }), /memberCount/);
    assert.throws(() => new BootIdentities({ memberCount: 3, forget_ms: 10 }), /forget_ms/);
    assert.throws(() => identities().heard(0, 3, OLD), /out of range/);
  });
});
