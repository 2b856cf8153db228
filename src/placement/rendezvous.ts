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
 */
import { fmix64, hash64, type U64, xor64 } from './hash64.js';

/** Whether score `a` beats score `b` (compared as unsigned 64-bit numbers). */
function beats(a: U64, b: U64): boolean {
  return a.hi !== b.hi ? a.hi > b.hi : a.lo > b.lo;
}

/** The score of an item (by its key) on a member (by its key). */
function score(itemKey: U64, memberKey: U64): U64 {
  return fmix64(xor64(itemKey, memberKey));
}

/** A candidate member with its hashed id. */
export interface HashMember {
  id: string;
  key: U64;
}

/** The members, each with its key; call once per placement, not per item. */
export function hashMembers(ids: readonly string[]): HashMember[] {
  return ids.map((id) => ({ id, key: hash64(id) }));
}

/**
 * The member that `item` goes to among `members` (at least one): the highest score; on an exact
 * tie of 64 bits (about one chance in 2^64 a pair), the smaller id, so the order of `members`
 * never matters.
 */
export function rendezvousOwner(item: string, members: readonly HashMember[]): string {
  const itemKey = hash64(item);
  let best = members[0]!;
  let bestScore = score(itemKey, best.key);
  for (let i = 1; i < members.length; i++) {
    const member = members[i]!;
    const memberScore = score(itemKey, member.key);
    const tie = memberScore.hi === bestScore.hi && memberScore.lo === bestScore.lo;
    if (beats(memberScore, bestScore) || (tie && member.id < best.id)) {
      best = member;
      bestScore = memberScore;
    }
  }
  return best.id;
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
