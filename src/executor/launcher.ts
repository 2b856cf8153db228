/**
 * Runs one script for the runner as a child process, and checks scripts at agent start.
 *
 * No shell is involved: the item and the config reach the script as literal arguments, whatever
 * characters they contain. Each script runs in its own process group (a new session), so a
 * timeout can end the script together with everything it started. Its stdout and stderr are
 * captured apart, each bounded to its head and tail (see captured-output.ts). Nothing here throws
 * for a failing script: every outcome is a RunResult.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { setTimer } from '../time/timer.js';
import { CapturedOutput } from './captured-output.js';
import { errorCode, groupExists } from './process-groups.js';
import { RUN_TOKEN_ENV, type ScriptGroupRecorder } from './script-ledger.js';
import { scriptPath } from './script-path.js';
import type { Launch, RunResult } from './types.js';

// Still importable from here, beside signalGroup and startErrorMessage, for the lease keeper,
// which runs its program in a process group as the launcher does; it lives in process-groups.ts.
export { groupExists } from './process-groups.js';

export interface LaunchOptions {
  /** Working directory of the script; the agent's when absent. */
  cwd?: string;
  /**
   * Output kept per stream and run, for stdout and for stderr each: its first and its last half.
   * The middle is counted, dropped and noted in the text.
   */
  output_bytes_max?: number;
  /** After a timeout's SIGTERM, how long the group gets before SIGKILL. */
  kill_grace_ms?: number;
  /**
   * After the script exits, how long to wait for its output pipes to close. A background process
   * it left behind may hold them open for ever; its output after that is not waited for.
   */
  close_wait_ms?: number;
  /**
   * Told of each script's process group as soon as it is spawned, and again when its leader has
   * exited (see script-ledger.ts): what a restart after a SIGKILL needs to kill the scripts left.
   */
  recorder?: ScriptGroupRecorder;
}

export const LAUNCH_DEFAULTS = {
  /**
   * Per stream, so 64 KiB for both: enough for any sane script's diagnostics, small enough to keep
   * in notes and logs. Each keeps its first and last 16 KiB, where the start and the error are.
   */
  output_bytes_max: 32 * 1024,
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
        stdout: '',
        stderr: startErrorMessage(
          launch.script,
          options.cwd,
          scriptPath(launch.env.PATH ?? process.env.PATH),
          error,
        ),
      });

    // Recorded before it can run (see ScriptGroupRecorder.starting); its token rides in its
    // environment, where the next start of the agent looks for it.
    const token = options.recorder?.starting(launch);
    const tokenEnv = token === undefined ? {} : { [RUN_TOKEN_ENV]: token };
    let child: ChildProcess;
    try {
      child = spawn(launch.script, launch.args, {
        cwd: options.cwd,
        shell: false,
        detached: true,
        env: {
          ...process.env,
          ...launch.env,
          PATH: scriptPath(launch.env.PATH ?? process.env.PATH),
          ...tokenEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      // spawn throws for arguments it cannot pass at all, such as a NUL byte in the item.
      if (token !== undefined) options.recorder?.notStarted(token);
      notStarted(error);
      return;
    }

    const stdout = new CapturedOutput(output_bytes_max);
    const stderr = new CapturedOutput(output_bytes_max);
    child.stdout?.on('data', (chunk: Buffer) => stdout.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.add(chunk));

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
    /** When the group was sent SIGKILL (performance.now()), if it was. */
    let sigkilled_ms: number | undefined;
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
        // signals the death of the leader's children. SIGKILL at the deadline ends them, though
        // not at the very instant it is sent; KILLED_WAIT_MS bounds the wait for one stuck in
        // the kernel.
        const waited_out = sigkilled_ms !== undefined && performance.now() - sigkilled_ms >= KILLED_WAIT_MS;
        if (pid !== undefined && !waited_out && groupExists(pid)) {
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
      // The leader has exited and been reaped; processes it left behind may keep its group.
      if (pid !== undefined) options.recorder?.ended(pid, group_gone || !groupExists(pid));
      settle({
        run: launch.run,
        ok: !timed_out && exit_code === 0,
        exit_code,
        signal,
        timed_out,
        duration_ms: elapsed(),
        stdout: stdout.text(),
        stderr: stderr.text(),
      });
    };

    child.on('error', (error) => {
      // 'error' without a pid means the script never started (ENOENT, EACCES...). Errors after a
      // start (a failed kill) change nothing: exit and close still come.
      if (pid !== undefined || settled) return;
      settled = true;
      if (token !== undefined) options.recorder?.notStarted(token);
      notStarted(error);
    });

    if (pid === undefined) return;
    // Recorded before the first turn of the event loop: the leader cannot have been reaped yet,
    // so its /proc entry (and start time) is there even if it has already exited.
    options.recorder?.started(launch, pid, token);

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

    // The config bounds script_timeout far below Node's timer range; setTimer keeps it so.
    timeout_timer = setTimer(() => {
      timed_out = true;
      signalGroup(pid, child, 'SIGTERM');
      kill_timer = setTimeout(() => {
        signalGroup(pid, child, 'SIGKILL');
        sigkilled_ms = performance.now();
        maybeFinish();
      }, kill_grace_ms);
    }, launch.timeout_ms);
  });
}

