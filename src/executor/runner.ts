/**
 * The script runner's core: turns "placement says this node should hold these items" into
 * `down` and `alive` script runs, in a safe order, with coalescing, bounded parallelism and
 * retries that never give up.
 *
 * Pure and deterministic: it never reads a clock, starts a timer or a process, or draws a random
 * number. The caller passes the time (ms, any monotonic origin) into every call, calls `tick` when
 * `nextWakeAt` comes, reports every launched script's end with `finished`, and carries out what
 * `takeEffects` returns. The daemon drives it with real timers and child processes (driver.ts,
 * launcher.ts); the simulator drives it with simulated script durations and failures.
 *
 * Ordering rules, per system (systems are independent of each other):
 * - A change of the desired set starts a `delay_ms` timer; changes inside the delay fold in, and
 *   the newest set becomes the next plan when it expires.
 * - A plan runs `down` for every leaving item before any `alive` for an arriving item, so that an
 *   address is released here before another one is taken up.
 * - While a plan runs, newer plans wait; when it completes only the newest waiting set is applied.
 * - A plan completes when each of its scripts has finished its FIRST attempt. Failed scripts keep
 *   being retried in the background, but they no longer hold up the plan or the next one: one
 *   broken script must not block failover of every other item forever.
 *
 * Each rule has a file of its own, and the runner dispatches between them and applies what they
 * say: plan-coalescing.ts (desired sets fold into the next plan), plan.ts (a plan's phases),
 * launch-queue.ts (the one action an item may have waiting, in launch order), retry.ts (the
 * backoff), generation.ts (whether a late result or timer still counts), drain.ts (shutdown),
 * and ../handover/handback-gate.ts (which arriving items wait for their previous holder's
 * release).
 */
import { HandbackGate } from '../handover/handback-gate.js';
import { Drain } from './drain.js';
import { isCurrent } from './generation.js';
import { LaunchQueue } from './launch-queue.js';
import { alivePhase, type DownPhase, downPhase, firstAttemptEnded, type Plan, planItems } from './plan.js';
import { PlanCoalescing } from './plan-coalescing.js';
import { describeFailure, type RetryPolicy, retryDelayMs } from './retry.js';
import {
  type ActionKind,
  type AlivePermit,
  LATE_RUNS_MAX,
  type Launch,
  LEASE_LATE_EXIT_CODE,
  RUNNER_DEFAULTS,
  type RunnerCounters,
  type RunnerEffects,
  type RunnerNote,
  type RunnerOptions,
  type RunnerSystem,
  type RunResult,
  type ScriptEvent,
  type SystemStatus,
} from './types.js';

interface Running {
  launch: Launch;
  kind: ActionKind;
  since: number;
}

interface ItemState {
  system: SystemState;
  item: string;
  /** What the newest applied plan wants here; undefined before the first plan touched it. */
  target: ScriptEvent | undefined;
  /** The plan that set `target`; only runs of that plan drive retries (generation check). */
  target_plan: number;
  /** The last successful script was `alive`. */
  held: boolean;
  /** An `alive` started since the last successful `down`: the item may be (partly) configured here. */
  maybe_held: boolean;
  /**
   * No script for the item has succeeded in this run yet: an earlier run of this server (killed
   * with SIGKILL) may have left it configured on the host, so the first successful `down` may
   * have taken it away there, and is reported as a release.
   */
  leftover_possible: boolean;
  /** Taken out of the system's data at runtime (setData): kept until nothing may leave it here. */
  removed: boolean;
  /**
   * Not an item of this config, but an earlier life of this server may have left it configured
   * (RunnerOptions.strays): it gets a `down` whatever remove_on_start says, then is forgotten.
   */
  stray: boolean;
  running: Running | undefined;
  /** Consecutive failures of the script `target` calls for. */
  failures: number;
  /** Consecutive `alive`s that came too late for their lease deadline (LEASE_LATE_EXIT_CODE). */
  late_runs: number;
  failed_reported: boolean;
  last_error: string;
}

interface SystemState {
  config: RunnerSystem;
  config_json: string;
  items: Map<string, ItemState>;
  /** Items in data order. */
  order: ItemState[];
  /** The desired sets given to setDesired, folding into the next plan. */
  coalescing: PlanCoalescing;
  plan_number: number;
  /** The newest plan while it is incomplete. */
  plan: Plan<ItemState> | undefined;
  /** Which arriving items wait for their previous holder's release, and which releases were heard. */
  handback_gate: HandbackGate;
}

