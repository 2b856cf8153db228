/** `flip sim`: runs simulation scenarios of the real protocol core and judges them. */
import { NO_QUORUM_POLICIES, type NoQuorumPolicy } from '../../config/index.js';
import { isScenarioName, SCENARIO_NAMES, type ScenarioName } from '../../sim/scenario-names.js';
import { DEFAULT_SCENARIOS, SCENARIOS, type ScenarioResult } from '../../sim/scenarios.js';
import { listSome, quote } from '../../text/quote.js';
import { CliError, EXIT_FAILURE } from '../exit-codes.js';
import { type Progress, progressOnStderr } from '../progress.js';
import { SIM_LOSS_MAX, SIM_RANGES, type SimCommandOptions } from './sim-options.js';

export type { SimCommandOptions };

/** Tables wider than this many servers are left out of the text output (not of --json). */
const TABLE_SERVERS_MAX = 12;
/** Failing seeds listed; each one reproduces its failure alone. */
const FAILED_SEEDS_SHOWN_MAX = 20;

/** The whole number given for `--name`, checked against SIM_RANGES; undefined when not given. */
function integer(name: keyof typeof SIM_RANGES, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const [min, max] = SIM_RANGES[name];
  const parsed = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new CliError(`--${name}: expected a whole number from ${min} to ${max}, got ${quote(value)}`);
  }
  return parsed;
}

export function sim(
  options: SimCommandOptions,
  out: (text: string) => void,
  progress: Progress = progressOnStderr(),
): number {
  const requested = options.scenario ?? 'all';
  const names: readonly ScenarioName[] =
    requested === 'all'
      ? DEFAULT_SCENARIOS
      : requested.split(',').map((name) => {
          if (!isScenarioName(name))
            throw new CliError(
              `unknown scenario ${quote(name)}; scenarios: ${SCENARIO_NAMES.join(', ')}, all`,
            );
          return name;
        });
  const nodes = integer('nodes', options.nodes) ?? 3;
  const quorum = integer('quorum', options.quorum);
  if (quorum !== undefined && quorum > nodes)
    throw new CliError(`--quorum: ${quorum} is more than --nodes ${nodes}`);
  const loss = options.loss === undefined ? 0 : Number(options.loss);
  if (options.loss?.trim() === '' || !(loss >= 0 && loss <= SIM_LOSS_MAX))
    throw new CliError(
      `--loss: expected a fraction from 0 to ${SIM_LOSS_MAX}, got ${quote(options.loss ?? '')}`,
    );
  const policy = options.policy;
  if (policy !== undefined && !(NO_QUORUM_POLICIES as readonly string[]).includes(policy))
    throw new CliError(`--policy: expected ${NO_QUORUM_POLICIES.join(' or ')}, got ${quote(policy)}`);
  const common = {
    policy: policy as NoQuorumPolicy | undefined,
    leased: options.lease === true,
    preempt: options.preempt !== false,
    hash: options.hash === true,
    seed: integer('seed', options.seed) ?? 1,
    nodes,
    runs: integer('runs', options.runs),
    quorum,
    loss,
    duration_ms: (() => {
      const seconds = integer('duration', options.duration);
      return seconds === undefined ? undefined : seconds * 1000;
    })(),
    timing: {
      gossip_interval: integer('interval', options.interval),
      ping_timeout: integer('timeout', options.timeout),
      ping_per_interval: integer('pings', options.pings),
    },
  };
  // Keep only the timing keys that were given, so the config's own defaults apply otherwise.
  common.timing = Object.fromEntries(
    Object.entries(common.timing).filter(([, v]) => v !== undefined),
  ) as typeof common.timing;

  const results: ScenarioResult[] = [];
  for (const name of names) {
    // Scenarios of many runs report each; the line begins with the first report.
    let begun = false;
    const outcome = SCENARIOS[name]({
      ...common,
      progress: (done, total, failed) => {
        if (!begun) progress.begin(name, total);
        begun = true;
        progress.update(done, failed);
      },
    });
    progress.end();
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
  const tables = outcome.tables ?? [];
  if (tables.length > 0 && outcome.nodes > TABLE_SERVERS_MAX)
    lines.push(
      `  (${tables.length} tables left out: shown for at most ${TABLE_SERVERS_MAX} servers; --json has them)`,
    );
  else
    for (const table of tables) {
      lines.push(`  -- ${table.title}`);
      for (const line of table.text.split('\n')) lines.push(`     ${line}`);
    }
  if (outcome.failed_seeds && outcome.failed_seeds.length > 0) {
    lines.push(
      `  failing seeds (rerun with --runs 1 --seed S): ${listSome(outcome.failed_seeds.map(String), FAILED_SEEDS_SHOWN_MAX)}`,
    );
  }
  return lines.join('\n');
}
