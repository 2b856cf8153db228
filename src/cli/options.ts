/**
 * Option parsers for commander that refuse what it would accept silently: an option given twice
 * where only one value counts (commander keeps the last), and collect the values of options that
 * may be repeated. Defaults are applied by each command, not by commander, so that a parser can
 * tell a repeated option from a default.
 */
import { InvalidArgumentError } from 'commander';

/** A single-valued option: giving it twice is an error, not "the last one wins". */
export function once(value: string, previous: string | undefined): string {
  if (previous !== undefined) throw new InvalidArgumentError('given more than once; give it once');
  return value;
}

/** A list option: every occurrence adds its comma-separated values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  const values = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return [...(previous ?? []), ...values];
}

/** FLIP_ID, the environment's spelling of `--id`; set but empty counts as not set. */
export function envId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.FLIP_ID;
  return value === undefined || value === '' ? undefined : value;
}
