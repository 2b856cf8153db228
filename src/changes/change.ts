/**
 * The runtime changes to a cluster's configuration (issue 12): one kind per command of
 * `flip data|server|system`. A change is what the API receives, what the consensus replicates in
 * its log and what every server folds, in log order, into the committed config (a config document
 * in the config file's JSON shape, state/cluster-state.ts).
 *
 * The kind names and field names are stored in logs and state files, so they are protocol:
 * never rename one; add a kind or an optional field instead. Field names follow the config file's
 * own keys (`ip`, `port`, `priority`, `systems`, a system's keys), so that a change reads like the
 * part of a config file it writes.
 *
 * What each kind does to a document is apply.ts's; the shape a change must have, with the
 * messages for one that does not, is parse-change.ts's.
 */
import type { RawConfig } from '../config/schema.js';

/** A system as a config file writes it under `cluster.system.<name>` (config/schema.ts). */
export type SystemDocument = NonNullable<RawConfig['cluster']['system']>[string];

/** The keys of a system that a system_set may not remove: a system cannot run without them. */
export const SYSTEM_KEYS_REQUIRED = ['alive', 'down', 'type'] as const;
type RequiredKey = (typeof SYSTEM_KEYS_REQUIRED)[number];

/**
 * Keys a system_set leaves alone: `data` changes only through data_add and data_rm, which name each
 * item (so that two operators adding different items never overwrite each other's list).
 */
export const SYSTEM_KEYS_NOT_SETTABLE = ['data'] as const;
type NotSettableKey = (typeof SYSTEM_KEYS_NOT_SETTABLE)[number];

/**
 * The values of a system_set: any key of a system but `data`, with the config file's name and
 * value. `null` removes an optional key, so that the system takes its default again (`check:
 * null` turns a health check off, `delay: null` goes back to 500 ms).
 */
export type SystemSettings = {
  [K in Exclude<keyof SystemDocument, NotSettableKey>]?: K extends RequiredKey
    ? SystemDocument[K]
    : Exclude<SystemDocument[K], undefined> | null;
};

/** Adds items at the end of a system's `data`, in the order given; none may be there already. */
export interface DataAdd {
  kind: 'data_add';
  system: string;
  items: string[];
  base_version: number;
}

/** Removes items from a system's `data`; each must be there. The others keep their order. */
export interface DataRm {
  kind: 'data_rm';
  system: string;
  items: string[];
  base_version: number;
}

/**
 * Adds a server (`servers.<id>`), a member of `systems` from the start. A membership change of
 * the consensus: one server at a time, which is why a change names exactly one.
 */
export interface ServerAdd {
  kind: 'server_add';
  id: string;
  ip: string;
  port: number;
  /** As the config file's `priority`: lower is first; absent sorts last. */
  priority?: number;
  /** Systems it is a member of; absent or empty makes it an arbiter. */
  systems?: string[];
  base_version: number;
}

/**
 * Removes a server, and so its membership of every system (membership is the server's own
 * `systems` list). One server at a time, as server_add.
 */
export interface ServerRm {
  kind: 'server_rm';
  id: string;
  base_version: number;
}

/** Sets keys of a system (`null` removes an optional one); see SystemSettings. */
export interface SystemSet {
  kind: 'system_set';
  system: string;
  values: SystemSettings;
  base_version: number;
}

/**
 * Adds a system with its whole definition, as a config file writes it, and makes `members` (at
 * least one: a system needs a member) list it in their `systems`.
 */
export interface SystemAdd {
  kind: 'system_add';
  system: string;
  definition: SystemDocument;
  members: string[];
  base_version: number;
}

/** Removes a system, and its name from every server's `systems`. */
export interface SystemRm {
  kind: 'system_rm';
  system: string;
  base_version: number;
}

/**
 * A change to the cluster's configuration. `base_version` is the committed version the client
 * saw when it made the change (0: the config file, before anything was committed); the leader
 * uses it to find the changes committed since, and refuses this one only when it conflicts with
 * one of them (conflicts.ts).
 */
export type ConfigChange = DataAdd | DataRm | ServerAdd | ServerRm | SystemSet | SystemAdd | SystemRm;

/** Every kind, in the order of the commands. */
export const CHANGE_KINDS = [
  'data_add',
  'data_rm',
  'server_add',
  'server_rm',
  'system_set',
  'system_add',
  'system_rm',
] as const satisfies readonly ConfigChange['kind'][];

export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Whether a change alters the set of servers, and so the consensus's majorities. */
export function isServerChange(change: ConfigChange): change is ServerAdd | ServerRm {
  return change.kind === 'server_add' || change.kind === 'server_rm';
}
