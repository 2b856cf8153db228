/**
 * The shipped scripts are found by their bare names (vip-up, vip-down, vip-lease) wherever flip is
 * installed, after the agent's own PATH; the example configs name them so.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { checkScript } from '../../src/executor/launcher.js';
import { SHIPPED_SCRIPTS_DIR, scriptPath } from '../../src/executor/script-path.js';
import { PACKAGE_ROOT } from '../../src/testing/paths.js';

describe('script path: the shipped scripts by name', () => {
  it('comes after the given PATH, once', () => {
    assert.equal(scriptPath('/usr/bin:/bin'), `/usr/bin${delimiter}/bin${delimiter}${SHIPPED_SCRIPTS_DIR}`);
    assert.equal(scriptPath(scriptPath('/bin')), scriptPath('/bin'));
    assert.equal(scriptPath(''), SHIPPED_SCRIPTS_DIR);
    assert.equal(SHIPPED_SCRIPTS_DIR, join(PACKAGE_ROOT, 'scripts/linux'));
  });

  it('finds vip-up, vip-down and vip-lease by name; an unknown name is still not found', () => {
    for (const name of ['vip-up', 'vip-down', 'vip-lease'])
      assert.equal(checkScript(name, PACKAGE_ROOT, scriptPath('/usr/bin:/bin')), undefined, name);
    assert.match(
      checkScript('vip-nothing', PACKAGE_ROOT, scriptPath('/usr/bin:/bin')) ?? '',
      /not found on PATH/,
    );
  });

  it('the example configs name the shipped scripts by name', () => {
    const example = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'examples/vip-pair.json'), 'utf8'));
    const vip = example.cluster.system.vip;
    assert.deepEqual([vip.alive, vip.down, vip.lease], ['vip-up', 'vip-down', 'vip-lease']);
  });
});
