/**
 * The controller's hand-over decisions, in virtual time: claims of arriving items (who is asked,
 * which answers count, which claims it answers), and announcing again when a peer that shares a
 * system goes down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SystemConfig } from '../../src/config/index.js';
import { ALIVE_LEASE_LEAD_MS, KEEP_RENEWAL_MS, RENEWAL_SPACING_MS } from '../../src/handover/fence.js';
import { LEASE_ROUND_GAP_MS, LEASE_ROUND_MS } from '../../src/membership/lease.js';
import type { MemberChange } from '../../src/membership/node.js';
import { type ControllerCommand, type MembershipView, NodeController } from '../../src/node/controller.js';
import { readmeCluster } from '../../src/sim/clusters.js';

const config = readmeCluster();
const ids = config.servers.map((server) => server.id);
const FLIP = ids.indexOf('flip');
const FLIP1 = ids.indexOf('flip1');
const FLIP2 = ids.indexOf('flip2');

/** A view in which the members in `live` are live. */
function view(live: Set<number>): MembershipView {
  return {
    liveMembers: () => [...live].sort(),
    isLive: (member) => live.has(member),
    hasLeft: () => false,
    // A quorum answers at every moment; the lease's own rules are tested in lease tests.
    leaseBase: (now) => now,
    heardByAnyone: () => Number.NEGATIVE_INFINITY,
    grant_fresh_ms: 150,
  };
}

/** flip1's controller, planning from a view where all three are live. */
function flip1(now = 0) {
  const controller = new NodeController({ ...config, id: 'flip1' }, { first_notice_id: 7 });
  controller.start(now);
  return controller;
}

function notice(from: number, id: number, ...items: string[]) {
  return { from, id, items: items.map((item) => ({ system: 'ip', item })) };
}

const of = <K extends ControllerCommand['kind']>(commands: ControllerCommand[], kind: K) =>
  commands.filter((command): command is Extract<ControllerCommand, { kind: K }> => command.kind === kind);

function change(member: number, from: MemberChange['from'], to: MemberChange['to']): MemberChange {
  return { member, from, to, incarnation: 1, at: 0, reason: 'quorum' };
}

