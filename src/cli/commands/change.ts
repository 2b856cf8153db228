/**
 * The runtime-change commands (issue 12): `flip data add|rm`, `flip server add|rm`,
 * `flip system set|add|rm` send one change to an agent's API (POST /v1/changes); `flip config
 * show` and `flip config history` read the committed config and its changes. The change is built
 * and checked here first, as the API checks it (change-args.ts), so bad input is refused before
 * anything is sent. Exit statuses: exit-codes.ts (0, 2, 4, 5 to 11).
 */
import { ApiClient, ApiClientError } from '../../api/client.js';
import type { ConfigDoc, ConfigHistoryDoc, ReloadOutcome } from '../../api/types.js';
import { buildChange, type ChangeCommand } from '../change-args.js';
import {
  answerExit,
  changeReport,
  errorCode,
  failureExit,
  failureLines,
  type HttpAnswer,
} from '../change-report.js';
import {
  CliError,
  EXIT_CHANGE_INVALID,
  EXIT_CHANGE_TIMEOUT,
  EXIT_OK,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
} from '../exit-codes.js';
import { apiBase, type StatusCommandOptions } from './status.js';

export interface ChangeCommandOptions extends Pick<StatusCommandOptions, 'api' | 'config' | 'id' | 'token'> {
  json?: boolean;
  /** The committed version the change is made against; default: the agent's, read first. */
  baseVersion?: string;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * How long a change request may take: the agent answers within its own bound (20 s at most,
 * API_LIMITS.change_wait_ms), so this only ends a request whose answer is lost.
 */
export const CHANGE_REQUEST_TIMEOUT_MS = 30_000;

/** Builds, sends and reports one change; returns the exit status. */
export async function change(
  command: ChangeCommand,
  options: ChangeCommandOptions,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Checked before anything is sent: a bad argument needs no agent.
  const checked = buildChange(command, 0);
  if (!checked.ok) throw new CliError(problemsText(checked.problems), EXIT_USAGE);
  const client = clientFor(options, env);
  let base_version: number;
  if (options.baseVersion !== undefined) {
    if (!/^\d{1,15}$/.test(options.baseVersion))
      throw new CliError(
        `--base-version ${JSON.stringify(options.baseVersion)}: must be a whole number (a committed version)`,
        EXIT_USAGE,
      );
    base_version = Number(options.baseVersion);
  } else {
    // The change is made against the version the agent has committed now.
    const config = await send<ConfigDoc>(client, '/v1/config', {});
    if (config.status !== 200) return refused(config, client, options, output);
    base_version = config.body.version;
  }
  const built = buildChange(command, base_version);
  if (!built.ok) throw new CliError(problemsText(built.problems), EXIT_USAGE);
  const answer = await send(client, '/v1/changes', {
    method: 'POST',
    body: built.change,
    timeout_ms: CHANGE_REQUEST_TIMEOUT_MS,
  });
  const report = changeReport(answer, client.base, built.change);
  if (options.json) output.out(JSON.stringify(answer.body, null, 2));
  else if (report.exit === EXIT_OK) for (const line of report.lines) output.out(line);
  else printFailure(report.lines, output);
  return report.exit;
}

/** `flip config show`: the committed config and its version (secrets hidden by the agent). */
export async function configShow(
  options: ChangeCommandOptions,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const client = clientFor(options, env);
  const answer = await send<ConfigDoc>(client, '/v1/config', {});
  if (answer.status !== 200) return refused(answer, client, options, output);
  const doc = answer.body;
  if (options.json) output.out(JSON.stringify(doc, null, 2));
  else {
    output.out(
      `# version ${doc.version}${doc.version === 0 ? ' (the config file: nothing committed yet)' : ''}`,
    );
    if (doc.redacted.length > 0) output.out(`# not shown: ${doc.redacted.join(', ')}`);
    output.out(JSON.stringify(doc.config, null, 2));
  }
  return EXIT_OK;
}

/** `flip config history`: the newest committed changes, a line each. */
export async function configHistory(
  options: ChangeCommandOptions & { limit?: string },
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const limit = options.limit;
  if (limit !== undefined && !/^\d{1,5}$/.test(limit))
    throw new CliError(`--limit ${JSON.stringify(limit)}: must be a whole number (1 to 1024)`, EXIT_USAGE);
  const client = clientFor(options, env);
  const answer = await send<ConfigHistoryDoc>(
    client,
    `/v1/config/history${limit === undefined ? '' : `?limit=${limit}`}`,
    {},
  );
  if (answer.status !== 200) return refused(answer, client, options, output);
  const doc = answer.body;
  if (options.json) {
    output.out(JSON.stringify(doc, null, 2));
    return EXIT_OK;
  }
  if (doc.changes.length === 0)
    output.out(
      doc.version === doc.from
        ? `version ${doc.version}: no changes committed since this agent started from it`
        : `version ${doc.version}`,
    );
  const width = String(doc.version).length;
  for (const entry of doc.changes) output.out(`${String(entry.version).padStart(width)}  ${entry.change}`);
  const first = doc.changes[0]?.version ?? doc.version + 1;
  if (first > doc.from + 1)
    output.out(
      `(versions ${doc.from + 1} to ${first - 1} not shown${doc.changes.length > 0 ? ': pass --limit for more' : ''})`,
    );
  else if (doc.from > 0) output.out(`(versions up to ${doc.from} are not held by this agent)`);
  return EXIT_OK;
}

/**
 * How long a reload may take: the agent asks again for a change answered no_quorum or conflict
 * for up to 30 s (RELOAD_PROPOSE_MS), and each change waits for its answer.
 */
export const RELOAD_REQUEST_TIMEOUT_MS = 60_000;

/**
 * `flip reload`: the agent reads its config file again, as on SIGHUP (POST /v1/reload): its item
 * edits since it last read the file go to the cluster as changes. Exit 0 when there was nothing
 * to do or every change committed; 5 when the file is refused (not valid, or it changes more than
 * items: that takes a restart); else the exit of the first change that did not commit.
 */
export async function reload(
  options: ChangeCommandOptions,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const client = clientFor(options, env);
  const answer = await send<ReloadOutcome>(client, '/v1/reload', {
    method: 'POST',
    timeout_ms: RELOAD_REQUEST_TIMEOUT_MS,
  });
  if (answer.status !== 200) return refused(answer, client, options, output);
  const outcome = answer.body;
  if (options.json) output.out(JSON.stringify(outcome, null, 2));
  switch (outcome.kind) {
    case 'unchanged':
      if (!options.json) output.out('nothing to change: no item edits since the agent last read its file');
      return EXIT_OK;
    case 'invalid':
      if (!options.json)
        printFailure([`the config file is refused; the running config stays:`, outcome.message], output);
      return EXIT_CHANGE_INVALID;
    case 'restart_needed':
      if (!options.json)
        printFailure(
          [
            `the file changes ${outcome.fields.join(', ')}: these take effect only when the agent restarts; nothing was done (items alone can change at runtime)`,
          ],
          output,
        );
      return EXIT_CHANGE_INVALID;
    case 'proposed': {
      let exit = EXIT_OK;
      for (const { change, answer: given } of outcome.answers) {
        const code = answerExit(given.kind);
        if (exit === EXIT_OK) exit = code;
        if (options.json) continue;
        const version = 'version' in given ? ` version ${given.version}` : '';
        const line = `${given.kind.replace('_', ' ')}${version}: ${change}`;
        if (code === EXIT_OK) output.out(line);
        else printFailure([line, 'message' in given ? given.message : problemsOf(given)], output);
      }
      if (!options.json && outcome.answers.length === 0)
        output.out('nothing to change: the committed config already holds the edit');
      return exit;
    }
  }
}

function problemsOf(
  answer: { kind: string } & Partial<{ issues: { path: string; message: string }[] }>,
): string {
  return (answer.issues ?? []).map((issue) => `  ${issue.path}: ${issue.message}`).join('\n');
}

function clientFor(options: ChangeCommandOptions, env: NodeJS.ProcessEnv): ApiClient {
  try {
    return new ApiClient({ base: apiBase(options, env), token: options.token ?? env.FLIP_TOKEN });
  } catch (error) {
    // A URL that is no http:// URL is bad input, not an unreachable API.
    if (error instanceof ApiClientError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
}

/** A request, with failures before an answer as CliErrors (4, or 9 when a change may have been made). */
async function send<T>(
  client: ApiClient,
  path: string,
  options: Parameters<ApiClient['request']>[1],
): Promise<{ status: number; body: T }> {
  try {
    return await client.request<T>(path, options);
  } catch (error) {
    if (!(error instanceof ApiClientError)) throw error;
    if (error.timed_out)
      throw new CliError(
        `${error.message}: the change may or may not be committed; look at the config (flip config show) before retrying`,
        EXIT_CHANGE_TIMEOUT,
      );
    throw new CliError(error.message, EXIT_UNREACHABLE);
  }
}

/** Prints a refusal (its JSON with --json) and returns its exit status. */
function refused(
  answer: HttpAnswer,
  client: ApiClient,
  options: ChangeCommandOptions,
  output: Output,
): number {
  if (options.json) output.out(JSON.stringify(answer.body, null, 2));
  else printFailure(failureLines(answer, client.base), output);
  return failureExit(answer.status, errorCode(answer));
}

function printFailure(lines: string[], output: Output): void {
  const [first, ...rest] = lines;
  output.err(`flip: ${first}`);
  for (const line of rest) output.err(line);
}

function problemsText(problems: string[]): string {
  if (problems.length === 1) return problems[0]!;
  return `${problems.length} problems with the arguments:\n${problems.map((problem) => `  ${problem}`).join('\n')}`;
}
