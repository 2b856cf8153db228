/**
 * Joining a cluster with a minimal config (`flip agent --join HOST:PORT`): a new server's file
 * names only what is its own (its `id`, the cluster's `key`, and any local setting: `state_dir`,
 * `log_level`, ...), and the rest comes from the committed config of a running agent (its API's
 * GET /v1/config). The server must already be in that config (`flip server add` first).
 *
 * The API hides secrets (api/redact-config.ts): the gossip key comes from the minimal file, and
 * other servers' API tokens stay hidden (this agent never uses them). Pure: documents in and out.
 */
import type { ConfigDocument } from '../state/cluster-state.js';

/** What the API answers for GET /v1/config (the fields used here). */
export interface ShownConfig {
  version: number;
  config: ConfigDocument;
  redacted: string[];
}

/** Keys of a minimal file: what is a server's own. The cluster's part comes from the committed config. */
const CLUSTER_KEYS: ReadonlySet<string> = new Set(['servers', 'cluster']);

export type JoinedConfig =
  | { ok: true; document: ConfigDocument; version: number }
  | { ok: false; message: string };

/** Whether a config file is a minimal one, to be completed by joining: it lists no servers. */
export function isMinimalConfig(file: ConfigDocument): boolean {
  return !Object.hasOwn(file, 'servers') && !Object.hasOwn(file, 'cluster');
}

/**
 * The config file a server with the minimal file `file` and id `id` runs with, given the
 * cluster's committed config `shown` (from `from`, for messages).
 */
export function joinedConfig(
  file: ConfigDocument,
  id: string,
  shown: ShownConfig,
  from: string,
): JoinedConfig {
  for (const key of CLUSTER_KEYS)
    if (Object.hasOwn(file, key))
      return {
        ok: false,
        message: `the file has \`${key}\`: a config to join with names only this server's own settings (id, key, state_dir, ...)`,
      };
  if (!Object.hasOwn(file, 'key'))
    return {
      ok: false,
      message: "the file has no `key`: the cluster's gossip key, which the API never shows, must be in it",
    };
  const servers = shown.config.servers;
  const listed = typeof servers === 'object' && servers !== null && Object.hasOwn(servers, id);
  if (!listed)
    return {
      ok: false,
      message: `${JSON.stringify(id)} is not a server of the cluster's config (version ${shown.version} at ${from}): add it first, at any agent (flip server add ${id} --ip IP --port PORT --systems ...)`,
    };
  const { id: _theirs, ...shared } = shown.config;
  return { ok: true, document: { ...shared, ...file, id }, version: shown.version };
}