describe('controller: claims (break-before-make without timeouts)', () => {
  const all = view(new Set([FLIP, FLIP1, FLIP2]));

  /** flip1 planned with everybody live; returns its claim of 192.168.0.1 to flip. */
  function claimed(controller = flip1()) {
    controller.synced(0, all);
    const commands = controller.takeCommands();
    const [desired] = of(commands, 'desired');
    const [claim] = of(commands, 'send_claim');
    return { controller, desired, claim };
  }

  it('an arriving item waits for its claim; only the live members of its system are asked', () => {
    const { desired, claim } = claimed();
    assert.deepEqual([...(desired?.handback ?? [])], [['192.168.0.1', Number.POSITIVE_INFINITY]]);
    assert.equal(claim?.to, FLIP, 'flip2 is an arbiter: it never holds an item');
    assert.deepEqual(claim?.items, [{ system: 'ip', item: '192.168.0.1' }]);
  });

  it("the member's reply to the claim lets the item through; another's, or a stale id, does not", () => {
    const { controller, claim } = claimed();
    controller.claimReplied(5, { from: FLIP2, id: claim!.id, items: claim!.items }, all);
    controller.claimReplied(5, { from: FLIP, id: claim!.id + 1, items: claim!.items }, all);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), []);
    controller.claimReplied(6, { from: FLIP, id: claim!.id, items: claim!.items }, all);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), [
      { kind: 'cleared', system: 'ip', items: ['192.168.0.1'] },
    ]);
  });

  it('a reply to a claim of an earlier episode counts for nothing', () => {
    const { controller, claim } = claimed();
    // The item stops being wanted (flip1 loses the quorum: it takes nothing), then is wanted again.
    const noQuorum: MembershipView = { ...all, leaseBase: () => Number.NEGATIVE_INFINITY };
    controller.tick(10, noQuorum);
    assert.deepEqual(of(controller.takeCommands(), 'desired')[0]?.items, []);
    controller.tick(20, all);
    assert.deepEqual(of(controller.takeCommands(), 'desired')[0]?.items, ['192.168.0.1']);
    controller.claimReplied(30, { from: FLIP, id: claim!.id, items: claim!.items }, all);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), []);
  });

  it('an item let through while a member was gone is held back when that member returns before the alive', () => {
    const controller = flip1();
    const withoutFlip = view(new Set([FLIP1, FLIP2]));
    controller.synced(0, withoutFlip);
    const [cleared] = of(controller.takeCommands(), 'cleared');
    assert.deepEqual(
      cleared?.items,
      ['192.168.0.1', '192.168.0.2'],
      'flip is down and fenced (keep, no lease)',
    );
    assert.deepEqual(controller.permitAlive(5, withoutFlip, 'ip', '192.168.0.2'), { kind: 'go' });
    // flip is back before the alive started: it may hold the item now, so it must answer first.
    assert.deepEqual(controller.permitAlive(10, all, 'ip', '192.168.0.2'), { kind: 'refuse' });
    const [claim] = of(controller.takeCommands(), 'send_claim');
    assert.equal(claim?.to, FLIP);
    controller.claimReplied(20, { from: FLIP, id: claim!.id, items: claim!.items }, all);
    assert.deepEqual(controller.permitAlive(30, all, 'ip', '192.168.0.2'), { kind: 'go' });
  });

  it('a silent member is asked again every ping_timeout, and at once after its release notice', () => {
    const { controller, claim } = claimed();
    const repeat = config.ping_timeout_ms;
    controller.tick(repeat - 1, all);
    assert.equal(of(controller.takeCommands(), 'send_claim').length, 0);
    assert.ok(controller.nextWakeAt() <= repeat);
    controller.tick(repeat, all);
    const [again] = of(controller.takeCommands(), 'send_claim');
    assert.notEqual(again?.id, claim?.id, 'every repeat has an id of its own');
    assert.ok(controller.noticeReceived(repeat + 5, notice(FLIP, 1, '192.168.0.1'), all));
    const commands = controller.takeCommands();
    assert.equal(of(commands, 'send_claim').length, 1, 'the release brings a new question at once');
    assert.deepEqual(of(commands, 'announce'), [], 'a claimed item is announced by its own alive');
    assert.deepEqual(of(commands, 'cleared'), [], 'a release notice alone lets nothing through');
  });

  it('a member that went down counts once its fence passed; one that left, once it released', () => {
    const release = {
      ...config,
      id: 'flip1',
      systems: config.systems.map((system) => ({ ...system, no_quorum_policy: 'release' as const })),
    };
    const heard = 1000;
    const gone = (left: boolean): MembershipView => ({
      ...view(new Set([FLIP1, FLIP2])),
      hasLeft: (member) => left && member === FLIP,
      heardByAnyone: () => heard,
    });
    const down = new NodeController(release, { first_notice_id: 1 });
    down.start(0);
    down.synced(1100, gone(false));
    assert.deepEqual(of(down.takeCommands(), 'cleared'), []);
    const until = down.nextWakeAt();
    assert.ok(until > heard + release.systems[0]!.fence_ms, `fenced until ${until}`);
    down.tick(until - 1, gone(false));
    assert.deepEqual(of(down.takeCommands(), 'cleared'), []);
    down.tick(until, gone(false));
    assert.equal(of(down.takeCommands(), 'cleared').length, 1);

    const left = new NodeController(release, { first_notice_id: 1 });
    left.start(0);
    left.synced(1100, gone(true));
    left.takeCommands();
    left.noticeReceived(1150, notice(FLIP, 9, '192.168.0.1'), gone(true));
    assert.deepEqual(of(left.takeCommands(), 'cleared'), [
      { kind: 'cleared', system: 'ip', items: ['192.168.0.1'] },
    ]);
  });

  it('answers a claim only for items it neither holds, wants, nor may have left from a previous life', () => {
    const controller = new NodeController({ ...config, id: 'flip' }, { first_notice_id: 3 });
    controller.start(0);
    const ask = (id: number, ...items: string[]) => {
      controller.claimReceived({ from: FLIP1, id, items: items.map((item) => ({ system: 'ip', item })) });
      return of(controller.takeCommands(), 'send_claim_reply').flatMap((reply) =>
        reply.items.map((i) => i.item),
      );
    };
    assert.deepEqual(ask(1, '192.168.0.1', '192.168.0.2'), [], 'before its first plan: leftovers possible');
    controller.synced(0, all);
    controller.takeCommands();
    assert.deepEqual(ask(2, '192.168.0.1'), [], 'its first down has not cleaned 192.168.0.1 up yet');
    controller.scriptReleased(50, 'ip', '192.168.0.1', all);
    assert.deepEqual(ask(3, '192.168.0.1', '192.168.0.2'), ['192.168.0.1'], 'it wants 192.168.0.2');
    controller.scriptStarted('ip', '192.168.0.2');
    controller.changes(60, [change(FLIP, 'alive', 'down')], view(new Set([FLIP1, FLIP2])));
    assert.deepEqual(ask(4, '192.168.0.2'), [], 'held until its down is done');
    controller.scriptReleased(70, 'ip', '192.168.0.2', all);
    assert.deepEqual(ask(5, '192.168.0.2'), ['192.168.0.2'], 'let go, and not wanted in its view');
  });
});

describe('controller: announcing again', () => {
  it('announces what it holds again when a peer of its system goes down or leaves, not for an arbiter', () => {
    const controller = flip1();
    const live = new Set([FLIP, FLIP1, FLIP2]);
    controller.synced(0, view(live));
    controller.takeCommands();
    live.delete(FLIP2);
    controller.changes(10, [change(FLIP2, 'alive', 'down')], view(live));
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [], 'the arbiter holds nothing');
    live.delete(FLIP);
    controller.changes(20, [change(FLIP, 'alive', 'down')], view(live));
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [
      { kind: 'reassert', systems: ['ip'], why: 'peer_down' },
    ]);
    controller.changes(30, [change(FLIP, 'down', 'left')], view(live));
    assert.equal(
      of(controller.takeCommands(), 'reassert').length,
      1,
      'a leave after a down: it may have let go',
    );
    controller.changes(40, [change(FLIP, 'left', 'down')], view(live));
    assert.equal(of(controller.takeCommands(), 'reassert').length, 0);
  });

  it('a refutation announces every system again', () => {
    const controller = flip1();
    controller.refuted(0, view(new Set([FLIP, FLIP1, FLIP2])));
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [
      { kind: 'reassert', systems: ['ip'], why: 'refuted' },
    ]);
  });

  it('an item taken up again withdraws its release notice', () => {
    const controller = flip1();
    const live = view(new Set([FLIP, FLIP1, FLIP2]));
    controller.synced(0, live);
    controller.takeCommands();
    controller.scriptReleased(100, 'ip', '192.168.0.2', live);
    controller.tick(200, live);
    assert.equal(of(controller.takeCommands(), 'send_release').length, 1);
    controller.scriptStarted('ip', '192.168.0.2');
    for (let now = 300; now < 60_000; now += 100) controller.tick(now, live);
    assert.equal(
      of(controller.takeCommands(), 'send_release').length,
      0,
      'no copy claims a release that is over',
    );
    assert.equal(controller.notice_counters.withdrawn, 1);
  });
});

