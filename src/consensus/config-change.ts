/**
 * The changes the consensus commits to the cluster's configuration (issue 12), and how each one
 * applies to a config document (the config file's JSON shape, state/cluster-state.ts).
 *
 * Application is pure and total: it never throws and never changes its input, whatever the
 * document holds. A change that makes no sense for a document (an item added to a system that
 * is not there) changes nothing; such changes are refused before they are appended, by a
 * validator (`checkChange` for the rules of the change itself, `configFileValidator` for those
 * and the config file's own validation, with its messages).
 */
import { ConfigError, formatIssues } from '../config/errors.js';
import { parseSource } from '../config/source.js';
import { validateClusterConfig } from '../config/validate.js';
import type { ConfigDocument } from '../state/cluster-state.js';

/** A server as the config file's `servers` map holds it (ip, port, priority, systems, api). */
export type ServerDocument = { [key: string]: unknown };

/** A change to the cluster's configuration. Kinds are stored in the log: append-only names. */
export type ConfigChange =
  /** Add items to a system's `data` (those already there are skipped). */
  | { kind: 'data_add'; system: string; items: string[] }
  /** Remove items from a system's `data`. */
  | { kind: 'data_rm'; system: string; items: string[] }
  /** Add a server; a membership change (one server at a time). */
  | { kind: 'server_add'; id: string; server: ServerDocument }
  /** Remove a server; a membership change (one server at a time). */
  | { kind: 'server_rm'; id: string }
  /** Set keys of a system (type, scripts, config, delay, checks, policy); null removes a key. */
  | { kind: 'system_set'; system: string; values: { [key: string]: unknown } }
  /** Add a system with its whole definition. */
  | { kind: 'system_add'; system: string; definition: { [key: string]: unknown } }
  /** Remove a system. */
  | { kind: 'system_rm'; system: string };

/**
 * What a log entry carries: a config change, or the no-op a new leader appends at the start of
 * its term (it commits the entries of earlier terms, Raft §5.4.2, and changes no version).
 */
export type LogChange = ConfigChange | { kind: 'noop' };

/** The answer of a validator: the change may be appended, or why not (shown to the operator). */
export type ChangeCheck = { ok: true } | { ok: false; message: string };

/**
 * Decides whether `change` may be appended on top of `config` (the config it will apply to).
 * Pure: the consensus calls it on the leader before appending.
 */
export type ChangeValidator = (config: ConfigDocument, change: ConfigChange) => ChangeCheck;

/** Whether a change alters the set of servers (and so the majorities): one at a time. */
export function isMembershipChange(
  change: LogChange,
): change is Extract<ConfigChange, { kind: 'server_add' | 'server_rm' }> {
  return change.kind === 'server_add' || change.kind === 'server_rm';
}

/** Whether a log change is a config change (changes the version) rather than a no-op. */
export function isConfigChange(change: LogChange): change is ConfigChange {
  return change.kind !== 'noop';
}

function objectOr(value: unknown): { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as { [key: string]: unknown })
    : {};
}

/** The server ids of a config document, sorted (those of a malformed `servers` are none). */
export function serversOf(config: ConfigDocument): string[] {
  return Object.keys(objectOr(config.servers)).sort();
}

/** The systems map of a config document (`cluster.system`), empty when absent or malformed. */
function systemsOf(config: ConfigDocument): { [key: string]: unknown } {
  return objectOr(objectOr(config.cluster).system);
}

/**
 * The config after `change`: a new document; `config` is left as it was. Total: a change that
 * does not fit the document (an unknown system) leaves it unchanged.
 */
export function applyChange(config: ConfigDocument, change: LogChange): ConfigDocument {
  if (change.kind === 'noop') return config;
  const next = structuredClone(config);
  switch (change.kind) {
    case 'server_add': {
      next.servers = { ...objectOr(next.servers), [change.id]: structuredClone(change.server) };
      return next;
    }
    case 'server_rm': {
      const servers = { ...objectOr(next.servers) };
      delete servers[change.id];
      next.servers = servers;
      return next;
    }
  }
  const cluster = { ...objectOr(next.cluster) };
  const systems = { ...objectOr(cluster.system) };
  next.cluster = cluster;
  cluster.system = systems;
  switch (change.kind) {
    case 'system_add':
      systems[change.system] = structuredClone(change.definition);
      return next;
    case 'system_rm':
      delete systems[change.system];
      return next;
  }
  if (!Object.hasOwn(systems, change.system)) return config;
  const system = { ...objectOr(systems[change.system]) };
  systems[change.system] = system;
  const data = Array.isArray(system.data) ? (system.data as unknown[]) : [];
  switch (change.kind) {
    case 'data_add': {
      const have = new Set(data);
      system.data = [...data, ...change.items.filter((item) => !have.has(item) && have.add(item))];
      return next;
    }
    case 'data_rm': {
      const gone = new Set<unknown>(change.items);
      system.data = data.filter((item) => !gone.has(item));
      return next;
    }
    case 'system_set':
      for (const [key, value] of Object.entries(change.values)) {
        if (value === null) delete system[key];
        else system[key] = structuredClone(value);
      }
      return next;
  }
}

/**
 * The rules of a change itself against the config it applies to: what it adds is not there yet,
 * what it removes or sets is. The config file's own rules are `configFileValidator`'s.
 */
export function checkChange(config: ConfigDocument, change: ConfigChange): ChangeCheck {
  const fail = (message: string): ChangeCheck => ({ ok: false, message });
  const servers = objectOr(config.servers);
  const systems = systemsOf(config);
  switch (change.kind) {
    case 'server_add':
      return Object.hasOwn(servers, change.id) ? fail(`server ${change.id} is already there`) : { ok: true };
    case 'server_rm':
      if (!Object.hasOwn(servers, change.id)) return fail(`unknown server ${change.id}`);
      return Object.keys(servers).length <= 1 ? fail('the last server cannot be removed') : { ok: true };
    case 'system_add':
      return Object.hasOwn(systems, change.system)
        ? fail(`system ${change.system} is already there`)
        : { ok: true };
    case 'system_rm':
    case 'system_set':
      return Object.hasOwn(systems, change.system) ? { ok: true } : fail(`unknown system ${change.system}`);
    case 'data_add':
    case 'data_rm': {
      if (!Object.hasOwn(systems, change.system)) return fail(`unknown system ${change.system}`);
      if (change.items.length === 0) return fail('no items given');
      if (change.kind === 'data_add') return { ok: true };
      const data = objectOr(systems[change.system]).data;
      const have = new Set(Array.isArray(data) ? data : []);
      const missing = change.items.filter((item) => !have.has(item));
      return missing.length === 0
        ? { ok: true }
        : fail(`not in system ${change.system}: ${missing.join(', ')}`);
    }
  }
}

/**
 * `checkChange`, then the config file's validation (config/validate.ts) of the config after the
 * change, with the config file's messages: a change is refused exactly when a config file with
 * its result would be.
 */
export const configFileValidator: ChangeValidator = (config, change) => {
  const own = checkChange(config, change);
  if (!own.ok) return own;
  try {
    validateClusterConfig(parseSource(JSON.stringify(applyChange(config, change)), 'change.json'));
    return { ok: true };
  } catch (error) {
    // Positions are in a JSON text made here, meaningless to the operator: the paths name the keys.
    if (error instanceof ConfigError)
      return {
        ok: false,
        message: formatIssues(error.issues.map(({ path, message }) => ({ path, message }))),
      };
    throw error;
  }
};
