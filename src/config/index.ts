/** Loading a flip config: read, parse with positions, validate, normalise. */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { parseSource } from './source.js';
import { type FlipConfig, validateConfig } from './validate.js';

export { DEFAULTS, defaultQuorum, type LogLevel, type SystemType } from './defaults.js';
export { ConfigError, type ConfigIssue, formatIssues } from './errors.js';
export { compareStrings, type FlipConfig, type ServerConfig, type SystemConfig } from './validate.js';

/** Parses config text; `filename` picks the format (.json, .yaml/.yml) and labels errors. */
export function parseConfig(text: string, filename?: string): FlipConfig {
  return validateConfig(parseSource(text, filename), filename);
}

export function loadConfig(file: string): FlipConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ path: '', message: `cannot read config: ${reason}` }], file);
  }
  return parseConfig(text, file);
}
