import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { HealthMonitor } from '../../src/health/health-monitor.js';
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

describe('health: the monitor reshaped at runtime (HealthMonitor.reshape)', () => {
  const base = parseConfig(
    JSON.stringify({
      id: 'a',
      key: 'secret',
      servers: { a: { ip: '127.0.0.1', port: 2300, systems: ['web'] } },
      cluster: {
        system: { web: { alive: 'up', down: 'down', type: 'shard', data: ['x'], hold_down: 1000 } },
      },
    }),
    'reshape',
  ).systems[0]!;

  it('a check added starts from the verdict the system had: its items stay until it fails `fall` times', () => {
    const monitor = new HealthMonitor([base], 0);
    assert.deepEqual(monitor.sets(2000).holding, [], 'past the start hold-down');
    monitor.reshape(2000, [{ ...base, check: 'check', fall: 2, rise: 1, check_interval_ms: 100 }]);
    assert.equal(monitor.verdict('web'), 'passing');
    assert.deepEqual(monitor.sets(2000), { failing: [], holding: [], fresh: [] });
    const [first] = monitor.due(2000);
    assert.equal(first?.script, 'check');
    assert.equal(monitor.result(2010, 'web', first!.run, false), undefined, 'one failure is not `fall`');
    const [second] = monitor.due(2100);
    assert.equal(monitor.result(2110, 'web', second!.run, false), 'failing');
    assert.deepEqual(monitor.sets(2110).failing, ['web']);
  });

  it('a system taken up holds down as at a start; one dropped is forgotten', () => {
    const monitor = new HealthMonitor([base], 0);
    const db = { ...base, name: 'db' };
    monitor.reshape(5000, [base, db]);
    assert.deepEqual(monitor.sets(5000), { failing: [], holding: ['db'], fresh: [] });
    assert.deepEqual(monitor.sets(6000), { failing: [], holding: [], fresh: [] });
    monitor.reshape(7000, [db]);
    assert.deepEqual(monitor.sets(7000), { failing: [], holding: [], fresh: [] });
  });
});
