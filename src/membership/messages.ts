/**
 * The messages that flip agents exchange, as the protocol core sees them (plain objects).
 * src/wire/ turns them into bytes and back; the sender's server index travels in the
 * authenticated packet header, not here.
 *
 * Members are named by their server index: the position of the server in the config's
 * ordered server list (priority, then id), the same on every node of a cluster.
 */

/** What one node tells others about one member. Ordered by incarnation, then by kind. */
export type Update =
  /** `member` is alive at `incarnation` (a refutation, a return, or a restart). */
  | { kind: 'alive'; member: number; incarnation: number }
  /**
   * The servers in `reporters` (sorted, unique server indexes) could not reach `member` at
   * `incarnation`. Reports for one (member, incarnation) are merged by union.
   */
  | { kind: 'suspect'; member: number; incarnation: number; reporters: number[] }
  /**
   * A quorum agreed that `member` at `incarnation` is down. `silent_ms`: how long, when the
   * sender sent this, since anybody it knows of last heard from the member (see lease.ts: the
   * fence is counted from then). Absent: unknown, taken as 0 (just heard, the longest wait).
   */
  | { kind: 'down'; member: number; incarnation: number; silent_ms?: number }
  /** `member` announced that it is shutting down (graceful leave) at `incarnation`; `silent_ms` as for down. */
  | { kind: 'left'; member: number; incarnation: number; silent_ms?: number };

/**
 * `member`'s readiness for the systems it is a member of, as it alone announces it (see
 * readiness.ts): at its `incarnation`, numbered `version` within it, the systems (indexes into
 * the config's systems sorted by name, increasing) whose check is failing, those in which it is
 * holding down after a return, and those in which it is fresh (below). Every other system of the member is ready. Not news about
 * the member's liveness: it never changes whether the member is up, only which items it gets.
 */
export interface ReadinessUpdate {
  kind: 'readiness';
  member: number;
  incarnation: number;
  version: number;
  failing: number[];
  holding: number[];
  /**
   * Systems where it is ready only because no other member was when it came (it skipped its
   * hold-down, see health/hold-down.ts), for the hold-down's length: a server starting beside it
   * skips its own hold-down too, instead of waiting for one that is no more settled than itself.
   */
  fresh: number[];
}

export type UpdateKind = Update['kind'];

/** What a message carries piggybacked: news about members' liveness, and their readiness. */
export type Gossip = Update | ReadinessUpdate;
export type GossipKind = Gossip['kind'];

/** A member's state in one node's view, as carried in a `state` message. */
export type MemberStateName = 'alive' | 'probably_down' | 'down' | 'left';

export interface StateRecord {
  member: number;
  state: MemberStateName;
  incarnation: number;
  /** For down and left members: as an update's `silent_ms`. */
  silent_ms?: number;
}

/**
 * Flags of a ping. Bit 0 asks the target to answer with a `state` message: set while joining,
 * and now and then afterwards as anti-entropy (a decision whose gossip was lost is repaired).
 */
export const PING_FLAG_WANT_STATE = 1;
/** Set by the codec when a ping carries `about`; not for callers' `flags`. */
export const PING_FLAG_ABOUT = 2;

/**
 * A ping that asks the receiver to confirm that `member` at `incarnation` is unreachable before
 * the sender declares it down (quorum.ts). Answering is a promise: the receiver grants that
 * incarnation of the member no lease again, and its ack says how long ago it last heard from it.
 */
export interface PingAbout {
  member: number;
  incarnation: number;
}

interface Base {
  /** The sender's own incarnation. */
  incarnation: number;
  /** Piggybacked gossip. */
  updates: Gossip[];
}

