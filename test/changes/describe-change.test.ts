/** describeChange: one line per change, written like the command that makes it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/change.js';
import { describeChange } from '../../src/changes/describe-change.js';

const b = { base_version: 3 };

const TABLE: [ConfigChange, string][] = [
  [
    { kind: 'data_add', system: 'vip', items: ['10.0.0.9', '10.0.0.10'], ...b },
    'data add vip 10.0.0.9 10.0.0.10',
  ],
  [
    { kind: 'data_rm', system: 'vip', items: ['fd00::9', '10.0.0.0/24'], ...b },
    'data rm vip fd00::9 10.0.0.0/24',
  ],
  [
    { kind: 'data_add', system: 'web pool', items: ['a b', 'c\nd'], ...b },
    'data add "web pool" "a b" "c\\nd"',
  ],
  [
    { kind: 'data_add', system: 'vip', items: Array.from({ length: 20 }, (_, i) => `i${i}`), ...b },
    'data add vip i0 i1 i2 i3 i4 i5 i6 i7 (and 12 more)',
  ],
  [
    {
      kind: 'server_add',
      id: 'flip4',
      ip: '10.0.0.4',
      port: 2204,
      priority: 2,
      systems: ['vip', 'web'],
      ...b,
    },
    'server add flip4 --ip 10.0.0.4 --port 2204 --priority 2 --systems vip,web',
  ],
  [{ kind: 'server_add', id: 'arb', ip: '::1', port: 2300, ...b }, 'server add arb --ip ::1 --port 2300'],
  [{ kind: 'server_rm', id: 'flip4', ...b }, 'server rm flip4'],
  [
    {
      kind: 'system_set',
      system: 'vip',
      values: { delay: 200, check: null, alive: '/usr/lib/flip/vip-up', config: { interface: 'eth0' } },
      ...b,
    },
    'system set vip delay=200 check=null alive=/usr/lib/flip/vip-up config={"interface":"eth0"}',
  ],
  [
    { kind: 'system_set', system: 'vip', values: { alive: 'null', down: '500', preempt: false }, ...b },
    'system set vip alive="null" down="500" preempt=false',
  ],
  [
    {
      kind: 'system_set',
      system: 'vip',
      values: { config: { long: 'x'.repeat(100) } },
      ...b,
    },
    'system set vip config={"long":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (111 characters)',
  ],
  [
    {
      kind: 'system_add',
      system: 'web',
      definition: { alive: 'up', down: 'down', type: 'hash', data: ['a', 'b'] },
      members: ['flip1', 'flip2'],
      ...b,
    },
    'system add web (type hash, 2 items, members flip1,flip2)',
  ],
  [{ kind: 'system_rm', system: 'web', ...b }, 'system rm web'],
];

describe('describeChange', () => {
  for (const [change, line] of TABLE)
    it(line, () => {
      assert.equal(describeChange(change), line);
    });

  it('stays one short line whatever the change holds', () => {
    const line = describeChange({
      kind: 'data_add',
      system: 's'.repeat(300),
      items: ['x\n'.repeat(10_000), ...Array.from({ length: 10_000 }, (_, i) => `${i}`)],
      ...b,
    });
    assert.equal(line.includes('\n'), false);
    assert.ok(line.length < 300, line);
  });
});
