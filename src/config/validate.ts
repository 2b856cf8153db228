/**
 * Turns a parsed config value into one typed, normalised FlipConfig, or a ConfigError that
 * lists every problem at once, each with its key's path and, when known, line and column.
 */
import { listSome, quote } from '../text/quote.js';
import { tagCollisions } from '../wire/roster.js';
import { addressProblem, canonicalAddress, formatEndpoint } from './address.js';
import { API_OFF, type ApiConfig, defaultApi, isLoopback, parseListen } from './api-listen.js';
import {
  DEFAULTS,
  defaultQuorum,
  type LogLevel,
  type NoQuorumPolicy,
  SYSTEM_TYPES,
  type SystemType,
} from './defaults.js';
import { didYouMean } from './did-you-mean.js';
import { boundIssues, ConfigError, type ConfigIssue, pathToString } from './errors.js';
import { schemaProblems } from './issue-messages.js';
import {
  ITEM_COUNT_MAX,
  SERVER_COUNT_MAX,
  SYSTEM_CONFIG_BYTES_MAX,
  SYSTEM_CONFIG_DEPTH_MAX,
  SYSTEM_COUNT_MAX,
} from './limits.js';
import { configSchema, type RawConfig } from './schema.js';
import { chooseServerId, type IdProblem, type IdSource, idProblemMessage, namedId } from './self-id.js';
import type { ConfigSource } from './source.js';
import { RESERVED_NAMES } from './text-rules.js';

export interface ServerConfig {
  id: string;
  /** Position in `FlipConfig.servers` (priority order); the index used on the wire. */
  index: number;
  ip: string;
  port: number;
  /** Lower is first; servers without a priority get +Infinity and sort last. */
  priority: number;
  systems: string[];
  /** Where its HTTP API listens, with its token; undefined when turned off. */
  api: ApiConfig | undefined;
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
  /** The system's own policy, or the config's. */
  no_quorum_policy: NoQuorumPolicy;
  /** The lease program, as written (resolved like the scripts); none: items never lapse. */
  lease: string | undefined;
  /** How long after its last renewal a held item is no longer answered for (ms). */
  fence_ms: number;
  /** The health check, as written (resolved like the scripts); none: always healthy. */
  check: string | undefined;
  /** How often the check runs (ms), and how long one run may take. */
  check_interval_ms: number;
  check_timeout_ms: number;
  /** Passes in a row that make a failing server healthy; failures in a row that make it failing. */
  rise: number;
  fall: number;
  /** How long a returning server stays healthy before items of this system return to it (ms). */
  hold_down_ms: number;
  /**
   * Whether items go back to the member placement prefers once it is ready again (true), or stay
   * with a holder that is live, ready and has the quorum until it fails (false: NodeController).
   */
  preempt: boolean;
}

/**
 * A validated config whose own server may be unknown: a file shared by the whole cluster,
 * checked away from its servers (`flip config check`).
 */
export interface ClusterConfig extends Omit<FlipConfig, 'id' | 'id_from'> {
  /** This server, when something names it or the host's address picks it (self-id.ts). */
  id: string | undefined;
  id_from: IdSource | undefined;
  /**
   * Why no server was chosen, when `id` is undefined; or, beside the file's id, that this host
   * looks like another server's (`file-id-elsewhere`): an agent refuses that, a check warns.
   */
  id_problem?: IdProblem;
}

export interface FlipConfig {
  /** This server's id: see self-id.ts for where it comes from. */
  id: string;
  /** Where `id` came from: --id, FLIP_ID, the file, or this host's address. */
  id_from: IdSource;
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
  /** The default of every system's no_quorum_policy. */
  no_quorum_policy: NoQuorumPolicy;
  /**
   * Where the agent keeps its state, as written (a relative path is taken from the config file's
   * directory by the agent); each server uses a subdirectory named after its id.
   */
  state_dir: string;
  /** The default of every system's hold_down_ms. */
  hold_down_ms: number;
  /** The default of every system's preempt. */
  preempt: boolean;
  cluster_config: Record<string, unknown>;
  systems: SystemConfig[];
}

/** Compares strings by UTF-16 code units, the same on every node and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the command line and the host say about which server this is (see self-id.ts). */
export interface ConfigOverrides {
  /** This server's id from `--id`, instead of the file's `id`. */
  id?: string;
  /** This server's id from FLIP_ID: after `--id`, before the file's `id`. */
  env_id?: string;
  /**
   * This host's addresses: when nothing names this server, the one server whose `ip` is among
   * them is this one. Without them nothing is inferred.
   */
  host_addresses?: readonly string[];
}

