import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { runtimeChange } from '../../src/config/runtime-change.js';

const readme = JSON.parse(readFileSync(new URL('../../examples/readme.json', import.meta.url), 'utf8'));
const parse = (raw: Record<string, unknown>) => parseConfig(JSON.stringify(raw), 'readme.json');

describe('config: what a running agent can take (runtimeChange)', () => {
  it('the same file is unchanged, whatever the order of its keys', () => {
    const a = parse(readme);
    const reordered = Object.fromEntries(Object.entries(readme).reverse());
    assert.deepEqual(runtimeChange(a, parse(reordered)), { kind: 'unchanged' });
  });

  it('new items of a system are a data change, with the new list', () => {
    const a = parse(readme);
    const name = a.systems[0]!.name;
    const raw = structuredClone(readme);
    const cluster = (raw.cluster as { system: Record<string, { data: string[] }> }).system;
    cluster[name]!.data = [...cluster[name]!.data, '192.168.0.9'];
    const change = runtimeChange(a, parse(raw));
    assert.equal(change.kind, 'data');
    if (change.kind !== 'data') return;
    assert.deepEqual([...change.systems.keys()], [name]);
    assert.ok(change.systems.get(name)!.includes('192.168.0.9'));
  });

  it('anything else is named, field by field, as needing a restart', () => {
    const a = parse(readme);
    const name = a.systems[0]!.name;
    const raw = structuredClone(readme);
    raw.gossip_interval = 500;
    const cluster = (raw.cluster as { system: Record<string, { data: string[]; alive: string }> }).system;
    cluster[name]!.alive = './other-alive';
    cluster[name]!.data = [];
    const change = runtimeChange(a, parse(raw));
    assert.equal(change.kind, 'restart');
    if (change.kind !== 'restart') return;
    assert.ok(change.fields.includes('gossip_interval_ms'), JSON.stringify(change.fields));
    assert.ok(change.fields.includes(`systems.${name}.alive`), JSON.stringify(change.fields));
    assert.ok(!change.fields.some((field) => field.endsWith('.data')));
  });
});
