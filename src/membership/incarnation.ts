/**
 * What an incarnation means, in one place. A node starts each boot with its wall-clock start
 * time in ms as its incarnation (so a restart starts higher than any number its last life used,
 * unless the clock went back: see the wire's boot hints) and raises it by one per refutation,
 * which happens a handful of times a life; 0 means this node has not heard of the member yet.
 */

/** The first incarnation of a boot that starts at `wall_ms` (ms since the epoch). */
export function bootIncarnation(wall_ms: number): number {
  return Math.floor(wall_ms);
}
