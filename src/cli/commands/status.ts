/**
 * `flip status` and `flip members`: one agent's view through its API, as tables (or --json),
 * optionally following its events (--watch). Exit 0 healthy, 3 not healthy, 4 API unreachable.
 */
import { existsSync } from 'node:fs';
import { ApiClient, ApiClientError } from '../../api/client.js';
import type { EventDoc, StatusDoc } from '../../api/types.js';
import { apiUrl } from '../../config/api-listen.js';
import { loadConfig } from '../../config/index.js';
import { CliError, EXIT_OK, EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_USAGE } from '../exit-codes.js';
import { paintFor, renderEvent, renderMembers, renderStatus } from '../status-render.js';

export interface StatusCommandOptions {
  api?: string;
  config?: string;
  id?: string;
  token?: string;
  json?: boolean;
  watch?: boolean;
}

/** The config read when neither --api nor --config nor FLIP_CONFIG is given (the systemd unit's). */
export const DEFAULT_CONFIG = '/etc/flip/flip.json';

/** The API URL: --api; else the server's `api` in --config / $FLIP_CONFIG / DEFAULT_CONFIG. */
export function apiBase(options: StatusCommandOptions, env: NodeJS.ProcessEnv): string {
  if (options.api !== undefined) return options.api;
  const file =
    options.config ?? (env.FLIP_CONFIG || (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined));
  if (file === undefined)
    throw new CliError(`no API to ask: pass --api URL, or --config FILE (or set FLIP_CONFIG)`, EXIT_USAGE);
  const id = options.id ?? (env.FLIP_ID || undefined);
  const config = loadConfig(file, id === undefined ? {} : { id });
  const server = config.servers.find((candidate) => candidate.id === config.id)!;
  if (server.api === undefined)
    throw new CliError(
      `server ${config.id} has its API turned off (servers.${config.id}.api in ${file})`,
      EXIT_USAGE,
    );
  return apiUrl(server.api);
}

export async function status(
  view: 'status' | 'members',
  options: StatusCommandOptions,
  out: (text: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  stdout: { isTTY?: boolean } = process.stdout,
): Promise<number> {
  const paint = paintFor(stdout, env);
  let client: ApiClient;
  try {
    client = new ApiClient({ base: apiBase(options, env), token: options.token ?? env.FLIP_TOKEN });
  } catch (error) {
    // A URL that is no http:// URL is bad input, not an unreachable API.
    if (error instanceof ApiClientError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
  try {
    const { body } = await client.getJson<StatusDoc>('/v1/status');
    if (options.json)
      out(
        JSON.stringify(view === 'members' ? { members: body.members, quorum: body.quorum } : body, null, 2),
      );
    else out(view === 'members' ? renderMembers(body, paint) : renderStatus(body, paint));
    if (options.watch)
      await watch(client, (event) => out(options.json ? JSON.stringify(event) : renderEvent(event, paint)));
    return body.healthy ? EXIT_OK : EXIT_UNHEALTHY;
  } catch (error) {
    if (error instanceof ApiClientError) throw new CliError(error.message, EXIT_UNREACHABLE);
    throw error;
  }
}

/** Prints each event (a line, or JSON with --json) until SIGINT/SIGTERM or the stream ends. */
async function watch(client: ApiClient, print: (event: EventDoc) => void): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await client.follow(print, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
