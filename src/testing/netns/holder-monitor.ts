/**
 * Who holds each virtual IP, over time, on a lab: for split-brain ("double": two or more
 * namespaces hold the address at once) and outage ("none": nobody holds it) accounting.
 *
 * Polling `ip addr` in every namespace every 50 ms would cost a process start per server per
 * sample, which on a 2-core machine disturbs the timers under test. Instead one `ip -o monitor
 * address` runs in each server namespace and reports every add and delete the moment the
 * kernel makes it; the state starts from one `ip addr` read per namespace. So the timeline is
 * exact to the event (not to a 50 ms sampling grid), and a periodic cross-check (every
 * `verifyEveryMs`, default 1 s) compares it with a real read and counts disagreements.
 *
 * With `answering`, a host with the nftables fence of the shipped scripts (table inet flip) holds
 * a VIP only while it answers for it: the address is there AND its lease element lasts
 * (lease-elements.ts samples them; an address just added counts as answered until the first
 * sample after it, so a new holder is never missed). intervals() and summary() then count by
 * answering; holders() and snapshot() stay by address.
 */
import { percentile } from '../../stats/percentile.js';
import { sleep } from '../wait.js';
import type { Lab, LabProcess } from './harness.js';
import { canonicalIp } from './harness.js';
import { LeaseElementSampler } from './lease-elements.js';

/** Epoch milliseconds with sub-millisecond resolution, comparable with log timestamps. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface HolderEvent {
  /** When the namespace's `ip monitor` received the kernel's message (its -ts stamp), on nowMs()'s clock. */
  at: number;
  /** When its line reached this process (nowMs()): `at` plus the pipe's and this event loop's delays. */
  arrived: number;
  server: string;
  vip: string;
  added: boolean;
}

export interface HolderInterval {
  vip: string;
  start: number;
  end: number;
  ms: number;
  /** For "double": every namespace that held the address at some point of the interval. */
  holders: string[];
}

export interface IntervalStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface VipSummary {
  vip: string;
  double: IntervalStats;
  none: IntervalStats;
}

/** `ip -ts -o monitor address` lines: `[2026-12-05T21:50:38.401234] Deleted 2: eth0    inet 10.77.0.100/24 ...`. */
const MONITOR_LINE =
  /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,9})\]\s+(Deleted\s+)?\d+:\s+\S+\s+inet6?\s+([0-9A-Fa-f.:]+)\/\d+/;

/** The most a monitor's stamp may lie before the line's arrival and still be trusted (a skewed clock, a wrong zone). */
const STAMP_TRUST_MS = 5000;

/**
 * The moment, on nowMs()'s clock, of an `ip -ts` stamp (local wall-clock time with microseconds),
 * given that its line arrived at `arrived`: the arrival minus how long ago the stamp was by the
 * wall clock. Falls back to `arrived` for a stamp in the future or too far back.
 */
export function stampedAt(local: string, fraction: string, arrived: number, wallNow = Date.now()): number {
  const whole = new Date(local).getTime(); // no zone: local time, as ip prints it
  if (Number.isNaN(whole)) return arrived;
  const wall = whole + Number(`0.${fraction}`) * 1000;
  const ago = wallNow - wall;
  if (ago < 0 || ago > STAMP_TRUST_MS) return arrived;
  return arrived - ago;
}

export class HolderMonitor {
  readonly events: HolderEvent[] = [];
  /** Cross-checks that disagreed with the monitor state (should stay 0). */
  mismatches = 0;
  checks = 0;
  private readonly held = new Map<string, Set<string>>();
  private readonly monitors: LabProcess[] = [];
  private readonly lastEvent = new Map<string, number>();
  private readonly startedAt: number;
  private verifyTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly vipSet: Set<string>;
  /** Per VIP: the holders when the monitor started, and when it read them. */
  private readonly initial = new Map<string, { at: number; holders: string[] }>();
  /** With `answering`: the lease elements of the fenced hosts. */
  private sampler: LeaseElementSampler | undefined;

  private constructor(
    private readonly lab: Lab,
    readonly vips: string[],
  ) {
    this.vipSet = new Set(vips.map(canonicalIp));
    for (const vip of this.vipSet) this.held.set(vip, new Set());
    this.startedAt = nowMs();
  }

  /** Starts monitoring every server namespace of the lab; resolves once the initial state is read. */
  static async start(
    lab: Lab,
    vips: string[],
    { verifyEveryMs = 1000, answering = false } = {},
  ): Promise<HolderMonitor> {
    const monitor = new HolderMonitor(lab, vips);
    if (answering) monitor.sampler = LeaseElementSampler.start(lab, vips, nowMs);
    await monitor.begin(verifyEveryMs);
    return monitor;
  }

