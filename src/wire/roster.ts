/**
 * The roster: the ordered server ids and system names that the numbers inside a packet refer to.
 * A membership body names members by their index in the server list (priority order, then id)
 * and systems by their index in the system list (readiness bitmaps), so two agents whose lists
 * differ (one restarted after `flip server add|rm`, one not yet) read each other's numbers
 * differently. Every packet therefore carries:
 *
 * - the sender's and the destination's **server tags**, a 32-bit digest of each id, so that who
 *   sent a packet and for whom is known whatever either side's list looks like; and
 * - the **digests** of the sender's server list and of its system list, so that a receiver with
 *   other lists knows not to read the member or system numbers of the body (see
 *   membership/roster-free.ts).
 *
 * Both are in the authenticated header (layout.ts). Tags of one config never collide: the
 * config's validation refuses two servers with one tag (a chance of about n^2 / 2^33).
 *
 * Pure.
 */
import { createHash } from 'node:crypto';

/** The lists a roster digest covers, in the order their indexes count. */
export interface RosterLists {
  /** Server ids, index order (the config's priority order). */
  servers: readonly string[];
  /** System names, index order (the config's order). */
  systems: readonly string[];
}

/** Domain separation: a tag or digest is never the digest of anything else flip hashes. */
const TAG_PREFIX = 'flip server tag\u0000';
const SERVERS_PREFIX = 'flip servers\u0000';
const SYSTEMS_PREFIX = 'flip systems\u0000';

function u32Of(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32BE(0);
}

/** The 32-bit tag of a server id, as packets name senders and destinations. */
export function serverTag(id: string): number {
  return u32Of(TAG_PREFIX + id);
}

/** The 32-bit digest of a server list: equal lists, equal digests (order counts). */
export function serversDigest(servers: readonly string[]): number {
  return u32Of(SERVERS_PREFIX + JSON.stringify(servers));
}

/** The 32-bit digest of a system list, as serversDigest. */
export function systemsDigest(systems: readonly string[]): number {
  return u32Of(SYSTEMS_PREFIX + JSON.stringify(systems));
}

/** The lists a codec uses when given none: servers named by their index, no systems. */
export function indexRoster(memberCount: number): RosterLists {
  return { servers: Array.from({ length: memberCount }, (_, index) => `#${index}`), systems: [] };
}

/** Pairs of servers whose tags are equal, as [earlier id, later id] (for the config's checks). */
export function tagCollisions(ids: readonly string[]): Array<[string, string]> {
  const seen = new Map<number, string>();
  const collisions: Array<[string, string]> = [];
  for (const id of ids) {
    const tag = serverTag(id);
    const other = seen.get(tag);
    if (other === undefined) seen.set(tag, id);
    else collisions.push([other, id]);
  }
  return collisions;
}

/** A codec's roster: its digests, and server tags to indexes and back. */
export class WireRoster {
  readonly servers_digest: number;
  readonly systems_digest: number;
  readonly #tags: number[];
  readonly #indexByTag = new Map<number, number>();

  constructor(lists: RosterLists) {
    this.servers_digest = serversDigest(lists.servers);
    this.systems_digest = systemsDigest(lists.systems);
    this.#tags = lists.servers.map(serverTag);
    this.#tags.forEach((tag, index) => {
      if (this.#indexByTag.has(tag))
        throw new RangeError(
          `WireRoster: servers ${lists.servers[this.#indexByTag.get(tag)!]} and ${lists.servers[index]} have one tag`,
        );
      this.#indexByTag.set(tag, index);
    });
  }

  /** The tag of the server at `index`. */
  tag(index: number): number {
    const tag = this.#tags[index];
    if (tag === undefined) throw new RangeError(`WireRoster: no server at index ${index}`);
    return tag;
  }

  /** The index of the server with `tag`, or undefined when no server of this roster has it. */
  indexOf(tag: number): number | undefined {
    return this.#indexByTag.get(tag);
  }
}
