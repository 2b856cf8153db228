/**
 * Whether a server that finds no cluster state has lost one. Raft's vote must survive a restart:
 * a server that forgot whom it voted for could vote twice in one term, and two leaders could be
 * elected in it. A missing state is a new server's, unless the operator moved a bad one aside
 * (docs/STATE.md, "Recovering from a bad state file": `cluster-state.bad`, or any other
 * `cluster-state.<suffix>` kept beside it). Such a server neither votes nor seeks election until
 * a leader has brought it up to date (the consensus's `state_lost`). A cluster of one server
 * never counts as lost: it has nobody to be brought up to date by, and must elect itself.
 *
 * Pure: the caller lists the server's state directory.
 */
import { CLUSTER_STATE_FILE } from './cluster-state.js';

/** The suffix of a save under way (state-file.ts writes there, then renames): not a kept state. */
const TEMP_SUFFIXES: readonly string[] = ['.tmp'];

export function stateLost(found: 'missing' | 'present', files: readonly string[], servers: number): boolean {
  if (found !== 'missing' || servers <= 1) return false;
  return files.some(
    (name) =>
      name.startsWith(`${CLUSTER_STATE_FILE}.`) && !TEMP_SUFFIXES.some((suffix) => name.endsWith(suffix)),
  );
}
