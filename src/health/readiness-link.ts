/**
 * Between a server's health and its membership core: hands what the health monitor says to the
 * core as readiness (system names to the indexes the wire uses), and reads the readiness of
 * every member back for placement. The agent and the simulator both use it, so both announce
 * and place alike. Pure.
 */
import type { FlipConfig } from '../config/index.js';
import { isLive, type MemberView } from '../membership/member-view.js';
import { placeable, type ReadinessSets, type ReadinessState } from '../membership/readiness.js';
import { type HealthMonitor, readinessIndexes } from './health-monitor.js';
import type { OwnReadinessSets } from './hold-down.js';

/** What the link needs of the membership core. */
export interface ReadinessCore {
  setReadiness(now: number, sets: ReadinessSets): void;
  readiness(member: number, system: number): ReadinessState;
  member(index: number): Readonly<MemberView>;
}

export class ReadinessLink {
  readonly #indexes: Map<string, number>;
  readonly #members: Map<string, number[]>;
  readonly #self: number;
  #last: OwnReadinessSets | undefined;

  constructor(config: FlipConfig, self: number) {
    this.#indexes = readinessIndexes(config.systems);
    this.#self = self;
    this.#members = new Map(
      config.systems.map((system) => [
        system.name,
        system.members.map((id) => config.servers.findIndex((server) => server.id === id)),
      ]),
    );
  }

  /**
   * The link for a new server list taken in process (`config`, this server at `self`): members
   * numbered anew, what we announced last kept (the membership core carries it too).
   */
  forServers(config: FlipConfig, self: number): ReadinessLink {
    const next = new ReadinessLink(config, self);
    next.#last = this.#last;
    return next;
  }

  /** What we announced last (system names), for logs and status. */
  get announced(): OwnReadinessSets | undefined {
    return this.#last;
  }

  /**
   * Announces what `monitor` says at `now`. `planning`: the view is known, so a hold-down in a
   * system where no other live member is ready ends (see HoldDown.sets). Returns the sets when
   * they changed since the last call.
   */
  announce(
    now: number,
    monitor: HealthMonitor,
    core: ReadinessCore,
    planning: boolean,
  ): OwnReadinessSets | undefined {
    const sets = monitor.sets(now, planning ? (system) => this.#peerSettled(core, system) : undefined);
    const changed = !sameSets(this.#last, sets);
    this.#last = sets;
    core.setReadiness(now, {
      failing: this.#toIndexes(sets.failing),
      holding: this.#toIndexes(sets.holding),
      fresh: this.#toIndexes(sets.fresh),
    });
    return changed ? sets : undefined;
  }

  /** Whether live `member` is ready for `system` in the core's view (for the controller). */
  readyFor(core: ReadinessCore, member: number, system: string): boolean {
    const index = this.#indexes.get(system);
    return index !== undefined && placeable(core.readiness(member, index));
  }

  /** Whether live `member` only holds down in `system` (healthy, back lately). */
  holdingFor(core: ReadinessCore, member: number, system: string): boolean {
    const index = this.#indexes.get(system);
    return (
      index !== undefined && isLive(core.member(member).state) && core.readiness(member, index) === 'holding'
    );
  }

  /**
   * Whether another live member of `system` is settled there: ready and not fresh, or heard from
   * but its readiness not known yet (it may be settled; one never heard of is not counted).
   */
  #peerSettled(core: ReadinessCore, system: string): boolean {
    const index = this.#indexes.get(system)!;
    return (this.#members.get(system) ?? []).some((member) => {
      if (member === this.#self || !isLive(core.member(member).state)) return false;
      const state = core.readiness(member, index);
      return state === 'ready' || (state === 'unknown' && core.member(member).incarnation > 0);
    });
  }

  #toIndexes(names: readonly string[]): number[] {
    return names.map((name) => this.#indexes.get(name)!).sort((a, b) => a - b);
  }
}

/** Whether two announcements name the same systems in each set, in the same order. */
function sameSets(a: OwnReadinessSets | undefined, b: OwnReadinessSets): boolean {
  return (
    a !== undefined &&
    sameNames(a.failing, b.failing) &&
    sameNames(a.holding, b.holding) &&
    sameNames(a.fresh, b.fresh)
  );
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
