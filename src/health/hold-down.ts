/**
 * Hold-down: a server that returns (it started, it refuted being declared down, or its check
 * passes again) is not ready for a system until it has stayed healthy there for the system's
 * `hold_down_ms`, so that a server that flaps keeps its items away instead of pulling them back
 * each time. This decides, for this server alone, what it announces of its readiness
 * (membership/readiness.ts spreads it): per system, `failing` (its check is not passing),
 * `holding` (healthy, inside the hold-down) or ready. Pure: time and the view come in.
 *
 * One exception, so that a hold-down never leaves items without an owner for nothing: once the
 * view is known (the controller plans), a server holding down in a system where no other live
 * member is settled (ready, and not itself fresh; a member whose readiness is not known yet
 * counts as settled) ends its hold-down at once, and says it is `fresh` there for the hold-down's
 * length. Nobody settled serves those items, so there is no owner to flap away from: this is a
 * whole cluster starting together (every server skips, whoever plans first), and a server
 * coming back to a system whose other members all fail their checks.
 */
import type { CheckVerdict } from './check-schedule.js';

export interface HoldDownSystem {
  name: string;
  hold_down_ms: number;
  /** Whether the system has a check (without one the server is always healthy there). */
  checked: boolean;
}

/** Why this server holds down in a system, for the log. */
export type HoldDownWhy = 'start' | 'refuted' | 'check_passing';

export interface OwnReadinessSets {
  /** Systems (names) whose check is not passing here. */
  failing: string[];
  /** Systems this server holds down in. */
  holding: string[];
  /** Systems where it skipped its hold-down, for the hold-down's length (ready all the same). */
  fresh: string[];
}

interface SystemState {
  readonly config: HoldDownSystem;
  verdict: CheckVerdict;
  /** Not ready before this time (ms), while healthy. */
  holdUntil: number;
  /** Fresh (it skipped its hold-down) until this time (ms). */
  freshUntil: number;
}

export class HoldDown {
  #systems: SystemState[];

  /** This server started at `now`: it holds down everywhere, from the first healthy moment. */
  constructor(systems: readonly HoldDownSystem[], now: number) {
    this.#systems = systems.map((config) => ({
      config,
      verdict: config.checked ? 'unknown' : 'passing',
      holdUntil: config.checked ? Number.POSITIVE_INFINITY : now + config.hold_down_ms,
      freshUntil: Number.NEGATIVE_INFINITY,
    }));
  }

  /**
   * The systems changed at runtime (HealthMonitor.reshape): a system kept goes on as it was, with
   * its new hold-down length for hold-downs that start from now; a system taken up at runtime
   * holds down from its first healthy moment, like a start (`verdict`: its check's, `passing`
   * without one); one dropped is forgotten.
   */
  reshape(now: number, systems: readonly HoldDownSystem[], verdict: (system: string) => CheckVerdict): void {
    const before = new Map(this.#systems.map((state) => [state.config.name, state]));
    this.#systems = systems.map((config) => {
      const kept = before.get(config.name);
      const now_verdict = verdict(config.name);
      if (kept !== undefined) return { ...kept, config, verdict: now_verdict };
      return {
        config,
        verdict: now_verdict,
        holdUntil: now_verdict === 'passing' ? now + config.hold_down_ms : Number.POSITIVE_INFINITY,
        freshUntil: Number.NEGATIVE_INFINITY,
      };
    });
  }

  /** A system's check verdict changed: back to passing starts a hold-down. */
  verdict(now: number, system: string, verdict: CheckVerdict): void {
    const state = this.#systems.find((candidate) => candidate.config.name === system);
    if (state === undefined || state.verdict === verdict) return;
    state.verdict = verdict;
    if (verdict === 'passing') state.holdUntil = now + state.config.hold_down_ms;
  }

  /** This server refuted being declared down or gone: it holds down everywhere again. */
  refuted(now: number): void {
    // A system whose check is not passing yet starts its hold-down when it passes anyway.
    for (const state of this.#systems)
      state.holdUntil = Math.max(state.holdUntil, now + state.config.hold_down_ms);
  }

  /**
   * What this server announces at `now`. `peerSettled` (given once the view is known) tells
   * whether another live member of a system is settled there; when none is, the hold-down ends.
   */
  sets(now: number, peerSettled?: (system: string) => boolean): OwnReadinessSets {
    const failing: string[] = [];
    const holding: string[] = [];
    const fresh: string[] = [];
    for (const state of this.#systems) {
      if (state.verdict !== 'passing') {
        failing.push(state.config.name);
        continue;
      }
      if (now < state.holdUntil && peerSettled !== undefined && !peerSettled(state.config.name)) {
        state.holdUntil = now;
        state.freshUntil = now + state.config.hold_down_ms;
      }
      if (now < state.holdUntil) holding.push(state.config.name);
      else if (now < state.freshUntil) fresh.push(state.config.name);
    }
    return { failing, holding, fresh };
  }

  /** When a hold-down ends next (ms), for the caller's timer. */
  nextWakeAt(now: number): number {
    let wake = Number.POSITIVE_INFINITY;
    for (const state of this.#systems) {
      if (state.verdict !== 'passing') continue;
      if (state.holdUntil > now) wake = Math.min(wake, state.holdUntil);
      else if (state.freshUntil > now) wake = Math.min(wake, state.freshUntil);
    }
    return wake;
  }
}
