/**
 * The script ledger: a file in the agent's state directory that names the process group of every
 * script this agent has running, so that the next start of the agent can kill the scripts of a
 * life that ended with SIGKILL. Without it such a script runs on (it has a session of its own, so
 * the kill does not reach it) and may finish after the new life's start-up clean-up: an `alive`
 * of the old life would then leave the item on two servers, and nothing would correct it.
 *
 * The launcher tells the ledger when a script's group starts and when it ends (the narrow
 * ScriptGroupRecorder); the agent asks it once, at start, before the membership protocol and any
 * plan, to kill what the previous life left running (`recover`).
 *
 * A pid can name another process once the first is gone, so each entry holds the leader's start
 * time as well (field 22 of /proc/PID/stat) and the machine's boot id: a group is killed only
 * when its leader still has the recorded start time, in the same boot. A group whose leader has
 * exited is never killed: nothing proves its number still names the group that was recorded.
 *
 * The file is JSON (see LedgerFile), replaced atomically on every change (a temporary file
 * written and fsynced, renamed over the old one, the directory fsynced), so that a reader sees
 * the old ledger or the new one, never half of one, even after a power cut. A script is written
 * twice at its start: before its spawn, with a random token that it gets in its environment
 * (RUN_TOKEN_ENV), and after it, with its process group. So no script runs unrecorded: an agent
 * killed between the spawn and the second write leaves a script that the next start finds by its
 * token (/proc/PID/environ). Its end is written at the next turn of the event loop (see ended).
 * Each write is synchronous and costs what two fsyncs cost (4 to 7 ms on a busy virtual disk,
 * well under 1 ms on a local SSD): twice a script start and at most once an end.
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shortenText } from './captured-output.js';
import {
  bootId,
  errorCode,
  groupExists,
  liveGroups,
  processesWithEnvironment,
  processStartTicks,
  processStat,
} from './process-groups.js';
import type { Launch, ScriptEvent } from './types.js';

/** What the launcher tells about the process group of each script it starts. */
export interface ScriptGroupRecorder {
  /**
   * `launch` is about to be spawned: recorded (on disk) before it can run, with a token that the
   * launcher puts in its environment as RUN_TOKEN_ENV, so that a restart finds the script even if
   * this agent dies before `started`. Undefined: nothing recorded, no token.
   */
  starting(launch: Launch): string | undefined;
  /** The spawn of the launch that `starting` gave `token` failed: nothing runs. */
  notStarted(token: string): void;
  /** `launch` runs as the leader of the new process group `pgid` (its pid); `token`: from `starting`. */
  started(launch: Launch, pgid: number, token?: string): void;
  /** The leader of `pgid` has exited; `group_gone` when no live process is left in its group. */
  ended(pgid: number, group_gone: boolean): void;
}

/** One script's process group, as the ledger file holds it. */
export interface LedgerEntry {
  pgid: number;
  /** The leader's start time, clock ticks since boot (field 22 of /proc/PID/stat). */
  start_ticks: string;
  system: string;
  /** Shortened to its first and last 100 characters: it is there to be logged. */
  item: string;
  event: ScriptEvent;
  run: number;
  /**
   * `running` while the leader runs; `lingering` once it has exited and processes it left behind
   * keep the group alive (they are reported at the next start, never killed).
   */
  state: 'running' | 'lingering';
  /** Wall-clock time of the start, ISO 8601, for people. */
  started_at: string;
}

/**
 * The environment variable that carries a script's run token (see ScriptGroupRecorder.starting):
 * how the next start of the agent finds a script whose process group it had not recorded yet.
 */
export const RUN_TOKEN_ENV = 'FLIP_RUN_TOKEN';

/** A script about to be spawned, recorded before it can run: found at a restart by its token. */
export interface StartingEntry {
  /** 32 hex digits, random: in the script's environment as RUN_TOKEN_ENV. */
  token: string;
  system: string;
  item: string;
  event: ScriptEvent;
  run: number;
  started_at: string;
}

/** The ledger file's content. */
export interface LedgerFile {
  format: typeof LEDGER_FORMAT;
  version: 1;
  /** The server id of the agent that wrote it. */
  node: string;
  /** The boot the pids and start times belong to; null where the kernel does not say. */
  boot_id: string | null;
  entries: LedgerEntry[];
  /** Scripts about to be spawned when it was written (absent in ledgers of earlier agents). */
  starting?: StartingEntry[];
}

export const LEDGER_FORMAT = 'flip-script-ledger';

