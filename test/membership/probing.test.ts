/** The probe cycle (probing.ts) against a recording host: its timings, its messages and its verdicts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Awareness } from '../../src/membership/awareness.js';
import type { Message } from '../../src/membership/messages.js';
import {
  answers,
  judgeFailure,
  ProbeCycle,
  type ProbeHost,
  probeDeadlines,
  relayDeadlines,
} from '../../src/membership/probing.js';
import { seeded } from '../../src/testing/seeded.js';

const TIMEOUT = 400;

interface Recorded {
  sends: { to: number; message: Message }[];
  unreachable: number[];
  answered: number[];
}

function cycle(options: { probeable?: boolean; synced?: boolean } = {}) {
  const recorded: Recorded = { sends: [], unreachable: [], answered: [] };
  const awareness = new Awareness();
  const counters = { probes: 0, probes_failed: 0, indirect_requests: 0, reports_withheld: 0 };
  const host: ProbeHost = {
    incarnation: () => 77,
    incarnationOf: (member) => 1000 + member,
    asksState: (pull) => pull || options.synced === false,
    probeable: () => options.probeable ?? true,
    helpersFor: (target) => [1, 2, 3, 4].filter((peer) => peer !== target),
    send: (to, message) => recorded.sends.push({ to, message }),
    unreachable: (_now, target) => recorded.unreachable.push(target),
    answered: (_now, target) => recorded.answered.push(target),
  };
  const probes = new ProbeCycle(
    { ping_timeout_ms: TIMEOUT, indirect_probes: 2, random: seeded(5), awareness, counters },
    host,
  );
  return { probes, recorded, awareness, counters };
}

/** The seq of the first message of `type` sent. */
function seqOf(recorded: Recorded, type: 'ping' | 'ping_req'): number {
  const message = recorded.sends.find((send) => send.message.type === type)?.message;
  assert.ok(message && 'seq' in message, `a ${type} was sent`);
  return message.seq;
}

describe('membership: probing rules', () => {
  it('a probe retries through others at half its timeout, fails at it, is forgotten at twice it', () => {
    assert.deepEqual(probeDeadlines(1000, TIMEOUT), { indirectAt: 1200, deadline: 1400, forgetAt: 1800 });
  });

  it('a relay nacks a quarter timeout after the request and is forgotten at half', () => {
    assert.deepEqual(relayDeadlines(1000, TIMEOUT), { nackAt: 1100, deadline: 1200 });
  });

  /** [trusted, helpers asked, nacks, unheard, report]. */
  const FAILURES: readonly [boolean, number, number, boolean, boolean][] = [
    [true, 0, 0, false, true],
    [true, 2, 0, true, false],
    [true, 2, 1, false, true],
    [false, 0, 0, false, false],
    [false, 2, 1, false, false],
    [false, 2, 0, true, false],
  ];
  for (const [trusted, asked, nacks, unheard, report] of FAILURES) {
    it(`a failed probe, ${trusted ? '' : 'un'}trusted, ${asked} helpers, ${nacks} nacks: ${report ? 'report' : 'withhold'}${unheard ? ', unheard' : ''}`, () => {
      const helpers = Array.from({ length: asked }, (_, i) => i + 1);
      assert.deepEqual(judgeFailure({ trusted, helpers, nacks }), { unheard, report });
    });
  }

  it('only the target or a helper asked can answer a probe', () => {
    assert.equal(answers({ target: 3, helpers: [1] }, 3), true);
    assert.equal(answers({ target: 3, helpers: [1] }, 1), true);
    assert.equal(answers({ target: 3, helpers: [1] }, 2), false);
  });
});

