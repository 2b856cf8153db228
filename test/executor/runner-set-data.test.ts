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