/**
 * Groups whose leader has exited while processes it left behind run on (a script that started a
 * daemon, say), kept beyond the running scripts. They are only reported at the next start, never
 * killed, so forgetting the oldest when there are more costs no safety; the bound keeps the file
 * small even under a script that leaves a process behind on every run.
 */
export const LINGERING_MAX = 8;

/**
 * A ledger file larger than this is not read (a few KiB is usual: each entry is at most about
 * 3 KiB, and there are at most parallel_max + LINGERING_MAX of them).
 */
export const LEDGER_BYTES_MAX = 1024 * 1024;

/** Entries a read ledger may hold; more means it is not ours. */
const ENTRIES_READ_MAX = 4096;

/** How long `recover` waits, at most, for the groups it killed to be gone (ms). */
export const RECOVER_WAIT_MS = 2000;
const RECOVER_POLL_MS = 20;

/** The largest pid Linux gives (PID_MAX_LIMIT on 64-bit). */
const PID_MAX = 4_194_304;

/** What `recover` found and did, for the agent to log. */
export interface Recovery {
  /** Groups of the previous life whose leader still ran: SIGKILLed, and gone. */
  killed: LedgerEntry[];
  /** SIGKILLed, but still there when the wait ended. */
  still_running: LedgerEntry[];
  /** Entries not acted on although a process may be there, with why. */
  left_alone: { entry: LedgerEntry; why: string }[];
  /** Why the ledger file could not be used (it was then ignored); undefined when it could. */
  problem: string | undefined;
  /** The ledger was written before the machine last started: every process in it died then. */
  previous_boot: boolean;
}

export interface ScriptLedgerOptions {
  /** The ledger file; its directory must exist and belong to this agent alone. */
  file: string;
  /** This server's id, written into the file. */
  node: string;
  /** How many scripts may run at once (the runner's parallel_max). */
  running_max: number;
  /** A problem to log: a write that failed, a start time that could not be read. Never throws. */
  onProblem: (message: string, details: Record<string, unknown>) => void;
}

/** A failure to write the ledger, which `recover` reports as a start error. */
export class LedgerWriteError extends Error {
  override name = 'LedgerWriteError';
}

export class ScriptLedger implements ScriptGroupRecorder {
  readonly #file: string;
  readonly #node: string;
  readonly #entries_max: number;
  readonly #onProblem: ScriptLedgerOptions['onProblem'];
  /** By pgid, oldest first. */
  readonly #entries = new Map<number, LedgerEntry>();
  /** Scripts being spawned, by token (between starting and started or notStarted). */
  readonly #starting = new Map<string, StartingEntry>();
  readonly #boot_id = bootId() ?? null;
  #start_time_problem_reported = false;
  /** A write that ended() asked for, due at the next turn of the event loop. */
  #save_soon: NodeJS.Immediate | undefined;

  constructor(options: ScriptLedgerOptions) {
    if (!Number.isInteger(options.running_max) || options.running_max < 1)
      throw new Error('assertion failed: running_max must be >= 1');
    this.#file = options.file;
    this.#node = options.node;
    this.#entries_max = options.running_max + LINGERING_MAX;
    this.#onProblem = options.onProblem;
  }

  get file(): string {
    return this.#file;
  }

