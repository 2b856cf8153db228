/** Joining with a minimal config: the cluster's committed config completed with the server's own settings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED } from '../../src/api/redact-config.js';
import { parseConfig } from '../../src/config/index.js';
import { isMinimalConfig, joinedConfig } from '../../src/config/join.js';

const shown = {
  version: 4,
  redacted: ['key'],
  config: {
    key: REDACTED,
    quorum: 2,
    servers: {
      s1: { ip: '10.0.0.1', port: 2200, systems: ['ip'] },
      s2: { ip: '10.0.0.2', port: 2200, systems: ['ip'] },
      s3: { ip: '10.0.0.3', port: 2200, systems: ['ip'] },
    },
    cluster: { system: { ip: { alive: '/bin/true', down: '/bin/true', type: 'shard', data: ['a'] } } },
  },
};

describe('joinedConfig', () => {
  it("takes the cluster's config, with the file's own settings (the key above all) and id", () => {
    const file = { id: 's3', key: 'the-cluster-key', log_level: 'debug', state_dir: '/tmp/flip-state' };
    assert.ok(isMinimalConfig(file));
    const joined = joinedConfig(file, 's3', shown, '10.0.0.1:2300');
    assert.ok(joined.ok);
    assert.equal(joined.version, 4);
    assert.equal(joined.document.key, 'the-cluster-key');
    assert.equal(joined.document.log_level, 'debug');
    assert.deepEqual(joined.document.servers, shown.config.servers);
    const config = parseConfig(JSON.stringify(joined.document), 'joined');
    assert.equal(config.id, 's3');
    assert.equal(config.servers.length, 3);
  });

  it('refuses a server the cluster does not list, saying to add it first', () => {
    const joined = joinedConfig({ id: 's4', key: 'k' }, 's4', shown, '10.0.0.1:2300');
    assert.ok(!joined.ok);
    assert.match(
      joined.message,
      /"s4" is not a server of the cluster's config \(version 4 at 10\.0\.0\.1:2300\): add it first/,
    );
  });

  it('refuses a file without the key, and one that lists servers (not minimal)', () => {
    const keyless = joinedConfig({ id: 's3' }, 's3', shown, 'x');
    assert.ok(!keyless.ok && /no `key`/.test(keyless.message));
    const full = { id: 's3', key: 'k', servers: {} };
    assert.ok(!isMinimalConfig(full));
    const refused = joinedConfig(full, 's3', shown, 'x');
    assert.ok(!refused.ok && /the file has `servers`/.test(refused.message));
  });
});
