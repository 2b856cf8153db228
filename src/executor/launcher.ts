/**
 * Runs one script for the runner as a child process, and checks scripts at agent start.
 *
 * No shell is involved: the item and the config reach the script as literal arguments, whatever
 * characters they contain. Each script runs in its own process group (a new session), so a
 * timeout can end the script together with everything it started. Output is captured bounded.
 * Nothing here throws for a failing script: every outcome is a RunResult.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { Launch, RunResult } from './runner.js';

export interface LaunchOptions {
  /** Working directory of the script; the agent's when absent. */
  cwd?: string;
  /** Output (stdout and stderr together) kept per run; the rest is counted and dropped. */
  output_bytes_max?: number;
  /** After a timeout's SIGTERM, how long the group gets before SIGKILL. */
  kill_grace_ms?: number;
  /**
   * After the script exits, how long to wait for its output pipes to close. A background process
   * it left behind may hold them open for ever; its output after that is not waited for.
   */
  close_wait_ms?: number;
}

export const LAUNCH_DEFAULTS = {
  /** Enough for any sane script's diagnostics, small enough to keep in notes and logs. */
  output_bytes_max: 64 * 1024,
  /** Time for a script to undo half-done work on SIGTERM before it is killed outright. */
  kill_grace_ms: 2000,
  /** Pipes normally close within a millisecond of exit; this only bounds the unusual case. */
  close_wait_ms: 250,
} as const;

/** Runs `launch` and resolves with how it ended. Never rejects. */
export function launchScript(launch: Launch, options: LaunchOptions = {}): Promise<RunResult> {
  const output_bytes_max = options.output_bytes_max ?? LAUNCH_DEFAULTS.output_bytes_max;
  const kill_grace_ms = options.kill_grace_ms ?? LAUNCH_DEFAULTS.kill_grace_ms;
  const close_wait_ms = options.close_wait_ms ?? LAUNCH_DEFAULTS.close_wait_ms;
  const started_ms = performance.now();
  const elapsed = () => Math.round(performance.now() - started_ms);

  return new Promise<RunResult>((done) => {
    const notStarted = (error: unknown): void =>
      done({
        run: launch.run,
        ok: false,
        exit_code: null,
        signal: null,
        timed_out: false,
        duration_ms: elapsed(),
        output: startErrorMessage(launch.script, options.cwd, error),
      });

    let child: ChildProcess;
    try {
      child = spawn(launch.script, launch.args, {
        cwd: options.cwd,
        shell: false,
        detached: true,
        env: { ...process.env, ...launch.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // spawn throws for arguments it cannot pass at all, such as a NUL byte in the item.
      notStarted(error);
      return;
    }

    const output = new BoundedOutput(output_bytes_max);
    child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));

    let settled = false;
    let exited = false;
    let closed = false;
    let close_wait_over = false;
    let timed_out = false;
    let group_gone = false;
    let exit_code: number | null = null;
    let signal: string | null = null;
    let timeout_timer: NodeJS.Timeout | undefined;
    let kill_timer: NodeJS.Timeout | undefined;
    let close_timer: NodeJS.Timeout | undefined;
    let poll_timer: NodeJS.Timeout | undefined;
    const pid = child.pid;

    const settle = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout_timer);
      clearTimeout(kill_timer);
      clearTimeout(close_timer);
      clearTimeout(poll_timer);
      done(result);
    };

    const startCloseWait = (): void => {
      if (close_timer !== undefined) return;
      close_timer = setTimeout(() => {
        close_wait_over = true;
        maybeFinish();
      }, close_wait_ms);
    };

    const maybeFinish = (): void => {
      if (settled || !exited) return;
      if (timed_out && !group_gone) {
        // After a timeout the result waits until the whole group is gone, so that a retry never
        // runs beside leftovers of the attempt it replaces. The group is polled because nothing
        // signals the death of the leader's children; the SIGKILL deadline bounds the wait.
        if (pid !== undefined && groupExists(pid)) {
          if (poll_timer === undefined) {
            poll_timer = setTimeout(() => {
              poll_timer = undefined;
              maybeFinish();
            }, GROUP_POLL_MS);
          }
          return;
        }
        group_gone = true;
        clearTimeout(kill_timer);
      }
      startCloseWait();
      if (!closed && !close_wait_over) return;
      settle({
        run: launch.run,
        ok: !timed_out && exit_code === 0,
        exit_code,
        signal,
        timed_out,
        duration_ms: elapsed(),
        output: output.text(),
      });
    };

    child.on('error', (error) => {
      // 'error' without a pid means the script never started (ENOENT, EACCES...). Errors after a
      // start (a failed kill) change nothing: exit and close still come.
      if (pid !== undefined || settled) return;
      settled = true;
      notStarted(error);
    });

    if (pid === undefined) return;

    child.on('exit', (code, exit_signal) => {
      exited = true;
      exit_code = code;
      signal = exit_signal;
      clearTimeout(timeout_timer);
      maybeFinish();
    });
    child.on('close', () => {
      closed = true;
      maybeFinish();
    });

    timeout_timer = setTimeout(() => {
      timed_out = true;
      signalGroup(pid, child, 'SIGTERM');
      kill_timer = setTimeout(() => {
        signalGroup(pid, child, 'SIGKILL');
        group_gone = true;
        maybeFinish();
      }, kill_grace_ms);
    }, launch.timeout_ms);
  });
}

