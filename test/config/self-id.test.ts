/**
 * Which server a config is for: --id, FLIP_ID, the file's id, then the one server whose ip is
 * on this host (config/self-id.ts), and how the validator reports each way of getting it wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, type ConfigOverrides, parseConfig } from '../../src/config/index.js';
import { chooseServerId, idProblemMessage, namedId } from '../../src/config/self-id.js';
import { parseSource } from '../../src/config/source.js';
import { validateClusterConfig } from '../../src/config/validate.js';

const SERVERS = [
  { id: 'a', ip: '10.0.0.1' },
  { id: 'b', ip: '10.0.0.2' },
  { id: 'c', ip: 'fd00::3' },
];

describe('self-id: precedence of the names', () => {
  const cases: [string, Parameters<typeof namedId>[0], ReturnType<typeof namedId>][] = [
    ['--id beats all', { option: 'a', env: 'b', file: 'c' }, { id: 'a', from: '--id' }],
    ['FLIP_ID beats the file', { env: 'b', file: 'c' }, { id: 'b', from: 'FLIP_ID' }],
    ["the file's id alone", { file: 'c' }, { id: 'c', from: 'file' }],
    ['nothing named', {}, undefined],
  ];
  for (const [name, named, expected] of cases) it(name, () => assert.deepEqual(namedId(named), expected));

  it('a named id wins over the address, even one that is not a server', () => {
    assert.deepEqual(chooseServerId({ file: 'zz' }, SERVERS, ['10.0.0.2']), {
      ok: true,
      id: 'zz',
      from: 'file',
    });
    assert.deepEqual(chooseServerId({ env: 'a' }, SERVERS, ['10.0.0.2']), {
      ok: true,
      id: 'a',
      from: 'FLIP_ID',
    });
  });
});

describe('self-id: choosing by the host address', () => {
  it('the one server whose ip the host owns', () => {
    assert.deepEqual(chooseServerId({}, SERVERS, ['127.0.0.1', '10.0.0.2', 'fe80::1']), {
      ok: true,
      id: 'b',
      from: 'address',
    });
  });

  it('compares canonical spellings (IPv6 zeros and case, IPv4-mapped)', () => {
    assert.deepEqual(chooseServerId({}, SERVERS, ['FD00:0:0::3']), { ok: true, id: 'c', from: 'address' });
    assert.deepEqual(chooseServerId({}, SERVERS, ['::ffff:10.0.0.1']), {
      ok: true,
      id: 'a',
      from: 'address',
    });
  });

  it('no match names the host addresses and every server', () => {
    const choice = chooseServerId({}, SERVERS, ['192.0.2.9']);
    assert.equal(choice.ok, false);
    if (choice.ok) return;
    assert.equal(choice.problem.kind, 'no-match');
    const message = idProblemMessage(choice.problem);
    assert.match(message, /no server's ip is an address of this host \(192\.0\.2\.9\)/);
    assert.match(message, /--id ID or FLIP_ID=ID/);
    assert.match(message, /servers: a \(10\.0\.0\.1\), b \(10\.0\.0\.2\), c \(fd00::3\)/);
  });

  it('several matches name the candidates and say how to choose', () => {
    const shared = [...SERVERS, { id: 'd', ip: '10.0.0.2' }];
    const choice = chooseServerId({}, shared, ['10.0.0.2']);
    assert.equal(choice.ok, false);
    if (choice.ok) return;
    assert.deepEqual(choice.problem, {
      kind: 'several',
      candidates: [
        { id: 'b', ip: '10.0.0.2' },
        { id: 'd', ip: '10.0.0.2' },
      ],
    });
    assert.match(
      idProblemMessage(choice.problem),
      /several servers: b \(10\.0\.0\.2\), d \(10\.0\.0\.2\); choose one with --id ID/,
    );
  });

  it("refuses the file's id when its ip is not on this host and another server's is", () => {
    const choice = chooseServerId({ file: 'a' }, SERVERS, ['127.0.0.1', '10.0.0.2']);
    assert.deepEqual(choice, {
      ok: false,
      problem: {
        kind: 'file-id-elsewhere',
        named: { id: 'a', ip: '10.0.0.1' },
        here: { id: 'b', ip: '10.0.0.2' },
      },
    });
    assert.equal(
      idProblemMessage(choice.ok ? { kind: 'unnamed' } : choice.problem),
      'the file names a (10.0.0.1), whose ip is not an address of this host, which owns the ip of b (10.0.0.2): is this file shared by every server? Leave its id out, or pass --id b (or FLIP_ID=b)',
    );
    // No contradiction: its ip is here, or no other server's is (the bind decides), or it is named otherwise.
    assert.equal(chooseServerId({ file: 'a' }, SERVERS, ['10.0.0.1', '10.0.0.2']).ok, true);
    assert.equal(chooseServerId({ file: 'a' }, SERVERS, ['192.0.2.1']).ok, true);
    assert.equal(chooseServerId({ env: 'a' }, SERVERS, ['10.0.0.2']).ok, true);
    assert.equal(chooseServerId({ file: 'a' }, SERVERS, undefined).ok, true);
  });

  it('without the host addresses nothing is inferred', () => {
    assert.deepEqual(chooseServerId({}, SERVERS, undefined), { ok: false, problem: { kind: 'unnamed' } });
    assert.match(
      idProblemMessage({ kind: 'unnamed' }),
      /no server named: name it with --id ID or FLIP_ID=ID/,
    );
  });

  it('a long list of host addresses is cut', () => {
    const many = Array.from({ length: 50 }, (_, i) => `192.0.2.${i + 10}`);
    const choice = chooseServerId({}, SERVERS, many);
    assert.ok(!choice.ok);
    assert.match(idProblemMessage(choice.problem), /and 42 more/);
  });
});

/** A config shared by the whole cluster: no `id`. */
function shared(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    key: 'k',
    servers: { a: { ip: '10.0.0.1', port: 2200, systems: ['ip'] }, b: { ip: '10.0.0.2', port: 2200 } },
    cluster: { system: { ip: { alive: 'up', down: 'down', type: 'shard', data: ['x'] } } },
    ...extra,
  });
}

