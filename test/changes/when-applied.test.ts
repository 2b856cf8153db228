/** whenApplied: which committed changes the running agents take at once, and which at their next start. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/change.js';
import { whenApplied, whenAppliedLine } from '../../src/changes/when-applied.js';
import { committedChange, systemsToRetire } from '../../src/config/runtime-change.js';
import { readmeCluster } from '../../src/sim/clusters.js';

describe('whenApplied', () => {
  it('items, servers and systems added or removed apply at once; a removed server leaves first', () => {
    const base = { base_version: 1 };
    assert.deepEqual(whenApplied({ kind: 'data_add', system: 'ip', items: ['x'], ...base }), {
      kind: 'at_once',
    });
    assert.deepEqual(whenApplied({ kind: 'data_rm', system: 'ip', items: ['x'], ...base }), {
      kind: 'at_once',
    });
    assert.deepEqual(whenApplied({ kind: 'server_add', id: 'f', ip: '10.0.0.9', port: 1, ...base }), {
      kind: 'joins',
      id: 'f',
    });
    assert.match(
      whenAppliedLine({ kind: 'joins', id: 'f' })!,
      /took f in at once; start its agent with flip agent --join/,
    );
    assert.equal(
      whenAppliedLine({ kind: 'removed_leaves', id: 'flip2' }),
      'flip2 leaves by itself; the other agents take this once it has left',
    );
    assert.deepEqual(whenApplied({ kind: 'system_rm', system: 'ip', ...base }), { kind: 'at_once' });
    assert.deepEqual(whenApplied({ kind: 'server_rm', id: 'flip2', ...base }), {
      kind: 'removed_leaves',
      id: 'flip2',
    });
    assert.equal(whenAppliedLine({ kind: 'at_once' }), undefined);
  });

  it("a system_set's keys wait exactly when a running agent's committedChange says their fields need a restart; a new config is taken up anew", () => {
    const config = readmeCluster();
    const ip = config.systems.find((system) => system.name === 'ip')!;
    // Each settable key, set to a value its field takes, and whether runtimeChange applies it.
    const cases: [string, unknown, Partial<typeof ip>][] = [
      ['type', 'hash', { type: 'hash' }],
      ['preempt', false, { preempt: false }],
      ['alive', '/bin/true', { alive: '/bin/true' }],
      ['down', '/bin/true', { down: '/bin/true' }],
      ['delay', 10, { delay_ms: 10 }],
      ['script_timeout', 10, { script_timeout_ms: 10 }],
      ['config', { dev: 'lo' }, { config: { dev: 'lo' } }],
      ['no_quorum_policy', 'release', { no_quorum_policy: 'release' }],
      ['hold_down', 0, { hold_down_ms: 0 }],
      ['check', '/bin/true', { check: '/bin/true' }],
      ['fence', 5000, { fence_ms: 5000 }],
      ['lease', '/bin/true', { lease: '/bin/true' }],
    ];
    for (const [key, value, fields] of cases) {
      const change: ConfigChange = {
        kind: 'system_set',
        system: 'ip',
        values: { [key]: value },
        base_version: 1,
      };
      const next = {
        ...config,
        systems: config.systems.map((s) => (s.name === 'ip' ? { ...s, ...fields } : s)),
      };
      const kind = committedChange(config, next).kind;
      const atOnce = kind === 'systems' || kind === 'lists';
      const expected = !atOnce
        ? { kind: 'at_restart', keys: [key] }
        : systemsToRetire(config, next).length > 0
          ? { kind: 'set_up_anew', system: 'ip' }
          : { kind: 'at_once' };
      assert.deepEqual(whenApplied(change), expected, `${key}: committedChange says ${kind}`);
    }
  });
});
