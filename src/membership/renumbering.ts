/**
 * Member numbers before and after a change of the server list (a committed `flip server add|rm`):
 * members are numbered by their index in the list (priority order, then id), so one server added
 * before others, or removed from before them, moves their numbers. Systems likewise, when the
 * system list changes (`flip system add|rm`): readiness numbers them by name order. A running agent that takes the
 * new list in process (MembershipNode.succeed, NodeController.setServers) carries what it knows
 * of each kept server from its old number to its new one, by id.
 *
 * Pure.
 */
export class Renumbering {
  /** The old list's ids and the new list's, index order. */
  readonly previous: readonly string[];
  readonly next: readonly string[];
  readonly #nextIndex: Map<string, number>;
  readonly #previousIndex: Map<string, number>;

  /** The new number of each old system number (readiness numbers systems: wire/roster.ts); -1: removed. */
  readonly #systems: readonly number[] | undefined;

  /**
   * `systems`: the system lists before and after, in the order readiness numbers them, when they
   * differ (a committed `flip system add|rm`); without it systems keep their numbers.
   */
  constructor(
    previous: readonly string[],
    next: readonly string[],
    systems?: { previous: readonly string[]; next: readonly string[] },
  ) {
    this.previous = previous;
    this.next = next;
    this.#previousIndex = new Map(previous.map((id, index) => [id, index]));
    this.#nextIndex = new Map(next.map((id, index) => [id, index]));
    if (systems !== undefined) {
      const after = new Map(systems.next.map((name, index) => [name, index]));
      this.#systems = systems.previous.map((name) => after.get(name) ?? -1);
    }
  }

  /** The new number of old system number `system`; undefined for a system removed. */
  systemOf(system: number): number | undefined {
    if (this.#systems === undefined) return system;
    const next = this.#systems[system];
    return next === undefined || next === -1 ? undefined : next;
  }

  /** System numbers renumbered (sorted); removed systems are dropped. */
  systemList(systems: readonly number[]): number[] {
    const out: number[] = [];
    for (const system of systems) {
      const next = this.systemOf(system);
      if (next !== undefined) out.push(next);
    }
    return out.sort((a, b) => a - b);
  }

  /** The old number of new member `index`; undefined for a server added. */
  previousOf(index: number): number | undefined {
    const id = this.next[index];
    return id === undefined ? undefined : this.#previousIndex.get(id);
  }

  /** The new number of old member `index`; undefined for a server removed. */
  nextOf(index: number): number | undefined {
    const id = this.previous[index];
    return id === undefined ? undefined : this.#nextIndex.get(id);
  }

  /** Whether no member's number changes and none is added or removed. */
  get identity(): boolean {
    return (
      this.previous.length === this.next.length && this.previous.every((id, index) => this.next[index] === id)
    );
  }

  /** The servers of the new list that the old one lacks, by new number. */
  added(): number[] {
    return this.next.flatMap((id, index) => (this.#previousIndex.has(id) ? [] : [index]));
  }

  /** `map` with its member keys renumbered; entries of removed members are dropped. */
  map<V>(map: ReadonlyMap<number, V>): Map<number, V> {
    const out = new Map<number, V>();
    for (const [member, value] of map) {
      const next = this.nextOf(member);
      if (next !== undefined) out.set(next, value);
    }
    return out;
  }

  /** `members` renumbered; removed members are dropped. */
  list(members: Iterable<number>): number[] {
    const out: number[] = [];
    for (const member of members) {
      const next = this.nextOf(member);
      if (next !== undefined) out.push(next);
    }
    return out;
  }
}
