/**
 * The probe cycle (SWIM, with Lifeguard's nacks). Ping a member; half a timeout without an ack,
 * ping it again and ask `indirect_probes` others to probe it for us (`ping_req`); no ack from
 * anyone by the full timeout, and the probe has failed. And the other side of it: relaying a
 * peer's `ping_req`, with a `nack` when the target stays silent. Every call takes the time; the
 * cycle acts only through its ProbeHost (see docs/PROTOCOL.md, "Probing").
 */
import type { Awareness } from './awareness.js';
import { type Message, PING_FLAG_WANT_STATE, type PingAbout } from './messages.js';
import { sample } from './probe-order.js';
import { scaled } from './timing.js';

/** Sequence numbers of pings wrap at 32 bits, as the wire carries them. */
export const SEQ_MODULO = 2 ** 32;

export interface Probe {
  seq: number;
  target: number;
  /**
   * The target's incarnation when the probe started: its failure tells of that one only. A
   * newer one heard of meanwhile (the target restarted, or refuted a suspicion) was alive after
   * the probe's pings left, so the failure is nobody's report against it.
   */
  incarnation: number;
  startedAt: number;
  /** When to send the retry and the indirect probes. */
  indirectAt: number;
  /** When the probe has failed if nothing answered. */
  deadline: number;
  /** When to forget the probe (late acks still clear our suspicion until then). */
  forgetAt: number;
  phase: 'direct' | 'indirect' | 'failed' | 'acked';
  /** Members asked to probe the target for us; only they (and the target) may answer. */
  helpers: number[];
  nacks: number;
  /** Whether we could trust our own reports when the probe started (see witnesses.ts). */
  trusted: boolean;
}

export interface Relay {
  requester: number;
  requesterSeq: number;
  target: number;
  /**
   * When to tell the requester the target has not answered (yet). The requester sent its
   * ping_req half a timeout into its probe and gives up at the full timeout, so the nack must
   * leave a quarter timeout after the request to reach it in time.
   */
  nackAt: number;
  nacked: boolean;
  /** When to forget the relay; an ack until then is still passed on. */
  deadline: number;
}

/** When a probe started at `now` retries through others, fails, and is forgotten. */
export function probeDeadlines(
  now: number,
  timeout_ms: number,
): Pick<Probe, 'indirectAt' | 'deadline' | 'forgetAt'> {
  return { indirectAt: now + timeout_ms / 2, deadline: now + timeout_ms, forgetAt: now + 2 * timeout_ms };
}

/** When a relay asked for at `now` nacks, and when it is forgotten (see Relay.nackAt). */
export function relayDeadlines(now: number, timeout_ms: number): Pick<Relay, 'nackAt' | 'deadline'> {
  return { nackAt: now + timeout_ms / 4, deadline: now + timeout_ms / 2 };
}

/** What a probe that nobody answered in time tells. */
export interface ProbeFailure {
  /** Helpers were asked and none answered, not even with a nack: perhaps we are the one cut off or slow. */
  unheard: boolean;
  /** Whether it counts as our report that the target is unreachable. */
  report: boolean;
}

/**
 * A probe sent while we were cut off, or that no helper answered, tells nothing about the target
 * (even if the network healed before its deadline): report only what others could have confirmed.
 */
export function judgeFailure(probe: Pick<Probe, 'helpers' | 'nacks' | 'trusted'>): ProbeFailure {
  const unheard = probe.helpers.length > 0 && probe.nacks === 0;
  return { unheard, report: probe.trusted && !unheard };
}

/** Whether an ack from `from` answers `probe`: only the target, or a helper we asked, can. */
export function answers(probe: Pick<Probe, 'target' | 'helpers'>, from: number): boolean {
  return from === probe.target || probe.helpers.includes(from);
}

/** Whether `probe` still waits for an answer. */
export function pending(probe: Pick<Probe, 'phase'>): boolean {
  return probe.phase === 'direct' || probe.phase === 'indirect';
}