/** Validates a config for the server it names or its host picks; no such server is an error. */
export function validateConfig(
  source: ConfigSource,
  file?: string,
  overrides: ConfigOverrides = {},
): FlipConfig {
  const config = validateClusterConfig(source, file, overrides);
  if (config.id === undefined || config.id_from === undefined || config.id_problem !== undefined) {
    const problem = config.id_problem ?? { kind: 'unnamed' };
    // A contradiction with the file's id points at it; a missing id at the top of the file.
    const at = problem.kind === 'file-id-elsewhere' ? ['id'] : [];
    throw new ConfigError([{ path: 'id', message: idProblemMessage(problem), ...source.locate(at) }], file);
  }
  return { ...config, id: config.id, id_from: config.id_from };
}

/**
 * Validates a config that may be shared by every server: which server this is is found as in
 * validateConfig, but none found is not an error (`id_problem` says why).
 */
export function validateClusterConfig(
  source: ConfigSource,
  file?: string,
  overrides: ConfigOverrides = {},
): ClusterConfig {
  const issues: ConfigIssue[] = [];
  // An id from the command line or the environment stands in for the file's; a problem with it
  // is reported as the option's or variable's, with no line.
  const given = namedId({ option: overrides.id, env: overrides.env_id });
  const add: Add = (path, message, options) => {
    if (given !== undefined && path.length === 1 && path[0] === 'id') {
      issues.push({ path: given.from, message });
      return;
    }
    issues.push({ path: pathToString(path), message, ...source.locate(options?.at ?? path, options) });
  };
  const fail = (): never => {
    throw new ConfigError(boundIssues(issues), file);
  };

  if (!isObject(source.value)) {
    throw new ConfigError([{ path: '', message: 'the config must be an object of keys and values' }], file);
  }
  const value = given === undefined ? source.value : { ...source.value, id: given.id };
  // Sizes first: a file over the bounds is refused before the costly checks run on it.
  checkSizes(value, add);
  if (issues.length > 0) fail();
  checkReservedKeys(value, add);

  const parsed = configSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      for (const problem of schemaProblems(issue, value, knownKeysAt))
        add(problem.path, problem.message, problem);
  }
  checkCrossFields(value, add);

  if (issues.length > 0 || !parsed.success) fail();
  const config = normalise(parsed.data as RawConfig);
  const written = own(source.value, 'id');
  const fileId = typeof written === 'string' ? written : undefined;
  const choice = chooseServerId(
    { option: overrides.id, env: overrides.env_id, file: fileId },
    config.servers,
    overrides.host_addresses,
  );
  if (choice.ok) return { ...config, id: choice.id, id_from: choice.from };
  // The file's id on what looks like another server's host: kept, with the problem beside it.
  if (choice.problem.kind === 'file-id-elsewhere')
    return { ...config, id: choice.problem.named.id, id_from: 'file', id_problem: choice.problem };
  return { ...config, id: undefined, id_from: undefined, id_problem: choice.problem };
}

/** Records an issue at `path`; `at` points the line and column elsewhere (a missing key's parent). */
type Add = (
  path: readonly PropertyKey[],
  message: string,
  options?: { key?: boolean; at?: readonly PropertyKey[] },
) => void;

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
  // A union (`api`: false or an object) is walked through its object.
  if (current?.def?.type === 'union')
    return unwrap(current.def.options.find((option: unknown) => unwrap(option)?.shape) ?? current);
  return current;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object's own value at `key`, never one inherited from Object.prototype (`toString`...). */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** The counts that bound how long checking and running a config takes (limits.ts). */
function checkSizes(raw: Record<string, unknown>, add: Add): void {
  const servers = own(raw, 'servers');
  if (isObject(servers)) {
    const count = Object.keys(servers).length;
    if (count > SERVER_COUNT_MAX)
      add(
        ['servers'],
        `lists ${count.toLocaleString('en-US')} servers; at most ${SERVER_COUNT_MAX.toLocaleString('en-US')}`,
      );
  }
  const cluster = own(raw, 'cluster');
  const systems = isObject(cluster) ? own(cluster, 'system') : undefined;
  if (!isObject(systems)) return;
  const names = Object.keys(systems);
  if (names.length > SYSTEM_COUNT_MAX)
    add(
      ['cluster', 'system'],
      `defines ${names.length.toLocaleString('en-US')} systems; at most ${SYSTEM_COUNT_MAX}`,
    );
  let items = 0;
  for (const name of names) {
    const system = systems[name];
    const data = isObject(system) ? own(system, 'data') : undefined;
    if (Array.isArray(data)) items += data.length;
  }
  if (items > ITEM_COUNT_MAX)
    add(
      ['cluster', 'system'],
      `the systems list ${items.toLocaleString('en-US')} items together; at most ${ITEM_COUNT_MAX.toLocaleString('en-US')}`,
    );
}