describe('controller: leases and the quorum', () => {
  const ALL = new Set([FLIP, FLIP1, FLIP2]);

  /** A view whose lease base is `base` (a quorum of grants for pings sent then). */
  function leased(base: () => number): MembershipView {
    return { ...view(ALL), leaseBase: () => base() };
  }

  it('takes nothing without a quorum, and plans its items once the quorum answers', () => {
    let base = Number.NEGATIVE_INFINITY;
    const controller = flip1();
    controller.synced(
      0,
      leased(() => base),
    );
    const [before] = of(controller.takeCommands(), 'desired');
    assert.deepEqual(before?.items, [], 'no quorum: nothing taken');
    base = 100;
    controller.lease(
      100,
      [{ kind: 'granted', at: 100, base: 100 }],
      leased(() => base),
    );
    const [after] = of(controller.takeCommands(), 'desired');
    assert.deepEqual(after?.items, ['192.168.0.1']);
  });

  it('after a stall longer than a lease, the item is claimed again', () => {
    let base = 0;
    const controller = flip1();
    const lease = leased(() => base);
    controller.synced(0, lease);
    controller.takeCommands();
    // flip let the item go for us before we froze.
    controller.noticeReceived(10, notice(FLIP, 1, '192.168.0.1'), lease);
    controller.takeCommands();
    // Frozen for 5 s: our lease base is old, the item lapsed on our host.
    controller.lease(5_000, [{ kind: 'stalled', at: 5_000, late_ms: 5_000 }], lease);
    const [dropped] = of(controller.takeCommands(), 'desired');
    assert.deepEqual(dropped?.items, [], 'without the quorum, after the stall, nothing is held');
    base = 5_050;
    controller.lease(5_060, [{ kind: 'granted', at: 5_060, base: 5_050 }], lease);
    const [back] = of(controller.takeCommands(), 'desired');
    assert.deepEqual(back?.items, ['192.168.0.1']);
    assert.deepEqual(
      [...(back?.handback ?? [])].map(([item]) => item),
      ['192.168.0.1'],
      'flip may hold it again: it is asked again',
    );
  });
  it('a lease lost and regained in one batch starts the claim over, and never drops it', () => {
    // A refutation of a suspicion: the lease of the old incarnation is lost and the first grant
    // of the new one comes with it, so the quorum never seemed to go. The claim under way (whose
    // question was lost on the way) must be asked again: the runner's alive waits for it with no
    // end of its own (found by sim --scenario random --policy release --lease, seed 57691856).
    let base = 0;
    const lease = leased(() => base);
    const controller = flip1();
    controller.synced(0, lease);
    const first = controller.takeCommands();
    assert.deepEqual(
      [...(of(first, 'desired')[0]?.handback ?? [])],
      [['192.168.0.1', Number.POSITIVE_INFINITY]],
    );
    const [lost] = of(first, 'send_claim');
    base = 500;
    controller.lease(
      500,
      [
        { kind: 'lost', at: 500 },
        { kind: 'granted', at: 500, base: 500 },
      ],
      lease,
    );
    controller.tick(500, lease);
    const doubt = controller.takeCommands();
    const [asked] = of(doubt, 'send_claim');
    assert.equal(asked?.to, FLIP, 'asked again at once');
    assert.notEqual(asked?.id, lost?.id);
    const [replanned] = of(doubt, 'desired');
    assert.deepEqual(
      [...(replanned?.handback ?? [])],
      [['192.168.0.1', Number.POSITIVE_INFINITY]],
      'still waiting',
    );
    // The answer to the claim from before the doubt counts for nothing; the new one lets it through.
    controller.claimReplied(510, { from: FLIP, id: lost!.id, items: lost!.items }, lease);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), []);
    controller.claimReplied(520, { from: FLIP, id: asked!.id, items: asked!.items }, lease);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), [
      { kind: 'cleared', system: 'ip', items: ['192.168.0.1'] },
    ]);
  });
});

/** The test config's systems, each with a lease program. */
const LEASED_SYSTEMS = config.systems.map((system) => ({ ...system, lease: '/usr/lib/flip/vip-lease' }));

/**
 * flip1 with `systems` (the systems leased), planning on `lease` since 0, whose `alive` of
 * 192.168.0.1 (the item placement gives it) has started; its commands so far taken.
 */
function leasedFlip1Adding(lease: MembershipView, systems: SystemConfig[] = LEASED_SYSTEMS): NodeController {
  const controller = new NodeController({ ...config, systems, id: 'flip1' }, { first_notice_id: 1 });
  controller.start(0);
  controller.synced(0, lease);
  controller.scriptStarted('ip', '192.168.0.1');
  controller.takeCommands();
  return controller;
}

