import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeFailure, retryDelayMs } from '../../src/executor/retry.js';
import { ScriptRunner } from '../../src/executor/runner.js';
import {
  type AlivePermit,
  LATE_RUNS_MAX,
  LEASE_LATE_EXIT_CODE,
  type RunnerNote,
} from '../../src/executor/types.js';
import { Harness, result, system } from './harness.js';

const ABC = ['a', 'b', 'c'];

/** A harness over one system `ip`; remove_on_start off unless asked, so plans stay small. */
function harness(
  data = ABC,
  extra: { delay_ms?: number; remove_on_start?: boolean; parallel_max?: number } = {},
) {
  return new Harness({
    node: 'n1',
    systems: [system('ip', data, { delay_ms: extra.delay_ms ?? 0 })],
    remove_on_start: extra.remove_on_start ?? false,
    parallel_max: extra.parallel_max,
  });
}

function plans(h: Harness) {
  return h
    .notesOf('plan')
    .map(({ plan, desired, leaving, arriving }) => ({ plan, desired, leaving, arriving }));
}

describe('executor: retryDelayMs and describeFailure', () => {
  it('doubles from the base, caps at the max, then waits failed_retry_ms', () => {
    const policy = {
      retry_base_ms: 1000,
      retry_max_ms: 5000,
      attempts_before_failed: 6,
      failed_retry_ms: 60_000,
    };
    const table: [number, number][] = [
      [1, 1000],
      [2, 2000],
      [3, 4000],
      [4, 5000],
      [5, 5000],
      [6, 60_000],
      [50, 60_000],
    ];
    for (const [failures, delay_ms] of table)
      assert.equal(retryDelayMs(failures, policy), delay_ms, `${failures}`);
    assert.throws(() => retryDelayMs(0, policy), /at least one failure/);
  });

  it('describes how a run ended with its last line of output', () => {
    const base = { run: 1, ok: false, duration_ms: 5, stdout: '', stderr: 'one\ntwo\n\n' };
    assert.equal(
      describeFailure({ ...base, exit_code: 3, signal: null, timed_out: false }, 100),
      'exit code 3: two',
    );
    assert.equal(
      describeFailure({ ...base, exit_code: null, signal: 'SIGTERM', timed_out: true, stderr: '' }, 100),
      'timed out after 100 ms',
    );
    assert.equal(
      describeFailure({ ...base, exit_code: null, signal: 'SIGKILL', timed_out: false }, 100),
      'killed by SIGKILL: two',
    );
    const long = describeFailure(
      { ...base, exit_code: 1, signal: null, timed_out: false, stderr: 'x'.repeat(5000) },
      1,
    );
    assert.ok(long.length <= 300);
  });

  it("prefers stderr's last line, where errors go, and falls back to stdout's", () => {
    const base = { run: 1, ok: false, duration_ms: 5, exit_code: 2, signal: null, timed_out: false };
    assert.equal(
      describeFailure({ ...base, stdout: 'progress\ndone\n', stderr: 'no such device\n  \n' }, 100),
      'exit code 2: no such device',
    );
    assert.equal(
      describeFailure({ ...base, stdout: 'progress\ndone\n', stderr: ' \n' }, 100),
      'exit code 2: done',
    );
    assert.equal(describeFailure({ ...base, stdout: '', stderr: '' }, 100), 'exit code 2');
  });
});

describe('executor: ScriptRunner permit (no alive without a fresh lease)', () => {
  it('an alive that comes due when permit says no is dropped, the plan ends, and the next set plans it again', () => {
    let allowed = false;
    const asked: string[] = [];
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC, { delay_ms: 100 })],
      remove_on_start: false,
      permit: (_system, item, now) => {
        asked.push(`${item}@${now}`);
        return allowed ? { kind: 'go' } : { kind: 'refuse' };
      },
    });
    h.set('ip', ['a']);
    // Frozen past the delay: the plan's alive comes due late, and the lease is gone.
    h.at(5_000);
    assert.deepEqual(h.fresh().launches, []);
    assert.deepEqual(asked, ['a@5000']);
    assert.equal(h.runner.counters().alives_refused, 1);
    assert.equal(h.runner.status()[0]!.phase, 'idle', 'the plan is over');
    allowed = true;
    h.at(5_100).set('ip', ['a']);
    h.at(5_200);
    // The item was never started, but a previous life may have left it: a `down` comes first.
    assert.deepEqual(h.fresh().launches, ['down a']);
    h.finish('a', true).at(5_300);
    assert.deepEqual(h.fresh().launches, ['alive a']);
  });

  it('downs are never asked about', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: true,
      permit: () => ({ kind: 'refuse' }),
    });
    h.set('ip', []);
    assert.deepEqual(h.fresh().launches, ['down a', 'down b', 'down c']);
  });

  it("a drain's downs are never asked about, though the items are still wanted", () => {
    let asked = 0;
    const h: Harness = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: false,
      permit: (_system, _item, now): AlivePermit => {
        asked += 1;
        return asked === 1 ? { kind: 'go' } : { kind: 'wait', retry_at: now + 20 };
      },
    });
    h.set('ip', ['a']).finish('a', true);
    assert.equal(asked, 1);
    // A permit that would hold an `alive` for ever (a leaving controller has no renewal window
    // any more) must not hold the drain's `down`.
    h.drain(true);
    assert.deepEqual(h.fresh().launches, ['alive a', 'down a']);
    assert.equal(asked, 1);
  });
});

