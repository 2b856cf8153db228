/**
 * Lease rounds: brought forward (an `alive` of a leased item asks for a round at once: its renewal
 * names the new item to the lease program, with the round's pings), at most one per
 * LEASE_ROUND_GAP_MS, and none when rounds are not wanted; quiet while the grants in hand keep
 * the lease (before_lapse); taken along by a probe (LEASE_ALIGN_MS); asked again when short;
 * a keep holder's renewals on its probes' grants, with rounds only when they do not come
 * (before_renewal).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/defaults.js';
import { LEASE_HOLD_MS } from '../../src/handover/fence.js';
import {
  GRANTS_LOST_MS,
  LEASE_ALIGN_MS,
  LEASE_LAPSE_AHEAD_MS,
  LEASE_ROUND_GAP_MS,
  LEASE_ROUND_MS,
  leaseRetryMs,
  leaseRoundAsks,
} from '../../src/membership/lease.js';
import type { MembershipNode } from '../../src/membership/node.js';
import { startedCore } from './core-node.js';

/** The times of the lease rounds in the effects taken now. */
function rounds(core: MembershipNode): number[] {
  return core
    .takeEffects()
    .lease.filter((event) => event.kind === 'round')
    .map((event) => event.at);
}

describe('lease rounds brought forward (leaseRoundSoon)', () => {
  it('nothing while no rounds are wanted', () => {
    const core = startedCore(0);
    core.leaseRoundSoon(100);
    assert.deepEqual(rounds(core), []);
  });

  it('a round at once, and the regular rounds go on from it', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    assert.deepEqual(rounds(core), [10]);
    core.leaseRoundSoon(100);
    assert.deepEqual(rounds(core), [100]);
    assert.ok(core.nextWakeAt() <= 100 + LEASE_ROUND_MS);
    core.tick(100 + LEASE_ROUND_MS);
    assert.deepEqual(rounds(core), [100 + LEASE_ROUND_MS]);
  });

  it('a round asked for within LEASE_ROUND_GAP_MS of the last comes at the end of the gap, once', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    rounds(core);
    core.leaseRoundSoon(15);
    core.leaseRoundSoon(16);
    assert.deepEqual(rounds(core), []);
    assert.equal(core.nextWakeAt() <= 10 + LEASE_ROUND_GAP_MS, true);
    core.tick(10 + LEASE_ROUND_GAP_MS);
    assert.deepEqual(rounds(core), [10 + LEASE_ROUND_GAP_MS]);
    core.tick(10 + 2 * LEASE_ROUND_GAP_MS);
    assert.deepEqual(rounds(core), []);
  });
});

/** The pings among the sends taken now, as [to, seq]. */
function pings(core: MembershipNode): Array<[number, number]> {
  return core
    .takeEffects()
    .sends.flatMap((send) =>
      send.message.type === 'ping' ? [[send.to, send.message.seq] as [number, number]] : [],
    );
}

/**
 * The effects taken now are those of a quiet round (`quiet` rounds counted so far): no ping, and
 * no `round` event, so nothing is renewed on it.
 */
function assertQuietRound(core: MembershipNode, quiet: number): void {
  const effects = core.takeEffects();
  assert.deepEqual(
    effects.sends.filter((send) => send.message.type === 'ping'),
    [],
    'no ping',
  );
  assert.deepEqual(effects.lease, [], 'no round to renew on');
  assert.equal(core.counters.lease_rounds_quiet, quiet);
}

/** A core whose lease round at 10 was granted at once; the round's effects taken. */
function granted(pingsMode: 'every_round' | 'before_lapse'): MembershipNode {
  const core = startedCore(0);
  core.setLeaseWanted(10, true, pingsMode);
  const sent = pings(core);
  assert.equal(sent.length, 1, 'the first round pings one member: no grant is in hand');
  const [to, seq] = sent[0]!;
  core.receive(11, to, { type: 'ack', seq, grant: true, incarnation: 1000 + to, updates: [] });
  core.takeEffects();
  assert.equal(core.leaseBase(11), 10);
  return core;
}

