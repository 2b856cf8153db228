/**
 * What the agent logs about dropped packets, decided without a clock of its own: every call
 * takes the current monotonic time in ms, so a flood can be replayed in virtual time.
 *
 * A flood of bad packets must neither stay invisible at `info` nor write a line per packet.
 * So every drop is counted into a summary that the agent logs at `warning`, at most once per
 * `summary_interval_ms` and only when something was dropped since the last one; and a
 * per-packet line for `debug` is allowed at most `lines_per_second` times in any second.
 *
 * When a summary is due: the first drop after a quiet period (no summary for a whole interval)
 * is due at once, so an operator hears of the first bad packet without delay; every drop after
 * it waits until one interval after the previous summary. A flood thus gives one summary at its
 * start and then one per interval, and a summary is never more than one interval late.
 *
 * Memory is bounded whatever the senders: at most `senders_max` addresses are counted by name
 * per summary, and drops from any further address only add to `others`, so a flood from spoofed
 * addresses cannot grow the map. The configured peers are always counted by name besides those
 * (their number is fixed by the config): a spoofed flood must not hide a peer sealing with a
 * wrong key.
 *
 * A wrong key is also loud on its own (PeerAuthWarnings): a summary every 10 s that mentions it
 * among other counts is easy to miss, while a server that cannot authenticate a peer's packets
 * will, after its start-up grace, believe that peer gone.
 */
import { DROP_REASONS, type DropCounters, type DropReason, newDropCounters } from '../wire/drop-reasons.js';

export interface DropLogOptions {
  /** The shortest gap between two summaries (ms). Default SUMMARY_INTERVAL_MS. */
  summary_interval_ms?: number;
  /** Per-packet lines allowed in any 1000 ms. Default LINES_PER_SECOND. */
  lines_per_second?: number;
  /** Senders other than the peers counted by name in one summary. Default SENDERS_MAX. */
  senders_max?: number;
  /**
   * The configured peers' addresses, in the form `record` is given them. Authentication failures
   * from these look like a wrong key, which the summary hints at.
   */
  peers?: Iterable<string>;
}

/** A per-packet line that may be written now. */
export interface DropLine {
  /** Lines left out since the previous one was allowed (0 when none). */
  suppressed: number;
}

/** What was dropped since the previous summary. */
export interface DropSummary {
  total: number;
  /** Non-zero counts only, in the order of DROP_REASONS. */
  by_reason: Partial<Record<DropReason, number>>;
  /** Drops by sender address, largest first: the peers and at most `senders_max` others. */
  by_sender: Record<string, number>;
  /** Drops from senders that did not fit into `by_sender`. */
  others: number;
  /**
   * The time the counts cover (ms): from the previous summary, or from the first drop when
   * there was none for a whole interval before it.
   */
  window_ms: number;
  /** Set when configured peers sent packets that failed authentication. */
  hint?: string;
}

export const SUMMARY_INTERVAL_MS = 10_000;
export const LINES_PER_SECOND = 20;
export const SENDERS_MAX = 20;
export const PEER_AUTH_HINT = 'packets from configured peers failed authentication: wrong key?';

/**
 * Packets that did not authenticate: from a peer, a key differing from ours is the likely cause
 * (unknown_key: none of our keys has its key id; bad_tag: one has, and the tag still fails).
 */
const AUTH_REASONS: ReadonlySet<DropReason> = new Set<DropReason>(['unknown_key', 'bad_tag']);
const LINE_WINDOW_MS = 1000;

export class DropLog {
  readonly #interval_ms: number;
  readonly #senders_max: number;
  #peers: ReadonlySet<string>;
  /** When each of the last `lines_per_second` lines was allowed, as a ring (oldest next). */
  readonly #lineTimes: number[];
  #lineNext = 0;
  #suppressed = 0;

