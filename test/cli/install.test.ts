/**
 * Install as an operator would, away from the clone: `npm pack`, then `npm install -g` of the
 * tarball into a prefix of its own. The installed `flip` runs, and the example config's bare
 * script names (vip-up, vip-down, vip-lease) resolve to the installed package's scripts.
 * Needs the npm registry for the dependencies (CI has it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PACKAGE_ROOT } from '../../src/testing/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'flip-install-'));
const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });

describe('install: npm pack, then npm install -g of the tarball', { timeout: 400_000 }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a working flip whose configs find the shipped scripts by name', () => {
    const packed = npm(['pack', '--pack-destination', dir], PACKAGE_ROOT);
    assert.equal(packed.status, 0, packed.stderr);
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball, `npm pack made no tarball: ${packed.stdout}`);
    const prefix = join(dir, 'prefix');
    const installed = npm(
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, tarball)],
      dir,
    );
    assert.equal(installed.status, 0, installed.stderr);
    const flip = join(prefix, 'bin', 'flip');
    assert.ok(existsSync(flip), 'flip is on the prefix PATH');
    const root = join(prefix, 'lib', 'node_modules', 'flip');
    for (const script of ['vip-up', 'vip-down', 'vip-lease'])
      assert.ok(existsSync(join(root, 'scripts', 'linux', script)), `${script} is installed`);
    const version = spawnSync(flip, ['--version'], { encoding: 'utf8', cwd: dir });
    assert.equal(version.status, 0, version.stderr);
    // The example config checked as lb1, whose scripts must run here: named bare, they are found
    // in the installed package, with a PATH that has no flip scripts on it.
    const check = spawnSync(
      flip,
      ['config', 'check', '--id', 'lb1', join(root, 'examples', 'vip-pair.json')],
      {
        encoding: 'utf8',
        cwd: dir,
        env: { ...process.env, PATH: `${join(prefix, 'bin')}:/usr/bin:/bin` },
      },
    );
    const output = check.stdout + check.stderr;
    assert.doesNotMatch(output, /not found/, output);
    assert.equal(check.status, 0, output);
  });
});