  /** The entries now recorded, oldest first. */
  entries(): LedgerEntry[] {
    return [...this.#entries.values()].map((entry) => ({ ...entry }));
  }

  /**
   * Kills what a previous life of this agent left running, then clears the ledger. For every
   * recorded group whose leader still has the recorded start time (in this boot), the whole group
   * gets SIGKILL; then it waits, at most `wait_ms`, until those groups are gone. A ledger that
   * cannot be read or makes no sense is reported and ignored. Throws LedgerWriteError when the
   * cleared ledger cannot be written: a state directory that cannot be written is a start error.
   */
  async recover(options: { wait_ms?: number } = {}): Promise<Recovery> {
    const recovery: Recovery = {
      killed: [],
      still_running: [],
      left_alone: [],
      problem: undefined,
      previous_boot: false,
    };
    const read = readLedger(this.#file);
    if ('problem' in read) recovery.problem = read.problem;
    else if (read.ledger !== undefined && read.ledger.node !== this.#node)
      recovery.problem = `it was written by server ${JSON.stringify(shortenText(read.ledger.node, 50, 50))}`;
    else if (read.ledger !== undefined) await this.#killLeftovers(read.ledger, recovery, options.wait_ms);
    this.#entries.clear();
    this.#starting.clear();
    if (this.#save_soon !== undefined) clearImmediate(this.#save_soon);
    this.#save_soon = undefined;
    try {
      this.#write();
    } catch (error) {
      throw new LedgerWriteError(`cannot write the script ledger ${this.#file}: ${describeError(error)}`);
    }
    return recovery;
  }

  /**
   * Written at once, before the spawn: a script must never run unrecorded, or an agent killed
   * between its spawn and `started` (two fsyncs) would leave it to finish after the next start's
   * clean-up. Costs one more write per script start.
   */
  starting(launch: Launch): string {
    const token = randomBytes(16).toString('hex');
    this.#starting.set(token, {
      token,
      system: launch.system,
      item: shortenText(launch.item, 100, 100),
      event: launch.event,
      run: launch.run,
      started_at: new Date().toISOString(),
    });
    this.#save();
    return token;
  }

  notStarted(token: string): void {
    if (this.#starting.delete(token)) this.#saveSoon();
  }

  started(launch: Launch, pgid: number, token?: string): void {
    if (token !== undefined) this.#starting.delete(token);
    const start_ticks = processStartTicks(pgid);
    if (start_ticks === undefined) {
      // The leader is not reaped before we return to the event loop, so /proc/PID/stat exists on
      // Linux even for a script that has already exited; missing means there is no /proc.
      if (!this.#start_time_problem_reported)
        this.#onProblem(
          'cannot read the start time of a script (no /proc?): scripts of this agent cannot be found after a crash',
          { pid: pgid },
        );
      this.#start_time_problem_reported = true;
      return;
    }
    this.#entries.delete(pgid);
    this.#entries.set(pgid, {
      pgid,
      start_ticks,
      system: launch.system,
      item: shortenText(launch.item, 100, 100),
      event: launch.event,
      run: launch.run,
      state: 'running',
      started_at: new Date().toISOString(),
    });
    this.#bound();
    this.#save();
  }

  /**
   * Written soon rather than at once: an entry whose leader has exited is never killed (a restart
   * checks the leader's start time), so it costs no safety to keep it on disk a moment longer, and
   * the write leaves the path of the next launch (which writes anyway, and takes this along).
   */
  ended(pgid: number, group_gone: boolean): void {
    const entry = this.#entries.get(pgid);
    if (entry === undefined) return;
    if (group_gone) this.#entries.delete(pgid);
    else entry.state = 'lingering';
    this.#bound();
    this.#saveSoon();
  }

  /**
   * Drops lingering groups that are gone, then the oldest lingering ones beyond LINGERING_MAX.
   * Running entries are at most running_max (the runner's bound), so the total stays within
   * running_max + LINGERING_MAX; should that ever fail, the oldest entry goes, with a problem.
   */
  #bound(): void {
    const lingering = [...this.#entries.values()].filter((entry) => entry.state === 'lingering');
    if (lingering.length > 0) {
      // One pass over /proc for all of them; zombies do not count (they may never be reaped).
      const live = liveGroups();
      let kept = lingering.length;
      for (const entry of lingering) {
        if (kept <= LINGERING_MAX && (live === undefined || live.has(entry.pgid))) continue;
        this.#entries.delete(entry.pgid);
        kept -= 1;
      }
    }
    while (this.#entries.size > this.#entries_max) {
      const oldest = this.#entries.values().next().value as LedgerEntry;
      this.#entries.delete(oldest.pgid);
      this.#onProblem('more scripts running than the ledger holds; the oldest is no longer recorded', {
        pid: oldest.pgid,
        system: oldest.system,
        item: oldest.item,
      });
    }
  }

  #saveSoon(): void {
    if (this.#save_soon !== undefined) return;
    this.#save_soon = setImmediate(() => this.#save());
    // A removal not yet written when the agent exits is harmless (see ended).
    this.#save_soon.unref();
  }

  #save(): void {
    if (this.#save_soon !== undefined) clearImmediate(this.#save_soon);
    this.#save_soon = undefined;
    try {
      this.#write();
    } catch (error) {
      // The scripts go on: refusing to run them because of a full disk would be worse. A restart
      // after a SIGKILL may then miss one of them, which is what the log line says.
      this.#onProblem('cannot write the script ledger; a restart after a crash may miss a script', {
        file: this.#file,
        error: describeError(error),
      });
    }
  }

  #write(): void {
    const content: LedgerFile = {
      format: LEDGER_FORMAT,
      version: 1,
      node: this.#node,
      boot_id: this.#boot_id,
      entries: [...this.#entries.values()],
      starting: [...this.#starting.values()],
    };
    writeAtomically(this.#file, `${JSON.stringify(content, null, 1)}\n`);
  }

  async #killLeftovers(ledger: LedgerFile, recovery: Recovery, wait_ms = RECOVER_WAIT_MS): Promise<void> {
    if (ledger.boot_id !== null && this.#boot_id !== null && ledger.boot_id !== this.#boot_id) {
      // The machine has restarted since: every process recorded died with it, and a pid with the
      // same start time now is another process.
      recovery.previous_boot = ledger.entries.length > 0 || (ledger.starting ?? []).length > 0;
      return;
    }
    const killed: LedgerEntry[] = [];
    // Scripts recorded before their spawn: found by the token in their environment. Only the
    // leader of a group is taken as the script (a process that merely inherited the token, its
    // script gone, is left alone, as a lingering group is).
    for (const starting of ledger.starting ?? []) {
      for (const pid of processesWithEnvironment(`${RUN_TOKEN_ENV}=${starting.token}`)) {
        const stat = processStat(pid);
        if (stat === undefined || pid === process.pid) continue;
        const { token: _token, ...fields } = starting;
        const entry: LedgerEntry = { ...fields, pgid: pid, start_ticks: stat.start_ticks, state: 'running' };
        if (stat.pgrp !== pid) {
          recovery.left_alone.push({
            entry: { ...entry, pgid: stat.pgrp },
            why: 'its script has exited and left processes behind; nothing proves the group is still that script',
          });
          continue;
        }
        try {
          process.kill(-pid, 'SIGKILL');
          killed.push(entry);
        } catch (error) {
          const code = errorCode(error);
          if (code !== 'ESRCH')
            recovery.left_alone.push({ entry, why: `SIGKILL failed: ${code ?? describeError(error)}` });
        }
      }
    }
    for (const entry of ledger.entries) {
      const verdict = leftoverVerdict(entry);
      if (verdict.kind === 'gone') continue;
      if (verdict.kind === 'leave') {
        recovery.left_alone.push({ entry, why: verdict.why });
        continue;
      }
      try {
        process.kill(-entry.pgid, 'SIGKILL');
        killed.push(entry);
      } catch (error) {
        const code = errorCode(error);
        if (code !== 'ESRCH')
          recovery.left_alone.push({ entry, why: `SIGKILL failed: ${code ?? describeError(error)}` });
      }
    }
    const deadline = performance.now() + wait_ms;
    let waiting = killed;
    for (;;) {
      waiting = waiting.filter((entry) => groupExists(entry.pgid));
      if (waiting.length === 0 || performance.now() >= deadline) break;
      await sleep(Math.min(RECOVER_POLL_MS, Math.max(1, deadline - performance.now())));
    }
    recovery.still_running.push(...waiting);
    recovery.killed.push(...killed.filter((entry) => !waiting.includes(entry)));
  }
}