/**
 * A key `__proto__` anywhere: JavaScript objects treat it specially, and the schema library
 * silently drops it, so a server, a system or a script setting of that name would vanish.
 * Walks without recursion, so no nesting depth can overflow the stack.
 */
function checkReservedKeys(raw: Record<string, unknown>, add: Add): void {
  // Each entry links to its parent instead of carrying its path, so that a deeply nested file
  // costs time in proportion to its size; a path is built only for a key that is reported.
  interface Step {
    node: unknown;
    segment: PropertyKey | undefined;
    parent: Step | undefined;
  }
  const pathOf = (step: Step | undefined, last: PropertyKey): PropertyKey[] => {
    const path = [last];
    for (let at = step; at?.segment !== undefined; at = at.parent) path.push(at.segment);
    return path.reverse();
  };
  const stack: Step[] = [{ node: raw, segment: undefined, parent: undefined }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { node } = step;
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        if (typeof child === 'object' && child !== null)
          stack.push({ node: child, segment: i, parent: step });
      });
    } else if (isObject(node)) {
      for (const key of Object.keys(node)) {
        if (RESERVED_NAMES.has(key)) {
          add(pathOf(step, key), `the key "${key}" is reserved by JavaScript and cannot be used`, {
            key: true,
          });
          continue;
        }
        const child = node[key];
        if (typeof child === 'object' && child !== null)
          stack.push({ node: child, segment: key, parent: step });
      }
    }
  }
}

/** Rules that involve more than one key. Works on the raw value so it can run beside zod. */
/** The keys that only mean something beside a system's `check`. */
const CHECK_SETTINGS = ['check_interval', 'check_timeout', 'rise', 'fall'] as const;

/** Characters an item of a system with a lease program may not hold: whitespace and controls. */
const LEASE_ITEM_UNSAFE = /[\s\p{Cc}]/u;

