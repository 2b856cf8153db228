/**
 * A client that keeps asking a virtual IP "who are you?" over HTTP from the client namespace,
 * a new connection every `everyMs` (10 ms by default) whether or not earlier requests have
 * answered, each with a short timeout, and records who answered and when. From those samples:
 * the client-visible outage of a hand-over (last answer by the old owner to the first answer by
 * the new one) and the longest gap between two answers.
 */
import { CLIENT, type Lab } from './harness.js';
import { nowMs } from './holder-monitor.js';

export interface ProbeSample {
  /** Epoch ms when the request was handed to the probe process. */
  sentAt: number;
  /** Epoch ms when its result came back. */
  doneAt: number;
  ok: boolean;
  /** The answering server's name, when ok. */
  body?: string;
  error?: string;
}

export interface ClientProbeOptions {
  everyMs?: number;
  timeoutMs?: number;
  /** Requests in flight at most; a tick with that many in flight is skipped. */
  maxInFlight?: number;
  /** The probe stops by itself after this long (a bound, not a target). */
  maxDurationMs?: number;
}

export class ClientProbe {
  readonly samples: ProbeSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private running = false;
  private startedAt = 0;
  private nextAt = 0;
  private readonly everyMs: number;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxDurationMs: number;

  constructor(
    private readonly lab: Lab,
    readonly vip: string,
    options: ClientProbeOptions = {},
  ) {
    this.everyMs = options.everyMs ?? 10;
    this.timeoutMs = options.timeoutMs ?? 200;
    this.maxInFlight = options.maxInFlight ?? 50;
    this.maxDurationMs = options.maxDurationMs ?? 120_000;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.startedAt = nowMs();
    this.nextAt = this.startedAt;
    this.tick();
    return this;
  }

  private tick(): void {
    if (!this.running || this.lab.isDestroyed) return;
    const now = nowMs();
    if (now - this.startedAt > this.maxDurationMs) {
      this.running = false;
      return;
    }
    if (this.inFlight.size < this.maxInFlight) {
      const sentAt = now;
      const request = this.lab
        .httpProbe(CLIENT, this.vip, { timeoutMs: this.timeoutMs })
        .then(
          (result) => {
            const ok = result.ok && result.status === 200;
            this.samples.push({
              sentAt,
              doneAt: nowMs(),
              ok,
              ...(ok ? { body: result.body ?? '' } : { error: result.error ?? `status ${result.status}` }),
            });
          },
          (error: unknown) => {
            this.samples.push({ sentAt, doneAt: nowMs(), ok: false, error: String(error) });
          },
        )
        .finally(() => this.inFlight.delete(request));
      this.inFlight.add(request);
    }
    // A fixed cadence: the next tick is due everyMs after the previous one was due.
    this.nextAt += this.everyMs;
    if (this.nextAt < nowMs()) this.nextAt = nowMs();
    this.timer = setTimeout(() => this.tick(), this.nextAt - nowMs());
  }

  /** Stops sending and waits for the requests in flight; returns the samples, in answer order. */
  async stop(): Promise<ProbeSample[]> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
    this.samples.sort((a, b) => a.doneAt - b.doneAt);
    return this.samples;
  }

  /** Samples answered (ok) within [from, to], in answer order. */
  answers(from = 0, to = Number.POSITIVE_INFINITY): ProbeSample[] {
    return this.samples
      .filter((sample) => sample.ok && sample.doneAt >= from && sample.doneAt <= to)
      .sort((a, b) => a.doneAt - b.doneAt);
  }
}

export interface Handover {
  /** Answer time of the last answer by the old owner before the first answer by the new one. */
  lastOld: number;
  /** Answer time of the first answer by the new owner after `from`. */
  firstNew: number;
  outageMs: number;
  /** Answers by other servers between the two (should be none). */
  others: string[];
}

/**
 * The client-visible outage of a hand-over from oldOwner to newOwner that began at `from`: time
 * from the last answer by oldOwner to the first answer by newOwner. When oldOwner never answered
 * after `from - lookbackMs`, the outage is measured from `from`.
 */
export function handover(
  samples: ProbeSample[],
  oldOwner: string,
  newOwner: string,
  from: number,
  lookbackMs = 1000,
): Handover | undefined {
  const answers = samples.filter((sample) => sample.ok).sort((a, b) => a.doneAt - b.doneAt);
  const first = answers.find((sample) => sample.doneAt >= from && sample.body === newOwner);
  if (!first) return undefined;
  const before = answers.filter(
    (sample) =>
      sample.doneAt < first.doneAt && sample.doneAt >= from - lookbackMs && sample.body === oldOwner,
  );
  const lastOld = before.at(-1)?.doneAt ?? from;
  const others = answers
    .filter(
      (sample) =>
        sample.doneAt > lastOld &&
        sample.doneAt < first.doneAt &&
        sample.body !== oldOwner &&
        sample.body !== newOwner,
    )
    .map((sample) => sample.body ?? '');
  return { lastOld, firstNew: first.doneAt, outageMs: first.doneAt - lastOld, others };
}

/** The longest time between two consecutive answers (by anyone) within [from, to]. */
export function longestGap(
  samples: ProbeSample[],
  from: number,
  to: number,
): { ms: number; start: number; end: number } {
  const times = samples
    .filter((sample) => sample.ok && sample.doneAt >= from && sample.doneAt <= to)
    .map((sample) => sample.doneAt)
    .sort((a, b) => a - b);
  let best = { ms: 0, start: from, end: from };
  let previous = from;
  for (const time of [...times, to]) {
    if (time - previous > best.ms) best = { ms: time - previous, start: previous, end: time };
    previous = time;
  }
  return best;
}