describe('executor: ScriptRunner permit with a lease deadline (leased items wait for a renewal window)', () => {
  function leased(answers: (now: number) => AlivePermit) {
    const asked: number[] = [];
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: false,
      permit: (_system, _item, now) => {
        asked.push(now);
        return answers(now);
      },
    });
    return { h, asked };
  }

  it('wait keeps the alive queued and asks again at retry_at; go passes the deadline to the launch', () => {
    // Windows open every 250 ms for 100 ms, as a lease round's under `keep`.
    const { h, asked } = leased((now) =>
      now % 250 < 60
        ? { kind: 'go', lease_deadline: now - (now % 250) + 100 }
        : { kind: 'wait', retry_at: now + 20 },
    );
    h.at(70).set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, []);
    assert.equal(h.runner.nextWakeAt(), 90, 'asked again at retry_at, not dropped');
    for (let step = 0; step < 20 && h.running.size === 0; step++) h.at(h.runner.nextWakeAt());
    assert.deepEqual(asked, [70, 90, 110, 130, 150, 170, 190, 210, 230, 250]);
    const launch = h.runOf('a')!;
    assert.equal(launch.lease_deadline, 350);
    assert.equal(h.runner.counters().alives_waited, 9);
    assert.equal(h.runner.counters().alives_refused, 0);
  });

  it('an alive that exits LEASE_LATE_EXIT_CODE is no failure: asked about again at once, up to LATE_RUNS_MAX in a row', () => {
    const { h } = leased((now) => ({ kind: 'go', lease_deadline: now + 100 }));
    h.set('ip', ['a']);
    for (let late = 1; late <= LATE_RUNS_MAX; late++) {
      const run = h.runOf('a')!.run;
      h.advance(10);
      h.runner.finished(h.now, { ...result(run, false), exit_code: LEASE_LATE_EXIT_CODE });
      h.running.delete(run);
      h.at(h.now);
      assert.ok(h.runOf('a') !== undefined, `late run ${late} is started again at once`);
      assert.equal(h.runner.counters().alives_late, late);
      assert.equal(h.runner.counters().runs_failed, 0);
      assert.deepEqual(h.notesOf('retry'), [], 'no retry with backoff');
    }
    // One more late in a row counts as a failure: a script that keeps exiting 75 is not spinning.
    const run = h.runOf('a')!.run;
    h.runner.finished(h.now, { ...result(run, false), exit_code: LEASE_LATE_EXIT_CODE });
    h.running.delete(run);
    h.at(h.now);
    assert.equal(h.runner.counters().runs_failed, 1);
    assert.equal(h.notesOf('retry').length, 1);
    assert.equal(h.runOf('a'), undefined, 'retried after the backoff');
  });

  it('exit 75 without a lease deadline is an ordinary failure', () => {
    const h = new Harness({ node: 'n1', systems: [system('ip', ABC)], remove_on_start: false });
    h.set('ip', ['a']);
    const run = h.runOf('a')!.run;
    assert.equal(h.runOf('a')!.lease_deadline, undefined);
    h.runner.finished(h.now, { ...result(run, false), exit_code: LEASE_LATE_EXIT_CODE });
    h.running.delete(run);
    assert.equal(h.runner.counters().runs_failed, 1);
    assert.equal(h.runner.counters().alives_late, 0);
  });
});