/** How often to look whether a timed-out script's process group is gone. */
const GROUP_POLL_MS = 50;

/** Sends `signal` to the script's process group; falls back to the leader alone. */
function signalGroup(pid: number, child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if (errorCode(error) !== 'ESRCH') child.kill(signal);
  }
}

/**
 * Whether any process of the group `pgid` is still alive. kill(-pgid, 0) also counts zombies,
 * which linger until their new parent reaps them (slowly, under some container inits), so on
 * Linux /proc decides whether a member is more than a zombie.
 */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  const wanted = String(pgid);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after the command name, which may itself contain spaces and parentheses:
    // state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === wanted && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

function startErrorMessage(script: string, cwd: string | undefined, error: unknown): string {
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
      return cwd === undefined
        ? `cannot start script "${script}": not found (ENOENT)`
        : `cannot start script "${script}": not found (ENOENT), or the working directory "${cwd}" does not exist`;
    case 'EACCES':
      return `cannot start script "${script}": permission denied (EACCES); is it an executable file?`;
    default:
      return `cannot start script "${script}": ${detail}`;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Keeps the first `bytes_max` bytes of a stream and counts the rest. */
class BoundedOutput {
  readonly #bytes_max: number;
  readonly #chunks: Buffer[] = [];
  #bytes_kept = 0;
  #bytes_total = 0;

  constructor(bytes_max: number) {
    this.#bytes_max = bytes_max;
  }

  add(chunk: Buffer): void {
    this.#bytes_total += chunk.length;
    const room = this.#bytes_max - this.#bytes_kept;
    if (room <= 0) return;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(Buffer.from(kept));
    this.#bytes_kept += kept.length;
  }

  text(): string {
    const text = Buffer.concat(this.#chunks).toString('utf8');
    if (this.#bytes_total <= this.#bytes_kept) return text;
    return `${text}\n[output truncated: kept the first ${this.#bytes_kept} of ${this.#bytes_total} bytes]`;
  }
}

/**
 * Where the agent will run `script` from: a path with a `/` is relative to the config file's
 * directory (an absolute one stays as it is); a bare name stays bare, for spawn to find on PATH.
 */
export function resolveScript(script: string, configDir: string): string {
  return script.includes('/') ? resolve(configDir, script) : script;
}

/**
 * Why `script` cannot run, or undefined when it can: used at agent start to refuse a config whose
 * scripts are missing or not executable. Bare names are looked up on `pathEnv` (PATH).
 */
export function checkScript(
  script: string,
  configDir: string,
  pathEnv: string | undefined = process.env.PATH,
): string | undefined {
  if (script === '') return 'the script name is empty';
  if (script.includes('/')) {
    const path = resolveScript(script, configDir);
    const shown = path === script ? `"${script}"` : `"${script}" (${path})`;
    const kind = fileKind(path);
    if (kind === 'missing') return `script ${shown} does not exist`;
    if (kind === 'other') return `script ${shown} is not a regular file`;
    if (!isExecutable(path)) return `script ${shown} is not executable (chmod +x)`;
    return undefined;
  }
  // An empty PATH entry would mean the current directory; the agent does not run scripts from it.
  const dirs = (pathEnv ?? '').split(delimiter).filter((dir) => dir !== '');
  let not_executable: string | undefined;
  for (const dir of dirs) {
    const path = join(dir, script);
    if (fileKind(path) !== 'file') continue;
    if (isExecutable(path)) return undefined;
    not_executable ??= path;
  }
  if (not_executable !== undefined)
    return `script "${script}" found on PATH at ${not_executable} is not executable`;
  return `script "${script}" was not found on PATH`;
}

function fileKind(path: string): 'file' | 'other' | 'missing' {
  try {
    return statSync(path).isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
