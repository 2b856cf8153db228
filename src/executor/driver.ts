/**
 * Wires a ScriptRunner to real time and real processes: one timer for the runner's next wake-up,
 * launchScript for every launch, and each result fed back with `finished`. All decisions stay in
 * the runner; this file only carries out its effects, so it is deliberately thin.
 */
import { setTimer } from '../time/timer.js';
import { type LaunchOptions, launchScript } from './launcher.js';
import type { ScriptRunner } from './runner.js';
import type { ScriptGroupRecorder } from './script-ledger.js';
import type { Launch, RunnerNote, RunResult } from './types.js';

export type LaunchFunction = (launch: Launch, options: LaunchOptions) => Promise<RunResult>;

export interface DriverOptions {
  runner: ScriptRunner;
  /** Starts one script; launchScript unless a test or the simulator supplies another. */
  launch?: LaunchFunction;
  /** Monotonic ms; performance.now() by default. */
  now?: () => number;
  /** Every note of the runner, in order (logs, metrics, API). */
  onNote: (note: RunnerNote) => void;
  /** Working directory for scripts. */
  cwd?: string;
  /** Per stream; see LaunchOptions. */
  output_bytes_max?: number;
  kill_grace_ms?: number;
  /** Told of every script's process group (the agent's script ledger); see LaunchOptions. */
  recorder?: ScriptGroupRecorder;
}

export class RunnerDriver {
  readonly #runner: ScriptRunner;
  readonly #launch: LaunchFunction;
  readonly #now: () => number;
  readonly #onNote: (note: RunnerNote) => void;
  readonly #launch_options: LaunchOptions;
  #timer: NodeJS.Timeout | undefined;
  #timer_at = Number.POSITIVE_INFINITY;
  #stopped = false;
  #drained = false;
  #drain_promise: Promise<void> | undefined;
  #resolve_drain: (() => void) | undefined;

  constructor(options: DriverOptions) {
    this.#runner = options.runner;
    this.#launch = options.launch ?? launchScript;
    this.#now = options.now ?? (() => performance.now());
    this.#onNote = options.onNote;
    this.#launch_options = {
      cwd: options.cwd,
      output_bytes_max: options.output_bytes_max,
      kill_grace_ms: options.kill_grace_ms,
      recorder: options.recorder,
    };
  }

  /** See ScriptRunner.setDesired. */
  setDesired(
    system: string,
    items: readonly string[],
    options: { immediate?: boolean; handback?: ReadonlyMap<string, number> } = {},
  ): void {
    if (this.#stopped) return;
    this.#runner.setDesired(this.#now(), system, items, options);
    this.#process();
  }

  /**
   * Runs `alive` again for what the systems hold (all by default), after each system's delay
   * (see ScriptRunner.reassert). Unknown systems are ignored.
   */
  reassert(systems?: readonly string[]): void {
    if (this.#stopped) return;
    const now = this.#now();
    const known = this.#runner.systems();
    for (const system of systems ?? known) if (known.includes(system)) this.#runner.reassert(now, system);
    this.#process();
  }

  /**
   * The previous holder let go of these items (see ScriptRunner.released). Unknown systems are
   * ignored. Returns how many items were queued to be announced or let go.
   */
  released(items: ReadonlyMap<string, readonly string[]>): number {
    if (this.#stopped) return 0;
    const now = this.#now();
    const known = new Set(this.#runner.systems());
    let queued = 0;
    for (const [system, list] of items)
      if (known.has(system)) queued += this.#runner.released(now, system, list);
    this.#process();
    return queued;
  }

  /** Claims of these items were agreed to (see ScriptRunner.cleared). Unknown systems are ignored. */
  cleared(system: string, items: readonly string[]): void {
    if (this.#stopped || !this.#runner.systems().includes(system)) return;
    this.#runner.cleared(this.#now(), system, items);
    this.#process();
  }

  /** Drains the runner (see ScriptRunner.drain) and resolves once it reports 'drained'. */
  drain(runDown: boolean): Promise<void> {
    if (this.#drain_promise !== undefined) return this.#drain_promise;
    this.#drain_promise = new Promise<void>((resolve) => {
      this.#resolve_drain = resolve;
    });
    if (this.#stopped) {
      // Nothing will run any more, so there is nothing to wait for.
      this.#resolve_drain?.();
      return this.#drain_promise;
    }
    this.#runner.drain(this.#now(), { runDown });
    this.#process();
    return this.#drain_promise;
  }

  /** Clears the timer; results of scripts still running are ignored from now on. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
  }

  get drained(): boolean {
    return this.#drained;
  }

  /** Carries out the runner's effects, then sets the timer for its next wake-up. */
  #process(): void {
    const { launches, notes } = this.#runner.takeEffects();
    for (const note of notes) {
      if (note.type === 'drained') this.#drained = true;
      this.#onNote(note);
    }
    for (const launch of launches) this.#start(launch);
    if (this.#drained) this.#resolve_drain?.();
    this.#schedule();
  }

  #start(launch: Launch): void {
    let running: Promise<RunResult>;
    try {
      running = this.#launch(launch, this.#launch_options);
    } catch (error) {
      running = Promise.reject(error);
    }
    running
      .catch(
        (error: unknown): RunResult => ({
          // launchScript never rejects; an injected launcher might, and the runner must still hear
          // that the run ended or the item would be stuck as running for ever.
          run: launch.run,
          ok: false,
          exit_code: null,
          signal: null,
          timed_out: false,
          duration_ms: 0,
          stdout: '',
          stderr: `launcher failed: ${error instanceof Error ? error.message : String(error)}`,
        }),
      )
      .then((result) => {
        if (this.#stopped) return;
        this.#runner.finished(this.#now(), result);
        this.#process();
      });
  }

  #schedule(): void {
    if (this.#stopped) return;
    const wake_at = this.#runner.nextWakeAt();
    if (wake_at === this.#timer_at) return;
    this.#clearTimer();
    if (!Number.isFinite(wake_at)) return;
    this.#timer_at = wake_at;
    // setTimeout may fire a fraction of a millisecond early by performance.now(); the runner then
    // has nothing due yet and we simply schedule again.
    // setTimer clamps a wake-up beyond Node's timer range; the early wake-up finds nothing due.
    const delay_ms = wake_at - this.#now();
    this.#timer = setTimer(() => {
      this.#timer = undefined;
      this.#timer_at = Number.POSITIVE_INFINITY;
      if (this.#stopped) return;
      this.#runner.tick(this.#now());
      this.#process();
    }, delay_ms);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timer_at = Number.POSITIVE_INFINITY;
  }
}