describe('executor: ScriptRunner plans', () => {
  it('coalesces changes within delay_ms into one plan with the newest set', () => {
    const h = harness(ABC, { delay_ms: 500 });
    h.set('ip', ['a']);
    assert.equal(h.runner.nextWakeAt(), 500);
    h.at(100).set('ip', ['b']);
    h.at(200).set('ip', ['c', 'b']);
    assert.equal(h.runner.nextWakeAt(), 500, 'later changes fold in without restarting the delay');
    h.at(499);
    assert.deepEqual(h.fresh().launches, []);
    assert.equal(h.runner.status()[0]!.next_plan_waiting, true);
    h.at(500);
    assert.deepEqual(plans(h), [{ plan: 1, desired: ['b', 'c'], leaving: [], arriving: ['b', 'c'] }]);
    assert.deepEqual(h.fresh().launches, ['alive b', 'alive c']);
  });

  it('plans at once when delay_ms is 0', () => {
    const h = harness();
    h.set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(plans(h).length, 1);
  });

  it('makes no plan when the set returns to the applied one within the delay', () => {
    const h = harness(ABC, { delay_ms: 100 });
    h.set('ip', ['a']).at(100).settle();
    h.set('ip', ['b']);
    h.at(150).set('ip', ['a']);
    h.at(1000);
    assert.equal(plans(h).length, 1);
    assert.ok(h.runner.idle());
    assert.equal(h.runner.nextWakeAt(), Number.POSITIVE_INFINITY);
  });

  it('skips the rest of the delay for an immediate set, but still waits for a running plan', () => {
    const h = harness(ABC, { delay_ms: 500 });
    h.set('ip', ['a']);
    h.at(100).set('ip', ['a', 'b'], { immediate: true });
    assert.deepEqual(plans(h), [{ plan: 1, desired: ['a', 'b'], leaving: [], arriving: ['a', 'b'] }]);
    h.at(200).set('ip', ['c'], { immediate: true });
    assert.equal(plans(h).length, 1, 'plan 1 is still running');
    h.finish('a', true).finish('b', true);
    assert.deepEqual(plans(h)[1]?.desired, ['c']);
    h.settle();
    h.set('ip', ['c'], { immediate: true });
    assert.equal(plans(h).length, 2, 'an unchanged set makes no plan');
    assert.ok(h.runner.idle());
    assert.deepEqual(h.runner.systems(), ['ip']);
  });

  it('runs every down of a plan before any of its alives', () => {
    const h = harness(['a', 'b', 'c', 'd']);
    h.set('ip', ['a', 'b']).settle();
    h.fresh();
    h.set('ip', ['c', 'd']);
    assert.deepEqual(plans(h)[1], {
      plan: 2,
      desired: ['c', 'd'],
      leaving: ['a', 'b'],
      arriving: ['c', 'd'],
    });
    assert.deepEqual(h.fresh().launches, ['down a', 'down b']);
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, [], 'one down is still running');
    h.finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive c', 'alive d']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['c', 'd']);
  });

  it('lets alives proceed after a failed down, which keeps being retried', () => {
    const h = harness();
    h.set('ip', ['a']).settle();
    h.fresh();
    h.at(10).set('ip', ['b']);
    assert.deepEqual(h.fresh().launches, ['down a']);
    h.finish('a', false);
    const fresh = h.fresh();
    assert.deepEqual(fresh.launches, ['alive b']);
    assert.deepEqual(
      fresh.notes.filter((note) => note.type === 'retry'),
      [{ type: 'retry', system: 'ip', item: 'a', event: 'down', attempt: 2, at: 1010 }],
    );
    h.finish('b', true);
    assert.deepEqual(h.runner.held('ip'), ['a', 'b'], 'a is still held: its down has not succeeded');
    h.at(1010);
    assert.deepEqual(h.fresh().launches, ['down a']);
    assert.equal(h.runOf('a')?.attempt, 2);
    h.finish('a', true);
    assert.deepEqual(h.runner.held('ip'), ['b']);
  });

  it('remove_on_start runs down for every undesired item in the first plan, before the alives', () => {
    const h = harness(ABC, { remove_on_start: true });
    h.set('ip', ['b']);
    assert.deepEqual(plans(h), [{ plan: 1, desired: ['b'], leaving: ['a', 'c'], arriving: ['b'] }]);
    assert.deepEqual(h.fresh().launches, ['down a', 'down c']);
    h.finish('a', true).finish('c', true);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    h.settle();
    // Later plans only run down for items this node was driving towards alive.
    h.set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['down b']);
  });

  it('without remove_on_start, items start as not held and only desired items get alive', () => {
    const h = harness(ABC, { remove_on_start: false });
    h.set('ip', ['b']);
    assert.deepEqual(plans(h), [{ plan: 1, desired: ['b'], leaving: [], arriving: ['b'] }]);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    h.settle();
    h.set('ip', []);
    assert.deepEqual(h.fresh().launches, ['down b']);
  });

  it('an empty first plan with remove_on_start runs down for all data', () => {
    const h = harness(ABC, { remove_on_start: true });
    h.set('ip', []);
    assert.deepEqual(h.fresh().launches, ['down a', 'down b', 'down c']);
  });

  it('makes newer plans wait while scripts run and applies only the newest', () => {
    const h = harness(ABC, { delay_ms: 100 });
    h.set('ip', ['a']).at(100);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    h.at(150).set('ip', ['b']);
    h.at(200).set('ip', ['c']);
    h.at(250);
    h.at(260).set('ip', ['a', 'c']);
    assert.deepEqual(h.fresh().launches, [], 'plan 1 is still running');
    assert.equal(h.runner.status()[0]!.phase, 'alive');
    assert.equal(h.runner.status()[0]!.next_plan_waiting, true);
    h.at(400).finish('a', true);
    assert.deepEqual(
      plans(h).map((plan) => [plan.plan, plan.desired]),
      [
        [1, ['a']],
        [2, ['a', 'c']],
      ],
    );
    assert.deepEqual(h.fresh().launches, ['alive c']);
  });

  it('waits for the delay even when the running plan completes first', () => {
    const h = harness(ABC, { delay_ms: 100 });
    h.set('ip', ['a']).at(100);
    h.at(150).set('ip', ['b']);
    h.finish('a', true);
    assert.equal(plans(h).length, 1);
    h.at(250);
    assert.equal(plans(h).length, 2);
  });

  it('keeps systems independent', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC), system('db', ['x', 'y'])],
      remove_on_start: false,
    });
    h.set('ip', ['a']).set('db', ['x']);
    h.finish('a', true).finish('x', true);
    h.fresh();
    h.set('ip', ['b']);
    h.set('db', ['y']);
    assert.deepEqual(h.fresh().launches, ['down a', 'down x']);
    h.finish('x', true, { system: 'db' });
    assert.deepEqual(h.fresh().launches, ['alive y'], "db does not wait for ip's down");
  });

  it('ignores items outside the data and asserts on unknown systems', () => {
    const h = harness();
    h.set('ip', ['zzz', 'a', 'a', '']);
    assert.deepEqual(plans(h)[0]?.desired, ['a']);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.throws(() => h.runner.setDesired(0, 'nope', []), /unknown system "nope"/);
    assert.throws(() => h.runner.held('nope'), /unknown system/);
  });

  it('asserts that time never goes backwards', () => {
    const h = harness();
    h.at(100);
    assert.throws(() => h.runner.tick(99), /time went backwards/);
  });

  it('fills each launch with script, arguments, environment and timeout', () => {
    const runner = new ScriptRunner({
      node: 'flip1',
      systems: [
        system('ip', ['10.0.0.1'], { config: { interface: 'eth0', prefix: 24 }, script_timeout_ms: 1234 }),
      ],
      remove_on_start: false,
    });
    runner.setDesired(7, 'ip', ['10.0.0.1']);
    const { launches, notes } = runner.takeEffects();
    const config = '{"interface":"eth0","prefix":24}';
    assert.deepEqual(launches, [
      {
        run: 1,
        system: 'ip',
        item: '10.0.0.1',
        event: 'alive',
        script: '/opt/ip/up',
        args: ['10.0.0.1', config],
        env: {
          FLIP_EVENT: 'alive',
          FLIP_SYSTEM: 'ip',
          FLIP_ITEM: '10.0.0.1',
          FLIP_NODE: 'flip1',
          FLIP_CONFIG: config,
        },
        timeout_ms: 1234,
        attempt: 1,
        plan: 1,
        reason: 'plan',
      },
    ]);
    assert.deepEqual(
      notes.map((note) => note.type),
      ['plan', 'started'],
    );
    assert.deepEqual(runner.status()[0]!.running, [
      { item: '10.0.0.1', event: 'alive', since: 7, run: 1, attempt: 1 },
    ]);
  });
});

