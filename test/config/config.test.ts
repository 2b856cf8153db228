import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SYSTEM_TYPES } from '../../src/config/defaults.js';
import { ConfigError, type ConfigIssue, defaultQuorum, parseConfig } from '../../src/config/index.js';
import { configJsonSchema } from '../../src/config/json-schema.js';

const readme = readFileSync(new URL('../fixtures/readme.json', import.meta.url), 'utf8');

function issuesOf(text: string, filename = 'test.json'): ConfigIssue[] {
  try {
    parseConfig(text, filename);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail('config was accepted');
}

function minimal(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'a',
    key: 'k',
    servers: { a: { ip: '10.0.0.1', port: 2200, systems: ['ip'] }, b: { ip: '10.0.0.2', port: 2200 } },
    cluster: { system: { ip: { alive: 'up', down: 'down', type: 'shard', data: ['x'] } } },
    ...overrides,
  });
}

describe('config: the original README example', () => {
  const config = parseConfig(readme, 'readme.json');

  it('loads verbatim, tabs and leading commas included', () => {
    assert.equal(config.id, 'flip');
    assert.equal(config.quorum, 2);
    assert.equal(config.gossip_interval_ms, 1000);
    assert.equal(config.ping_per_interval, 3);
    assert.equal(config.ping_timeout_ms, 1500);
    assert.deepEqual(config.keys, ['secret']);
    assert.equal(config.log_level, 'info');
  });

  it('orders servers by priority, then id, servers without priority last', () => {
    assert.deepEqual(
      config.servers.map((server) => server.id),
      ['flip1', 'flip', 'flip2'],
    );
    assert.deepEqual(
      config.servers.map((server) => server.index),
      [0, 1, 2],
    );
    assert.deepEqual(config.servers_as_written, ['flip', 'flip1', 'flip2']);
  });

  it('sorts data and lists members in server order', () => {
    const ip = config.systems[0]!;
    assert.equal(ip.name, 'ip');
    assert.equal(ip.type, 'shard');
    assert.deepEqual(ip.data, ['192.168.0.1', '192.168.0.2']);
    assert.deepEqual(ip.members, ['flip1', 'flip']);
    assert.equal(ip.delay_ms, 500);
    assert.deepEqual(ip.config, { interface: 'lo0' });
  });
});

