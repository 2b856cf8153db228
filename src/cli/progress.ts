/**
 * Progress of long runs (`flip sim --runs N`, the benchmarks) on a terminal: one line on stderr,
 * redrawn in place at most every REDRAW_MS_MIN, saying runs done of the total, failures so far
 * and the time left. Quiet when stderr is not a terminal or CI is set, so logs stay clean.
 *
 * formatProgress and the redraw decision are pure; ProgressLine is the thin writer around them.
 */

/** At most ten redraws a second: smooth to the eye, and no cost worth measuring for the run. */
export const REDRAW_MS_MIN = 100;

export interface ProgressState {
  /** What is running: a scenario, a benchmark. */
  label: string;
  done: number;
  total: number;
  failed: number;
  /** Time since this label began (ms). */
  elapsed_ms: number;
}

/** "12 s", "3 min 05 s", "2 h 04 min": coarse enough to read at a glance. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * One line: `random: 40/100 runs (40%), 1 failed, 12 s left`. The time left assumes the runs
 * still to come take as long as those done; before the first one ends it is unknown.
 */
export function formatProgress(state: ProgressState, unit = 'runs'): string {
  const total = Math.max(0, state.total);
  const done = Math.min(Math.max(0, state.done), total);
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  const failed = state.failed === 0 ? 'none failed' : `${state.failed} failed`;
  const left =
    done === total
      ? 'done'
      : done === 0
        ? 'time left unknown'
        : `${formatDuration((state.elapsed_ms / done) * (total - done))} left`;
  return `${state.label}: ${done}/${total} ${unit} (${percent}%), ${failed}, ${left}`;
}

/** Whether to draw now: the first time, at the end, and otherwise at most every REDRAW_MS_MIN. */
export function shouldRedraw(last_drawn_at: number | undefined, now: number, finished: boolean): boolean {
  return finished || last_drawn_at === undefined || now - last_drawn_at >= REDRAW_MS_MIN;
}

/** Whether progress belongs on this stream: a terminal, outside CI (CI=false and CI=0 are not CI). */
export function progressWanted(is_tty: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  const inCi = ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
  return is_tty === true && !inCi;
}

export interface Progress {
  /** Starts counting `total` units of `label`; the clock for the time left starts now. */
  begin(label: string, total: number, unit?: string): void;
  update(done: number, failed: number): void;
  /** Prints `text` on the progress stream above the line (the line is redrawn after it). */
  log(text: string): void;
  /** Runs `write` (e.g. a line to stdout) with the progress line out of the way. */
  above(write: () => void): void;
  /** Clears the line; the next begin() starts afresh. */
  end(): void;
}

/** What a terminal stream must offer: writes, and its width when known. */
export interface TerminalStream {
  write(text: string): unknown;
  columns?: number;
}

/** Back to the start of the line, and erase it. */
const CLEAR_LINE = '\r\x1b[K';

export class ProgressLine implements Progress {
  #state: ProgressState | undefined;
  #unit = 'runs';
  #began = 0;
  #drawnAt: number | undefined;
  #shown = false;

  constructor(
    private readonly stream: TerminalStream,
    private readonly now: () => number = () => performance.now(),
  ) {}

  begin(label: string, total: number, unit = 'runs'): void {
    this.#began = this.now();
    this.#unit = unit;
    this.#drawnAt = undefined;
    this.#state = { label, done: 0, total, failed: 0, elapsed_ms: 0 };
    this.#draw(true);
  }

  update(done: number, failed: number): void {
    if (!this.#state) return;
    this.#state = { ...this.#state, done, failed, elapsed_ms: this.now() - this.#began };
    this.#draw(done >= this.#state.total);
  }

  log(text: string): void {
    this.above(() => this.stream.write(`${text}\n`));
  }

  above(write: () => void): void {
    this.#clear();
    write();
    if (this.#state) this.#draw(true);
  }

  end(): void {
    this.#clear();
    this.#state = undefined;
  }

  #draw(force: boolean): void {
    if (!this.#state) return;
    const now = this.now();
    if (!force && !shouldRedraw(this.#drawnAt, now, false)) return;
    this.#drawnAt = now;
    let line = formatProgress(this.#state, this.#unit);
    // A line wider than the terminal wraps, and "\r" then redraws only its last part.
    const width = this.stream.columns;
    if (width !== undefined && width > 1 && line.length > width - 1) line = line.slice(0, width - 1);
    this.stream.write(`${CLEAR_LINE}${line}`);
    this.#shown = true;
  }

  #clear(): void {
    if (!this.#shown) return;
    this.stream.write(CLEAR_LINE);
    this.#shown = false;
  }
}

/** Progress that draws nothing; log() still prints, so callers need not care which they have. */
export class QuietProgress implements Progress {
  constructor(private readonly stream: TerminalStream) {}
  begin(): void {}
  update(): void {}
  log(text: string): void {
    this.stream.write(`${text}\n`);
  }
  above(write: () => void): void {
    write();
  }
  end(): void {}
}

/** Progress on stderr when it is a terminal outside CI, quiet otherwise. */
export function progressOnStderr(): Progress {
  return progressWanted(process.stderr.isTTY, process.env)
    ? new ProgressLine(process.stderr)
    : new QuietProgress(process.stderr);
}