/** What the probe cycle needs from the node, and nothing more. */
export interface ProbeHost {
  /** Our incarnation now, for the messages we send. */
  incarnation(): number;
  /** The incarnation of `member` as we know it now. */
  incarnationOf(member: number): number;
  /** Whether a ping asks the target for its view, given whether it means to pull it (state-sync.ts). */
  asksState(pull: boolean): boolean;
  /** Whether a silence from `peer` means anything: down and left members are silent anyway. */
  probeable(peer: number): boolean;
  /** The members that may be asked to probe `target` for us. */
  helpersFor(target: number): number[];
  /** Queues `message` for `to` (the node piggybacks gossip on it). */
  send(to: number, message: Message): void;
  /** Our probe of `target`, at its incarnation `incarnation`, failed and counts as our report against it. */
  unreachable(now: number, target: number, incarnation: number): void;
  /** `target` answered our probe. */
  answered(now: number, target: number): void;
  /** `target` itself answered our probe's ping `rtt_ms` after it was first sent. */
  roundTrip?(target: number, rtt_ms: number): void;
}

/** The node's counters that the probe cycle keeps. */
export interface ProbeCounters {
  probes: number;
  probes_failed: number;
  indirect_requests: number;
  reports_withheld: number;
}

export interface ProbeCycleOptions {
  ping_timeout_ms: number;
  indirect_probes: number;
  /** Uniform in [0, 1): picks the first sequence number and the helpers. */
  random: () => number;
  /** Local health: stretches the timeout, and learns from how probes end. */
  awareness: Awareness;
  counters: ProbeCounters;
}

export class ProbeCycle {
  readonly #options: ProbeCycleOptions;
  readonly #host: ProbeHost;
  readonly #probes = new Map<number, Probe>();
  readonly #relays = new Map<number, Relay>();
  #seq: number;

  constructor(options: ProbeCycleOptions, host: ProbeHost) {
    this.#options = options;
    this.#host = host;
    // A random first sequence number: a packet recorded before our restart cannot answer a probe.
    this.#seq = Math.floor(options.random() * SEQ_MODULO);
  }

  /** The ping timeout, stretched by our local health score. */
  timeout(): number {
    return scaled(this.#options.ping_timeout_ms, this.#options.awareness.score);
  }

  /** Whether a probe of `peer` waits for an answer. */
  probing(peer: number): boolean {
    for (const probe of this.#probes.values()) {
      if (probe.target === peer && pending(probe)) return true;
    }
    return false;
  }

  /** Earliest time a probe or relay needs a tick (ms); +Infinity when none does. */
  wakeAt(): number {
    let wake = Number.POSITIVE_INFINITY;
    // Finished probes are forgotten at the next tick; they need no wake-up of their own.
    for (const probe of this.#probes.values()) {
      if (probe.phase === 'direct') wake = Math.min(wake, probe.indirectAt);
      else if (probe.phase === 'indirect') wake = Math.min(wake, probe.deadline);
    }
    for (const relay of this.#relays.values())
      wake = Math.min(wake, relay.nacked ? relay.deadline : relay.nackAt);
    return wake;
  }

  /** Probes `target`: `trusted` says whether our reports could be trusted now (witnesses.ts). */
  start(now: number, target: number, trusted: boolean, pull = false): void {
    const timeout = this.timeout();
    const seq = this.#nextSeq();
    this.#options.counters.probes++;
    // Every field written out (no spread): the probes then share one object shape, which keeps
    // the hot loops over them (wakeAt, advance) fast at 1000 servers.
    const deadlines = probeDeadlines(now, timeout);
    this.#probes.set(seq, {
      seq,
      target,
      incarnation: this.#host.incarnationOf(target),
      startedAt: now,
      indirectAt: deadlines.indirectAt,
      deadline: deadlines.deadline,
      forgetAt: deadlines.forgetAt,
      phase: 'direct',
      helpers: [],
      nacks: 0,
      trusted,
    });
    this.#ping(target, seq, this.#host.asksState(pull));
  }

  /**
   * Pings `target` without probing it (an introduction, or an ask to confirm a quorum): its ack
   * proves that we can hear it, its silence counts against nobody.
   */
  ping(target: number, about?: PingAbout): number {
    const seq = this.#nextSeq();
    this.#ping(target, seq, this.#host.asksState(false), about);
    return seq;
  }

  /** Moves every probe and relay on to what `now` calls for. */
  advance(now: number): void {
    this.#advanceProbes(now);
    this.#advanceRelays(now);
  }

