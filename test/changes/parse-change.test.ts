/**
 * parseChange: a change from the API or another server's log is checked field by field, with the
 * config file's messages naming the field; and the settable keys follow the config schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHANGE_KINDS, type ConfigChange } from '../../src/changes/change.js';
import {
  CHANGE_BYTES_MAX,
  CHANGE_DEPTH_MAX,
  configChangeSchema,
  parseChange,
  SETTABLE_KEYS,
} from '../../src/changes/parse-change.js';
import type { ConfigIssue } from '../../src/config/errors.js';
import { systemSchema } from '../../src/config/schema.js';

const GOOD: ConfigChange[] = [
  { kind: 'data_add', system: 'vip', items: ['10.0.0.9', '10.0.0.10'], base_version: 0 },
  { kind: 'data_rm', system: 'vip', items: ['a b', 'line\nbreak'], base_version: 7 },
  { kind: 'server_add', id: 'flip4', ip: '10.0.0.4', port: 2204, base_version: 3 },
  {
    kind: 'server_add',
    id: 'flip4',
    ip: 'fd00::4',
    port: 1,
    priority: -1.5,
    systems: ['vip', 'web'],
    base_version: 3,
  },
  { kind: 'server_rm', id: 'flip4', base_version: 3 },
  {
    kind: 'system_set',
    system: 'vip',
    values: { delay: 0, check: null, type: 'choose_one' },
    base_version: 1,
  },
  {
    kind: 'system_add',
    system: 'web',
    definition: { alive: 'up', down: 'down', type: 'hash', data: [], config: { a: [1, { b: null }] } },
    members: ['flip1'],
    base_version: 2,
  },
  { kind: 'system_rm', system: 'web', base_version: 2 },
];

describe('parseChange: good changes', () => {
  for (const change of GOOD)
    it(`accepts ${change.kind}`, () => {
      const parsed = parseChange(JSON.parse(JSON.stringify(change)));
      assert.deepEqual(parsed, { ok: true, change });
      assert.equal(configChangeSchema.safeParse(change).success, true);
    });

  it('covers every kind', () => {
    assert.deepEqual([...new Set(GOOD.map((change) => change.kind))].sort(), [...CHANGE_KINDS].sort());
  });
});

/** A bad change, and the issues it must give (path, and the start of the message). */
const BAD: [string, unknown, [string, string][]][] = [
  ['not an object', [1], [['', 'a change must be an object of keys and values (got a list)']]],
  ['no kind', { system: 'vip' }, [['kind', 'is required (one of: data_add, data_rm, server_add,']]],
  ['a misspelt kind', { kind: 'data_ad' }, [['kind', '"data_ad" is not one of: data_add,']]],
  ['a kind of the wrong type', { kind: 3 }, [['kind', 'must be one of: data_add,']]],
  [
    'missing fields',
    { kind: 'data_add' },
    [
      ['system', 'is required (a string)'],
      ['items', 'is required (a list)'],
      ['base_version', 'is required (a number)'],
    ],
  ],
  [
    'an unknown field, with a hint',
    { kind: 'server_rm', id: 'a', base_version: 0, bse_version: 1 },
    [
      [
        'bse_version',
        'unknown key "bse_version" (did you mean "base_version"?); known keys: kind, id, base_version',
      ],
    ],
  ],
  [
    'no items, a negative version',
    { kind: 'data_rm', system: 'vip', items: [], base_version: -1 },
    [
      ['items', 'must list at least one item'],
      ['base_version', 'must be 0 or more'],
    ],
  ],
  [
    'a fractional version',
    { kind: 'system_rm', system: 'vip', base_version: 1.5 },
    [['base_version', 'must be a whole number']],
  ],
  [
    'an item twice, an empty item, a NUL',
    { kind: 'data_add', system: 'vip', items: ['a', '', 'a', 'b\u0000'], base_version: 0 },
    [
      ['items[1]', 'must not be empty'],
      ['items[2]', '"a" is listed twice (also at [0])'],
      ['items[3]', 'contains a NUL character'],
    ],
  ],
  [
    'a system name with a control character',
    { kind: 'system_rm', system: 'v\u0007ip', base_version: 0 },
    [['system', 'contains a control character (U+0007 at character 2)']],
  ],
  [
    'a server with a bad port and an empty ip',
    { kind: 'server_add', id: 'x', ip: '', port: 70000, base_version: 0 },
    [
      ['ip', 'must not be empty'],
      ['port', 'is out of range (1 to 65,535)'],
    ],
  ],
  [
    'a system joined twice',
    { kind: 'server_add', id: 'x', ip: '10.0.0.1', port: 1, systems: ['vip', 'vip'], base_version: 0 },
    [['systems[1]', '"vip" is listed twice (also at [0])']],
  ],
  [
    'values of the wrong type, with the config file message',
    {
      kind: 'system_set',
      system: 'vip',
      values: { delay: '5s', type: 'shrd', preempt: 'no' },
      base_version: 0,
    },
    [
      ['values.delay', 'must be a number (got the string "5s")'],
      ['values.type', '"shrd" is not one of: shard, sharded,'],
      ['values.preempt', 'must be true or false (got the string "no")'],
    ],
  ],
  [
    'a value out of the config range',
    { kind: 'system_set', system: 'vip', values: { check_interval: 5 }, base_version: 0 },
    [['values.check_interval', 'is out of range (100 to']],
  ],
  [
    'a misspelt key',
    { kind: 'system_set', system: 'vip', values: { dealy: 5 }, base_version: 0 },
    [['values.dealy', 'unknown key "dealy" (did you mean "delay"?)']],
  ],
  [
    'data set whole',
    { kind: 'system_set', system: 'vip', values: { data: ['a'] }, base_version: 0 },
    [['values.data', 'cannot be set whole: items change through data_add and data_rm']],
  ],
  [
    'a required key removed',
    { kind: 'system_set', system: 'vip', values: { alive: null }, base_version: 0 },
    [['values.alive', 'cannot be removed: every system needs alive, down, type']],
  ],
  [
    'nothing set',
    { kind: 'system_set', system: 'vip', values: {}, base_version: 0 },
    [['values', 'must set at least one key']],
  ],
  [
    'a definition missing keys, and no members',
    {
      kind: 'system_add',
      system: 'web',
      definition: { alive: 'a', type: 'hash' },
      members: [],
      base_version: 0,
    },
    [
      ['definition.down', 'is required (a string)'],
      ['definition.data', 'is required (a list)'],
      ['members', 'must name at least one server: a system needs a member'],
    ],
  ],
];

