/**
 * What a running agent can take of a new config without a restart: the items (`data`) of its
 * systems, and the system settings that only change where items go or how their scripts run
 * (SYSTEM_FIELDS_AT_RUNTIME). Everything else (servers, keys, timings, a system's `config`,
 * lease, checks and policy) is named as needing a restart, field by field, so that a reload says
 * exactly what it did not apply.
 *
 * Pure: compares two validated configs of the same server.
 */
import type { SystemSettings } from '../changes/change.js';
import { sameJson } from '../state/json-equal.js';
import type { FlipConfig, SystemConfig } from './validate.js';

/**
 * The fields of a system that a running agent takes at once. Placement: the items, `type` and
 * `preempt` (items that move because of them hand over break-before-make, as for any change of
 * placement). Scripts: `alive`, `down`, `delay_ms` and `script_timeout_ms` apply to the scripts
 * that start after the change (a running one finishes as it was started). A system's `config`
 * is not among them: a held item was set up with the old one, which its `down` must be given.
 */
export const SYSTEM_FIELDS_AT_RUNTIME = [
  'data',
  'type',
  'preempt',
  'alive',
  'down',
  'delay_ms',
  'script_timeout_ms',
] as const satisfies readonly (keyof SystemConfig)[];
export type SystemFieldAtRuntime = (typeof SYSTEM_FIELDS_AT_RUNTIME)[number];
const AT_RUNTIME: ReadonlySet<string> = new Set(SYSTEM_FIELDS_AT_RUNTIME);

/** The config file's (and a system_set's) key of each field a running agent takes at once, but `data`. */
export const RUNTIME_SETTING_KEYS: Readonly<
  Record<Exclude<SystemFieldAtRuntime, 'data'>, keyof SystemSettings>
> = {
  type: 'type',
  preempt: 'preempt',
  alive: 'alive',
  down: 'down',
  delay_ms: 'delay',
  script_timeout_ms: 'script_timeout',
};

export type RuntimeChange =
  /** Nothing that the agent acts on differs. */
  | { kind: 'unchanged' }
  /**
   * Only fields of SYSTEM_FIELDS_AT_RUNTIME differ: the new definition of each system that
   * changed, by name, and the fields that changed (dotted paths, e.g. `systems.vip.type`).
   */
  | { kind: 'systems'; systems: ReadonlyMap<string, SystemConfig>; fields: string[] }
  /** Fields that a running agent cannot take (dotted paths, e.g. `systems.vip.config`). */
  | { kind: 'restart'; fields: string[] };

/** Top-level fields that do not change what the agent does (display only). */
const IGNORED: ReadonlySet<string> = new Set(['servers_as_written']);

/** Compares `next` with the `current` config of the same agent. */
export function runtimeChange(current: FlipConfig, next: FlipConfig): RuntimeChange {
  const fields: string[] = [];
  const keys = new Set([...Object.keys(current), ...Object.keys(next)]);
  for (const key of keys) {
    if (key === 'systems' || IGNORED.has(key)) continue;
    const a = (current as unknown as Record<string, unknown>)[key];
    const b = (next as unknown as Record<string, unknown>)[key];
    if (!sameJson(a ?? null, b ?? null)) fields.push(key);
  }
  const systems = new Map<string, SystemConfig>();
  const atRuntime: string[] = [];
  const names = current.systems.map((system) => system.name);
  const nextNames = next.systems.map((system) => system.name);
  if (!sameJson(names, nextNames)) {
    fields.push('systems');
  } else {
    current.systems.forEach((system, index) => {
      const other = next.systems[index]!;
      const changed = systemFields(system, other);
      for (const field of changed)
        (AT_RUNTIME.has(field) ? atRuntime : fields).push(`systems.${system.name}.${field}`);
      if (changed.length > 0) systems.set(system.name, other);
    });
  }
  if (fields.length > 0) return { kind: 'restart', fields };
  if (systems.size > 0) return { kind: 'systems', systems, fields: atRuntime };
  return { kind: 'unchanged' };
}

/** The fields of a system that differ. */
function systemFields(a: SystemConfig, b: SystemConfig): string[] {
  const fields: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const left = (a as unknown as Record<string, unknown>)[key];
    const right = (b as unknown as Record<string, unknown>)[key];
    if (!sameJson(left ?? null, right ?? null)) fields.push(key);
  }
  return fields;
}

/**
 * `current` with the fields of SYSTEM_FIELDS_AT_RUNTIME taken from `next`: what a running agent
 * makes of a changed system (the other fields wait for a restart).
 */
export function withRuntimeFields(current: SystemConfig, next: SystemConfig): SystemConfig {
  const merged: SystemConfig = { ...current };
  for (const field of SYSTEM_FIELDS_AT_RUNTIME)
    (merged as unknown as Record<string, unknown>)[field] = next[field];
  merged.data = [...next.data];
  return merged;
}

/**
 * A change of the server list that a running agent takes in process (MembershipDriver.setServers):
 * servers added, removed or moved in priority order, with what follows from that (the default
 * `quorum`, the systems' `members`), and any of SYSTEM_FIELDS_AT_RUNTIME. `systems`: the new
 * definition of every system that differs, by name.
 */
export interface ServersChange {
  kind: 'servers';
  systems: ReadonlyMap<string, SystemConfig>;
  fields: string[];
}

/** Top-level fields that follow the server list, and system fields that do. */
const SERVER_LIST_FIELDS: ReadonlySet<string> = new Set(['servers', 'quorum']);
const SYSTEM_SERVER_FIELDS: ReadonlySet<string> = new Set(['members']);

/**
 * What a running agent does with a committed version `next` (agent.ts, and the simulator alike):
 * runtimeChange's answer, except that a difference only in the server list (and what follows from
 * it) is a `servers` change when this server's own entry stays as it is (its address, port,
 * systems and API; its place in the order may move). Anything else still needs a restart.
 */
export function committedChange(current: FlipConfig, next: FlipConfig): RuntimeChange | ServersChange {
  const change = runtimeChange(current, next);
  if (change.kind !== 'restart') return change;
  const serverList = change.fields.every((field) => {
    if (SERVER_LIST_FIELDS.has(field)) return true;
    const [top, , key] = field.split('.');
    return top === 'systems' && key !== undefined && SYSTEM_SERVER_FIELDS.has(key);
  });
  if (!serverList || !sameOwnEntry(current, next)) return change;
  const systems = new Map<string, SystemConfig>();
  const fields = [...change.fields];
  current.systems.forEach((system, index) => {
    const other = next.systems[index]!;
    const changed = systemFields(system, other);
    if (changed.length === 0) return;
    systems.set(system.name, other);
    for (const field of changed) if (AT_RUNTIME.has(field)) fields.push(`systems.${system.name}.${field}`);
  });
  return { kind: 'servers', systems, fields };
}

/** Whether this server's own entry is the same in both (but for its index). */
function sameOwnEntry(current: FlipConfig, next: FlipConfig): boolean {
  const own = (config: FlipConfig) => {
    const server = config.servers.find((entry) => entry.id === config.id);
    if (server === undefined) return undefined;
    const { index: _index, priority: _priority, ...rest } = server;
    return rest;
  };
  const before = own(current);
  return before !== undefined && sameJson(before, own(next) ?? null);
}
