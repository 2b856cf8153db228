/**
 * One server's health: the check schedule of each of its systems that has a check, and its
 * hold-downs, combined into what it announces of its readiness. Pure (check-schedule.ts and
 * hold-down.ts decide); the agent runs the checks it returns through the launcher, the simulator
 * makes their results up, and both hand what `sets` says to the membership core.
 */
import type { SystemConfig } from '../config/index.js';
import { compareStrings } from '../config/index.js';
import { CheckSchedule, type CheckVerdict } from './check-schedule.js';
import { HoldDown, type HoldDownSystem, type OwnReadinessSets } from './hold-down.js';

/** A check to run now: the system's `check` script, with its run number for the result. */
export interface CheckRun {
  system: string;
  run: number;
  script: string;
  timeout_ms: number;
}

export class HealthMonitor {
  #systems: readonly SystemConfig[];
  #schedules = new Map<string, CheckSchedule>();
  readonly #holdDown: HoldDown;

  /** `systems`: those this server is a member of. Started at `now`. */
  constructor(systems: readonly SystemConfig[], now: number) {
    this.#systems = systems;
    for (const system of systems)
      if (system.check !== undefined) this.#schedules.set(system.name, new CheckSchedule(system, now));
    this.#holdDown = new HoldDown(systems.map(holdDownOf), now);
  }

  /**
   * The systems this server is a member of changed at runtime (a committed version): `systems` is
   * the new list. A system whose check settings are the same goes on as it was (a check out
   * reports as usual). A changed, added or removed check starts afresh from the verdict the system
   * had (`passing` where there was no check), so that its items move only once the new check
   * fails `fall` times; a check out of the old settings is dropped (its result acts on nothing).
   * A system taken up now holds down from its first healthy moment, as at a start.
   */
  reshape(now: number, systems: readonly SystemConfig[]): void {
    const before = new Map(this.#systems.map((system) => [system.name, system]));
    const schedules = new Map<string, CheckSchedule>();
    for (const system of systems) {
      if (system.check === undefined) continue;
      const old = before.get(system.name);
      const schedule = this.#schedules.get(system.name);
      if (old !== undefined && schedule !== undefined && sameCheck(old, system)) {
        schedules.set(system.name, schedule);
        continue;
      }
      // A system new here has no verdict yet: unknown, as at a start.
      const verdict = old === undefined ? 'unknown' : this.verdict(system.name);
      schedules.set(system.name, new CheckSchedule(system, now, verdict));
    }
    this.#systems = systems;
    this.#schedules = schedules;
    this.#holdDown.reshape(now, systems.map(holdDownOf), (name) => this.verdict(name));
  }

  /** The checks due at `now`; each must be reported with `result`. */
  due(now: number): CheckRun[] {
    const runs: CheckRun[] = [];
    for (const system of this.#systems) {
      const run = this.#schedules.get(system.name)?.due(now);
      if (run !== undefined)
        runs.push({ system: system.name, run, script: system.check!, timeout_ms: system.check_timeout_ms });
    }
    return runs;
  }

  /** A check ended; returns the system's new verdict when it changed. */
  result(now: number, system: string, run: number, ok: boolean): CheckVerdict | undefined {
    const verdict = this.#schedules.get(system)?.result(run, ok);
    if (verdict !== undefined) this.#holdDown.verdict(now, system, verdict);
    return verdict;
  }

  verdict(system: string): CheckVerdict {
    return this.#schedules.get(system)?.verdict ?? 'passing';
  }

  /** This server refuted being declared down: it holds down again. */
  refuted(now: number): void {
    this.#holdDown.refuted(now);
  }

  /** What to announce at `now` (see HoldDown.sets for `peerSettled`). */
  sets(now: number, peerSettled?: (system: string) => boolean): OwnReadinessSets {
    return this.#holdDown.sets(now, peerSettled);
  }

  nextWakeAt(now: number): number {
    let wake = this.#holdDown.nextWakeAt(now);
    for (const schedule of this.#schedules.values()) wake = Math.min(wake, schedule.nextWakeAt());
    return wake;
  }
}

function holdDownOf(system: SystemConfig): HoldDownSystem {
  return { name: system.name, hold_down_ms: system.hold_down_ms, checked: system.check !== undefined };
}

/** Whether two definitions of a system check alike. */
function sameCheck(a: SystemConfig, b: SystemConfig): boolean {
  return (
    a.check === b.check &&
    a.check_interval_ms === b.check_interval_ms &&
    a.check_timeout_ms === b.check_timeout_ms &&
    a.rise === b.rise &&
    a.fall === b.fall
  );
}

/**
 * The number each system is named by in readiness updates: its position among the config's
 * systems sorted by name, the same on every server of a cluster.
 */
export function readinessIndexes(systems: readonly { name: string }[]): Map<string, number> {
  const names = systems.map((system) => system.name).sort(compareStrings);
  return new Map(names.map((name, index) => [name, index]));
}
