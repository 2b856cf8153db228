/**
 * The agent's side of a system's lease program (scripts/linux/vip-lease, or one of the user's own;
 * see scripts/linux/README.md, "Leases"): starts it, sends it renew and sync requests, reads its
 * replies, and kills it when it stops answering. An adapter: it decides nothing about which items
 * to renew or when.
 *
 * The program runs as `PROGRAM CONFIG_JSON` in a process group of its own, with FLIP_EVENT=lease,
 * FLIP_SYSTEM, FLIP_NODE, FLIP_CONFIG, FLIP_LEASE_LIFETIME_S and FLIP_LEASE_FENCE_MS in its environment. Requests and
 * replies are lines on its stdin and stdout (`renew SEQ DEADLINE_MS ITEM...` / `ok SEQ N`,
 * `stale SEQ`, `error SEQ MESSAGE`; `sync SEQ` / `ok SEQ 0`), one reply per request, in order.
 *
 * Safety rests on one rule: once this adapter reports a request as `killed`, or resolves sync(),
 * no renewal sent before can still reach the kernel. So a keeper that stalls, exits or answers out
 * of turn has its whole process group SIGKILLed, and its pending requests are resolved only once no
 * process of that group is left (a process blocked in the kernel finishes its system call before it
 * dies). The program is started again lazily, on the next request, after a back-off that doubles
 * up to a bound. Nothing here throws for a failing program: every start failure, exit, stall and
 * line it prints on stderr is reported through onEvent.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimer } from '../time/timer.js';
import { groupExists, signalGroup, startErrorMessage } from './launcher.js';
import {
  type DatagramSender,
  type DatagramTarget,
  LoopbackDatagrams,
  parseDatagramsReply,
} from './lease-datagrams.js';
import { LINUX_LEASE_LIFETIME_S, NFT_LEASE_TIMEOUT_MS } from './lease-fence.js';
import { scriptPath } from './script-path.js';

/** The program the agent runs for a system, and what it passes to it. */
export interface LeaseProgram {
  /** The system's lease program: a path (resolved like its scripts, see resolveScript) or a name on PATH. */
  program: string;
  /** The system's merged config as JSON: the program's one argument, and FLIP_CONFIG. */
  config_json: string;
  /** FLIP_SYSTEM. */
  system: string;
  /** FLIP_NODE: this server's id. */
  node: string;
  /** FLIP_LEASE_LIFETIME_S, whole seconds; LINUX_LEASE_LIFETIME_S (1) by default. */
  lifetime_s?: number;
  /**
   * FLIP_LEASE_FENCE_MS: the system's fence, which the program must keep (the agent counts on it);
   * the program refuses to run when this host cannot (see scripts/linux/README.md, "Leases").
   * Not set when absent.
   */
  fence_ms?: number;
  /** Added to the agent's environment (and over the FLIP_ variables): PATH, tests. */
  env?: Record<string, string>;
  /** Working directory; the agent's when absent. */
  cwd?: string;
}

/** How a renew request ended. */
export type RenewResult =
  /** The program renewed `renewed` addresses (those of the items configured here now). */
  | { status: 'ok'; renewed: number }
  /** The deadline had passed when the program handled the request: nothing was changed. */
  | { status: 'stale' }
  /** A command failed; `message` is the program's. Some of the items may have been renewed. */
  | { status: 'error'; message: string }
  /**
   * No reply: the program stalled, exited or was stopped, and its whole process group is gone. The
   * request may have been carried out, in part or fully, but nothing of it can happen any more.
   */
  | { status: 'killed' }
  /** Not sent: the program is not running (see `reason`), so nothing was renewed. */
  | { status: 'unavailable'; reason: string };

/** What happened to the program, for the log. */
export type LeaseKeeperEvent =
  | { type: 'started'; pid: number }
  /** The program could not be started; the next attempt waits `retry_in_ms`. */
  | { type: 'start_failed'; message: string; retry_in_ms: number }
  /** A reply did not come within stall_ms; the group is killed next. */
  | { type: 'stalled'; pid: number; waited_ms: number; pending: number }
  /** A reply line that does not fit the protocol or the request it answers; the group is killed next. */
  | { type: 'bad_reply'; pid: number; line: string }
  /**
   * The program ended: `expected` after stop(), otherwise on its own or killed here. Its pending
   * requests were resolved as `killed`; the next start waits `retry_in_ms` (0 after stop()).
   */
  | {
      type: 'exited';
      pid: number;
      code: number | null;
      signal: string | null;
      expected: boolean;
      retry_in_ms: number;
    }
  /** Processes of the killed group were still there kill_wait_ms after SIGKILL (blocked in the kernel?). */
  | { type: 'group_survived'; pid: number; waited_ms: number }
  /** A line the program wrote on stderr, cut to stderr_line_chars_max; `dropped` lines before it were not reported. */
  | { type: 'stderr'; pid: number; line: string; dropped: number }
  /** A request was refused because pending_max requests already wait for replies. */
  | { type: 'overloaded'; pending: number }
  /**
   * The program answered `datagrams`: `port` is where renewal datagrams go (lease rounds between
   * requests are datagrams from now on), or undefined when it renews only by request.
   */
  | { type: 'datagrams'; pid: number; port: number | undefined };

