import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { runtimeChange } from '../../src/config/runtime-change.js';
import { serverEdit } from '../../src/config/server-edit.js';

const readme = JSON.parse(readFileSync(new URL('../../examples/readme.json', import.meta.url), 'utf8'));
const parse = (raw: Record<string, unknown>) => parseConfig(JSON.stringify(raw), 'readme.json');
const edited = (
  edit: (servers: Record<string, Record<string, unknown>>, raw: Record<string, unknown>) => void,
) => {
  const raw = structuredClone(readme);
  edit(raw.servers, raw);
  return parse(raw);
};

describe('config: the servers an edit of the file adds and removes (serverEdit)', () => {
  it('a server added: named, and the rest judged as if it were made (members and quorum follow)', () => {
    const a = edited((_servers, raw) => {
      delete raw.quorum;
    });
    const b = edited((servers, raw) => {
      delete raw.quorum;
      servers.flip3 = { ip: '127.0.0.1', port: 2203, priority: 3, systems: ['ip'] };
    });
    const edit = serverEdit(a, b);
    assert.equal(edit.kind, 'servers');
    if (edit.kind !== 'servers') return;
    assert.deepEqual(
      edit.add.map((server) => [server.id, server.port, server.priority, server.systems]),
      [['flip3', 2203, 3, ['ip']]],
    );
    assert.deepEqual(edit.rm, []);
    assert.equal(edit.after.quorum, 3, 'four servers: the default quorum follows');
    assert.deepEqual([...edit.after.systems[0]!.members].sort(), ['flip', 'flip1', 'flip3']);
    assert.deepEqual(runtimeChange(edit.after, b), { kind: 'unchanged' });
  });

  it('a server removed, with an item added: both found, the items apply at runtime', () => {
    const a = parse(readme);
    const b = edited((servers, raw) => {
      delete servers.flip2;
      (raw.cluster as { system: { ip: { data: string[] } } }).system.ip.data.push('192.168.0.9');
    });
    const edit = serverEdit(a, b);
    assert.equal(edit.kind, 'servers');
    if (edit.kind !== 'servers') return;
    assert.deepEqual(edit.rm, ['flip2']);
    const rest = runtimeChange(edit.after, b);
    assert.equal(rest.kind, 'systems');
    assert.deepEqual(rest.kind === 'systems' ? rest.fields : [], ['systems.ip.data']);
  });

  it('an explicit quorum stays as the file sets it', () => {
    const a = edited((_servers, raw) => {
      raw.quorum = 2;
    });
    const b = edited((servers, raw) => {
      raw.quorum = 2;
      servers.flip3 = { ip: '127.0.0.1', port: 2203 };
    });
    const edit = serverEdit(a, b);
    assert.equal(edit.kind, 'servers');
    if (edit.kind !== 'servers') return;
    assert.equal(edit.after.quorum, 2);
    assert.deepEqual(runtimeChange(edit.after, b), { kind: 'unchanged' });
  });

  it('a server kept but changed is named field by field: no change kind does that', () => {
    const a = parse(readme);
    const b = edited((servers) => {
      servers.flip1!.port = 2299;
      servers.flip!.systems = [];
    });
    const edit = serverEdit(a, b);
    assert.equal(edit.kind, 'changed');
    // The default API listens on the UDP port's number: it moves with the port.
    assert.deepEqual(edit.kind === 'changed' ? [...edit.fields].sort() : [], [
      'servers.flip.systems',
      'servers.flip1.api',
      'servers.flip1.port',
    ]);
  });
});
