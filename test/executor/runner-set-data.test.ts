import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Harness, system } from './harness.js';

function harness(data: string[], remove_on_start = false) {
  return new Harness({ node: 'n1', systems: [system('ip', data, { delay_ms: 0 })], remove_on_start });
}

describe('executor: items changed at runtime (setData)', () => {
  it('an added item is planned like any other once placement wants it; before that it is ignored', () => {
    const h = harness(['a', 'b']);
    h.set('ip', ['a', 'x']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a'], 'x is not an item yet: ignored');
    h.runner.setData(h.now, 'ip', ['a', 'x', 'b']);
    h.set('ip', ['a', 'x']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a', 'x'], 'held in the new data order');
    assert.equal(
      h.notesOf('finished').filter((note) => note.launch.item === 'x' && note.released).length,
      0,
      'no earlier life left x here: its alive releases nothing',
    );
  });

  it('a removed item that is held gets its down once the plan no longer wants it, and is then forgotten', () => {
    const h = harness(['a', 'b', 'c']);
    h.set('ip', ['a', 'b']);
    h.settle();
    h.runner.setData(h.now, 'ip', ['a', 'c']);
    assert.deepEqual(h.runner.held('ip'), ['a', 'b'], 'still held until its down');
    h.set('ip', ['a']);
    h.settle();
    const downs = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      downs.map((note) => note.launch.item),
      ['b'],
    );
    assert.deepEqual(h.runner.held('ip'), ['a']);
    const status = h.runner.status().find((entry) => entry.system === 'ip')!;
    assert.deepEqual(status.desired, ['a']);
    // Forgotten: wanting it again does nothing until it is an item again.
    h.set('ip', ['a', 'b']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a']);
    h.runner.setData(h.now, 'ip', ['b', 'a', 'c']);
    h.set('ip', ['a', 'b']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['b', 'a'], 'added again, in the new order');
  });

  it('a removed item whose alive is running is kept until that run ends, then taken down', () => {
    const h = harness(['a', 'b']);
    h.set('ip', ['a', 'b']);
    assert.deepEqual(h.inFlight().sort(), ['alive a', 'alive b']);
    h.runner.setData(h.now, 'ip', ['a']);
    h.set('ip', ['a']);
    h.finish('a', true).finish('b', true);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a']);
    const last = h.notesOf('finished').at(-1)!;
    assert.equal(last.launch.item, 'b');
    assert.equal(last.launch.event, 'down', 'its alive succeeded, so its down ran after');
  });

  it('with remove_on_start, an item removed before any script ran for it still gets its down (a previous life may have left it)', () => {
    const h = harness(['a', 'b'], true);
    h.runner.setData(h.now, 'ip', ['a']);
    h.set('ip', ['a']);
    h.settle();
    const downs = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      downs.map((note) => note.launch.item),
      ['b'],
    );
    assert.deepEqual(h.runner.held('ip'), ['a']);
  });

  it('strays (an earlier life maybe left them, the config lists them no more) get a down without remove_on_start, count as maybe held until then, and are forgotten', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ['a'], { delay_ms: 0 })],
      remove_on_start: false,
      strays: new Map([['ip', ['gone', 'a']]]),
    });
    assert.deepEqual(Object.fromEntries(h.runner.maybeHeld()), { ip: ['gone'] }, 'a listed item is no stray');
    h.set('ip', ['a']);
    h.settle();
    const downs = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      downs.map((note) => [note.launch.item, note.released]),
      [['gone', true]],
      'its down is a release (the controller lets go of it)',
    );
    assert.deepEqual(Object.fromEntries(h.runner.maybeHeld()), { ip: ['a'] });
    h.set('ip', ['a', 'gone']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a'], 'forgotten: not an item');
  });

  it('refuses a list with an item twice', () => {
    const h = harness(['a']);
    assert.throws(() => h.runner.setData(h.now, 'ip', ['a', 'b', 'a']), /listed twice/);
  });
});

describe('executor: scripts changed at runtime (setScripts)', () => {
  it('new alive, down and timeout apply to the runs that start after the change; a running one keeps its own', () => {
    const h = new Harness({ node: 'n1', systems: [system('ip', ['a', 'b'])], remove_on_start: false });
    h.set('ip', ['a']);
    assert.deepEqual(h.inFlight(), ['alive a']);
    const first = h.runOf('a')!;
    h.runner.setScripts(h.now, 'ip', {
      alive: '/new/up',
      down: '/new/down',
      delay_ms: 0,
      script_timeout_ms: 900,
    });
    assert.equal(first.script, '/opt/ip/up', 'the running alive was started with the old script');
    h.finish('a', true);
    h.set('ip', ['b']);
    h.settle();
    const after = h.launches.slice(h.launches.indexOf(first) + 1);
    assert.deepEqual(
      after.map((launch) => [launch.event, launch.item, launch.script, launch.timeout_ms]),
      [
        ['down', 'a', '/new/down', 900],
        ['alive', 'b', '/new/up', 900],
      ],
    );
  });

  it('a new delay applies to the plans whose delay starts after the change', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ['a', 'b'], { delay_ms: 0 })],
      remove_on_start: false,
    });
    h.runner.setScripts(h.now, 'ip', {
      alive: '/opt/ip/up',
      down: '/opt/ip/down',
      delay_ms: 400,
      script_timeout_ms: 5000,
    });
    h.set('ip', ['a']);
    assert.deepEqual(h.inFlight(), [], 'the plan waits for the new delay');
    h.advance(399);
    assert.deepEqual(h.inFlight(), []);
    h.advance(1);
    assert.deepEqual(h.inFlight(), ['alive a']);
  });

  it('refuses a delay or timeout that cannot work', () => {
    const h = new Harness({ node: 'n1', systems: [system('ip', ['a'])] });
    assert.throws(() =>
      h.runner.setScripts(h.now, 'ip', { alive: 'x', down: 'y', delay_ms: -1, script_timeout_ms: 5000 }),
    );
    assert.throws(() =>
      h.runner.setScripts(h.now, 'ip', { alive: 'x', down: 'y', delay_ms: 0, script_timeout_ms: 0 }),
    );
  });
});

describe('executor: systems taken up and let go of at runtime (addSystem, holds, removeSystem)', () => {
  it('a system emptied holds something until its last down; then it can go, and come back in a new form', () => {
    const h = harness(['a', 'b']);
    h.set('ip', ['a', 'b']);
    h.settle();
    assert.ok(h.runner.holds('ip'));
    h.runner.setData(h.now, 'ip', []);
    h.set('ip', []);
    assert.ok(h.runner.holds('ip'), 'downs under way');
    assert.throws(() => h.runner.removeSystem(h.now, 'ip'), /still holds items/);
    h.settle();
    assert.equal(h.runner.holds('ip'), false, 'every item down');
    h.runner.removeSystem(h.now, 'ip');
    assert.deepEqual(h.runner.systems(), []);
    assert.equal(h.runner.holds('ip'), false, 'a system the runner lacks holds nothing');
    h.runner.addSystem(h.now, system('ip', ['a', 'b'], { config: { interface: 'eth1' } }));
    h.set('ip', ['a']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a']);
    const last = h.launches.at(-1)!;
    assert.equal(last.event, 'alive');
    assert.match(JSON.stringify(last), /eth1/, 'the new definition runs');
    assert.equal(
      h.notesOf('finished').filter((note) => note.launch.event === 'alive' && note.released).length,
      0,
      'no leftover of an earlier life is feared for a system taken up at runtime',
    );
  });
});
