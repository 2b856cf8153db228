/**
 * The script runner's contracts: its options and defaults, what it asks the launcher to run,
 * what the launcher reports back, and what it tells the agent (notes, status, counters).
 */

export interface RunnerSystem {
  name: string;
  alive: string;
  down: string;
  /** Passed to the scripts as JSON (argument 2 and FLIP_CONFIG). */
  config: Record<string, unknown>;
  /** The items; status and `held` list items in this order. */
  data: string[];
  delay_ms: number;
  script_timeout_ms: number;
}

export interface RunnerOptions {
  /** This server's id (FLIP_NODE). */
  node: string;
  systems: RunnerSystem[];
  /**
   * Items, by system, that an earlier life of this server may have left configured (its
   * maybeHeld, kept on disk) and that are not in `systems` any more: each gets a `down`.
   */
  strays?: ReadonlyMap<string, readonly string[]>;
  /** Scripts running at once, all systems together. */
  parallel_max?: number;
  /** Delay before the first retry; doubles per failed attempt... */
  retry_base_ms?: number;
  /** ...up to this. */
  retry_max_ms?: number;
  /** After this many consecutive failures the item is reported `failed`... */
  attempts_before_failed?: number;
  /** ...and from then on retried every this often, forever. */
  failed_retry_ms?: number;
  /**
   * When true, the first plan of a system also runs `down` for every item of its data that is not
   * desired here, to clean up after a crash. When false, items start as not held.
   */
  remove_on_start?: boolean;
  /**
   * Asked right before any `alive` starts (a plan's, a retry, an announcement): may this item be
   * taken or announced here now (see AlivePermit)? The controller refuses without a fresh lease
   * (a timer that fires after the process was frozen must not put an item back that the others
   * moved meanwhile), and has an item of a leased system wait for a renewal window. An `alive`
   * refused is dropped like one that a newer plan made stale (counted in alives_refused).
   */
  permit?: (system: string, item: string, now: number) => AlivePermit;
}

/**
 * The answer to RunnerOptions.permit for an `alive` about to start.
 * - `go`: start it. With `lease_deadline` (ms, the runner's clock), for an item of a system with a
 *   lease program: the script's first act leases the item, which is a renewal, and every renewal
 *   must be made by the deadline that the fences of the other servers count on. The script gets it
 *   as FLIP_LEASE_DEADLINE_MS and, past it, changes nothing and exits LEASE_LATE_EXIT_CODE.
 * - `wait`: not now but soon (a lease is held and the next renewal window is near): the action
 *   stays queued and is asked about again at `retry_at` (counted in alives_waited).
 * - `refuse`: not on this lease or claim; dropped like a stale one and planned again later.
 */
export type AlivePermit =
  | { kind: 'go'; lease_deadline?: number }
  | { kind: 'wait'; retry_at: number }
  | { kind: 'refuse' };

/**
 * The exit code of an `alive` that was started with a lease deadline and reached its lease after
 * it, so changed nothing (EX_TEMPFAIL of sysexits.h): started again in the next renewal window,
 * not counted as a failure, up to LATE_RUNS_MAX times in a row.
 */
export const LEASE_LATE_EXIT_CODE = 75;
/** Late `alive`s of an item in a row after which one more counts as a failure (retried with backoff). */
export const LATE_RUNS_MAX = 5;

/** Defaults, each with why. */
export const RUNNER_DEFAULTS = {
  /** Enough to move a handful of addresses at once without forking a storm of `ip` commands. */
  parallel_max: 8,
  /** A transient failure (a busy `ip`, a lock) usually clears within a second. */
  retry_base_ms: 1000,
  /** Keeps a broken item's retries frequent enough to recover soon after it is fixed. */
  retry_max_ms: 30_000,
  /** 1 + 2 + 4 + 8 s of retries: long enough that "failed" means a person should look. */
  attempts_before_failed: 5,
  /** Once failed, one attempt a minute costs little and heals without a restart. */
  failed_retry_ms: 60_000,
  /** The original flip cleaned up at start; a crashed node may still carry addresses. */
  remove_on_start: true,
} as const;

/** A script's event; 'check' is a system's health check, run by the agent, never by the runner. */
export type ScriptEvent = 'alive' | 'down' | 'check';