  /** An ack numbered `seq` from `from`: passes a relayed one on, or ends our probe. */
  onAck(now: number, from: number, seq: number): void {
    const relay = this.#relays.get(seq);
    if (relay?.target === from) {
      this.#relays.delete(seq);
      this.#host.send(relay.requester, {
        type: 'ack',
        seq: relay.requesterSeq,
        // Relayed: the target's answer, not a lease for the requester (lease.ts).
        grant: false,
        incarnation: this.#host.incarnation(),
        updates: [],
      });
      return;
    }
    const probe = this.#probes.get(seq);
    if (!probe || !answers(probe, from)) return;
    if (pending(probe)) this.#options.awareness.apply(-1);
    // Measured from the first ping: a retry's answer counts its wait too (an upper bound).
    if (from === probe.target && probe.phase !== 'acked') this.#host.roundTrip?.(from, now - probe.startedAt);
    probe.phase = 'acked';
    this.#host.answered(now, probe.target);
  }

  /** A helper we asked says the target has not answered it (yet). */
  onNack(from: number, seq: number): void {
    const probe = this.#probes.get(seq);
    if (probe?.helpers.includes(from)) probe.nacks++;
  }

  /** `requester` asks us to probe `target` (another member than us) for its probe `seq`. */
  relay(now: number, requester: number, request: { seq: number; target: number }): void {
    this.#options.counters.indirect_requests++;
    const seq = this.#nextSeq();
    const timeout = this.timeout();
    const deadlines = relayDeadlines(now, timeout);
    this.#relays.set(seq, {
      requester,
      requesterSeq: request.seq,
      target: request.target,
      nackAt: deadlines.nackAt,
      deadline: deadlines.deadline,
      nacked: false,
    });
    this.#host.send(request.target, {
      type: 'ping',
      seq,
      target: request.target,
      flags: 0,
      incarnation: this.#host.incarnation(),
      updates: [],
    });
  }

  /** Our process stalled for `late_ms`: every deadline moves back by as much. */
  stretch(late_ms: number): void {
    for (const probe of this.#probes.values()) {
      probe.indirectAt += late_ms;
      probe.deadline += late_ms;
      probe.forgetAt += late_ms;
    }
    for (const relay of this.#relays.values()) {
      relay.nackAt += late_ms;
      relay.deadline += late_ms;
    }
  }

  /** Forgets the probes of `target` (it was declared gone). */
  forget(target: number): void {
    for (const [seq, probe] of this.#probes) if (probe.target === target) this.#probes.delete(seq);
  }

  /** Forgets every probe and relay (we left). */
  clear(): void {
    this.#probes.clear();
    this.#relays.clear();
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) % SEQ_MODULO;
    return this.#seq;
  }

  #ping(target: number, seq: number, wantState = this.#host.asksState(false), about?: PingAbout): void {
    const ping: Message = {
      type: 'ping',
      seq,
      target,
      flags: wantState ? PING_FLAG_WANT_STATE : 0,
      incarnation: this.#host.incarnation(),
      updates: [],
    };
    if (about !== undefined) ping.about = about;
    this.#host.send(target, ping);
  }

  #advanceProbes(now: number): void {
    const host = this.#host;
    const counters = this.#options.counters;
    // The host's calls may forget probes (a report that completes a quorum declares the target
    // down): the map is iterated live, so a forgotten probe is not visited.
    for (const probe of this.#probes.values()) {
      if (probe.phase === 'direct' && now >= probe.indirectAt && !host.probeable(probe.target)) {
        probe.phase = 'failed';
      }
      if (probe.phase === 'direct' && now >= probe.indirectAt) {
        // Half the timeout without an answer: try again directly and through others.
        probe.phase = 'indirect';
        this.#ping(probe.target, probe.seq);
        const helpers = host.helpersFor(probe.target);
        for (const helper of sample(helpers, this.#options.indirect_probes, this.#options.random)) {
          host.send(helper, {
            type: 'ping_req',
            seq: probe.seq,
            target: probe.target,
            incarnation: host.incarnation(),
            updates: [],
          });
          probe.helpers.push(helper);
        }
      }
      if (probe.phase === 'indirect' && now >= probe.deadline) {
        probe.phase = 'failed';
        counters.probes_failed++;
        const failure = judgeFailure(probe);
        if (failure.unheard) this.#options.awareness.apply(1);
        if (failure.report) host.unreachable(now, probe.target, probe.incarnation);
        else counters.reports_withheld++;
      }
      if (now >= probe.forgetAt) this.#probes.delete(probe.seq);
    }
  }

  #advanceRelays(now: number): void {
    for (const [seq, relay] of this.#relays) {
      if (now >= relay.deadline) this.#relays.delete(seq);
      if (relay.nacked || now < relay.nackAt) continue;
      relay.nacked = true;
      this.#host.send(relay.requester, {
        type: 'nack',
        seq: relay.requesterSeq,
        incarnation: this.#host.incarnation(),
        updates: [],
      });
    }
  }
}
