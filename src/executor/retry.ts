/** The retry policy of failed scripts, and how a failure is described in status. */
import type { RunResult } from './types.js';

/** What the backoff depends on; RunnerOptions with defaults applied. */
export interface RetryPolicy {
  retry_base_ms: number;
  retry_max_ms: number;
  attempts_before_failed: number;
  failed_retry_ms: number;
}

/**
 * The wait before the next attempt after `failures` consecutive failures (>= 1):
 * retry_base_ms * 2^(failures - 1) capped at retry_max_ms, then failed_retry_ms once the item
 * counts as failed.
 */
export function retryDelayMs(failures: number, policy: RetryPolicy): number {
  assert(Number.isInteger(failures) && failures >= 1, 'retryDelayMs needs at least one failure');
  if (failures >= policy.attempts_before_failed) return policy.failed_retry_ms;
  return Math.min(policy.retry_base_ms * 2 ** (failures - 1), policy.retry_max_ms);
}

/**
 * Error text for status: how the run ended and the last line it printed, bounded. The last line of
 * stderr is preferred, where scripts put their errors; stdout's when stderr has none.
 */
export function describeFailure(result: RunResult, timeout_ms: number): string {
  const how = result.timed_out
    ? `timed out after ${timeout_ms} ms`
    : result.signal !== null
      ? `killed by ${result.signal}`
      : result.exit_code !== null
        ? `exit code ${result.exit_code}`
        : 'did not start';
  const last = lastLine(result.stderr) || lastLine(result.stdout);
  const text = last === '' ? how : `${how}: ${last}`;
  return text.length > LAST_ERROR_CHARS_MAX ? `${text.slice(0, LAST_ERROR_CHARS_MAX - 1)}…` : text;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.at(-1)?.trim() ?? '';
}

/** Status is meant for an API and logs; a script's whole output belongs in the 'finished' note. */
const LAST_ERROR_CHARS_MAX = 300;

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`retry: ${message}`);
}