function checkCrossFields(raw: Record<string, unknown>, add: Add): void {
  const servers = isObject(own(raw, 'servers')) ? (raw.servers as Record<string, unknown>) : undefined;
  const cluster = isObject(own(raw, 'cluster')) ? (raw.cluster as Record<string, unknown>) : undefined;
  const systems =
    cluster && isObject(own(cluster, 'system')) ? (cluster.system as Record<string, unknown>) : {};
  const serverIds = servers ? Object.keys(servers) : [];
  const systemNames = Object.keys(systems);
  const id = own(raw, 'id');

  if (servers && serverIds.length === 0) add(['servers'], 'must list at least one server');
  if (typeof id === 'string' && id !== '' && servers && !Object.hasOwn(servers, id)) {
    const hint = id.length <= 64 ? didYouMean(id, serverIds) : undefined;
    add(
      ['id'],
      `${quote(id)} is not a server in servers${hint ? ` (did you mean "${hint}"?)` : ''}; servers: ${listSome(serverIds)}`,
    );
  }
  for (const [earlier, later] of tagCollisions(serverIds))
    add(
      ['servers', later],
      `its id has the same 32-bit wire tag as ${quote(earlier)}'s (a chance of about one in four billion a pair): packets could not tell them apart; rename one of them`,
      { key: true },
    );
  const quorum = own(raw, 'quorum');
  if (typeof quorum === 'number' && servers && quorum > serverIds.length) {
    add(['quorum'], `${quorum} is larger than the number of servers (${serverIds.length})`);
  }
  // Under `release`, no two owners rests on any two quorums sharing a server (docs/SAFETY.md): a
  // quorum of half the servers or fewer lets both halves of a partition hold the same items.
  const releasing = Object.values(systems).some(
    (system) =>
      isObject(system) && (own(system, 'no_quorum_policy') ?? own(raw, 'no_quorum_policy')) === 'release',
  );
  if (
    typeof quorum === 'number' &&
    Number.isInteger(quorum) &&
    servers &&
    quorum <= serverIds.length &&
    quorum * 2 <= serverIds.length &&
    releasing
  ) {
    add(
      ['quorum'],
      `${quorum} of ${serverIds.length} servers is not a majority: under no_quorum_policy "release" the two halves of a partition could each hold the same items; set it to at least ${Math.floor(serverIds.length / 2) + 1}, or leave it out (a majority of the servers, following their number)`,
    );
  }
  const keys = own(raw, 'key');
  if (Array.isArray(keys)) {
    const seen = new Set<unknown>();
    keys.forEach((key, i) => {
      if (seen.has(key)) add(['key', i], 'is listed twice');
      seen.add(key);
    });
  }

  const endpoints = new Map<string, string>();
  const memberCount = new Map<string, number>(systemNames.map((name) => [name, 0]));
  for (const serverId of serverIds) {
    const server = servers?.[serverId];
    if (!isObject(server)) continue;
    const ip = own(server, 'ip');
    const port = own(server, 'port');
    if (typeof ip === 'string' && ip !== '') {
      const problem = addressProblem(ip);
      if (problem !== undefined) add(['servers', serverId, 'ip'], `${quote(ip)} ${problem}`);
      else if (typeof port === 'number') {
        const endpoint = formatEndpoint(canonicalAddress(ip), port);
        const other = endpoints.get(endpoint);
        if (other !== undefined)
          add(['servers', serverId, 'port'], `${endpoint} is already used by server ${quote(other)}`);
        else endpoints.set(endpoint, serverId);
      }
    }
    checkApi(serverId, own(server, 'api'), add);
    const memberOf = own(server, 'systems');
    if (Array.isArray(memberOf)) {
      const seen = new Set<unknown>();
      memberOf.forEach((name, i) => {
        if (typeof name !== 'string' || name === '') return;
        if (seen.has(name)) add(['servers', serverId, 'systems', i], `names system ${quote(name)} twice`);
        seen.add(name);
        if (!Object.hasOwn(systems, name)) {
          const hint = name.length <= 64 ? didYouMean(name, systemNames) : undefined;
          add(
            ['servers', serverId, 'systems', i],
            `unknown system ${quote(name)}${hint ? ` (did you mean "${hint}"?)` : ''}; cluster.system defines: ${listSome(systemNames)}`,
          );
        } else memberCount.set(name, (memberCount.get(name) ?? 0) + 1);
      });
    }
  }

  const clusterConfig = cluster ? own(cluster, 'config') : undefined;
  for (const name of systemNames) {
    const system = systems[name];
    if (servers && memberCount.get(name) === 0) {
      add(
        ['cluster', 'system', name],
        `system ${quote(name)} has no members: no server lists it in its systems`,
        {
          key: true,
        },
      );
    }
    if (!isObject(system)) continue;
    const data = own(system, 'data');
    if (Array.isArray(data)) {
      const firstIndex = new Map<unknown, number>();
      data.forEach((item, i) => {
        const first = firstIndex.get(item);
        if (first !== undefined)
          add(
            ['cluster', 'system', name, 'data', i],
            `duplicate item ${typeof item === 'string' ? quote(item) : String(item)} (also at [${first}])`,
          );
        else firstIndex.set(item, i);
      });
      // A lease program reads items from space-separated lines (see scripts/linux/README.md).
      if (typeof own(system, 'lease') === 'string') {
        data.forEach((item, i) => {
          if (typeof item === 'string' && LEASE_ITEM_UNSAFE.test(item))
            add(
              ['cluster', 'system', name, 'data', i],
              `${quote(item)} contains a space or a control character, which a system with a lease program cannot renew (its items travel as words on a line)`,
            );
        });
      }
    }
    // A check's settings without a check would be defaults the operator believes in but never get.
    if (own(system, 'check') === undefined) {
      for (const key of CHECK_SETTINGS)
        if (own(system, key) !== undefined)
          add(['cluster', 'system', name, key], 'has no effect without a check script (set check too)', {
            key: true,
          });
    }
    checkScriptConfig(name, clusterConfig, own(system, 'config'), add);
  }
}

/**
 * A server's `api`: a listen address that parses, one token source at most, and a token when
 * it listens beyond loopback (there every read but health and metrics needs it).
 */