describe('membership: the probe cycle', () => {
  it('pings, then at half the timeout pings again and asks indirect_probes helpers', () => {
    const { probes, recorded, counters } = cycle();
    probes.start(0, 3, true, true);
    assert.equal(counters.probes, 1);
    assert.equal(recorded.sends.length, 1);
    const [ping] = recorded.sends;
    assert.equal(ping!.to, 3);
    assert.deepEqual(
      { ...ping!.message, seq: 0 },
      { type: 'ping', seq: 0, target: 3, flags: 1, incarnation: 77, updates: [] },
    );
    assert.ok(probes.probing(3));
    assert.equal(probes.wakeAt(), TIMEOUT / 2);

    probes.advance(TIMEOUT / 2 - 1);
    assert.equal(recorded.sends.length, 1, 'nothing before half the timeout');
    probes.advance(TIMEOUT / 2);
    const seq = seqOf(recorded, 'ping');
    const after = recorded.sends.slice(1);
    assert.deepEqual(after[0], {
      to: 3,
      message: { type: 'ping', seq, target: 3, flags: 0, incarnation: 77, updates: [] },
    });
    const asked = after.slice(1);
    assert.equal(asked.length, 2);
    for (const { to, message } of asked) {
      assert.ok([1, 2, 4].includes(to));
      assert.deepEqual(message, { type: 'ping_req', seq, target: 3, incarnation: 77, updates: [] });
    }
    assert.equal(probes.wakeAt(), TIMEOUT);
  });

  it('a probe that no helper answered is withheld and counts against our own health', () => {
    const { probes, recorded, awareness, counters } = cycle();
    probes.start(0, 3, true);
    probes.advance(TIMEOUT / 2);
    probes.advance(TIMEOUT);
    assert.deepEqual(recorded.unreachable, []);
    assert.equal(counters.probes_failed, 1);
    assert.equal(counters.reports_withheld, 1);
    assert.equal(awareness.score, 1);
    assert.equal(probes.probing(3), false);
  });

  it("a helper's nack makes the failure a report; a stranger's nack does not count", () => {
    const { probes, recorded, awareness } = cycle();
    probes.start(0, 3, true);
    probes.advance(TIMEOUT / 2);
    const seq = seqOf(recorded, 'ping');
    probes.onNack(3, seq); // the target is no helper
    probes.advance(TIMEOUT);
    assert.deepEqual(recorded.unreachable, [], 'the target cannot nack its own probe');

    const second = cycle();
    second.probes.start(0, 3, true);
    second.probes.advance(TIMEOUT / 2);
    const helper = second.recorded.sends.find((send) => send.message.type === 'ping_req')!.to;
    second.probes.onNack(helper, seqOf(second.recorded, 'ping'));
    second.probes.advance(TIMEOUT);
    assert.deepEqual(second.recorded.unreachable, [3]);
    assert.equal(second.awareness.score, 0);
    assert.equal(awareness.score, 1);
  });

  it("an untrusted probe's failure is never a report, whatever the helpers said", () => {
    const { probes, recorded, counters } = cycle();
    probes.start(0, 3, false);
    probes.advance(TIMEOUT / 2);
    const helper = recorded.sends.find((send) => send.message.type === 'ping_req')!.to;
    probes.onNack(helper, seqOf(recorded, 'ping'));
    probes.advance(TIMEOUT);
    assert.deepEqual(recorded.unreachable, []);
    assert.equal(counters.reports_withheld, 1);
  });

  it('a member that is down or left fails silently at half the timeout: no helpers, no count', () => {
    const { probes, recorded, counters } = cycle({ probeable: false });
    probes.start(0, 3, true);
    probes.advance(TIMEOUT);
    assert.equal(recorded.sends.length, 1);
    assert.deepEqual(recorded.unreachable, []);
    assert.equal(counters.probes_failed, 0);
    assert.equal(counters.reports_withheld, 0);
  });

  it('an ack from the target or a helper ends the probe and raises health; a stranger’s is ignored', () => {
    const { probes, recorded, awareness } = cycle();
    awareness.apply(2);
    probes.start(0, 3, true);
    const seq = seqOf(recorded, 'ping');
    probes.onAck(10, 2, seq);
    assert.deepEqual(recorded.answered, []);
    probes.onAck(10, 3, seq);
    assert.deepEqual(recorded.answered, [3]);
    assert.equal(awareness.score, 1);
    assert.equal(probes.probing(3), false);
    // A late duplicate still takes back our report, but is no news about our health.
    probes.onAck(11, 3, seq);
    assert.deepEqual(recorded.answered, [3, 3]);
    assert.equal(awareness.score, 1);
  });

  it('pings ask for the view until synced, and the probe forgets a target declared gone', () => {
    const { probes, recorded } = cycle({ synced: false });
    probes.ping(2);
    assert.equal(recorded.sends[0]!.message.type === 'ping' && recorded.sends[0]!.message.flags, 1);
    probes.start(0, 3, true);
    probes.forget(3);
    assert.equal(probes.probing(3), false);
    assert.equal(probes.wakeAt(), Number.POSITIVE_INFINITY);
  });

  it('relays a ping_req: pings the target, passes its ack on, else nacks in time', () => {
    const { probes, recorded, counters } = cycle();
    probes.relay(0, 1, { seq: 900, target: 3 });
    assert.equal(counters.indirect_requests, 1);
    const ping = recorded.sends[0]!;
    assert.equal(ping.to, 3);
    assert.ok(ping.message.type === 'ping' && ping.message.flags === 0);
    probes.onAck(50, 3, seqOf(recorded, 'ping'));
    assert.deepEqual(recorded.sends[1], {
      to: 1,
      message: { type: 'ack', seq: 900, grant: false, incarnation: 77, updates: [] },
    });
    probes.advance(TIMEOUT);
    assert.equal(recorded.sends.length, 2, 'an answered relay never nacks');

    const silent = cycle();
    silent.probes.relay(0, 1, { seq: 901, target: 3 });
    assert.equal(silent.probes.wakeAt(), TIMEOUT / 4);
    silent.probes.advance(TIMEOUT / 4);
    assert.deepEqual(silent.recorded.sends[1], {
      to: 1,
      message: { type: 'nack', seq: 901, incarnation: 77, updates: [] },
    });
    silent.probes.advance(TIMEOUT / 2);
    assert.equal(silent.recorded.sends.length, 2, 'one nack only');
    assert.equal(silent.probes.wakeAt(), Number.POSITIVE_INFINITY);
  });

  it('a stall moves every deadline back by the stall', () => {
    const { probes, recorded } = cycle();
    probes.start(0, 3, true);
    probes.stretch(1000);
    assert.equal(probes.wakeAt(), 1000 + TIMEOUT / 2);
    probes.advance(TIMEOUT / 2);
    assert.equal(recorded.sends.length, 1);
  });
});
