/**
 * Reading the parts of a config document (the config file's JSON shape) that changes touch,
 * without trusting its shape: a part that is missing or malformed reads as empty, and the config's
 * own validation, run on every result (apply.ts), names what is wrong with it.
 */
import type { ConfigDocument } from '../state/cluster-state.js';

export type JsonObject = { [key: string]: unknown };

/** `value` when it is a plain object, else an empty one. */
export function objectOr(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

/** The object's own value at `key`, never one inherited from Object.prototype. */
export function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** `servers`, by id. */
export function serversOf(config: ConfigDocument): JsonObject {
  return objectOr(own(config, 'servers'));
}

/** `cluster.system`, by name. */
export function systemsOf(config: ConfigDocument): JsonObject {
  return objectOr(own(objectOr(own(config, 'cluster')), 'system'));
}

/** A system's `data`, in the document's order. */
export function itemsOf(system: unknown): unknown[] {
  const data = own(objectOr(system), 'data');
  return Array.isArray(data) ? data : [];
}

/** The systems a server lists (its `systems`), in its order. */
export function membershipOf(server: unknown): unknown[] {
  const systems = own(objectOr(server), 'systems');
  return Array.isArray(systems) ? systems : [];
}

/** The ids of the servers that list `system` in their `systems`, in the document's order. */
export function membersOf(config: ConfigDocument, system: string): string[] {
  const servers = serversOf(config);
  return Object.keys(servers).filter((id) => membershipOf(servers[id]).includes(system));
}
