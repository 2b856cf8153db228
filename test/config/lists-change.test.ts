/**
 * committedChange's `lists`: systems added, removed and redefined, and servers joining or leaving
 * systems, are taken in process; a system's lease program and fence still wait for a restart;
 * systemsToRetire names what a server lets go of first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FlipConfig, parseConfig } from '../../src/config/index.js';
import { committedChange, systemsToRetire } from '../../src/config/runtime-change.js';

interface Shape {
  /** Systems by name: their members and their own keys. */
  systems: Record<string, { members: string[]; keys?: Record<string, unknown> }>;
  id?: string;
}

/** Servers a, b, c; each system a shard of two items, its members as given. */
function config({ systems, id = 'a' }: Shape): FlipConfig {
  const servers = Object.fromEntries(
    ['a', 'b', 'c'].map((server, i) => [
      server,
      {
        ip: '127.0.0.1',
        port: 2300 + i,
        systems: Object.keys(systems).filter((name) => systems[name]!.members.includes(server)),
      },
    ]),
  );
  const system = Object.fromEntries(
    Object.entries(systems).map(([name, { keys }]) => [
      name,
      { alive: 'up', down: 'down', type: 'shard', data: [`${name}-1`, `${name}-2`], ...keys },
    ]),
  );
  return parseConfig(JSON.stringify({ id, key: 'secret', servers, cluster: { system } }), 'lists');
}

const web = { members: ['a', 'b'] };

describe('config: changes of the lists taken in process (committedChange, systemsToRetire)', () => {
  it('a system added is a `lists` change with its definition; nobody retires anything', () => {
    const before = config({ systems: { web } });
    const after = config({ systems: { web, db: { members: ['b', 'c'] } } });
    const change = committedChange(before, after);
    assert.equal(change.kind, 'lists', JSON.stringify(change));
    if (change.kind !== 'lists') return;
    assert.deepEqual([...change.systems.keys()], ['db']);
    assert.deepEqual(change.removed, []);
    assert.ok(change.fields.includes('systems.db'), JSON.stringify(change.fields));
    assert.deepEqual(systemsToRetire(before, after), []);
  });

  it('a system removed: its members retire it, a server that was not one has nothing to let go of', () => {
    const before = config({ systems: { web, db: { members: ['b', 'c'] } } });
    const after = config({ systems: { web } });
    const change = committedChange(before, after);
    assert.equal(change.kind, 'lists');
    if (change.kind !== 'lists') return;
    assert.deepEqual(change.removed, ['db']);
    assert.deepEqual(systemsToRetire(before, after), [], 'a is not a member of db');
    const asB = (shape: Shape) => config({ ...shape, id: 'b' });
    assert.deepEqual(
      systemsToRetire(asB({ systems: { web, db: { members: ['b', 'c'] } } }), asB({ systems: { web } })),
      ['db'],
    );
  });

  it('a new config is taken up anew by every member; a new check, policy or type is not', () => {
    const before = config({ systems: { web } });
    const reconfigured = config({ systems: { web: { ...web, keys: { config: { interface: 'eth1' } } } } });
    assert.equal(committedChange(before, reconfigured).kind, 'lists');
    assert.deepEqual(systemsToRetire(before, reconfigured), ['web']);
    const checked = config({
      systems: { web: { ...web, keys: { check: 'check', rise: 3, no_quorum_policy: 'release' } } },
    });
    assert.equal(committedChange(before, checked).kind, 'lists');
    assert.deepEqual(systemsToRetire(before, checked), []);
  });

  it('this server leaving a system retires it; joining one does not', () => {
    const before = config({ systems: { web } });
    const left = config({ systems: { web: { members: ['b'] } } });
    assert.equal(committedChange(before, left).kind, 'lists');
    assert.deepEqual(systemsToRetire(before, left), ['web']);
    const joined = config({ systems: { web: { members: ['a', 'b', 'c'] } } });
    assert.deepEqual(systemsToRetire(left, joined), []);
  });

  it('a lease program or a fence of a kept system waits for a restart, and says so', () => {
    const before = config({ systems: { web } });
    const fenced = config({ systems: { web: { ...web, keys: { fence: 3000 } } } });
    assert.deepEqual(committedChange(before, fenced), { kind: 'restart', fields: ['systems.web.fence_ms'] });
    const leased = config({ systems: { web: { ...web, keys: { lease: 'lease' } } } });
    const change = committedChange(before, leased);
    assert.equal(change.kind, 'restart');
    assert.ok(
      change.kind === 'restart' && change.fields.includes('systems.web.lease'),
      JSON.stringify(change),
    );
  });

  it('a system added with a lease and a fence of its own is taken at once: nobody held its items', () => {
    const before = config({ systems: { web } });
    const after = config({ systems: { web, db: { members: ['a'], keys: { lease: 'lease', fence: 3000 } } } });
    assert.equal(committedChange(before, after).kind, 'lists');
  });
});