describe('controller: leased items held through a stall (keep)', () => {
  const ALL = new Set([FLIP, FLIP1, FLIP2]);

  it('are renewed no more, and put back only through a claim, once the lease is back', () => {
    let base = 0;
    const lease: MembershipView = { ...view(ALL), leaseBase: () => base };
    const controller = leasedFlip1Adding(lease);
    controller.lease(100, [{ kind: 'round', at: 100 }], lease);
    assert.deepEqual(
      of(controller.takeCommands(), 'renew').map((renew) => renew.items),
      [['192.168.0.1']],
      'held: renewed each round',
    );
    // Frozen for 3 s: the host dropped the item, and flip may have taken it over after our fence.
    controller.lease(3_100, [{ kind: 'stalled', at: 3_100, late_ms: 3_000 }], lease);
    const stalled = controller.takeCommands();
    assert.deepEqual(of(stalled, 'desired').at(-1)?.items, ['192.168.0.1'], 'keep: still wanted');
    controller.lease(3_150, [{ kind: 'round', at: 3_150 }], lease);
    assert.deepEqual(of(controller.takeCommands(), 'renew'), [], 'a lapsed item is not renewed');
    assert.equal(controller.mayWant('ip', '192.168.0.1'), true, 'it answers no claim of the item meanwhile');
    base = 3_200;
    controller.lease(3_210, [{ kind: 'granted', at: 3_210, base: 3_200 }], lease);
    const back = controller.takeCommands();
    // (The claim may go out as soon as the stall is noticed; it is let through only with the lease.)
    const claims = [...of(stalled, 'send_claim'), ...of(back, 'send_claim')];
    assert.ok(
      claims.some((claim) => claim.items.some((item) => item.item === '192.168.0.1')),
      'the item is claimed as one not held',
    );
    assert.deepEqual(
      [...(of(back, 'desired').at(-1)?.handback ?? [])].map(([item]) => item),
      ['192.168.0.1'],
    );
    assert.deepEqual(
      controller.permitAlive(3_220, lease, 'ip', '192.168.0.1'),
      { kind: 'refuse' },
      'not before the claim',
    );
    for (const claim of claims)
      controller.claimReplied(3_230, { from: claim.to, id: claim.id, items: claim.items }, lease);
    assert.deepEqual(of(controller.takeCommands(), 'cleared'), [
      { kind: 'cleared', system: 'ip', items: ['192.168.0.1'] },
    ]);
    // Cleared, but 90 ms after the last round: past the renewal window (KEEP_RENEWAL_MS, less
    // ALIVE_LEASE_LEAD_MS for the script to reach its lease). It waits for the next round.
    assert.deepEqual(controller.permitAlive(3_240, lease, 'ip', '192.168.0.1'), {
      kind: 'wait',
      retry_at: 3_240 + LEASE_ROUND_GAP_MS,
    });
    assert.equal(of(controller.takeCommands(), 'lease_round').length, 1, 'a round brought forward');
    controller.lease(3_260, [{ kind: 'round', at: 3_260 }], lease);
    controller.takeCommands();
    assert.deepEqual(controller.permitAlive(3_261, lease, 'ip', '192.168.0.1'), {
      kind: 'go',
      lease_deadline: 3_260 + KEEP_RENEWAL_MS,
    });
    controller.scriptStarted('ip', '192.168.0.1');
    controller.takeCommands();
    controller.lease(3_300, [{ kind: 'round', at: 3_300 }], lease);
    assert.deepEqual(
      of(controller.takeCommands(), 'renew').map((renew) => renew.items),
      [['192.168.0.1']],
      'put back: renewed again',
    );
  });

  it('a leaving server does not wake for the end of its lease (it plans no more)', () => {
    const lease: MembershipView = { ...view(ALL), leaseBase: () => 0 };
    const controller = new NodeController(
      { ...config, systems: LEASED_SYSTEMS, id: 'flip1' },
      { first_notice_id: 1 },
    );
    controller.start(0);
    controller.synced(0, lease);
    controller.lease(10, [{ kind: 'granted', at: 10, base: 0 }], lease);
    controller.leave();
    controller.tick(5_000, lease);
    assert.ok(controller.nextWakeAt() > 5_000, `wakes at ${controller.nextWakeAt()}, in the past`);
  });
});

describe('controller: an item held here waits for the lease instead of being refused', () => {
  it('an announcement of a held leased item without the quorum waits a round; an item not held is refused', () => {
    const systems = LEASED_SYSTEMS;
    let base = 0;
    const lease: MembershipView = { ...view(new Set([FLIP, FLIP1, FLIP2])), leaseBase: () => base };
    const controller = new NodeController({ ...config, systems, id: 'flip1' }, { first_notice_id: 1 });
    controller.start(0);
    controller.synced(0, lease);
    controller.scriptStarted('ip', '192.168.0.1');
    controller.takeCommands();
    // The lease lapsed (a peer refused a grant at a heal, say): no quorum now.
    base = -10_000;
    assert.deepEqual(controller.permitAlive(100, lease, 'ip', '192.168.0.1'), {
      kind: 'wait',
      retry_at: 100 + LEASE_ROUND_MS,
    });
    assert.deepEqual(controller.permitAlive(100, lease, 'ip', '192.168.0.2'), { kind: 'refuse' });
    // Back: the held item may be announced (in the next renewal window).
    base = 200;
    controller.lease(200, [{ kind: 'round', at: 200 }], lease);
    controller.takeCommands();
    assert.deepEqual(controller.permitAlive(210, lease, 'ip', '192.168.0.1'), {
      kind: 'go',
      lease_deadline: 200 + KEEP_RENEWAL_MS,
    });
  });
});

