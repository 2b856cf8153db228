/**
 * The `hash` system type: rendezvous (highest-random-weight) hashing. Each item goes to the
 * live member with the highest score, a hash of (item, member id). An item's home depends only
 * on its own name and the set of members it may go to, so:
 * - adding or removing an item moves no other item;
 * - a member that joins (or returns) takes exactly the items it now scores highest for, about
 *   1/n of them, each from wherever it was; a member that leaves (or fails) gives up exactly its
 *   own items, each to the member that scores next for it, so they spread over the others.
 *
 * Members are all equal: neither their order nor `priority` matters, only their ids. Renaming a
 * server moves its items as a leave and a join would. Pure and deterministic.
 *
 * The score of (item, member) is 32 bits made from both halves of their 64-bit keys (hash64 of
 * each string, computed once per placement): fmix32(high halves XORed, XORed with fmix32(low
 * halves XORed)). The keys depend on every byte of their strings and fmix32 is a bijection with
 * full avalanche, so each member wins an item with probability 1/n. Both halves count: two
 * members whose keys share one half (one pair in 2^32) are still two members, not twins that
 * split one member's share. A tie of the score (one chance in 2^32 a pair) goes to the smaller
 * id, so the order of the members never matters. test/placement/rendezvous.test.ts checks the
 * balance and the moves statistically. Scoring costs two fmix32 a pair, about 3 ns: a placement
 * of 10,000 items over 1000 members takes tens of milliseconds (bench/placement.ts).
 */
import { fmix32, hash64 } from './hash64.js';

/** Candidate members with the halves of their keys, for scoring many items against them. */
export interface HashMembers {
  ids: readonly string[];
  hi: Uint32Array;
  lo: Uint32Array;
}

/** The members with their keys; compute once per placement, not per item. */
export function hashMembers(ids: readonly string[]): HashMembers {
  const keys = ids.map(hash64);
  return {
    ids,
    hi: Uint32Array.from(keys, (key) => key.hi),
    lo: Uint32Array.from(keys, (key) => key.lo),
  };
}

/** The member that `item` goes to among `members` (at least one): the highest score, ties to the smaller id. */
export function rendezvousOwner(item: string, members: HashMembers): string {
  const key = hash64(item);
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < members.ids.length; i++) {
    const score = fmix32(key.hi ^ members.hi[i]! ^ fmix32(key.lo ^ members.lo[i]!));
    if (score > bestScore || (score === bestScore && members.ids[i]! < members.ids[best]!)) {
      best = i;
      bestScore = score;
    }
  }
  return members.ids[best]!;
}

/** Places every item of `data` on its rendezvous owner among `liveMembers` (at least one). */
export function placeByHash(
  data: readonly string[],
  liveMembers: readonly string[],
  holdings: Map<string, string[]>,
): void {
  const members = hashMembers(liveMembers);
  for (const item of data) holdings.get(rendezvousOwner(item, members))!.push(item);
}
