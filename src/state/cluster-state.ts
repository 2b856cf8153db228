/**
 * The cluster state: what the consensus over the cluster's configuration (issue 12, a Raft-style
 * replicated log) keeps on each server's disk, in `<state_dir>/<server id>/cluster-state`, saved
 * atomically before the server answers for it (state-file.ts) and read at start (start-from.ts).
 *
 * It is Raft's persistent state (currentTerm, votedFor, the log) with the log's committed prefix
 * folded into one config (Raft's snapshot, with its last included index and term), plus the config
 * file as this server last took it in, from which an edit of the file is turned into a change.
 *
 * The shape is checked on every load (CLUSTER_STATE_CHECK); a file whose checksum holds but whose
 * content breaks a rule below is reported corrupt, naming the field, and is never applied.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { NAME_BYTES_MAX } from '../config/limits.js';
import { textProblem } from '../config/text-rules.js';
import { zodCheck } from './document-check.js';
import { StateFile } from './state-file.js';

/** The kind written in the file's header. */
export const CLUSTER_STATE_KIND = 'cluster-state';

/** The file's name in the server's state directory (beside the script ledger). */
export const CLUSTER_STATE_FILE = 'cluster-state';

/**
 * A cluster config in the config file's JSON shape (the keys of config/schema.ts, as YAML or
 * JSON would parse to), so that `flip config show` can print it as a config file. It is checked
 * here only as a JSON object: the config's own validation (config/validate.ts) runs on it before
 * it is applied, with the config's messages.
 */
export type ConfigDocument = { [key: string]: unknown };

/** The newest config that this server knows a majority has stored. */
export interface CommittedConfig {
  /** The config version: 1 for the first change a majority committed, one more for each after. */
  version: number;
  /** The last log entry folded into `config` (Raft's last included index), and its term. */
  index: number;
  term: number;
  config: ConfigDocument;
}

/**
 * One entry of the replicated log. `change` is the consensus module's (config changes and
 * whatever else it replicates); here it is only required to be JSON.
 */
export interface LogEntry {
  /** Position in the log, from 1. */
  index: number;
  /** The term of the leader that appended it. */
  term: number;
  change: unknown;
}

export interface ClusterState {
  /** The server whose state this is: a state directory copied from another server is refused. */
  server: string;
  /** The latest term this server has seen (Raft's currentTerm); 0 before any election. */
  current_term: number;
  /** Whom this server voted for in current_term (Raft's votedFor), null when it has not voted. */
  voted_for: string | null;
  /** The committed config; null until a majority has committed a first change (version 1). */
  committed: CommittedConfig | null;
  /**
   * The entries not yet compacted into `committed`, committed or not (Raft learns the commit
   * point again from the leader), in index order. They follow one another without a gap and
   * reach at least to `committed.index` + 1 when there are any; entries up to `committed.index`
   * may be kept for followers that lag.
   */
  log: LogEntry[];
  /**
   * The config file as this server last took it in (local: never replicated). An edit of the
   * file is the difference between this and the file now; see start-from.ts.
   */
  file_base: ConfigDocument;
}

/** The state of a server that has never stored one, starting from its config file. */
export function initialClusterState(server: string, file: ConfigDocument): ClusterState {
  return { server, current_term: 0, voted_for: null, committed: null, log: [], file_base: file };
}

const count = z.number().int('must be a whole number').min(0, 'must be 0 or more');
const position = z.number().int('must be a whole number').min(1, 'must be 1 or more');
const serverId = z.string().superRefine((value, context) => {
  const problem = textProblem(value, 'name', NAME_BYTES_MAX);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});
const configDocument = z.record(z.string(), z.json());

const committedSchema = z.strictObject({
  version: position,
  index: position,
  term: count,
  config: configDocument,
});

const entrySchema = z.strictObject({ index: position, term: count, change: z.json() });

/** The shape of a ClusterState and the rules between its fields (see ClusterState). */
export const clusterStateSchema: z.ZodType<ClusterState> = z
  .strictObject({
    server: serverId,
    current_term: count,
    voted_for: serverId.nullable(),
    committed: committedSchema.nullable(),
    log: z.array(entrySchema),
    file_base: configDocument,
  })
  .superRefine((state, context) => {
    const problem = (path: PropertyKey[], message: string) =>
      context.addIssue({ code: 'custom', path, message });
    const committed = state.committed;
    if (committed !== null && committed.term > state.current_term)
      problem(['committed', 'term'], `is ${committed.term}, after current_term ${state.current_term}`);
    const first = state.log[0];
    if (first !== undefined && first.index > (committed?.index ?? 0) + 1)
      problem(
        ['log', 0, 'index'],
        `is ${first.index}: a gap after ${committed === null ? 'the log start (1 expected)' : `committed.index ${committed.index}`}`,
      );
    for (const [i, entry] of state.log.entries()) {
      const before = state.log[i - 1];
      if (before !== undefined && entry.index !== before.index + 1)
        problem(['log', i, 'index'], `is ${entry.index}, after ${before.index}: entries follow one another`);
      if (before !== undefined && entry.term < before.term)
        problem(['log', i, 'term'], `is ${entry.term}, below the term ${before.term} of the entry before`);
      if (entry.term > state.current_term)
        problem(['log', i, 'term'], `is ${entry.term}, after current_term ${state.current_term}`);
      if (committed !== null && entry.index === committed.index && entry.term !== committed.term)
        problem(['log', i, 'term'], `is ${entry.term}, but committed.term says ${committed.term}`);
      if (committed !== null && entry.index > committed.index && entry.term < committed.term)
        problem(['log', i, 'term'], `is ${entry.term}, below committed.term ${committed.term}`);
    }
  });

/** The check a cluster-state file gets at load. */
export const CLUSTER_STATE_CHECK = zodCheck(clusterStateSchema);

/** The cluster-state file in `server_dir`, the server's own state directory (agent/state-dir.ts). */
export function clusterStateFile(server_dir: string): StateFile<ClusterState> {
  return new StateFile({
    path: join(server_dir, CLUSTER_STATE_FILE),
    kind: CLUSTER_STATE_KIND,
    check: CLUSTER_STATE_CHECK,
  });
}
