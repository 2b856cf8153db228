/**
 * applyChange: what each kind makes of the README's config, the messages of a change that does not
 * fit or whose result is not a valid config (the config file's own), the quorum default, no-ops,
 * and that the input is never changed nor shared with the result.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChange, type ChangeOutcome, configIssues } from '../../src/changes/apply.js';
import type { ConfigChange } from '../../src/changes/change.js';
import { ConfigError, type ConfigIssue, parseClusterConfig } from '../../src/config/index.js';
import { CONFIG_FILE_BYTES_MAX } from '../../src/config/limits.js';
import type { ConfigDocument } from '../../src/state/cluster-state.js';
import { sameJson } from '../../src/state/json-equal.js';
import { at, deepFreeze, readmeDocument } from './documents.js';

type Edit = (doc: ConfigDocument) => void;
// biome-ignore lint/suspicious/noExplicitAny: tests write into documents at known paths.
type Any = any;

function applied(outcome: ChangeOutcome): ConfigDocument {
  assert.equal(outcome.kind, 'applied', JSON.stringify(outcome));
  return (outcome as { config: ConfigDocument }).config;
}

function invalid(outcome: ChangeOutcome, source: 'change' | 'config'): ConfigIssue[] {
  assert.equal(outcome.kind, 'invalid', JSON.stringify(outcome));
  const found = outcome as Extract<ChangeOutcome, { kind: 'invalid' }>;
  assert.equal(found.source, source, JSON.stringify(found.issues));
  return found.issues;
}

/** A config file with this document as its text: how an operator's file would be checked. */
function fileIssues(doc: ConfigDocument): ConfigIssue[] {
  try {
    parseClusterConfig(JSON.stringify(doc), 'cluster.json');
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
}

const base = { base_version: 0 };

/** Each kind applied to the README's config, and the document it must give. */
const APPLIED: [string, ConfigChange, Edit][] = [
  [
    'data_add appends the items at the end, in the order given',
    { kind: 'data_add', system: 'ip', items: ['192.168.0.9', '192.168.0.3'], ...base },
    (d: Any) => d.cluster.system.ip.data.push('192.168.0.9', '192.168.0.3'),
  ],
  [
    'data_rm removes items and keeps the order of the others',
    { kind: 'data_rm', system: 'ip', items: ['192.168.0.2'], ...base },
    (d: Any) => {
      d.cluster.system.ip.data = ['192.168.0.1'];
    },
  ],
  [
    'data_rm may empty a system',
    { kind: 'data_rm', system: 'ip', items: ['192.168.0.1', '192.168.0.2'], ...base },
    (d: Any) => {
      d.cluster.system.ip.data = [];
    },
  ],
  [
    'server_add writes the server as a config file would, a member of its systems',
    { kind: 'server_add', id: 'flip3', ip: '127.0.0.1', port: 2203, priority: 2, systems: ['ip'], ...base },
    (d: Any) => {
      d.servers.flip3 = { ip: '127.0.0.1', port: 2203, priority: 2, systems: ['ip'] };
    },
  ],
  [
    'server_add without systems adds an arbiter, with no key it was not given',
    { kind: 'server_add', id: 'arb', ip: '::1', port: 2300, ...base },
    (d: Any) => {
      d.servers.arb = { ip: '::1', port: 2300 };
    },
  ],
  [
    'server_rm removes an arbiter',
    { kind: 'server_rm', id: 'flip2', ...base },
    (d: Any) => {
      delete d.servers.flip2;
    },
  ],
  [
    'server_rm removes a member, and with it its membership',
    { kind: 'server_rm', id: 'flip1', ...base },
    (d: Any) => {
      delete d.servers.flip1;
    },
  ],
  [
    'system_set sets keys under the config file names',
    {
      kind: 'system_set',
      system: 'ip',
      values: {
        type: 'hash',
        delay: 200,
        check: '/bin/true',
        check_interval: 1000,
        config: { interface: 'eth0' },
      },
      ...base,
    },
    (d: Any) => {
      Object.assign(d.cluster.system.ip, {
        type: 'hash',
        delay: 200,
        check: '/bin/true',
        check_interval: 1000,
        config: { interface: 'eth0' },
      });
    },
  ],
  [
    'system_set removes a key set to null, back to its default',
    { kind: 'system_set', system: 'ip', values: { config: null }, ...base },
    (d: Any) => {
      delete d.cluster.system.ip.config;
    },
  ],
  [
    'system_add adds the system and makes its members list it',
    {
      kind: 'system_add',
      system: 'web',
      definition: { alive: 'web_up', down: 'web_down', type: 'single', data: ['10.1.0.1'] },
      members: ['flip2', 'flip'],
      ...base,
    },
    (d: Any) => {
      d.cluster.system.web = { alive: 'web_up', down: 'web_down', type: 'single', data: ['10.1.0.1'] };
      d.servers.flip2.systems = ['web'];
      d.servers.flip.systems = ['ip', 'web'];
    },
  ],
  [
    'system_rm removes the system and its name from every server (an emptied list goes)',
    { kind: 'system_rm', system: 'ip', ...base },
    (d: Any) => {
      delete d.cluster.system.ip;
      delete d.servers.flip.systems;
      delete d.servers.flip1.systems;
    },
  ],
];

describe('applyChange: applied', () => {
  for (const [name, change, edit] of APPLIED)
    it(name, () => {
      const config = applied(applyChange(readmeDocument(), change));
      const expected = readmeDocument();
      edit(expected);
      assert.ok(sameJson(config, expected), `got ${JSON.stringify(config)}`);
      // The result is a config that the config file's validation accepts, written as a file too.
      assert.deepEqual(configIssues(config), []);
      assert.deepEqual(fileIssues(config), []);
    });

  it('keeps the keys of a server it does not touch, api and all', () => {
    const doc: Any = readmeDocument();
    doc.servers.flip2.api = { listen: '127.0.0.1:9000', token: 't' };
    const config: Any = applied(applyChange(doc, { kind: 'server_rm', id: 'flip1', ...base }));
    assert.deepEqual(config.servers.flip2, doc.servers.flip2);
  });
});

/** Changes that do not fit the README's config: the field named, and the message. */
const NOT_FITTING: [ConfigChange, string, string][] = [
  [
    { kind: 'data_add', system: 'ipp', items: ['10.0.0.1'], ...base },
    'system',
    'unknown system "ipp" (did you mean "ip"?); cluster.system defines: ip',
  ],
  [
    { kind: 'data_add', system: 'ip', items: ['10.0.0.1', '192.168.0.1'], ...base },
    'items[1]',
    '"192.168.0.1" is already in system "ip" (cluster.system.ip.data[1])',
  ],
  [
    { kind: 'data_rm', system: 'ip', items: ['192.168.0.2', '192.168.0.7'], ...base },
    'items[1]',
    '"192.168.0.7" is not in system "ip"',
  ],
  [
    { kind: 'data_rm', system: 'web', items: ['x'], ...base },
    'system',
    'unknown system "web"; cluster.system defines: ip',
  ],
  [
    { kind: 'server_add', id: 'flip1', ip: '127.0.0.1', port: 2209, ...base },
    'id',
    '"flip1" is already a server (servers.flip1)',
  ],
  [
    { kind: 'server_add', id: 'flip3', ip: '127.0.0.1', port: 2203, systems: ['ip', 'pi'], ...base },
    'systems[1]',
    'unknown system "pi" (did you mean "ip"?); cluster.system defines: ip',
  ],
  [
    { kind: 'server_rm', id: 'flip9', ...base },
    'id',
    'unknown server "flip9" (did you mean "flip"?); servers: flip, flip1, flip2',
  ],
  [
    { kind: 'server_rm', id: 'flp2', ...base },
    'id',
    'unknown server "flp2" (did you mean "flip2"?); servers: flip, flip1, flip2',
  ],
  [
    { kind: 'system_set', system: 'vip', values: { delay: 1 }, ...base },
    'system',
    'unknown system "vip" (did you mean "ip"?); cluster.system defines: ip',
  ],
  [
    {
      kind: 'system_add',
      system: 'ip',
      definition: { alive: 'a', down: 'd', type: 'hash', data: [] },
      members: ['flip'],
      ...base,
    },
    'system',
    'system "ip" is already there (cluster.system.ip)',
  ],
  [
    {
      kind: 'system_add',
      system: 'web',
      definition: { alive: 'a', down: 'd', type: 'hash', data: [] },
      members: ['flip', 'flip4'],
      ...base,
    },
    'members[1]',
    'unknown server "flip4" (did you mean "flip"?); servers: flip, flip1, flip2',
  ],
  [
    { kind: 'system_rm', system: 'IP', ...base },
    'system',
    'unknown system "IP" (did you mean "ip"?); cluster.system defines: ip',
  ],
];

describe('applyChange: a change that does not fit', () => {
  for (const [change, path, message] of NOT_FITTING)
    it(`${change.kind} ${path}: ${message}`, () => {
      assert.deepEqual(invalid(applyChange(readmeDocument(), change), 'change'), [{ path, message }]);
    });

  it('names every item already there, not only the first', () => {
    const issues = invalid(
      applyChange(readmeDocument(), {
        kind: 'data_add',
        system: 'ip',
        items: ['192.168.0.1', 'x', '192.168.0.2'],
        ...base,
      }),
      'change',
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['items[0]', 'items[2]'],
    );
  });

  it('refuses removing the only member of a system, naming the system', () => {
    const one = applied(applyChange(readmeDocument(), { kind: 'server_rm', id: 'flip1', ...base }));
    assert.deepEqual(invalid(applyChange(one, { kind: 'server_rm', id: 'flip', ...base }), 'change'), [
      {
        path: 'id',
        message:
          '"flip" is the only member of system "ip", which would be left with none: add another member first, or remove the system',
      },
    ]);
  });

  it('names every system a removal would leave without a member', () => {
    const doc: Any = readmeDocument();
    doc.servers = { a: { ip: '10.0.0.1', port: 1, systems: ['ip', 'web'] }, b: { ip: '10.0.0.2', port: 1 } };
    doc.quorum = 1;
    doc.cluster.system.web = { alive: 'a', down: 'd', type: 'single', data: [] };
    assert.deepEqual(configIssues(doc), []);
    const [issue] = invalid(applyChange(doc, { kind: 'server_rm', id: 'a', ...base }), 'change');
    assert.match(issue!.message, /only member of systems "ip", "web"/);
  });

  it('refuses removing the last server', () => {
    const doc: Any = readmeDocument();
    doc.servers = { solo: { ip: '10.0.0.1', port: 1 } };
    doc.quorum = 1;
    doc.cluster.system = {};
    assert.deepEqual(configIssues(doc), []);
    assert.deepEqual(invalid(applyChange(doc, { kind: 'server_rm', id: 'solo', ...base }), 'change'), [
      { path: 'id', message: '"solo" is the only server; a cluster needs at least one' },
    ]);
  });
});

describe("applyChange: a result that is not a valid config gets the config file's messages", () => {
  const cases: [string, ConfigChange, string][] = [
    [
      'an endpoint taken',
      { kind: 'server_add', id: 'flip3', ip: '127.0.0.1', port: 2201, ...base },
      'servers.flip3.port: 127.0.0.1:2201 is already used by server "flip1"',
    ],
    [
      'the same endpoint spelt otherwise',
      { kind: 'server_add', id: 'flip3', ip: '::ffff:127.0.0.1', port: 2202, ...base },
      'servers.flip3.port: 127.0.0.1:2202 is already used by server "flip2"',
    ],
    [
      'an address that is not one',
      { kind: 'server_add', id: 'flip3', ip: '10.0.0.300', port: 2203, ...base },
      'servers.flip3.ip: "10.0.0.300"',
    ],
    [
      'a check setting without a check',
      { kind: 'system_set', system: 'ip', values: { check_interval: 1000 }, ...base },
      'cluster.system.ip.check_interval: has no effect without a check script (set check too)',
    ],
  ];
  for (const [name, change, expected] of cases)
    it(name, () => {
      const doc = readmeDocument();
      const issues = invalid(applyChange(doc, change), 'config');
      assert.ok(
        issues.some((issue) => `${issue.path}: ${issue.message}`.startsWith(expected)),
        JSON.stringify(issues),
      );
    });

  it('gives exactly what the config file would, path and message', () => {
    const doc: Any = readmeDocument();
    doc.cluster.system.ip.data.push('two words');
    const withItem = applied(
      applyChange(readmeDocument(), { kind: 'data_add', system: 'ip', items: ['two words'], ...base }),
    );
    assert.ok(sameJson(withItem, doc));
    const change: ConfigChange = {
      kind: 'system_set',
      system: 'ip',
      values: { lease: 'vip-lease' },
      ...base,
    };
    const issues = invalid(applyChange(withItem, change), 'config');
    const asFile: Any = structuredClone(withItem);
    asFile.cluster.system.ip.lease = 'vip-lease';
    assert.deepEqual(
      issues,
      fileIssues(asFile).map(({ path, message }) => ({ path, message })),
    );
    assert.match(issues[0]!.message, /"two words" contains a space or a control character/);
    assert.equal(issues[0]!.path, 'cluster.system.ip.data[2]');
  });

  it("refuses removing the server the document's own id names, as the config file would", () => {
    const doc: Any = readmeDocument();
    doc.id = 'flip2';
    const issues = invalid(applyChange(doc, { kind: 'server_rm', id: 'flip2', ...base }), 'config');
    assert.equal(issues[0]!.path, 'id');
    assert.match(issues[0]!.message, /"flip2" is not a server in servers/);
  });
});

describe('applyChange: the quorum', () => {
  function withoutQuorum(): ConfigDocument {
    const doc = readmeDocument();
    delete doc.quorum;
    return doc;
  }
  const quorumOf = (doc: ConfigDocument) => parseClusterConfig(JSON.stringify(doc), 'cluster.json').quorum;

  it('follows the server count when the document does not set it: the default is computed at validation', () => {
    const doc = withoutQuorum();
    assert.equal(quorumOf(doc), 2);
    const four = applied(
      applyChange(doc, { kind: 'server_add', id: 'flip3', ip: '127.0.0.1', port: 2203, ...base }),
    );
    assert.equal(Object.hasOwn(four, 'quorum'), false, 'no quorum is written');
    assert.equal(quorumOf(four), 3);
    const five = applied(
      applyChange(four, { kind: 'server_add', id: 'flip4', ip: '127.0.0.1', port: 2204, ...base }),
    );
    assert.equal(quorumOf(five), 3);
    const two = applied(applyChange(doc, { kind: 'server_rm', id: 'flip2', ...base }));
    assert.equal(quorumOf(two), 2);
    const one = applied(applyChange(two, { kind: 'server_rm', id: 'flip1', ...base }));
    assert.equal(quorumOf(one), 1);
  });

  it('stays as written when set, and a removal that leaves fewer servers is refused with the config message', () => {
    const doc = readmeDocument();
    const four = applied(
      applyChange(doc, { kind: 'server_add', id: 'flip3', ip: '127.0.0.1', port: 2203, ...base }),
    );
    assert.equal(four.quorum, 2);
    const two = applied(applyChange(doc, { kind: 'server_rm', id: 'flip2', ...base }));
    assert.equal(quorumOf(two), 2);
    assert.deepEqual(invalid(applyChange(two, { kind: 'server_rm', id: 'flip1', ...base }), 'config'), [
      { path: 'quorum', message: '2 is larger than the number of servers (1)' },
    ]);
  });
});

describe('applyChange: no_op', () => {
  it('is a system_set whose values the system already has, or that removes absent keys', () => {
    for (const values of [
      { type: 'shard' as const },
      { delay: null },
      { type: 'shard' as const, check: null },
    ])
      assert.equal(
        applyChange(readmeDocument(), { kind: 'system_set', system: 'ip', values, ...base }).kind,
        'no_op',
      );
  });

  it('is not a system_set that changes one value of several', () => {
    const outcome = applyChange(readmeDocument(), {
      kind: 'system_set',
      system: 'ip',
      values: { type: 'shard', delay: 100 },
      ...base,
    });
    assert.equal(at(applied(outcome), 'cluster.system.ip.delay'), 100);
  });

  it('is not an alias of the same type, which is written as given', () => {
    const outcome = applyChange(readmeDocument(), {
      kind: 'system_set',
      system: 'ip',
      values: { type: 'sharded' },
      ...base,
    });
    assert.equal(at(applied(outcome), 'cluster.system.ip.type'), 'sharded');
  });
});

/** Writes into every object and list of `value`: throws if any of it is frozen. */
function scribble(value: unknown): void {
  const stack = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    stack.push(...Object.values(node));
    if (Array.isArray(node)) node.push('scribbled');
    else (node as Record<string, unknown>).scribbled = true;
  }
}

