/**
 * What one change does to a config document (the config file's JSON shape), as a pure function:
 * the leader runs it to decide whether to append a change, and every server runs it to fold a
 * committed change into its committed config. Same document and change, same outcome, on every
 * server; the input is never changed.
 *
 * A change is applied only when the result is a config that the config file's own validation
 * accepts (config/validate.ts), so that a config reached by changes is always one that could have
 * been written as a file, with the same messages when it could not.
 */
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import { CONFIG_FILE_BYTES_MAX } from '../config/limits.js';
import { validateClusterConfig } from '../config/validate.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import { sameJson } from '../state/json-equal.js';
import type { ConfigChange } from './change.js';
import { type JsonObject, membershipOf, own } from './document.js';
import { fitProblems } from './fit.js';

/**
 * What applying a change gives:
 * - `applied`: the new config (a new object, sharing nothing with the input or the change).
 * - `no_op`: the change would leave the config as it is; commit nothing. Only a system_set can
 *   (every value it sets is already the system's, or a key it removes is absent): every other
 *   kind that fits changes the document, and adding an item that is there or removing one that
 *   is not is `invalid`, not `no_op`, because it names something that does not match what the
 *   operator believes.
 * - `invalid`, from the `change`: it does not fit the config (an unknown system or server, an
 *   item already there, the last member of a system removed...), and the paths are the change's
 *   fields (`items[1]`). From the `config`: the result breaks a rule of the config file, with the
 *   config file's messages and paths (`cluster.system.vip.check_interval: has no effect without a
 *   check script (set check too)`), without line and column (there is no file).
 */
export type ChangeOutcome =
  | { kind: 'applied'; config: ConfigDocument }
  | { kind: 'no_op'; reason: string }
  | { kind: 'invalid'; source: 'change' | 'config'; issues: ConfigIssue[] };

/** Applies `change` to `config`; see ChangeOutcome. Never throws for any document or change. */
export function applyChange(config: ConfigDocument, change: ConfigChange): ChangeOutcome {
  const problems = fitProblems(config, change);
  if (problems.length > 0) return { kind: 'invalid', source: 'change', issues: problems };
  const next = rewrite(config, change);
  if (sameJson(next, config))
    return { kind: 'no_op', reason: 'the config already is as this change would make it' };
  const issues = configIssues(next);
  if (issues.length > 0) return { kind: 'invalid', source: 'config', issues };
  const size = sizeIssue(next);
  if (size !== undefined) return { kind: 'invalid', source: 'config', issues: [size] };
  return { kind: 'applied', config: next };
}

/**
 * A config reached by changes is one that could have been written as a file: its JSON (compact)
 * fits in CONFIG_FILE_BYTES_MAX. This also keeps every committed config well inside what one
 * snapshot can carry to a server that lags (wire/replica-body.ts, SNAPSHOT_CONFIG_BYTES_MAX).
 */
function sizeIssue(config: ConfigDocument): ConfigIssue | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(config));
  if (bytes <= CONFIG_FILE_BYTES_MAX) return undefined;
  return {
    path: '',
    message: `the config would be ${bytes} bytes as JSON, more than the ${CONFIG_FILE_BYTES_MAX} a config file may have`,
  };
}

/** The config file's validation of `config`: its issues, without positions; none when it is valid. */
export function configIssues(config: ConfigDocument): ConfigIssue[] {
  try {
    // The document is checked as a config file's parsed value; there is no text to point into.
    validateClusterConfig({ value: config, locate: () => undefined });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(({ path, message }) => ({ path, message }));
    throw error;
  }
}

/** The document after `change`, which fits it (fit.ts): a copy, edited. */
function rewrite(config: ConfigDocument, change: ConfigChange): ConfigDocument {
  const next = structuredClone(config);
  // Looked up only by the kinds that edit them, so that no other part of the copy is touched.
  const servers = () => child(next, 'servers');
  const systems = () => child(child(next, 'cluster'), 'system');
  switch (change.kind) {
    case 'data_add': {
      const system = child(systems(), change.system);
      system.data = [...listAt(system, 'data'), ...change.items];
      return next;
    }
    case 'data_rm': {
      const system = child(systems(), change.system);
      const gone = new Set<unknown>(change.items);
      system.data = listAt(system, 'data').filter((item) => !gone.has(item));
      return next;
    }
    case 'server_add': {
      const server: JsonObject = { ip: change.ip, port: change.port };
      if (change.priority !== undefined) server.priority = change.priority;
      if (change.systems !== undefined) server.systems = [...change.systems];
      servers()[change.id] = server;
      return next;
    }
    case 'server_rm':
      // Membership is the server's own `systems`: it goes with the server.
      delete servers()[change.id];
      return next;
    case 'system_set': {
      const system = child(systems(), change.system);
      for (const [key, value] of Object.entries(change.values)) {
        if (value === null) delete system[key];
        else if (value !== undefined) system[key] = structuredClone(value);
      }
      return next;
    }
    case 'system_add':
      systems()[change.system] = structuredClone(change.definition);
      for (const id of change.members) {
        const server = child(servers(), id);
        server.systems = [...membershipOf(server), change.system];
      }
      return next;
    case 'system_rm':
      delete systems()[change.system];
      for (const server of Object.values(servers())) {
        const memberOf = membershipOf(server);
        if (!memberOf.includes(change.system)) continue;
        const left = memberOf.filter((name) => name !== change.system);
        // No `systems` and an empty one both make an arbiter; the key goes with its last name.
        if (left.length > 0) (server as JsonObject).systems = left;
        else delete (server as JsonObject).systems;
      }
      return next;
  }
}

/** The object at `key` of `parent` (a copy being edited), made one when it is missing or not one. */
function child(parent: JsonObject, key: string): JsonObject {
  const value = own(parent, key);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
  const made: JsonObject = {};
  parent[key] = made;
  return made;
}

function listAt(object: JsonObject, key: string): unknown[] {
  const value = own(object, key);
  return Array.isArray(value) ? value : [];
}
