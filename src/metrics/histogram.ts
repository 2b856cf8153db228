/** A Prometheus-style histogram with fixed upper bounds (cumulative when written out). */
export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last is +Inf. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++)
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram bounds must increase');
    this.bounds = bounds;
    this.#counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** Cumulative counts per bound, +Inf last, with the sum and count. */
  snapshot(): HistogramSnapshot {
    let running = 0;
    const buckets = this.#counts.map((count, i) => {
      running += count;
      return { le: i < this.bounds.length ? this.bounds[i]! : Number.POSITIVE_INFINITY, count: running };
    });
    return { buckets, sum: this.#sum, count: this.#count };
  }
}

export interface HistogramSnapshot {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Script durations (s): from a quick `ip addr add` to a slow storage move. */
export const SCRIPT_SECONDS_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Probe round trips (s): a LAN's fraction of a ms to a slow WAN. */
export const RTT_SECONDS_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Failure detection (s): from the first failed probe of a member to its down decision. */
export const DETECTION_SECONDS_BOUNDS = [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60];
