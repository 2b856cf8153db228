import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, type ConfigIssue, DEFAULTS, parseConfig } from '../../src/config/index.js';

function issuesOf(text: string, filename = 'test.yaml'): ConfigIssue[] {
  try {
    parseConfig(text, filename);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail('config was accepted');
}

/** A YAML config whose system `ip` has the lines in `system` (each indented by the caller). */
function yaml(system: string, top = ''): string {
  return `id: a
key: k
${top}servers:
  a: { ip: 10.0.0.1, port: 2200, systems: [ip] }
  b: { ip: 10.0.0.2, port: 2200, systems: [ip] }
cluster:
  system:
    ip:
      alive: up
      down: down
      type: shard
      data: [x]
${system}`;
}

describe('config: health checks and hold-down', () => {
  it('defaults: no check, hold_down 10 s, HAProxy-like check timing', () => {
    const system = parseConfig(yaml(''), 'a.yaml').systems[0]!;
    assert.equal(system.check, undefined);
    assert.equal(system.hold_down_ms, DEFAULTS.hold_down_ms);
    assert.equal(DEFAULTS.hold_down_ms, 10_000);
    assert.deepEqual(
      [system.check_interval_ms, system.check_timeout_ms, system.rise, system.fall],
      [2000, 2000, 2, 3],
    );
  });

  it('reads a check with its settings, and hold_down from the system over the top level', () => {
    const config = parseConfig(
      yaml(
        '      check: ./check\n      check_interval: 500\n      check_timeout: 300\n      rise: 4\n      fall: 1\n      hold_down: 0\n',
        'hold_down: 7000\n',
      ),
      'a.yaml',
    );
    const system = config.systems[0]!;
    assert.equal(system.check, './check');
    assert.deepEqual(
      [system.check_interval_ms, system.check_timeout_ms, system.rise, system.fall, system.hold_down_ms],
      [500, 300, 4, 1, 0],
    );
    assert.equal(config.hold_down_ms, 7000);
    assert.equal(parseConfig(yaml('', 'hold_down: 7000\n'), 'a.yaml').systems[0]!.hold_down_ms, 7000);
  });

  it('names the field and its line for bad values', () => {
    const issues = issuesOf(
      yaml(
        '      check: ./check\n      check_interval: 50\n      rise: 0\n      fall: 1.5\n',
        'hold_down: -1\n',
      ),
    );
    const at = (path: string) => issues.find((issue) => issue.path === path);
    assert.match(at('cluster.system.ip.check_interval')?.message ?? '', /out of range \(100 to/);
    assert.equal(at('cluster.system.ip.check_interval')?.line, 15);
    assert.match(at('cluster.system.ip.rise')?.message ?? '', /out of range \(1 to 100\)/);
    assert.equal(at('cluster.system.ip.rise')?.line, 16);
    assert.match(at('cluster.system.ip.fall')?.message ?? '', /whole number/);
    assert.match(at('hold_down')?.message ?? '', /out of range \(0 to/);
    assert.equal(at('hold_down')?.line, 3);
  });

  it('refuses check settings without a check, naming each', () => {
    const issues = issuesOf(yaml('      rise: 2\n      check_timeout: 100\n'));
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.line]),
      [
        ['cluster.system.ip.rise', 13],
        ['cluster.system.ip.check_timeout', 14],
      ],
    );
    assert.match(issues[0]!.message, /no effect without a check script/);
  });

  it('hints at a misspelt key', () => {
    const issues = issuesOf(yaml('      check: ./c\n      hold_dwn: 5\n'));
    assert.match(issues[0]!.message, /did you mean "hold_down"/);
  });
});
