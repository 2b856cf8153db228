/**
 * Waiting in tests and benchmarks: sleep, and polling a condition until it holds or a deadline
 * passes. One implementation for every test, the netns lab and the benchmarks.
 */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WaitOptions {
  /** Give up after this long (ms); default 5000. */
  timeoutMs?: number;
  /** Time between two checks (ms); default 50. */
  intervalMs?: number;
  /** What is awaited, for the timeout message; default "condition". */
  what?: string;
}

/** A check: a value when done; undefined or false (or a promise of either) while not yet. */
export type WaitCheck<T> = () => Promise<T | undefined | false> | T | undefined | false;

/**
 * Polls check() every intervalMs until it returns a value other than undefined/false and
 * resolves with that value, or resolves undefined once timeoutMs has passed (checked once more
 * at the deadline). For callers that count a timeout instead of failing on it.
 */
export async function poll<T>(
  check: WaitCheck<T>,
  { timeoutMs = 5000, intervalMs = 50 }: WaitOptions = {},
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Polls check() like poll(), but rejects with "timed out after <timeoutMs> ms waiting for
 * <what>" when the deadline passes.
 */
export async function waitFor<T>(check: WaitCheck<T>, options: WaitOptions = {}): Promise<T> {
  const value = await poll(check, options);
  if (value === undefined) {
    throw new Error(
      `timed out after ${options.timeoutMs ?? 5000} ms waiting for ${options.what ?? 'condition'}`,
    );
  }
  return value;
}