/**
 * Renewal by datagram (executor/lease-datagrams.ts), asked of every program run: a lease round
 * sends datagrams instead of a request when the program agreed, the last request was sent less
 * than request_every_ms ago and named every item of the round.
 */
export interface DatagramRenewal {
  /** The addresses' lifetime asked for (`datagrams SEQ LIFETIME_S`): cleanup only, not the fence. */
  lifetime_s: number;
  /** A renew request at least this often (ms): it renews the lifetimes and puts lapsed elements back. */
  request_every_ms: number;
  /**
   * A datagram resets only an element that is still there. An item last renewed more than this
   * long ago (ms), by a request answered `ok` or a datagram the kernel took, may have lost its
   * element (NFT_LEASE_TIMEOUT_MS after that renewal), so its round is a request, which puts the
   * element back: a stalled agent's addresses are answered again at its next round, not only at
   * the next request_every_ms.
   */
  gap_ms: number;
  /** The sender; LoopbackDatagrams by default. */
  sender?: () => DatagramSender;
}

/**
 * The agent's choice. Between requests the datagrams alone keep the fence (the elements' 800 ms);
 * a request renews the addresses' lifetimes, which are cleanup only here (the address of a host
 * whose agent and vip-lease both stopped goes within the lifetime, unanswered since its element
 * lapsed), and finds addresses that went from the host. So a request goes with the first renewal
 * 4 s or more after the last one: renewals are at most 550 ms apart (GRANTS_LOST_MS under `keep`,
 * membership/lease.ts), so requests are at most 4.55 s apart, which leaves 5.45 s of a 10 s
 * lifetime before vip-lease's watchdog deletes a live holder's address. At the defaults renewals
 * come every 450 ms, and one in nine or ten is a request; vip-lease (bash, ip, nft) costs each
 * request about 6 ms of CPU for 10 addresses, so rarer requests are most of what an idle leased
 * holder saves. A renewal more than 650 ms after an item's last one (a stalled agent: its element
 * may have lapsed 800 ms after that renewal) is a request too, which puts the element back.
 */
export const LEASE_DATAGRAM_DEFAULTS = { lifetime_s: 10, request_every_ms: 4000, gap_ms: 650 } as const;

export interface LeaseKeeperOptions {
  /** A reply later than this (since the request was sent, or since the previous reply) kills the program. */
  stall_ms?: number;
  /** A program's first reply may take this much longer: it may still be starting (a loaded host, a slow program). */
  start_grace_ms?: number;
  /** After stop() closes stdin, how long the program gets to exit before its group is killed. */
  stop_wait_ms?: number;
  /** After SIGKILL, how long to wait for every process of the group to be gone. */
  kill_wait_ms?: number;
  /** Back-off before the first restart; doubles per failure... */
  restart_backoff_ms_min?: number;
  /** ...up to this; back to the minimum after a reply. */
  restart_backoff_ms_max?: number;
  /** Requests waiting for a reply at most; more are refused as `unavailable`. */
  pending_max?: number;
  /** stderr lines reported per second at most; the rest are counted. */
  stderr_lines_per_s_max?: number;
  /** Longest stderr line reported; longer ones are cut. */
  stderr_line_chars_max?: number;
  onEvent?: (event: LeaseKeeperEvent) => void;
  /** Monotonic ms, the clock of renew's deadline_ms; performance.now() by default. */
  now?: () => number;
  /** This host's /proc/uptime in ms (CLOCK_BOOTTIME, 10 ms steps); read from /proc by default. */
  uptime_ms?: () => number;
  /** Renewal by datagram, asked of each program run; off when absent. */
  datagrams?: DatagramRenewal;
}

