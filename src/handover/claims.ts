/**
 * Claims: break-before-make for every hand-over, with no wait that ends by a timeout.
 *
 * Before a server runs `alive` for an item it does not hold, it claims the item: it asks every
 * other member of the item's system that is live in its view whether it may take it. A member
 * answers for an item (a `claim_reply`) only when it neither holds nor wants it: its `down` is
 * done, or it never ran `alive`, and its own plan does not give it the item (see
 * NodeController.mayWant). A member that holds or wants the item says nothing and is asked again
 * every `repeat_ms`, and at once when it sends a release notice. A member that is not live in
 * the claimer's view counts when its fence has passed (it let go by itself, handover/fence.ts),
 * or, for a member that left, when it said it released the item.
 *
 * Why two servers never both run `alive`: a claim lasts from the moment the item is wanted until
 * it is no longer wanted (an episode); while it lasts the claimer wants the item, and after its
 * `alive` it holds it until its `down` is done. Take two claimers A and B of one item whose
 * episodes overlap: A answered B's claim at some moment, or B answered A's, or neither did. The
 * one that answered did so while it neither held nor wanted the item, so before its own episode
 * began; and its own episode needed the other's answer, which the other (wanting the item since
 * its claim) never gives while it wants or holds it. Answers are tied to the episode they were
 * asked in: an answer to an earlier episode's claim is dropped (message ids, below). When this
 * server's own standing is in doubt (a lost lease, a refutation, a stall), its claims start new
 * episodes (`restart`): the items are still wanted, so the argument holds for the new episodes,
 * and their answers are asked for anew.
 *
 * When views differ (for a moment after a heal), two servers may both want an item: both wait,
 * and neither runs `alive` until the views agree and one stops wanting it. There is no timeout
 * that ends in two holders; a server that is live in the view and never answers (cut off one
 * way) holds the claim until the quorum declares it down, and then its fence counts.
 *
 * Pure: no clock, timer or I/O; the controller calls it with the time and its view.
 */
import type { ReleasedItem } from '../membership/messages.js';

export interface ClaimsOptions {
  /** How often a member that has not answered is asked again (ms). */
  repeat_ms: number;
  /** The first claim message id; random per boot, so a reply to a previous life's claim is unknown. */
  first_id: number;
}

/** Where a member stands for the claimer, in its view. */
export type Standing =
  /** Live: it must answer the claim. */
  | { kind: 'live' }
  /** Down or left: it counts once its fence ends (`fenced_at`); a left member also once it released the item. */
  | { kind: 'gone'; left: boolean; fenced_at: number };

/** Who must agree before `system`'s items are taken here, and where each stands. */
export interface ClaimView {
  /** The other members of `system` (every server that may ever hold its items). */
  membersOf(system: string): readonly number[];
  standing(system: string, member: number): Standing;
}

/** A claim to send: the membership core's `claim`. */
export interface ClaimSend {
  to: number;
  id: number;
  items: ReleasedItem[];
}

/** One claim of one item, from the moment it is wanted here until it is not (or its `alive` began). */
interface Episode {
  readonly system: string;
  readonly item: string;
  /** Members that answered: they neither held nor wanted the item after the episode began. */
  readonly cleared: Set<number>;
  /** Members heard releasing the item during the episode (counts for a member that left). */
  readonly released: Set<number>;
  /** When each live member was last asked. */
  readonly asked: Map<number, number>;
  /** Every member agreed: the item was let through (once). */
  opened: boolean;
}

/** A claim message sent: to whom, and which episodes it asked for (by item key). */
interface Sent {
  to: number;
  at: number;
  episodes: Map<string, Episode>;
}

/** How many repeat periods a sent claim's reply still counts (a later reply is dropped: asked again). */
const SENT_MEMORY_REPEATS = 4;

export class Claims {
  readonly #options: ClaimsOptions;
  readonly #episodes = new Map<string, Episode>();
  readonly #sent = new Map<number, Sent>();
  #nextId: number;
  /** When a fence that a claim waits for ends (from `open`). */
  #fenceWakeAt = Number.POSITIVE_INFINITY;
  /** When a member that has not answered is to be asked again (from `sends`). */
  #askWakeAt = Number.POSITIVE_INFINITY;
  readonly counters = { claims_sent: 0, replies_heard: 0, replies_dropped: 0, opened: 0, reclosed: 0 };

  constructor(options: ClaimsOptions) {
    this.#options = options;
    this.#nextId = options.first_id >>> 0;
  }

