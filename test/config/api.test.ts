import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSummary } from '../../src/cli/render.js';
import { apiUrl, isLoopback, parseListen } from '../../src/config/api-listen.js';
import { ConfigError, type ConfigIssue, parseConfig } from '../../src/config/index.js';
import { configJsonSchema } from '../../src/config/json-schema.js';

function config(servers: Record<string, unknown>) {
  return JSON.stringify(
    {
      id: 'a',
      key: 'k',
      servers,
      cluster: { system: { ip: { alive: 'up', down: 'down', type: 'shard', data: ['x'] } } },
    },
    null,
    2,
  );
}

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, 'test.json');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues;
  }
  assert.fail('config was accepted');
}

describe('config: the per-server api key', () => {
  it('defaults to on, on 127.0.0.1 at the TCP port of the UDP port number', () => {
    const parsed = parseConfig(
      config({ a: { ip: '10.0.0.1', port: 2200, systems: ['ip'] }, b: { ip: '10.0.0.2', port: 2300 } }),
      'test.json',
    );
    const [a, b] = parsed.servers;
    assert.deepEqual(a!.api, {
      host: '127.0.0.1',
      port: 2200,
      token: undefined,
      token_file: undefined,
      loopback: true,
    });
    assert.equal(b!.api?.port, 2300);
  });

  it("a server on a loopback address listens on that address (servers sharing a port on 127.0.0.x don't collide)", () => {
    const parsed = parseConfig(
      config({ a: { ip: '127.0.0.2', port: 2200, systems: ['ip'] }, b: { ip: '127.0.0.3', port: 2200 } }),
      'test.json',
    );
    assert.deepEqual(
      parsed.servers.map((server) => `${server.api?.host}:${server.api?.port}`),
      ['127.0.0.2:2200', '127.0.0.3:2200'],
    );
  });

  it('false or listen "off" turns it off; an explicit listen and token are kept', () => {
    const parsed = parseConfig(
      config({
        a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: false },
        b: { ip: '10.0.0.2', port: 2200, api: { listen: 'off' } },
        c: { ip: '10.0.0.3', port: 2200, api: { listen: '10.0.0.3:9100', token: 's3cret' } },
        d: { ip: '10.0.0.4', port: 2200, api: { listen: '[::1]:9100' } },
      }),
      'test.json',
    );
    const byId = new Map(parsed.servers.map((server) => [server.id, server.api]));
    assert.equal(byId.get('a'), undefined);
    assert.equal(byId.get('b'), undefined);
    assert.deepEqual(byId.get('c'), {
      host: '10.0.0.3',
      port: 9100,
      token: 's3cret',
      token_file: undefined,
      loopback: false,
    });
    assert.equal(byId.get('d')?.host, '::1');
    assert.equal(byId.get('d')?.loopback, true);
  });

  it('listening beyond loopback without a token is an error naming the field and its line', () => {
    const text = config({
      a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: { listen: '0.0.0.0:2200' } },
    });
    const issues = issuesOf(text);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'servers.a.api.listen');
    assert.match(issues[0]!.message, /beyond loopback.*api\.token or api\.token_file/);
    const line = text.split('\n').findIndex((l) => l.includes('"listen"')) + 1;
    assert.equal(issues[0]!.line, line);
  });

  it('a token_file is as good as a token beyond loopback; both at once is an error', () => {
    parseConfig(
      config({
        a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: { listen: '10.0.0.1:80', token_file: 'tok' } },
      }),
      'test.json',
    );
    const issues = issuesOf(
      config({ a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: { token: 'x', token_file: 'tok' } } }),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['servers.a.api.token_file'],
    );
  });

  it('refuses a listen that is no address:port, and unknown keys', () => {
    for (const [listen, pattern] of [
      ['localhost:80', /not an IPv4 or IPv6 address/],
      ['127.0.0.1', /not "address:port"/],
      ['127.0.0.1:70000', /out of range/],
      ['::1:80', /not "address:port"/],
    ] as const) {
      const issues = issuesOf(
        config({ a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: { listen } } }),
      );
      assert.equal(issues[0]?.path, 'servers.a.api.listen', listen);
      assert.match(issues[0]!.message, pattern, listen);
    }
    const issues = issuesOf(
      config({ a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: { listne: 'x' } } }),
    );
    assert.match(issues[0]!.message, /listen/);
    assert.ok(issuesOf(config({ a: { ip: '10.0.0.1', port: 2200, systems: ['ip'], api: true } })).length > 0);
  });

  it("flip config check names each server's API", () => {
    const parsed = parseConfig(
      config({
        a: { ip: '10.0.0.1', port: 2200, systems: ['ip'] },
        b: { ip: '10.0.0.2', port: 2200, api: false },
        c: { ip: '10.0.0.3', port: 2200, api: { listen: '10.0.0.3:9100', token: 'x' } },
      }),
      'test.json',
    );
    const text = renderSummary(parsed);
    assert.match(
      text,
      /a {2}10\.0\.0\.1:2200 .* api http:\/\/127\.0\.0\.1:2200 \(reads open on loopback, no token: no changes\)/,
    );
    assert.match(text, /b {2}10\.0\.0\.2:2200 .* api off/);
    assert.match(
      text,
      /c {2}10\.0\.0\.3:2200 .* api http:\/\/10\.0\.0\.3:9100 \(reads need the token, token set\)/,
    );
  });

  it('is in the JSON Schema', () => {
    const schema = JSON.stringify(configJsonSchema());
    assert.match(schema, /"api"/);
    assert.match(schema, /token_file/);
  });

  it('parses and formats listen addresses', () => {
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.ok('problem' in parseListen('[::1]8080'));
    assert.equal(isLoopback('127.9.9.9'), true);
    assert.equal(isLoopback('::ffff:127.0.0.1'), true);
    assert.equal(isLoopback('0.0.0.0'), false);
    assert.equal(isLoopback('10.0.0.1'), false);
    assert.equal(apiUrl({ host: '0.0.0.0', port: 1 }), 'http://127.0.0.1:1');
    assert.equal(apiUrl({ host: '::1', port: 2 }), 'http://[::1]:2');
    assert.equal(apiUrl({ host: '10.0.0.1', port: 3 }), 'http://10.0.0.1:3');
  });
});
