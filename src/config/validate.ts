/**
 * Turns a parsed config value into one typed, normalised FlipConfig, or a ConfigError that
 * lists every problem at once, each with its key's path and, when known, line and column.
 */
import { isIP } from 'node:net';
import type { z } from 'zod';
import { DEFAULTS, defaultQuorum, type LogLevel, SYSTEM_TYPES, type SystemType } from './defaults.js';
import { didYouMean } from './did-you-mean.js';
import { ConfigError, type ConfigIssue, pathToString } from './errors.js';
import { configSchema, type RawConfig } from './schema.js';
import type { ConfigSource } from './source.js';

export interface ServerConfig {
  id: string;
  /** Position in `FlipConfig.servers` (priority order); the index used on the wire. */
  index: number;
  ip: string;
  port: number;
  /** Lower is first; servers without a priority get +Infinity and sort last. */
  priority: number;
  systems: string[];
}

export interface SystemConfig {
  name: string;
  type: SystemType;
  alive: string;
  down: string;
  /** cluster.config merged with the system's own config; the system's keys win. */
  config: Record<string, unknown>;
  /** The items, sorted as strings. */
  data: string[];
  /** Ids of the member servers, in server order. */
  members: string[];
  delay_ms: number;
  script_timeout_ms: number;
}

export interface FlipConfig {
  id: string;
  /** Every server, ordered by priority (missing = last), then id. */
  servers: ServerConfig[];
  /** Server ids in the order the file lists them, for display. */
  servers_as_written: string[];
  quorum: number;
  gossip_interval_ms: number;
  ping_per_interval: number;
  ping_timeout_ms: number;
  indirect_probes: number;
  /** The first key encrypts; every key decrypts. */
  keys: string[];
  log_level: LogLevel;
  remove_on_start: boolean;
  remove_on_failure: boolean;
  cluster_config: Record<string, unknown>;
  systems: SystemConfig[];
}

/** Compares strings by UTF-16 code units, the same on every node and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function validateConfig(source: ConfigSource, file?: string): FlipConfig {
  const issues: ConfigIssue[] = [];
  const add: Add = (path, message, options) => {
    issues.push({ path: pathToString(path), message, ...source.locate(options?.at ?? path, options) });
  };

  const value = source.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError([{ path: '', message: 'the config must be an object of keys and values' }], file);
  }

  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportSchemaIssue(issue, value, add);
  }
  checkCrossFields(value as Record<string, unknown>, add);

  if (issues.length > 0 || !parsed.success) {
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new ConfigError(issues, file);
  }
  return normalise(parsed.data);
}

/** Records an issue at `path`; `at` points the line and column elsewhere (a missing key's parent). */
type Add = (
  path: readonly PropertyKey[],
  message: string,
  options?: { key?: boolean; at?: readonly PropertyKey[] },
) => void;

function reportSchemaIssue(issue: z.core.$ZodIssue, root: unknown, add: Add): void {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    for (const key of issue.keys) {
      const hint = didYouMean(key, known);
      const message = hint ? `unknown key "${key}" (did you mean "${hint}"?)` : `unknown key "${key}"`;
      add([...path, key], `${message}; known keys: ${known.join(', ')}`, { key: true });
    }
    return;
  }
  if (issue.code === 'invalid_type' && valueAt(root, path) === undefined) {
    add(path, `is required (expected ${issue.expected})`, { at: path.slice(0, -1) });
    return;
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    const got = JSON.stringify(valueAt(root, path));
    add(path, `${got} is not one of: ${issue.values.map(String).join(', ')}`);
    return;
  }
  if (issue.code === 'invalid_key') {
    add(path, 'a key must not be empty', { key: true });
    return;
  }
  add(path, lowerFirst(issue.message));
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** The keys the schema allows in the object at `path`, for "did you mean" hints. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walking zod's schema tree generically.
  let schema: any = configSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema?.shape) schema = schema.shape[segment as string];
    else if (schema?.def?.type === 'record') schema = schema.def.valueType;
    else if (schema?.def?.type === 'array') schema = schema.def.element;
    else return [];
  }
  schema = unwrap(schema);
  return schema?.shape ? Object.keys(schema.shape) : [];
}

