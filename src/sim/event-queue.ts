/**
 * A binary min-heap of timed events; ties run in insertion order, so runs are deterministic.
 * Times, insertion numbers and values live in parallel arrays: the simulator pushes millions
 * of events, and one object per event would be most of its garbage.
 */
export class EventQueue<T> {
  #at: number[] = [];
  #order: number[] = [];
  #values: T[] = [];
  #next = 0;

  get size(): number {
    return this.#at.length;
  }

  push(at: number, value: T): void {
    const order = this.#next++;
    let i = this.#at.length;
    this.#at.push(at);
    this.#order.push(order);
    this.#values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(at, order, parent)) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, at, order, value);
  }

  peekTime(): number {
    return this.#at.length > 0 ? this.#at[0]! : Number.POSITIVE_INFINITY;
  }

  /** Removes the earliest event; `lastTime` tells its time. */
  pop(): T | undefined {
    const size = this.#at.length;
    if (size === 0) return undefined;
    const top = this.#values[0]!;
    this.lastTime = this.#at[0]!;
    const at = this.#at.pop()!;
    const order = this.#order.pop()!;
    const value = this.#values.pop()!;
    const n = size - 1;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(right, left) ? right : left;
      if (!this.#before(this.#at[child]!, this.#order[child]!, i, at, order)) break;
      this.#move(child, i);
      i = child;
    }
    this.#set(i, at, order, value);
    return top;
  }

  /** The time of the event `pop` returned last. */
  lastTime = 0;

  #less(a: number, b: number): boolean {
    const at = this.#at;
    return at[a]! < at[b]! || (at[a] === at[b] && this.#order[a]! < this.#order[b]!);
  }

  /** Whether (at, order) comes before the entry at `i` (or before (atI, orderI) when given). */
  #before(at: number, order: number, i: number, atI = this.#at[i]!, orderI = this.#order[i]!): boolean {
    return at < atI || (at === atI && order < orderI);
  }

  #move(from: number, to: number): void {
    this.#at[to] = this.#at[from]!;
    this.#order[to] = this.#order[from]!;
    this.#values[to] = this.#values[from]!;
  }

  #set(i: number, at: number, order: number, value: T): void {
    this.#at[i] = at;
    this.#order[i] = order;
    this.#values[i] = value;
  }
}
