/**
 * `flip agent --join HOST:PORT`: completes a minimal config file (this server's own settings)
 * with the cluster's committed config, read from a running agent's API (GET /v1/config), before
 * the agent starts from the file. The minimal file is kept beside it as FILE.join. A file that
 * already lists the servers is left as it is: the join was made, and the agent starts from its
 * file or its stored state as always. The decisions are config/join.ts's.
 */
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ApiClient, ApiClientError } from '../../api/client.js';
import { ConfigError, parseConfig } from '../../config/index.js';
import { isMinimalConfig, joinedConfig, type ShownConfig } from '../../config/join.js';
import { parseSource } from '../../config/source.js';
import type { ConfigDocument } from '../../state/cluster-state.js';
import { CliError, EXIT_UNREACHABLE, EXIT_USAGE } from '../exit-codes.js';

export interface JoinOptions {
  /** HOST:PORT (or an http:// URL) of a running agent's API. */
  join: string;
  token?: string;
  /** This server's id (--id), over FLIP_ID and the file's. */
  id?: string;
}

/** What the join did, for one line on stderr. */
export type JoinOutcome = { kind: 'joined'; version: number; kept: string } | { kind: 'already' };

export async function joinCluster(
  file: string,
  options: JoinOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<JoinOutcome> {
  let doc: ConfigDocument;
  try {
    doc = parseSource(readFileSync(file, 'utf8'), file).value as ConfigDocument;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT_USAGE);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new CliError(`${file}: a config is an object of settings`, EXIT_USAGE);
  if (!isMinimalConfig(doc)) return { kind: 'already' };
  const id = options.id ?? (env.FLIP_ID || undefined) ?? (typeof doc.id === 'string' ? doc.id : undefined);
  if (id === undefined)
    throw new CliError(
      `${file}: to join, this server's id is needed: \`id\` in the file, --id or FLIP_ID`,
      EXIT_USAGE,
    );
  const base = /^https?:\/\//.test(options.join) ? options.join : `http://${options.join}`;
  let client: ApiClient;
  try {
    client = new ApiClient({ base, token: options.token ?? env.FLIP_TOKEN });
  } catch (error) {
    if (error instanceof ApiClientError)
      throw new CliError(`--join ${options.join}: ${error.message}`, EXIT_USAGE);
    throw error;
  }
  let answer: { status: number; body: unknown };
  try {
    answer = await client.request<unknown>('/v1/config', {});
  } catch (error) {
    if (error instanceof ApiClientError)
      throw new CliError(`--join ${options.join}: ${error.message}`, EXIT_UNREACHABLE);
    throw error;
  }
  if (answer.status !== 200)
    throw new CliError(
      `--join ${options.join}: the agent answered ${answer.status} to GET /v1/config: ${JSON.stringify(answer.body)}${answer.status === 401 ? ' (pass --token or set FLIP_TOKEN)' : ''}`,
      EXIT_UNREACHABLE,
    );
  const joined = joinedConfig(doc, id, answer.body as ShownConfig, options.join);
  if (!joined.ok) throw new CliError(`${file}: ${joined.message}`, EXIT_USAGE);
  const text = `${JSON.stringify(joined.document, null, 2)}\n`;
  // Checked as the file it becomes, with this server's id, before anything is written.
  try {
    parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
  const kept = `${file}.join`;
  copyFileSync(file, kept);
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return { kind: 'joined', version: joined.version, kept };
}