describe('controller: renewals spaced (RENEWAL_SPACING_MS)', () => {
  const ALL = new Set([FLIP, FLIP1, FLIP2]);
  const systems = LEASED_SYSTEMS;
  const renewed = (controller: NodeController) =>
    of(controller.takeCommands(), 'renew').map((renew) => renew.items);

  it('keep: not spaced (the membership core paces its renewals), but once per instant; changed items at once', () => {
    assert.equal(RENEWAL_SPACING_MS.keep, 0);
    // flip down: flip1 wants both items.
    const lease: MembershipView = { ...view(new Set([FLIP1, FLIP2])), leaseBase: (now) => now };
    const controller = new NodeController({ ...config, systems, id: 'flip1' }, { first_notice_id: 1 });
    controller.start(0);
    controller.synced(0, lease);
    controller.scriptStarted('ip', '192.168.0.1');
    controller.takeCommands();
    const round = (at: number) => controller.lease(at, [{ kind: 'round', at }], lease);
    round(100);
    assert.deepEqual(renewed(controller), [['192.168.0.1']]);
    // A round and a fresh grant at one instant: one renewal.
    controller.lease(
      200,
      [
        { kind: 'round', at: 200 },
        { kind: 'fresh', at: 200, base: 200 },
      ],
      lease,
    );
    assert.deepEqual(renewed(controller), [['192.168.0.1']], 'one renewal for the instant');
    controller.lease(201, [{ kind: 'fresh', at: 201, base: 200 }], lease);
    assert.deepEqual(renewed(controller), [['192.168.0.1']], 'the next instant: again');
    // Another item taken here: renewed with the first at once.
    controller.scriptStarted('ip', '192.168.0.2');
    controller.takeCommands();
    round(220);
    assert.deepEqual(
      renewed(controller).map((items) => [...items].sort()),
      [['192.168.0.1', '192.168.0.2']],
      'other items: at once',
    );
  });

  it('release: only the renewals that the grants of one round would make one after another are merged', () => {
    const release = systems.map((system) => ({ ...system, no_quorum_policy: 'release' as const }));
    const lease: MembershipView = { ...view(ALL), leaseBase: (now) => now };
    const controller = leasedFlip1Adding(lease, release);
    const grant = (at: number) => controller.lease(at, [{ kind: 'granted', at, base: at - 1 }], lease);
    grant(100);
    grant(101);
    grant(100 + RENEWAL_SPACING_MS.release - 1);
    assert.deepEqual(renewed(controller), [['192.168.0.1']], 'one renewal for the grants of a round');
    grant(100 + RENEWAL_SPACING_MS.release);
    assert.deepEqual(renewed(controller), [['192.168.0.1']], 'the next round renews');
    assert.ok(RENEWAL_SPACING_MS.release < LEASE_ROUND_MS, 'every round may renew');
  });
});

describe('controller: an alive of a leased item brings the lease round forward', () => {
  for (const [leased, expected] of [
    [true, 1],
    [false, 0],
  ] as const) {
    it(`${leased ? 'a leased' : 'an unleased'} system: ${expected} lease_round command`, () => {
      const systems = config.systems.map((system) =>
        leased ? { ...system, lease: '/usr/lib/flip/vip-lease' } : system,
      );
      const controller = new NodeController({ ...config, systems, id: 'flip1' }, { first_notice_id: 1 });
      controller.start(0);
      controller.takeCommands();
      controller.scriptStarted('ip', '192.168.0.1');
      assert.equal(of(controller.takeCommands(), 'lease_round').length, expected);
    });
  }
});

describe('controller: an alive of a leased item starts only in a renewal window, and is told its deadline', () => {
  const ALL = new Set([FLIP, FLIP1, FLIP2]);
  function holder(policy: 'keep' | 'release', leased = true) {
    const systems = config.systems.map((system) => ({
      ...system,
      no_quorum_policy: policy,
      ...(leased ? { lease: '/usr/lib/flip/vip-lease' } : {}),
    }));
    let base = 0;
    const lease: MembershipView = { ...view(ALL), leaseBase: () => base };
    const controller = new NodeController({ ...config, systems, id: 'flip1' }, { first_notice_id: 1 });
    controller.start(0);
    controller.synced(0, lease);
    controller.scriptStarted('ip', '192.168.0.1');
    controller.takeCommands();
    return { controller, lease, setBase: (at: number) => (base = at) };
  }

  it('release: from a quorum of fresh grants until grant_fresh_ms after their pings, less the lead', () => {
    const { controller, lease, setBase } = holder('release');
    const fresh = lease.grant_fresh_ms;
    setBase(1_000);
    controller.lease(1_005, [{ kind: 'granted', at: 1_005, base: 1_000 }], lease);
    controller.takeCommands();
    for (const at of [1_005, 1_000 + fresh - ALIVE_LEASE_LEAD_MS])
      assert.deepEqual(controller.permitAlive(at, lease, 'ip', '192.168.0.1'), {
        kind: 'go',
        lease_deadline: 1_000 + fresh,
      });
    // Still a quorum (the lease holds for LEASE_HOLD_MS), but no renewal may be made now.
    const late = 1_000 + fresh - ALIVE_LEASE_LEAD_MS + 1;
    assert.deepEqual(controller.permitAlive(late, lease, 'ip', '192.168.0.1'), {
      kind: 'wait',
      retry_at: late + LEASE_ROUND_GAP_MS,
    });
    assert.equal(of(controller.takeCommands(), 'lease_round').length, 1);
    // A keep round is no renewal window for a release system.
    controller.lease(late + 10, [{ kind: 'round', at: late + 10 }], lease);
    assert.equal(controller.permitAlive(late + 11, lease, 'ip', '192.168.0.1').kind, 'wait');
  });

  it('keep: for KEEP_RENEWAL_MS after each lease round, less the lead', () => {
    const { controller, lease } = holder('keep');
    assert.equal(controller.permitAlive(10, lease, 'ip', '192.168.0.1').kind, 'wait', 'no round yet');
    controller.lease(100, [{ kind: 'round', at: 100 }], lease);
    controller.takeCommands();
    assert.deepEqual(
      controller.permitAlive(100 + KEEP_RENEWAL_MS - ALIVE_LEASE_LEAD_MS, lease, 'ip', '192.168.0.1'),
      {
        kind: 'go',
        lease_deadline: 100 + KEEP_RENEWAL_MS,
      },
    );
    assert.equal(controller.permitAlive(100 + KEEP_RENEWAL_MS, lease, 'ip', '192.168.0.1').kind, 'wait');
  });

  it("keep: on grants whose pings went out within KEEP_RENEWAL_MS (a probe's), renewed on them, until then", () => {
    const { controller, lease, setBase } = holder('keep');
    setBase(1_000);
    controller.lease(
      1_030,
      [
        { kind: 'granted', at: 1_030, base: 1_000 },
        { kind: 'fresh', at: 1_030, base: 1_000 },
      ],
      lease,
    );
    assert.deepEqual(
      of(controller.takeCommands(), 'renew').map((renew) => [renew.items, renew.deadline]),
      [[['192.168.0.1'], 1_000 + KEEP_RENEWAL_MS]],
      'renewed on the grant, by the deadline its pings give',
    );
    assert.deepEqual(
      controller.permitAlive(1_000 + KEEP_RENEWAL_MS - ALIVE_LEASE_LEAD_MS, lease, 'ip', '192.168.0.1'),
      { kind: 'go', lease_deadline: 1_000 + KEEP_RENEWAL_MS },
    );
    assert.equal(
      controller.permitAlive(1_000 + KEEP_RENEWAL_MS - ALIVE_LEASE_LEAD_MS + 1, lease, 'ip', '192.168.0.1')
        .kind,
      'wait',
    );
    // A grant alone (not `fresh`: the membership core paces keep renewals) renews nothing; nor
    // does a `fresh` one that comes too late for its pings (KEEP_RENEWAL_MS).
    controller.takeCommands();
    controller.lease(1_040, [{ kind: 'granted', at: 1_040, base: 1_040 }], lease);
    assert.deepEqual(of(controller.takeCommands(), 'renew'), []);
    setBase(2_000);
    controller.lease(2_000 + KEEP_RENEWAL_MS + 1, [{ kind: 'fresh', at: 2_101, base: 2_000 }], lease);
    assert.deepEqual(of(controller.takeCommands(), 'renew'), []);
    assert.equal(controller.permitAlive(2_102, lease, 'ip', '192.168.0.1').kind, 'wait');
    assert.equal(controller.hasQuorum(2_102, lease), true);
  });

  it('a system without a lease program: go, with no deadline', () => {
    for (const policy of ['keep', 'release'] as const) {
      const { controller, lease, setBase } = holder(policy, false);
      setBase(4_990);
      assert.deepEqual(controller.permitAlive(5_000, lease, 'ip', '192.168.0.1'), { kind: 'go' });
    }
  });
});

