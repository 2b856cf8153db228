/**
 * Tools for watching leased addresses on a netns lab host (see harness.ts): the kernel's address
 * events with their times, vip-lease driven line by line, vip-lease as a LeaseKeeper program, and
 * the CPU time of a process and its children. Used by test/netns/lease.test.ts and bench/lease.ts.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poll } from '../wait.js';
import { canonicalIp, type Lab, type LabProcess, VIP_LEASE } from './harness.js';
import { nftDurationMs } from './lease-elements.js';

/** An address appearing or changing (`new`) or going away (`deleted`), as `ip monitor` saw it. */
export interface AddressEvent {
  kind: 'new' | 'deleted';
  /** Canonical address, without its prefix length. */
  address: string;
  /** The wall-clock time ip monitor stamped on it (-ts), in ms with µs decimals. */
  at_ms: number;
  line: string;
}

/** The time in a `[YYYY-MM-DDTHH:MM:SS.uuuuuu]` stamp of `ip -ts monitor`, in ms. */
export function monitorStampMs(stamp: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})$/.exec(stamp);
  if (match === null) throw new Error(`not an ip monitor time stamp: ${JSON.stringify(stamp)}`);
  return Date.parse(match[1]!) + Number(match[2]) / 1000;
}

/**
 * `ip -ts -o monitor address` inside a lab host: every address event, stamped by ip as it receives
 * it from the kernel. Only differences between its times mean anything.
 */
export class AddressMonitor {
  readonly events: AddressEvent[] = [];
  /** The `ip monitor` process (the lab kills it when destroyed). */
  readonly proc: LabProcess;
  #buffer = '';
  readonly #listeners = new Set<() => void>();

