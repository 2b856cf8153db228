/**
 * A `replicated` system in the simulator: every member holds every item at once. Its items are
 * not claimed (a claim waits for every other member to let go, and each of them wants the item
 * too), which a run with scripts shows: each item ends on each member, also after a crash and a
 * restart, and after a change of the system's type at runtime.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { buildSimulation } from '../../src/sim/scenarios.js';

const CONFIG = parseConfig(
  JSON.stringify({
    id: 'a',
    key: 'secret',
    servers: {
      a: { ip: '10.0.0.1', port: 2200, systems: ['web'] },
      b: { ip: '10.0.0.2', port: 2200, systems: ['web'] },
      c: { ip: '10.0.0.3', port: 2200, systems: ['web'] },
    },
    cluster: {
      system: { web: { alive: 'up', down: 'down', type: 'replicated', data: ['10.1.0.1', '10.1.0.2'] } },
    },
  }),
  'replicated.json',
);

/** Which servers hold each item, as their runners say. */
function holders(sim: ReturnType<typeof buildSimulation>): Map<string, string[]> {
  const held = new Map<string, string[]>();
  for (let i = 0; i < sim.size; i++)
    for (const item of sim.runner(i)?.held('web') ?? [])
      held.set(item, [...(held.get(item) ?? []), CONFIG.servers[i]!.id]);
  return held;
}

describe('simulator: a replicated system', () => {
  it('every member holds every item; after a crash and a restart too', () => {
    const sim = buildSimulation(CONFIG, 5, { loss: 0 });
    sim.startAll();
    sim.runUntil(30_000);
    assert.deepEqual(Object.fromEntries(holders(sim)), {
      '10.1.0.1': ['a', 'b', 'c'],
      '10.1.0.2': ['a', 'b', 'c'],
    });
    sim.crash(1);
    sim.runUntil(sim.now + 20_000);
    sim.start(1);
    sim.runUntil(sim.now + 30_000);
    assert.deepEqual(Object.fromEntries(holders(sim)), {
      '10.1.0.1': ['a', 'b', 'c'],
      '10.1.0.2': ['a', 'b', 'c'],
    });
  });

  it('a change to replicated at runtime puts each item on every member', () => {
    const single = {
      ...CONFIG,
      systems: CONFIG.systems.map((system) => ({ ...system, type: 'single' as const })),
    };
    const sim = buildSimulation(single, 6, { loss: 0 });
    sim.startAll();
    sim.runUntil(30_000);
    for (const owners of holders(sim).values()) assert.equal(owners.length, 1, 'single: one holder');
    const change = new Map([['web', { ...single.systems[0]!, type: 'replicated' as const }]]);
    sim.setClusterSystems(change);
    for (let i = 0; i < sim.size; i++) sim.setSystems(i, change);
    sim.runUntil(sim.now + 20_000);
    assert.deepEqual(Object.fromEntries(holders(sim)), {
      '10.1.0.1': ['a', 'b', 'c'],
      '10.1.0.2': ['a', 'b', 'c'],
    });
  });
});