// biome-ignore lint/suspicious/noExplicitAny: walking zod's schema tree generically.
function unwrap(schema: any): any {
  let current = schema;
  while (current?.def?.type === 'optional' || current?.def?.type === 'default')
    current = current.def.innerType;
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Rules that involve more than one key. Works on the raw value so it can run beside zod. */
function checkCrossFields(raw: Record<string, unknown>, add: Add): void {
  const servers = isObject(raw.servers) ? raw.servers : undefined;
  const cluster = isObject(raw.cluster) ? raw.cluster : undefined;
  const systems = cluster && isObject(cluster.system) ? cluster.system : {};
  const serverIds = servers ? Object.keys(servers) : [];

  if (servers && serverIds.length === 0) add(['servers'], 'must list at least one server');
  if (typeof raw.id === 'string' && raw.id !== '' && servers && !(raw.id in servers)) {
    const hint = didYouMean(raw.id, serverIds);
    add(['id'], `"${raw.id}" is not a server in servers${hint ? ` (did you mean "${hint}"?)` : ''}`);
  }
  if (typeof raw.quorum === 'number' && servers && raw.quorum > serverIds.length) {
    add(['quorum'], `${raw.quorum} is larger than the number of servers (${serverIds.length})`);
  }
  if (Array.isArray(raw.key)) {
    const seen = new Set<unknown>();
    raw.key.forEach((key, i) => {
      if (seen.has(key)) add(['key', i], 'is listed twice');
      seen.add(key);
    });
  }

  const endpoints = new Map<string, string>();
  const memberCount = new Map<string, number>(Object.keys(systems).map((name) => [name, 0]));
  for (const id of serverIds) {
    const server = servers?.[id];
    if (!isObject(server)) continue;
    if (typeof server.ip === 'string' && server.ip !== '') {
      if (isIP(server.ip) === 0)
        add(['servers', id, 'ip'], `"${server.ip}" is not a valid IPv4 or IPv6 address`);
      else if (typeof server.port === 'number') {
        const endpoint = `${canonicalIp(server.ip)}:${server.port}`;
        const other = endpoints.get(endpoint);
        if (other !== undefined)
          add(['servers', id, 'port'], `${endpoint} is already used by server "${other}"`);
        else endpoints.set(endpoint, id);
      }
    }
    if (Array.isArray(server.systems)) {
      const seen = new Set<unknown>();
      server.systems.forEach((name, i) => {
        if (typeof name !== 'string' || name === '') return;
        if (seen.has(name)) add(['servers', id, 'systems', i], `names system "${name}" twice`);
        seen.add(name);
        if (!(name in systems)) {
          const hint = didYouMean(name, Object.keys(systems));
          const known = Object.keys(systems).join(', ') || 'none';
          add(
            ['servers', id, 'systems', i],
            `unknown system "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; cluster.system defines: ${known}`,
          );
        } else memberCount.set(name, (memberCount.get(name) ?? 0) + 1);
      });
    }
  }

  for (const [name, system] of Object.entries(systems)) {
    if (servers && memberCount.get(name) === 0) {
      add(['cluster', 'system', name], `system "${name}" has no members: no server lists it in its systems`, {
        key: true,
      });
    }
    if (isObject(system) && Array.isArray(system.data)) {
      const firstIndex = new Map<unknown, number>();
      system.data.forEach((item, i) => {
        const first = firstIndex.get(item);
        if (first !== undefined)
          add(
            ['cluster', 'system', name, 'data', i],
            `duplicate item ${JSON.stringify(item)} (also at [${first}])`,
          );
        else firstIndex.set(item, i);
      });
    }
  }
}

function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? `[${ip.toLowerCase()}]` : ip;
}

function normalise(raw: RawConfig): FlipConfig {
  const written = Object.keys(raw.servers);
  const servers: ServerConfig[] = written
    .map((id) => {
      const server = raw.servers[id]!;
      return {
        id,
        index: 0,
        ip: server.ip,
        port: server.port,
        priority: server.priority ?? Number.POSITIVE_INFINITY,
        systems: server.systems ?? [],
      };
    })
    .sort((a, b) =>
      a.priority === b.priority ? compareStrings(a.id, b.id) : a.priority < b.priority ? -1 : 1,
    );
  servers.forEach((server, index) => {
    server.index = index;
  });

  const clusterConfig = raw.cluster.config ?? {};
  const systems: SystemConfig[] = Object.entries(raw.cluster.system ?? {}).map(([name, system]) => ({
    name,
    type: SYSTEM_TYPES[system.type],
    alive: system.alive,
    down: system.down,
    config: { ...clusterConfig, ...(system.config ?? {}) },
    data: [...system.data].sort(compareStrings),
    members: servers.filter((server) => server.systems.includes(name)).map((server) => server.id),
    delay_ms: system.delay ?? DEFAULTS.delay_ms,
    script_timeout_ms: system.script_timeout ?? DEFAULTS.script_timeout_ms,
  }));

  const logLevel = raw.log_level ?? DEFAULTS.log_level;
  return {
    id: raw.id,
    servers,
    servers_as_written: written,
    quorum: raw.quorum ?? defaultQuorum(servers.length),
    gossip_interval_ms: raw.gossip_interval ?? DEFAULTS.gossip_interval_ms,
    ping_per_interval: raw.ping_per_interval ?? DEFAULTS.ping_per_interval,
    ping_timeout_ms: raw.ping_timeout ?? DEFAULTS.ping_timeout_ms,
    indirect_probes: raw.indirect_probes ?? DEFAULTS.indirect_probes,
    keys: Array.isArray(raw.key) ? raw.key : [raw.key],
    log_level: logLevel === 'warning' ? 'warn' : logLevel,
    remove_on_start: raw.remove_on_start ?? DEFAULTS.remove_on_start,
    remove_on_failure: raw.remove_on_failure ?? DEFAULTS.remove_on_failure,
    cluster_config: clusterConfig,
    systems,
  };
}