  private constructor(proc: LabProcess) {
    this.proc = proc;
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      for (let newline = this.#buffer.indexOf('\n'); newline !== -1; newline = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        const event = parseMonitorLine(line);
        if (event !== undefined) this.events.push(event);
      }
      for (const listener of this.#listeners) listener();
    });
  }

  /** Starts the monitor on `host` and waits until it listens (an address change it must see). */
  static async start(lab: Lab, host: string): Promise<AddressMonitor> {
    const monitor = new AddressMonitor(lab.spawn(host, ['ip', '-ts', '-o', 'monitor', 'address']));
    // ip monitor prints nothing when it is ready: poke it until an event shows it listens.
    const probe = '192.0.2.254';
    for (let attempt = 0; attempt < 50; attempt++) {
      await lab.exec(host, ['ip', 'address', 'add', `${probe}/32`, 'dev', 'lo'], {});
      await lab.exec(host, ['ip', 'address', 'del', `${probe}/32`, 'dev', 'lo'], {});
      const seen = await monitor.waitFor((event) => event.address === probe, 200).catch(() => undefined);
      if (seen !== undefined) return monitor;
    }
    throw new Error(`ip monitor did not start on ${host}`);
  }

  /** The first event from `from` on that matches, waiting up to timeout_ms for it. */
  waitFor(match: (event: AddressEvent) => boolean, timeout_ms: number, from = 0): Promise<AddressEvent> {
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = (): boolean => {
        for (; checked < this.events.length; checked++) {
          const event = this.events[checked]!;
          if (match(event)) {
            finish();
            resolve(event);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching address event within ${timeout_ms} ms`));
      }, timeout_ms);
      const finish = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** The deletion of `address` (any spelling) after event index `from`. */
  deleted(address: string, timeout_ms: number, from = 0): Promise<AddressEvent> {
    const wanted = canonicalIp(address);
    return this.waitFor((event) => event.kind === 'deleted' && event.address === wanted, timeout_ms, from);
  }

  /** The latest `new` event of `address` so far. */
  lastNew(address: string): AddressEvent | undefined {
    const wanted = canonicalIp(address);
    return this.events.findLast((event) => event.kind === 'new' && event.address === wanted);
  }
}

/**
 * `nft monitor new elements` inside a lab host: the timeout the kernel took for each element as it
 * was added. It shows what a lease was made with even when the element has ended before a listing.
 */
export class ElementMonitor {
  readonly proc: LabProcess;

  private constructor(proc: LabProcess) {
    this.proc = proc;
  }

  /**
   * Starts the monitor on `host` and waits until it listens (an element of its own it must see).
   * A monitor that has shown nothing after ten probes (CI, under load, once saw none in 50) is
   * started afresh.
   */
  static async start(lab: Lab, host: string): Promise<ElementMonitor> {
    const spawn = () => lab.spawn(host, ['nft', 'monitor', 'new', 'elements']);
    let monitor = new ElementMonitor(spawn());
    const table = 'inet flip_monitor_probe';
    await lab.exec(
      host,
      ['nft', `add table ${table}; add set ${table} s { type ipv4_addr; flags timeout; }`],
      {
        check: true,
      },
    );
    try {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (attempt > 0 && attempt % 10 === 0) {
          await lab.stop(monitor.proc);
          monitor = new ElementMonitor(spawn());
        }
        await lab.exec(host, ['nft', `add element ${table} s { 192.0.2.${attempt + 1} timeout 1s }`], {});
        const seen = await monitor.proc
          .waitForOutput(/add element inet flip_monitor_probe s /, 200)
          .catch(() => undefined);
        if (seen !== undefined) return monitor;
      }
    } finally {
      await lab.exec(host, ['nft', `delete table ${table}`], {});
    }
    await lab.stop(monitor.proc);
    throw new Error(`nft monitor did not start on ${host}: ${monitor.proc.output().slice(-300)}`);
  }

  /**
   * Waits up to timeout_ms until `address` (any spelling) has been added to `set` of `table` (as
   * `inet flip`), and returns the timeouts it was added with so far.
   */
  async added(table: string, set: string, address: string, timeout_ms: number): Promise<number[]> {
    const made = await poll(() => this.timeouts(table, set, address).length > 0, {
      timeoutMs: timeout_ms,
      intervalMs: 10,
    });
    if (made !== true) {
      throw new Error(
        `nft monitor saw no ${address} added to ${table} ${set}: ${this.proc.output().slice(-600)}`,
      );
    }
    return this.timeouts(table, set, address);
  }

  /** The timeouts (ms, as the kernel rounded them) with which `address` was added to `set` so far. */
  timeouts(table: string, set: string, address: string): number[] {
    const wanted = canonicalIp(address);
    const found: number[] = [];
    for (const line of this.proc.output().split('\n')) {
      const match = /^add element (\S+ \S+) (\S+) \{ (.*) \}$/.exec(line.trim());
      if (match === null || match[1] !== table || match[2] !== set) continue;
      for (const element of match[3]!.split(', ')) {
        const parts = /^(\S+) timeout (\S+)/.exec(element);
        if (parts === null || canonicalIp(parts[1]!) !== wanted) continue;
        const timeout = nftDurationMs(parts[2]!);
        if (timeout === undefined) throw new Error(`nft monitor: not a timeout in ${JSON.stringify(line)}`);
        found.push(timeout);
      }
    }
    return found;
  }
}

function parseMonitorLine(line: string): AddressEvent | undefined {
  const match = /^\[([^\]]+)\] (Deleted )?\d+: \S+\s+inet6? ([0-9a-fA-F:.]+)\/\d+/.exec(line);
  if (match === null) return undefined;
  return {
    kind: match[2] === undefined ? 'new' : 'deleted',
    address: canonicalIp(match[3]!),
    at_ms: monitorStampMs(match[1]!),
    line,
  };
}

/** How long LeaseLine waits for a reply, or for the program to exit after end of input. */
const REPLY_TIMEOUT_MS = 10_000;

/**
 * A lab process spoken to line by line on its stdin and stdout: request() writes a line and
 * resolves with the next line it prints; next() takes the next line, one printed unasked too.
 */
export class LineChannel {
  readonly #waiting: Array<(line: string) => void> = [];
  readonly #unasked: string[] = [];
  #buffer = '';

  constructor(readonly proc: LabProcess) {
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      for (let newline = this.#buffer.indexOf('\n'); newline !== -1; newline = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        const waiting = this.#waiting.shift();
        if (waiting === undefined) this.#unasked.push(line);
        else waiting(line);
      }
    });
  }

  /** The next line; rejects when none comes within timeout_ms (a stuck process fails a test instead of hanging it). */
  next(timeout_ms = REPLY_TIMEOUT_MS, what = 'a line'): Promise<string> {
    const early = this.#unasked.shift();
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no reply to ${what} within ${timeout_ms} ms`)),
        timeout_ms,
      );
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  /** Writes `line` (without its newline) and resolves with the line that answers it. */
  request(line: string, timeout_ms = REPLY_TIMEOUT_MS): Promise<string> {
    const reply = this.next(timeout_ms, `"${line}"`);
    this.proc.child.stdin?.write(`${line}\n`);
    return reply;
  }
}

