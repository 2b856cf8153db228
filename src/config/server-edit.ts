/**
 * The servers that an edit of the config file adds and removes: a reload proposes them to the
 * cluster as `server_rm` and `server_add` changes (issue 12), as `flip server rm|add` would, and
 * judges the rest of the edit against the config as it is once they are made.
 *
 * Pure: compares two validated configs of the same server.
 */
import { sameJson } from '../state/json-equal.js';
import { defaultQuorum } from './defaults.js';
import type { FlipConfig, ServerConfig } from './validate.js';

export type ServerEdit =
  /**
   * Servers only added or removed (either list may be empty): `after` is `current` with the
   * servers of `next`, their systems' members, and the quorum when both follow the server count;
   * without the systems `next` removes (the rest of the edit is judged against it).
   */
  | { kind: 'servers'; add: ServerConfig[]; rm: string[]; after: FlipConfig }
  /**
   * A server in both changed (address, port, priority, API, or which of the kept systems it is a
   * member of): no change kind does that.
   */
  | { kind: 'changed'; fields: string[] };

export function serverEdit(current: FlipConfig, next: FlipConfig): ServerEdit {
  const before = new Map(current.servers.map((server) => [server.id, server]));
  const now = new Map(next.servers.map((server) => [server.id, server]));
  const fields: string[] = [];
  // A system added or removed puts its name in, or takes it out of, its members' `systems`: that
  // is the system's change (system_add, system_rm), not the server's.
  const inBoth = new Set(
    current.systems
      .map((system) => system.name)
      .filter((name) => next.systems.some((system) => system.name === name)),
  );
  const kept = (systems: readonly string[]) => systems.filter((name) => inBoth.has(name));
  for (const [id, server] of before) {
    const other = now.get(id);
    if (other === undefined) continue;
    for (const key of ['ip', 'port', 'priority', 'api'] as const)
      if (!sameJson(server[key] ?? null, other[key] ?? null)) fields.push(`servers.${id}.${key}`);
    if (!sameJson(kept(server.systems), kept(other.systems))) fields.push(`servers.${id}.systems`);
  }
  if (fields.length > 0) return { kind: 'changed', fields };
  const add = next.servers.filter((server) => !before.has(server.id));
  const rm = current.servers.filter((server) => !now.has(server.id)).map((server) => server.id);
  const follows = (config: FlipConfig) => config.quorum === defaultQuorum(config.servers.length);
  const after: FlipConfig = {
    ...current,
    servers: next.servers,
    servers_as_written: next.servers_as_written,
    quorum: follows(current) && follows(next) ? next.quorum : current.quorum,
    systems: current.systems
      .filter((system) => inBoth.has(system.name))
      .map((system) => ({
        ...system,
        members: next.servers
          .filter((server) => server.systems.includes(system.name))
          .map((server) => server.id),
      })),
  };
  return { kind: 'servers', add, rm, after };
}