describe('executor: ScriptRunner concurrency', () => {
  it('never runs two scripts for one item at once', () => {
    const h = harness();
    h.set('ip', ['a']);
    h.finish('a', false);
    h.fresh();
    h.at(1000);
    assert.deepEqual(h.fresh().launches, ['alive a'], 'the retry');
    h.set('ip', []);
    assert.deepEqual(h.fresh().launches, [], 'the down waits for the running retry');
    assert.deepEqual(plans(h)[1]?.leaving, ['a']);
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, ['down a']);
    h.finish('a', true);
    assert.deepEqual(h.runner.held('ip'), []);
    assert.deepEqual(h.notesOf('recovered'), [], 'the retry belonged to a superseded plan');
  });

  it('runs at most parallel_max scripts at once, over all systems', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ['a', 'b', 'c', 'd']), system('db', ['x', 'y'])],
      remove_on_start: false,
      parallel_max: 3,
    });
    h.set('ip', ['a', 'b', 'c', 'd']).set('db', ['x', 'y']);
    assert.deepEqual(h.fresh().launches, ['alive a', 'alive b', 'alive c']);
    h.finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive d']);
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, ['alive x']);
    h.settle();
    assert.deepEqual(h.runner.held('db'), ['x', 'y']);
  });

  it('starts first attempts of plans before retries when slots are scarce', () => {
    const h = harness(ABC, { parallel_max: 1 });
    h.set('ip', ['a']);
    h.finish('a', false);
    h.fresh();
    h.at(1000);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    h.finish('a', false); // next retry at 3000
    h.at(2990).set('ip', ['a', 'b', 'c']);
    h.at(3000);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    h.finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive c'], 'plan 2 first, the retry of a after');
    h.finish('c', true);
    assert.deepEqual(h.fresh().launches, ['alive a']);
  });
});

describe('executor: ScriptRunner retries', () => {
  it('backs off 1000, 2000, 4000 ... capped at retry_max_ms', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: false,
      retry_max_ms: 5000,
      attempts_before_failed: 10,
    });
    h.set('ip', ['a']);
    const delays_ms: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      assert.equal(h.runOf('a')?.attempt, attempt);
      h.finish('a', false);
      const retry = h.notesOf('retry').at(-1)!;
      assert.equal(retry.attempt, attempt + 1);
      delays_ms.push(retry.at - h.now);
      assert.equal(h.runner.nextWakeAt(), retry.at);
      h.at(retry.at - 1);
      assert.equal(h.runOf('a'), undefined, 'not before its time');
      h.at(retry.at);
    }
    assert.deepEqual(delays_ms, [1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('reports failed once after attempts_before_failed, retries forever, then recovered', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: false,
      attempts_before_failed: 3,
      failed_retry_ms: 60_000,
    });
    h.set('ip', ['a']);
    h.finish('a', false);
    h.at(1000).finish('a', false);
    assert.deepEqual(h.notesOf('failed'), []);
    h.at(3000).finish('a', false, { timed_out: true });
    assert.deepEqual(h.notesOf('failed'), [
      { type: 'failed', system: 'ip', item: 'a', event: 'alive', attempts: 3 },
    ]);
    assert.equal(h.notesOf('retry').at(-1)!.at, 63_000);
    assert.deepEqual(h.runner.status()[0]!.failed, [
      { item: 'a', event: 'alive', attempts: 3, last_error: 'timed out after 5000 ms' },
    ]);
    for (let round = 1; round <= 3; round++) {
      h.at(3000 + round * 60_000);
      assert.equal(h.runOf('a')?.attempt, 3 + round);
      h.finish('a', false);
    }
    assert.equal(h.notesOf('failed').length, 1, 'failed is reported once per streak');
    assert.deepEqual(h.runner.status()[0]!.failed, [
      { item: 'a', event: 'alive', attempts: 6, last_error: 'exit code 1: something broke' },
    ]);
    h.at(3000 + 4 * 60_000).finish('a', true);
    assert.deepEqual(h.notesOf('recovered'), [
      { type: 'recovered', system: 'ip', item: 'a', event: 'alive' },
    ]);
    assert.deepEqual(h.runner.status()[0]!.failed, []);
    assert.deepEqual(h.runner.held('ip'), ['a']);
    assert.ok(h.runner.idle());
  });

  it('a new failure streak after recovery reports failed again', () => {
    const h = new Harness({
      node: 'n1',
      systems: [system('ip', ABC)],
      remove_on_start: false,
      attempts_before_failed: 1,
    });
    h.set('ip', ['a']).finish('a', false);
    h.at(60_000).finish('a', true);
    h.set('ip', []).finish('a', false);
    assert.equal(h.notesOf('failed').length, 2);
    assert.deepEqual(
      h.notesOf('failed').map((note) => note.event),
      ['alive', 'down'],
    );
  });

  it('cancels pending retries when a new plan flips the desired state', () => {
    const h = harness();
    h.set('ip', ['a']);
    h.finish('a', false);
    h.fresh();
    assert.equal(h.runner.nextWakeAt(), 1000);
    h.at(500).set('ip', []);
    assert.deepEqual(h.fresh().launches, ['down a']);
    h.finish('a', true);
    assert.equal(h.runner.nextWakeAt(), Number.POSITIVE_INFINITY);
    h.at(100_000);
    assert.equal(h.launches.filter((launch) => launch.event === 'alive').length, 1);
    assert.ok(h.runner.idle());
  });

  it('keeps retrying when a new plan leaves the item as it was', () => {
    const h = harness();
    h.set('ip', ['a']);
    h.finish('a', false);
    h.fresh();
    h.at(500).set('ip', ['a', 'b']);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    h.at(1000);
    assert.deepEqual(h.fresh().launches, ['alive a']);
  });
});

