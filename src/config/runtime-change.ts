/**
 * What a running agent can take of a new config without a restart: today, the items (`data`) of
 * its systems. Everything else (servers, keys, timings, scripts, policies) is named as needing a
 * restart, field by field, so that a reload says exactly what it did not apply.
 *
 * Pure: compares two validated configs of the same server.
 */
import { sameJson } from '../state/json-equal.js';
import type { FlipConfig, SystemConfig } from './validate.js';

export type RuntimeChange =
  /** Nothing that the agent acts on differs. */
  | { kind: 'unchanged' }
  /** Only the items of some systems differ: the new `data` of each, by system name. */
  | { kind: 'data'; systems: ReadonlyMap<string, readonly string[]> }
  /** Fields that a running agent cannot take (dotted paths, e.g. `systems.vip.alive`). */
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
  const data = new Map<string, readonly string[]>();
  const names = current.systems.map((system) => system.name);
  const nextNames = next.systems.map((system) => system.name);
  if (!sameJson(names, nextNames)) {
    fields.push('systems');
  } else {
    current.systems.forEach((system, index) => {
      const other = next.systems[index]!;
      fields.push(...systemFields(system, other).map((field) => `systems.${system.name}.${field}`));
      if (!sameJson(system.data, other.data)) data.set(system.name, [...other.data]);
    });
  }
  if (fields.length > 0) return { kind: 'restart', fields };
  if (data.size > 0) return { kind: 'data', systems: data };
  return { kind: 'unchanged' };
}

/** The fields of a system, other than its items, that differ. */
function systemFields(a: SystemConfig, b: SystemConfig): string[] {
  const fields: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (key === 'data') continue;
    const left = (a as unknown as Record<string, unknown>)[key];
    const right = (b as unknown as Record<string, unknown>)[key];
    if (!sameJson(left ?? null, right ?? null)) fields.push(key);
  }
  return fields;
}
