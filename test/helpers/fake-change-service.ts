/**
 * A ChangeService for tests of the API and the CLI: one server's config, with each change
 * applied at once by the real applyChange (no consensus: a stand-in for the agent's replica),
 * or answered as a test forces it (any ChangeAnswer, no answer at all, or a rejection).
 */
import type { ChangeService, CommittedView, RecentChanges } from '../../src/api/change-service.js';
import { recentChanges } from '../../src/api/recent-changes.js';
import { applyChange, type ConfigChange, conflicts } from '../../src/changes/index.js';
import type { ChangeAnswer } from '../../src/replica/answer.js';
import { ChangeHistory } from '../../src/replica/change-history.js';
import type { ConfigDocument } from '../../src/state/cluster-state.js';

/** The README's cluster as a config document, with a gossip key and an API token to hide. */
export const README_CONFIG: ConfigDocument = {
  key: 'gossip-secret',
  servers: {
    flip: { ip: '127.0.0.1', port: 2200, systems: ['ip'], api: { token: 'api-secret' } },
    flip1: { priority: 1, ip: '127.0.0.1', port: 2201, systems: ['ip'] },
    flip2: { ip: '127.0.0.1', port: 2202 },
  },
  cluster: {
    system: {
      ip: { alive: 'ip_up', down: 'ip_down', type: 'shard', data: ['192.168.0.2', '192.168.0.1'] },
    },
  },
};

/** What the next submit does instead of applying: answer so, never answer, or reject. */
export type Forced = ChangeAnswer | 'hang' | 'reject';

export class FakeChangeService implements ChangeService {
  config: ConfigDocument;
  version = 0;
  readonly recorded = new ChangeHistory(0);
  /** Every change submitted, in order, with the signal it came with. */
  readonly submitted: { change: ConfigChange; signal: AbortSignal }[] = [];
  /** Consumed one per submit, before applying. */
  readonly forced: Forced[] = [];

  constructor(config: ConfigDocument) {
    this.config = structuredClone(config);
  }

  submit(change: ConfigChange, options: { signal: AbortSignal }): Promise<ChangeAnswer> {
    this.submitted.push({ change, signal: options.signal });
    const forced = this.forced.shift();
    if (forced === 'hang') return new Promise(() => undefined);
    if (forced === 'reject') return Promise.reject(new Error('the fake service failed'));
    if (forced !== undefined) return Promise.resolve(forced);
    return Promise.resolve(this.#apply(change));
  }

  committed(): CommittedView {
    return { version: this.version, config: this.config };
  }

  history(limit: number): RecentChanges {
    return recentChanges(this.recorded, limit);
  }

  #apply(change: ConfigChange): ChangeAnswer {
    if (change.base_version > this.version)
      return { kind: 'conflict', message: `base_version ${change.base_version} is after ${this.version}` };
    const since = this.recorded.since(change.base_version);
    if (since === undefined)
      return {
        kind: 'conflict',
        message: `base_version ${change.base_version} is older than the history held`,
      };
    const conflict = conflicts(change, since);
    if (conflict !== undefined) return { kind: 'conflict', message: conflict };
    const outcome = applyChange(this.config, change);
    switch (outcome.kind) {
      case 'invalid':
        return { kind: 'invalid', issues: outcome.issues };
      case 'no_op':
        return { kind: 'no_op', version: this.version, reason: outcome.reason };
      case 'applied':
        this.config = outcome.config;
        this.version++;
        this.recorded.record(this.version, change);
        return { kind: 'committed', version: this.version };
    }
  }
}