describe('lease rounds that only keep the lease (before_lapse)', () => {
  it('a grant puts the next round off until the lease would lapse within LEASE_LAPSE_AHEAD_MS: no wake-up, ping or round before', () => {
    const core = granted('before_lapse');
    const due = 10 + LEASE_HOLD_MS - LEASE_LAPSE_AHEAD_MS;
    // The node wakes for its probes only (every gossip interval), never for the lease before `due`.
    const wakes: number[] = [];
    for (let now = core.nextWakeAt(); now < due; now = core.nextWakeAt()) {
      wakes.push(now);
      core.tick(now);
      assert.deepEqual(core.takeEffects().lease, [], `no round at ${now}`);
      assert.ok(wakes.length < 100);
    }
    // Before, it woke at the round's retry (the grant was in), and at every round to find it quiet.
    assert.equal(wakes[0], DEFAULTS.gossip_interval_ms, `the first wake-up is the first probe's: ${wakes}`);
    assert.ok(!wakes.includes(10 + LEASE_ROUND_MS), `${wakes}`);
    assert.equal(core.counters.lease_rounds_quiet, 0, 'not even a quiet round');
  });

  it("a probe's granted ping keeps the lease too: the round is put off again, to when that grant would lapse", () => {
    const core = granted('before_lapse');
    const probeAt = DEFAULTS.gossip_interval_ms;
    core.tick(probeAt);
    const probe = pings(core);
    assert.equal(probe.length, 1, 'the probe at the gossip interval');
    const [to, seq] = probe[0]!;
    core.receive(probeAt + 1, to, { type: 'ack', seq, grant: true, incarnation: 1000 + to, updates: [] });
    core.takeEffects();
    assert.equal(core.leaseBase(probeAt + 1), probeAt);
    // A tick when the first grant's round would have been due (a probe's, say) finds none due.
    const first = 10 + LEASE_HOLD_MS - LEASE_LAPSE_AHEAD_MS;
    core.tick(first);
    assert.deepEqual(rounds(core), []);
    const second = probeAt + LEASE_HOLD_MS - LEASE_LAPSE_AHEAD_MS;
    core.tick(second - 1);
    assert.deepEqual(rounds(core), []);
    assert.equal(core.counters.lease_rounds_quiet, 0);
    core.tick(second);
    assert.deepEqual(rounds(core), [second]);
  });

  it('a round that comes while the grants in hand keep the lease pings nobody and is no round to renew on', () => {
    const core = granted('every_round');
    // Rounds switched to only keeping the lease: the round already due finds the grant fresh.
    core.setLeaseWanted(20, true, 'before_lapse');
    core.takeEffects();
    core.tick(10 + LEASE_ROUND_MS);
    assertQuietRound(core, 1);
  });

  it('every_round pings at every round whatever the grants in hand', () => {
    const core = granted('every_round');
    core.tick(10 + LEASE_ROUND_MS);
    assert.ok(pings(core).length > 0);
    assert.equal(core.counters.lease_rounds_quiet, 0);
  });

  it('pings once the lease would lapse within LEASE_LAPSE_AHEAD_MS, so it never lapses while acks come', () => {
    const core = granted('before_lapse');
    let pinged = Number.NaN;
    for (let wake = 0; wake < 10 && Number.isNaN(pinged); wake++) {
      const now = core.nextWakeAt();
      core.tick(now);
      // The probes' pings at the gossip interval are answered by nobody here; a round that
      // pings is reported.
      if (core.takeEffects().lease.some((event) => event.kind === 'round')) pinged = now;
    }
    assert.ok(
      pinged + LEASE_LAPSE_AHEAD_MS >= 10 + LEASE_HOLD_MS,
      `pinged at ${pinged}: earlier than needed`,
    );
    assert.ok(
      pinged < 10 + LEASE_HOLD_MS - LEASE_ROUND_MS,
      `pinged at ${pinged}: one lost ping would lapse the lease`,
    );
  });
});

