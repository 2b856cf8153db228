/**
 * What of a message from a server with other server or system lists than ours may be read (the
 * packet says so: wire/roster.ts).
 *
 * Only the system list differs (a rolling restart after `flip system add|rm`): members are
 * numbered as here, so all of it is read but the readiness updates, which number systems.
 *
 * The server list differs: the sender numbers members by its own list, so everything that names a
 * member or a system by number is dropped: the piggybacked gossip
 * (suspicions, decisions, readiness), a state exchange, an indirect probe's target, a
 * confirmation's subject and its answer, a duplicate notice. What is left is about the sender
 * and the receiver themselves, whose identities the packet header gives by id: that the sender
 * is alive at its incarnation, a direct probe and its answer with the lease grant (a promise
 * between the two of them), and the items of release notices, named by system and item.
 *
 * Claims and their answers are dropped too, though they name items, not members: an answer says
 * "I neither hold nor want it" as of the answerer's list, and the claimer counts it against its
 * own. A server that has not applied a `server add` yet does not know the server added, so it
 * would never ask it, and could be let through while the new server holds the item (taken with
 * the agreement of every member of the new list). So while lists differ (for a heartbeat, as
 * agents apply a committed version; or until an agent that cannot take it in process restarts)
 * servers still see each other alive, grant leases and hear release notices; hand-overs between
 * them wait; failure reports, decisions and readiness travel only between servers of one list.
 * Nothing is misread.
 *
 * Pure.
 */
import type { RosterMatch } from '../wire/packet.js';
import { type Message, PING_FLAG_ABOUT, PING_FLAG_WANT_STATE } from './messages.js';

/**
 * The part of `message` that a receiver `self` whose lists compare with the sender's as `match`
 * may read; undefined when nothing of it can be read here.
 */
export function rosterFree(message: Message, self: number, match: RosterMatch): Message | undefined {
  if (match === 'same') return message;
  if (match === 'other_systems')
    return { ...message, updates: message.updates.filter((update) => update.kind !== 'readiness') };
  switch (message.type) {
    case 'ping': {
      // A direct probe of us (the header's destination says so); no state asked, no subject.
      const { about: _about, ...rest } = message;
      return {
        ...rest,
        target: self,
        flags: message.flags & ~(PING_FLAG_ABOUT | PING_FLAG_WANT_STATE),
        updates: [],
      };
    }
    case 'ack': {
      // `heard_ago_ms` answers a confirmation about a member, numbered by the pinger's list.
      const { heard_ago_ms: _heard, ...rest } = message;
      return { ...rest, updates: [] };
    }
    case 'nack':
    case 'released':
    case 'released_ack':
    case 'boot_hint':
      return { ...message, updates: [] };
    case 'claim':
    case 'claim_reply':
    case 'ping_req':
    case 'gossip':
    case 'state':
    case 'duplicate':
      return undefined;
  }
}
