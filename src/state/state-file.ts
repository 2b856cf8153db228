/**
 * A state file: one document kept across restarts and power cuts in a file of its own (format:
 * envelope.ts), so that a reader finds the last document saved in full, or the one before it,
 * never a mix, and a file damaged on disk is found and named, never half-read.
 *
 * A save writes `<file>.tmp` beside the file (mode 0600), fsyncs it, renames it over the file,
 * then fsyncs the directory so that the rename itself is on disk: after a crash at any point the
 * file is the old document or the new one, and at worst a `.tmp` is left over, which the next
 * load removes. Saves from one process are written one at a time, in order; a save asked for
 * while one is being written waits, and when several wait only the last is written (each of
 * them then resolves: a later document supersedes an earlier one). At most one write runs and
 * one waits, however fast saves are asked for.
 *
 * One StateFile per file in a process, and one process per state directory (the agent holds its
 * server's port before it opens its state, see agent/previous-life.ts): a second writer would
 * share the `.tmp` file. The first save makes the directory when it is missing, mode 0700 as the
 * agent's state directory (agent/state-dir.ts), and refuses one that is a symbolic link, is not
 * this user's or is open to others: the state decides what this server votes and applies.
 */
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DocumentCheck } from './document-check.js';
import { decodeState, encodeState } from './envelope.js';

/**
 * What a load found. `temp_removed` says that a `.tmp` file was there (a save cut short by a
 * crash) and was removed; it is worth a log line, never an error.
 */
export type StateLoad<T> =
  | { kind: 'missing'; path: string; temp_removed: boolean }
  | { kind: 'ok'; doc: T; path: string; temp_removed: boolean }
  | { kind: 'corrupt'; reason: string; path: string; temp_removed: boolean };

/**
 * A state file that cannot be read or written for a reason other than its content: permission
 * denied, a read-only or full disk, an I/O error. The message names the file and the reason.
 */
export class StateFileError extends Error {
  override name = 'StateFileError';
}

export interface StateFileOptions<T> {
  /** The file; its directory is made at the first save when missing. */
  path: string;
  /** The document's kind, written in the header: lowercase letters, digits and `-`. */
  kind: string;
  /** Checks a loaded document's shape; a failure makes the load `corrupt` with its message. */
  check: DocumentCheck<T>;
  /** Larger files are neither written nor read (bytes, header included). */
  bytes_max?: number;
}

/**
 * The default bound on a state file: the cluster state holds up to two configs (each at most
 * CONFIG_FILE_BYTES_MAX, 8 MiB) and the log not yet compacted into them.
 */
export const STATE_FILE_BYTES_MAX = 32 * 1024 * 1024;

/** A waiting save: the bytes to write and everyone waiting for them (or for later bytes). */
interface PendingSave {
  bytes: Buffer;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

export class StateFile<T> {
  readonly path: string;
  readonly kind: string;
  readonly #temp: string;
  readonly #check: DocumentCheck<T>;
  readonly #bytes_max: number;
  #dir_ready = false;
  #writing = false;
  #pending: PendingSave | undefined;
  #writes = 0;
  /** A load's removal of a leftover `.tmp`, while it runs. */
  #cleaning: Promise<boolean> | undefined;
  /** The write loop now running, when one is. */
  #drained: Promise<void> = Promise.resolve();

  constructor(options: StateFileOptions<T>) {
    this.path = options.path;
    this.kind = options.kind;
    this.#temp = `${options.path}.tmp`;
    this.#check = options.check;
    this.#bytes_max = options.bytes_max ?? STATE_FILE_BYTES_MAX;
    if (!Number.isSafeInteger(this.#bytes_max) || this.#bytes_max < 1)
      throw new Error('assertion failed: bytes_max must be a positive whole number');
  }

  /**
   * Saves `doc` as it is now (it is serialised before this returns, so the caller may change it
   * afterwards). Resolves once `doc`, or a document saved after it, is on disk; rejects with a
   * StateFileError when the write fails (the file then still holds the last document written).
   */
  save(doc: T): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = encodeState(this.kind, doc);
    } catch (error) {
      return Promise.reject(error);
    }
    if (bytes.length > this.#bytes_max)
      return Promise.reject(
        new StateFileError(
          `cannot save ${this.path}: the ${this.kind} is ${bytes.length} bytes; at most ${this.#bytes_max}`,
        ),
      );
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#pending === undefined) this.#pending = { bytes, waiters: [waiter] };
      else {
        this.#pending.bytes = bytes;
        this.#pending.waiters.push(waiter);
      }
      if (!this.#writing) this.#drained = this.#drain();
    });
  }

