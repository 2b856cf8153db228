/**
 * Config changes: how each kind applies to a config document (pure and total), and the
 * validators that refuse a change before it is appended, with their messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyChange,
  type ConfigChange,
  checkChange,
  configFileValidator,
  isConfigChange,
  isMembershipChange,
  serversOf,
} from '../../src/consensus/config-change.js';
import type { ConfigDocument } from '../../src/state/cluster-state.js';

function config(): ConfigDocument {
  return {
    key: 'secret',
    servers: {
      flip1: { ip: '127.0.0.1', port: 2201, systems: ['vip'] },
      flip2: { ip: '127.0.0.1', port: 2202, systems: ['vip'] },
    },
    cluster: {
      system: { vip: { alive: 'up', down: 'down', type: 'single', data: ['10.0.0.1'] } },
    },
  };
}

function vip(doc: ConfigDocument): { [key: string]: unknown } {
  return (doc.cluster as { system: { vip: { [key: string]: unknown } } }).system.vip;
}

describe('applyChange', () => {
  it('adds items once, in order, and removes them', () => {
    const added = applyChange(config(), {
      kind: 'data_add',
      system: 'vip',
      items: ['10.0.0.2', '10.0.0.1', '10.0.0.2'],
    });
    assert.deepEqual(vip(added).data, ['10.0.0.1', '10.0.0.2']);
    const removed = applyChange(added, { kind: 'data_rm', system: 'vip', items: ['10.0.0.1'] });
    assert.deepEqual(vip(removed).data, ['10.0.0.2']);
  });

  it('adds and removes servers', () => {
    const added = applyChange(config(), {
      kind: 'server_add',
      id: 'flip3',
      server: { ip: '127.0.0.1', port: 2203 },
    });
    assert.deepEqual(serversOf(added), ['flip1', 'flip2', 'flip3']);
    assert.deepEqual(serversOf(applyChange(added, { kind: 'server_rm', id: 'flip1' })), ['flip2', 'flip3']);
  });

  it('sets and removes keys of a system, adds and removes systems', () => {
    const set = applyChange(config(), {
      kind: 'system_set',
      system: 'vip',
      values: { delay: 200, down: null },
    });
    assert.equal(vip(set).delay, 200);
    assert.equal(Object.hasOwn(vip(set), 'down'), false);
    const definition = { alive: 'a', down: 'd', type: 'shard', data: [] };
    const added = applyChange(config(), { kind: 'system_add', system: 'web', definition });
    assert.deepEqual((added.cluster as { system: object }).system, { vip: vip(config()), web: definition });
    const removed = applyChange(added, { kind: 'system_rm', system: 'vip' });
    assert.deepEqual(Object.keys((removed.cluster as { system: object }).system), ['web']);
  });

  it('never changes its input, and shares nothing mutable with the change', () => {
    const before = config();
    const server = { ip: '127.0.0.1', port: 2203 };
    const changes: ConfigChange[] = [
      { kind: 'data_add', system: 'vip', items: ['x'] },
      { kind: 'data_rm', system: 'vip', items: ['10.0.0.1'] },
      { kind: 'server_add', id: 'flip3', server },
      { kind: 'server_rm', id: 'flip1' },
      { kind: 'system_set', system: 'vip', values: { delay: 1 } },
      { kind: 'system_add', system: 'web', definition: { data: [] } },
      { kind: 'system_rm', system: 'vip' },
    ];
    for (const change of changes) {
      const after = applyChange(before, change);
      assert.deepEqual(before, config(), change.kind);
      assert.notDeepEqual(after, before, `${change.kind} changed something`);
    }
    const added = applyChange(before, { kind: 'server_add', id: 'flip3', server });
    server.port = 1;
    assert.equal((added.servers as { flip3: { port: number } }).flip3.port, 2203);
  });

  it('is total: a change that does not fit the document, or a malformed document, gives a document', () => {
    const doc = config();
    assert.equal(applyChange(doc, { kind: 'data_add', system: 'nope', items: ['x'] }), doc);
    assert.equal(applyChange(doc, { kind: 'noop' }), doc);
    const odd: ConfigDocument = { servers: 'none', cluster: [1] };
    assert.deepEqual(serversOf(applyChange(odd, { kind: 'server_add', id: 'a', server: {} })), ['a']);
    assert.deepEqual(applyChange(odd, { kind: 'system_add', system: 's', definition: {} }).cluster, {
      system: { s: {} },
    });
    assert.deepEqual(serversOf(odd), []);
  });
});

describe('change kinds', () => {
  it('server changes are membership changes; a noop changes no version', () => {
    assert.equal(isMembershipChange({ kind: 'server_rm', id: 'a' }), true);
    assert.equal(isMembershipChange({ kind: 'data_rm', system: 'vip', items: ['a'] }), false);
    assert.equal(isConfigChange({ kind: 'noop' }), false);
    assert.equal(isConfigChange({ kind: 'system_rm', system: 'vip' }), true);
  });
});

describe('checkChange', () => {
  it('refuses what adds something already there, or removes or sets something absent, by name', () => {
    const table: [ConfigChange, string][] = [
      [{ kind: 'server_add', id: 'flip1', server: {} }, 'server flip1 is already there'],
      [{ kind: 'server_rm', id: 'flip9' }, 'unknown server flip9'],
      [{ kind: 'system_add', system: 'vip', definition: {} }, 'system vip is already there'],
      [{ kind: 'system_rm', system: 'web' }, 'unknown system web'],
      [{ kind: 'system_set', system: 'web', values: {} }, 'unknown system web'],
      [{ kind: 'data_add', system: 'web', items: ['x'] }, 'unknown system web'],
      [{ kind: 'data_add', system: 'vip', items: [] }, 'no items given'],
      [{ kind: 'data_rm', system: 'vip', items: ['10.0.0.1', 'x', 'y'] }, 'not in system vip: x, y'],
    ];
    for (const [change, message] of table)
      assert.deepEqual(checkChange(config(), change), { ok: false, message });
    assert.deepEqual(checkChange(config(), { kind: 'data_rm', system: 'vip', items: ['10.0.0.1'] }), {
      ok: true,
    });
  });

  it('refuses to remove the last server', () => {
    const one = applyChange(config(), { kind: 'server_rm', id: 'flip2' });
    assert.deepEqual(checkChange(one, { kind: 'server_rm', id: 'flip1' }), {
      ok: false,
      message: 'the last server cannot be removed',
    });
  });
});

describe('configFileValidator', () => {
  it('accepts a change whose result is a valid config file', () => {
    assert.deepEqual(
      configFileValidator(config(), { kind: 'data_add', system: 'vip', items: ['10.0.0.2'] }),
      {
        ok: true,
      },
    );
  });

  it("refuses a change whose result the config file's validation refuses, with its message", () => {
    const result = configFileValidator(config(), {
      kind: 'system_set',
      system: 'vip',
      values: { type: 'bogus' },
    });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /^cluster\.system\.vip\.type: /);
    const port = configFileValidator(config(), {
      kind: 'server_add',
      id: 'flip3',
      server: { ip: '127.0.0.1', port: 70000 },
    });
    assert.match(port.ok ? '' : port.message, /^servers\.flip3\.port: /);
  });

  it("runs the change's own rules first", () => {
    assert.deepEqual(configFileValidator(config(), { kind: 'server_rm', id: 'nobody' }), {
      ok: false,
      message: 'unknown server nobody',
    });
  });
});
