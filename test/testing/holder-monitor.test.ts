/**
 * The holder monitor's clock: an `ip -ts` stamp is placed on nowMs()'s clock by how long before
 * its line's arrival it was, so that lines that wait in a pipe keep their order among the hosts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stampedAt } from '../../src/testing/netns/holder-monitor.js';

/** The local wall-clock text `ip -ts` prints for an epoch time: date and time, then the microseconds. */
function local(epochMs: number): [string, string] {
  const date = new Date(epochMs);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const text = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return [text, `${pad(date.getMilliseconds(), 3)}250`];
}

describe('holder monitor stamps', () => {
  const wallNow = Date.UTC(2026, 11, 5, 21, 50, 38, 700);
  const arrived = 1_000_000;

  it('places a stamp before its arrival by how old it is on the wall clock', () => {
    const [text, fraction] = local(wallNow - 300);
    const at = stampedAt(text, fraction, arrived, wallNow);
    assert.ok(Math.abs(at - (arrived - 300 + 0.25)) < 1e-6, `${at}`);
  });

  it('keeps two lines in the order of their stamps, not of their arrival', () => {
    const [late, lateFraction] = local(wallNow - 400); // the earlier event, whose line came second
    const [early, earlyFraction] = local(wallNow - 50);
    const first = stampedAt(early, earlyFraction, arrived - 10, wallNow - 10);
    const second = stampedAt(late, lateFraction, arrived, wallNow);
    assert.ok(second < first, `${second} < ${first}`);
  });

  it('falls back to the arrival for a stamp in the future, too old, or unreadable', () => {
    const [future, futureFraction] = local(wallNow + 1000);
    assert.equal(stampedAt(future, futureFraction, arrived, wallNow), arrived);
    const [old, oldFraction] = local(wallNow - 60_000);
    assert.equal(stampedAt(old, oldFraction, arrived, wallNow), arrived);
    assert.equal(stampedAt('not a time', '0', arrived, wallNow), arrived);
  });
});
