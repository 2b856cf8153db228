/** Loading a flip config: read, parse with positions, validate, normalise. */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { CONFIG_FILE_BYTES_MAX } from './limits.js';
import { parseSource } from './source.js';
import {
  type ClusterConfig,
  type ConfigOverrides,
  type FlipConfig,
  validateClusterConfig,
  validateConfig,
} from './validate.js';

export {
  DEFAULTS,
  defaultQuorum,
  type LogLevel,
  NO_QUORUM_POLICIES,
  type NoQuorumPolicy,
  type SystemType,
} from './defaults.js';
export { ConfigError, type ConfigIssue, formatIssues } from './errors.js';
export {
  type ClusterConfig,
  type ConfigOverrides,
  compareStrings,
  type FlipConfig,
  type ServerConfig,
  type SystemConfig,
} from './validate.js';

/** Parses config text; `filename` picks the format (.json, .yaml/.yml) and labels errors. */
export function parseConfig(text: string, filename?: string, overrides?: ConfigOverrides): FlipConfig {
  return validateConfig(parseSource(text, filename), filename, overrides);
}

export function loadConfig(file: string, overrides?: ConfigOverrides): FlipConfig {
  return parseConfig(readConfigText(file), file, overrides);
}

/**
 * As parseConfig, for a file that may be shared by every server, read by a command that needs no
 * server of its own (plan, demo, config check): no server chosen is no error.
 */
export function parseClusterConfig(
  text: string,
  filename?: string,
  overrides?: ConfigOverrides,
): ClusterConfig {
  return validateClusterConfig(parseSource(text, filename), filename, overrides);
}

/** As loadConfig, for a file that may be shared by every server: no server chosen is no error. */
export function loadClusterConfig(file: string, overrides?: ConfigOverrides): ClusterConfig {
  return parseClusterConfig(readConfigText(file), file, overrides);
}

/**
 * The text of a config file, refusing what is not a regular file (a FIFO would block the read
 * for ever, a device never ends) or is larger than CONFIG_FILE_BYTES_MAX. The file is opened
 * without blocking and checked again through its descriptor, so a file swapped for a FIFO
 * between the two looks is refused too.
 */
export function readConfigText(file: string): string {
  const fail = (message: string): never => {
    throw new ConfigError([{ path: '', message }], file);
  };
  let fd: number | undefined;
  try {
    const kind = fileKind(statSync(file));
    if (kind !== 'file') fail(`cannot read config: it is ${kind}, not a regular file`);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    const opened = fileKind(stats);
    if (opened !== 'file') fail(`cannot read config: it is ${opened}, not a regular file`);
    if (stats.size > CONFIG_FILE_BYTES_MAX)
      fail(
        `the config is ${stats.size.toLocaleString('en-US')} bytes; at most ${CONFIG_FILE_BYTES_MAX.toLocaleString('en-US')} (a generated file gone wrong?)`,
      );
    // Read at most one byte past the bound, in case the file grew after the fstat.
    const buffer = Buffer.alloc(Math.min(stats.size, CONFIG_FILE_BYTES_MAX) + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > CONFIG_FILE_BYTES_MAX)
      fail(`the config is larger than ${CONFIG_FILE_BYTES_MAX.toLocaleString('en-US')} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'a part of the path is not a directory'
            : (error as Error).message;
    return fail(`cannot read config: ${reason}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