  #total = 0;
  #byReason: DropCounters = newDropCounters();
  readonly #bySender = new Map<string, number>();
  /** Entries of #bySender that are not peers, held at most #senders_max. */
  #listedOthers = 0;
  #others = 0;
  #peerAuthFailures = 0;
  #windowStart_ms = 0;
  #lastSummary_ms = Number.NEGATIVE_INFINITY;
  #due_ms = Number.POSITIVE_INFINITY;

  constructor(options: DropLogOptions = {}) {
    this.#interval_ms = options.summary_interval_ms ?? SUMMARY_INTERVAL_MS;
    this.#senders_max = options.senders_max ?? SENDERS_MAX;
    this.#peers = new Set(options.peers ?? []);
    this.#lineTimes = new Array(Math.max(0, options.lines_per_second ?? LINES_PER_SECOND)).fill(
      Number.NEGATIVE_INFINITY,
    );
  }

  /** The configured peers changed (a server list taken in process): counted by name from now on. */
  setPeers(peers: Iterable<string>): void {
    this.#peers = new Set(peers);
  }

  /**
   * Counts one drop. Returns the per-packet line to write now, or undefined when the line
   * budget of the last second is spent.
   */
  record(now_ms: number, reason: DropReason, from: string): DropLine | undefined {
    if (this.#total === 0) {
      // A quiet interval since the last summary: this drop opens a window that is due at once.
      const quiet = now_ms - this.#lastSummary_ms >= this.#interval_ms;
      this.#windowStart_ms = quiet ? now_ms : this.#lastSummary_ms;
      this.#due_ms = quiet ? now_ms : this.#lastSummary_ms + this.#interval_ms;
    }
    this.#total++;
    this.#byReason[reason]++;
    const peer = this.#peers.has(from);
    if (peer && AUTH_REASONS.has(reason)) this.#peerAuthFailures++;
    const count = this.#bySender.get(from);
    if (count !== undefined) this.#bySender.set(from, count + 1);
    else if (peer) this.#bySender.set(from, 1);
    else if (this.#listedOthers < this.#senders_max) {
      this.#bySender.set(from, 1);
      this.#listedOthers++;
    } else this.#others++;
    return this.#line(now_ms);
  }

  /** The summary to log now, if one is due (see the module comment). */
  take(now_ms: number): DropSummary | undefined {
    if (now_ms < this.#due_ms) return undefined;
    return this.flush(now_ms);
  }

  /** The summary of whatever is pending, due or not: for a shutdown. */
  flush(now_ms: number): DropSummary | undefined {
    if (this.#total === 0) return undefined;
    const by_reason: Partial<Record<DropReason, number>> = {};
    for (const reason of DROP_REASONS)
      if (this.#byReason[reason] > 0) by_reason[reason] = this.#byReason[reason];
    const by_sender = Object.fromEntries([...this.#bySender].sort((a, b) => b[1] - a[1]));
    const summary: DropSummary = {
      total: this.#total,
      by_reason,
      by_sender,
      others: this.#others,
      window_ms: Math.max(0, now_ms - this.#windowStart_ms),
    };
    if (this.#peerAuthFailures > 0) summary.hint = PEER_AUTH_HINT;
    this.#total = 0;
    this.#byReason = newDropCounters();
    this.#bySender.clear();
    this.#listedOthers = 0;
    this.#others = 0;
    this.#peerAuthFailures = 0;
    this.#lastSummary_ms = now_ms;
    this.#due_ms = Number.POSITIVE_INFINITY;
    return summary;
  }

  /** When `take` next returns a summary (ms); Infinity while nothing was dropped. */
  nextWakeAt(): number {
    return this.#due_ms;
  }

  /** Allows a line when the one `lines_per_second` lines back was a whole second ago or more. */
  #line(now_ms: number): DropLine | undefined {
    const times = this.#lineTimes;
    if (times.length === 0 || now_ms - times[this.#lineNext]! < LINE_WINDOW_MS) {
      this.#suppressed++;
      return undefined;
    }
    times[this.#lineNext] = now_ms;
    this.#lineNext = (this.#lineNext + 1) % times.length;
    const line = { suppressed: this.#suppressed };
    this.#suppressed = 0;
    return line;
  }
}

/**
 * The shortest gap between two wrong-key warnings about one peer (ms): a peer probes several
 * times a second, and a line a packet would bury the log, while one every 30 s keeps the problem
 * on the screen of anyone reading it.
 */
export const PEER_AUTH_WARNING_INTERVAL_MS = 30_000;

/** A configured peer, as the wrong-key warning names it. */
export interface AuthPeer {
  /** Its server id. */
  id: string;
  /** Its address, in the form `record` is given senders. */
  address: string;
}

export interface PeerAuthWarningsOptions {
  peers: Iterable<AuthPeer>;
  /** The shortest gap between two warnings about one peer (ms). Default PEER_AUTH_WARNING_INTERVAL_MS. */
  interval_ms?: number;
}

/** A warning to log now: packets from a configured peer's address fail authentication. */
export interface PeerAuthWarning {
  peer: string;
  from: string;
  /** Packets from it that failed since the previous warning about it, this one included. */
  failures: number;
  /** The same, by reason (unknown_key, bad_tag); non-zero counts only. */
  by_reason: Partial<Record<DropReason, number>>;
}

interface AuthPeerState {
  id: string;
  last_warning_ms: number;
  /** Failures since the last warning. */
  failures: number;
  by_reason: Partial<Record<DropReason, number>>;
}

/**
 * Decides when packets from a configured peer's address that fail authentication get a warning
 * line of their own: the first at once, then at most one per `interval_ms` per peer, each
 * counting the failures since the one before. Like DropLog it takes the time in every call.
 *
 * Only configured peers are tracked, so memory is fixed by the config. A source address can be
 * spoofed, so a warning may also mean that someone forges a peer's packets; the rate limit holds
 * either way.
 */
export class PeerAuthWarnings {
  readonly #interval_ms: number;
  readonly #peers = new Map<string, AuthPeerState>();

  constructor(options: PeerAuthWarningsOptions) {
    this.#interval_ms = options.interval_ms ?? PEER_AUTH_WARNING_INTERVAL_MS;
    for (const { id, address } of options.peers)
      this.#peers.set(address, { id, last_warning_ms: Number.NEGATIVE_INFINITY, failures: 0, by_reason: {} });
  }

  /** The configured peers changed (a server list taken in process); a kept peer keeps its count. */
  setPeers(peers: Iterable<AuthPeer>): void {
    const kept = new Map(this.#peers);
    this.#peers.clear();
    for (const { id, address } of peers)
      this.#peers.set(
        address,
        kept.get(address) ?? { id, last_warning_ms: Number.NEGATIVE_INFINITY, failures: 0, by_reason: {} },
      );
  }

  /** Counts one drop; returns the warning to log now, if this drop calls for one. */
  record(now_ms: number, reason: DropReason, from: string): PeerAuthWarning | undefined {
    if (!AUTH_REASONS.has(reason)) return undefined;
    const peer = this.#peers.get(from);
    if (peer === undefined) return undefined;
    peer.failures++;
    peer.by_reason[reason] = (peer.by_reason[reason] ?? 0) + 1;
    if (now_ms - peer.last_warning_ms < this.#interval_ms) return undefined;
    const warning: PeerAuthWarning = {
      peer: peer.id,
      from,
      failures: peer.failures,
      by_reason: peer.by_reason,
    };
    peer.last_warning_ms = now_ms;
    peer.failures = 0;
    peer.by_reason = {};
    return warning;
  }
}

/** The warning's log message: who, and what to check. */
export function peerAuthWarningText(warning: PeerAuthWarning): string {
  return (
    `packets from ${warning.peer} (${warning.from}) fail authentication: wrong key? ` +
    'both servers must share one of their keys'
  );
}