describe('a lease round short of grants pings its silent members again (leaseRetryMs)', () => {
  const RETRY_AT = 10 + leaseRetryMs(DEFAULTS.ping_timeout_ms);

  it('no grant by then: every live member that did not grant is pinged again, once, and its grant bases the lease', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    const first = pings(core);
    assert.equal(first.length, leaseRoundAsks(1), 'the round pings the one member needed');
    core.tick(RETRY_AT - 1);
    assert.deepEqual(pings(core), [], 'not before leaseRetryMs');
    assert.ok(core.nextWakeAt() <= RETRY_AT, 'the core wakes for the retry');
    core.tick(RETRY_AT);
    const again = pings(core);
    assert.deepEqual(again.map(([to]) => to).sort(), [1, 2]);
    assert.equal(core.counters.lease_rounds_retried, 1);
    // Once per round: nothing more until the next round.
    core.tick(RETRY_AT + leaseRetryMs(DEFAULTS.ping_timeout_ms));
    assert.deepEqual(pings(core), []);
    const [to, seq] = again.find(([peer]) => peer === 2)!;
    core.receive(RETRY_AT + 1, to, { type: 'ack', seq, grant: true, incarnation: 1002, updates: [] });
    assert.equal(core.leaseBase(RETRY_AT + 1), RETRY_AT, 'the grant counts from the retry');
    assert.ok(
      core.takeEffects().lease.some((event) => event.kind === 'granted'),
      'the grant is reported to the controller',
    );
  });

  it('a quorum of grants in time: nobody is pinged again', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    const [to, seq] = pings(core)[0]!;
    core.receive(12, to, { type: 'ack', seq, grant: true, incarnation: 1000 + to, updates: [] });
    core.takeEffects();
    core.tick(RETRY_AT);
    assert.deepEqual(pings(core), []);
    assert.equal(core.counters.lease_rounds_retried, 0);
  });

  it('a grant of a ping from before the round does not count for it', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    const [to, seq] = pings(core)[0]!;
    core.receive(12, to, { type: 'ack', seq, grant: true, incarnation: 1000 + to, updates: [] });
    core.takeEffects();
    // The next round's pings are all lost: the grant in hand is of the round before.
    core.tick(10 + LEASE_ROUND_MS);
    assert.ok(pings(core).length > 0);
    core.tick(10 + LEASE_ROUND_MS + leaseRetryMs(DEFAULTS.ping_timeout_ms));
    assert.deepEqual(
      pings(core)
        .map(([peer]) => peer)
        .sort(),
      [1, 2],
    );
    assert.equal(core.counters.lease_rounds_retried, 1);
  });

  it('no retry once rounds are no longer wanted', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    pings(core);
    core.setLeaseWanted(11, false);
    core.tick(RETRY_AT);
    assert.deepEqual(pings(core), []);
    assert.equal(core.counters.lease_rounds_retried, 0);
  });
});

describe('rounds and probes together', () => {
  it('a round pings those needed, and one more per ten', () => {
    const table: Array<[number, number]> = [
      [0, 0],
      [1, 1],
      [2, 2],
      [9, 9],
      [10, 11],
      [25, 27],
    ];
    for (const [needed, asks] of table) assert.equal(leaseRoundAsks(needed), asks, `needed ${needed}`);
  });

  it("a probe that goes out while a round is due within LEASE_ALIGN_MS takes the round along, and its ping is the round's", () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true);
    core.takeEffects();
    const probeAt = DEFAULTS.gossip_interval_ms;
    // Rounds at 10, 10 + LEASE_ROUND_MS, ...: the one after the probe is due within the window.
    const roundsBefore = Math.floor((probeAt - 10) / LEASE_ROUND_MS);
    const nextRound = 10 + (roundsBefore + 1) * LEASE_ROUND_MS;
    assert.ok(nextRound - probeAt <= LEASE_ALIGN_MS && nextRound > probeAt, 'the defaults meet the case');
    for (let i = 1; i <= roundsBefore; i++) {
      core.tick(10 + i * LEASE_ROUND_MS);
      core.takeEffects();
    }
    core.tick(probeAt);
    const effects = core.takeEffects();
    assert.deepEqual(
      effects.lease.filter((event) => event.kind === 'round').map((event) => event.at),
      [probeAt],
      'the round comes with the probe',
    );
    const sent = effects.sends.filter((send) => send.message.type === 'ping');
    assert.equal(sent.length, 1, "the probe's ping is the round's one ping");
    // The next round is a whole round later.
    assert.equal(core.nextWakeAt() <= probeAt + LEASE_ROUND_MS, true);
    core.tick(probeAt + LEASE_ROUND_MS - 1);
    assert.deepEqual(rounds(core), []);
    core.tick(probeAt + LEASE_ROUND_MS);
    assert.deepEqual(rounds(core), [probeAt + LEASE_ROUND_MS]);
  });

  it('a probe far from the next round leaves it be (and quiet rounds are never taken along)', () => {
    for (const mode of ['every_round', 'before_lapse'] as const) {
      const core = startedCore(0);
      // The round is due a whole round after the probe: not within the window.
      core.setLeaseWanted(DEFAULTS.gossip_interval_ms - 1, true, mode);
      core.takeEffects();
      core.tick(DEFAULTS.gossip_interval_ms);
      assert.deepEqual(rounds(core), [], mode);
    }
  });

  it('rounds that start to ping again (an item to hold) come at once, not when the lease would lapse', () => {
    const core = startedCore(0);
    core.setLeaseWanted(10, true, 'before_lapse');
    const [to, seq] = pings(core)[0]!;
    core.receive(11, to, { type: 'ack', seq, grant: true, incarnation: 1000 + to, updates: [] });
    core.takeEffects();
    core.tick(10 + LEASE_ROUND_MS);
    assert.deepEqual(rounds(core), [], 'the grant in hand put the round off');
    const at = 10 + LEASE_ROUND_MS + LEASE_ROUND_GAP_MS;
    assert.ok(at < 10 + LEASE_HOLD_MS - LEASE_LAPSE_AHEAD_MS, 'the quiet rounds would wait longer');
    core.setLeaseWanted(at, true, 'every_round');
    const effects = core.takeEffects();
    assert.deepEqual(
      effects.lease.filter((event) => event.kind === 'round').map((event) => event.at),
      [at],
    );
    assert.equal(effects.sends.filter((send) => send.message.type === 'ping').length, 1);
  });
});

