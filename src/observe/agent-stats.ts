/**
 * What an agent counts for its metrics and status beyond what its parts keep themselves: script
 * runs and their durations, the last run and error of each item, failovers, failure detection
 * times, probe round trips and API requests and faults. Pure: the agent reports what
 * happened with the time; nothing here reads a clock.
 */
import type { MemberChange } from '../membership/member-view.js';
import {
  DETECTION_SECONDS_BOUNDS,
  Histogram,
  RTT_SECONDS_BOUNDS,
  SCRIPT_SECONDS_BOUNDS,
} from '../metrics/histogram.js';

export interface LastRun {
  event: 'alive' | 'down';
  ok: boolean;
  /** When it ended (ms, the agent's monotonic clock). */
  at: number;
  duration_ms: number;
}

export interface ItemRecord {
  last_run: LastRun | undefined;
  /** The last failure's description; cleared by the next success of the same event. */
  last_error: string | undefined;
}

/** A (system, event, result) key of the script run counters. */
export interface ScriptRunKey {
  system: string;
  event: 'alive' | 'down' | 'check';
  result: 'ok' | 'failed' | 'timeout';
}

export class AgentStats {
  readonly #items = new Map<string, ItemRecord>();
  readonly #scriptRuns = new Map<string, { key: ScriptRunKey; count: number; seconds: Histogram }>();
  readonly #failovers = new Map<string, number>();
  readonly #suspectedAt = new Map<number, number>();
  readonly detection = new Histogram(DETECTION_SECONDS_BOUNDS);
  readonly rtt = new Histogram(RTT_SECONDS_BOUNDS);
  /** Members declared down in our view (not left), counted. */
  members_down_total = 0;
  /** Requests the API answered, and the faults it caught (never the agent's). */
  api_requests = 0;
  api_faults = 0;
  /** API requests refused for lack of a valid token. */
  api_unauthorized = 0;

  /** A script (alive, down or check) ended at `now`. */
  scriptFinished(
    now: number,
    system: string,
    item: string | undefined,
    event: 'alive' | 'down' | 'check',
    result: { ok: boolean; timed_out: boolean; duration_ms: number },
    error: string | undefined,
  ): void {
    const key: ScriptRunKey = {
      system,
      event,
      result: result.ok ? 'ok' : result.timed_out ? 'timeout' : 'failed',
    };
    const text = `${key.system}\u0000${key.event}\u0000${key.result}`;
    let entry = this.#scriptRuns.get(text);
    if (entry === undefined) {
      entry = { key, count: 0, seconds: new Histogram(SCRIPT_SECONDS_BOUNDS) };
      this.#scriptRuns.set(text, entry);
    }
    entry.count++;
    entry.seconds.observe(result.duration_ms / 1000);
    if (item === undefined || event === 'check') return;
    const record = this.#item(system, item);
    record.last_run = { event, ok: result.ok, at: now, duration_ms: result.duration_ms };
    if (result.ok) record.last_error = undefined;
    else record.last_error = error;
  }

  /** A plan took `arriving` items here; `peerGone`: a member of the system is down or left in our view. */
  planned(system: string, arriving: number, peerGone: boolean): void {
    if (!peerGone || arriving === 0) return;
    this.#failovers.set(system, (this.#failovers.get(system) ?? 0) + arriving);
  }

  /** Member state changes: the time from suspicion to a down decision is a detection time. */
  memberChanges(changes: readonly MemberChange[]): void {
    for (const change of changes) {
      if (change.to === 'probably_down') this.#suspectedAt.set(change.member, change.at);
      else if (change.to === 'down') {
        this.members_down_total++;
        const since = this.#suspectedAt.get(change.member);
        if (since !== undefined) this.detection.observe((change.at - since) / 1000);
        this.#suspectedAt.delete(change.member);
      } else this.#suspectedAt.delete(change.member);
    }
  }

  roundTrips(rtts_ms: readonly number[]): void {
    for (const rtt of rtts_ms) this.rtt.observe(rtt / 1000);
  }

  item(system: string, item: string): Readonly<ItemRecord> | undefined {
    return this.#items.get(`${system}\u0000${item}`);
  }

  failovers(): ReadonlyMap<string, number> {
    return this.#failovers;
  }

  scriptRuns(): { key: ScriptRunKey; count: number; seconds: Histogram }[] {
    return [...this.#scriptRuns.values()];
  }

  #item(system: string, item: string): ItemRecord {
    const key = `${system}\u0000${item}`;
    let record = this.#items.get(key);
    if (record === undefined) {
      record = { last_run: undefined, last_error: undefined };
      this.#items.set(key, record);
    }
    return record;
  }
}
