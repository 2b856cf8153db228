/**
 * Dissemination: how news spreads. Every update is queued to ride piggybacked on whatever this
 * node sends next (broadcasts.ts bounds how often), a fresh one is also pushed at once to a few
 * members, and a peer that tells us something older than our record is sent the record back
 * (see docs/PROTOCOL.md, "Dissemination and repair").
 */
import { BroadcastQueue, gossipKey } from './broadcasts.js';
import type { Gossip, Message, Outgoing, Packing } from './messages.js';
import { sample } from './probe-order.js';
import { PUSH_FANOUT, retransmitLimit } from './timing.js';

/** Bytes left for piggybacked updates in `message`'s packet, after its own content. */
export function piggybackBudget(packing: Packing, message: Message): number {
  let budget = packing.bodyBytesMax - packing.fixedSize(message);
  for (const update of message.updates) budget -= packing.updateSize(update);
  if (message.type === 'released') for (const item of message.items) budget -= packing.releasedItemSize(item);
  return budget;
}

/** The first of `updates` that fit in one gossip message; the rest wait for another exchange. */
export function fittingGossip(packing: Packing, updates: readonly Gossip[]): Gossip[] {
  let budget = packing.bodyBytesMax - packing.baseSize('gossip');
  const fitting: Gossip[] = [];
  for (const update of updates) {
    const bytes = packing.updateSize(update);
    if (bytes > budget) break;
    budget -= bytes;
    fitting.push(update);
  }
  return fitting;
}

export class Dissemination {
  readonly #queue: BroadcastQueue;
  readonly #packing: Packing;
  readonly #random: () => number;

  constructor(options: { packing: Packing; memberCount: number; random: () => number }) {
    this.#packing = options.packing;
    this.#random = options.random;
    this.#queue = new BroadcastQueue(retransmitLimit(options.memberCount), options.packing.updateSize);
  }

  /** Queues `update` for piggybacking, replacing what was queued about the same member. */
  enqueue(update: Gossip): void {
    this.#queue.enqueue(update);
  }

  /** Stops spreading what was queued about `member` (it became stale). */
  drop(member: number): void {
    this.#queue.drop(member);
  }

  /**
   * Fills the rest of `message`'s packet with queued updates about other members than those it
   * carries, counting a transmit for each; returns `message`.
   */
  piggyback(message: Message): Message {
    const exclude = new Set(message.updates.map(gossipKey));
    const piggyback = this.#queue.take(piggybackBudget(this.#packing, message), exclude);
    if (piggyback.length > 0) message.updates = [...message.updates, ...piggyback];
    return message;
  }

  /** Gossip that pushes a fresh `update` at once to PUSH_FANOUT of `candidates`, chosen at random. */
  push(update: Gossip, candidates: readonly number[], incarnation: number): Outgoing[] {
    return sample(candidates, PUSH_FANOUT, this.#random).map((to) => ({
      to,
      message: { type: 'gossip', incarnation, updates: [update] },
    }));
  }

  /** Gossip that answers `to`'s stale news with our newer records, as many as fit in a packet. */
  correction(to: number, corrections: readonly Gossip[], incarnation: number): Outgoing {
    return {
      to,
      message: { type: 'gossip', incarnation, updates: fittingGossip(this.#packing, corrections) },
    };
  }
}
