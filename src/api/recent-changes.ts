/**
 * The newest committed changes of a ChangeHistory (replica/change-history.ts), as the API's
 * history route shows them: what an agent's ChangeService.history can return as it is.
 */
import type { ChangeHistory } from '../replica/change-history.js';
import type { RecentChanges } from './change-service.js';

/** The newest `limit` changes that `history` holds, each with the version it made, oldest first. */
export function recentChanges(history: ChangeHistory, limit: number): RecentChanges {
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new Error(`recentChanges limit ${limit}`);
  const version = history.version;
  const base = Math.max(history.from, version - limit);
  const changes = (history.since(base) ?? []).map((change, i) => ({ version: base + 1 + i, change }));
  return { version, from: history.from, changes };
}
