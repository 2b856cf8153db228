import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runFlip } from '../helpers/flip-cli.js';

const README = 'test/fixtures/readme.json';

function lines(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.trimEnd().split(/\s+/).join(' '));
}

describe('flip plan', () => {
  it('prints the README table with all servers up', () => {
    const result = runFlip(['plan', README]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(lines(result.stdout), ['flip flip1 flip2', '192.168.0.2 192.168.0.1']);
  });

  it('prints the README table with flip1 down', () => {
    const result = runFlip(['plan', README, '--down', 'flip1']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(lines(result.stdout), ['flip flip1 flip2', '192.168.0.1 x', '192.168.0.2']);
  });

  it('prints JSON listing every server, [] for those holding nothing', () => {
    const result = runFlip(['plan', README, '--down', 'flip1', '--json']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      systems: { ip: { flip: ['192.168.0.1', '192.168.0.2'], flip1: [], flip2: [] } },
    });
  });

  it('places a hash system: a down server gives up only its own items, the others keep theirs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-plan-hash-'));
    const file = join(dir, 'hash.json');
    const servers = Object.fromEntries(
      ['a', 'b', 'c', 'd'].map((id, i) => [id, { ip: '127.0.0.1', port: 2300 + i, systems: ['vip'] }]),
    );
    const data = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
    const system = { alive: '/bin/true', down: '/bin/true', type: 'hash', data };
    writeFileSync(file, JSON.stringify({ id: 'a', key: 'k', servers, cluster: { system: { vip: system } } }));
    const plan = (...down: string[]) => {
      const result = runFlip(['plan', file, '--json', ...down.flatMap((id) => ['--down', id])]);
      assert.equal(result.status, 0, result.stderr);
      return (JSON.parse(result.stdout) as { systems: { vip: Record<string, string[]> } }).systems.vip;
    };
    const up = plan();
    const bDown = plan('b');
    assert.deepEqual(Object.values(up).flat().sort(), [...data].sort(), 'every item once');
    assert.deepEqual(Object.values(bDown).flat().sort(), [...data].sort(), 'every item once, b down');
    assert.ok(up.b!.length > 0, 'b holds some items when up');
    assert.deepEqual(bDown.b, []);
    for (const id of ['a', 'c', 'd']) {
      const kept = up[id]!.filter((item) => bDown[id]!.includes(item));
      assert.deepEqual(kept, up[id], `${id} keeps all it held`);
    }
    const check = runFlip(['config', 'check', file]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /vip: hash, members a, b, c, d, 40 items/);
  });

  it('rejects unknown --down ids with exit 2', () => {
    const result = runFlip(['plan', README, '--down', 'flip1,nope']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown server id "nope"/);
  });
});

describe('flip config check', () => {
  it('summarises a valid config', () => {
    const result = runFlip(['config', 'check', README]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /1\. flip1 .*priority 1/);
    assert.match(result.stdout, /3\. flip2 .*arbiter/);
    assert.match(result.stdout, /quorum: 2 of 3/);
    assert.match(result.stdout, /ip: shard, members flip1, flip, 2 items/);
  });

  it('lists every error with file, line and column, exit 2, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-cli-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      '{\n  "id": "nope",\n  "quorum": 9,\n  "key": "k",\n  "servers": {"a": {"ip": "1.2.3", "port": 1}},\n  "cluster": {}\n}\n',
    );
    const result = runFlip(['config', 'check', file]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, new RegExp(`${file}:2:\\d+: id: "nope" is not a server`));
    assert.match(result.stderr, new RegExp(`${file}:3:\\d+: quorum: 9 is larger`));
    assert.match(result.stderr, /servers\.a\.ip: "1\.2\.3" is not a valid/);
    assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/);
  });

  it('says so when the file does not exist', () => {
    const result = runFlip(['config', 'check', '/nonexistent/flip.json']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /cannot read config: no such file/);
  });

  it('prints the JSON Schema', () => {
    const result = runFlip(['config', 'schema']);
    assert.equal(result.status, 0);
    const schema = JSON.parse(result.stdout);
    assert.equal(schema.title, 'flip config');
    assert.ok(schema.properties.servers);
  });
});

describe('flip config check: policies and fences', () => {
  it("prints every system's no_quorum_policy and fence; a quorum that is not a majority is refused under release, warned of under keep", () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-policy-'));
    const file = join(dir, 'c.json');
    const doc = (quorum: number, policy: string) =>
      JSON.stringify({
        id: 'a',
        key: 'k',
        quorum,
        no_quorum_policy: policy,
        servers: {
          a: { ip: '127.0.0.1', port: 2300, systems: ['vip', 'web'] },
          b: { ip: '127.0.0.1', port: 2301, systems: ['vip', 'web'] },
          c: { ip: '127.0.0.1', port: 2302 },
          d: { ip: '127.0.0.1', port: 2303 },
        },
        cluster: {
          system: {
            vip: {
              alive: '/bin/true',
              down: '/bin/true',
              lease: '/bin/true',
              type: 'single',
              data: ['10.0.0.1'],
            },
            web: {
              alive: '/bin/true',
              down: '/bin/true',
              type: 'single',
              data: ['w'],
              no_quorum_policy: 'keep',
            },
          },
        },
      });
    writeFileSync(file, doc(2, 'release'));
    const refused = runFlip(['config', 'check', file, '--id', 'a']);
    assert.equal(refused.status, 2, refused.stdout);
    assert.match(
      refused.stderr,
      /quorum: 2 of 4 servers is not a majority: under no_quorum_policy "release" the two halves of a partition could each hold the same items; set it to at least 3/,
    );
    writeFileSync(file, doc(2, 'keep'));
    const kept = runFlip(['config', 'check', file, '--id', 'a']);
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /quorum: 2 of 4 \(not a majority/);
    writeFileSync(file, doc(3, 'release'));
    const result = runFlip(['config', 'check', file, '--id', 'a']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /quorum: 3 of 4\n/);
    assert.match(
      result.stdout,
      /vip: single[^\n]*\n\s+no_quorum_policy release: [^\n]*lets go of what it holds/,
    );
    // release with a lease program: (fence 1000 + a fresh grant 150) x 1.02 + 25 ms slack.
    assert.match(
      result.stdout,
      /lease \/bin\/true: held items lapse 1000 ms after their last renewal[^\n]*waits 1198 ms/,
    );
    assert.match(result.stdout, /web: single[^\n]*\n\s+no_quorum_policy keep: [^\n]*keeps what it holds/);
    assert.match(result.stdout, /no lease program: a killed or frozen agent's items stay on its host/);
  });

  it('refuses an item with a space in a system with a lease program, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flip-lease-item-'));
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'a',
        key: 'k',
        servers: { a: { ip: '127.0.0.1', port: 2300, systems: ['vip'] } },
        cluster: {
          system: {
            vip: {
              alive: '/bin/true',
              down: '/bin/true',
              lease: '/bin/true',
              type: 'single',
              data: ['ok', 'a b'],
            },
          },
        },
      }),
    );
    const result = runFlip(['config', 'check', file]);
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /cluster\.system\.vip\.data\[1\][^\n]*contains a space or a control character/,
    );
  });
});
