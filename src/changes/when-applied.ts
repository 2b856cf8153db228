/**
 * When the running agents act on a committed change (config/runtime-change.ts decides, agent by
 * agent): at once (items, servers and systems added or removed, and a system's settings), except a
 * system's lease program and fence, which each agent takes at its next start (docs/CHANGES.md). A
 * new `config` is taken up anew: each member takes the system's items down, then up again with it.
 * The server that a server_rm removes leaves by itself at once, and the others take the change
 * once it has left. For what a change command prints after the version it committed.
 *
 * Pure.
 */
import { SYSTEM_FIELDS_AT_RESTART, SYSTEM_SETTING_KEYS } from '../config/runtime-change.js';
import type { ConfigChange } from './change.js';

export type WhenApplied =
  | { kind: 'at_once' }
  /** Each agent at its next start; `keys`: for a system_set, the keys that wait (others apply at once). */
  | { kind: 'at_restart'; keys?: string[] }
  /** The running agents take the server added at once; it starts with `flip agent --join`. */
  | { kind: 'joins'; id: string }
  /** The removed server leaves by itself; the others take the change once it has left. */
  | { kind: 'removed_leaves'; id: string }
  /** A system's new `config`: each member takes its items down, then up again with it, at once. */
  | { kind: 'set_up_anew'; system: string };

const AT_RESTART_KEYS: ReadonlySet<string> = new Set(
  SYSTEM_FIELDS_AT_RESTART.map((field) => SYSTEM_SETTING_KEYS[field]),
);

export function whenApplied(change: ConfigChange): WhenApplied {
  switch (change.kind) {
    case 'data_add':
    case 'data_rm':
      return { kind: 'at_once' };
    case 'server_rm':
      return { kind: 'removed_leaves', id: change.id };
    case 'server_add':
      return { kind: 'joins', id: change.id };
    case 'system_add':
    case 'system_rm':
      return { kind: 'at_once' };
    case 'system_set': {
      const keys = Object.keys(change.values).filter((key) => AT_RESTART_KEYS.has(key));
      if (keys.length > 0) return { kind: 'at_restart', keys };
      return Object.hasOwn(change.values, 'config')
        ? { kind: 'set_up_anew', system: change.system }
        : { kind: 'at_once' };
    }
  }
}

/** A line for the operator about a change that does not all apply at once; undefined when it does. */
export function whenAppliedLine(when: WhenApplied): string | undefined {
  const restart = 'restart the agents one at a time (docs/CHANGES.md)';
  switch (when.kind) {
    case 'at_once':
      return undefined;
    case 'joins':
      return `the running agents took ${when.id} in at once; start its agent with flip agent --join (docs/CHANGES.md)`;
    case 'removed_leaves':
      return `${when.id} leaves by itself; the other agents take this once it has left`;
    case 'set_up_anew':
      return `each member of ${when.system} takes its items down, then up again with the new config`;
    case 'at_restart':
      return when.keys === undefined
        ? `the running agents take this at their next start: ${restart}`
        : `${when.keys.join(', ')}: the running agents take ${when.keys.length === 1 ? 'it' : 'them'} at their next start (the rest applied at once): ${restart}`;
  }
}
