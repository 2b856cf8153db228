/**
 * The committed config as the API shows it: the replicated config holds the cluster's gossip key
 * (`key`) and may hold API tokens (`servers.<id>.api.token`), and reads are open on loopback. Each
 * such value is replaced, so that what GET /v1/config and `flip config show` print lets nobody
 * forge gossip or change the cluster. Pure: the input is never changed.
 */
import { pathToString } from '../config/errors.js';
import type { ConfigDocument } from '../state/cluster-state.js';

/** What a secret is replaced by. */
export const REDACTED = '(secret, not shown)';

export interface RedactedConfig {
  config: ConfigDocument;
  /** The dotted paths replaced, in document order. */
  redacted: string[];
}

export function redactConfig(config: ConfigDocument): RedactedConfig {
  const copy = structuredClone(config);
  const redacted: string[] = [];
  if (typeof copy.key === 'string') {
    copy.key = REDACTED;
    redacted.push('key');
  } else if (Array.isArray(copy.key)) {
    copy.key = copy.key.map(() => REDACTED);
    redacted.push('key');
  }
  const servers = copy.servers;
  if (isObject(servers))
    for (const [id, server] of Object.entries(servers)) {
      const api = isObject(server) ? server.api : undefined;
      if (isObject(api) && Object.hasOwn(api, 'token')) {
        api.token = REDACTED;
        redacted.push(pathToString(['servers', id, 'api', 'token']));
      }
    }
  return { config: copy, redacted };
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