describe('controller: preempt false (items stay with their holder until it fails)', () => {
  const all = view(new Set([FLIP, FLIP1, FLIP2]));
  const withoutFlip = view(new Set([FLIP1, FLIP2]));

  /** flip1 took flip's item .2 while flip was down (keep, no lease: no fence to wait). */
  function holdingBoth(preempt: boolean) {
    const controller = new NodeController(
      { ...config, id: 'flip1', systems: config.systems.map((system) => ({ ...system, preempt })) },
      { first_notice_id: 3 },
    );
    controller.start(0);
    controller.synced(0, withoutFlip);
    const [cleared] = of(controller.takeCommands(), 'cleared');
    assert.deepEqual(cleared?.items, ['192.168.0.1', '192.168.0.2']);
    for (const item of cleared!.items) {
      assert.deepEqual(controller.permitAlive(10, withoutFlip, 'ip', item), { kind: 'go' });
      controller.scriptStarted('ip', item);
    }
    controller.takeCommands();
    return controller;
  }

  const desiredAfter = (controller: NodeController, act: () => void) => {
    act();
    return of(controller.takeCommands(), 'desired').at(-1)?.items;
  };

  it("keeps the returning member's item, and answers none of its claims for it", () => {
    const controller = holdingBoth(false);
    const items = desiredAfter(controller, () =>
      controller.changes(1000, [change(FLIP, 'down', 'alive')], all),
    );
    assert.deepEqual(items, ['192.168.0.1', '192.168.0.2']);
    controller.claimReceived({ from: FLIP, id: 9, items: [{ system: 'ip', item: '192.168.0.2' }] });
    assert.deepEqual(of(controller.takeCommands(), 'send_claim_reply'), []);
  });

  it('with preempt (the default) the same return gives the item back', () => {
    const controller = holdingBoth(true);
    const items = desiredAfter(controller, () =>
      controller.changes(1000, [change(FLIP, 'down', 'alive')], all),
    );
    assert.deepEqual(items, ['192.168.0.1']);
  });

  it('a kept item let go is wanted no more at once, and its claim by the member placement gives it to is answered', () => {
    // The last plan wanted .2 only because it was held here; its `down` (one of a quorum loss,
    // retried until it succeeded after the quorum was back) ended that. Without a plan at once,
    // flip1 went on claiming .2 and flip, which placement gives it to, too: neither answered the
    // other, for ever (sim --scenario random --policy release --lease --no-preempt --nodes 5,
    // seed 1269738027).
    const controller = holdingBoth(false);
    controller.changes(1000, [change(FLIP, 'down', 'alive')], all);
    assert.deepEqual(of(controller.takeCommands(), 'desired').at(-1)?.items, ['192.168.0.1', '192.168.0.2']);
    assert.deepEqual(
      desiredAfter(controller, () => controller.scriptReleased(2000, 'ip', '192.168.0.2', all)),
      ['192.168.0.1'],
    );
    controller.claimReceived({ from: FLIP, id: 9, items: [{ system: 'ip', item: '192.168.0.2' }] });
    assert.deepEqual(of(controller.takeCommands(), 'send_claim_reply')[0]?.items, [
      { system: 'ip', item: '192.168.0.2' },
    ]);
  });

  it('a kept item that lapsed at a quorum loss (release) is kept no more, though its down failed', () => {
    // flip1 held .2 for flip under `release` with a lease program and lost the quorum: its `down`
    // of .2 failed, so it still counts .2 held, but the item lapsed on its host. Kept, .2 was
    // wanted by flip1 and by flip (placement's choice), each claiming it from the other for ever
    // (sim --scenario random --policy release --lease --no-preempt, seed 2012514270).
    let quorum = true;
    const leased = (live: Set<number>): MembershipView => ({
      ...view(live),
      leaseBase: (now) => (quorum ? now : Number.NEGATIVE_INFINITY),
    });
    const systems = config.systems.map((system) => ({
      ...system,
      preempt: false,
      no_quorum_policy: 'release' as const,
      lease: '/usr/lib/flip/vip-lease',
    }));
    const controller = new NodeController({ ...config, id: 'flip1', systems }, { first_notice_id: 3 });
    controller.start(0);
    controller.synced(0, leased(new Set([FLIP1, FLIP2])));
    assert.deepEqual(of(controller.takeCommands(), 'cleared')[0]?.items, ['192.168.0.1', '192.168.0.2']);
    controller.scriptStarted('ip', '192.168.0.1');
    controller.scriptStarted('ip', '192.168.0.2');
    const everybody = leased(new Set([FLIP, FLIP1, FLIP2]));
    controller.changes(1000, [change(FLIP, 'down', 'alive')], everybody);
    assert.deepEqual(of(controller.takeCommands(), 'desired').at(-1)?.items, ['192.168.0.1', '192.168.0.2']);
    quorum = false;
    controller.tick(2000, everybody);
    assert.deepEqual(of(controller.takeCommands(), 'desired').at(-1)?.items, [], 'no quorum: all let go');
    // .1's down succeeded, .2's failed (it is retried, and still counted held).
    controller.scriptReleased(2050, 'ip', '192.168.0.1', everybody);
    controller.takeCommands();
    quorum = true;
    controller.lease(3000, [{ kind: 'granted', at: 3000, base: 3000 }], everybody);
    assert.deepEqual(
      of(controller.takeCommands(), 'desired').at(-1)?.items,
      ['192.168.0.1'],
      'placement gives .2 to flip, and .2 is kept here no more',
    );
  });

  it('a holder that fails its check lets the kept item go', () => {
    const controller = holdingBoth(false);
    controller.changes(1000, [change(FLIP, 'down', 'alive')], all);
    controller.takeCommands();
    const failing: MembershipView = { ...all, readyFor: (member) => member !== FLIP1 };
    assert.deepEqual(
      desiredAfter(controller, () => controller.readinessChanged(2000, failing)),
      [],
    );
  });

  it('after a refutation it lets go of what it held, announces nothing, and claims anew', () => {
    const controller = holdingBoth(false);
    controller.changes(1000, [change(FLIP, 'down', 'alive')], all);
    controller.takeCommands();
    controller.refuted(2000, all);
    const commands = controller.takeCommands();
    assert.deepEqual(of(commands, 'reassert'), [], 'no announcement of what it must let go');
    assert.deepEqual(of(commands, 'desired').at(-1)?.items, [], 'both items are let go first');
    // .2's down is done: it is not wanted again (placement gives it to flip, which is back).
    assert.deepEqual(
      desiredAfter(controller, () => controller.scriptReleased(2100, 'ip', '192.168.0.2', all)),
      [],
    );
    // .1's down is done: placement gives it to flip1, which claims it like any arriving item.
    const commands2 = (() => {
      controller.scriptReleased(2200, 'ip', '192.168.0.1', all);
      return controller.takeCommands();
    })();
    assert.deepEqual(of(commands2, 'desired').at(-1)?.items, ['192.168.0.1']);
    assert.deepEqual(of(commands2, 'send_claim')[0]?.items, [{ system: 'ip', item: '192.168.0.1' }]);
    controller.tick(2300, all);
    const releases = of(controller.takeCommands(), 'send_release');
    assert.ok(
      releases.some((release) => release.to === FLIP && release.items.some((i) => i.item === '192.168.0.1')),
      'the release is told to every live member: the holder need not be where placement says',
    );
  });
});

