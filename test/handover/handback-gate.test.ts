import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandbackGate, RELEASE_MEMORY_MS } from '../../src/handover/handback-gate.js';

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
    gate.heard(500, 'a');
    assert.equal(gate.waitUntil('a', 500), undefined);
    assert.equal(gate.waitUntil('b', 500), 2000, 'only the item released');
  });

  it('a release heard before the plan, within the memory, means no wait', () => {
    const gate = new HandbackGate();
    gate.heard(1000, 'a');
    gate.expect(1000 + RELEASE_MEMORY_MS, 'a', 2000);
    assert.equal(gate.waitUntil('a', 1000 + RELEASE_MEMORY_MS), undefined);
  });

  it('a release heard longer ago than the memory is forgotten: the item waits', () => {
    const gate = new HandbackGate();
    gate.heard(1000, 'a');
    const later = 1000 + RELEASE_MEMORY_MS + 1;
    gate.expect(later, 'a', 2000);
    assert.equal(gate.waitUntil('a', later), later + 2000);
  });

  it('an old release is forgotten when another is heard, and waits again', () => {
    const gate = new HandbackGate();
    gate.heard(0, 'a');
    gate.heard(RELEASE_MEMORY_MS + 1, 'b');
    gate.expect(RELEASE_MEMORY_MS + 1, 'a', 100);
    gate.expect(RELEASE_MEMORY_MS + 1, 'b', 100);
    assert.equal(gate.waitUntil('a', RELEASE_MEMORY_MS + 1), RELEASE_MEMORY_MS + 101);
    assert.equal(gate.waitUntil('b', RELEASE_MEMORY_MS + 1), undefined);
  });

  it('items no longer wanted are dropped; the others keep waiting', () => {
    const gate = new HandbackGate();
    gate.expect(0, 'a', 2000);
    gate.expect(0, 'b', 2000);
    gate.retain(new Set(['b']));
    assert.equal(gate.waitUntil('a', 0), undefined);
    assert.equal(gate.waitUntil('b', 0), 2000);
    gate.expect(100, 'a', 2000);
    assert.equal(gate.waitUntil('a', 100), 2100, 'handed back again, a waits anew');
  });

  it('the first deadline holds while the item waits, even after it has passed, until forgotten', () => {
    const gate = new HandbackGate();
    gate.expect(0, 'a', 1000);
    gate.expect(500, 'a', 5000);
    assert.equal(gate.waitUntil('a', 500), 1000);
    gate.expect(1500, 'a', 5000);
    assert.equal(gate.waitUntil('a', 1500), undefined, 'an ended wait starts no new one');
    gate.forget('a');
    gate.expect(1500, 'a', 5000);
    assert.equal(gate.waitUntil('a', 1500), 6500);
  });
});
