/**
 * What the log carries: which changes alter the majorities, the servers of a config, folding an
 * entry (src/changes' applyChange: applied, no_op or invalid; a leader's no-op changes nothing),
 * and the check of a stored entry's change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  configAfter,
  foldChange,
  isConfigChange,
  isMembershipChange,
  parseLogChange,
  serverIdsOf,
} from '../../src/consensus/log-change.js';
import { testConfig } from '../../src/consensus/testing.js';

const BASE = testConfig(['s2', 's1', 's3']);

describe('log changes', () => {
  it('server changes are membership changes; a noop is not a config change', () => {
    assert.equal(isMembershipChange({ kind: 'server_rm', id: 'a', base_version: 0 }), true);
    assert.equal(
      isMembershipChange({ kind: 'server_add', id: 'a', ip: '127.0.0.1', port: 1, base_version: 0 }),
      true,
    );
    assert.equal(
      isMembershipChange({ kind: 'data_rm', system: 'vip', items: ['a'], base_version: 0 }),
      false,
    );
    assert.equal(isMembershipChange({ kind: 'noop' }), false);
    assert.equal(isConfigChange({ kind: 'noop' }), false);
    assert.equal(isConfigChange({ kind: 'system_rm', system: 'vip', base_version: 0 }), true);
  });

  it('the servers of a config, sorted; none for a malformed one', () => {
    assert.deepEqual(serverIdsOf(BASE), ['s1', 's2', 's3']);
    assert.deepEqual(serverIdsOf({ servers: 'none' }), []);
    assert.deepEqual(serverIdsOf({}), []);
  });
});

describe('foldChange', () => {
  it('applies a change that fits: a new config, the input untouched', () => {
    const before = structuredClone(BASE);
    const outcome = foldChange(BASE, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    assert.equal(outcome?.kind, 'applied');
    const after = configAfter(BASE, outcome);
    assert.deepEqual((after.cluster as { system: { vip: { data: string[] } } }).system.vip.data, ['a']);
    assert.deepEqual(BASE, before);
  });

  it('a change that no longer fits, or changes nothing, leaves the config as it was', () => {
    const added = configAfter(
      BASE,
      foldChange(BASE, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 }),
    );
    const again = foldChange(added, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    assert.equal(again?.kind, 'invalid');
    assert.equal(configAfter(added, again), added);
    const same = foldChange(added, {
      kind: 'system_set',
      system: 'vip',
      values: { type: 'single' },
      base_version: 1,
    });
    assert.equal(same?.kind, 'no_op');
    assert.equal(configAfter(added, same), added);
  });

  it("a leader's no-op folds to nothing", () => {
    assert.equal(foldChange(BASE, { kind: 'noop' }), null);
    assert.equal(configAfter(BASE, null), BASE);
  });
});

describe('parseLogChange', () => {
  it('takes a no-op and a well-formed change, and refuses anything else with the field named', () => {
    assert.deepEqual(parseLogChange({ kind: 'noop' }), { ok: true, change: { kind: 'noop' } });
    const change = { kind: 'server_rm', id: 's1', base_version: 3 };
    assert.deepEqual(parseLogChange(change), { ok: true, change });
    const extra = parseLogChange({ kind: 'noop', x: 1 });
    assert.equal(extra.ok, false);
    // The older shape of server_add (a `server` object, no base_version) is refused.
    const old = parseLogChange({ kind: 'server_add', id: 's4', server: { ip: '127.0.0.1', port: 1 } });
    assert.equal(old.ok, false);
    assert.ok(!old.ok && old.issues.some((issue) => issue.path === 'base_version'));
  });
});
