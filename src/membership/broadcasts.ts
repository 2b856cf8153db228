/**
 * The queue of updates waiting to be piggybacked on outgoing messages. One entry per member
 * (a newer update about a member replaces the older one); each entry is sent at most
 * `retransmitLimit` times, least-sent first, within the byte budget of a packet.
 */
import type { Update } from './messages.js';

interface Entry {
  update: Update;
  transmits: number;
  /** Insertion order, to break ties toward newer entries. */
  serial: number;
}

export class BroadcastQueue {
  #entries = new Map<number, Entry>();
  #serial = 0;

  constructor(
    private readonly limit: number,
    private readonly sizeOf: (update: Update) => number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Queues `update`, replacing any queued update about the same member. */
  enqueue(update: Update): void {
    this.#entries.set(update.member, { update, transmits: 0, serial: this.#serial++ });
  }

  /**
   * Takes updates for one message within `budgetBytes`, counting a transmit for each, and
   * skipping `exclude` (already placed in the message). Entries reaching the limit are dropped.
   */
  take(budgetBytes: number, exclude?: ReadonlySet<number>): Update[] {
    if (this.#entries.size === 0) return [];
    const entries = [...this.#entries.values()].sort(
      (a, b) => a.transmits - b.transmits || b.serial - a.serial,
    );
    const out: Update[] = [];
    let left = budgetBytes;
    for (const entry of entries) {
      if (exclude?.has(entry.update.member)) continue;
      const bytes = this.sizeOf(entry.update);
      if (bytes > left) continue;
      left -= bytes;
      out.push(entry.update);
      entry.transmits++;
      if (entry.transmits >= this.limit) this.#entries.delete(entry.update.member);
    }
    return out;
  }

  /** Forgets any queued update about `member` (it became stale). */
  drop(member: number): void {
    this.#entries.delete(member);
  }
}
