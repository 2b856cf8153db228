import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandbackGate } from '../../src/handover/handback-gate.js';

describe('handover: the hand-back gate', () => {
  it('an item handed back waits until its deadline, and not after it', () => {
    const gate = new HandbackGate();
    gate.expect(1000, 'a', 2000);
    assert.equal(gate.waitUntil('a', 1000), 3000);
    assert.equal(gate.waitUntil('a', 2999), 3000);
    assert.equal(gate.waitUntil('a', 3000), undefined, 'the wait ends at the deadline');
    assert.equal(gate.waitUntil('b', 1000), undefined, 'an item not handed back does not wait');
  });

  it('the release ends the wait', () => {
    const gate = new HandbackGate();
    gate.expect(0, 'a', 2000);
    gate.expect(0, 'b', 2000);
    gate.heard('a');
    assert.equal(gate.waitUntil('a', 500), undefined);
    assert.equal(gate.waitUntil('b', 500), 2000, 'only the item released');
  });

  it('a release heard before the item was handed back does not end the later wait', () => {
    // Which earlier releases count is the controller's to judge; it then asks for no wait.
    const gate = new HandbackGate();
    gate.heard('a');
    gate.expect(100, 'a', 2000);
    assert.equal(gate.waitUntil('a', 100), 2100);
  });

  it('items no longer wanted are dropped, unless the running plan still brings them', () => {
    const gate = new HandbackGate();
    gate.expect(0, 'a', 2000);
    gate.expect(0, 'b', 2000);
    gate.expect(0, 'c', 2000);
    gate.retain(new Set(['b']), ['c']);
    assert.equal(gate.waitUntil('a', 0), undefined);
    assert.equal(gate.waitUntil('b', 0), 2000);
    assert.equal(gate.waitUntil('c', 0), 2000, "c's alive is decided: it goes on waiting");
    gate.expect(100, 'a', 2000);
    assert.equal(gate.waitUntil('a', 100), 2100, 'handed back again, a waits anew');
  });

  it('a later deadline extends a wait under way, an earlier one does not; an ended wait stays ended until forgotten', () => {
    const gate = new HandbackGate();
    gate.expect(0, 'a', 1000);
    gate.expect(500, 'a', 100);
    assert.equal(gate.waitUntil('a', 500), 1000, 'an earlier deadline does not shorten it');
    gate.expect(500, 'a', 5000);
    assert.equal(gate.waitUntil('a', 500), 5500, 'a later one (a fence found later) extends it');
    gate.expect(6000, 'a', 5000);
    assert.equal(gate.waitUntil('a', 6000), undefined, 'an ended wait starts no new one');
    gate.forget('a');
    gate.expect(6000, 'a', 5000);
    assert.equal(gate.waitUntil('a', 6000), 11_000);
  });
});
