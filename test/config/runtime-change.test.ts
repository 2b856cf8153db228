import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { runtimeChange, withRuntimeFields } from '../../src/config/runtime-change.js';

const readme = JSON.parse(readFileSync(new URL('../../examples/readme.json', import.meta.url), 'utf8'));
const parse = (raw: Record<string, unknown>) => parseConfig(JSON.stringify(raw), 'readme.json');

describe('config: what a running agent can take (runtimeChange)', () => {
  it('the same file is unchanged, whatever the order of its keys', () => {
    const a = parse(readme);
    const reordered = Object.fromEntries(Object.entries(readme).reverse());
    assert.deepEqual(runtimeChange(a, parse(reordered)), { kind: 'unchanged' });
  });

  it('new items of a system apply at runtime, with the new definition', () => {
    const a = parse(readme);
    const name = a.systems[0]!.name;
    const raw = structuredClone(readme);
    const cluster = (raw.cluster as { system: Record<string, { data: string[] }> }).system;
    cluster[name]!.data = [...cluster[name]!.data, '192.168.0.9'];
    const change = runtimeChange(a, parse(raw));
    assert.equal(change.kind, 'systems');
    if (change.kind !== 'systems') return;
    assert.deepEqual([...change.systems.keys()], [name]);
    assert.ok(change.systems.get(name)!.data.includes('192.168.0.9'));
    assert.deepEqual(change.fields, [`systems.${name}.data`]);
  });

  it('type, preempt, scripts, their timeout and the delay apply at runtime too, named', () => {
    const a = parse(readme);
    const name = a.systems[0]!.name;
    const raw = structuredClone(readme);
    const system = (raw.cluster as { system: Record<string, Record<string, unknown>> }).system[name]!;
    Object.assign(system, {
      type: 'hash',
      preempt: false,
      alive: './other-alive',
      down: './other-down',
      delay: 100,
      script_timeout: 5000,
    });
    const change = runtimeChange(a, parse(raw));
    assert.equal(change.kind, 'systems', JSON.stringify(change));
    if (change.kind !== 'systems') return;
    assert.deepEqual(
      [...change.fields].sort(),
      ['alive', 'delay_ms', 'down', 'preempt', 'script_timeout_ms', 'type'].map(
        (field) => `systems.${name}.${field}`,
      ),
    );
    const next = change.systems.get(name)!;
    assert.equal(next.type, 'hash');
    assert.equal(next.preempt, false);
    assert.equal(next.delay_ms, 100);
  });

  it('anything else is named, field by field, as needing a restart; fields that could apply are not listed then', () => {
    const a = parse(readme);
    const name = a.systems[0]!.name;
    const raw = structuredClone(readme);
    raw.gossip_interval = 500;
    const cluster = (raw.cluster as { system: Record<string, Record<string, unknown>> }).system;
    cluster[name]!.alive = './other-alive';
    cluster[name]!.config = { interface: 'eth9' };
    cluster[name]!.data = [];
    const change = runtimeChange(a, parse(raw));
    assert.equal(change.kind, 'restart');
    if (change.kind !== 'restart') return;
    assert.ok(change.fields.includes('gossip_interval_ms'), JSON.stringify(change.fields));
    assert.ok(change.fields.includes(`systems.${name}.config`), JSON.stringify(change.fields));
    assert.ok(!change.fields.some((field) => field.endsWith('.data') || field.endsWith('.alive')));
  });

  it('withRuntimeFields takes only the runtime fields of the new definition', () => {
    const a = parse(readme).systems[0]!;
    const next = { ...a, type: 'hash' as const, fence_ms: a.fence_ms + 1, members: [], data: ['x'] };
    const merged = withRuntimeFields(a, next);
    assert.equal(merged.type, 'hash');
    assert.deepEqual(merged.data, ['x']);
    assert.equal(merged.fence_ms, a.fence_ms);
    assert.deepEqual(merged.members, a.members);
    assert.notEqual(merged.data, next.data, 'a copy of the items');
  });
});