export type Message =
  /**
   * A direct probe of `target` (the receiver); `flags` bit 0 (PING_FLAG_WANT_STATE) asks for a
   * `state` reply. `about`: a confirmation (see PingAbout).
   */
  | (Base & { type: 'ping'; seq: number; target: number; flags: number; about?: PingAbout })
  /**
   * Answer to the ping or ping_req numbered `seq` (a ping_req is answered when its target
   * answered). `grant`: the sender of the answered ping holds a lease from us (lease.ts): we
   * heard it, and have neither declared nor promised to declare its incarnation down.
   * `heard_ago_ms`: for a ping `about` a member, how long ago we last heard from that member
   * (absent: never). `gone`: no grant because we hold the pinger down or left at that incarnation
   * (we tell it so in a gossip message too, and it refutes that).
   */
  | (Base & { type: 'ack'; seq: number; grant: boolean; gone?: boolean; heard_ago_ms?: number })
  /** Please probe `target` for me and answer with ack (it answered) or nack (it did not). */
  | (Base & { type: 'ping_req'; seq: number; target: number })
  /** The target of ping_req `seq` did not answer the helper in time (Lifeguard's nack). */
  | (Base & { type: 'nack'; seq: number })
  /** Gossip pushed at once, without a probe (new suspicions, decisions, leaves). */
  | (Base & { type: 'gossip' })
  /** The sender's view of members that are not plainly alive, for a node that is joining. */
  | (Base & { type: 'state'; records: StateRecord[] })
  /**
   * The sender ran `down` for these items because they now belong to the receiver: announce
   * them again. The receiver's own `alive` may have run (and announced) while the sender still
   * held them, so neighbours can still point at the sender. `id` numbers the notice per sender
   * boot; a repeated notice (the sender sends each twice) carries the same id.
   */
  | (Base & { type: 'released'; id: number; items: ReleasedItem[] })
  /** The receiver of `released` notice `id` got it (sent for every copy). */
  | (Base & { type: 'released_ack'; id: number })
  /**
   * The sender wants to take these items (it is about to run their `alive`): may it? `id`
   * numbers the question per sender boot; every repeat gets a new id. See handover/claims.ts.
   */
  | (Base & { type: 'claim'; id: number; items: ReleasedItem[] })
  /**
   * Answer to claim `id`: the sender neither holds nor wants these items of it (the others it
   * holds, may hold, or wants itself, and says nothing of them).
   */
  | (Base & { type: 'claim_reply'; id: number; items: ReleasedItem[] })
  /**
   * The receiver's packets carry a boot id below `boot_id`, one the sender has already seen from
   * it, so the sender drops them as replays: it restarted with its clock set back. It should go
   * on above `boot_id`. Handled by the agent's driver, not by the protocol core.
   */
  | (Base & { type: 'boot_hint'; boot_id: number })
  /**
   * The sender hears two live agents claim server `member`'s id (identity.ts): the run with boot
   * `kept` keeps it, the run with boot `newcomer` must stay out. Sent to both, at the addresses
   * the sender saw them at (`kept_at`, `newcomer_at`: "ip:port", empty when unknown), so each
   * can say where the other is.
   */
  | (Base & {
      type: 'duplicate';
      member: number;
      kept: number;
      newcomer: number;
      kept_at: string;
      newcomer_at: string;
    });

/** An item of a system's data, named as the config names them. */
export interface ReleasedItem {
  system: string;
  item: string;
}

export type MessageType = Message['type'];

/** A message to send to member `to`. */
export interface Outgoing {
  to: number;
  message: Message;
}

/** How the core measures message sizes, so piggybacked gossip never overflows a packet. */
export interface Packing {
  /** Bytes available for a message body. */
  bodyBytesMax: number;
  /** Encoded size of one update. */
  updateSize(update: Gossip): number;
  /** Encoded size of a message of this type without its updates, optional fields or records. */
  baseSize(type: Message['type']): number;
  /** Encoded size of `message` without its updates (and for `state`, without records). */
  fixedSize(message: Message): number;
  /** Encoded size of one state record. */
  stateRecordSize: number;
  /** Encoded size of one item of a `released`, `claim` or `claim_reply` message. */
  releasedItemSize(item: ReleasedItem): number;
}
