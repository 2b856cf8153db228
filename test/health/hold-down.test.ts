import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldDown } from '../../src/health/hold-down.js';

const WEB = { name: 'web', hold_down_ms: 10_000, checked: true };
const IP = { name: 'ip', hold_down_ms: 5_000, checked: false };
const peersReady = () => true;
const nobodyReady = () => false;

describe('health: hold-down', () => {
  it('a started server holds down from its first healthy moment', () => {
    const hold = new HoldDown([WEB, IP], 0);
    assert.deepEqual(hold.sets(0, peersReady), { failing: ['web'], holding: ['ip'], fresh: [] });
    hold.verdict(2000, 'web', 'passing');
    assert.deepEqual(hold.sets(4999, peersReady), { failing: [], holding: ['web', 'ip'], fresh: [] });
    assert.deepEqual(hold.sets(5000, peersReady), { failing: [], holding: ['web'], fresh: [] });
    assert.equal(hold.nextWakeAt(5000), 12_000);
    assert.deepEqual(hold.sets(12_000, peersReady), { failing: [], holding: [], fresh: [] });
    assert.equal(hold.nextWakeAt(12_000), Number.POSITIVE_INFINITY);
  });

  it('a check passing again holds down again; failing is failing at once', () => {
    const hold = new HoldDown([WEB], 0);
    hold.verdict(0, 'web', 'passing');
    assert.deepEqual(hold.sets(10_000, peersReady).holding, []);
    hold.verdict(20_000, 'web', 'failing');
    assert.deepEqual(hold.sets(20_000, peersReady), { failing: ['web'], holding: [], fresh: [] });
    hold.verdict(30_000, 'web', 'passing');
    assert.deepEqual(hold.sets(39_999, peersReady).holding, ['web']);
    assert.deepEqual(hold.sets(40_000, peersReady).holding, []);
  });

  it('a refutation holds down again, never shortening one under way', () => {
    const hold = new HoldDown([IP], 0);
    assert.deepEqual(hold.sets(6000, peersReady).holding, []);
    hold.refuted(7000);
    assert.deepEqual(hold.sets(11_999, peersReady).holding, ['ip']);
    hold.refuted(8000);
    assert.equal(hold.nextWakeAt(8000), 13_000);
    assert.deepEqual(hold.sets(13_000, peersReady).holding, []);
  });

  it('ends a hold-down at once where no other live member is settled, once the view is known', () => {
    const hold = new HoldDown([WEB, IP], 0);
    hold.verdict(0, 'web', 'passing');
    // The view is not known yet: the hold-down stands.
    assert.deepEqual(hold.sets(100), { failing: [], holding: ['web', 'ip'], fresh: [] });
    // Nobody else serves ip: no reason to wait, and ip is fresh for its hold-down's length.
    const webOnly = (system: string) => system === 'web';
    assert.deepEqual(hold.sets(200, webOnly), { failing: [], holding: ['web'], fresh: ['ip'] });
    // Once ended it stays ended, whatever the peers do later.
    assert.deepEqual(hold.sets(300, peersReady), { failing: [], holding: ['web'], fresh: ['ip'] });
    assert.equal(hold.nextWakeAt(300), 5200);
    assert.deepEqual(hold.sets(5200, peersReady), { failing: [], holding: ['web'], fresh: [] });
    assert.deepEqual(hold.sets(5300, nobodyReady), { failing: [], holding: [], fresh: ['web'] });
  });

  it('never ends a failing check early', () => {
    const hold = new HoldDown([WEB], 0);
    assert.deepEqual(hold.sets(100, nobodyReady), { failing: ['web'], holding: [], fresh: [] });
  });
});
