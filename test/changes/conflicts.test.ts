/**
 * conflicts: a change made against an old version is refused only when a change committed since
 * touched the same part of the same system or server (the rule in src/changes/conflicts.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/change.js';
import { conflicts, conflictsPending } from '../../src/changes/conflicts.js';

const v = { base_version: 5 };
const dataAdd = (system: string, ...items: string[]): ConfigChange => ({
  kind: 'data_add',
  system,
  items,
  ...v,
});
const dataRm = (system: string, ...items: string[]): ConfigChange => ({
  kind: 'data_rm',
  system,
  items,
  ...v,
});
const set = (system: string, values: Record<string, unknown>): ConfigChange =>
  ({ kind: 'system_set', system, values, ...v }) as ConfigChange;
const serverAdd = (id: string, ...systems: string[]): ConfigChange => ({
  kind: 'server_add',
  id,
  ip: '10.0.0.9',
  port: 2200,
  systems,
  ...v,
});
const serverRm = (id: string): ConfigChange => ({ kind: 'server_rm', id, ...v });
const systemAdd = (system: string, ...members: string[]): ConfigChange => ({
  kind: 'system_add',
  system,
  definition: { alive: 'a', down: 'd', type: 'hash', data: [] },
  members,
  ...v,
});
const systemRm = (system: string): ConfigChange => ({ kind: 'system_rm', system, ...v });

/** [change, a change committed since, what both touch (undefined: no conflict)] */
const TABLE: [ConfigChange, ConfigChange, string | undefined][] = [
  [dataAdd('vip', 'A'), dataAdd('vip', 'A'), 'item "A" of system "vip"'],
  [dataAdd('vip', 'A', 'B'), dataRm('vip', 'B'), 'item "B" of system "vip"'],
  [dataRm('vip', 'A'), dataRm('vip', 'A'), 'item "A" of system "vip"'],
  [dataAdd('vip', 'A'), dataAdd('vip', 'B'), undefined],
  [dataAdd('vip', 'A'), dataAdd('web', 'A'), undefined],
  [dataAdd('vip', 'A'), set('vip', { delay: 200 }), undefined],
  [dataAdd('vip', 'A'), systemRm('vip'), 'item "A" of system "vip"'],
  [dataAdd('vip', 'A'), systemAdd('vip', 'flip1'), 'item "A" of system "vip"'],
  [set('vip', { delay: 200 }), set('vip', { delay: 300 }), 'delay of system "vip"'],
  [set('vip', { delay: 200, check: null }), set('vip', { check: '/bin/true' }), 'check of system "vip"'],
  [set('vip', { delay: 200 }), set('vip', { fence: 900 }), undefined],
  [set('vip', { delay: 200 }), set('web', { delay: 300 }), undefined],
  [set('vip', { delay: 200 }), systemRm('vip'), 'delay of system "vip"'],
  [systemRm('vip'), dataAdd('vip', 'Z'), 'item "Z" of system "vip"'],
  [systemRm('vip'), systemRm('web'), undefined],
  [systemAdd('web', 'flip1'), systemAdd('web', 'flip2'), 'system "web"'],
  [systemAdd('web', 'flip1'), serverRm('flip1'), 'the membership of server "flip1" in system "web"'],
  [systemAdd('web', 'flip1'), serverRm('flip2'), undefined],
  [serverAdd('flip4', 'vip'), serverRm('flip4'), 'server "flip4"'],
  [serverAdd('flip4', 'vip'), serverAdd('flip4'), 'server "flip4"'],
  [serverAdd('flip4', 'vip'), systemRm('vip'), 'the membership of server "flip4" in system "vip"'],
  [serverAdd('flip4', 'vip'), serverAdd('flip5', 'vip'), undefined],
  [serverAdd('flip4', 'vip'), dataAdd('vip', 'A'), undefined],
  [serverRm('flip4'), serverRm('flip4'), 'server "flip4"'],
  [serverRm('flip4'), serverRm('flip5'), undefined],
  [serverRm('flip4'), systemAdd('web', 'flip4'), 'the membership of server "flip4" in system "web"'],
  [serverRm('flip1'), systemRm('vip'), undefined],
];

describe('conflicts', () => {
  for (const [change, later, touched] of TABLE)
    it(`${change.kind} then ${later.kind}: ${touched ?? 'no conflict'}`, () => {
      const found = conflicts(change, [later]);
      if (touched === undefined) assert.equal(found, undefined);
      else assert.match(found ?? '', new RegExp(`both change ${escapeRegExp(touched)};`));
      // The rule is symmetric: which of the two came first does not matter.
      assert.equal(conflicts(later, [change]) === undefined, touched === undefined);
    });

  it('names the first conflicting change by its version, counted from the base', () => {
    const message = conflicts(dataAdd('vip', 'A', 'B'), [
      dataAdd('vip', 'C'),
      dataRm('vip', 'B'),
      dataRm('vip', 'A'),
    ]);
    assert.equal(
      message,
      'conflicts with version 7 (data rm vip B), committed after version 5 that this change was made against: both change item "B" of system "vip"; look at the config again (flip config show) and retry',
    );
  });

  it('finds nothing when nothing was committed since the base', () => {
    for (const [change] of TABLE) assert.equal(conflicts(change, []), undefined);
  });

  it('tells names apart whatever they hold', () => {
    assert.equal(conflicts(dataAdd('a", "b', 'x'), [dataAdd('a', '", "b", "x')]), undefined);
    assert.notEqual(conflicts(dataAdd('a b', 'x y'), [dataRm('a b', 'x y')]), undefined);
  });

  it('finds the one item two long lists share', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`);
    const others = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.2`);
    assert.equal(conflicts(dataAdd('vip', ...many), [dataAdd('vip', ...others)]), undefined);
    assert.match(
      conflicts(dataAdd('vip', ...many), [dataRm('vip', ...others, many[4999]!)]) ?? '',
      /both change item "10\.19\.135\.1" of system "vip"/,
    );
  });
});

describe('conflictsPending', () => {
  it('applies the same rule to changes not committed yet, whatever the base, and says they are pending', () => {
    for (const [change, later, touched] of TABLE) {
      const found = conflictsPending({ ...change, base_version: 9 }, [later]);
      assert.equal(found === undefined, touched === undefined, `${change.kind} then ${later.kind}`);
    }
    assert.equal(
      conflictsPending(set('vip', { delay: 200 }), [dataAdd('vip', 'C'), set('vip', { delay: 300 })]),
      'conflicts with a change not committed yet (system set vip delay=300), made at the same time: both change delay of system "vip"; retry once it is committed (flip config show)',
    );
    assert.equal(conflictsPending(dataAdd('vip', 'A'), []), undefined);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