describe('config: defaults and normalisation', () => {
  it('defaults quorum to a majority of all servers, arbiters counted', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 1000].map(defaultQuorum), [1, 2, 2, 3, 3, 501]);
    assert.equal(parseConfig(minimal(), 'x.json').quorum, 2);
  });

  it('merges cluster.config under each system config, the system winning', () => {
    const config = parseConfig(
      minimal({
        cluster: {
          config: { interface: 'eth0', prefix: 24 },
          system: {
            ip: { alive: 'u', down: 'd', type: 'sharded', config: { interface: 'eth1' }, data: ['x'] },
          },
        },
      }),
      'x.json',
    );
    assert.deepEqual(config.systems[0]!.config, { interface: 'eth1', prefix: 24 });
    assert.equal(config.systems[0]!.type, 'shard');
  });

  it('accepts every spelling of the system types', () => {
    const types = {
      shard: 'shard',
      sharded: 'shard',
      replicated: 'replicated',
      replicate: 'replicated',
      single: 'single',
      choose_one: 'single',
      hash: 'hash',
    };
    for (const [spelling, meaning] of Object.entries(types)) {
      const config = parseConfig(
        minimal({ cluster: { system: { ip: { alive: 'u', down: 'd', type: spelling, data: ['x'] } } } }),
        'x.json',
      );
      assert.equal(config.systems[0]!.type, meaning, spelling);
    }
  });

  it('names the closest type when the type is misspelt', () => {
    const text = minimal({
      cluster: { system: { ip: { alive: 'u', down: 'd', type: 'hsah', data: ['x'] } } },
    });
    const issue = issuesOf(text).find((found) => found.path === 'cluster.system.ip.type');
    assert.ok(issue, 'an issue at the type');
    assert.match(issue.message, /"hsah" is not one of: shard, sharded, .*hash.* \(did you mean "hash"\?\)$/);
    const far = issuesOf(
      minimal({ cluster: { system: { ip: { alive: 'u', down: 'd', type: 'consistent', data: ['x'] } } } }),
    ).find((found) => found.path === 'cluster.system.ip.type');
    assert.doesNotMatch(far?.message ?? '', /did you mean/, 'no hint for an unrelated word');
  });

  it('maps log_level warning to warn and takes a list of keys', () => {
    const config = parseConfig(minimal({ log_level: 'warning', key: ['new', 'old'] }), 'x.json');
    assert.equal(config.log_level, 'warn');
    assert.deepEqual(config.keys, ['new', 'old']);
  });

  it('takes state_dir as written, /var/lib/flip by default', () => {
    assert.equal(parseConfig(minimal(), 'x.json').state_dir, '/var/lib/flip');
    assert.equal(parseConfig(minimal({ state_dir: 'run/flip' }), 'x.json').state_dir, 'run/flip');
  });

  it('reads YAML with the same meaning', () => {
    const yaml = [
      'id: a',
      'key: k',
      'servers:',
      '  a: {ip: "::1", port: 2200, systems: [ip], priority: 2}',
      '  b: {ip: 127.0.0.1, port: 2201, systems: [ip], priority: 1}',
      'cluster:',
      '  system:',
      '    ip: {alive: up, down: down, type: replicated, data: [z, y]}',
    ].join('\n');
    const config = parseConfig(yaml, 'flip.yaml');
    assert.deepEqual(
      config.servers.map((server) => server.id),
      ['b', 'a'],
    );
    assert.deepEqual(config.systems[0]!.data, ['y', 'z']);
  });
});

describe('config: errors name the key, what is wrong, and where', () => {
  it('reports every problem at once with line and column', () => {
    const text = [
      '{',
      '  "id": "flipx",',
      '  "quorum": 5,',
      '  "gossip_intervall": 1000,',
      '  "key": "",',
      '  "servers": {',
      '    "flip": {"ip": "127.0.0.300", "port": 70000, "systems": ["ipp"]},',
      '    "flip1": {"ip": "127.0.0.1", "port": 2201, "systems": ["ip"], "priority": 1},',
      '    "flip2": {"ip": "127.0.0.1", "port": 2201, "sytems": []}',
      '  },',
      '  "cluster": {"system": {',
      '    "ip": {"alive": "up", "type": "shardd", "data": ["a", "a"]},',
      '    "lonely": {"alive": "up", "down": "down", "type": "single", "data": []}',
      '  }}',
      '}',
    ].join('\n');
    const issues = issuesOf(text);
    const byPath = new Map(issues.map((issue) => [issue.path, issue]));
    const expect = (path: string, pattern: RegExp, line: number) => {
      const issue = byPath.get(path);
      assert.ok(issue, `no issue for ${path}; got ${issues.map((i) => i.path).join(', ')}`);
      assert.match(issue.message, pattern);
      assert.equal(issue.line, line, `${path} line`);
      assert.ok((issue.column ?? 0) > 0, `${path} column`);
    };
    expect('id', /"flipx" is not a server.*did you mean "flip"/, 2);
    expect('quorum', /larger than the number of servers \(3\)/, 3);
    expect('gossip_intervall', /unknown key.*did you mean "gossip_interval"/, 4);
    expect('key', /must not be empty/, 5);
    expect('servers.flip.ip', /not a valid IPv4 or IPv6/, 7);
    expect('servers.flip.port', /out of range/, 7);
    expect('servers.flip.systems[0]', /unknown system "ipp".*did you mean "ip"/, 7);
    expect('servers.flip2.port', /already used by server "flip1"/, 9);
    expect('servers.flip2.sytems', /did you mean "systems"/, 9);
    expect('cluster.system.ip.down', /is required/, 12);
    expect('cluster.system.ip.type', /"shardd" is not one of/, 12);
    expect('cluster.system.ip.data[1]', /duplicate item "a"/, 12);
    expect('cluster.system.lonely', /has no members/, 13);
  });

  it('reports JSON syntax errors with line and column', () => {
    const [issue] = issuesOf('{\n  "id": "a",\n  "servers": {,}\n}');
    assert.match(issue!.message, /invalid JSON/);
    assert.equal(issue!.line, 3);
  });

  it('reports duplicate keys, which JSON.parse would silently merge', () => {
    const issues = issuesOf('{"id": "a", "id": "b"}');
    assert.match(issues[0]!.message, /duplicate key/);
  });

  it('rejects empty keys, empty ids and missing sections', () => {
    assert.ok(issuesOf(minimal({ key: [] })).some((issue) => issue.path === 'key'));
    assert.ok(issuesOf(minimal({ id: '' })).some((issue) => issue.path === 'id'));
    assert.ok(
      issuesOf(JSON.stringify({ id: 'a', key: 'k' })).some((issue) =>
        /servers.*required|required/.test(`${issue.path} ${issue.message}`),
      ),
    );
    assert.ok(issuesOf(minimal({ servers: { '': { ip: '1.2.3.4', port: 1 } } })).length > 0);
    assert.ok(issuesOf('[1, 2]').some((issue) => /must be an object/.test(issue.message)));
  });

  it('rejects a quorum of 0 and a port of 0', () => {
    assert.ok(issuesOf(minimal({ quorum: 0 })).some((issue) => issue.path === 'quorum'));
    const servers = { a: { ip: '10.0.0.1', port: 0, systems: ['ip'] } };
    assert.ok(issuesOf(minimal({ servers })).some((issue) => issue.path === 'servers.a.port'));
  });

  it('formats each issue as file:line:column: path: message', () => {
    try {
      parseConfig(minimal({ quorum: 9 }), 'flip.json');
      assert.fail('accepted');
    } catch (error) {
      assert.match((error as Error).message, /^flip\.json:1:\d+: quorum: 9 is larger/);
    }
  });
});

