/**
 * Member numbers before and after a change of the server list (a committed `flip server add|rm`):
 * members are numbered by their index in the list (priority order, then id), so one server added
 * before others, or removed from before them, moves their numbers. A running agent that takes the
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

  constructor(previous: readonly string[], next: readonly string[]) {
    this.previous = previous;
    this.next = next;
    this.#previousIndex = new Map(previous.map((id, index) => [id, index]));
    this.#nextIndex = new Map(next.map((id, index) => [id, index]));
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