describe('executor: ScriptRunner reassert', () => {
  /** A runner with a 500 ms delay that holds a and b, its notes taken. */
  function holdingAB(): Harness {
    const h = harness(ABC, { delay_ms: 500 });
    h.set('ip', ['a', 'b']).advance(500);
    h.settle();
    h.fresh();
    return h;
  }

  it('runs alive again, after the delay, for what is held and wanted, and nothing else', () => {
    const h = holdingAB();
    h.reassert('ip');
    assert.deepEqual(h.fresh().launches, [], 'not before the delay');
    h.advance(500);
    assert.deepEqual(h.fresh().launches.sort(), ['alive a', 'alive b']);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a', 'b']);
  });

  it('skips an announcement that falls due after a newer view moved the item away', () => {
    // The chaos run found this: a node that refuted queued `alive` again for an item, and the
    // plan giving the item back to its home came a moment later; the announcement ran first
    // and pointed the network at a node about to run `down`.
    const h = holdingAB();
    h.reassert('ip');
    h.advance(10).set('ip', ['a']);
    h.advance(490);
    assert.deepEqual(h.fresh().launches, ['alive a'], 'b is leaving: no announcement for it');
    assert.equal(h.runner.counters().announces_skipped, 1);
    h.settle().advance(10);
    assert.deepEqual(h.fresh().launches, ['down b']);
  });

  it('a release announces only the named items, at once, and never one not held', () => {
    const h = harness();
    h.set('ip', ['a', 'b']).settle();
    h.fresh();
    h.released('ip', ['b', 'c', 'zzz']);
    const launches = h.fresh().launches;
    assert.deepEqual(launches, ['alive b']);
    assert.equal(h.runOf('b')!.reason, 'announce');
  });

  it("a down notes a release when the item may have been here: held, or a killed run's leftover", () => {
    const h = harness(ABC, { remove_on_start: true });
    h.set('ip', ['a']).settle();
    const cleanup = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      cleanup.map((note) => [note.launch.item, note.released]),
      [
        ['b', true],
        ['c', true],
      ],
      "the run's first down of an item may have removed what a killed run left",
    );
    h.set('ip', ['b']).settle();
    h.set('ip', ['a']).settle();
    const downs = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      downs.slice(2).map((note) => [note.launch.item, note.released]),
      [
        ['a', true],
        ['b', true],
      ],
      'a down after an alive is a release',
    );
    h.set('ip', ['a', 'b']).settle().set('ip', ['a']).settle();
    const failed = new Harness({
      node: 'n1',
      systems: [system('ip', ABC, { delay_ms: 0 })],
      remove_on_start: true,
    });
    failed.set('ip', ['a']);
    failed.finish('b', false).finish('c', true);
    failed.advance(60_000).finish('b', true);
    assert.deepEqual(
      failed
        .notesOf('finished')
        .filter((note) => note.launch.event === 'down')
        .map((note) => [note.launch.item, note.result.ok, note.released]),
      [
        ['b', false, false],
        ['c', true, true],
        ['b', true, true],
      ],
      'a failed first down leaves the leftover possible',
    );
  });

  it('a down after a clean-up that succeeded is no release', () => {
    const h = harness(ABC, { remove_on_start: true });
    h.set('ip', ['a']).settle();
    h.set('ip', []).settle();
    const downs = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      downs.map((note) => [note.launch.item, note.released]),
      [
        ['b', true],
        ['c', true],
        ['a', true],
      ],
    );
    h.set('ip', ['b']).settle();
    h.set('ip', []).settle();
    const later = h.notesOf('finished').filter((note) => note.launch.event === 'down');
    assert.deepEqual(
      later.slice(3).map((note) => [note.launch.item, note.released]),
      [['b', true]],
    );
  });

  it('a release announces again after an alive that is running now; a reassert leaves it', () => {
    const h = harness();
    h.set('ip', ['a', 'b']);
    h.fresh();
    h.reassert('ip');
    h.released('ip', ['b']);
    assert.deepEqual(h.fresh().launches, [], 'nothing starts beside a running alive');
    h.finish('a', true).finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    assert.equal(h.runOf('b')!.reason, 'announce');
  });

  it('a clearance of an item held here (its lease lapsed) runs its alive again, at once; not one leaving', () => {
    const h = harness();
    h.set('ip', ['a', 'b']).settle();
    h.fresh();
    h.cleared('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(h.runOf('a')!.reason, 'announce');
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['a', 'b']);
    h.set('ip', ['a']);
    h.cleared('ip', ['b']);
    assert.ok(!h.fresh().launches.includes('alive b'), 'b is leaving: no alive for it');
  });

  it('a clearance during a running alive of the item runs it again right after', () => {
    const h = harness();
    h.set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    h.cleared('ip', ['a']);
    assert.deepEqual(h.fresh().launches, [], 'nothing beside the running alive');
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(h.runOf('a')!.reason, 'announce');
  });

  it('an announcement queued behind an alive that fails runs as its retry', () => {
    const h = harness();
    h.set('ip', ['a']);
    h.released('ip', ['a']);
    h.finish('a', false);
    assert.equal(h.runOf('a')?.reason, 'announce', 'the queued announcement runs at once');
    h.finish('a', false);
    assert.equal(h.notesOf('retry').length, 1, 'and when it fails too, the usual retries go on');
    assert.equal(h.runner.held('ip').length, 0);
  });

  it('a failed re-announcement is retried like any alive', () => {
    const h = harness();
    h.set('ip', ['a']).settle();
    h.fresh();
    h.reassert('ip').finish('a', false);
    assert.equal(h.notesOf('retry').length, 1);
  });
});

