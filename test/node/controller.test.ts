/**
 * The controller's hand-over decisions, in virtual time: whose release ends a hand-back wait,
 * releases heard before the plan, and announcing again when a peer that shares a system goes down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

describe('controller: hand-back waits', () => {
  const all = view(new Set([FLIP, FLIP1, FLIP2]));

  it("a returning server's first plan waits for the holder without it, and only its release ends the wait", () => {
    const controller = flip1();
    controller.synced(0, all);
    const [desired] = of(controller.takeCommands(), 'desired');
    assert.deepEqual(
      [...(desired?.handback ?? [])].map(([item]) => item),
      ['192.168.0.1'],
    );
    assert.ok(controller.noticeReceived(10, notice(FLIP2, 1, '192.168.0.1')));
    assert.deepEqual(
      of(controller.takeCommands(), 'announce'),
      [],
      'a release from anybody else is not the one',
    );
    assert.ok(controller.noticeReceived(20, notice(FLIP, 1, '192.168.0.1')));
    const [announce] = of(controller.takeCommands(), 'announce');
    assert.deepEqual([...(announce?.items ?? [])], [['ip', ['192.168.0.1']]]);
  });

  it('after the wait is over, a release from anybody is announced', () => {
    const controller = flip1();
    controller.synced(0, all);
    controller.takeCommands();
    const wait = 2 * config.systems[0]!.delay_ms + 1000;
    controller.noticeReceived(wait + 1, notice(FLIP2, 1, '192.168.0.1'));
    assert.equal(of(controller.takeCommands(), 'announce').length, 1);
  });

  it("a release heard from the holder before the plan means no wait; another's does not", () => {
    const early = flip1();
    early.noticeReceived(0, notice(FLIP, 1, '192.168.0.1'));
    early.synced(100, all);
    assert.equal(of(early.takeCommands(), 'desired')[0]?.handback, undefined);
    const other = flip1();
    other.noticeReceived(0, notice(FLIP2, 1, '192.168.0.1'));
    other.synced(100, all);
    assert.equal(of(other.takeCommands(), 'desired')[0]?.handback?.size, 1);
    const stale = flip1();
    stale.noticeReceived(0, notice(FLIP, 1, '192.168.0.1'));
    stale.synced(10_001, all);
    assert.equal(of(stale.takeCommands(), 'desired')[0]?.handback?.size, 1, 'a release is remembered 10 s');
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

  it('a stall longer than a lease forgets a release heard before it: the hand-back waits again', () => {
    let base = 0;
    const controller = flip1();
    const lease = leased(() => base);
    controller.synced(0, lease);
    controller.takeCommands();
    // flip let the item go for us before we froze.
    controller.noticeReceived(10, notice(FLIP, 1, '192.168.0.1'));
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
      'flip may hold it again: its old release no longer counts',
    );
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