/** Defaults, each with why. */
export const LEASE_KEEPER_DEFAULTS = {
  /**
   * vip-lease answers in a few ms; a keeper silent for a second is stuck (or stopped), and a stuck
   * keeper must not renew late, so it is killed. Also the contract's default.
   */
  stall_ms: 1000,
  /**
   * vip-lease starts in tens of ms (bash and one awk check its config), more on a loaded host;
   * the deadline in each request, checked by the program, keeps a slow start from renewing late.
   */
  start_grace_ms: 5000,
  /** vip-lease exits at once on end of input; two seconds covers a loaded host. */
  stop_wait_ms: 2000,
  /** SIGKILL ends a process within ms unless it is blocked in the kernel; this only bounds that case. */
  kill_wait_ms: 5000,
  /** Soon enough that one crash costs a renewal or two, not the lease. */
  restart_backoff_ms_min: 250,
  /** A program that cannot start is retried every 10 s: cheap, and it heals without a restart. */
  restart_backoff_ms_max: 10_000,
  /** Several seconds of renewals at any sane rate; beyond that the keeper is stalled anyway. */
  pending_max: 64,
  /** Enough for any warning burst, too few to flood the log from a looping program. */
  stderr_lines_per_s_max: 20,
  /** As for a script's output in the log (see executor/captured-output.ts). */
  stderr_line_chars_max: 2000,
} as const;

/** /proc/uptime counts in steps of this many ms (two decimals of a second). */
export const UPTIME_RESOLUTION_MS = 10;

/** Reply lines longer than this are not vip-lease's (an error message is a line of ip's). */
const REPLY_CHARS_MAX = 4096;
/** A partial stderr line is reported once it grows past this, as if it ended there. */
const STDERR_PARTIAL_CHARS_MAX = 16 * 1024;
/** How often to look whether a killed group is gone. */
const GROUP_POLL_MS = 20;
/** After the program exits, how long to wait for its stdout to close (replies still in the pipe). */
const CLOSE_WAIT_MS = 250;