export class ScriptRunner {
  readonly #node: string;
  readonly #parallel_max: number;
  readonly #policy: RetryPolicy;
  readonly #remove_on_start: boolean;
  readonly #systems = new Map<string, SystemState>();
  /** The action each item has waiting to be launched (at most one an item). */
  readonly #pending = new LaunchQueue<ItemState>();
  /** Running scripts by run number. */
  readonly #runs = new Map<number, ItemState>();
  #run_seq = 0;
  #now = Number.NEGATIVE_INFINITY;
  readonly #drain = new Drain<ItemState>();
  #launches: Launch[] = [];
  #notes: RunnerNote[] = [];
  readonly #counters: RunnerCounters = {
    runs_started: 0,
    runs_failed: 0,
    stale_results: 0,
    announces_skipped: 0,
    alives_skipped: 0,
    alives_refused: 0,
    alives_waited: 0,
    alives_late: 0,
  };
  readonly #permit: RunnerOptions['permit'];

  constructor(options: RunnerOptions) {
    this.#node = options.node;
    this.#parallel_max = options.parallel_max ?? RUNNER_DEFAULTS.parallel_max;
    this.#policy = {
      retry_base_ms: options.retry_base_ms ?? RUNNER_DEFAULTS.retry_base_ms,
      retry_max_ms: options.retry_max_ms ?? RUNNER_DEFAULTS.retry_max_ms,
      attempts_before_failed: options.attempts_before_failed ?? RUNNER_DEFAULTS.attempts_before_failed,
      failed_retry_ms: options.failed_retry_ms ?? RUNNER_DEFAULTS.failed_retry_ms,
    };
    this.#remove_on_start = options.remove_on_start ?? RUNNER_DEFAULTS.remove_on_start;
    this.#permit = options.permit;

    assert(Number.isInteger(this.#parallel_max) && this.#parallel_max >= 1, 'parallel_max must be >= 1');
    assert(this.#policy.retry_base_ms > 0, 'retry_base_ms must be > 0');
    assert(this.#policy.retry_max_ms >= this.#policy.retry_base_ms, 'retry_max_ms must be >= retry_base_ms');
    assert(
      Number.isInteger(this.#policy.attempts_before_failed) && this.#policy.attempts_before_failed >= 1,
      'attempts_before_failed must be >= 1',
    );
    assert(this.#policy.failed_retry_ms > 0, 'failed_retry_ms must be > 0');

    for (const config of options.systems) this.#addSystem(config, true);
    if (options.strays !== undefined) this.addStrays(options.strays);
  }

  /**
   * `leftover_possible`: an earlier life of this server may have left the items configured (at
   * start); a system taken up at runtime has none.
   */
  #addSystem(config: RunnerSystem, leftover_possible: boolean): void {
    assert(!this.#systems.has(config.name), `system "${config.name}" is listed twice`);
    assert(config.delay_ms >= 0 && Number.isFinite(config.delay_ms), `${config.name}: bad delay_ms`);
    assert(config.script_timeout_ms > 0, `${config.name}: script_timeout_ms must be > 0`);
    const system: SystemState = {
      config,
      config_json: JSON.stringify(config.config),
      items: new Map(),
      order: [],
      coalescing: new PlanCoalescing(config.delay_ms),
      plan_number: 0,
      plan: undefined,
      handback_gate: new HandbackGate(),
    };
    for (const item of config.data) {
      assert(!system.items.has(item), `${config.name}: item "${item}" is listed twice`);
      const state = newItem(system, item, leftover_possible);
      system.items.set(item, state);
      system.order.push(state);
    }
    this.#systems.set(config.name, system);
  }

  /**
   * A system this server takes up at runtime (a committed `flip system add`, this server added to
   * its members, or its new definition once the old one was let go of: see removeSystem). Its
   * items start as not held, with no leftover to fear; the next plans place them.
   */
  addSystem(now: number, config: RunnerSystem): void {
    this.#advance(now);
    this.#addSystem(config, false);
    this.#step(now);
  }

  /**
   * Whether anything of `system` may still be configured on this host or be under way: an item
   * held or maybe held, a script running or waiting, a plan not complete. False for a system the
   * runner does not have.
   */
  holds(system: string): boolean {
    const state = this.#systems.get(system);
    if (state === undefined) return false;
    this.#forgetRemoved(state);
    return state.items.size > 0 || state.plan !== undefined;
  }

  /**
   * Forgets a system this server no longer runs (removed, left, or redefined in a way that is
   * taken up anew). Only once it holds nothing (holds() false: its data was emptied and every
   * item let go), which CommittedVersions waits for.
   */
  removeSystem(now: number, system: string): void {
    this.#advance(now);
    assert(!this.holds(system), `system "${system}" still holds items: empty it first`);
    this.#systems.delete(system);
  }

  /**
   * Items, by system, that an earlier life of this server may have left configured and that are
   * not items any more (RunnerOptions.strays; an agent adds them once it has read its state, before
   * its first plan). Each gets a `down` at the next plan, then is forgotten. Listed items and
   * systems of other servers are ignored.
   */
  addStrays(strays: ReadonlyMap<string, readonly string[]>): void {
    for (const [name, items] of strays) {
      const system = this.#systems.get(name);
      if (system === undefined) continue;
      for (const item of items) {
        if (system.items.has(item)) continue;
        const state = newItem(system, item, true);
        state.removed = true;
        state.stray = true;
        system.items.set(item, state);
        system.order.push(state);
      }
    }
  }

  /**
   * What placement says this node should hold now. Items outside the system's data are ignored.
   * With `immediate` the set skips the rest of the delay (for a change already known to be final,
   * such as a peer's graceful leave); it still waits for a running plan to complete.
   *
   * `handback` names items that come to this node from a holder that is still alive (a return:
   * its items come home), with how long to wait at most for that holder to let go: their first
   * `alive` waits until `released` is called for them or the wait ends, so two nodes do not hold
   * an item at once. The wait blocks nothing else: the plan completes without it.
   */
  setDesired(
    now: number,
    system: string,
    items: readonly string[],
    options: { immediate?: boolean; handback?: ReadonlyMap<string, number> } = {},
  ): void {
    const state = this.#system(system);
    this.#advance(now);
    // A node shutting down takes on no new work; the plan it would make would be undone anyway.
    if (this.#drain.draining) return;
    const wanted = new Set(items.filter((item) => state.items.get(item)?.removed === false));
    // A wait ends for an item no longer wanted, unless the running plan still brings it: its
    // `alive` must go on waiting, or it would start at once beside the previous holder.
    const plan = state.plan;
    state.handback_gate.retain(wanted, plan?.phase === 'down' ? plan.arriving.map((item) => item.item) : []);
    for (const [item, wait_ms] of options.handback ?? []) {
      if (wanted.has(item)) state.handback_gate.expect(now, item, wait_ms);
    }
    state.coalescing.offer(now, wanted, options.immediate === true);
    this.#step(now);
  }

  /**
   * The system's items changed at runtime (a reload, a committed change). An added item starts
   * as not held, with no leftover to fear (no earlier life of this server was given it). A removed
   * item stays until nothing may leave it configured here: the plans that follow no longer want
   * it, so a held one gets its `down`, and once that succeeded (or it was never held) it is
   * forgotten. Items keep the new list's order; removed ones follow until forgotten.
   */
  setData(now: number, system: string, data: readonly string[]): void {
    const state = this.#system(system);
    this.#advance(now);
    const listed = new Set(data);
    assert(listed.size === data.length, `${system}: an item is listed twice`);
    const order: ItemState[] = [];
    for (const name of data) {
      let item = state.items.get(name);
      if (item === undefined) {
        item = newItem(state, name, false);
        state.items.set(name, item);
      }
      item.removed = false;
      order.push(item);
    }
    for (const item of state.order) {
      if (listed.has(item.item)) continue;
      item.removed = true;
      order.push(item);
    }
    state.order = order;
    state.config = { ...state.config, data: [...data] };
    this.#step(now);
  }

  /**
   * How the system's scripts run changed at runtime (a reload, a committed change): its `alive`
   * and `down`, their timeout and the plan delay. Scripts that start from now on use them; a
   * running one finishes as it was started, and a delay already running keeps its end.
   */
  setScripts(
    now: number,
    system: string,
    scripts: Pick<RunnerSystem, 'alive' | 'down' | 'delay_ms' | 'script_timeout_ms'>,
  ): void {
    const state = this.#system(system);
    this.#advance(now);
    assert(scripts.delay_ms >= 0 && Number.isFinite(scripts.delay_ms), `${system}: bad delay_ms`);
    assert(scripts.script_timeout_ms > 0, `${system}: script_timeout_ms must be > 0`);
    const { alive, down, delay_ms, script_timeout_ms } = scripts;
    state.config = { ...state.config, alive, down, delay_ms, script_timeout_ms };
    state.coalescing.delay_ms = delay_ms;
    this.#step(now);
  }

  /** Forgets the removed items of `system` that nothing may leave configured here any more. */
  #forgetRemoved(system: SystemState): void {
    if (system.order.length === system.config.data.length) return;
    system.order = system.order.filter((item) => {
      const keep =
        !item.removed ||
        item.held ||
        item.maybe_held ||
        item.stray ||
        (item.leftover_possible && this.#remove_on_start) ||
        item.running !== undefined ||
        this.#pending.has(item) ||
        (system.plan !== undefined && inPlan(system.plan, item));
      if (!keep) system.items.delete(item.item);
      return keep;
    });
  }

  /**
   * Runs `alive` again, after `delay_ms`, for every item this node holds and still wants: for
   * when peers wrongly took our items over (we were declared down while cut off) and told the
   * network; `alive` scripts are idempotent and announce the owner again. Items with a script
   * running or pending are left alone: that script will speak for them. When the time comes, an
   * item that a newer view moves away is skipped: announcing it just before its `down` would
   * point the network here.
   */
  reassert(now: number, system: string): void {
    const state = this.#system(system);
    this.#advance(now);
    if (this.#drain.draining) return;
    for (const item of state.order) {
      if (!this.#announceable(item) || !item.held || item.running !== undefined || this.#pending.has(item))
        continue;
      this.#queue(item, 'alive', 1, now + state.config.delay_ms, item.target_plan, 'announce');
    }
    this.#step(now);
  }

  /** Held here, or its `alive` is running: an announcement of it may run (after that `alive`). */
  #heldOrArriving(item: ItemState): boolean {
    return item.running === undefined ? item.held : item.running.launch.event === 'alive';
  }

  /**
   * Targeted `alive` and in the newest desired set (no plan is about to move it away). Checked
   * again at launch; an announcement that followed an `alive` which then failed runs as its retry.
   */
  #announceable(item: ItemState): boolean {
    const newest = item.system.coalescing.newest;
    return item.target === 'alive' && (newest === undefined || newest.has(item.item));
  }

  /**
   * The previous holder of these items let go of them (its `down` succeeded), so the network must
   * hear again who holds them. A handed-back item waiting for this starts its `alive` now (which
   * announces it, after the release). An item this node holds and wants gets its `alive` again at
   * once (an announcement), or right after its running `alive`, whose announcement may have gone
   * out while the previous holder still answered. The release is remembered for a while, for a
   * plan still to come. Returns how many items were queued to be announced or let go.
   */
  released(now: number, system: string, items: readonly string[]): number {
    const state = this.#system(system);
    this.#advance(now);
    let queued = 0;
    for (const name of items) {
      const item = state.items.get(name);
      if (item === undefined) continue;
      state.handback_gate.heard(name);
      if (this.#drain.draining || !this.#announceable(item)) continue;
      const waiting = this.#pending.get(item);
      if (waiting?.kind === 'handback') {
        waiting.at = Math.min(waiting.at, now);
        queued += 1;
      } else if (waiting === undefined && this.#heldOrArriving(item)) {
        this.#queue(item, 'alive', 1, now, item.target_plan, 'announce');
        queued += 1;
      }
    }
    this.#step(now);
    return queued;
  }

  /**
   * The controller let these items through (every member agreed to its claim, see
   * handover/claims.ts): an `alive` waiting for that starts now. An item counted held here that
   * was claimed all the same (its lease lapsed on the host, see the controller's lapsing items)
   * gets its `alive` again, which puts it back in place and announces it: at once, or right after
   * its running `alive`, which may have started before the lapse.
   */
  cleared(now: number, system: string, items: readonly string[]): void {
    const state = this.#system(system);
    this.#advance(now);
    for (const name of items) {
      const item = state.items.get(name);
      if (item === undefined) continue;
      state.handback_gate.heard(name);
      const waiting = this.#pending.get(item);
      if (waiting?.kind === 'handback') waiting.at = Math.min(waiting.at, now);
      else if (
        waiting === undefined &&
        !this.#drain.draining &&
        this.#heldOrArriving(item) &&
        this.#announceable(item) &&
        !this.#awaitsPlanAlive(item)
      )
        // Right after a running `alive`, which may have started before the lease lapsed.
        this.#queue(item, 'alive', 1, now, item.target_plan, 'announce');
    }
    this.#step(now);
  }

  /**
   * What may be configured here, by system: items held, with an `alive` started since their last
   * successful `down`, or strays not yet taken down. What an agent keeps on disk, so that its next
   * life takes down what a later config no longer lists (RunnerOptions.strays).
   */
  maybeHeld(): Map<string, string[]> {
    const held = new Map<string, string[]>();
    for (const system of this.#systems.values()) {
      const items = system.order
        .filter((item) => item.held || item.maybe_held || item.stray)
        .map((item) => item.item);
      if (items.length > 0) held.set(system.config.name, items);
    }
    return held;
  }

  /** The system names, in the order of the options. */
  systems(): string[] {
    return [...this.#systems.keys()];
  }

  tick(now: number): void {
    this.#advance(now);
    this.#step(now);
  }

  /** A launched script ended. Results for unknown or superseded runs are counted and ignored. */
  finished(now: number, result: RunResult): void {
    this.#advance(now);
    const item = this.#runs.get(result.run);
    if (item === undefined || item.running === undefined || item.running.launch.run !== result.run) {
      this.#counters.stale_results += 1;
      return;
    }
    const { launch, kind } = item.running;
    this.#runs.delete(result.run);
    item.running = undefined;
    const ok = result.ok && !result.timed_out;
    const released = ok && launch.event === 'down' && (item.maybe_held || item.leftover_possible);
    this.#notes.push({ type: 'finished', launch, result, released });
    // Reached its lease after the deadline and changed nothing: started again in the next
    // renewal window (permit), not a failure unless it keeps happening.
    const late =
      !ok &&
      !result.timed_out &&
      launch.lease_deadline !== undefined &&
      result.exit_code === LEASE_LATE_EXIT_CODE &&
      item.late_runs < LATE_RUNS_MAX;
    item.late_runs = late ? item.late_runs + 1 : 0;

    // What the script did is a fact whichever generation it was made for.
    if (ok) {
      item.leftover_possible = false;
      item.stray = false;
      item.held = launch.event === 'alive';
      item.maybe_held = item.held;
    } else if (late) {
      this.#counters.alives_late += 1;
    } else {
      this.#counters.runs_failed += 1;
    }

    this.#notePlanProgress(item, launch, kind, now, launch.event);

    const current = isCurrent({ event: launch.event, plan: launch.plan, kind }, this.#generation(item));
    // A failure of an older generation is not the newer target's, to show as the item's error.
    if (!ok && !late && current) item.last_error = describeFailure(result, launch.timeout_ms);
    if (this.#drain.draining) {
      this.#queueDrainDown(item, now);
    } else if (!current) {
      // A run of an older generation tells what the node holds (above), nothing more: no retry,
      // no failure count, no `recovered` for the newer target.
      this.#counters.stale_results += 1;
    } else if (this.#pending.has(item)) {
      // An action already waits (an announcement queued behind this alive): it speaks for the
      // item next, and runs as the retry when this run failed.
    } else if (ok) {
      if (item.failed_reported) {
        this.#notes.push({
          type: 'recovered',
          system: item.system.config.name,
          item: item.item,
          event: launch.event,
        });
      }
      item.failures = 0;
      item.failed_reported = false;
      item.last_error = '';
    } else if (late) {
      // The same attempt again, at once: permit holds it until a renewal window.
      this.#queue(
        item,
        'alive',
        launch.attempt,
        now,
        launch.plan,
        kind === 'announce' ? 'announce' : 'retry',
      );
    } else {
      this.#scheduleRetry(item, launch, now);
    }
    this.#step(now);
  }

  /**
   * Shutdown. Cancels waiting plans, pending first attempts and retries; running scripts finish.
   * With runDown, `down` then runs once (no retries) for every item that may be configured here:
   * held, or an `alive` was started since its last successful `down` (in flight at drain time, or
   * failed and waiting for a retry, which may have done half its work). An item still running gets
   * its `down` after that run ends. 'drained' is noted once nothing runs or waits. Later calls to
   * drain or setDesired do nothing: the first drain decides.
   */
  drain(now: number, options: { runDown: boolean }): void {
    this.#advance(now);
    if (!this.#drain.start(options.runDown)) return;
    for (const system of this.#systems.values()) {
      system.coalescing.cancel();
      system.plan = undefined;
    }
    this.#pending.clear();
    for (const system of this.#systems.values()) {
      for (const item of system.order) {
        if (item.running === undefined) this.#queueDrainDown(item, now);
      }
    }
    this.#step(now);
  }

  /** When `tick` should next be called; Infinity when nothing is due. */
  nextWakeAt(): number {
    let wake = Number.POSITIVE_INFINITY;
    for (const system of this.#systems.values()) {
      const until = system.coalescing.delayUntil;
      if (until !== undefined) wake = Math.min(wake, until);
    }
    // A pending action already due waits for a free slot or for its item's running script; both
    // come with a `finished` call, not with time, so only future actions need a wake-up.
    return Math.min(wake, this.#pending.nextDueAfter(this.#now));
  }

  takeEffects(): RunnerEffects {
    const effects = { launches: this.#launches, notes: this.#notes };
    this.#launches = [];
    this.#notes = [];
    return effects;
  }

  /** Items whose last successful script was `alive`, in data order. */
  held(system: string): string[] {
    return this.#system(system)
      .order.filter((item) => item.held)
      .map((item) => item.item);
  }

  status(): SystemStatus[] {
    return [...this.#systems.values()].map((system) => ({
      system: system.config.name,
      plan: system.plan_number,
      phase: system.plan?.phase ?? 'idle',
      next_plan_waiting: system.coalescing.waiting,
      desired: system.order
        .filter((item) => system.coalescing.applied?.has(item.item))
        .map((item) => item.item),
      held: system.order.filter((item) => item.held).map((item) => item.item),
      running: system.order.flatMap(({ item, running }) =>
        running === undefined
          ? []
          : [
              {
                item,
                event: running.launch.event,
                since: running.since,
                run: running.launch.run,
                attempt: running.launch.attempt,
              },
            ],
      ),
      failed: system.order.flatMap(({ item, target, failed_reported, failures, last_error }) =>
        failed_reported && target !== undefined
          ? [{ item, event: target, attempts: failures, last_error }]
          : [],
      ),
    }));
  }

  counters(): RunnerCounters {
    return { ...this.#counters };
  }

  /** Nothing running, pending, or waiting for a delay or for a plan. */
  idle(): boolean {
    if (this.#runs.size > 0 || this.#pending.size > 0) return false;
    for (const system of this.#systems.values()) {
      if (system.coalescing.waiting || system.plan !== undefined) return false;
    }
    return true;
  }

  #system(name: string): SystemState {
    const system = this.#systems.get(name);
    assert(system !== undefined, `unknown system "${name}"`);
    return system;
  }

  #advance(now: number): void {
    assert(Number.isFinite(now), 'now must be a finite number');
    assert(now >= this.#now, `time went backwards: ${now} < ${this.#now}`);
    this.#now = now;
  }

  /** Applies what is due at `now`: expired delays, waiting plans, launches, the drained note. */
  #step(now: number): void {
    for (const system of this.#systems.values()) {
      this.#forgetRemoved(system);
      const desired = system.coalescing.take(now, system.plan !== undefined);
      if (desired !== undefined) this.#applyPlan(system, desired, now);
    }
    this.#launchReady(now);
    if (this.#drain.drained(this.#runs.size === 0 && this.#pending.size === 0))
      this.#notes.push({ type: 'drained' });
  }

  #applyPlan(system: SystemState, desired: ReadonlySet<string>, now: number): void {
    system.plan_number += 1;
    const number = system.plan_number;
    const { leaving, arriving, trusted_down } = planItems(system.order, desired, this.#remove_on_start);
    for (const item of trusted_down) {
      item.target = 'down';
      item.target_plan = number;
    }
    // Retargeting cancels the old script's pending retries: the new plan's script is what counts.
    for (const item of leaving) this.#retarget(item, 'down', number);
    for (const item of arriving) this.#retarget(item, 'alive', number);
    this.#notes.push({
      type: 'plan',
      system: system.config.name,
      plan: number,
      desired: system.order.filter((item) => desired.has(item.item)).map((item) => item.item),
      leaving: leaving.map((item) => item.item),
      arriving: arriving.map((item) => item.item),
    });
    const plan = downPhase(number, leaving, arriving);
    system.plan = plan;
    for (const item of leaving) this.#queue(item, 'down', 1, now, number, 'plan');
    if (leaving.length === 0) this.#startAlivePhase(system, plan, now);
  }

  #retarget(item: ItemState, target: ScriptEvent, plan: number): void {
    this.#pending.take(item);
    item.target = target;
    item.target_plan = plan;
    item.failures = 0;
    item.failed_reported = false;
    item.last_error = '';
  }

  #startAlivePhase(system: SystemState, plan: DownPhase<ItemState>, now: number): void {
    // Handed-back items wait for their previous holder outside the plan, which goes on.
    const arriving: ItemState[] = [];
    const waiting: { item: ItemState; until: number }[] = [];
    const newest = system.coalescing.newest;
    for (const item of plan.arriving) {
      if (newest !== undefined && !newest.has(item.item)) {
        // A newer set, given while the downs ran, moves it away.
        this.#skipAlive(item, now);
        continue;
      }
      const until = system.handback_gate.waitUntil(item.item, now);
      if (until === undefined) arriving.push(item);
      else waiting.push({ item, until });
    }
    // The plan's `alive` stands for anything queued for the item meanwhile (an announcement
    // asked for by a release that came during the downs): it runs after that release too.
    for (const item of arriving) {
      this.#pending.take(item);
      this.#queue(item, 'alive', 1, now, plan.number, 'plan');
    }
    for (const { item, until } of waiting) {
      this.#pending.take(item);
      this.#queue(item, 'alive', 1, until, plan.number, 'handback');
      system.handback_gate.forget(item.item);
    }
    system.plan = alivePhase(plan, arriving);
  }

  /**
   * A plan's first `alive` for `item` is not started, because the newest desired set no longer
   * wants the item here: started, it would put the item beside the server it now belongs to,
   * just before the next plan's `down`. The item is targeted `down` instead, as the next plan
   * would have it, with a `down` when an earlier run may have left it configured.
   */
  #skipAlive(item: ItemState, now: number): void {
    this.#counters.alives_skipped += 1;
    item.system.coalescing.withdraw(item.item);
    item.target = 'down';
    item.failures = 0;
    // An announcement queued for the `alive` target (by a release or a reassert during the downs)
    // is stale now: it must not run, nor stand in the way of the `down` below.
    this.#dropStaleAction(item);
    if (item.held || item.maybe_held || item.leftover_possible)
      this.#queue(item, 'down', 1, now, item.target_plan, 'retry');
  }

  /** Moves the system's plan on when `launch` was one of its first attempts (see plan.ts). */
  #notePlanProgress(
    item: ItemState,
    launch: Pick<Launch, 'plan'>,
    kind: ActionKind,
    now: number,
    event: ScriptEvent,
  ): void {
    const system = item.system;
    if (kind !== 'plan' || system.plan === undefined) return;
    const progress = firstAttemptEnded(system.plan, launch.plan, item, event);
    if (progress.next === 'alive') this.#startAlivePhase(system, progress.plan, now);
    else if (progress.next === 'complete') system.plan = undefined;
  }

  #scheduleRetry(item: ItemState, launch: Launch, now: number): void {
    item.failures += 1;
    const name = item.system.config.name;
    if (item.failures >= this.#policy.attempts_before_failed && !item.failed_reported) {
      item.failed_reported = true;
      this.#notes.push({
        type: 'failed',
        system: name,
        item: item.item,
        event: launch.event,
        attempts: item.failures,
      });
    }
    const at = now + retryDelayMs(item.failures, this.#policy);
    const attempt = item.failures + 1;
    this.#queue(item, launch.event, attempt, at, launch.plan, 'retry');
    this.#notes.push({ type: 'retry', system: name, item: item.item, event: launch.event, attempt, at });
  }

  #queueDrainDown(item: ItemState, now: number): void {
    if (this.#drain.takeDown(item, item.maybe_held))
      this.#queue(item, 'down', 1, now, item.system.plan_number, 'drain');
  }

  #queue(
    item: ItemState,
    event: ScriptEvent,
    attempt: number,
    at: number,
    plan: number,
    kind: ActionKind,
  ): void {
    this.#dropStaleAction(item);
    this.#pending.add(item, { event, attempt, at, plan, kind }, () => this.#label(item));
  }

  #label(item: ItemState): string {
    return `${item.system.config.name}/${item.item}`;
  }

  /** The item's newest generation: its target and the plan that set it (see generation.ts). */
  #generation(item: ItemState): { target: ScriptEvent | undefined; plan: number } {
    return { target: item.target, plan: item.target_plan };
  }

  /**
   * Drops the action waiting for `item` when it was queued for an older generation, counting it:
   * an announcement queued for an `alive` target that a skip has just turned into `down`, say.
   */
  #dropStaleAction(item: ItemState): void {
    const waiting = this.#pending.get(item);
    if (waiting === undefined || isCurrent(waiting, this.#generation(item))) return;
    this.#pending.take(item);
    this.#counters.stale_results += 1;
  }

  /**
   * Starts due actions while slots are free. First attempts of plans go before retries, because a
   * failover should not wait behind an item whose script keeps failing; then earliest due first.
   */
  #launchReady(now: number): void {
    if (this.#runs.size >= this.#parallel_max) return;
    for (const item of this.#pending.ready(now, (candidate) => candidate.running === undefined)) {
      if (this.#runs.size >= this.#parallel_max) break;
      // A timer that fires for an older generation launches nothing.
      this.#dropStaleAction(item);
      const waiting = this.#pending.get(item);
      if (waiting === undefined) continue;
      const kind = waiting.kind;
      // An announcement for an item that the running plan brings waits for the end of the plan's
      // downs: the plan's own `alive` then takes its place (see #startAlivePhase), since no
      // `alive` of a plan may run before its downs have.
      if (kind === 'announce' && this.#awaitsPlanAlive(item)) continue;
      if ((kind === 'announce' || kind === 'handback') && !this.#announceable(item)) {
        this.#pending.take(item);
        // An announcement for an item not held stood in for the retry of a failed `alive` (see
        // finished): dropped, it leaves an `alive` the plan decided that never succeeded, like a
        // hand-back that never started. Skipped like one, the next set that wants the item plans
        // it again; only dropping it would leave the item wanted, not held and never retried.
        if (kind === 'announce' && item.held) this.#counters.announces_skipped += 1;
        else this.#skipAlive(item, now);
        continue;
      }
      // Asked for `alive`s only: a drain's `down` runs while the target is still `alive`.
      const permit: AlivePermit =
        waiting.event === 'alive' && this.#permit !== undefined
          ? this.#permit(item.system.config.name, item.item, now)
          : { kind: 'go' };
      if (permit.kind === 'wait') {
        // Asked again at retry_at; a newer plan replaces the action meanwhile as usual.
        const action = this.#pending.take(item)!;
        this.#pending.add(item, { ...action, at: Math.max(permit.retry_at, now) }, () => this.#label(item));
        this.#counters.alives_waited += 1;
        continue;
      }
      if (permit.kind === 'refuse') {
        // Dropped like a stale one: the next set that wants the item plans it again.
        const action = this.#pending.take(item)!;
        this.#counters.alives_refused += 1;
        if (kind === 'announce' && item.held) continue;
        this.#skipAlive(item, now);
        this.#counters.alives_skipped -= 1;
        // A plan's first `alive` that never starts ends its part of the plan all the same.
        if (kind === 'plan') this.#notePlanProgress(item, action, 'plan', now, 'alive');
        continue;
      }
      this.#launch(item, now, permit.lease_deadline);
    }
  }

  /** The running plan of the item's system is in its down phase and brings the item. */
  #awaitsPlanAlive(item: ItemState): boolean {
    const plan = item.system.plan;
    return plan?.phase === 'down' && plan.arriving.includes(item);
  }

  #launch(item: ItemState, now: number, lease_deadline?: number): void {
    const action = this.#pending.take(item);
    assert(action !== undefined, `${item.system.config.name}/${item.item}: launched without an action`);
    const system = item.system;
    this.#run_seq += 1;
    const launch: Launch = {
      run: this.#run_seq,
      system: system.config.name,
      item: item.item,
      event: action.event,
      script: action.event === 'alive' ? system.config.alive : system.config.down,
      args: [item.item, system.config_json],
      env: {
        FLIP_EVENT: action.event,
        FLIP_SYSTEM: system.config.name,
        FLIP_ITEM: item.item,
        FLIP_NODE: this.#node,
        FLIP_CONFIG: system.config_json,
      },
      timeout_ms: system.config.script_timeout_ms,
      attempt: action.attempt,
      plan: action.plan,
      reason: action.kind,
      ...(lease_deadline === undefined || action.event !== 'alive' ? {} : { lease_deadline }),
    };
    item.running = { launch, kind: action.kind, since: now };
    if (action.event === 'alive') item.maybe_held = true;
    this.#runs.set(launch.run, item);
    this.#counters.runs_started += 1;
    this.#launches.push(launch);
    this.#notes.push({ type: 'started', launch });
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function newItem(system: SystemState, item: string, leftover_possible: boolean): ItemState {
  return {
    system,
    item,
    target: undefined,
    target_plan: 0,
    held: false,
    maybe_held: false,
    leftover_possible,
    removed: false,
    stray: false,
    running: undefined,
    failures: 0,
    failed_reported: false,
    late_runs: 0,
    last_error: '',
  };
}

/** Whether `item` is one of the plan's outstanding downs or arrivals. */
function inPlan(plan: Plan<ItemState>, item: ItemState): boolean {
  return plan.phase === 'down'
    ? plan.down_outstanding.has(item) || plan.arriving.includes(item)
    : plan.alive_outstanding.has(item);
}