describe('executor: ScriptRunner hand-backs', () => {
  it('a handed-back item waits for the previous holder to let go, then runs alive at once', () => {
    const h = harness();
    h.set('ip', ['a', 'b'], { handback: new Map([['a', 2000]]) });
    assert.deepEqual(h.fresh().launches, ['alive b'], 'b is not handed back: it starts now');
    h.finish('b', true).advance(500);
    assert.deepEqual(h.fresh().launches, [], 'a waits');
    h.released('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(h.runOf('a')!.reason, 'handback');
  });

  it('an alive that the release let go is not followed by another announcement', () => {
    const h = harness();
    h.set('ip', ['a'], { handback: new Map([['a', 2000]]) });
    h.advance(100).released('ip', ['a']);
    assert.equal(h.runOf('a')!.reason, 'handback');
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, ['alive a'], 'only the hand-back itself');
    // An alive that was already running when the release came is followed.
    h.set('ip', []).settle().set('ip', ['a']);
    h.advance(100).released('ip', ['a']);
    h.finish('a', true);
    assert.equal(h.runOf('a')?.reason, 'announce');
  });

  it('an item a newer set drops while the plan runs its downs goes on waiting', () => {
    const h = harness();
    h.set('ip', ['b']).settle();
    h.fresh();
    h.set('ip', ['a'], { handback: new Map([['a', 2000]]) });
    assert.deepEqual(h.fresh().launches, ['down b']);
    h.advance(10).set('ip', []);
    h.finish('b', true);
    assert.ok(!h.fresh().launches.includes('alive a'), 'a does not start beside its previous holder');
    h.advance(5000);
    const alives = h
      .notesOf('started')
      .filter((note) => note.launch.event === 'alive' && note.launch.item === 'a');
    assert.deepEqual(alives, [], 'nor later: the newer set does not want it');
  });

  it("a plan's alive that a newer set moves away while the downs run is not started", () => {
    const h = harness();
    h.set('ip', ['b']).settle();
    h.fresh();
    h.set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['down b']);
    h.advance(10).set('ip', ['b']);
    h.finish('b', true);
    const next = h.fresh().launches;
    assert.ok(!next.includes('alive a'), `a is not taken up just before its down (${next})`);
    assert.equal(h.runner.counters().alives_skipped, 1);
    h.settle();
    assert.deepEqual(h.runner.held('ip'), ['b'], 'the newest set holds');
    h.set('ip', ['a']).settle();
    assert.deepEqual(h.runner.held('ip'), ['a'], 'and a later plan still brings a');
  });

  it("a release that comes while a plan's downs run, for an item the plan brings, waits for the plan's alive", () => {
    const h = harness();
    h.set('ip', ['a']).settle();
    h.set('ip', ['b']);
    h.finish('a', false);
    h.finish('b', true);
    h.fresh();
    h.set('ip', ['a']);
    assert.deepEqual(h.fresh().launches, ['down b']);
    h.released('ip', ['a']);
    assert.deepEqual(h.fresh().launches, [], 'no alive while the plan runs its downs');
    h.finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive a'], "one alive, the plan's, after the release");
    assert.equal(h.runOf('a')?.reason, 'plan');
    h.finish('a', true).settle();
    assert.deepEqual(h.fresh().launches, [], 'the announcement was the plan alive');
    assert.deepEqual(h.runner.held('ip'), ['a']);
  });

  it('runs alive when the wait ends without a release', () => {
    const h = harness();
    h.set('ip', ['a'], { handback: new Map([['a', 2000]]) });
    h.advance(1999);
    assert.deepEqual(h.fresh().launches, []);
    assert.equal(h.runner.nextWakeAt(), 2000);
    h.advance(1);
    assert.deepEqual(h.fresh().launches, ['alive a']);
  });

  it('a release that came before the plan does not end its wait (the controller judges those)', () => {
    const h = harness(ABC, { delay_ms: 500 });
    h.released('ip', ['a']);
    h.advance(100).set('ip', ['a'], { handback: new Map([['a', 2000]]) });
    h.advance(500);
    assert.deepEqual(h.fresh().launches, []);
    h.advance(1600);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(h.runOf('a')!.reason, 'handback');
  });

  it('the wait blocks no later plan, and an item that leaves while waiting never runs alive', () => {
    const h = harness();
    h.set('ip', ['a'], { handback: new Map([['a', 5000]]) });
    h.advance(100).set('ip', ['b']);
    assert.deepEqual(h.fresh().launches, ['down a'], 'downs first, as in every plan');
    h.finish('a', true);
    assert.deepEqual(h.fresh().launches, ['alive b']);
    h.finish('b', true).advance(6000);
    assert.deepEqual(h.fresh().launches, [], 'no alive for a after it left');
    assert.deepEqual(h.runner.held('ip'), ['b']);
  });
});