describe('applyChange: purity', () => {
  const all: ConfigChange[] = [
    ...APPLIED.map(([, change]) => change),
    ...NOT_FITTING.map(([change]) => change),
  ];

  it('never changes its input, and the result shares nothing with it or with the change', () => {
    for (const change of all) {
      const doc = deepFreeze(readmeDocument());
      const frozen = deepFreeze(structuredClone(change));
      const outcome = applyChange(doc, frozen);
      assert.ok(sameJson(doc, readmeDocument()));
      assert.ok(sameJson(frozen, change));
      // Every part of an applied result can be written: none of it is the frozen input or change.
      if (outcome.kind === 'applied') assert.doesNotThrow(() => scribble(outcome.config), change.kind);
    }
  });

  it('gives the same outcome for the same document and change', () => {
    for (const change of all)
      assert.deepEqual(applyChange(readmeDocument(), change), applyChange(readmeDocument(), change));
  });

  it('never throws on a malformed document: its problems come back as the config file would say them', () => {
    const docs: ConfigDocument[] = [
      {},
      { servers: 5 },
      { cluster: { system: { ip: 'x' } } },
      { servers: { a: null } },
    ];
    for (const doc of docs)
      for (const change of all) {
        const outcome = applyChange(doc, change);
        assert.equal(outcome.kind, 'invalid', `${JSON.stringify(doc)} ${change.kind}`);
      }
  });
});