/** What to do with a recorded group at start: kill it, leave it (saying why), or nothing is there. */
export type LeftoverVerdict = { kind: 'kill' } | { kind: 'leave'; why: string } | { kind: 'gone' };

/**
 * Whether the group of `entry` is still the previous life's script, to be killed: only when its
 * leader is there with the recorded start time and still leads the group. Never this process.
 */
export function leftoverVerdict(entry: LedgerEntry): LeftoverVerdict {
  if (entry.pgid === process.pid) return { kind: 'leave', why: 'it is this agent' };
  const leader = processStat(entry.pgid);
  if (leader === undefined) {
    return groupExists(entry.pgid)
      ? {
          kind: 'leave',
          why: 'its script has exited and left processes behind; nothing proves the group is still that script',
        }
      : { kind: 'gone' };
  }
  if (leader.start_ticks !== entry.start_ticks)
    return { kind: 'leave', why: 'its pid now names another process (started at another time)' };
  if (leader.pgrp !== entry.pgid) return { kind: 'leave', why: 'its process no longer leads the group' };
  return { kind: 'kill' };
}

/**
 * The ledger at `file`: undefined when there is none, or why it cannot be used. Refuses a file
 * that is not a regular file, is larger than LEDGER_BYTES_MAX, or does not hold a valid ledger.
 */
