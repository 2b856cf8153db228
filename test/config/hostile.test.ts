/**
 * Bad config input never hurts: every case here was found by an outside hostile test or is of
 * the same kind. Each must give a ConfigError naming the key and what is wrong, never a crash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalAddress } from '../../src/config/address.js';
import { ConfigError, type ConfigIssue, loadConfig, parseConfig } from '../../src/config/index.js';
import {
  CONFIG_FILE_BYTES_MAX,
  CONFIG_ISSUES_MAX,
  ITEM_BYTES_MAX,
  ITEM_COUNT_MAX,
  STATE_DIR_BYTES_MAX,
  TIME_MS_MAX,
} from '../../src/config/limits.js';

const dir = mkdtempSync(join(tmpdir(), 'flip-hostile-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: tests break configs in every way, at any depth.
type Raw = Record<string, any>;

function base(): Raw {
  return {
    id: 'a',
    key: 'k',
    servers: { a: { ip: '10.0.0.1', port: 2200, systems: ['ip'] }, b: { ip: '10.0.0.2', port: 2200 } },
    cluster: { system: { ip: { alive: 'up', down: 'down', type: 'shard', data: ['x'] } } },
  };
}

function issuesOf(text: string, filename = 'test.json'): ConfigIssue[] {
  try {
    parseConfig(text, filename);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${(error as Error)?.stack}`);
    return error.issues;
  }
  assert.fail('config was accepted');
}

function issuesOfRaw(change: (raw: Raw) => void, options: { accepted?: boolean } = {}): ConfigIssue[] {
  const raw = base();
  change(raw);
  if (!options.accepted) return issuesOf(JSON.stringify(raw));
  try {
    parseConfig(JSON.stringify(raw), 'test.json');
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
}

function one(issues: ConfigIssue[], path: string): ConfigIssue {
  const issue = issues.find((candidate) => candidate.path === path);
  assert.ok(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  return issue;
}

describe('config: YAML and file-level attacks', () => {
  it('refuses a YAML alias bomb with one clear line, not a ReferenceError', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
      ['h', 'g'],
    ])
      lines.push(`${name}: &${name} [${new Array(9).fill(`*${prev}`).join(',')}]`);
    const issues = issuesOf(lines.join('\n'), 'bomb.yaml');
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /too many aliases/);
    assert.doesNotMatch(issues[0]!.message, /ReferenceError|at .*\.js/);
  });

  it('accepts a UTF-8 byte-order mark at the start, in JSON and YAML', () => {
    assert.equal(parseConfig(`\uFEFF${JSON.stringify(base())}`, 'bom.json').id, 'a');
    const yaml = '\uFEFFid: a\nkey: k\nservers: {a: {ip: 10.0.0.1, port: 1}}\ncluster: {}\n';
    assert.equal(parseConfig(yaml, 'bom.yaml').id, 'a');
  });

  it('refuses what is not a regular file (a FIFO would block for ever), and says what it is', async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => loadConfig(fifo), /named pipe \(FIFO\), not a regular file/);
    assert.throws(() => loadConfig(dir), /a directory, not a regular file/);
    assert.throws(() => loadConfig('/dev/zero'), /a device, not a regular file/);
    assert.throws(() => loadConfig(join(dir, 'missing.json')), /no such file/);
  });

  it('refuses a file over the size bound before reading it', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, ' '.repeat(CONFIG_FILE_BYTES_MAX + 1));
    assert.throws(() => loadConfig(big), /bytes; at most 8,388,608/);
  });

  it('refuses more items than the bound, naming the count, before the costly checks', () => {
    const issues = issuesOfRaw((raw) => {
      raw.cluster.system.ip.data = Array.from({ length: ITEM_COUNT_MAX + 1 }, (_, i) => `i${i}`);
    });
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /100,001 items together; at most 100,000/);
  });

  it('lists at most CONFIG_ISSUES_MAX problems and counts the rest', () => {
    const issues = issuesOfRaw((raw) => {
      raw.cluster.system.ip.data = new Array(500).fill('same');
    });
    assert.equal(issues.length, CONFIG_ISSUES_MAX + 1);
    assert.match(issues.at(-1)!.message, /and 399 more problems/);
  });

  it('refuses nesting too deep for the parsers, before they run (the YAML parser would run out of memory)', () => {
    const deep = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    const text = JSON.stringify(base()).replace('"cluster":{', `"cluster":{"config":{"x":${deep}},`);
    const started = performance.now();
    const [issue] = issuesOf(text);
    assert.match(issue!.message, /more than 64 levels deep/);
    assert.equal(issue!.line, 1);
    const yaml = `id: a\nkey: k\nservers: {a: {ip: 10.0.0.1, port: 1}}\ncluster: {config: {x: ${deep}}}\n`;
    assert.match(issuesOf(yaml, 'deep.yaml')[0]!.message, /more than 64 levels deep/);
    // Compact sequences nest without brackets: `- - - x`.
    const compact = `id: a\nkey: k\nservers: {a: {ip: 10.0.0.1, port: 1}}\ncluster: {}\nx:\n  ${'- '.repeat(20_000)}x\n`;
    const [compactIssue] = issuesOf(compact, 'compact.yaml');
    assert.match(compactIssue!.message, /more than 64 levels deep/);
    assert.equal(compactIssue!.line, 6);
    // Refused by a scan, not after a parse: the two together take a small fraction of a second.
    assert.ok(performance.now() - started < 5000);
  });

  it('counts no brackets inside strings or comments', () => {
    const brackets = '['.repeat(100);
    const raw = base();
    raw.cluster.system.ip.data = [brackets, `"${brackets}`, "it's"];
    assert.equal(parseConfig(JSON.stringify(raw)).systems[0]!.data.length, 3);
    const yaml = `# ${brackets}\nid: a\nkey: '${brackets}'\nservers: {a: {ip: 10.0.0.1, port: 1}}\ncluster: {}\n`;
    assert.equal(parseConfig(yaml, 'c.yaml').keys[0], brackets);
  });

  it('refuses a system config nested deeper than JSON.stringify should be given', () => {
    const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
    const text = JSON.stringify(base()).replace('"cluster":{', `"cluster":{"config":{"x":${deep}},`);
    assert.match(one(issuesOf(text), 'cluster.config').message, /nested \d+ levels deep; at most 32/);
  });

  it('refuses a __proto__ key anywhere, which would silently vanish', () => {
    const text = JSON.stringify(base()).replace(
      '"servers":{',
      '"servers":{"__proto__":{"ip":"10.0.0.9","port":1},',
    );
    assert.match(one(issuesOf(text), 'servers.__proto__').message, /reserved/);
    const yaml =
      'id: a\nkey: k\nservers: {a: {ip: 10.0.0.1, port: 1}}\ncluster: {config: {__proto__: {x: 1}}}\n';
    assert.match(one(issuesOf(yaml, 'p.yaml'), 'cluster.config.__proto__').message, /reserved/);
  });

  it('never takes a name from Object.prototype for a server or a system', () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      assert.match(
        one(
          issuesOfRaw((raw) => (raw.id = name)),
          'id',
        ).message,
        /is not a server in servers/,
      );
      const issues = issuesOfRaw((raw) => raw.servers.a.systems.push(name));
      assert.match(one(issues, 'servers.a.systems[1]').message, /unknown system/);
    }
  });
});

describe('config: bounds on times and counts', () => {
  for (const key of ['gossip_interval', 'ping_timeout'] as const) {
    it(`${key}: at most ${TIME_MS_MAX[key]} ms, so no timer can overflow`, () => {
      for (const value of [2 ** 31, 3e9, TIME_MS_MAX[key] + 1]) {
        const issue = one(
          issuesOfRaw((raw) => (raw[key] = value)),
          key,
        );
        assert.match(issue.message, /out of range \(1 to 60,000 ms\)/);
      }
      assert.equal(parseConfig(JSON.stringify({ ...base(), [key]: TIME_MS_MAX[key] })).id, 'a');
    });
  }
  for (const key of ['delay', 'script_timeout'] as const) {
    it(`system ${key}: at most ${TIME_MS_MAX[key]} ms`, () => {
      const issue = one(
        issuesOfRaw((raw) => (raw.cluster.system.ip[key] = 3e9)),
        `cluster.system.ip.${key}`,
      );
      assert.match(issue.message, /out of range/);
    });
  }

  it('refuses Infinity and NaN from YAML, and says what it got', () => {
    const yaml = (value: string) =>
      `id: a\nkey: k\ngossip_interval: ${value}\nservers: {a: {ip: 10.0.0.1, port: 1, priority: ${value}}}\ncluster: {}\n`;
    for (const value of ['.inf', '-.inf', '.nan']) {
      const issues = issuesOf(yaml(value), 'x.yaml');
      assert.match(one(issues, 'gossip_interval').message, /must be a number \(got (-?Infinity|NaN)\)/);
      assert.match(one(issues, 'servers.a.priority').message, /must be a number/);
    }
  });

  it('bounds ping_per_interval, indirect_probes and the key list', () => {
    assert.match(
      one(
        issuesOfRaw((raw) => (raw.ping_per_interval = 1e9)),
        'ping_per_interval',
      ).message,
      /1 to 100/,
    );
    assert.match(
      one(
        issuesOfRaw((raw) => (raw.indirect_probes = 1e9)),
        'indirect_probes',
      ).message,
      /0 to 100/,
    );
    const keys = Array.from({ length: 17 }, (_, i) => `k${i}`);
    assert.match(
      one(
        issuesOfRaw((raw) => (raw.key = keys)),
        'key',
      ).message,
      /too many keys/,
    );
  });
});

describe('config: items and names that could never run', () => {
  it('refuses an item with a NUL byte, saying why', () => {
    const issue = one(
      issuesOfRaw((raw) => (raw.cluster.system.ip.data = ['ok', 'a\u0000b'])),
      'cluster.system.ip.data[1]',
    );
    assert.match(issue.message, /NUL character \(at character 2\).*no script could receive it/);
  });

  it(`refuses an item over ${ITEM_BYTES_MAX} bytes, and quotes none of it whole`, () => {
    const issue = one(
      issuesOfRaw((raw) => (raw.cluster.system.ip.data = ['x'.repeat(200_000)])),
      'cluster.system.ip.data[0]',
    );
    assert.match(issue.message, /200,000 bytes long; at most 16,384 bytes.*FLIP_ITEM/);
    assert.ok(issue.message.length < 300, issue.message);
  });

  it('keeps accepting hostile but runnable items: newlines, shell syntax, emoji, 10 kB', () => {
    const items = ['a\nb', '$(rm -rf /)', '-rf', '; reboot', '🦄', 'x'.repeat(10_000), ' '];
    const config = parseConfig(
      JSON.stringify({
        ...base(),
        cluster: { system: { ip: { ...base().cluster.system.ip, data: items } } },
      }),
    );
    assert.equal(config.systems[0]!.data.length, items.length);
  });

  it('refuses a lone surrogate, which no script could receive unchanged', () => {
    const text = JSON.stringify(base()).replace('"data":["x"]', '"data":["x\\ud800y"]');
    assert.match(one(issuesOf(text), 'cluster.system.ip.data[0]').message, /lone surrogate/);
  });

  it('refuses server ids and system names with NUL or control characters, or too long', () => {
    const withId = (id: string) =>
      issuesOfRaw((raw) => {
        raw.servers[id] = { ip: '10.0.0.3', port: 2200 };
      });
    const nul = withId('c\u0000d').find((issue) => /NUL/.test(issue.message));
    assert.ok(nul, 'a NUL in a server id is refused');
    assert.match(nul.message, /^the key "c\\u0000d" contains a NUL character/);
    assert.ok(withId('c\nd').some((issue) => /control character \(U\+000A/.test(issue.message)));
    assert.ok(withId('s'.repeat(300)).some((issue) => /at most 255 bytes/.test(issue.message)));
    assert.match(
      one(
        issuesOfRaw((raw) => (raw.id = 'a\u0000')),
        'id',
      ).message,
      /NUL/,
    );
    const system = issuesOfRaw((raw) => {
      raw.cluster.system['i\tp'] = raw.cluster.system.ip;
      raw.servers.a.systems = ['ip', 'i\tp'];
    });
    assert.ok(system.some((issue) => /control character \(U\+0009/.test(issue.message)));
  });

  it('refuses a script path with NUL', () => {
    const issue = one(
      issuesOfRaw((raw) => (raw.cluster.system.ip.alive = '/bin/true\u0000x')),
      'cluster.system.ip.alive',
    );
    assert.match(issue.message, /NUL/);
  });

  it('refuses a state_dir that no system call could take: empty, with NUL, too long, not a string', () => {
    const problem = (value: unknown) =>
      one(
        issuesOfRaw((raw) => (raw.state_dir = value)),
        'state_dir',
      ).message;
    const text = JSON.stringify({ ...base(), state_dir: '/var/lib/\u0000flip' }, null, 1);
    const nul = one(issuesOf(text, 'f.json'), 'state_dir');
    assert.match(nul.message, /NUL character \(at character 10\)/);
    assert.equal(nul.line, text.split('\n').findIndex((line) => line.includes('state_dir')) + 1);
    const long = `/${'d'.repeat(STATE_DIR_BYTES_MAX)}`;
    assert.match(problem(long), /at most 4,096 bytes .*longer than any path/);
    assert.ok(!problem(long).includes(long), 'the message does not repeat the whole value');
    assert.match(problem(''), /must not be empty/);
    assert.match(problem(7), /must be a string/);
    assert.match(
      one(
        issuesOfRaw((raw) => (raw.state_dirs = '/x')),
        'state_dirs',
      ).message,
      /did you mean "state_dir"/,
    );
    const bound = `/${'d'.repeat(STATE_DIR_BYTES_MAX - 1)}`;
    assert.equal(parseConfig(JSON.stringify({ ...base(), state_dir: bound })).state_dir, bound);
  });

  it('refuses a system config too large to pass to a script', () => {
    const issues = issuesOfRaw((raw) => (raw.cluster.config = { blob: 'x'.repeat(70_000) }));
    assert.ok(issues.some((issue) => /bytes as JSON .*at most 65,536.*FLIP_CONFIG/.test(issue.message)));
  });
});

describe('config: addresses compared by what they mean', () => {
  it('sees one socket in every spelling of an address', () => {
    const clash = (a: string, b: string) =>
      issuesOfRaw(
        (raw) => {
          raw.servers.a.ip = a;
          raw.servers.b.ip = b;
        },
        { accepted: true },
      ).find((issue) => /already used by server "a"/.test(issue.message));
    assert.ok(clash('::1', '0:0:0:0:0:0:0:1'));
    assert.ok(clash('::1', '0000:0000:0000:0000:0000:0000:0000:0001'));
    assert.ok(clash('127.0.0.1', '::ffff:127.0.0.1'));
    assert.ok(clash('2001:db8::1', '2001:DB8:0::1'));
    assert.equal(clash('::1', '::2'), undefined);
    assert.equal(canonicalAddress('::FFFF:7f00:1'), '127.0.0.1');
  });

  it('refuses addresses no peer can send to', () => {
    for (const ip of ['0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255']) {
      const issue = one(
        issuesOfRaw((raw) => (raw.servers.b.ip = ip)),
        'servers.b.ip',
      );
      assert.match(issue.message, /unspecified|multicast|broadcast/, ip);
    }
  });
});

describe('config: every message says what is expected', () => {
  const broken: [string, (raw: Raw) => void, string, RegExp][] = [
    ['missing key', (raw) => delete raw.key, 'key', /^is required \(a string or a list of strings\)$/],
    [
      'numeric key',
      (raw) => (raw.key = 5),
      'key',
      /^must be a string or a list of strings \(got the number 5\)$/,
    ],
    [
      'key list with a number',
      (raw) => (raw.key = ['a', 5]),
      'key[1]',
      /must be a string \(got the number 5\)/,
    ],
    [
      'servers as a list',
      (raw) => (raw.servers = [1]),
      'servers',
      /must be an object of keys and values \(got a list\)/,
    ],
    [
      'port as a string',
      (raw) => (raw.servers.a.port = '80'),
      'servers.a.port',
      /must be a number \(got the string "80"\)/,
    ],
    ['port fraction', (raw) => (raw.servers.a.port = 80.5), 'servers.a.port', /whole number \(1 to 65,535\)/],
    [
      'data as a string',
      (raw) => (raw.cluster.system.ip.data = 'x'),
      'cluster.system.ip.data',
      /must be a list/,
    ],
    [
      'boolean as a string',
      (raw) => (raw.remove_on_start = 'yes'),
      'remove_on_start',
      /must be true or false/,
    ],
    ['log level', (raw) => (raw.log_level = 'loud'), 'log_level', /"loud" is not one of: debug, info/],
    ['null id', (raw) => (raw.id = null), 'id', /must be a string \(got null\)/],
    [
      'system config as a list',
      (raw) => (raw.cluster.system.ip.config = []),
      'cluster.system.ip.config',
      /must be an object/,
    ],
    [
      'missing cluster',
      (raw) => delete raw.cluster,
      'cluster',
      /is required \(an object of keys and values\)/,
    ],
  ];
  for (const [name, change, path, pattern] of broken) {
    it(name, () => {
      const issues = issuesOfRaw(change);
      assert.match(one(issues, path).message, pattern);
      for (const issue of issues) assert.doesNotMatch(issue.message, /invalid input|Invalid|Too (small|big)/);
    });
  }
});

describe('config: fuzzed files give a ConfigError or a config, nothing else', () => {
  const pieces = [
    '[',
    ']',
    '{',
    '}',
    '"',
    "'",
    ':',
    ',',
    '-',
    '?',
    '&a',
    '*a',
    '!!',
    '#',
    '\n',
    '  ',
    '\u0000',
    '\uFEFF',
    '1e400',
    '-0',
    '__proto__',
    'toString',
    '\\u0000',
    '\\ud800',
    '<<: *a',
    '|',
    '>',
    '%YAML 1.1\n',
    '---\n',
    '...\n',
  ];
  const seeds: [string, string][] = [
    [JSON.stringify(base()), 'f.json'],
    [
      'id: a\nkey: [k, j]\nservers:\n  a: {ip: "::1", port: 1, systems: [ip]}\ncluster:\n  system:\n    ip: &s {alive: up, down: down, type: shard, data: [x, y]}\n',
      'f.yaml',
    ],
  ];
  it('survives 3000 random edits of a valid JSON and a valid YAML config', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 6 }),
        ([text, name], edits) => {
          let mutated = text;
          for (const [at, kind, piece] of edits) {
            const i = at % (mutated.length + 1);
            if (kind === 0) mutated = mutated.slice(0, i) + mutated.slice(i + 1);
            else if (kind === 1) mutated = mutated.slice(0, i) + piece + mutated.slice(i);
            else if (kind === 2) mutated = mutated.slice(0, i) + piece.repeat(50) + mutated.slice(i);
            else mutated = mutated.slice(0, i) + piece + mutated.slice(i + piece.length);
          }
          try {
            parseConfig(mutated, name);
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            for (const issue of error.issues) assert.ok(issue.message.length < 1000, issue.message);
          }
        },
      ),
      { numRuns: 3000, seed: 8 },
    );
  });
});