describe('applyChange: the size of the result', () => {
  it('refuses a change that makes the config larger than a config file may be, naming both sizes', () => {
    const doc = readmeDocument();
    // Items of 15 KiB each: what fits one change, not what fits the file.
    const item = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(15 * 1024)}`;
    const data = at(doc, 'cluster.system.ip.data') as string[];
    const base = Array.from({ length: 540 }, (_, i) => item(i));
    data.push(...base);
    assert.ok(Buffer.byteLength(JSON.stringify(doc)) < CONFIG_FILE_BYTES_MAX);
    const small: ConfigChange = { kind: 'data_add', system: 'ip', items: [item(1000)], base_version: 0 };
    assert.equal(applyChange(doc, small).kind, 'applied', 'a change that still fits is applied');
    const large: ConfigChange = {
      kind: 'data_add',
      system: 'ip',
      items: Array.from({ length: 20 }, (_, i) => item(2000 + i)),
      base_version: 0,
    };
    const outcome = applyChange(doc, large);
    assert.equal(outcome.kind, 'invalid');
    assert.ok(outcome.kind === 'invalid');
    assert.equal(outcome.source, 'config');
    assert.match(
      outcome.issues[0]!.message,
      new RegExp(`more than the ${CONFIG_FILE_BYTES_MAX} a config file may have`),
    );
  });
});
