/**
 * The agent's state directory: `<state_dir>/<server id, encoded>`, which holds what must outlive
 * one run of the agent (the script ledger). The agent creates it at start, mode 0700, since the
 * ledger there decides which processes a restarted agent kills: nobody else may write it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { quote } from '../text/quote.js';

/** Why the state directory cannot be used: a start error (exit 1), never a stack trace. */
export class StateDirError extends Error {
  override name = 'StateDirError';
}

/** The directory of server `id` under `state_dir` (which the caller has made absolute). */
export function serverStateDir(state_dir: string, id: string): string {
  return join(state_dir, serverDirName(id));
}

/**
 * A file name for server id `id`, safe for any id and distinct for distinct ids. Letters, digits,
 * `_` and `-` stay as they are, and `.` unless first (so no name is `.`, `..` or hidden); every
 * other byte of the id's UTF-8 is written `%XX`, `%` and `/` included. An id whose name would be
 * longer than NAME_SHORT_MAX is named by a readable head, `+` (which no short name holds, as `+`
 * itself is escaped) and the SHA-256 of the id: ids are up to 255 bytes, and a file name too.
 */
export function serverDirName(id: string): string {
  let name = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const char = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9_-]/.test(char) || (char === '.' && name !== '');
    name += plain ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.length <= NAME_SHORT_MAX) return name;
  // The head is cut where no `%XX` is split, so that it still reads as the id's start.
  const head = name.slice(0, NAME_HEAD_CHARS).replace(/%[0-9A-F]?$/, '');
  return `${head}+${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

/** Names up to this long are the escaped id itself; NAME_MAX is 255 bytes. */
const NAME_SHORT_MAX = 200;
/** The readable head of a longer name: with `+` and 64 hex digits, at most 185 characters. */
const NAME_HEAD_CHARS = 120;

/**
 * Creates `dir` (and `state_dir` above it, when missing) with mode 0700, or checks the one that is
 * there: a directory, not a symbolic link, owned by this process's user, and made 0700. Throws a
 * StateDirError naming the path and the reason.
 */
export function prepareStateDir(dir: string): void {
  const fail = (reason: string): never => {
    throw new StateDirError(`cannot use the state directory ${quote(dir, 512)}: ${reason}`);
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // Something that is not a directory is in the way: the checks below say what it is.
    if ((error as NodeJS.ErrnoException)?.code !== 'EEXIST') fail(reasonOf(error));
  }
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    throw fail(reasonOf(error));
  }
  if (stats.isSymbolicLink()) fail('it is a symbolic link; give the real path as state_dir');
  if (!stats.isDirectory()) fail('it is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid)
    fail(`it belongs to user id ${stats.uid}, not to this agent's (${uid})`);
  if ((stats.mode & 0o777) !== 0o700) {
    try {
      chmodSync(dir, 0o700);
    } catch (error) {
      fail(`cannot make it private (mode 0700): ${reasonOf(error)}`);
    }
  }
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'ENOTDIR':
      return 'a part of the path is not a directory (ENOTDIR)';
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    case 'ENAMETOOLONG':
      return 'the path is too long (ENAMETOOLONG)';
    case 'ELOOP':
      return 'too many symbolic links in the path (ELOOP)';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
