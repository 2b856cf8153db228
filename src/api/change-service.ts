/**
 * What the API needs from the agent to take runtime changes (issue 12) and show the committed
 * config: a narrow, typed interface, so that the routes are tested against a fake and the agent
 * wires the real replica (src/replica/config-replica.ts) behind it as a thin adapter:
 *
 * - `submit`: `const id = replica.propose(now, change)`, then `waiters.wait(id, signal)`
 *   (AnswerWaiters, answer-waiters.ts) before that propose's effects are carried out, and each
 *   `answer` effect goes to `waiters.settle(effect.request, effect.answer)`. The replica answers
 *   every request once, within its own bound (`timeout` included). The change was already checked
 *   with parseChange by the API; the replica checks it again, which is harmless.
 * - `committed`: `ConfigReplica.committed` (version and config), as it is.
 * - `history`: `recentChanges` (recent-changes.ts) over a ChangeHistory that records each
 *   `applied` effect (`history.record(version, change)`), as the replica keeps its own.
 *
 * An agent without a replica passes no ChangeService to the API server, whose change and config
 * routes then answer 501.
 */
import type { ConfigChange } from '../changes/index.js';
import type { ChangeAnswer } from '../replica/answer.js';
import type { ConfigDocument } from '../state/cluster-state.js';

/** The config a majority has committed, as this server knows it. */
export interface CommittedView {
  /** 0: the start config (the config file), nothing committed yet; 1 for the first change, and so on. */
  version: number;
  /** In the config file's JSON shape, secrets included: the API hides them (redact-config.ts). */
  config: ConfigDocument;
}

/** One committed change and the version it made. */
export interface CommittedChange {
  version: number;
  change: ConfigChange;
}

/** The changes committed lately, as this server recorded them. */
export interface RecentChanges {
  /** The latest version this server applied. */
  version: number;
  /**
   * The version before the oldest change held: changes after it are known (ChangeHistory.from);
   * what came before it (an older life of the agent, or a snapshot) is not.
   */
  from: number;
  /** The newest changes held, at most the limit asked for, oldest first. */
  changes: CommittedChange[];
}

export interface SubmitOptions {
  /**
   * Aborted when the API stops waiting (the client went away, or the API's own bound passed):
   * the service may then drop whatever it keeps for the answer. The change itself may still commit.
   */
  signal: AbortSignal;
}

export interface ChangeService {
  /**
   * Asks the cluster to commit `change` (already checked by parseChange) through this server.
   * Resolves with the one answer the replica gives the request; must not reject for an
   * expected outcome (each is a ChangeAnswer). A rejection is a fault: the API answers 500.
   */
  submit(change: ConfigChange, options: SubmitOptions): Promise<ChangeAnswer>;
  /** The committed config and its version. */
  committed(): CommittedView;
  /** The newest `limit` committed changes (limit >= 1), oldest first. */
  history(limit: number): RecentChanges;
}