/** Reads /proc/uptime in whole ms (the seconds with two decimals times 1000). */
export function readUptimeMs(): number {
  const text = readFileSync('/proc/uptime', 'latin1');
  const match = /^(\d+)\.(\d{2})\s/.exec(text);
  if (match === null) throw new Error(`unexpected /proc/uptime: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(match[1]) * 1000 + Number(match[2]) * 10;
}

/**
 * deadline_ms (on the `now` clock) as a time on the /proc/uptime clock, for the program: uptime_ms
 * is read first and now_ms just after, so the uptime stands for a moment no later than now_ms.
 * Rounded down, and one /proc/uptime step earlier, because the program compares it with a reading
 * that is itself up to one step behind: so it never acts after deadline_ms.
 */
export function uptimeDeadlineMs(deadline_ms: number, now_ms: number, uptime_ms: number): number {
  return Math.max(0, Math.floor(uptime_ms + (deadline_ms - now_ms)) - UPTIME_RESOLUTION_MS);
}

interface Pending {
  seq: number;
  kind: 'renew' | 'sync' | 'datagrams';
  resolve: (result: RenewResult) => void;
}

/** One run of the program: its process, its requests waiting for replies, its output buffers. */
interface Run {
  child: ChildProcess;
  pid: number;
  pending: Pending[];
  stdout: string;
  stderr: string;
  stdout_closed: boolean;
  exited: boolean;
  exit_code: number | null;
  exit_signal: string | null;
  /** SIGKILL sent to the group (a stall, a bad reply, an unexpected exit, stop's deadline). */
  killed_at: number | undefined;
  /** A reply broke the protocol: later output is not trusted. */
  broken: boolean;
  /** The program has answered at least once (so it has started). */
  replied: boolean;
  stopping: boolean;
  /** When the oldest pending request started waiting for its reply. */
  waiting_since: number;
  stall_timer: NodeJS.Timeout | undefined;
  /** Resolves when the run is over: group gone, requests resolved. */
  ended: Promise<void>;
  end: () => void;
  ending: boolean;
  /** Where renewal datagrams go, once the program agreed to them. */
  target: DatagramTarget | undefined;
  /** When the last renew request was sent, and its items (for renewal by datagram). */
  requested_at: number;
  requested: ReadonlySet<string>;
  /**
   * When each item of the last request was last renewed for sure (the `now` clock): the send
   * time of a request answered `ok` for all its items, or of a datagram the kernel took.
   */
  renewed_at: Map<string, number>;
}

export class LeaseKeeper {
  readonly #program: LeaseProgram;
  readonly #stall_ms: number;
  readonly #start_grace_ms: number;
  readonly #stop_wait_ms: number;
  readonly #kill_wait_ms: number;
  readonly #backoff_min: number;
  readonly #backoff_max: number;
  readonly #pending_max: number;
  readonly #stderr_lines_max: number;
  readonly #stderr_chars_max: number;
  readonly #onEvent: (event: LeaseKeeperEvent) => void;
  readonly #now: () => number;
  readonly #uptime_ms: () => number;
  readonly #datagrams: DatagramRenewal | undefined;
  #sender: DatagramSender | undefined;
  /** Datagram rounds whose sends have not all completed. */
  readonly #sending = new Set<Promise<unknown>>();

  #run: Run | undefined;
  #seq = 0;
  #backoff_ms: number;
  /** No start before this (the `now` clock). */
  #start_not_before = Number.NEGATIVE_INFINITY;
  #stopped = false;
  #stop_promise: Promise<void> | undefined;
  #stderr_window_start = Number.NEGATIVE_INFINITY;
  #stderr_window_lines = 0;
  #stderr_dropped = 0;

  constructor(program: LeaseProgram, options: LeaseKeeperOptions = {}) {
    this.#program = program;
    this.#stall_ms = options.stall_ms ?? LEASE_KEEPER_DEFAULTS.stall_ms;
    this.#start_grace_ms = options.start_grace_ms ?? LEASE_KEEPER_DEFAULTS.start_grace_ms;
    this.#stop_wait_ms = options.stop_wait_ms ?? LEASE_KEEPER_DEFAULTS.stop_wait_ms;
    this.#kill_wait_ms = options.kill_wait_ms ?? LEASE_KEEPER_DEFAULTS.kill_wait_ms;
    this.#backoff_min = options.restart_backoff_ms_min ?? LEASE_KEEPER_DEFAULTS.restart_backoff_ms_min;
    this.#backoff_max = options.restart_backoff_ms_max ?? LEASE_KEEPER_DEFAULTS.restart_backoff_ms_max;
    this.#pending_max = options.pending_max ?? LEASE_KEEPER_DEFAULTS.pending_max;
    this.#stderr_lines_max = options.stderr_lines_per_s_max ?? LEASE_KEEPER_DEFAULTS.stderr_lines_per_s_max;
    this.#stderr_chars_max = options.stderr_line_chars_max ?? LEASE_KEEPER_DEFAULTS.stderr_line_chars_max;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#now = options.now ?? (() => performance.now());
    this.#uptime_ms = options.uptime_ms ?? readUptimeMs;
    this.#backoff_ms = this.#backoff_min;
    this.#datagrams = options.datagrams;
    if (
      this.#datagrams !== undefined &&
      (!Number.isSafeInteger(this.#datagrams.lifetime_s) ||
        this.#datagrams.lifetime_s < 1 ||
        this.#datagrams.lifetime_s > 86_400 ||
        !(this.#datagrams.request_every_ms * 2 <= this.#datagrams.lifetime_s * 1000) ||
        !(this.#datagrams.gap_ms > 0 && this.#datagrams.gap_ms < NFT_LEASE_TIMEOUT_MS))
    )
      throw new RangeError(
        `datagrams: lifetime_s must be 1 to 86400 s and at least twice request_every_ms; gap_ms more than 0 and under ${NFT_LEASE_TIMEOUT_MS}`,
      );
    const lifetime_s = program.lifetime_s ?? LINUX_LEASE_LIFETIME_S;
    if (!Number.isSafeInteger(lifetime_s) || lifetime_s < 1)
      throw new RangeError(`lifetime_s must be a whole number of seconds >= 1, not ${lifetime_s}`);
  }

  /**
   * The lifetime (s) the program gives the addresses it renews now, which scripts that add them
   * should give them too: the one asked with `datagrams` once the program agreed, else the
   * program's own (FLIP_LEASE_LIFETIME_S).
   */
  get lifetime_s(): number {
    if (this.#run?.target !== undefined && this.#datagrams !== undefined) return this.#datagrams.lifetime_s;
    return this.#program.lifetime_s ?? LINUX_LEASE_LIFETIME_S;
  }

  /**
   * The next round asks the program, even within request_every_ms: an item was just put on the
   * host (an `alive`), with the lifetime its script gave it, and the program puts it under watch.
   */
  renewAgain(): void {
    if (this.#run !== undefined) this.#run.requested_at = Number.NEGATIVE_INFINITY;
  }

  /** The running program's pid (also its process group's id), if one runs. */
  get pid(): number | undefined {
    const run = this.#run;
    return run !== undefined && !run.ending ? run.pid : undefined;
  }

  /**
   * Starts the program now unless it runs, is being killed, was stopped, or waits out its back-off.
   * Optional: renew() starts it too. Whether it runs (or is starting) afterwards.
   */
  start(): boolean {
    return this.#ensureRunning() === undefined;
  }

  /**
   * Asks the program to renew `items` unless it handles the request after deadline_ms (on the
   * `now` clock, performance.now() by default). The deadline is converted to the /proc/uptime
   * clock when the line is written (see uptimeDeadlineMs). Items must be non-empty and free of
   * whitespace and control characters (a programmer error otherwise). Never rejects.
   */
  renew(items: readonly string[], deadline_ms: number): Promise<RenewResult> {
    for (const item of items) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
      if (item === '' || /[\s\x00-\x1f\x7f]/.test(item))
        throw new TypeError(
          `a leased item must be non-empty, without whitespace or control characters: ${JSON.stringify(item)}`,
        );
    }
    if (!Number.isFinite(deadline_ms)) throw new TypeError(`deadline_ms must be finite, not ${deadline_ms}`);
    if (items.length === 0) return Promise.resolve({ status: 'ok', renewed: 0 });
    const refused = this.#ensureRunning();
    if (refused !== undefined) return Promise.resolve({ status: 'unavailable', reason: refused });
    const run = this.#run!;
    if (run.pending.length >= this.#pending_max) {
      this.#onEvent({ type: 'overloaded', pending: run.pending.length });
      return Promise.resolve({ status: 'unavailable', reason: 'too many requests wait for a reply' });
    }
    const target = run.target;
    if (target !== undefined && this.#datagrams !== undefined) {
      const now = this.#now();
      const gap_ms = this.#datagrams.gap_ms;
      if (
        now - run.requested_at < this.#datagrams.request_every_ms &&
        items.every(
          (item) => run.requested.has(item) && now - (run.renewed_at.get(item) ?? -Infinity) <= gap_ms,
        )
      ) {
        // The deadline is checked here, and the datagrams are handed to the kernel right after,
        // within this call (LoopbackDatagrams: no lookup on a later tick).
        if (now > deadline_ms) return Promise.resolve({ status: 'stale' });
        return this.#refresh(run, target, items);
      }
    }
    let uptime_deadline: number;
    try {
      const uptime = this.#uptime_ms();
      uptime_deadline = uptimeDeadlineMs(deadline_ms, this.#now(), uptime);
    } catch (error) {
      return Promise.resolve({
        status: 'unavailable',
        reason: `cannot read the uptime clock: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    const seq = ++this.#seq;
    const sent_at = this.#now();
    run.requested_at = sent_at;
    run.requested = new Set(items);
    // Only the items of this request may be renewed by datagram until the next one.
    for (const item of run.renewed_at.keys()) if (!run.requested.has(item)) run.renewed_at.delete(item);
    return new Promise<RenewResult>((resolve) => {
      this.#send(
        run,
        {
          seq,
          kind: 'renew',
          resolve: (result) => {
            // Not carried out, or an item not on the host yet (an `alive` still adding it, with the
            // lifetime of a renewal by request): the next round asks the program again.
            if (result.status !== 'ok' || result.renewed < items.length)
              run.requested_at = Number.NEGATIVE_INFINITY;
            else if (run.requested_at === sent_at)
              for (const item of items)
                run.renewed_at.set(item, Math.max(run.renewed_at.get(item) ?? -Infinity, sent_at));
            resolve(result);
          },
        },
        `renew ${seq} ${uptime_deadline} ${items.join(' ')}\n`,
      );
    });
  }

  /** A lease round by datagram: one to each item; `renewed` counts those the kernel took. */
  #refresh(run: Run, target: DatagramTarget, items: readonly string[]): Promise<RenewResult> {
    // Made when the program agreed to datagrams (#onReply); sends nothing (not renewed) until open.
    const sender = this.#openSender();
    const sent_at = this.#now();
    const round = Promise.all(items.map((item) => sender.send(item, target.port, target.token))).then(
      (sent): RenewResult => {
        let renewed = 0;
        sent.forEach((ok, i) => {
          if (!ok) return;
          renewed++;
          if (run.requested.has(items[i]!)) run.renewed_at.set(items[i]!, sent_at);
        });
        // An item no longer on the host: the program is asked next round, and says so too.
        if (renewed < items.length) run.requested_at = Number.NEGATIVE_INFINITY;
        return { status: 'ok', renewed };
      },
    );
    this.#sending.add(round);
    void round.then(() => this.#sending.delete(round));
    return round;
  }

  /** The datagram sender, made and opened on first use (open() is once per sender). */
  #openSender(): DatagramSender {
    if (this.#sender === undefined) {
      this.#sender = this.#datagrams?.sender?.() ?? new LoopbackDatagrams();
      void this.#sender.open();
    }
    return this.#sender;
  }

  /**
   * Resolves once no request sent before can still change anything: the program has answered a
   * sync sent after them, or its process group is gone. Does not start the program. Never rejects.
   */
  sync(): Promise<void> {
    // Datagrams already handed over are in the kernel once their sends complete.
    const sends = [...this.#sending];
    const program = this.#syncProgram();
    if (sends.length === 0) return program;
    return Promise.all([program, ...sends]).then(() => {});
  }

  #syncProgram(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return Promise.resolve();
    if (run.ending || run.stopping || run.killed_at !== undefined || run.exited) return run.ended;
    const seq = ++this.#seq;
    return new Promise<void>((resolve) => {
      this.#send(run, { seq, kind: 'sync', resolve: () => resolve() }, `sync ${seq}\n`);
    });
  }

  /**
   * Stops for good: closes the program's stdin (vip-lease then deletes the addresses it renewed and
   * exits), kills its group if it has not exited within stop_wait_ms, and resolves once the
   * group is gone. Requests after this are `unavailable`. Idempotent; never rejects.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    if (this.#stop_promise !== undefined) return this.#stop_promise;
    const run = this.#run;
    if (run === undefined) {
      this.#sender?.close();
      this.#stop_promise = Promise.resolve();
      return this.#stop_promise;
    }
    run.stopping = true;
    if (!run.exited && run.killed_at === undefined) {
      run.child.stdin?.end();
      const timer = setTimer(() => this.#kill(run), this.#stop_wait_ms);
      void run.ended.then(() => clearTimeout(timer));
    }
    this.#stop_promise = run.ended.then(() => this.#sender?.close());
    return this.#stop_promise;
  }

  /** Undefined when a program runs (now started if need be), or why none does. */
  #ensureRunning(): string | undefined {
    if (this.#stopped) return 'stopped';
    const run = this.#run;
    if (run !== undefined) {
      if (run.ending || run.killed_at !== undefined || run.exited) return 'the program is being restarted';
      return undefined;
    }
    const now = this.#now();
    if (now < this.#start_not_before)
      return `the program is restarted in ${Math.ceil(this.#start_not_before - now)} ms`;
    return this.#spawn();
  }

  #spawn(): string | undefined {
    const program = this.#program;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FLIP_EVENT: 'lease',
      FLIP_SYSTEM: program.system,
      FLIP_NODE: program.node,
      FLIP_CONFIG: program.config_json,
      FLIP_LEASE_LIFETIME_S: String(program.lifetime_s ?? LINUX_LEASE_LIFETIME_S),
      ...(program.fence_ms === undefined ? {} : { FLIP_LEASE_FENCE_MS: String(program.fence_ms) }),
      ...program.env,
    };
    let child: ChildProcess;
    try {
      child = spawn(program.program, [program.config_json], {
        cwd: program.cwd,
        shell: false,
        detached: true,
        env: { ...env, PATH: scriptPath(env.PATH) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      // spawn throws for arguments it cannot pass at all, such as a NUL byte.
      return this.#startFailed(error);
    }
    const pid = child.pid;
    if (pid === undefined) {
      // The reason (ENOENT, EACCES...) comes with the 'error' event, on a later tick.
      const retry_in_ms = this.#scheduleRestart();
      child.on('error', (error) =>
        this.#onEvent({ type: 'start_failed', message: this.#startErrorMessage(error), retry_in_ms }),
      );
      child.stdin?.on('error', () => {});
      return 'the program could not be started';
    }
    let end: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const run: Run = {
      child,
      pid,
      pending: [],
      stdout: '',
      stderr: '',
      stdout_closed: false,
      exited: false,
      exit_code: null,
      exit_signal: null,
      killed_at: undefined,
      broken: false,
      replied: false,
      stopping: false,
      waiting_since: this.#now(),
      stall_timer: undefined,
      ended,
      end,
      ending: false,
      target: undefined,
      requested_at: Number.NEGATIVE_INFINITY,
      requested: new Set(),
      renewed_at: new Map(),
    };
    this.#run = run;
    child.stdin?.on('error', () => {
      // EPIPE after the program died: its exit is handled below.
    });
    child.on('error', () => {
      // Errors after a start (a failed kill) change nothing: exit and close still come.
    });
    child.stdout?.setEncoding('latin1');
    child.stderr?.setEncoding('latin1');
    child.stdout?.on('data', (chunk: string) => this.#onStdout(run, chunk));
    child.stderr?.on('data', (chunk: string) => this.#onStderr(run, chunk));
    child.stdout?.on('close', () => {
      run.stdout_closed = true;
    });
    child.on('exit', (code, signal) => {
      run.exited = true;
      run.exit_code = code;
      run.exit_signal = signal;
      // Whatever it left behind (its ip coprocess) must not renew anything later.
      if (run.killed_at === undefined) this.#kill(run, false);
    });
    this.#onEvent({ type: 'started', pid });
    if (this.#datagrams !== undefined) {
      const seq = ++this.#seq;
      this.#send(
        run,
        { seq, kind: 'datagrams', resolve: () => {} },
        `datagrams ${seq} ${this.#datagrams.lifetime_s}\n`,
      );
    }
    return undefined;
  }

  #startFailed(error: unknown): string {
    const message = this.#startErrorMessage(error);
    const retry_in_ms = this.#scheduleRestart();
    this.#onEvent({ type: 'start_failed', message, retry_in_ms });
    return message;
  }

  #startErrorMessage(error: unknown): string {
    const program = this.#program;
    return startErrorMessage(program.program, program.cwd, program.env?.PATH ?? process.env.PATH, error);
  }

  /** Sets the earliest next start; returns the wait. */
  #scheduleRestart(): number {
    const wait = this.#backoff_ms;
    this.#start_not_before = this.#now() + wait;
    this.#backoff_ms = Math.min(this.#backoff_ms * 2, this.#backoff_max);
    return wait;
  }

  #send(run: Run, pending: Pending, line: string): void {
    if (run.pending.length === 0) run.waiting_since = this.#now();
    run.pending.push(pending);
    run.child.stdin?.write(line);
    this.#armStallTimer(run);
  }

  #armStallTimer(run: Run): void {
    clearTimeout(run.stall_timer);
    run.stall_timer = undefined;
    if (run.pending.length === 0 || run.killed_at !== undefined || run.ending) return;
    const stall_ms = this.#stall_ms + (run.replied ? 0 : this.#start_grace_ms);
    const due = run.waiting_since + stall_ms - this.#now();
    run.stall_timer = setTimer(() => {
      run.stall_timer = undefined;
      if (run.pending.length === 0 || run.killed_at !== undefined) return;
      const waited_ms = Math.round(this.#now() - run.waiting_since);
      if (waited_ms < stall_ms) {
        this.#armStallTimer(run);
        return;
      }
      this.#onEvent({ type: 'stalled', pid: run.pid, waited_ms, pending: run.pending.length });
      this.#kill(run);
    }, due);
  }

  #onStdout(run: Run, chunk: string): void {
    // Replies after a kill still count (the work was done); after a broken reply nothing does.
    if (run.broken || run.ending) return;
    run.stdout += chunk;
    for (let newline = run.stdout.indexOf('\n'); newline !== -1; newline = run.stdout.indexOf('\n')) {
      const line = run.stdout.slice(0, newline);
      run.stdout = run.stdout.slice(newline + 1);
      if (!this.#onReply(run, line)) return;
    }
    if (run.stdout.length > REPLY_CHARS_MAX) this.#badReply(run, run.stdout.slice(0, 200));
  }

  /** Handles one reply line; false when it broke the protocol (the run is being killed). */
  #onReply(run: Run, line: string): boolean {
    const head = run.pending[0];
    const match = /^(ok|stale|error) (\d+|-)(?: (.*))?$/.exec(line);
    if (head === undefined || match === null || line.length > REPLY_CHARS_MAX) {
      this.#badReply(run, line);
      return false;
    }
    const [, word, seq_text, rest] = match;
    // `error - bad request` answers a line the program could not read a number from: ours to fix,
    // but still the answer to the oldest request.
    if (seq_text === '-' ? word !== 'error' : seq_text !== String(head.seq)) {
      this.#badReply(run, line);
      return false;
    }
    let result: RenewResult;
    if (head.kind === 'datagrams') {
      // A program that does not know the request answers it as a bad one: renewal by request only.
      const target = word === 'ok' ? parseDatagramsReply(rest) : word === 'error' ? 'none' : undefined;
      if (target === undefined) {
        this.#badReply(run, line);
        return false;
      }
      run.target = target === 'none' ? undefined : target;
      if (run.target !== undefined) this.#openSender();
      this.#onEvent({ type: 'datagrams', pid: run.pid, port: run.target?.port });
      result = { status: 'ok', renewed: 0 };
    } else if (word === 'ok' && rest !== undefined && /^\d{1,9}$/.test(rest)) {
      result = { status: 'ok', renewed: Number(rest) };
    } else if (word === 'stale' && rest === undefined) {
      result = { status: 'stale' };
    } else if (word === 'error' && rest !== undefined && rest !== '') {
      result = { status: 'error', message: rest };
    } else {
      this.#badReply(run, line);
      return false;
    }
    run.pending.shift();
    run.replied = true;
    // A reply: the program works, so the next failure starts the back-off from its minimum again.
    this.#backoff_ms = this.#backoff_min;
    run.waiting_since = this.#now();
    this.#armStallTimer(run);
    head.resolve(result);
    return true;
  }

  #badReply(run: Run, line: string): void {
    run.broken = true;
    this.#onEvent({ type: 'bad_reply', pid: run.pid, line: line.slice(0, 200) });
    this.#kill(run);
  }

  #onStderr(run: Run, chunk: string): void {
    run.stderr += chunk;
    let newline = run.stderr.indexOf('\n');
    while (newline !== -1 || run.stderr.length > STDERR_PARTIAL_CHARS_MAX) {
      const end = newline === -1 ? STDERR_PARTIAL_CHARS_MAX : newline;
      const line = run.stderr.slice(0, end);
      run.stderr = run.stderr.slice(newline === -1 ? end : end + 1);
      this.#reportStderr(run, line);
      newline = run.stderr.indexOf('\n');
    }
  }

  #reportStderr(run: Run, line: string): void {
    const now = this.#now();
    if (now - this.#stderr_window_start >= 1000) {
      this.#stderr_window_start = now;
      this.#stderr_window_lines = 0;
    }
    if (this.#stderr_window_lines >= this.#stderr_lines_max) {
      this.#stderr_dropped++;
      return;
    }
    this.#stderr_window_lines++;
    const dropped = this.#stderr_dropped;
    this.#stderr_dropped = 0;
    const cut = line.length > this.#stderr_chars_max ? `${line.slice(0, this.#stderr_chars_max)}...` : line;
    this.#onEvent({ type: 'stderr', pid: run.pid, line: cut, dropped });
  }

  /**
   * SIGKILLs the run's process group (unless `signal` is false: the leader has exited and the group
   * only needs sweeping, which this does too), then ends the run once the group is gone.
   */
  #kill(run: Run, signal = true): void {
    if (run.killed_at !== undefined) return;
    run.killed_at = this.#now();
    clearTimeout(run.stall_timer);
    run.stall_timer = undefined;
    if (signal || groupExists(run.pid)) signalGroup(run.pid, run.child, 'SIGKILL');
    this.#waitForGroup(run);
  }

  #waitForGroup(run: Run): void {
    const started = this.#now();
    const poll = (): void => {
      const waited_ms = this.#now() - started;
      const leader_done = run.exited && (run.stdout_closed || waited_ms >= CLOSE_WAIT_MS);
      if (leader_done && !groupExists(run.pid)) {
        this.#endRun(run);
        return;
      }
      if (waited_ms >= this.#kill_wait_ms) {
        this.#onEvent({ type: 'group_survived', pid: run.pid, waited_ms: Math.round(waited_ms) });
        this.#endRun(run);
        return;
      }
      setTimer(poll, GROUP_POLL_MS);
    };
    poll();
  }

  #endRun(run: Run): void {
    if (run.ending) return;
    run.ending = true;
    clearTimeout(run.stall_timer);
    const pending = run.pending.splice(0);
    if (run.stderr !== '') this.#reportStderr(run, run.stderr);
    run.stderr = '';
    const expected = run.stopping;
    const retry_in_ms = expected ? 0 : this.#scheduleRestart();
    this.#onEvent({
      type: 'exited',
      pid: run.pid,
      code: run.exit_code,
      signal: run.exit_signal,
      expected,
      retry_in_ms,
    });
    if (this.#run === run) this.#run = undefined;
    for (const request of pending) request.resolve({ status: 'killed' });
    run.end();
  }
}
