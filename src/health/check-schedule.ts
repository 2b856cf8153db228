/**
 * When a system's health check runs, and what its results mean: like keepalived's track_script
 * and HAProxy's server checks, a check runs every `check_interval_ms` (never two at once: the
 * next is due an interval after the last one started, or as soon as it ends if it ran longer),
 * and its verdict turns `failing` after `fall` failures in a row and `passing` again after
 * `rise` passes in a row. At start the verdict is `unknown` (not healthy): one pass makes it
 * `passing`, since there is no failure yet to doubt, and `fall` failures make it `failing`.
 * A timed-out check is a failure (the launcher kills its process group). Pure: the caller
 * passes the time in, runs what `due` returns and reports each result with its run number; a
 * result of a run that is not the one running is ignored (a late result acts on nothing).
 */

export interface CheckSettings {
  check_interval_ms: number;
  rise: number;
  fall: number;
}

export type CheckVerdict = 'unknown' | 'passing' | 'failing';

export class CheckSchedule {
  readonly #settings: CheckSettings;
  #verdict: CheckVerdict = 'unknown';
  /** Passes, or failures, in a row (the sign says which: + passes, - failures). */
  #streak = 0;
  #running: number | undefined;
  #lastRun = 0;
  #nextAt: number;

  /**
   * `verdict`: where a check that replaces another at runtime starts (the old one's verdict, or
   * `passing` where there was none), so that items move only once the new one fails `fall` times.
   */
  constructor(settings: CheckSettings, now: number, verdict: CheckVerdict = 'unknown') {
    if (!(settings.rise >= 1 && settings.fall >= 1 && settings.check_interval_ms > 0))
      throw new Error('assertion failed: rise, fall and check_interval_ms must be positive');
    this.#settings = settings;
    this.#nextAt = now;
    this.#verdict = verdict;
  }

  get verdict(): CheckVerdict {
    return this.#verdict;
  }

  /** Whether a run is out and not yet reported. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** A run number to start now, when a check is due and none is running; else undefined. */
  due(now: number): number | undefined {
    if (this.#running !== undefined || now < this.#nextAt) return undefined;
    this.#running = ++this.#lastRun;
    this.#nextAt = now + this.#settings.check_interval_ms;
    return this.#running;
  }

  /**
   * Run `run` ended, `ok` or not. Returns the new verdict when it changed; undefined when it
   * did not, or when `run` is not the run out (a stale result, ignored).
   */
  result(run: number, ok: boolean): CheckVerdict | undefined {
    if (run !== this.#running) return undefined;
    this.#running = undefined;
    this.#streak = ok ? Math.max(0, this.#streak) + 1 : Math.min(0, this.#streak) - 1;
    const before = this.#verdict;
    if (ok && before !== 'passing' && (before === 'unknown' || this.#streak >= this.#settings.rise))
      this.#verdict = 'passing';
    else if (!ok && before !== 'failing' && -this.#streak >= this.#settings.fall) this.#verdict = 'failing';
    return this.#verdict === before ? undefined : this.#verdict;
  }

  /** When `due` next returns a run (infinity while one is running: its result comes first). */
  nextWakeAt(): number {
    return this.#running === undefined ? this.#nextAt : Number.POSITIVE_INFINITY;
  }
}