  /**
   * Reads the file: `missing` when there is none, `ok` with the checked document, or `corrupt`
   * with what is wrong (never a throw for bad content). A `.tmp` left by a save cut short is
   * removed, unless a save of this StateFile is being written. Throws a StateFileError only when
   * the file is there but cannot be read (permission denied, an I/O error).
   */
  async load(): Promise<StateLoad<T>> {
    let temp_removed = false;
    if (!this.#writing && this.#cleaning === undefined) {
      // A write that starts meanwhile waits for this removal (see #write): it must not lose its own.
      this.#cleaning = this.#removeTemp();
      try {
        temp_removed = await this.#cleaning;
      } finally {
        this.#cleaning = undefined;
      }
    }
    const where = { path: this.path, temp_removed };
    const read = await this.#read();
    if (read.kind === 'missing') return { kind: 'missing', ...where };
    if (read.kind === 'corrupt') return { kind: 'corrupt', reason: read.reason, ...where };
    const decoded = decodeState(read.bytes, this.kind, this.#check);
    if (!decoded.ok) return { kind: 'corrupt', reason: decoded.reason, ...where };
    return { kind: 'ok', doc: decoded.doc, ...where };
  }

  /** Whether a save is being written now. */
  get writing(): boolean {
    return this.#writing;
  }

  /** Writes completed since this StateFile was made (fewer than saves when saves coalesce). */
  get writes(): number {
    return this.#writes;
  }

  /** Resolves once no save is being written or waiting (whether the last one failed or not). */
  idle(): Promise<void> {
    // The loop writes what is asked for while it runs, so its end is the end of every save.
    return this.#drained;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending !== undefined) {
        const batch = this.#pending;
        this.#pending = undefined;
        try {
          await this.#write(batch.bytes);
          this.#writes += 1;
          for (const waiter of batch.waiters) waiter.resolve();
        } catch (error) {
          const failure =
            error instanceof StateFileError
              ? error
              : new StateFileError(`cannot save ${this.path}: ${describeError(error)}`);
          for (const waiter of batch.waiters) waiter.reject(failure);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  async #write(bytes: Buffer): Promise<void> {
    if (!this.#dir_ready) {
      await ensurePrivateDirectory(dirname(this.path));
      this.#dir_ready = true;
    }
    if (this.#cleaning !== undefined) await this.#cleaning;
    // O_EXCL after the unlink: a `.tmp` someone else made (with other modes) is never written into.
    await this.#removeTemp();
    let file: FileHandle | undefined;
    try {
      file = await open(
        this.#temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      await file.writeFile(bytes);
      await file.sync();
      await file.close();
      file = undefined;
      await rename(this.#temp, this.path);
    } catch (error) {
      await file?.close().catch(() => undefined);
      await this.#removeTemp();
      throw error;
    }
    await syncDirectory(dirname(this.path));
  }

  /** Removes the `.tmp` file; whether there was one. A failure is left to the next write to report. */
  async #removeTemp(): Promise<boolean> {
    try {
      await unlink(this.#temp);
      return true;
    } catch {
      return false;
    }
  }

  async #read(): Promise<
    { kind: 'missing' } | { kind: 'corrupt'; reason: string } | { kind: 'read'; bytes: Buffer }
  > {
    let file: FileHandle | undefined;
    try {
      file = await open(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const stats = await file.stat();
      if (!stats.isFile()) return { kind: 'corrupt', reason: 'it is not a regular file' };
      if (stats.size > this.#bytes_max)
        return {
          kind: 'corrupt',
          reason: `it is ${stats.size} bytes; a ${this.kind} is at most ${this.#bytes_max}`,
        };
      // One byte more than the size, to see a file that grew since the stat.
      const buffer = Buffer.alloc(stats.size + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > this.#bytes_max)
        return { kind: 'corrupt', reason: `it is larger than ${this.#bytes_max} bytes` };
      return { kind: 'read', bytes: buffer.subarray(0, length) };
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return { kind: 'missing' };
      if (code === 'ELOOP') return { kind: 'corrupt', reason: 'it is a symbolic link' };
      throw new StateFileError(`cannot read ${this.path}: ${describeError(error)}`);
    } finally {
      await file?.close();
    }
  }
}

/**
 * Makes `dir` (and what is missing above it) with mode 0700, or checks the one that is there: a
 * directory, not a symbolic link, this user's, with no access for group or others. It is never
 * changed: a directory open to others is the operator's to fix (a wrong path, perhaps).
 */
async function ensurePrivateDirectory(dir: string): Promise<void> {
  const fail = (reason: string): never => {
    throw new StateFileError(`cannot use the directory ${dir} for state: ${reason}`);
  };
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // Something that is not a directory is in the way: the checks below say what it is.
    if (errorCode(error) !== 'EEXIST') fail(describeError(error));
  }
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(dir);
  } catch (error) {
    throw fail(describeError(error));
  }
  if (stats.isSymbolicLink()) fail('it is a symbolic link; give the real path');
  if (!stats.isDirectory()) fail('it is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) fail(`it belongs to user id ${stats.uid}, not to ${uid}`);
  const mode = Number(stats.mode) & 0o777;
  if ((mode & 0o077) !== 0)
    fail(`it is open to other users (mode 0${mode.toString(8)}); make it private (chmod 700)`);
}

/** fsyncs a directory, so that a rename in it is on disk (Linux: fsync on a read-only fd). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