describe('controller: a renewal not carried out, or that found items lapsed', () => {
  it('puts what is held in place again, at most once per lease hold, only for its own systems', () => {
    const failed = { kind: 'not_renewed' } as const;
    const controller = flip1();
    const all = view(new Set([FLIP, FLIP1, FLIP2]));
    controller.renewalEnded(0, 'ip', failed);
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [], 'nothing before the first plan');
    controller.synced(10, all);
    controller.takeCommands();
    controller.renewalEnded(20, 'ip', failed);
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [
      { kind: 'reassert', systems: ['ip'], why: 'lapsed' },
    ]);
    controller.renewalEnded(500, 'ip', failed);
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [], 'once per lease hold');
    controller.renewalEnded(2000, 'ip', failed);
    assert.equal(of(controller.takeCommands(), 'reassert').length, 1);
    controller.renewalEnded(5000, 'nope', failed);
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), []);
  });

  it('puts them in place again when a renewal found fewer items on the host than it renewed', () => {
    const controller = flip1();
    controller.synced(10, view(new Set([FLIP, FLIP1, FLIP2])));
    controller.takeCommands();
    controller.renewalEnded(20, 'ip', { kind: 'renewed', asked: 2, renewed: 2, adding: 0 });
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [], 'all of them renewed: nothing to do');
    controller.renewalEnded(30, 'ip', { kind: 'renewed', asked: 2, renewed: 1, adding: 0 });
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [
      { kind: 'reassert', systems: ['ip'], why: 'lapsed' },
    ]);
  });
});

