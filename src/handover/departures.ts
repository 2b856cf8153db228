/**
 * Departures: when a server may take a committed server list that drops another server (a
 * `flip server rm`), break-before-make.
 *
 * Claims ask the members of the claimer's list (handover/claims.ts). Once a server has taken a
 * list without X, it would claim X's items without asking X, though X may still hold them: X
 * learns of its removal at about the same moment, and its `down` scripts take their time (or X
 * has not learnt yet). So a server takes such a list only once every server it drops can hold
 * nothing in its view, as a claim would wait for X had X failed:
 *
 * - X is gone here (it said it left, or a quorum declared it down), or has not been heard from
 *   here for `silence_ms` (a server whose other peers took the list already cannot tell it of a
 *   decision about X any more: they drop its gossip, as numbered by another list); and
 * - X's fence has passed (handover/fence.ts) for every system X was a member of, counted from the
 *   last moment anybody we know of heard from X.
 *
 * A removed server leaves by itself as soon as it applies its removal (drain, then `down` for
 * what it holds, and a leave announcement), so the wait is its drain and fence in the common case.
 *
 * Pure.
 */
import type { FlipConfig } from '../config/index.js';
import { isGone, type MemberView } from '../membership/member-view.js';
import { fencedAt, fenceOf } from './fence.js';

/** What the gate needs of this server's membership core (its current list's numbering). */
export interface DepartureView {
  member(index: number): Readonly<MemberView>;
  /** When this node last heard from `member` itself (ms; -Infinity: never). */
  lastHeard(member: number): number;
  /** The latest moment anybody we know of heard from `member` (ms). */
  heardByAnyone(member: number): number;
  readonly grant_fresh_ms: number;
}

/**
 * The servers of `current` (this server's running config) that `next` drops and that may still
 * hold items in `view` at `now`: `next` waits for them (an empty list: it may be taken now).
 */
export function departuresPending(
  now: number,
  view: DepartureView,
  current: FlipConfig,
  next: FlipConfig,
  silence_ms: number,
): string[] {
  const kept = new Set(next.servers.map((server) => server.id));
  const pending: string[] = [];
  current.servers.forEach((server, index) => {
    if (server.id === current.id || kept.has(server.id)) return;
    const record = view.member(index);
    const quiet = isGone(record.state) || now - view.lastHeard(index) >= silence_ms;
    const heard = view.heardByAnyone(index);
    const fenced = current.systems
      .filter((system) => system.members.includes(server.id))
      .every((system) => now >= fencedAt(heard, fenceOf(system), view.grant_fresh_ms));
    if (!quiet || !fenced) pending.push(server.id);
  });
  return pending;
}