  private async begin(verifyEveryMs: number): Promise<void> {
    for (const server of this.lab.servers) {
      // -ts: each line carries the moment ip received the kernel's message, so an event that waits in
      // a pipe or behind this process's event loop keeps its real place among the other hosts' events.
      const proc = this.lab.spawn(server, ['ip', '-ts', '-o', 'monitor', 'address']);
      let buffer = '';
      proc.child.stdout?.on('data', (chunk: Buffer) => {
        const at = nowMs();
        buffer += chunk.toString('utf8');
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          this.onLine(server, buffer.slice(0, newline), at);
          buffer = buffer.slice(newline + 1);
        }
      });
      this.monitors.push(proc);
    }
    // `ip monitor` has no "subscribed" signal; give the processes a moment to open their sockets.
    await sleep(300);
    const readAt = nowMs();
    const initial = await this.read();
    for (const server of this.lab.servers) {
      // An event seen since the read began is newer than the read.
      if ((this.lastEvent.get(server) ?? 0) >= readAt) continue;
      for (const vip of this.vipSet) this.set(server, vip, initial.get(server)!.has(vip), readAt, false);
    }
    for (const vip of this.vipSet) this.initial.set(vip, { at: readAt, holders: this.holders(vip) });
    if (verifyEveryMs > 0) this.scheduleVerify(verifyEveryMs);
  }

  private onLine(server: string, line: string, at: number): void {
    const match = MONITOR_LINE.exec(line);
    if (!match) return;
    let address: string;
    try {
      address = canonicalIp(match[4]!);
    } catch {
      return;
    }
    if (!this.vipSet.has(address)) return;
    this.lastEvent.set(server, at);
    this.set(server, address, match[3] === undefined, stampedAt(match[1]!, match[2]!, at), true, at);
  }

  private set(server: string, vip: string, on: boolean, at: number, record: boolean, arrived = at): void {
    const holders = this.held.get(vip)!;
    if (holders.has(server) === on) return;
    if (on) holders.add(server);
    else holders.delete(server);
    if (!record) return;
    this.events.push({ at, arrived, server, vip, added: on });
  }

  /**
   * Per VIP: [time, holders] after each change, the first entry being the initial state; the events
   * in the order of their stamps (not of their arrival).
   */
  private timeline(vip: string): Array<{ at: number; holders: string[] }> {
    const initial = this.initial.get(vip);
    if (initial === undefined) return [];
    const holders = new Set(initial.holders);
    const out = [{ at: initial.at, holders: [...initial.holders] }];
    const events = this.events.filter((event) => event.vip === vip && event.at >= initial.at);
    events.sort((a, b) => a.at - b.at);
    for (const event of events) {
      if (event.added) holders.add(event.server);
      else holders.delete(event.server);
      out.push({ at: event.at, holders: this.lab.servers.filter((server) => holders.has(server)) });
    }
    return out;
  }

  /** How long after their stamps the monitors' lines arrived here (ms): median and largest. */
  lateness(): { p50: number; max: number } {
    const lags = this.events.map((event) => event.arrived - event.at);
    if (lags.length === 0) return { p50: 0, max: 0 };
    return { p50: percentile(lags, 50), max: percentile(lags, 100) };
  }

  /** The monitor's events of `vip` within [from, to], in stamp order: for a report of an interval. */
  eventsOf(vip: string, from: number, to: number): HolderEvent[] {
    const key = canonicalIp(vip);
    return this.events
      .filter((event) => event.vip === key && event.at >= from && event.at <= to)
      .sort((a, b) => a.at - b.at);
  }

  /** Reads every server's addresses now: server -> VIPs it holds. */
  private async read(): Promise<Map<string, Set<string>>> {
    const lists = await Promise.all(this.lab.servers.map((server) => this.lab.addresses(server)));
    return new Map(
      this.lab.servers.map((server, i) => [
        server,
        new Set(lists[i]!.map(canonicalIp).filter((address) => this.vipSet.has(address))),
      ]),
    );
  }

  private scheduleVerify(everyMs: number): void {
    this.verifyTimer = setTimeout(async () => {
      if (this.stopped || this.lab.isDestroyed) return;
      try {
        const began = nowMs();
        const real = await this.read();
        for (const server of this.lab.servers) {
          // Skip servers with an event in flight around the read.
          if ((this.lastEvent.get(server) ?? 0) >= began - 200) continue;
          for (const vip of this.vipSet) {
            this.checks++;
            if (real.get(server)!.has(vip) !== this.held.get(vip)!.has(server)) {
              this.mismatches++;
              // Trust the kernel: fix the state (and record the correction as an event).
              this.set(server, vip, real.get(server)!.has(vip), nowMs(), true);
            }
          }
        }
      } catch {
        // the lab is being torn down
      }
      if (!this.stopped) this.scheduleVerify(everyMs);
    }, everyMs);
    this.verifyTimer.unref();
  }

  /** The servers (lab order) holding the VIP now, by the monitor. */
  holders(vip: string): string[] {
    const holders = this.held.get(canonicalIp(vip));
    if (!holders) throw new Error(`${vip} is not monitored`);
    return this.lab.servers.filter((server) => holders.has(server));
  }

  /** Every VIP's holders now. */
  snapshot(): Map<string, string[]> {
    return new Map([...this.vipSet].map((vip) => [vip, this.holders(vip)]));
  }

  /**
   * Intervals within [from, to] (default: the whole run up to now) during which the VIP was held
   * by two or more namespaces ("double") or by none ("none").
   */
  intervals(
    vip: string,
    from = this.startedAt,
    to = nowMs(),
  ): { double: HolderInterval[]; none: HolderInterval[] } {
    const key = canonicalIp(vip);
    const timeline = this.sampler === undefined ? this.timeline(key) : this.answered(key, to);
    const double: HolderInterval[] = [];
    const none: HolderInterval[] = [];
    let open: { kind: 'double' | 'none'; start: number; holders: Set<string> } | undefined;
    const close = (end: number) => {
      if (!open) return;
      const start = Math.max(open.start, from);
      const stop = Math.min(end, to);
      if (stop > start) {
        const interval = {
          vip: key,
          start,
          end: stop,
          ms: stop - start,
          holders: this.lab.servers.filter((server) => open!.holders.has(server)),
        };
        (open.kind === 'double' ? double : none).push(interval);
      }
      open = undefined;
    };
    for (const { at, holders } of timeline) {
      const kind = holders.length >= 2 ? 'double' : holders.length === 0 ? 'none' : undefined;
      if (open && open.kind === kind) {
        for (const holder of holders) open.holders.add(holder);
        continue;
      }
      close(at);
      if (kind) open = { kind, start: at, holders: new Set(holders) };
    }
    close(to);
    return { double, none };
  }

  /**
   * The VIP's timeline by answering (see `answering`): each host's address intervals, on a fenced
   * host cut to its element's intervals (plus, after each add, the time until its next sample).
   */
  private answered(vip: string, to: number): Array<{ at: number; holders: string[] }> {
    const sampler = this.sampler!;
    const timeline = this.timeline(vip);
    const points = new Set<number>();
    const spans = new Map<string, Array<[number, number]>>();
    for (const server of this.lab.servers) {
      const address: Array<[number, number]> = [];
      let since: number | undefined;
      for (const { at, holders } of timeline) {
        const has = holders.includes(server);
        if (has && since === undefined) since = at;
        if (!has && since !== undefined) {
          address.push([since, at]);
          since = undefined;
        }
      }
      if (since !== undefined) address.push([since, Math.max(to, since)]);
      let answered = address;
      if (sampler.fenced.has(server)) {
        const allowed: Array<[number, number]> = [...sampler.intervals(server, vip)];
        for (const [start] of address) allowed.push([start, sampler.sampleAfter(server, start) ?? to]);
        answered = [];
        for (const [a, b] of address)
          for (const [c, d] of allowed) {
            const from = Math.max(a, c);
            const until = Math.min(b, d);
            if (until > from) answered.push([from, until]);
          }
      }
      spans.set(server, answered);
      for (const [a, b] of answered) points.add(a).add(b);
    }
    if (timeline.length > 0) points.add(timeline[0]!.at);
    const out: Array<{ at: number; holders: string[] }> = [];
    for (const at of [...points].sort((x, y) => x - y)) {
      const holders = this.lab.servers.filter((server) =>
        spans.get(server)!.some(([a, b]) => a <= at && at < b),
      );
      out.push({ at, holders });
    }
    return out;
  }

  /** With `answering`: the intervals during which `server`'s lease element for `vip` certainly lasted. */
  elementIntervals(server: string, vip: string): Array<[number, number]> {
    if (this.sampler === undefined) throw new Error('the monitor was started without `answering`');
    return this.sampler.intervals(server, vip);
  }

  /** Count, total and longest double and none interval per VIP within [from, to]. */
  summary(from = this.startedAt, to = nowMs()): VipSummary[] {
    const stats = (list: HolderInterval[]): IntervalStats => ({
      count: list.length,
      totalMs: Math.round(list.reduce((sum, interval) => sum + interval.ms, 0)),
      maxMs: Math.round(list.reduce((max, interval) => Math.max(max, interval.ms), 0)),
    });
    return [...this.vipSet].map((vip) => {
      const { double, none } = this.intervals(vip, from, to);
      return { vip, double: stats(double), none: stats(none) };
    });
  }

  /** Stops the monitors (destroy() of the lab also kills them). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    await Promise.all([...this.monitors.map((proc) => this.lab.stop(proc, 500)), this.sampler?.stop()]);
  }
}

/** A markdown table of summaries: one row per VIP. */
export function summaryTable(rows: VipSummary[], labels: Map<string, string> = new Map()): string {
  const lines = [
    '| VIP | double: count | total ms | max ms | none: count | total ms | max ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const name = labels.get(row.vip) ? `${row.vip} (${labels.get(row.vip)})` : row.vip;
    lines.push(
      `| ${name} | ${row.double.count} | ${row.double.totalMs} | ${row.double.maxMs} | ${row.none.count} | ${row.none.totalMs} | ${row.none.maxMs} |`,
    );
  }
  return lines.join('\n');
}
