/**
 * The queue of updates waiting to be piggybacked on outgoing messages. One entry per member
 * and class of news (a newer update about a member's liveness replaces the older one, and a
 * newer readiness record the older one, but neither replaces the other); each entry is sent at most
 * `retransmitLimit` times, least-sent first, within the byte budget of a packet.
 */
import type { Gossip } from './messages.js';

/**
 * The queue's key of an update: the member for news about its liveness, and -1 - member for its
 * readiness (readiness.ts), so that the two never replace each other.
 */
export function gossipKey(update: Gossip): number {
  return update.kind === 'readiness' ? -1 - update.member : update.member;
}

interface Entry {
  update: Gossip;
  transmits: number;
  /** Insertion order, to break ties toward newer entries. */
  serial: number;
}

export class BroadcastQueue {
  #entries = new Map<number, Entry>();
  #serial = 0;

  constructor(
    private readonly limit: number,
    private readonly sizeOf: (update: Gossip) => number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Queues `update`, replacing any queued update of its class about the same member. */
  enqueue(update: Gossip): void {
    this.#entries.set(gossipKey(update), { update, transmits: 0, serial: this.#serial++ });
  }

  /**
   * Takes updates for one message within `budgetBytes`, counting a transmit for each, and
   * skipping `exclude` (keys, see gossipKey, already placed in the message). Entries reaching
   * the limit are dropped.
   */
  take(budgetBytes: number, exclude?: ReadonlySet<number>): Gossip[] {
    if (this.#entries.size === 0) return [];
    const entries = [...this.#entries.values()].sort(
      (a, b) => a.transmits - b.transmits || b.serial - a.serial,
    );
    const out: Gossip[] = [];
    let left = budgetBytes;
    for (const entry of entries) {
      const key = gossipKey(entry.update);
      if (exclude?.has(key)) continue;
      const bytes = this.sizeOf(entry.update);
      if (bytes > left) continue;
      left -= bytes;
      out.push(entry.update);
      entry.transmits++;
      if (entry.transmits >= this.limit) this.#entries.delete(key);
    }
    return out;
  }

  /** Forgets any queued update about `member`'s liveness (it became stale). */
  drop(member: number): void {
    this.#entries.delete(member);
  }
}
