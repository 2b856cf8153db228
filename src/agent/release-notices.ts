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
 * Notices travel by UDP, and the old holder may run its `down` while it cannot reach the new
 * one (it learned of the hand-over through others, across a partition that is still there).
 * So a notice is sent again, with the same id, `repeat_ms` later and then at doubling gaps (at
 * most REPEAT_GAP_MAX_FACTOR x `repeat_ms`), until the receiver
 * acknowledges it, is no longer live in this node's view, or `give_up_ms` has passed. The
 * receiver acts on an id once.
 */
import type { ReleasedItem } from '../membership/messages.js';

export interface ReleaseNoticeOptions {
  /** Sends one notice (the membership core splits it into packets). */
  send(to: number, id: number, items: ReleasedItem[]): void;
  /** Whether the member is live in this node's view (no use sending to a member that is gone). */
  live(member: number): boolean;
  now(): number;
  /** Pause between two copies of a notice (ms). */
  repeat_ms: number;
  /** How long to keep sending a notice whose receiver stays silent (ms). */
  give_up_ms: number;
  /** Releases finishing within this many ms of each other share a notice. */
  batch_ms?: number;
  /** The first notice id; random per boot, so a restarted sender's ids are not taken for repeats. */
  first_id: number;
}

/** How many notice ids per sender are remembered for spotting repeats. */
const SEEN_IDS_MAX = 64;
const ID_MODULO = 2 ** 32;
/** The gap between copies doubles up to this many times `repeat_ms`. */
const REPEAT_GAP_MAX_FACTOR = 8;

interface Notice {
  to: number;
  id: number;
  items: ReleasedItem[];
  firstSentAt: number;
  /** When to send the next copy, and the gap after it. */
  nextAt: number;
  gap: number;
}

export class ReleaseNotices {
  readonly #options: ReleaseNoticeOptions;
  /** Receiver -> items released to it since the last flush. */
  readonly #outgoing = new Map<number, ReleasedItem[]>();
  /** Notices sent and not yet known to have arrived. */
  readonly #unconfirmed: Notice[] = [];
  /** Sender -> ids acted on, oldest first. */
  readonly #seen = new Map<number, number[]>();
  #nextId: number;
  #flushTimer: NodeJS.Timeout | undefined;
  #repeatTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Notices sent (first copies), copies sent again, notices given up, repeats received. */
  readonly counters = { sent: 0, resent: 0, given_up: 0, repeats_ignored: 0 };

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
      this.counters.repeats_ignored += 1;
      return false;
    }
    seen.push(id);
    if (seen.length > SEEN_IDS_MAX) seen.shift();
    this.#seen.set(from, seen);
    return true;
  }

  /** The receiver of notice `id` got it: stop sending it. */
  acked(from: number, id: number): void {
    const at = this.#unconfirmed.findIndex((notice) => notice.to === from && notice.id === id);
    if (at !== -1) this.#unconfirmed.splice(at, 1);
  }

  /** Notices still being sent again. */
  get unconfirmed(): number {
    return this.#unconfirmed.length;
  }

  /** Sends what is queued now (shutdown) and stops sending again. */
  close(): void {
    this.#flush();
    this.#closed = true;
    if (this.#repeatTimer) clearTimeout(this.#repeatTimer);
    this.#repeatTimer = undefined;
    this.#unconfirmed.length = 0;
  }

  #flush = (): void => {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const now = this.#options.now();
    for (const [to, items] of this.#outgoing) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) % ID_MODULO;
      this.#options.send(to, id, items);
      this.counters.sent += 1;
      const gap = this.#options.repeat_ms;
      this.#unconfirmed.push({ to, id, items, firstSentAt: now, nextAt: now + gap, gap });
    }
    this.#outgoing.clear();
    this.#scheduleRepeat();
  };

  #scheduleRepeat(): void {
    if (this.#closed || this.#repeatTimer || this.#unconfirmed.length === 0) return;
    this.#repeatTimer = setTimeout(this.#repeat, this.#options.repeat_ms);
    this.#repeatTimer.unref();
  }

  #repeat = (): void => {
    this.#repeatTimer = undefined;
    const now = this.#options.now();
    const { give_up_ms } = this.#options;
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const notice = this.#unconfirmed[i]!;
      if (!this.#options.live(notice.to) || now - notice.firstSentAt >= give_up_ms) {
        this.counters.given_up += 1;
        this.#unconfirmed.splice(i, 1);
        continue;
      }
      if (now < notice.nextAt) continue;
      this.#options.send(notice.to, notice.id, notice.items);
      this.counters.resent += 1;
      notice.gap = Math.min(2 * notice.gap, REPEAT_GAP_MAX_FACTOR * this.#options.repeat_ms);
      notice.nextAt = now + notice.gap;
    }
    this.#scheduleRepeat();
  };
}