function matches(issues: ConfigIssue[], expected: [string, string][]): void {
  assert.equal(issues.length, expected.length, JSON.stringify(issues));
  for (const [path, start] of expected)
    assert.ok(
      issues.some((issue) => issue.path === path && issue.message.startsWith(start)),
      `no ${path}: ${start}… in ${JSON.stringify(issues)}`,
    );
}

describe('parseChange: bad changes name the field', () => {
  for (const [name, value, expected] of BAD)
    it(name, () => {
      const parsed = parseChange(value);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) matches(parsed.issues, expected);
      assert.equal(configChangeSchema.safeParse(value).success, false);
    });

  it('refuses a key __proto__ anywhere, which the schema would drop', () => {
    const value = JSON.parse(
      '{"kind":"system_set","system":"vip","values":{"config":{"a":{"__proto__":{"x":1}}}},"base_version":0}',
    );
    const parsed = parseChange(value);
    assert.equal(parsed.ok, false);
    if (!parsed.ok)
      matches(parsed.issues, [
        ['values.config.a.__proto__', 'the key "__proto__" is reserved by JavaScript'],
      ]);
  });

  it('refuses nesting deeper than its bound, without walking it recursively', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const parsed = parseChange({
      kind: 'system_set',
      system: 'vip',
      values: { config: { deep } },
      base_version: 0,
    });
    assert.equal(parsed.ok, false);
    if (!parsed.ok)
      assert.match(parsed.issues[0]!.message, new RegExp(`deeper than ${CHANGE_DEPTH_MAX} levels`));
  });

  it('refuses a change larger than a config file may be', () => {
    const items = Array.from({ length: 600 }, (_, i) => `${i}-${'x'.repeat(16_000)}`);
    const value = { kind: 'data_add', system: 'vip', items, base_version: 0 };
    const bytes = Buffer.byteLength(JSON.stringify(value));
    assert.ok(bytes > CHANGE_BYTES_MAX);
    const parsed = parseChange(value);
    assert.equal(parsed.ok, false);
    if (!parsed.ok)
      assert.deepEqual(parsed.issues, [
        {
          path: '',
          message: `the change is ${bytes.toLocaleString('en-US')} bytes as JSON; at most 8,388,608 (as a config file)`,
        },
      ]);
  });
});

describe('system_set: what may be set', () => {
  it('is every key of a system in the config schema but data, so that a new key is settable at once', () => {
    assert.deepEqual(
      [...SETTABLE_KEYS].sort(),
      Object.keys(systemSchema.shape)
        .filter((key) => key !== 'data')
        .sort(),
    );
  });

  it('accepts null for every optional key, and for none of alive, down, type', () => {
    for (const key of SETTABLE_KEYS) {
      const parsed = parseChange({
        kind: 'system_set',
        system: 'vip',
        values: { [key]: null },
        base_version: 0,
      });
      assert.equal(parsed.ok, !['alive', 'down', 'type'].includes(key), key);
    }
  });
});
