/**
 * What an incarnation means, in one place. A node starts each boot with its wall-clock start
 * time in ms as its incarnation (so a restart starts higher than any number its last life used,
 * unless the clock went back: see the wire's boot hints) and raises it by one per refutation,
 * which happens a handful of times a life. So an incarnation also says roughly when its node
 * started; 0 means this node has not heard of the member yet.
 */

/** The first incarnation of a boot that starts at `wall_ms` (ms since the epoch). */
export function bootIncarnation(wall_ms: number): number {
  return Math.floor(wall_ms);
}

/**
 * Whether the member whose incarnation is `incarnation` started at least `margin_ms` before
 * `wall_ms`: false for a member not heard of yet (0), which may have started at any time.
 */
export function startedBefore(incarnation: number, wall_ms: number, margin_ms: number): boolean {
  return incarnation > 0 && incarnation + margin_ms < wall_ms;
}

/**
 * Whether the member may have been running, and holding items, before `wall_ms`: it started at
 * least `margin_ms` before, or this node does not know its incarnation yet (0). A state sync
 * leaves out members that are plainly alive, so a server that restarts into a running cluster
 * may not know yet when a live peer started; counting such a peer as a possible holder makes the
 * server wait for its release instead of holding the item beside it.
 */
export function mayHaveRunBefore(incarnation: number, wall_ms: number, margin_ms: number): boolean {
  return incarnation === 0 || startedBefore(incarnation, wall_ms, margin_ms);
}
