/**
 * Where an agent starts: from its config file or from its stored cluster state, whichever is
 * newer, or nowhere when the stored state cannot be trusted. Pure: the caller reads the file and
 * the state (StateFile.load) and acts on the answer.
 *
 * Newer means a higher config version. A version is given only by a majority's commit, so the
 * config file, one host's text, has none of its own: it counts as version 0, the seed a server
 * starts from before the cluster has committed anything. Hence:
 * - no stored state, or one in which nothing is committed yet: the file (version 0);
 * - a stored state with a committed config (version 1 or more): that config. The file is not
 *   thrown away: when it differs from `file_base`, the file as this server last took it in, it
 *   was edited while the agent was away, and the edit (from `file_base` to the file) comes back
 *   as `file_edit`, for the consensus to commit as a change like any other. The edit is not in
 *   force before that commit; `file_base` becomes the file only then.
 * Raft's own state (current_term, voted_for, the log) is kept whatever config the agent starts
 * from: forgetting a vote could let this server vote twice in one term.
 *
 * A corrupt state, or one written by another server, refuses the start with the file and the
 * reason: starting from the config file instead would silently undo committed changes and
 * forget the vote. docs/STATE.md says how an operator recovers.
 */
import { quote } from '../text/quote.js';
import { type ClusterState, type ConfigDocument, initialClusterState } from './cluster-state.js';
import { sameJson } from './json-equal.js';
import type { StateLoad } from './state-file.js';

/** An edit of the config file made while the agent was away: the change from `base` to `file`. */
export interface FileEdit {
  base: ConfigDocument;
  file: ConfigDocument;
}

export type StartPoint =
  | {
      kind: 'start';
      /** Where the config comes from. */
      from: 'file' | 'stored';
      /** Its version: 0 for the file. */
      version: number;
      config: ConfigDocument;
      /** The state to run with (and to save before the first vote or append). */
      state: ClusterState;
      /** An edit of the file to commit as a change; only when starting from the stored state. */
      file_edit: FileEdit | undefined;
    }
  | {
      kind: 'refuse';
      /** The state file, and what is wrong with it. */
      path: string;
      reason: string;
      /** One line for the operator: the file, the reason, and where the remedy is. */
      message: string;
    };

export interface StartInput {
  /** This server's id. */
  server: string;
  /** The config file's content, in its JSON shape (the part that the cluster shares). */
  file: ConfigDocument;
  /** What loading the cluster-state file found. */
  stored: StateLoad<ClusterState>;
}

export function startFrom({ server, file, stored }: StartInput): StartPoint {
  if (stored.kind === 'corrupt') return refuse(stored.path, stored.reason);
  if (stored.kind === 'missing') return fromFile(file, initialClusterState(server, file));
  const state = stored.doc;
  if (state.server !== server)
    return refuse(stored.path, `it is the state of server ${quote(state.server)}, not of ${quote(server)}`);
  if (state.committed === null) return fromFile(file, { ...state, file_base: file });
  return {
    kind: 'start',
    from: 'stored',
    version: state.committed.version,
    config: state.committed.config,
    state,
    file_edit: sameJson(state.file_base, file) ? undefined : { base: state.file_base, file },
  };
}

function fromFile(file: ConfigDocument, state: ClusterState): StartPoint {
  return { kind: 'start', from: 'file', version: 0, config: file, state, file_edit: undefined };
}

function refuse(path: string, reason: string): StartPoint {
  return {
    kind: 'refuse',
    path,
    reason,
    message: `cannot start from the cluster state ${path}: ${reason}; nothing of it was applied (to recover, see "Recovering from a bad state file" in docs/STATE.md)`,
  };
}