describe('executor: ScriptRunner stale results and timers', () => {
  // Each result and each timer is checked against the generation it was made for (the item's
  // target and the plan that set it, see generation.ts); one that comes late is counted in
  // stale_results and acts on nothing newer.

  it('ignores unknown and repeated results (a run the runner no longer tracks)', () => {
    const h = harness();
    h.set('ip', ['a']);
    const run = h.runOf('a')!.run;
    h.runner.finished(0, result(999, true));
    h.runner.finished(0, result(run, false));
    h.runner.finished(0, result(run, true));
    assert.deepEqual(h.runner.counters(), {
      runs_started: 1,
      runs_failed: 1,
      stale_results: 2,
      announces_skipped: 0,
      alives_skipped: 0,
      alives_refused: 0,
      alives_waited: 0,
      alives_late: 0,
    });
    assert.deepEqual(h.runner.held('ip'), []);
    const notes = h.runner.takeEffects().notes.map((note) => note.type);
    assert.deepEqual(notes, ['finished', 'retry']);
  });

  it('a result of a run made for an older target tells what the host holds and drives nothing else', () => {
    // Was already safe: finished compared event and plan, and the newer plan's own action, queued
    // behind the running script, stands in the way of any retry. Pinned, and now counted.
    const h = harness();
    h.set('ip', ['a']);
    h.finish('a', false).advance(1000);
    assert.equal(h.runOf('a')?.attempt, 2, 'the retry of alive a runs');
    h.set('ip', []);
    assert.deepEqual(h.inFlight(), ['alive a'], 'the down of plan 2 waits for it');
    h.fresh();
    h.finish('a', false);
    const fresh = h.fresh();
    assert.deepEqual(
      fresh.notes.filter((note) => note.type === 'retry' || note.type === 'failed'),
      [],
      'no retry of the alive that plan 2 no longer wants',
    );
    assert.deepEqual(fresh.launches, ['down a']);
    assert.equal(h.runner.counters().stale_results, 1);
    h.finish('a', false);
    assert.deepEqual(h.runner.status()[0]!.failed, []);
    assert.equal(h.notesOf('retry').at(-1)?.event, 'down', "the down's own failure is retried");

    // A stale success is still a fact: the alive put the item here, so it is held until a down.
    const g = harness();
    g.set('ip', ['a']);
    g.finish('a', false).advance(1000);
    g.set('ip', []);
    g.finish('a', true);
    assert.deepEqual(g.runner.held('ip'), ['a']);
    assert.deepEqual(g.inFlight(), ['down a']);
    g.finish('a', true);
    assert.deepEqual(g.runner.held('ip'), []);
    assert.equal(g.notesOf('recovered').length, 0);
  });

  it('a retry timer of an item whose plan changed launches nothing', () => {
    // Was already safe: a new plan that retargets an item takes its waiting retry away.
    const h = harness();
    h.set('ip', ['a']);
    h.finish('a', false);
    assert.equal(h.runner.nextWakeAt(), 1000);
    h.advance(500).set('ip', []);
    h.finish('a', true).advance(100_000);
    assert.deepEqual(
      h.launches.map((launch) => `${launch.event} ${launch.item} ${launch.attempt}`),
      ['alive a 1', 'down a 1'],
    );
  });

  for (const [name, announce] of [
    ['reassert', (h: Harness) => h.reassert('ip')],
    ['release', (h: Harness) => h.released('ip', ['a'])],
  ] as const) {
    it(`an announcement (${name}) queued while the downs run, for an alive then skipped, is dropped: no crash, no alive`, () => {
      // A real bug: skipping the plan's alive queued the item's down while the announcement still
      // waited, and the launch queue's one-action-an-item assertion crashed the agent.
      const h = new Harness({
        node: 'n1',
        systems: [system('ip', ABC, { delay_ms: 100 })],
        remove_on_start: false,
        parallel_max: 1,
      });
      h.set('ip', ['a']).advance(100);
      h.finish('a', true);
      h.set('ip', ['b']).advance(100);
      h.finish('a', false); // a stays held: its down failed
      h.finish('b', true);
      h.set('ip', ['a']).advance(100); // plan 3: down b, then alive a
      assert.deepEqual(h.inFlight(), ['down b']);
      announce(h); // a is held and targeted alive: queued (the one slot is busy)
      h.set('ip', []); // a newer set moves a away before plan 3's downs end
      h.fresh();
      assert.doesNotThrow(() => h.finish('b', true));
      assert.equal(h.runner.counters().alives_skipped, 1);
      assert.equal(h.runner.counters().stale_results, 1, 'the announcement was stale');
      assert.deepEqual(h.fresh().launches, ['down a'], 'the skip takes a down, as the next plan would');
      h.settle();
      assert.deepEqual(
        h.launches.map((launch) => `${launch.event} ${launch.item}`),
        ['alive a', 'down a', 'alive b', 'down b', 'down a'],
        'no alive a after plan 3 began',
      );
      assert.deepEqual(h.runner.held('ip'), []);
    });
  }

  it("an announcement (reassert) for an item the plan brings waits for the plan's downs, then is the plan's alive", () => {
    // A real bug: the announcement of an item whose down had failed (so it counts as held) ran at
    // once, an alive of the plan before the plan's downs had ended.
    const h = harness();
    h.set('ip', ['a']).settle();
    h.set('ip', ['b']);
    h.finish('a', false).finish('b', true); // a stays held: its down failed
    h.set('ip', ['a']);
    h.fresh();
    h.reassert('ip');
    assert.deepEqual(h.fresh().launches, [], 'no alive a while down b runs');
    assert.deepEqual(h.inFlight(), ['down b']);
    h.finish('b', true);
    assert.deepEqual(h.fresh().launches, ['alive a']);
    assert.equal(h.runOf('a')?.reason, 'plan');
  });

  it('a failed alive whose announcement (its retry) is dropped as the item moves away is planned again', () => {
    // A real bug: the dropped announcement left the item targeted alive, neither held nor retried,
    // and a set that wanted it back made no plan, so it was never taken up.
    const h = new Harness({
      node: 'n1',
      systems: [system('db', ['x', 'y']), system('ip', ['b'])],
      parallel_max: 2,
      remove_on_start: false,
    });
    h.set('db', ['x', 'y']);
    h.set('ip', ['b']); // waits for a slot
    h.released('db', ['y']); // queued behind the running alive y
    h.finish('y', false, { system: 'db' }); // the announcement now stands for its retry
    assert.deepEqual(h.inFlight(), ['alive x', 'alive b'], 'the plan of ip goes first');
    h.set('db', []); // a newer set moves y away (db's plan still runs: x)
    h.set('ip', []);
    h.finish('b', true); // ip's next plan: down b
    h.finish('b', true); // a free slot: the announcement of y is due, and not wanted
    assert.equal(h.runner.counters().alives_skipped, 1, 'y is taken as never started');
    h.set('db', ['y']); // and wanted back before db made a plan without it
    h.settle();
    assert.deepEqual(h.runner.held('db'), ['y']);
  });

  it('an announcement timer that falls due after the item was moved away launches nothing', () => {
    // Was already safe (checked at launch as `announceable`); the generation check comes first.
    const h = harness(ABC, { delay_ms: 500 });
    h.set('ip', ['a', 'b']).advance(500);
    h.settle();
    h.fresh();
    h.reassert('ip');
    h.advance(10).set('ip', ['a']);
    h.advance(490);
    assert.deepEqual(h.fresh().launches, ['alive a'], 'b, on its way out, is not announced');
  });

  it('a hand-back wait that ends after a newer plan took the item away launches nothing', () => {
    // Was already safe: the newer plan's retarget takes the waiting action away.
    const h = harness();
    h.set('ip', ['a'], { handback: new Map([['a', 5000]]) });
    h.advance(100).set('ip', ['b']);
    h.settle().advance(10_000);
    assert.ok(!h.launches.some((launch) => launch.event === 'alive' && launch.item === 'a'));
  });
});

