/** `flip sim`: runs simulation scenarios of the real protocol core and judges them. */
import { DEFAULT_SCENARIOS, SCENARIOS, type ScenarioResult } from '../../sim/scenarios.js';
import { CliError, EXIT_FAILURE } from '../exit-codes.js';

export interface SimCommandOptions {
  scenario: string;
  nodes?: string;
  seed?: string;
  runs?: string;
  loss?: string;
  duration?: string;
  interval?: string;
  timeout?: string;
  pings?: string;
  quorum?: string;
  json?: boolean;
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new CliError(`--${name}: expected a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

export function sim(options: SimCommandOptions, out: (text: string) => void): number {
  const names = options.scenario === 'all' ? DEFAULT_SCENARIOS : options.scenario.split(',');
  for (const name of names) {
    if (!(name in SCENARIOS)) {
      throw new CliError(`unknown scenario "${name}"; scenarios: ${Object.keys(SCENARIOS).join(', ')}, all`);
    }
  }
  const nodes = integer('nodes', options.nodes, 1, 5000) ?? 3;
  const quorum = integer('quorum', options.quorum, 1, 5000);
  if (quorum !== undefined && quorum > nodes)
    throw new CliError(`--quorum: ${quorum} is more than --nodes ${nodes}`);
  const loss = options.loss === undefined ? 0 : Number(options.loss);
  if (!(loss >= 0 && loss < 1))
    throw new CliError(`--loss: expected a fraction from 0 to 0.99, got "${options.loss}"`);
  const common = {
    seed: integer('seed', options.seed, 0, 2 ** 32 - 1) ?? 1,
    nodes,
    runs: integer('runs', options.runs, 1, 100_000),
    quorum,
    loss,
    duration_ms: (() => {
      const seconds = integer('duration', options.duration, 1, 86_400);
      return seconds === undefined ? undefined : seconds * 1000;
    })(),
    timing: {
      gossip_interval: integer('interval', options.interval, 1, 60_000),
      ping_timeout: integer('timeout', options.timeout, 1, 60_000),
      ping_per_interval: integer('pings', options.pings, 1, 1000),
    },
  };
  // Keep only the timing keys that were given, so the config's own defaults apply otherwise.
  common.timing = Object.fromEntries(
    Object.entries(common.timing).filter(([, v]) => v !== undefined),
  ) as typeof common.timing;

  const results: ScenarioResult[] = [];
  for (const name of names) {
    const outcome = SCENARIOS[name]!(common);
    results.push(outcome);
    if (!options.json) out(renderResult(outcome));
  }
  const passed = results.every((outcome) => outcome.passed);
  if (options.json) out(JSON.stringify({ passed, scenarios: results }, null, 2));
  else out(passed ? 'all checks passed' : 'SOME CHECKS FAILED');
  return passed ? 0 : EXIT_FAILURE;
}

function renderResult(outcome: ScenarioResult): string {
  const lines = [
    `== ${outcome.scenario} (nodes ${outcome.nodes}, seed ${outcome.seed}): ${outcome.passed ? 'ok' : 'FAILED'}`,
  ];
  for (const c of outcome.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  const figures = Object.entries(outcome.figures).map(([key, value]) => `${key}=${value}`);
  if (figures.length > 0) lines.push(`  figures: ${figures.join(' ')}`);
  for (const table of outcome.tables ?? []) {
    lines.push(`  -- ${table.title}`);
    for (const line of table.text.split('\n')) lines.push(`     ${line}`);
  }
  if (outcome.failed_seeds && outcome.failed_seeds.length > 0) {
    lines.push(`  failing seeds (rerun with --runs 1 --seed S): ${outcome.failed_seeds.join(' ')}`);
  }
  return lines.join('\n');
}