describe('controller: a renewal while an `alive` is still adding its item', () => {
  it('counts the items being added, and a renewal that misses only those puts nothing in place again', () => {
    const lease: MembershipView = { ...view(new Set([FLIP, FLIP1, FLIP2])), leaseBase: () => 0 };
    const controller = leasedFlip1Adding(lease);
    controller.lease(100, [{ kind: 'round', at: 100 }], lease);
    const [renew] = of(controller.takeCommands(), 'renew');
    assert.deepEqual(renew?.items, ['192.168.0.1']);
    assert.equal(renew?.adding, 1, 'its alive still runs');
    // Its script had not added it yet: not a lapse.
    controller.renewalEnded(110, 'ip', { kind: 'renewed', asked: 1, renewed: 0, adding: renew!.adding });
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), []);
    // Once its alive is over, a renewal that misses it found it lapsed.
    controller.aliveEnded('ip', '192.168.0.1');
    controller.lease(600, [{ kind: 'round', at: 600 }], lease);
    const [again] = of(controller.takeCommands(), 'renew');
    assert.equal(again?.adding, 0);
    controller.renewalEnded(610, 'ip', { kind: 'renewed', asked: 1, renewed: 0, adding: again!.adding });
    assert.deepEqual(of(controller.takeCommands(), 'reassert'), [
      { kind: 'reassert', systems: ['ip'], why: 'lapsed' },
    ]);
  });
});

describe('controller: what the lease rounds ping for', () => {
  function pings(systems = config.systems, id = 'flip1') {
    const controller = new NodeController({ ...config, id, systems }, { first_notice_id: 1 });
    controller.start(0);
    return of(controller.takeCommands(), 'lease_wanted').map((command) => command.pings);
  }

  it('keep without a lease program: only to keep the lease from lapsing', () => {
    assert.deepEqual(pings(), ['before_lapse']);
  });

  it('release (it renews on the grants of every round): every round', () => {
    const release = config.systems.map((system) => ({ ...system, no_quorum_policy: 'release' as const }));
    assert.deepEqual(pings(release), ['every_round']);
    const leasedRelease = LEASED_SYSTEMS.map((system) => ({
      ...system,
      no_quorum_policy: 'release' as const,
    }));
    assert.deepEqual(pings(leasedRelease), ['every_round']);
  });

  it('keep with a lease program (it renews on grants as fresh as a round): before each renewal', () => {
    assert.deepEqual(pings(LEASED_SYSTEMS), ['before_renewal']);
    // A release system of ours among them needs every round.
    const other = {
      ...config.systems[0]!,
      name: 'other',
      data: ['10.9.9.9'],
      no_quorum_policy: 'release' as const,
    };
    const controller = new NodeController(
      {
        ...config,
        id: 'flip1',
        systems: [...LEASED_SYSTEMS, other],
        servers: config.servers.map((server) =>
          server.id === 'flip1' ? { ...server, systems: [...server.systems, 'other'] } : server,
        ),
      },
      { first_notice_id: 1 },
    );
    controller.start(0);
    assert.deepEqual(
      of(controller.takeCommands(), 'lease_wanted').map((command) => command.pings),
      ['every_round'],
    );
  });

  it('an arbiter (no system) asks for no rounds', () => {
    assert.deepEqual(pings(config.systems, 'flip2'), []);
  });

  it('a member that holds, may hold or wants nothing of them only keeps its lease, until it takes an item', () => {
    // One leased item: placement gives it to one member; the other is a standby.
    const single = config.systems.map((system) => ({
      ...system,
      type: 'single' as const,
      data: ['192.168.0.1'],
      lease: '/usr/lib/flip/vip-lease',
    }));
    const all = view(new Set([FLIP, FLIP1, FLIP2]));
    const planned = (id: string) => {
      const controller = new NodeController({ ...config, id, systems: single }, { first_notice_id: 1 });
      controller.start(0);
      // Before the first plan it may hold anything of its systems (an earlier life's).
      assert.deepEqual(of(controller.takeCommands(), 'lease_wanted'), [
        { kind: 'lease_wanted', wanted: true, pings: 'before_renewal' },
      ]);
      controller.synced(10, all);
      const commands = controller.takeCommands();
      const desired = of(commands, 'desired')[0]!.items;
      // remove_on_start: the runner's `down` at start for what is not wanted here.
      if (desired.length === 0) controller.scriptReleased(15, 'ip', '192.168.0.1', all);
      commands.push(...controller.takeCommands());
      return { controller, desired, pings: of(commands, 'lease_wanted') };
    };
    const flip = planned('flip');
    const flip1 = planned('flip1');
    const [holder, standby, standbyIndex, holderIndex] =
      flip.desired.length > 0 ? [flip, flip1, FLIP1, FLIP] : [flip1, flip, FLIP, FLIP1];
    assert.deepEqual(holder.desired, ['192.168.0.1']);
    assert.deepEqual(holder.pings, [], 'the holder wants the item: its rounds ping on');
    assert.deepEqual(standby.desired, []);
    assert.deepEqual(standby.pings, [{ kind: 'lease_wanted', wanted: true, pings: 'before_lapse' }]);
    // The holder goes: the standby wants the item, and its rounds ping again.
    const without = view(new Set([standbyIndex, FLIP2]));
    standby.controller.changes(30, [change(holderIndex, 'alive', 'down')], without);
    const commands = standby.controller.takeCommands();
    assert.deepEqual(of(commands, 'desired')[0]?.items, ['192.168.0.1']);
    assert.deepEqual(of(commands, 'lease_wanted'), [
      { kind: 'lease_wanted', wanted: true, pings: 'before_renewal' },
    ]);
    // It took the item, the holder came back and it let the item go: its lease only, again.
    standby.controller.scriptStarted('ip', '192.168.0.1');
    standby.controller.changes(40, [change(holderIndex, 'down', 'alive')], all);
    assert.deepEqual(of(standby.controller.takeCommands(), 'lease_wanted'), [], 'it still holds the item');
    standby.controller.scriptReleased(50, 'ip', '192.168.0.1', all);
    assert.deepEqual(of(standby.controller.takeCommands(), 'lease_wanted'), [
      { kind: 'lease_wanted', wanted: true, pings: 'before_lapse' },
    ]);
  });
});