describe('executor: ScriptRunner drain', () => {
  it('cancels retries, lets running scripts end, runs down for what may be held, then reports drained', () => {
    const h = harness(['a', 'b', 'c', 'd', 'e']);
    h.set('ip', ['a', 'b', 'c', 'd']);
    h.finish('a', true).finish('b', true).finish('c', false);
    h.fresh();
    h.drain(true);
    h.set('ip', ['e']); // ignored while draining
    const fresh = h.fresh();
    assert.deepEqual(
      fresh.launches,
      ['down a', 'down b', 'down c'],
      'c may be half configured by its failed alive',
    );
    assert.deepEqual(
      fresh.notes.filter((note) => note.type === 'plan'),
      [],
    );
    assert.equal(h.runner.nextWakeAt(), Number.POSITIVE_INFINITY, 'the retry of c is cancelled');
    h.finish('d', true);
    assert.deepEqual(h.fresh().launches, ['down d'], 'd was in flight');
    h.finish('a', true).finish('b', true).finish('c', false);
    assert.deepEqual(h.notesOf('retry').length, 1, 'drain downs are not retried');
    assert.deepEqual(h.notesOf('drained'), []);
    h.finish('d', true);
    assert.deepEqual(h.notesOf('drained'), [{ type: 'drained' }]);
    assert.deepEqual(h.runner.held('ip'), []);
    assert.ok(h.runner.idle());
    h.drain(true).advance(100_000);
    assert.equal(h.notesOf('drained').length, 1);
  });

  it('without runDown only waits for running scripts', () => {
    const h = harness();
    h.set('ip', ['a', 'b']);
    h.finish('a', true);
    h.drain(false);
    assert.deepEqual(h.notesOf('drained'), []);
    h.finish('b', true);
    assert.deepEqual(h.notesOf('drained'), [{ type: 'drained' }]);
    assert.deepEqual(h.runner.held('ip'), ['a', 'b']);
    assert.equal(h.launches.length, 2);
  });

  it('drains at once when idle, and cancels a plan waiting for its delay', () => {
    const h = harness(ABC, { delay_ms: 500 });
    h.set('ip', ['a']);
    h.at(100).drain(true);
    assert.deepEqual(h.notesOf('drained'), [{ type: 'drained' }]);
    h.at(10_000);
    assert.deepEqual(h.launches, []);
    assert.deepEqual(h.notesOf('plan'), []);
  });
});

describe('executor: ScriptRunner properties', () => {
  type Command =
    | { kind: 'set'; system: number; items: string[]; immediate: boolean }
    | { kind: 'finish'; index: number; ok: boolean; timed_out: boolean }
    | { kind: 'stale'; run: number }
    | { kind: 'reassert'; system: number }
    | { kind: 'released'; system: number; items: string[] }
    | { kind: 'advance'; ms: number };

  const DATA = [
    ['a', 'b', 'c', 'd'],
    ['x', 'y', 'z'],
  ] as const;

  const command: fc.Arbitrary<Command> = fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      system: fc.integer({ min: 0, max: 1 }),
      items: fc.subarray(['a', 'b', 'c', 'd', 'x', 'y', 'z', 'outside']),
      immediate: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('finish' as const),
      index: fc.nat({ max: 10 }),
      ok: fc.boolean(),
      timed_out: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('stale' as const), run: fc.nat({ max: 50 }) }),
    // Announcements and releases arrive at any time, during the downs of a plan too.
    fc.record({ kind: fc.constant('reassert' as const), system: fc.integer({ min: 0, max: 1 }) }),
    fc.record({
      kind: fc.constant('released' as const),
      system: fc.integer({ min: 0, max: 1 }),
      items: fc.subarray(['a', 'b', 'c', 'd', 'x', 'y', 'z']),
    }),
    fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 70_000 })),
    }),
  );

  it('holds its safety rules and converges to the last desired set', () => {
    fc.assert(
      fc.property(
        fc.record({
          parallel_max: fc.integer({ min: 1, max: 4 }),
          delay_ms: fc.integer({ min: 0, max: 300 }),
          remove_on_start: fc.boolean(),
          attempts_before_failed: fc.integer({ min: 1, max: 4 }),
          drain_at_end: fc.boolean(),
        }),
        fc.array(command, { maxLength: 80, size: 'max' }),
        (options, commands) => {
          const names = ['ip', 'db'];
          const h = new Harness({
            node: 'n1',
            systems: names.map((name, i) => system(name, [...DATA[i]!], { delay_ms: options.delay_ms })),
            parallel_max: options.parallel_max,
            remove_on_start: options.remove_on_start,
            attempts_before_failed: options.attempts_before_failed,
            retry_max_ms: 8000,
          });
          const last_desired = new Map<string, string[]>();
          for (const step of commands) {
            if (step.kind === 'set') {
              const name = names[step.system]!;
              h.set(name, step.items, { immediate: step.immediate });
              last_desired.set(name, step.items);
            } else if (step.kind === 'finish') {
              const runs = [...h.running.values()];
              const launch = runs[step.index % Math.max(1, runs.length)];
              if (launch !== undefined) h.finishRun(launch.run, step.ok, step.timed_out);
            } else if (step.kind === 'stale') {
              if (!h.running.has(step.run)) h.finishRun(step.run, true);
            } else if (step.kind === 'reassert') {
              h.reassert(names[step.system]!);
            } else if (step.kind === 'released') {
              h.released(names[step.system]!, step.items);
            } else {
              h.advance(step.ms);
            }
          }
          if (options.drain_at_end) h.drain(true);
          h.settle();

          checkDownsBeforeAlives(h.notes);
          for (const [i, name] of names.entries()) {
            const desired = last_desired.get(name) ?? [];
            const expected = options.drain_at_end ? [] : DATA[i]!.filter((item) => desired.includes(item));
            assert.deepEqual(h.runner.held(name), expected, name);
          }
          assert.equal(h.notesOf('drained').length, options.drain_at_end ? 1 : 0);
          if (!options.drain_at_end) {
            for (const status of h.runner.status()) assert.deepEqual(status.failed, []);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  /** No first `alive` of a plan starts before every first `down` of that plan has finished. */
  function checkDownsBeforeAlives(notes: RunnerNote[]): void {
    const waiting = new Map<string, { plan: number; downs: Set<string> }>();
    for (const note of notes) {
      if (note.type === 'plan') waiting.set(note.system, { plan: note.plan, downs: new Set(note.leaving) });
      const launch = note.type === 'started' || note.type === 'finished' ? note.launch : undefined;
      if (launch === undefined || launch.attempt !== 1) continue;
      const current = waiting.get(launch.system);
      if (current === undefined || current.plan !== launch.plan) continue;
      if (note.type === 'finished' && launch.event === 'down') current.downs.delete(launch.item);
      if (note.type === 'started' && launch.event === 'alive') {
        assert.deepEqual([...current.downs], [], `plan ${launch.plan}: alive ${launch.item} before downs`);
      }
    }
  }
});
