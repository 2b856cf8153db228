/**
 * Plan coalescing, for one system: changes of the desired set fold into one pending plan, which
 * becomes due when the system's delay has passed and is made only once the running plan has
 * completed; the newest waiting set wins, and a set equal to the applied one makes no plan.
 *
 * Pure: the time comes with every call that needs it (ms, monotonic). The script runner offers
 * every desired set and asks, when it steps, whether a set is to be planned now.
 */

/**
 * What the system waits for before its next plan. Every state but `none` carries the newest set,
 * so a plan that is waiting or due always has its set.
 */
type Pending =
  /** No desired set was offered yet. */
  | { readonly kind: 'none' }
  /** Nothing waits: the newest set is applied, or the newest plan was cancelled. */
  | { readonly kind: 'settled'; readonly newest: ReadonlySet<string> }
  /** The delay runs until `until`; then the newest set is due. */
  | { readonly kind: 'delayed'; readonly newest: ReadonlySet<string>; readonly until: number }
  /** The newest set is to be planned as soon as no plan runs. */
  | { readonly kind: 'due'; readonly newest: ReadonlySet<string> };

export class PlanCoalescing {
  /** How long a new set waits; a change applies to the delays that start after it. */
  delay_ms: number;
  #pending: Pending = { kind: 'none' };
  #applied: ReadonlySet<string> | undefined;

  constructor(delay_ms: number) {
    this.delay_ms = delay_ms;
  }

  /** The newest set offered; undefined before the first. */
  get newest(): ReadonlySet<string> | undefined {
    return this.#pending.kind === 'none' ? undefined : this.#pending.newest;
  }

  /** The desired set of the newest plan made; undefined before the first. */
  get applied(): ReadonlySet<string> | undefined {
    return this.#applied;
  }

  /** A newer set waits, for its delay or for the running plan to complete. */
  get waiting(): boolean {
    return this.#pending.kind === 'delayed' || this.#pending.kind === 'due';
  }

  /** When the delay ends; undefined while no delay runs. */
  get delayUntil(): number | undefined {
    return this.#pending.kind === 'delayed' ? this.#pending.until : undefined;
  }

  /**
   * The desired set at `now`. A set that differs from the applied one starts the delay unless one
   * runs already (then it folds in and the delay keeps its end). With `immediate` the set is due
   * at once, skipping the rest of a running delay, unless nothing waits and it equals the applied
   * set.
   */
  offer(now: number, wanted: ReadonlySet<string>, immediate: boolean): void {
    const pending = this.#pending;
    const waiting = this.waiting;
    if (immediate && (waiting || !sameSet(wanted, this.#applied))) {
      this.#pending = { kind: 'due', newest: wanted };
    } else if (!waiting && !sameSet(wanted, this.#applied)) {
      this.#pending = { kind: 'delayed', newest: wanted, until: now + this.delay_ms };
    } else if (pending.kind === 'delayed') {
      this.#pending = { kind: 'delayed', newest: wanted, until: pending.until };
    } else if (pending.kind === 'due') {
      this.#pending = { kind: 'due', newest: wanted };
    } else {
      this.#pending = { kind: 'settled', newest: wanted };
    }
  }

  /**
   * The set to plan at `now`, or undefined. A delay that has ended makes the newest set due; a due
   * set is taken once no plan runs (`plan_running` false), and planned when it differs from the
   * applied set, which it then becomes.
   */
  take(now: number, plan_running: boolean): ReadonlySet<string> | undefined {
    const pending = this.#pending;
    if (pending.kind === 'delayed' && pending.until <= now)
      this.#pending = { kind: 'due', newest: pending.newest };
    if (this.#pending.kind !== 'due' || plan_running) return undefined;
    const newest = this.#pending.newest;
    this.#pending = { kind: 'settled', newest };
    if (this.#applied !== undefined && sameSet(newest, this.#applied)) return undefined;
    this.#applied = new Set(newest);
    return newest;
  }

  /**
   * The applied plan did not take `item` up after all (its `alive` was skipped): a later set that
   * wants it differs from what is applied, and is planned.
   */
  withdraw(item: string): void {
    if (this.#applied === undefined || !this.#applied.has(item)) return;
    const applied = new Set(this.#applied);
    applied.delete(item);
    this.#applied = applied;
  }

  /** Drops a waiting plan (a shutdown); the newest set is kept. */
  cancel(): void {
    if (this.#pending.kind !== 'none') this.#pending = { kind: 'settled', newest: this.#pending.newest };
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}