  /** `item` of `system` is wanted here and not held: claim it, unless a claim is under way. */
  want(system: string, item: string): void {
    const key = keyOf(system, item);
    if (this.#episodes.has(key)) return;
    this.#episodes.set(key, newEpisode(system, item));
  }

  /** Ends the claim of `item` (its `alive` began, or it is no longer wanted). */
  end(system: string, item: string): void {
    this.#episodes.delete(keyOf(system, item));
  }

  /** Ends the claims of `system`'s items outside `wanted`. */
  retain(system: string, wanted: ReadonlySet<string>): void {
    for (const [key, episode] of this.#episodes)
      if (episode.system === system && !wanted.has(episode.item)) this.#episodes.delete(key);
  }

  /** Whether `item` was let through (as of the last `open`) and its `alive` may start. */
  letThrough(system: string, item: string): boolean {
    return this.#episodes.get(keyOf(system, item))?.opened === true;
  }

  /** Whether `item` is claimed and not yet let through. */
  waiting(system: string, item: string): boolean {
    const episode = this.#episodes.get(keyOf(system, item));
    return episode !== undefined && !episode.opened;
  }

  /** A claim reply: `from` neither holds nor wants these items of our claim `id`. */
  replied(from: number, id: number, items: readonly ReleasedItem[]): void {
    const sent = this.#sent.get(id);
    if (sent === undefined || sent.to !== from) {
      this.counters.replies_dropped++;
      return;
    }
    this.counters.replies_heard++;
    for (const { system, item } of items) {
      const key = keyOf(system, item);
      const episode = sent.episodes.get(key);
      // Only an answer asked in the episode under way counts.
      if (episode !== undefined && this.#episodes.get(key) === episode) episode.cleared.add(from);
    }
  }

  /**
   * `from` sent a release notice for `item`: ask it again at once (it may answer now), and
   * remember the release for a member that left.
   */
  released(from: number, system: string, item: string): void {
    const episode = this.#episodes.get(keyOf(system, item));
    if (episode === undefined || episode.opened) return;
    episode.released.add(from);
    episode.asked.delete(from);
  }

  /** The claims due at `now`: every live member that has not answered, asked every `repeat_ms`. */
  sends(now: number, view: ClaimView): ClaimSend[] {
    const forget = now - SENT_MEMORY_REPEATS * this.#options.repeat_ms;
    for (const [id, sent] of this.#sent) if (sent.at < forget) this.#sent.delete(id);
    const byMember = new Map<number, Episode[]>();
    const repeat = this.#options.repeat_ms;
    let wake = Number.POSITIVE_INFINITY;
    for (const episode of this.#episodes.values()) {
      if (episode.opened) continue;
      for (const member of view.membersOf(episode.system)) {
        if (episode.cleared.has(member) || view.standing(episode.system, member).kind !== 'live') continue;
        const asked = episode.asked.get(member);
        if (asked !== undefined && now < asked + repeat) {
          wake = Math.min(wake, asked + repeat);
          continue;
        }
        episode.asked.set(member, now);
        wake = Math.min(wake, now + repeat);
        let list = byMember.get(member);
        if (list === undefined) {
          list = [];
          byMember.set(member, list);
        }
        list.push(episode);
      }
    }
    this.#askWakeAt = wake;
    const out: ClaimSend[] = [];
    for (const [to, episodes] of byMember) {
      const id = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0;
      this.#sent.set(id, {
        to,
        at: now,
        episodes: new Map(episodes.map((episode) => [keyOf(episode.system, episode.item), episode])),
      });
      this.counters.claims_sent++;
      out.push({ to, id, items: episodes.map(({ system, item }) => ({ system, item })) });
    }
    return out;
  }

  /**
   * The claimed items every member agreed to at `now`, by system; each is returned once. Also
   * works out when a fence a claim waits for ends (`nextWakeAt`).
   */
  open(now: number, view: ClaimView): Map<string, string[]> {
    const out = new Map<string, string[]>();
    let wake = Number.POSITIVE_INFINITY;
    for (const episode of this.#episodes.values()) {
      let ready = true;
      for (const member of view.membersOf(episode.system)) {
        if (episode.cleared.has(member)) continue;
        const standing = view.standing(episode.system, member);
        if (standing.kind === 'live') {
          // Asked by `sends`, which says when to ask again.
          ready = false;
          continue;
        }
        if (standing.left && episode.released.has(member)) continue;
        if (now >= standing.fenced_at) continue;
        ready = false;
        wake = Math.min(wake, standing.fenced_at);
      }
      if (!ready) {
        // Let through, but its `alive` has not started, and a member that counted as gone and
        // fenced is live again (a heal): it may hold the item now, so it must answer first.
        if (episode.opened) {
          episode.opened = false;
          this.counters.reclosed++;
        }
        continue;
      }
      if (episode.opened) continue;
      episode.opened = true;
      this.counters.opened++;
      const items = out.get(episode.system);
      if (items === undefined) out.set(episode.system, [episode.item]);
      else items.push(episode.item);
    }
    this.#fenceWakeAt = wake;
    return out;
  }

  /**
   * Every claim starts over at `now`: the answers gathered are void, since others may have
   * declared us down and, once our fence passed, taken items without asking us (a lost lease, a
   * refutation, a stall). The items stay claimed, in new episodes (an answer to an earlier
   * claim is dropped), and every member is asked again at once: an item let through and not
   * started is held back again. A claim is never dropped here, because the runner's `alive`
   * waits for it (the controller's `cleared`) with no end of its own: only a plan that no
   * longer wants the item (`retain`) or its `alive` starting (`end`) ends a claim.
   */
  restart(now: number): void {
    for (const [key, { system, item }] of this.#episodes) this.#episodes.set(key, newEpisode(system, item));
    this.#askWakeAt = Math.min(this.#askWakeAt, now);
  }

  /**
   * The server list changed in process: every claim starts over (as `restart`) with members
   * numbered anew. An answer gathered, or a claim sent, under the old numbers is void: the servers
   * that must agree may differ (one added), and an answer still on its way names the old numbers.
   */
  renumber(now: number): void {
    this.#sent.clear();
    this.restart(now);
  }

  /** Nothing may be let through for now (no quorum): no fence's end is worth waking for. */
  hold(): void {
    this.#fenceWakeAt = Number.POSITIVE_INFINITY;
  }

  /**
   * When `open` or `sends` may have something new without any other input (ms), as of their last
   * calls (the controller calls both whenever its view or the claims change).
   */
  nextWakeAt(): number {
    return Math.min(this.#fenceWakeAt, this.#askWakeAt);
  }
}

/** A claim of `item` that nobody has been asked in yet. */
function newEpisode(system: string, item: string): Episode {
  return { system, item, cleared: new Set(), released: new Set(), asked: new Map(), opened: false };
}

function keyOf(system: string, item: string): string {
  return `${system}\u0000${item}`;
}
