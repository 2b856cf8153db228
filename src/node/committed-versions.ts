/**
 * The committed config versions a running server has yet to take, in order (docs/CONSENSUS.md):
 * each is taken as committedChange says (at once, in process for new lists, or at the next start),
 * except that a server list dropping a server that may still hold items waits for it to leave
 * (handover/departures.ts), a system this server must let go of is emptied first (see next), and
 * the versions after one that waits wait behind it. The agent and the
 * simulator drive this same class.
 *
 * Pure: the caller passes the time, the running config and the membership view into every call.
 */
import type { FlipConfig } from '../config/index.js';
import {
  committedChange,
  type ListsChange,
  type RuntimeChange,
  systemsToRetire,
} from '../config/runtime-change.js';
import { type DepartureView, departuresPending } from '../handover/departures.js';
import { reportTtlMs } from '../membership/timing.js';

/** How often a version waiting for departures is looked at again (ms). */
export const DEPARTURE_CHECK_MS = 100;

/** What to do next with the versions waiting. */
export type NextVersion =
  /** Take `version` now: `config` is its config for this server, `change` what it changes here. */
  | { kind: 'take'; version: number; config: FlipConfig; change: RuntimeChange | ListsChange }
  /**
   * Before `version`, let go of `systems` (systemsToRetire): take `config`, the running config with
   * their items emptied (a `systems` change: their holders run `down`), then ask again.
   */
  | {
      kind: 'retire';
      version: number;
      config: FlipConfig;
      change: Extract<RuntimeChange, { kind: 'systems' }>;
      systems: string[];
    }
  /**
   * `version` waits: it drops `servers` that may still hold items here, or this host still holds
   * something of `systems`, which it must let go of first. Look again in DEPARTURE_CHECK_MS.
   */
  | { kind: 'wait'; version: number; servers: string[]; systems: string[] };

/** What the versions need of this host's scripts. */
export interface HostHolding {
  /** Whether anything of `system` may still be configured here, or a script of it be under way. */
  holds(system: string): boolean;
}

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
   * `current`, this server's membership `view` (numbered by `current`'s list) and what its host
   * `holds`; undefined when none waits. A `take` is removed from the queue: the caller takes it
   * before asking again.
   *
   * A change of the lists is taken break-before-make on both sides: servers it drops must have
   * left (handover/departures.ts), and systems this server must let go of (removed, left, or set
   * up anew) are emptied here first and taken in their new form only once nothing of them is
   * left on the host.
   */
  next(now: number, current: FlipConfig, view: DepartureView, host: HostHolding): NextVersion | undefined {
    const head = this.#waiting[0];
    if (head === undefined) return undefined;
    const change = committedChange(current, head.config);
    if (change.kind === 'lists') {
      const retire = systemsToRetire(current, head.config);
      const full = current.systems.filter((system) => retire.includes(system.name) && system.data.length > 0);
      if (full.length > 0) {
        const emptied = full.map((system) => ({ ...system, data: [] }));
        const config = {
          ...current,
          systems: current.systems.map(
            (system) => emptied.find((empty) => empty.name === system.name) ?? system,
          ),
        };
        return {
          kind: 'retire',
          version: head.version,
          config,
          change: {
            kind: 'systems',
            systems: new Map(emptied.map((system) => [system.name, system])),
            fields: emptied.map((system) => `systems.${system.name}.data`),
          },
          systems: emptied.map((system) => system.name),
        };
      }
      const silence_ms = reportTtlMs(
        current.ping_timeout_ms,
        current.gossip_interval_ms,
        current.servers.length,
      );
      const servers = departuresPending(now, view, current, head.config, silence_ms);
      const systems = retire.filter((name) => host.holds(name));
      if (servers.length > 0 || systems.length > 0)
        return { kind: 'wait', version: head.version, servers, systems };
    }
    this.#waiting.shift();
    return { kind: 'take', version: head.version, config: head.config, change };
  }
}
