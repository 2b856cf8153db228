/**
 * The committed config versions a running server has yet to take, in order (docs/CONSENSUS.md):
 * each is taken as committedChange says (at once, in process for a new server list, or at the next
 * start), except that a server list dropping a server that may still hold items waits for it to
 * leave (handover/departures.ts), and the versions after it wait behind it. The agent and the
 * simulator drive this same class.
 *
 * Pure: the caller passes the time, the running config and the membership view into every call.
 */
import type { FlipConfig } from '../config/index.js';
import { committedChange, type RuntimeChange, type ServersChange } from '../config/runtime-change.js';
import { type DepartureView, departuresPending } from '../handover/departures.js';
import { reportTtlMs } from '../membership/timing.js';

/** How often a version waiting for departures is looked at again (ms). */
export const DEPARTURE_CHECK_MS = 100;

/** What to do next with the versions waiting. */
export type NextVersion =
  /** Take `version` now: `config` is its config for this server, `change` what it changes here. */
  | { kind: 'take'; version: number; config: FlipConfig; change: RuntimeChange | ServersChange }
  /** `version` drops servers that may still hold items here: look again in DEPARTURE_CHECK_MS. */
  | { kind: 'wait'; version: number; servers: string[] };

export class CommittedVersions {
  readonly #waiting: { version: number; config: FlipConfig }[] = [];

  /** Version `version` committed; `config` is it as this server's config. */
  push(version: number, config: FlipConfig): void {
    this.#waiting.push({ version, config });
  }

  get size(): number {
    return this.#waiting.length;
  }

  /**
   * The next thing to do at `now` with the oldest version waiting, given the running config
   * `current` and this server's membership `view` (numbered by `current`'s list); undefined when
   * none waits. A `take` is removed from the queue: the caller takes it before asking again.
   */
  next(now: number, current: FlipConfig, view: DepartureView): NextVersion | undefined {
    const head = this.#waiting[0];
    if (head === undefined) return undefined;
    const change = committedChange(current, head.config);
    if (change.kind === 'servers') {
      const silence_ms = reportTtlMs(
        current.ping_timeout_ms,
        current.gossip_interval_ms,
        current.servers.length,
      );
      const servers = departuresPending(now, view, current, head.config, silence_ms);
      if (servers.length > 0) return { kind: 'wait', version: head.version, servers };
    }
    this.#waiting.shift();
    return { kind: 'take', version: head.version, config: head.config, change };
  }
}
