/**
 * Release notices: the hand-over step that tells the network who holds an item now.
 *
 * A node that runs `down` for an item that placement now gives to another live server tells
 * that server so (a `released` message); the server runs `alive` again, which announces the
 * item (gratuitous ARP for a VIP). Without it, a neighbour can keep pointing at the old holder:
 * the new holder's own `alive` may have run while the old one still answered for the item
 * (a return, the heal of a partition in which both held it), and the last word the neighbour
 * heard came from the old holder, whose `down` says nothing to anybody.
 *
 * Notices are hints carried by UDP: each is sent twice, `repeat_ms` apart, with the same id,
 * and the receiver acts on an id once. A lost notice costs what it costs without notices.
 */
import type { ReleasedItem } from '../membership/messages.js';

export interface ReleaseNoticeOptions {
  /** Sends one notice (the membership core splits it into packets). */
  send(to: number, id: number, items: ReleasedItem[]): void;
  /** Pause between the two copies of a notice (ms). */
  repeat_ms: number;
  /** Releases finishing within this many ms of each other share a notice. */
  batch_ms?: number;
  /** The first notice id; random per boot, so a restarted sender's ids are not taken for repeats. */
  first_id: number;
}

/** How many notice ids per sender are remembered for spotting repeats. */
const SEEN_IDS_MAX = 16;
const ID_MODULO = 2 ** 32;

export class ReleaseNotices {
  readonly #options: ReleaseNoticeOptions;
  /** Receiver -> items released to it since the last flush. */
  readonly #outgoing = new Map<number, ReleasedItem[]>();
  /** Sender -> ids acted on, oldest first. */
  readonly #seen = new Map<number, number[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextId: number;
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  sent = 0;
  repeats_ignored = 0;

  constructor(options: ReleaseNoticeOptions) {
    this.#options = options;
    this.#nextId = options.first_id % ID_MODULO;
  }

  /** This node released `item` of `system`; `to` are the servers that hold it now. */
  released(system: string, item: string, to: readonly number[]): void {
    if (this.#closed) return;
    for (const receiver of to) {
      const list = this.#outgoing.get(receiver) ?? [];
      list.push({ system, item });
      this.#outgoing.set(receiver, list);
    }
    if (to.length > 0) this.#flushTimer ??= setTimeout(this.#flush, this.#options.batch_ms ?? 10);
  }

  /** A notice arrived: true the first time its (sender, id) is seen, false for a repeat. */
  accept(from: number, id: number): boolean {
    const seen = this.#seen.get(from) ?? [];
    if (seen.includes(id)) {
      this.repeats_ignored += 1;
      return false;
    }
    seen.push(id);
    if (seen.length > SEEN_IDS_MAX) seen.shift();
    this.#seen.set(from, seen);
    return true;
  }

  /** Sends what is queued now (shutdown) and stops the repeats. */
  close(): void {
    this.#flush();
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #flush = (): void => {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    for (const [to, items] of this.#outgoing) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) % ID_MODULO;
      this.#options.send(to, id, items);
      this.sent += 1;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#options.send(to, id, items);
      }, this.#options.repeat_ms);
      timer.unref();
      this.#timers.add(timer);
    }
    this.#outgoing.clear();
  };
}