/** How often to look whether a timed-out script's process group is gone. */
const GROUP_POLL_MS = 50;
/**
 * How long a group sent SIGKILL may take to be gone before the result comes anyway: a killed
 * process exits within milliseconds unless it is stuck in the kernel (an NFS or device wait).
 */
const KILLED_WAIT_MS = 1000;

/** Sends `signal` to the script's process group; falls back to the leader alone. */
export function signalGroup(pid: number, child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if (errorCode(error) !== 'ESRCH') child.kill(signal);
  }
}

/**
 * Why the script did not start, for its stderr. spawn's ENOENT and EACCES name no culprit, and the
 * usual ones are not the script itself: a #! interpreter that is missing, a missing working
 * directory, a file system mounted noexec. So the files are looked at again to name the real one.
 */
export function startErrorMessage(
  script: string,
  cwd: string | undefined,
  pathEnv: string | undefined,
  error: unknown,
): string {
  const code = errorCode(error);
  const start = `cannot start script "${script}"`;
  if (code !== 'ENOENT' && code !== 'EACCES')
    return `${start}: ${error instanceof Error ? error.message : String(error)}`;
  const cwd_kind = cwd === undefined ? 'directory' : fileKind(cwd);
  if (cwd_kind === 'missing') return `${start}: its working directory "${cwd}" does not exist`;
  if (cwd_kind !== 'directory') return `${start}: its working directory "${cwd}" is not a directory`;
  const dir = cwd ?? process.cwd();
  const path = script.includes('/') ? resolve(dir, script) : findOnPath(script, pathEnv);
  const kind = path === undefined ? 'missing' : fileKind(path);
  if (path === undefined || kind === 'missing')
    return code === 'ENOENT'
      ? `${start}: not found (ENOENT)`
      : `${start}: permission denied (EACCES); is a directory on its path not searchable?`;
  if (kind !== 'file') return `${start}: permission denied (EACCES): it is not a regular file`;
  if (!isExecutable(path)) return `${start}: permission denied (EACCES): it is not executable (chmod +x)`;
  const problem = interpreterProblem(path, dir, pathEnv);
  if (problem !== undefined) return `${start}: ${problem}`;
  return code === 'ENOENT'
    ? `${start}: not found (ENOENT), although the file exists; if it is a program, its loader (ELF interpreter) may be missing`
    : `${start}: permission denied (EACCES), although the file is executable; is its file system mounted noexec?`;
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
 * scripts are missing, not executable or name a #! interpreter that cannot run. `pathEnv` is the
 * PATH the scripts run with: bare script names, and the programs of `#!/usr/bin/env NAME`, are
 * looked up on it. Scripts run from `configDir`, so a relative interpreter is taken from there.
 */
export function checkScript(
  script: string,
  configDir: string,
  pathEnv: string | undefined = scriptPath(),
): string | undefined {
  return scriptProblem(script, configDir, pathEnv)?.message;
}

/**
 * What keeps a script from running: the script itself (missing, not a file, not executable), or
 * its #! interpreter, which is a property of the host it runs on rather than of the file.
 */
export interface ScriptProblem {
  kind: 'script' | 'interpreter';
  message: string;
}

/** checkScript, saying which kind of problem it found. */
export function scriptProblem(
  script: string,
  configDir: string,
  pathEnv: string | undefined = scriptPath(),
): ScriptProblem | undefined {
  const bad = (message: string): ScriptProblem => ({ kind: 'script', message });
  if (script === '') return bad('the script name is empty');
  let path: string;
  let shown: string;
  if (script.includes('/')) {
    path = resolveScript(script, configDir);
    shown = path === script ? `"${script}"` : `"${script}" (${path})`;
    const kind = fileKind(path);
    if (kind === 'missing') return bad(`script ${shown} does not exist`);
    if (kind !== 'file') return bad(`script ${shown} is not a regular file`);
    if (!isExecutable(path)) return bad(`script ${shown} is not executable (chmod +x)`);
  } else {
    const found = findOnPath(script, pathEnv);
    if (found === undefined) return bad(`script "${script}" was not found on PATH`);
    path = found;
    shown = `"${script}" found on PATH at ${path}`;
    if (!isExecutable(path)) return bad(`script ${shown} is not executable`);
  }
  const problem = interpreterProblem(path, configDir, pathEnv);
  return problem === undefined ? undefined : { kind: 'interpreter', message: `script ${shown}: ${problem}` };
}

/**
 * Where a bare `name` is on `pathEnv`: the first executable regular file, else the first regular
 * file (to say it is not executable), else undefined.
 */
function findOnPath(name: string, pathEnv: string | undefined): string | undefined {
  // An empty PATH entry would mean the current directory; the agent does not run scripts from it.
  const dirs = (pathEnv ?? '').split(delimiter).filter((dir) => dir !== '');
  let not_executable: string | undefined;
  for (const dir of dirs) {
    const path = join(dir, name);
    if (fileKind(path) !== 'file') continue;
    if (isExecutable(path)) return path;
    not_executable ??= path;
  }
  return not_executable;
}

/** The kernel reads no more of a #! line than this (BINPRM_BUF_SIZE), newline included. */
const SHEBANG_BYTES_MAX = 256;

/**
 * What keeps the #! interpreter of the executable file at `path` from running, or undefined when
 * the file has no #! line or its interpreter looks fine. The line is split as Linux does: the
 * interpreter up to the first space or tab, then at most one argument, the rest of the line. For
 * `/usr/bin/env NAME` the interpreter proper is NAME, looked up on `pathEnv`. Relative paths are
 * taken from `dir`, where the script runs.
 */
function interpreterProblem(path: string, dir: string, pathEnv: string | undefined): string | undefined {
  const line = shebangLine(path);
  if (line === undefined) return undefined;
  // Only spaces and tabs are trimmed, as by the kernel: a carriage return stays part of the line.
  const body = line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  if (body === '') return 'its #! line names no interpreter';
  const space = body.search(/[ \t]/);
  const interpreter = space === -1 ? body : body.slice(0, space);
  const argument = space === -1 ? '' : body.slice(space).replace(/^[ \t]+/, '');
  const crlf = line.endsWith('\r')
    ? ': the #! line ends with a carriage return (CRLF line endings; convert the file to LF)'
    : '';
  const problem = fileProblem(resolve(dir, interpreter));
  if (problem !== undefined)
    return `its interpreter ${JSON.stringify(interpreter)} (from the #! line) ${problem}${crlf}`;
  if (basename(interpreter) !== 'env') return undefined;

  const name = envCommand(argument);
  if (name === undefined) return undefined;
  if (name === '') return `its #! line runs ${interpreter} without naming a program`;
  const via = `(from the #! line, run by ${interpreter})`;
  if (name.includes('/')) {
    const name_problem = fileProblem(resolve(dir, name));
    return name_problem === undefined
      ? undefined
      : `its interpreter ${JSON.stringify(name)} ${via} ${name_problem}${crlf}`;
  }
  const found = findOnPath(name, pathEnv);
  if (found !== undefined && isExecutable(found)) return undefined;
  // Linux passes the rest of the line as ONE argument: `env bash -e` looks for "bash -e".
  const one_argument =
    crlf === '' && /[ \t]/.test(name)
      ? `: everything after ${interpreter} is one argument (use "env -S" to pass several)`
      : '';
  const not_found =
    found === undefined ? 'was not found on PATH' : `found on PATH at ${found} is not executable`;
  return `its interpreter ${JSON.stringify(name)} ${via} ${not_found}${crlf}${one_argument}`;
}

/**
 * The program that `env` runs given `argument`, its one argument from a #! line: '' when it names
 * none, undefined when the options are more than this check understands (it then stays quiet).
 */
function envCommand(argument: string): string | undefined {
  if (!argument.startsWith('-')) return argument.includes('=') ? '' : argument;
  if (!argument.startsWith('-S')) return undefined;
  const words = argument
    .slice(2)
    .split(/[ \t]+/)
    .filter((word) => word !== '');
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    // Quotes, escapes and ${VAR} in -S are env's own language; guessing it wrong would be worse.
    if (/["'\\$]/.test(word)) return undefined;
    if (['-u', '--unset', '-C', '--chdir'].includes(word)) i++;
    else if (word === '--') return words[i + 1] ?? '';
    else if (!word.startsWith('-') && !word.includes('=')) return word;
  }
  return '';
}

/** The #! line of the file at `path` without the `#!` and the newline, or undefined if it has none. */
function shebangLine(path: string): string | undefined {
  const bytes = Buffer.alloc(SHEBANG_BYTES_MAX);
  let length: number;
  try {
    const fd = openSync(path, 'r');
    try {
      length = readSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Unreadable (an execute-only file, say): nothing to learn from it.
    return undefined;
  }
  if (length < 2 || bytes[0] !== 0x23 || bytes[1] !== 0x21) return undefined;
  const newline = bytes.subarray(0, length).indexOf(0x0a);
  // The kernel ends the interpreter's name at a NUL, too.
  const line = bytes.subarray(2, newline === -1 ? length : newline).toString('utf8');
  const nul = line.indexOf('\0');
  return nul === -1 ? line : line.slice(0, nul);
}

/** Why the file at `path` cannot be run, as the end of a sentence; undefined when it can. */
function fileProblem(path: string): string | undefined {
  const kind = fileKind(path);
  if (kind === 'missing') return 'does not exist';
  if (kind !== 'file') return 'is not a regular file';
  if (!isExecutable(path)) return 'is not executable';
  return undefined;
}

function fileKind(path: string): 'file' | 'directory' | 'other' | 'missing' {
  try {
    const stats = statSync(path);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
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
