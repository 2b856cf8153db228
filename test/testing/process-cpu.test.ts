/**
 * What the benchmarks read of a process's CPU: this process's own threads counted in ns, growing
 * with work; ticks as /proc/PID/stat has them; nothing for a process that is gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clockTicksPerSecond, cpuNs, cpuTicks } from '../../src/testing/process-cpu.js';

describe('process CPU', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('counts this process in ns, and the count grows with work', () => {
    const before = cpuNs(process.pid);
    const until = performance.now() + 50;
    let spin = 0;
    while (performance.now() < until) spin++;
    const after = cpuNs(process.pid);
    assert.ok(spin > 0);
    // 50 ms of spinning on one thread: at least half of it counted, whatever else ran.
    assert.ok(after - before >= 25e6, `${after - before} ns`);
    // The ticks agree within a few ticks with the ns.
    const ticks = cpuTicks(process.pid).self;
    const fromTicks = (ticks / clockTicksPerSecond()) * 1e9;
    assert.ok(
      Math.abs(fromTicks - after) < 0.2 * after + 5e7,
      `ticks ${fromTicks} ns, schedstat ${after} ns`,
    );
  });

  it('a process that is gone counts nothing', () => {
    assert.deepEqual(cpuTicks(2 ** 30), { self: 0, reaped: 0 });
    assert.equal(cpuNs(2 ** 30), 0);
  });
});
