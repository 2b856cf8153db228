/**
 * What one run of bench:failover measured, as saved with `--json PATH` and read back by
 * `npm run bench:failover:svg -- PATH` to redraw the picture without running the bench again.
 * The format is versioned: a reader refuses a version it does not know instead of guessing.
 */
import { z } from 'zod';

export const FAILOVER_RESULTS_VERSION = 1;

export type FailoverMode = 'crash' | 'graceful';
export const FAILOVER_MODES: readonly FailoverMode[] = ['crash', 'graceful'];

/** Where the time of one failover went (ms); see bench/failover.ts for each phase. */
const phasesSchema = z.strictObject({
  detect: z.number().optional(),
  plan: z.number().optional(),
  fence: z.number().optional(),
  script: z.number().optional(),
  address: z.number().optional(),
  client: z.number().optional(),
});

const trialSchema = z.strictObject({
  mode: z.enum(['crash', 'graceful']),
  /** 1-based, per mode. */
  n: z.number().int().min(1),
  /** The outage the client saw; absent when the trial failed. */
  outage_ms: z.number().min(0).optional(),
  error: z.string().optional(),
  phases: phasesSchema,
});

const setupSchema = z.strictObject({
  id: z.string().min(1),
  label: z.string(),
  kind: z.enum(['flip', 'keepalived']),
  seconds: z.number().min(0),
  trials: z.array(trialSchema),
});

const resultsSchema = z.strictObject({
  version: z.literal(FAILOVER_RESULTS_VERSION),
  /** When the run ended, ISO 8601. */
  run_at: z.string(),
  /** Kernel, CPUs, node and keepalived versions. */
  machine: z.string(),
  setups: z.array(setupSchema),
});

export type FailoverPhases = z.infer<typeof phasesSchema>;
export type FailoverTrial = z.infer<typeof trialSchema>;
export type FailoverSetupResult = z.infer<typeof setupSchema>;
export type FailoverResults = z.infer<typeof resultsSchema>;

export class FailoverResultsError extends Error {
  override name = 'FailoverResultsError';
}

/** Reads saved results; a problem names the file and the field. */
export function parseFailoverResults(text: string, source: string): FailoverResults {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FailoverResultsError(`${source}: not JSON: ${(error as Error).message}`);
  }
  const version = (value as { version?: unknown } | null)?.version;
  if (version !== FAILOVER_RESULTS_VERSION)
    throw new FailoverResultsError(
      `${source}: version ${JSON.stringify(version)} is not ${FAILOVER_RESULTS_VERSION}: not bench:failover results of this version (written with --json)`,
    );
  const parsed = resultsSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 10)
      .map((issue) => `${source}: ${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`);
    throw new FailoverResultsError(problems.join('\n'));
  }
  return parsed.data;
}
