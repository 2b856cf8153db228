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
import type { Renumbering } from '../membership/renumbering.js';

/**
 * Pure: no clock, timer or socket. Every call takes the time (ms, monotonic); the caller sends
 * what `takeSends` returns (the membership core splits a notice into packets) and calls `tick`
 * when `nextWakeAt` comes, as the membership core and the script runner are driven.
 */
export interface ReleaseNoticeOptions {
  /** Pause between the first two copies of a notice (ms); later gaps double. */
  repeat_ms: number;
  /** How long to keep sending a notice whose receiver stays silent (ms). */
  give_up_ms: number;
  /** Releases finishing within this many ms of each other share a notice. */
  batch_ms?: number;
  /** The first notice id; random per boot, so a restarted sender's ids are not taken for repeats. */
  first_id: number;
}

/** A notice (or a copy of one) to send now. */
export interface OutgoingNotice {
  to: number;
  id: number;
  items: ReleasedItem[];
}

/** How many notice ids per sender are remembered for spotting repeats. */
const SEEN_IDS_MAX = 64;
const ID_MODULO = 2 ** 32;
/** The gap between copies doubles up to this many times `repeat_ms`. */
const REPEAT_GAP_MAX_FACTOR = 8;
/** Releases share a notice when they finish within this long of each other, by default (ms). */
const BATCH_MS_DEFAULT = 10;

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
  #outgoing = new Map<number, ReleasedItem[]>();
  /** When the queued releases are sent (Infinity: none queued). */
  #flushAt = Number.POSITIVE_INFINITY;
  /** Notices sent and not yet known to have arrived. */
  #unconfirmed: Notice[] = [];
  /** Sender -> ids acted on, oldest first. */
  #seen = new Map<number, number[]>();
  #sends: OutgoingNotice[] = [];
  #nextId: number;
  #closed = false;
  /** Notices sent (first copies), copies sent again, notices given up, repeats received. */
  readonly counters = { sent: 0, resent: 0, given_up: 0, repeats_ignored: 0, withdrawn: 0 };

  constructor(options: ReleaseNoticeOptions) {
    this.#options = options;
    this.#nextId = options.first_id % ID_MODULO;
  }

  /** This node released `item` of `system` at `now`; `to` are the servers that hold it now. */
  released(now: number, system: string, item: string, to: readonly number[]): void {
    if (this.#closed) return;
    for (const receiver of to) {
      const list = this.#outgoing.get(receiver) ?? [];
      list.push({ system, item });
      this.#outgoing.set(receiver, list);
    }
    if (to.length > 0 && !Number.isFinite(this.#flushAt))
      this.#flushAt = now + (this.#options.batch_ms ?? BATCH_MS_DEFAULT);
  }

  /**
   * This node takes `item` up again (its `alive` started): a release of it that is queued or
   * not yet confirmed is no longer true, and is withdrawn. A copy sent later would make the
   * receiver take the item while this node holds it.
   */
  retaken(system: string, item: string): void {
    const other = (entry: ReleasedItem) => entry.system !== system || entry.item !== item;
    for (const [to, items] of this.#outgoing) {
      const kept = items.filter(other);
      if (kept.length === items.length) continue;
      this.counters.withdrawn += items.length - kept.length;
      if (kept.length > 0) this.#outgoing.set(to, kept);
      else this.#outgoing.delete(to);
    }
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const notice = this.#unconfirmed[i]!;
      const kept = notice.items.filter(other);
      if (kept.length === notice.items.length) continue;
      this.counters.withdrawn += notice.items.length - kept.length;
      if (kept.length > 0) notice.items = kept;
      else this.#unconfirmed.splice(i, 1);
    }
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

  /**
   * The server list changed in process: receivers and senders are numbered anew (`renumbering`);
   * notices for a server removed are dropped, the rest go on to the same servers.
   */
  renumber(renumbering: Renumbering): void {
    this.#outgoing = renumbering.map(this.#outgoing);
    this.#seen = renumbering.map(this.#seen);
    this.#unconfirmed = this.#unconfirmed.flatMap((notice) => {
      const to = renumbering.nextOf(notice.to);
      return to === undefined ? [] : [{ ...notice, to }];
    });
    this.#sends = this.#sends.flatMap((notice) => {
      const to = renumbering.nextOf(notice.to);
      return to === undefined ? [] : [{ ...notice, to }];
    });
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

  /**
   * Sends the queued releases once their batch time has come, and copies of unconfirmed notices
   * that are due. A notice whose receiver is no longer `live`, or that has been sent for
   * `give_up_ms`, is given up.
   */
  tick(now: number, live: (member: number) => boolean): void {
    if (now >= this.#flushAt) this.#flush(now);
    const { give_up_ms, repeat_ms } = this.#options;
    for (let i = this.#unconfirmed.length - 1; i >= 0; i--) {
      const notice = this.#unconfirmed[i]!;
      if (now < notice.nextAt) continue;
      if (!live(notice.to) || now - notice.firstSentAt >= give_up_ms) {
        this.counters.given_up += 1;
        this.#unconfirmed.splice(i, 1);
        continue;
      }
      this.#sends.push({ to: notice.to, id: notice.id, items: notice.items });
      this.counters.resent += 1;
      notice.gap = Math.min(2 * notice.gap, REPEAT_GAP_MAX_FACTOR * repeat_ms);
      notice.nextAt = now + notice.gap;
    }
  }

  /** When `tick` must be called next (ms; Infinity when nothing is queued or unconfirmed). */
  nextWakeAt(): number {
    let wake = this.#flushAt;
    for (const notice of this.#unconfirmed) wake = Math.min(wake, notice.nextAt);
    return wake;
  }

  /** The notices to send now. */
  takeSends(): OutgoingNotice[] {
    const sends = this.#sends;
    this.#sends = [];
    return sends;
  }

  /** Sends what is queued now (shutdown) and stops sending again. */
  close(now: number): void {
    this.#flush(now);
    this.#closed = true;
    this.#unconfirmed.length = 0;
  }

  #flush(now: number): void {
    this.#flushAt = Number.POSITIVE_INFINITY;
    for (const [to, items] of this.#outgoing) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) % ID_MODULO;
      this.#sends.push({ to, id, items });
      this.counters.sent += 1;
      const gap = this.#options.repeat_ms;
      if (!this.#closed) this.#unconfirmed.push({ to, id, items, firstSentAt: now, nextAt: now + gap, gap });
    }
    this.#outgoing.clear();
  }
}