describe('config: JSON Schema export', () => {
  it('describes the top-level keys and forbids unknown ones', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: unknown;
    };
    for (const key of ['id', 'quorum', 'gossip_interval', 'servers', 'cluster', 'key', 'state_dir'])
      assert.ok(key in schema.properties, key);
    assert.deepEqual([...schema.required].sort(), ['cluster', 'key', 'servers']);
    assert.equal(schema.additionalProperties, false);
  });

  it('lists every system type spelling, hash included', () => {
    const text = JSON.stringify(configJsonSchema());
    const types = /"enum":\[("shard"[^\]]*)\]/.exec(text)?.[1];
    assert.deepEqual(JSON.parse(`[${types}]`), Object.keys(SYSTEM_TYPES));
    assert.ok(Object.keys(SYSTEM_TYPES).includes('hash'));
  });
});

describe('config: server ids whose wire tags collide', () => {
  it('refuses the second of two servers with one tag, naming both, with its line', () => {
    // s25985 and s72319 have one 32-bit tag (found by search; test/wire/packet.test.ts checks it).
    const text = [
      '{',
      '  "id": "s25985",',
      '  "key": "k",',
      '  "servers": {',
      '    "s25985": {"ip": "10.0.0.1", "port": 2200},',
      '    "s72319": {"ip": "10.0.0.2", "port": 2200}',
      '  },',
      '  "cluster": {"system": {}}',
      '}',
    ].join('\n');
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, issues.map((issue) => issue.message).join('; '));
    assert.equal(issues[0]!.path, 'servers.s72319');
    assert.match(issues[0]!.message, /same 32-bit wire tag as "s25985".*rename one/);
    assert.equal(issues[0]!.line, 6);
  });

  it('accepts servers whose tags differ', () => {
    assert.doesNotThrow(() => parseConfig(minimal(), 'ok.json'));
  });
});
