/**
 * Command-line options of the benchmarks (`npm run bench:NAME -- --option VALUE`): the value after
 * an option's name, and numbers checked, so that a mistyped value is a clear error, not NaN.
 */

/** The word after `name` (for example `--trials`) on the command line, if `name` is there. */
export function optionValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/**
 * The number after `name`, or `fallback` when `name` is absent; a value that is no number >= 0
 * ends the benchmark with a message (exit 2).
 */
export function numberOption(name: string, fallback: number): number {
  const text = optionValue(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    console.error(`${name} needs a number >= 0, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}
