/** Building a change from a command line (src/cli/change-args.ts): values, and problems named by argument. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeChange } from '../../src/changes/index.js';
import { buildChange, type ChangeCommand } from '../../src/cli/change-args.js';

function problems(command: ChangeCommand): string[] {
  const built = buildChange(command, 0);
  assert.equal(built.ok, false, JSON.stringify(command));
  return built.ok ? [] : built.problems;
}

function change(command: ChangeCommand, base_version = 7) {
  const built = buildChange(command, base_version);
  assert.ok(built.ok, built.ok ? '' : built.problems.join('\n'));
  return built.change;
}

describe('buildChange', () => {
  it('builds each kind, made against the version given', () => {
    assert.deepEqual(change({ command: 'data rm', system: 'vip', items: ['a', 'b'] }), {
      kind: 'data_rm',
      system: 'vip',
      items: ['a', 'b'],
      base_version: 7,
    });
    assert.deepEqual(
      change({
        command: 'server add',
        id: 'f4',
        ip: '10.0.0.4',
        port: '2204',
        priority: '-1.5',
        systems: ['a', 'b'],
      }),
      {
        kind: 'server_add',
        id: 'f4',
        ip: '10.0.0.4',
        port: 2204,
        priority: -1.5,
        systems: ['a', 'b'],
        base_version: 7,
      },
    );
    assert.deepEqual(change({ command: 'server rm', id: 'f4' }), {
      kind: 'server_rm',
      id: 'f4',
      base_version: 7,
    });
    assert.deepEqual(change({ command: 'system rm', system: 'vip' }), {
      kind: 'system_rm',
      system: 'vip',
      base_version: 7,
    });
  });

  it('reads a value as JSON when it is JSON, else as the text typed', () => {
    const set = change({
      command: 'system set',
      system: 'vip',
      pairs: [
        'alive=/usr/bin/up',
        'down="123"',
        'delay=200',
        'preempt=false',
        'check=null',
        'config={"dev":"eth0"}',
      ],
    });
    assert.deepEqual(set.kind === 'system_set' && set.values, {
      alive: '/usr/bin/up',
      down: '123',
      delay: 200,
      preempt: false,
      check: null,
      config: { dev: 'eth0' },
    });
    // A value containing '=' keeps it: only the first one splits.
    const eq = change({ command: 'system set', system: 'vip', pairs: ['alive=/bin/up --x=1'] });
    assert.deepEqual(eq.kind === 'system_set' && eq.values, { alive: '/bin/up --x=1' });
  });

  it('types a history line back into the same change (describeChange writes values by the same rule)', () => {
    const values = ['alive="500"', 'down=/bin/d', 'delay=500', 'config={"a":[1,"x"]}', 'check=null'];
    const first = change({ command: 'system set', system: 'vip', pairs: values });
    const line = describeChange(first);
    const again = change({ command: 'system set', system: 'vip', pairs: line.split(' ').slice(3) });
    assert.deepEqual(again, first);
  });

  it('takes data of system add as a JSON list or comma-separated', () => {
    const command = (data: string): ChangeCommand => ({
      command: 'system add',
      system: 'web',
      pairs: ['type=hash', 'alive=/u', 'down=/d', `data=${data}`],
      members: ['f1'],
    });
    for (const data of ['10.0.1.1, 10.0.1.2', '["10.0.1.1","10.0.1.2"]']) {
      const built = change(command(data));
      assert.deepEqual(built.kind === 'system_add' && built.definition.data, ['10.0.1.1', '10.0.1.2'], data);
    }
  });

  it('names the argument of every problem', () => {
    const table: [ChangeCommand, string[]][] = [
      [
        { command: 'data add', system: 'vip', items: ['a', 'b', 'a'] },
        ['ITEM "a": "a" is listed twice (also at [0])'],
      ],
      [{ command: 'data rm', system: '', items: ['a'] }, ['SYSTEM "": must not be empty']],
      [{ command: 'server add', id: 'f', ip: '1.2.3.4', port: 'x' }, ['--port "x": must be a whole number']],
      [
        { command: 'server add', id: 'f', ip: '1.2.3.4', port: '0' },
        ['--port "0": is out of range (1 to 65,535)'],
      ],
      [
        { command: 'server add', id: 'f', ip: '1.2.3.4', port: '1', priority: 'high' },
        ['--priority "high": must be a number'],
      ],
      [
        { command: 'server add', id: 'f', ip: '1.2.3.4', port: '1', systems: ['a', 'a'] },
        ['--systems "a": "a" is listed twice (also at [0])'],
      ],
      [
        { command: 'system set', system: 'vip', pairs: ['dealy=1', 'nokey'] },
        [
          'dealy=1: unknown key "dealy" (did you mean "delay"?); keys: alive, down, type, config, delay, script_timeout, no_quorum_policy, lease, fence, check, check_interval, check_timeout, rise, fall, hold_down, preempt',
          '"nokey": expected key=value (keys: alive, down, type, config, delay, script_timeout, no_quorum_policy, lease, fence, check, check_interval, check_timeout, rise, fall, hold_down, preempt)',
        ],
      ],
      [
        { command: 'system set', system: 'vip', pairs: ['delay=1', 'delay=2'] },
        ['delay=2: delay is given twice'],
      ],
      [{ command: 'system set', system: 'vip', pairs: [] }, ['key=value: give at least one']],
      [
        { command: 'system set', system: 'vip', pairs: ['alive=null'] },
        ['alive=null: cannot be removed: every system needs alive, down, type'],
      ],
      [
        { command: 'system set', system: 'vip', pairs: ['delay=-5'] },
        ['delay=-5: is out of range (0 to 300,000 ms)'],
      ],
      [
        { command: 'system add', system: 'web', pairs: ['type=hsh', 'alive=/a', 'data=x'], members: [] },
        [
          'down=VALUE: is required (a string)',
          'type=hsh: "hsh" is not one of: shard, sharded, replicated, replicate, single, choose_one, hash (did you mean "hash"?)',
          '--members: must name at least one server: a system needs a member',
        ],
      ],
    ];
    for (const [command, expected] of table)
      assert.deepEqual(problems(command), expected, JSON.stringify(command));
  });
});
