import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { runFlip } from '../helpers/flip-cli.js';

describe('flip demo', { timeout: 90_000 }, () => {
  it('shows the failover and the return, exits 0 and leaves nothing running', () => {
    const result = runFlip(['demo']);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /kill -9 flip1/);
    assert.match(result.stdout, /ok: the survivors agreed flip1 is down and took its data/);
    assert.match(result.stdout, /ok: flip1 is back and its data went home/);
    assert.match(result.stdout, /192\.168\.0\.1 {2}x/, "the README's flip1-down table");
    // Only this demo's agents: others (a benchmark, another test) may run beside it.
    const dir = /agent logs in (\S+)/.exec(result.stdout)?.[1];
    assert.ok(dir, 'the demo names its directory');
    const agents = execFileSync('ps', ['-eo', 'args'])
      .toString()
      .split('\n')
      .filter((line) => line.includes(' agent --config ') && line.includes(dir));
    assert.deepEqual(agents, []);
  });
});
