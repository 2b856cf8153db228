/**
 * The order in which a node probes its peers: a shuffled round-robin, so every peer is
 * probed once per pass (bounded detection time) and the order differs between nodes and
 * passes (no synchronised waves).
 */
export class ProbeOrder {
  #order: number[] = [];
  #next = 0;

  constructor(
    private readonly peers: readonly number[],
    private readonly random: () => number,
  ) {}

  /** The next peer for which `eligible` holds, or undefined when none is eligible. */
  next(eligible: (peer: number) => boolean): number | undefined {
    // Two passes at most: the rest of this one and a whole fresh one.
    for (let tries = 0; tries < 2 * this.peers.length; tries++) {
      if (this.#next >= this.#order.length) this.#reshuffle();
      const peer = this.#order[this.#next++];
      if (peer !== undefined && eligible(peer)) return peer;
    }
    return undefined;
  }

  #reshuffle(): void {
    this.#order = [...this.peers];
    shuffle(this.#order, this.random);
    this.#next = 0;
  }
}

/** Fisher-Yates, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = items[i]!;
    items[i] = items[j]!;
    items[j] = swap;
  }
  return items;
}

/** Up to `count` distinct elements of `items` chosen at random, without changing `items`. */
export function sample<T>(items: readonly T[], count: number, random: () => number): T[] {
  if (count >= items.length) return shuffle([...items], random);
  const picked = new Set<number>();
  const out: T[] = [];
  while (out.length < count) {
    const i = Math.floor(random() * items.length);
    if (picked.has(i)) continue;
    picked.add(i);
    out.push(items[i]!);
  }
  return out;
}
