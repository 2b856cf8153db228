/**
 * What a running agent can take of a new config without a restart. runtimeChange: the items
 * (`data`) of its systems, and the system settings that only change where items go or how their
 * scripts run (SYSTEM_FIELDS_AT_RUNTIME); everything else is named as needing a restart, field by
 * field. committedChange widens that to the lists (servers and systems added, removed or
 * redefined), which an agent takes in process too; what is left for a restart is named, so that a
 * reload or a committed version says exactly what it did not apply.
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

/**
 * The config file's (and a system_set's) key of every field of a system that a change may set:
 * all but its name, items and members. A reload proposes the keys whose fields differ.
 */
export const SYSTEM_SETTING_KEYS: Readonly<
  Record<Exclude<keyof SystemConfig, 'name' | 'data' | 'members'>, keyof SystemSettings>
> = {
  ...RUNTIME_SETTING_KEYS,
  config: 'config',
  no_quorum_policy: 'no_quorum_policy',
  lease: 'lease',
  fence_ms: 'fence',
  check: 'check',
  check_interval_ms: 'check_interval',
  check_timeout_ms: 'check_timeout',
  rise: 'rise',
  fall: 'fall',
  hold_down_ms: 'hold_down',
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
 * System fields that a running agent takes only at a restart, even when the rest of a change is
 * taken in process: a system's lease program and its fence. The others wait a silent holder's
 * fence before they take its items (handover/fence.ts), each by the fence of its own config. A
 * fence made shorter in process on the majority, while a holder cut off from them runs on with
 * the longer one, would let them take its items before it has let go of them.
 */
export const SYSTEM_FIELDS_AT_RESTART = [
  'lease',
  'fence_ms',
] as const satisfies readonly (keyof SystemConfig)[];
const AT_RESTART: ReadonlySet<string> = new Set(SYSTEM_FIELDS_AT_RESTART);

/**
 * System fields whose change makes the system's members let go of what they hold of it before
 * they take the new definition (systemsToRetire): `config`, with which a held item was set up. Its
 * `down` must be given the config its `alive` had, and the new `alive` the new one.
 */
export const SYSTEM_SETUP_FIELDS = ['config'] as const satisfies readonly (keyof SystemConfig)[];
const SETUP: ReadonlySet<string> = new Set(SYSTEM_SETUP_FIELDS);

/**
 * A change of the cluster's lists that a running agent takes in process: servers added, removed
 * or moved in priority order (MembershipDriver.setServers), systems added, removed or redefined,
 * and servers joining or leaving systems, with what follows (the default `quorum`, the systems'
 * `members`). This server's own entry stays as it is but for its systems and its place.
 */
export interface ListsChange {
  kind: 'lists';
  /** The new definition of every system that is new or differs, by name. */
  systems: ReadonlyMap<string, SystemConfig>;
  /** The systems the new config no longer has. */
  removed: string[];
  /** What differs (dotted paths; `systems.NAME` for a system added or removed). */
  fields: string[];
}

/** Top-level fields that follow the server list. */
const LIST_FIELDS: ReadonlySet<string> = new Set(['servers', 'quorum']);

/**
 * What a running agent does with a committed version `next` (agent.ts, and the simulator alike):
 * runtimeChange's answer, except that a difference only in the lists (servers, systems, which
 * server is a member of what) is a `lists` change when this server's own entry stays as it is (its
 * address, port and API; its systems and its place in the order may change), and no kept system
 * changes a field of SYSTEM_FIELDS_AT_RESTART. Anything else still needs a restart.
 */
export function committedChange(current: FlipConfig, next: FlipConfig): RuntimeChange | ListsChange {
  const change = runtimeChange(current, next);
  if (change.kind !== 'restart') return change;
  const top = change.fields.filter((field) => field !== 'systems' && !field.startsWith('systems.'));
  if (!top.every((field) => LIST_FIELDS.has(field)) || !sameOwnEntry(current, next)) return change;
  const before = new Map(current.systems.map((system) => [system.name, system]));
  const systems = new Map<string, SystemConfig>();
  const fields = [...top];
  const restart: string[] = [];
  for (const system of next.systems) {
    const old = before.get(system.name);
    if (old === undefined) {
      systems.set(system.name, system);
      fields.push(`systems.${system.name}`);
      continue;
    }
    const changed = systemFields(old, system);
    if (changed.length === 0) continue;
    systems.set(system.name, system);
    for (const field of changed)
      (AT_RESTART.has(field) ? restart : fields).push(`systems.${system.name}.${field}`);
  }
  if (restart.length > 0) return { kind: 'restart', fields: restart };
  const kept = new Set(next.systems.map((system) => system.name));
  const removed = current.systems.map((system) => system.name).filter((name) => !kept.has(name));
  for (const name of removed) fields.push(`systems.${name}`);
  return { kind: 'lists', systems, removed, fields };
}

/**
 * The systems this server must let go of before it takes `next` (break-before-make on its own
 * host): those it is a member of in `current` that `next` removes, that it leaves, or whose
 * SYSTEM_SETUP_FIELDS change. CommittedVersions empties their items first, and takes `next` once
 * nothing of them may be configured here.
 */
export function systemsToRetire(current: FlipConfig, next: FlipConfig): string[] {
  const after = new Map(next.systems.map((system) => [system.name, system]));
  return current.systems
    .filter((system) => {
      if (!system.members.includes(current.id)) return false;
      const other = after.get(system.name);
      if (other === undefined || !other.members.includes(next.id)) return true;
      return systemFields(system, other).some((field) => SETUP.has(field));
    })
    .map((system) => system.name);
}

/** Whether this server's own entry is the same in both (but for its place and its systems). */
function sameOwnEntry(current: FlipConfig, next: FlipConfig): boolean {
  const own = (config: FlipConfig) => {
    const server = config.servers.find((entry) => entry.id === config.id);
    if (server === undefined) return undefined;
    const { index: _index, priority: _priority, systems: _systems, ...rest } = server;
    return rest;
  };
  const before = own(current);
  return before !== undefined && sameJson(before, own(next) ?? null);
}
