/**
 * bench:failover:svg — redraws the picture of a bench:failover run from its saved results, without
 * running the bench (which needs root, network namespaces and minutes).
 *
 * Usage: npm run bench:failover:svg -- RESULTS.json [--out PATH]
 * RESULTS.json is what `bench:failover --json PATH` wrote (by default docs/img/failover.json);
 * the picture goes to PATH, by default docs/img/failover.svg, and the path is printed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailoverResultsError, parseFailoverResults } from './failover-results.js';
import { renderFailoverSvg } from './failover-svg.js';

/** Where the picture goes unless told otherwise; docs/FAILOVER.md shows it from there. */
export const DEFAULT_SVG = fileURLToPath(new URL('../docs/img/failover.svg', import.meta.url));
/** Where bench:failover saves its results when it updates the docs. */
export const DEFAULT_RESULTS = fileURLToPath(new URL('../docs/img/failover.json', import.meta.url));

/** Writes `svg` to `path`, creating its directory; returns the absolute path. */
export function writeSvg(path: string, svg: string): string {
  const absolute = resolve(path);
  mkdirSync(dirname(absolute), { recursive: true });
  writeFileSync(absolute, svg);
  return absolute;
}

function main(args: string[]): number {
  const outIndex = args.indexOf('--out');
  const out = outIndex >= 0 ? args[outIndex + 1] : DEFAULT_SVG;
  const inputs = outIndex < 0 ? args : args.filter((_, i) => i !== outIndex && i !== outIndex + 1);
  if (out === undefined || inputs.length !== 1 || inputs[0]!.startsWith('-')) {
    process.stderr.write('usage: npm run bench:failover:svg -- RESULTS.json [--out PATH]\n');
    return 2;
  }
  const input = inputs[0]!;
  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (error) {
    process.stderr.write(`bench:failover:svg: cannot read ${input}: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    const written = writeSvg(out, renderFailoverSvg(parseFailoverResults(text, input)));
    process.stdout.write(`wrote ${written}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof FailoverResultsError)) throw error;
    process.stderr.write(`bench:failover:svg: ${error.message}\n`);
    return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
