/** What the config routes show: secrets hidden (redact-config.ts), the newest changes (recent-changes.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recentChanges } from '../../src/api/recent-changes.js';
import { REDACTED, redactConfig } from '../../src/api/redact-config.js';
import type { ConfigChange } from '../../src/changes/index.js';
import { ChangeHistory } from '../../src/replica/change-history.js';

describe('redactConfig', () => {
  it('replaces the key (one or a rotation) and every api.token, and nothing else', () => {
    const config = {
      key: ['new', 'old'],
      servers: {
        a: { ip: '10.0.0.1', port: 1, api: { listen: '10.0.0.1:2200', token: 't1', token_file: 'tok' } },
        'b.x': { ip: '10.0.0.2', port: 2, api: { token: 't2' } },
        c: { ip: '10.0.0.3', port: 3, api: false },
      },
      cluster: { system: { vip: { alive: 'up', down: 'down', type: 'shard', data: ['token'] } } },
    };
    const frozen = structuredClone(config);
    const shown = redactConfig(config);
    assert.deepEqual(shown.redacted, ['key', 'servers.a.api.token', 'servers["b.x"].api.token']);
    assert.deepEqual(shown.config, {
      ...frozen,
      key: [REDACTED, REDACTED],
      servers: {
        a: { ...frozen.servers.a, api: { ...frozen.servers.a.api, token: REDACTED } },
        'b.x': { ...frozen.servers['b.x'], api: { token: REDACTED } },
        c: frozen.servers.c,
      },
    });
    assert.deepEqual(config, frozen, 'the input is not changed');
    const single = redactConfig({ key: 's', servers: {} });
    assert.equal(single.config.key, REDACTED);
    assert.deepEqual(redactConfig({ servers: 'odd' }).redacted, []);
  });
});

describe('recentChanges', () => {
  const change = (item: string): ConfigChange => ({
    kind: 'data_add',
    system: 'vip',
    items: [item],
    base_version: 0,
  });

  it('gives the newest changes with their versions, oldest first, within the limit', () => {
    const history = new ChangeHistory(4);
    for (let version = 5; version <= 9; version++) history.record(version, change(`i${version}`));
    const all = recentChanges(history, 100);
    assert.equal(all.version, 9);
    assert.equal(all.from, 4);
    assert.deepEqual(
      all.changes.map((entry) => [entry.version, (entry.change as { items: string[] }).items[0]]),
      [
        [5, 'i5'],
        [6, 'i6'],
        [7, 'i7'],
        [8, 'i8'],
        [9, 'i9'],
      ],
    );
    assert.deepEqual(
      recentChanges(history, 2).changes.map((entry) => entry.version),
      [8, 9],
    );
  });

  it('holds nothing before a snapshot, and nothing at the start', () => {
    const history = new ChangeHistory(0);
    assert.deepEqual(recentChanges(history, 10), { version: 0, from: 0, changes: [] });
    history.record(1, change('a'));
    history.record(5, null);
    history.record(6, change('b'));
    const recent = recentChanges(history, 10);
    assert.equal(recent.from, 5);
    assert.deepEqual(
      recent.changes.map((entry) => entry.version),
      [6],
    );
    assert.throws(() => recentChanges(history, 0));
  });
});
