/**
 * The agent's logger: JSON lines (pino) on stdout, or short human-readable lines when stdout
 * is a terminal. Levels follow the config's log_level.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/index.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node']);

export function createLogger(options: { level: LogLevel; node: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { node: options.node };
  if (!pretty) return pino({ level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime });
  return pino({ level: options.level, base }, new PrettyStream());
}

/** Renders pino's JSON lines as `12:00:00.123 INFO  message key=value ...`. */
class PrettyStream extends Writable {
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        const time = new Date(Number(record.time)).toISOString().slice(11, 23);
        const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
        const fields = Object.entries(record)
          .filter(([key]) => !HIDDEN_KEYS.has(key))
          .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
          .join(' ');
        process.stdout.write(`${time} ${level} ${record.msg ?? ''}${fields ? ` ${fields}` : ''}\n`);
      } catch {
        process.stdout.write(`${line}\n`);
      }
    }
    callback();
  }
}
