/**
 * The answers a client gets to a change it asked any server for (issue 12's errors, typed). Each
 * request gets exactly one, within a bound. What each one promises:
 *
 * | answer | what happened |
 * | --- | --- |
 * | committed | a majority stored the change; `version` is the first config that holds it |
 * | no_op | a majority stored it, but the config already was as it would make it; `version` holds it, and no version was made |
 * | invalid | the change does not fit the config, with the config's messages; nothing changed |
 * | conflict | it touches what a change made at the same time touches (or the leader cannot tell); nothing changed: look again and retry |
 * | no_quorum | no leader with a majority was reachable; nothing changed: retry later |
 * | unknown_server | the server asked is not a server of the cluster's config; nothing changed: ask another |
 * | timeout | no answer within the bound: the change may or may not commit; look at the config |
 *
 * The kinds travel between servers in `change_reply` messages: protocol, never renamed.
 */
import type { ConfigIssue } from '../config/errors.js';

export type ChangeAnswer =
  | { kind: 'committed'; version: number }
  | { kind: 'no_op'; version: number; reason: string }
  | { kind: 'invalid'; issues: ConfigIssue[] }
  | { kind: 'conflict'; message: string }
  | { kind: 'no_quorum'; message: string }
  | { kind: 'unknown_server'; server: string; message: string }
  | { kind: 'timeout'; message: string };

export type ChangeAnswerKind = ChangeAnswer['kind'];

/** Whether an answer promises that nothing changed (the change is not, and will not be, committed). */
export function nothingChanged(answer: ChangeAnswer): boolean {
  return answer.kind !== 'committed' && answer.kind !== 'no_op' && answer.kind !== 'timeout';
}