function checkApi(serverId: string, api: unknown, add: Add): void {
  if (!isObject(api)) return;
  const listen = own(api, 'listen');
  const token = own(api, 'token');
  const tokenFile = own(api, 'token_file');
  const path = ['servers', serverId, 'api'];
  if (token !== undefined && tokenFile !== undefined)
    add([...path, 'token_file'], 'set either token or token_file, not both', { key: true });
  if (typeof listen !== 'string' || listen === API_OFF || listen === '') return;
  const parsed = parseListen(listen);
  if ('problem' in parsed) {
    add([...path, 'listen'], parsed.problem);
    return;
  }
  if (!isLoopback(parsed.host) && token === undefined && tokenFile === undefined)
    add(
      [...path, 'listen'],
      `${quote(listen)} is beyond loopback, so the API needs a token there: set api.token or api.token_file (or listen on 127.0.0.1)`,
    );
}

/** A server's API as the agent uses it. */
function normaliseApi(server: RawConfig['servers'][string]): ApiConfig | undefined {
  const api = server.api;
  if (api === false || api?.listen === API_OFF) return undefined;
  const fallback = defaultApi(server);
  const parsed = api?.listen === undefined ? undefined : parseListen(api.listen);
  const where = parsed === undefined || 'problem' in parsed ? fallback : parsed;
  return {
    host: where.host,
    port: where.port,
    token: api?.token,
    token_file: api?.token_file,
    loopback: isLoopback(where.host),
  };
}

/**
 * A system's merged config reaches its scripts as JSON, as an argument and in FLIP_CONFIG:
 * bound its size, and its nesting, which JSON.stringify would otherwise overflow at run time.
 */
function checkScriptConfig(name: string, clusterConfig: unknown, systemConfig: unknown, add: Add): void {
  const path = isObject(systemConfig) ? ['cluster', 'system', name, 'config'] : ['cluster', 'config'];
  for (const [where, part] of [
    [['cluster', 'config'], clusterConfig],
    [['cluster', 'system', name, 'config'], systemConfig],
  ] as const) {
    const depth = nestingDepth(part);
    if (depth > SYSTEM_CONFIG_DEPTH_MAX) {
      add(where, `is nested ${depth} levels deep; at most ${SYSTEM_CONFIG_DEPTH_MAX}`);
      return;
    }
  }
  const merged = {
    ...(isObject(clusterConfig) ? clusterConfig : {}),
    ...(isObject(systemConfig) ? systemConfig : {}),
  };
  const bytes = Buffer.byteLength(JSON.stringify(merged));
  if (bytes > SYSTEM_CONFIG_BYTES_MAX)
    add(
      path,
      `is ${bytes.toLocaleString('en-US')} bytes as JSON (merged with cluster.config); at most ${SYSTEM_CONFIG_BYTES_MAX.toLocaleString('en-US')}: the scripts get it as an argument and in FLIP_CONFIG, which Linux bounds`,
    );
}

/** How deeply objects and lists nest in `value` (a scalar is 0), without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > SYSTEM_CONFIG_DEPTH_MAX) return deepest;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return deepest;
}

function normalise(raw: RawConfig): Omit<FlipConfig, 'id' | 'id_from'> {
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
        api: normaliseApi(server),
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
    no_quorum_policy: system.no_quorum_policy ?? raw.no_quorum_policy ?? DEFAULTS.no_quorum_policy,
    lease: system.lease,
    fence_ms: system.fence ?? DEFAULTS.fence_ms,
    check: system.check,
    check_interval_ms: system.check_interval ?? DEFAULTS.check_interval_ms,
    check_timeout_ms: system.check_timeout ?? DEFAULTS.check_timeout_ms,
    rise: system.rise ?? DEFAULTS.rise,
    fall: system.fall ?? DEFAULTS.fall,
    hold_down_ms: system.hold_down ?? raw.hold_down ?? DEFAULTS.hold_down_ms,
    preempt: system.preempt ?? raw.preempt ?? DEFAULTS.preempt,
  }));

  const logLevel = raw.log_level ?? DEFAULTS.log_level;
  return {
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
    no_quorum_policy: raw.no_quorum_policy ?? DEFAULTS.no_quorum_policy,
    state_dir: raw.state_dir ?? DEFAULTS.state_dir,
    hold_down_ms: raw.hold_down ?? DEFAULTS.hold_down_ms,
    preempt: raw.preempt ?? DEFAULTS.preempt,
    cluster_config: clusterConfig,
    systems,
  };
}