/**
 * vip-lease running in a lab host, spoken to line by line: each request resolves with its reply
 * line. The process is the lab's, so destroying the lab kills it.
 */
export class LeaseLine {
  readonly proc: LabProcess;
  readonly #lines: LineChannel;
  #seq = 0;

  constructor(lab: Lab, host: string, config: object, env: Record<string, string> = {}) {
    const json = JSON.stringify(config);
    this.proc = lab.spawn(host, [VIP_LEASE, json], {
      stdin: true,
      env: {
        FLIP_EVENT: 'lease',
        FLIP_SYSTEM: 'vip',
        FLIP_NODE: host,
        FLIP_CONFIG: json,
        FLIP_LEASE_LIFETIME_S: '1',
        ...env,
      },
    });
    this.#lines = new LineChannel(this.proc);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** The next request number. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** Writes `line` (without its newline) and resolves with the reply to it (see LineChannel). */
  request(line: string, timeout_ms = REPLY_TIMEOUT_MS): Promise<string> {
    return this.#lines.request(line, timeout_ms);
  }

  /** `renew` with a deadline `deadline_in_ms` from now on the /proc/uptime clock. */
  renew(items: readonly string[], deadline_in_ms: number, timeout_ms?: number): Promise<string> {
    return this.request(
      `renew ${this.nextSeq()} ${readUptime() + deadline_in_ms} ${items.join(' ')}`,
      timeout_ms,
    );
  }

  sync(): Promise<string> {
    return this.request(`sync ${this.nextSeq()}`);
  }

  /**
   * Closes stdin (end of input) and resolves with how the program ended; kills its group when it
   * has not exited within timeout_ms.
   */
  async end(timeout_ms = REPLY_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.child.stdin?.end();
    const timer = setTimeout(() => {
      try {
        process.kill(-this.proc.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }, timeout_ms);
    const ended = await this.proc.exited;
    clearTimeout(timer);
    return ended;
  }
}

/** /proc/uptime in ms. */
export function readUptime(): number {
  const [seconds] = readFileSync('/proc/uptime', 'latin1').split(' ');
  return Math.round(Number(seconds) * 1000);
}

/**
 * Writes an executable wrapper into `dir` that runs vip-lease inside `ns` (`ip netns exec`, which
 * execs it in place, so the wrapper's pid stays the program's), for LeaseKeeper's `program`.
 */
export function leaseWrapper(dir: string, ns: string): string {
  const path = join(dir, `vip-lease-${ns}`);
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec '${ns}' '${VIP_LEASE}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The pids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Whether a process of the group `pgid` is alive (zombies are not). */
export function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[2] === String(pgid) && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** The command name of a process ('' when gone). */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '';
  }
}
