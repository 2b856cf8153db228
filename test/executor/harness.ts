/**
 * A fake-clock harness for the ScriptRunner: it takes effects after every call, keeps the runs in
 * flight, and checks the runner's safety rules (one run per item, parallel_max) as it goes.
 */
import assert from 'node:assert/strict';
import { ScriptRunner } from '../../src/executor/runner.js';
import type { Launch, RunnerNote, RunnerOptions, RunnerSystem, RunResult } from '../../src/executor/types.js';

export function system(name: string, data: string[], extra: Partial<RunnerSystem> = {}): RunnerSystem {
  return {
    name,
    alive: `/opt/${name}/up`,
    down: `/opt/${name}/down`,
    config: { interface: 'eth0' },
    data,
    delay_ms: 0,
    script_timeout_ms: 5000,
    ...extra,
  };
}

export class Harness {
  now = 0;
  readonly runner: ScriptRunner;
  readonly parallel_max: number;
  /** Runs in flight by run number. */
  readonly running = new Map<number, Launch>();
  /** Every note so far. */
  readonly notes: RunnerNote[] = [];
  /** Every launch so far. */
  readonly launches: Launch[] = [];
  /** Notes and launches since the last `fresh()`. */
  #fresh_notes: RunnerNote[] = [];
  #fresh_launches: Launch[] = [];

  constructor(options: RunnerOptions) {
    this.runner = new ScriptRunner(options);
    this.parallel_max = options.parallel_max ?? 8;
  }

  set(
    system: string,
    items: string[],
    options: { immediate?: boolean; handback?: ReadonlyMap<string, number> } = {},
  ): this {
    this.runner.setDesired(this.now, system, items, options);
    return this.#collect();
  }

  reassert(system: string): this {
    this.runner.reassert(this.now, system);
    return this.#collect();
  }

  released(system: string, items: string[]): this {
    this.runner.released(this.now, system, items);
    return this.#collect();
  }

  cleared(system: string, items: string[]): this {
    this.runner.cleared(this.now, system, items);
    return this.#collect();
  }

  drain(runDown: boolean): this {
    this.runner.drain(this.now, { runDown });
    return this.#collect();
  }

  /** Moves the clock to `at` (absolute) and ticks. */
  at(at: number): this {
    assert.ok(at >= this.now, 'the harness clock only moves forward');
    this.now = at;
    this.runner.tick(this.now);
    return this.#collect();
  }

  advance(ms: number): this {
    return this.at(this.now + ms);
  }

  /** Ends the run in flight for (system, item); fails the test when there is none. */
  finish(item: string, ok: boolean, options: { system?: string; timed_out?: boolean } = {}): this {
    const launch = this.runOf(item, options.system);
    assert.ok(launch !== undefined, `no run in flight for ${item}`);
    return this.finishRun(launch.run, ok, options.timed_out ?? false);
  }

  finishRun(run: number, ok: boolean, timed_out = false): this {
    this.running.delete(run);
    this.runner.finished(this.now, result(run, ok, timed_out));
    return this.#collect();
  }

  runOf(item: string, system?: string): Launch | undefined {
    return [...this.running.values()].find(
      (launch) => launch.item === item && (system === undefined || launch.system === system),
    );
  }

  /** What is in flight, as "event item" strings in run order. */
  inFlight(): string[] {
    return [...this.running.values()].map((launch) => `${launch.event} ${launch.item}`);
  }

  /** Notes and launches since the previous call. */
  fresh(): { notes: RunnerNote[]; launches: string[] } {
    const fresh = { notes: this.#fresh_notes, launches: this.#fresh_launches.map(describeLaunch) };
    this.#fresh_notes = [];
    this.#fresh_launches = [];
    return fresh;
  }

  notesOf<T extends RunnerNote['type']>(type: T): Extract<RunnerNote, { type: T }>[] {
    return this.notes.filter((note): note is Extract<RunnerNote, { type: T }> => note.type === type);
  }

  /** Lets every script succeed and time pass until the runner is idle; bounded. */
  settle(steps_max = 10_000): this {
    for (let step = 0; step < steps_max; step++) {
      if (this.runner.idle()) return this;
      const first = this.running.values().next();
      if (!first.done) {
        this.finishRun(first.value.run, true);
        continue;
      }
      const wake = this.runner.nextWakeAt();
      assert.ok(Number.isFinite(wake), 'not idle, nothing running and nothing to wake for');
      this.at(Math.max(wake, this.now));
    }
    assert.fail(`not idle after ${steps_max} steps`);
  }

  #collect(): this {
    const { launches, notes } = this.runner.takeEffects();
    for (const launch of launches) {
      for (const other of this.running.values()) {
        assert.ok(
          !(other.system === launch.system && other.item === launch.item),
          `two runs at once for ${launch.system}/${launch.item}`,
        );
      }
      this.running.set(launch.run, launch);
      assert.ok(this.running.size <= this.parallel_max, `${this.running.size} runs > parallel_max`);
    }
    this.notes.push(...notes);
    this.launches.push(...launches);
    this.#fresh_notes.push(...notes);
    this.#fresh_launches.push(...launches);
    return this;
  }
}

export function result(run: number, ok: boolean, timed_out = false): RunResult {
  return {
    run,
    ok: ok && !timed_out,
    exit_code: timed_out ? null : ok ? 0 : 1,
    signal: timed_out ? 'SIGTERM' : null,
    timed_out,
    duration_ms: 10,
    stdout: '',
    stderr: ok || timed_out ? '' : 'something broke\n',
  };
}

export function describeLaunch(launch: Launch): string {
  return `${launch.event} ${launch.item}`;
}