describe('lease rounds of a keep holder with a lease program (before_renewal)', () => {
  /** Acks every ping among `sends` at `at`, granting; the lease events that brought, taken. */
  function ackAll(
    core: MembershipNode,
    sends: ReturnType<MembershipNode['takeEffects']>['sends'],
    at: number,
  ) {
    for (const send of sends)
      if (send.message.type === 'ping')
        core.receive(at, send.to, {
          type: 'ack',
          seq: send.message.seq,
          grant: true,
          incarnation: 1000 + send.to,
          updates: [],
        });
    return core.takeEffects().lease;
  }

  /** A core whose first round (at 10, a renewing one) was granted at 11. */
  function holder(): MembershipNode {
    const core = startedCore(0);
    core.setLeaseWanted(10, true, 'before_renewal');
    const first = core.takeEffects();
    assert.deepEqual(
      first.lease.filter((event) => event.kind === 'round').map((event) => event.at),
      [10],
      'the first round renews at once',
    );
    ackAll(core, first.sends, 11);
    assert.equal(core.leaseBase(11), 10);
    return core;
  }

  it("while the probes' acks come, they bring every renewal: no other ping, wake-up or round to renew on", () => {
    const core = holder();
    let wakes = 0;
    let probes = 0;
    /** The renewals (`fresh` events), as how long after its probe each came and its base. */
    const renewals: Array<[number, number]> = [];
    for (let now = core.nextWakeAt(); now < 10_000; now = core.nextWakeAt()) {
      wakes++;
      core.tick(now);
      const effects = core.takeEffects();
      assert.deepEqual(effects.lease, [], `no round at ${now}`);
      const sent = effects.sends.filter((send) => send.message.type === 'ping');
      assert.ok(sent.length <= 1, `${sent.length} pings at ${now}`);
      probes += sent.length;
      for (const event of ackAll(core, effects.sends, now + 1))
        if (event.kind === 'fresh') renewals.push([event.at - now, event.base - now]);
    }
    const expected = Math.floor(10_000 / DEFAULTS.gossip_interval_ms);
    assert.equal(probes, expected, 'one probe per gossip interval, no more');
    assert.equal(wakes, probes, 'the node wakes for its probes only');
    assert.deepEqual(
      renewals,
      Array.from({ length: probes }, () => [1, 0]),
      "every probe's ack renews, by KEEP_RENEWAL_MS from the probe's ping",
    );
  });

  it('a round pings when no grant came for GRANTS_STALE_MS, and is no round to renew on: its grant is', () => {
    const core = holder();
    // The probe at the gossip interval is lost (no ack); the next wake-ups until the round.
    let pingedAt = Number.NaN;
    let sent: ReturnType<MembershipNode['takeEffects']>['sends'] = [];
    for (let wake = 0; wake < 10 && Number.isNaN(pingedAt); wake++) {
      const now = core.nextWakeAt();
      core.tick(now);
      const effects = core.takeEffects();
      assert.deepEqual(effects.lease, [], `no round to renew on at ${now}`);
      sent = effects.sends.filter((send) => send.message.type === 'ping');
      // The probe at 450 took the round along (due at 510, within LEASE_ALIGN_MS): its ping is the
      // round's; the retry pings the others once the probe's ack is late.
      if (now > DEFAULTS.gossip_interval_ms && sent.length > 0) pingedAt = now;
    }
    assert.equal(pingedAt, DEFAULTS.gossip_interval_ms + leaseRetryMs(DEFAULTS.ping_timeout_ms));
    assert.ok(pingedAt < 10 + GRANTS_LOST_MS, 'asked again before a renewal without grants would be due');
    const events = ackAll(core, sent, pingedAt + 1);
    assert.deepEqual(events.filter((event) => event.kind === 'granted').length, sent.length);
    assert.deepEqual(
      events.filter((event) => event.kind === 'fresh'),
      [{ kind: 'fresh', at: pingedAt + 1, base: pingedAt }],
      'one renewal, by KEEP_RENEWAL_MS from the retry',
    );
    assert.equal(
      core.leaseBase(pingedAt + 1),
      pingedAt,
      'the retry bases the lease: a renewal on it is fresh',
    );
  });

  it('no grant at all (cut off): a round renews without grants GRANTS_LOST_MS after the last renewal, then every round', () => {
    const core = holder();
    const renewed: number[] = [];
    for (let now = core.nextWakeAt(); now < 2_000; now = core.nextWakeAt()) {
      core.tick(now);
      renewed.push(
        ...core
          .takeEffects()
          .lease.filter((event) => event.kind === 'round')
          .map((event) => event.at),
      );
    }
    // The first round renewed at 10 (its grant, at 11, within GRANTS_RENEW_GAP_MS, renewed nothing).
    assert.equal(renewed[0], 10 + GRANTS_LOST_MS, `${renewed}`);
    // Then every round renews while no grant does (a probe may take one along a little early,
    // never late).
    for (let i = 1; i < renewed.length; i++) {
      const gap = renewed[i]! - renewed[i - 1]!;
      assert.ok(gap <= LEASE_ROUND_MS && gap >= LEASE_ROUND_MS - LEASE_ALIGN_MS, `${renewed}`);
    }
    assert.ok(renewed.length >= 5);
  });

  it('a round brought forward (an `alive` needs a renewal window) renews at once, fresh grants or not', () => {
    const core = holder();
    core.leaseRoundSoon(100);
    assert.deepEqual(rounds(core), [100]);
    // Within LEASE_ROUND_GAP_MS of it: at the end of the gap, and still a round to renew on.
    core.leaseRoundSoon(105);
    assert.deepEqual(rounds(core), []);
    core.tick(core.nextWakeAt());
    assert.deepEqual(rounds(core), [100 + LEASE_ROUND_GAP_MS]);
  });

  it('a round brought forward and put off by LEASE_ROUND_GAP_MS is not lost to a probe that comes first', () => {
    const core = startedCore(0);
    const probeAt = DEFAULTS.gossip_interval_ms;
    core.setLeaseWanted(probeAt - 10, true, 'before_renewal');
    const first = core.takeEffects();
    ackAll(core, first.sends, probeAt - 9);
    // An `alive` starts: its round must wait for the gap, and the probe comes meanwhile.
    core.leaseRoundSoon(probeAt - 5);
    assert.deepEqual(rounds(core), []);
    core.tick(probeAt);
    assert.deepEqual(rounds(core), [probeAt], "the probe's round is the one brought forward: it renews");
  });

  it('switching from before_lapse starts with a round to renew on', () => {
    const core = granted('before_lapse');
    core.setLeaseWanted(100, true, 'before_renewal');
    assert.deepEqual(rounds(core), [100]);
  });
});
