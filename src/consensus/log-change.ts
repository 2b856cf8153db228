/**
 * What the consensus's log carries, and how a committed entry folds into the committed config.
 *
 * An entry holds a config change (src/changes: its kinds, shape and application are that module's,
 * the one type for the concept) or the no-op a new leader appends at the start of its term. Only
 * what is the consensus's own lives here: which changes alter the majorities, the servers a config
 * makes majorities of, and folding, which must give the same result on every server.
 */

import { serversOf } from '../changes/document.js';
import {
  applyChange,
  type ChangeOutcome,
  type ConfigChange,
  isServerChange,
  parseChange,
  type ServerAdd,
  type ServerRm,
} from '../changes/index.js';
import type { ConfigIssue } from '../config/errors.js';
import type { ConfigDocument } from '../state/cluster-state.js';

/**
 * What a log entry carries: a config change, or the no-op a new leader appends at the start of
 * its term (it commits the entries of earlier terms, Raft §5.4.2, and changes no version). The
 * kind `noop` is stored in logs: protocol, like the change kinds.
 */
export type LogChange = ConfigChange | { kind: 'noop' } | BaseEntry;

/**
 * The config every version builds on: the first leader of a cluster appends its own starting
 * config (its file, less `id`) as the log's first entry, before its no-op. Folding it replaces
 * whatever config a server started from, and takes no version: so servers whose files differed
 * still fold version 1 and after onto one config, and a server that starts later from any file
 * (one added at runtime) gets the same versions. The kind `base` is stored in logs: protocol.
 */
export interface BaseEntry {
  kind: 'base';
  config: ConfigDocument;
}

/** Whether a change alters the set of servers (and so the majorities): one at a time. */
export function isMembershipChange(change: LogChange): change is ServerAdd | ServerRm {
  return isConfigChange(change) && isServerChange(change);
}

/** Whether a log change is a config change rather than a leader's no-op. */
export function isConfigChange(change: LogChange): change is ConfigChange {
  return change.kind !== 'noop' && change.kind !== 'base';
}

/** The server ids of a config document, sorted: the servers that make its majorities. */
export function serverIdsOf(config: ConfigDocument): string[] {
  return Object.keys(serversOf(config)).sort();
}

/**
 * Folds one log entry into `config`: the change's outcome (src/changes' applyChange), or null for
 * a leader's no-op. Only `applied` makes a new version; an entry that is `no_op` or `invalid` when
 * folded commits but changes nothing and takes no version. applyChange is pure, so every server
 * folding the same entries in the same order onto the same config gets the same outcomes.
 */
export function foldChange(config: ConfigDocument, change: LogChange): ChangeOutcome | null {
  if (change.kind === 'noop') return null;
  if (change.kind === 'base') return { kind: 'applied', config: change.config };
  return applyChange(config, change);
}

/** The config after an entry whose fold gave `outcome`. */
export function configAfter(config: ConfigDocument, outcome: ChangeOutcome | null): ConfigDocument {
  return outcome?.kind === 'applied' ? outcome.config : config;
}

/**
 * Checks a value read from outside (a stored log entry) as a log change: a no-op, or a change of
 * the right shape (parseChange, with the config's messages). Never throws.
 */
export function parseLogChange(
  value: unknown,
): { ok: true; change: LogChange } | { ok: false; issues: ConfigIssue[] } {
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'noop' &&
    Object.keys(value).length === 1
  )
    return { ok: true, change: { kind: 'noop' } };
  if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'base') {
    const { config, ...rest } = value as { kind: 'base'; config?: unknown };
    if (
      Object.keys(rest).length === 1 &&
      typeof config === 'object' &&
      config !== null &&
      !Array.isArray(config)
    )
      return { ok: true, change: { kind: 'base', config: config as ConfigDocument } };
    return {
      ok: false,
      issues: [{ path: 'config', message: 'a base entry holds one config object, and nothing else' }],
    };
  }
  return parseChange(value);
}
