/** Percentiles of measured or simulated figures, for the simulator, tests and benchmarks. */

/**
 * The p-th percentile (0-100) of a list of numbers, nearest rank: the smallest value with at
 * least p% of the list at or below it (p 0 gives the minimum, 100 the maximum); NaN for an
 * empty list. The list is not changed.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