function issues(text: string, overrides: ConfigOverrides): string[] {
  try {
    parseConfig(text, 'flip.json', overrides);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('config was accepted');
}

describe('config: which server the file is for', () => {
  it('a shared file takes the server whose ip is on this host', () => {
    const config = parseConfig(shared(), 'flip.json', { host_addresses: ['127.0.0.1', '10.0.0.2'] });
    assert.equal(config.id, 'b');
    assert.equal(config.id_from, 'address');
  });

  it('--id and FLIP_ID override the file and the address', () => {
    const text = shared({ id: 'a' });
    assert.equal(parseConfig(text, 'f.json', { host_addresses: ['10.0.0.1', '10.0.0.2'] }).id_from, 'file');
    assert.equal(parseConfig(text, 'f.json', { env_id: 'b' }).id, 'b');
    const both = parseConfig(text, 'f.json', { id: 'a', env_id: 'b', host_addresses: ['10.0.0.2'] });
    assert.deepEqual([both.id, both.id_from], ['a', '--id']);
  });

  it('an unknown id is reported as the option or variable it came from, with the known ids', () => {
    assert.deepEqual(issues(shared(), { id: 'bb' }), [
      '--id: "bb" is not a server in servers (did you mean "b"?); servers: a, b',
    ]);
    assert.deepEqual(issues(shared(), { env_id: 'zzzzzz' }), [
      'FLIP_ID: "zzzzzz" is not a server in servers; servers: a, b',
    ]);
    assert.match(issues(shared({ id: 'q' }), {})[0]!, /^id: "q" is not a server in servers/);
  });

  it('a file that names no server on a host that owns none or several is an error that says so', () => {
    assert.match(
      issues(shared(), { host_addresses: ['192.0.2.1'] })[0]!,
      /^id: no server named, and no server's ip/,
    );
    const two = JSON.stringify({
      ...JSON.parse(shared()),
      servers: { a: { ip: '::1', port: 1, systems: ['ip'] }, b: { ip: '::1', port: 2 } },
    });
    assert.match(issues(two, { host_addresses: ['::1'] })[0]!, /several servers: a \(::1\), b \(::1\)/);
    assert.match(issues(shared(), {})[0]!, /^id: no server named/);
  });

  it("the file's id on another server's host: an agent's load refuses it, a check keeps it with the problem", () => {
    assert.match(
      issues(shared({ id: 'a' }), { host_addresses: ['10.0.0.2'] })[0]!,
      /^id: the file names a \(10\.0\.0\.1\), whose ip is not an address of this host, which owns the ip of b/,
    );
    const checked = validateClusterConfig(parseSource(shared({ id: 'a' }), 'f.json'), 'f.json', {
      host_addresses: ['10.0.0.2'],
    });
    assert.deepEqual(
      [checked.id, checked.id_from, checked.id_problem?.kind],
      ['a', 'file', 'file-id-elsewhere'],
    );
  });

  it('checked as a whole, a shared file needs no server and says why none was chosen', () => {
    const config = validateClusterConfig(parseSource(shared(), 'f.json'), 'f.json', {
      host_addresses: ['192.0.2.1'],
    });
    assert.equal(config.id, undefined);
    assert.equal(config.id_problem?.kind, 'no-match');
  });
});