export function readLedger(file: string): { ledger: LedgerFile | undefined } | { problem: string } {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { problem: 'it is not a regular file' };
    if (stats.size > LEDGER_BYTES_MAX)
      return { problem: `it is ${stats.size} bytes; a ledger is at most ${LEDGER_BYTES_MAX}` };
    const buffer = Buffer.alloc(stats.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const got = readSync(fd, buffer, length, buffer.length - length, null);
      if (got === 0) break;
      length += got;
    }
    if (length > LEDGER_BYTES_MAX) return { problem: `it is larger than ${LEDGER_BYTES_MAX} bytes` };
    text = buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { ledger: undefined };
    if (errorCode(error) === 'ELOOP') return { problem: 'it is a symbolic link' };
    return { problem: `cannot read it: ${describeError(error)}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseLedger(text);
}

/** The ledger in `text`, or why it is not one. Every field is checked: a kill is at stake. */
export function parseLedger(text: string): { ledger: LedgerFile } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `it is not JSON (${describeError(error)})` };
  }
  if (!isObject(value)) return { problem: 'it is not a JSON object' };
  if (value.format !== LEDGER_FORMAT || value.version !== 1)
    return { problem: `it is not a ${LEDGER_FORMAT} of version 1` };
  if (typeof value.node !== 'string') return { problem: 'its node is not a string' };
  if (value.boot_id !== null && typeof value.boot_id !== 'string')
    return { problem: 'its boot_id is neither a string nor null' };
  if (!Array.isArray(value.entries)) return { problem: 'its entries are not a list' };
  if (value.entries.length > ENTRIES_READ_MAX)
    return { problem: `it lists ${value.entries.length} entries; at most ${ENTRIES_READ_MAX}` };
  const entries: LedgerEntry[] = [];
  for (const [i, raw] of value.entries.entries()) {
    const entry = parseEntry(raw);
    if (entry === undefined) return { problem: `its entry [${i}] is not a valid entry` };
    entries.push(entry);
  }
  const starting: StartingEntry[] = [];
  if (value.starting !== undefined) {
    if (!Array.isArray(value.starting)) return { problem: 'its starting entries are not a list' };
    if (value.starting.length > ENTRIES_READ_MAX)
      return { problem: `it lists ${value.starting.length} starting entries; at most ${ENTRIES_READ_MAX}` };
    for (const [i, raw] of value.starting.entries()) {
      const entry = parseStarting(raw);
      if (entry === undefined) return { problem: `its starting entry [${i}] is not a valid entry` };
      starting.push(entry);
    }
  }
  return {
    ledger: {
      format: LEDGER_FORMAT,
      version: 1,
      node: value.node,
      boot_id: value.boot_id,
      entries,
      starting,
    },
  };
}

function parseStarting(raw: unknown): StartingEntry | undefined {
  if (!isObject(raw)) return undefined;
  const { token, system, item, event, run, started_at } = raw;
  if (typeof token !== 'string' || !/^[0-9a-f]{32}$/.test(token)) return undefined;
  if (typeof system !== 'string' || typeof item !== 'string') return undefined;
  if (event !== 'alive' && event !== 'down') return undefined;
  if (typeof run !== 'number' || !Number.isSafeInteger(run)) return undefined;
  if (typeof started_at !== 'string') return undefined;
  return { token, system, item, event, run, started_at };
}

function parseEntry(raw: unknown): LedgerEntry | undefined {
  if (!isObject(raw)) return undefined;
  const { pgid, start_ticks, system, item, event, run, state, started_at } = raw;
  // Group 1 is init's, and 0 or a negative number would signal this agent's own group or all.
  if (typeof pgid !== 'number' || !Number.isInteger(pgid) || pgid < 2 || pgid > PID_MAX) return undefined;
  if (typeof start_ticks !== 'string' || !/^\d{1,20}$/.test(start_ticks)) return undefined;
  if (typeof system !== 'string' || typeof item !== 'string') return undefined;
  if (event !== 'alive' && event !== 'down') return undefined;
  if (typeof run !== 'number' || !Number.isSafeInteger(run)) return undefined;
  if (state !== 'running' && state !== 'lingering') return undefined;
  if (typeof started_at !== 'string') return undefined;
  return { pgid, start_ticks, system, item, event, run, state, started_at };
}

/**
 * Replaces `file` with `text` so that a reader (or the next start after a power cut) finds the old
 * content or the new, never a mix: a temporary file beside it is written and fsynced, renamed over
 * it, and the directory fsynced so that the rename itself is on disk.
 */
export function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