export interface Launch {
  /** Unique per runner, increasing; `finished` names it to report the end. */
  run: number;
  system: string;
  item: string;
  event: ScriptEvent;
  script: string;
  /** [item, JSON.stringify(config)]. */
  args: [string, string];
  /** FLIP_EVENT, FLIP_SYSTEM, FLIP_ITEM, FLIP_NODE, FLIP_CONFIG. */
  env: Record<string, string>;
  timeout_ms: number;
  /** 1 for a first attempt, counting up through retries. */
  attempt: number;
  /** The plan that decided this script should run. */
  plan: number;
  /**
   * For an `alive` of a leased item: the script must lease it by then (ms, the runner's clock; see
   * AlivePermit). The adapter passes it on as FLIP_LEASE_DEADLINE_MS on the host's clock.
   */
  lease_deadline?: number;
  /**
   * Why it runs: 'plan' (a first attempt), 'retry' (after a failure), 'drain' (shutdown),
   * 'announce' (`alive` again for an item already held, see ScriptRunner.reassert), 'handback'
   * (a first `alive` that waited for the previous holder to let go, see setDesired's `handback`).
   */
  reason: ActionKind;
}

export interface RunResult {
  run: number;
  ok: boolean;
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  duration_ms: number;
  /**
   * What the script printed on each stream, bounded to a head and a tail with a note of what was
   * cut (see captured-output.ts). Why a script could not start at all is in `stderr`.
   */
  stdout: string;
  stderr: string;
}

export type RunnerNote =
  | { type: 'plan'; system: string; plan: number; desired: string[]; leaving: string[]; arriving: string[] }
  | { type: 'started'; launch: Launch }
  /**
   * `released`: a successful `down` of an item that may have been configured here (an `alive`
   * had started since the last successful `down`, or it is the run's first script for the item,
   * which may have removed a killed earlier run's leftover); the node that holds it now may
   * announce it.
   */
  | { type: 'finished'; launch: Launch; result: RunResult; released: boolean }
  | { type: 'retry'; system: string; item: string; event: ScriptEvent; attempt: number; at: number }
  | { type: 'failed'; system: string; item: string; event: ScriptEvent; attempts: number }
  | { type: 'recovered'; system: string; item: string; event: ScriptEvent }
  | { type: 'drained' };

export interface RunnerEffects {
  launches: Launch[];
  notes: RunnerNote[];
}

export interface RunningView {
  item: string;
  event: ScriptEvent;
  /** When it was launched (caller's clock). */
  since: number;
  run: number;
  attempt: number;
}

export interface FailedView {
  item: string;
  event: ScriptEvent;
  attempts: number;
  last_error: string;
}

export interface SystemStatus {
  system: string;
  /** The number of the newest applied plan; 0 before the first. */
  plan: number;
  /** 'idle' when the newest plan is complete, otherwise the phase it is in. */
  phase: 'idle' | 'down' | 'alive';
  /** A newer desired set is waiting (for its delay, or for the running plan to complete). */
  next_plan_waiting: boolean;
  /** The desired set of the newest applied plan, in data order. */
  desired: string[];
  held: string[];
  running: RunningView[];
  failed: FailedView[];
}

export interface RunnerCounters {
  runs_started: number;
  runs_failed: number;
  /**
   * Results and timers that came for a generation the runner had moved past (see generation.ts),
   * each ignored: a result for a run it does not track (unknown, or reported already); a result of
   * a run made for an older target or plan, which still tells what the host holds but drives
   * nothing (no retry, no failure count, no `recovered`); an action that was waiting to be
   * launched (a retry, an announcement) when its item's target changed, dropped unlaunched.
   */
  stale_results: number;
  /**
   * Announcements of a held item (see reassert) dropped when due because the item was no longer
   * wanted. (One for an item not held stood in for a failed alive's retry: it counts in
   * alives_skipped.)
   */
  announces_skipped: number;
  /**
   * First `alive`s of a plan not started because a newer desired set, given while the plan ran
   * its downs or while the item waited for a hand-back, no longer wants the item here: starting
   * it would put the item beside the server it now belongs to, just before the next plan's `down`.
   */
  alives_skipped: number;
  /** `alive`s not started because `permit` said no (no fresh lease when they came due). */
  alives_refused: number;
  /** Times an `alive` due to start was held for a renewal window (`permit` said wait). */
  alives_waited: number;
  /** `alive`s that reached their lease after its deadline and changed nothing (LEASE_LATE_EXIT_CODE). */
  alives_late: number;
}

/** Why a script was launched: its plan, a retry, a drain, an announcement, a hand-back. */
export type ActionKind = 'plan' | 'retry' | 'drain' | 'announce' | 'handback' | 'check';
