/**
 * One RaftNode and small clusters of them, scenario by scenario: elections with pre-vote and
 * stickiness, check-quorum, the persist-before-send order, the Figure 8 commit rule, proposals
 * and their outcomes, single-server membership changes and snapshots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverIdsOf } from '../../src/consensus/log-change.js';
import type { RaftMessage } from '../../src/consensus/messages.js';
import { PROPOSALS_PENDING_MAX, type RaftEffect, RaftNode } from '../../src/consensus/raft-node.js';
import { TEST_TIMING, TestCluster, testConfig } from '../../src/consensus/testing.js';
import { Random } from '../../src/sim/random.js';
import { type ClusterState, initialClusterState } from '../../src/state/cluster-state.js';

const IDS = ['s1', 's2', 's3'];
const BASE = testConfig(IDS);

function node(self: string, stored?: Partial<ClusterState>, seed = 1, state_lost = false): RaftNode {
  return new RaftNode({
    state_lost,
    self,
    base: BASE,
    stored: { ...initialClusterState(self, BASE), ...stored },
    timing: TEST_TIMING,
    random: new Random(seed).next,
    now: 0,
  });
}

/** Delivers messages between nodes at once, in order, until none is left; `cut` servers get and send nothing. */
class Router {
  readonly queue: { to: string; message: RaftMessage }[] = [];
  readonly cut = new Set<string>();
  constructor(readonly nodes: Map<string, RaftNode>) {}

  /** Takes `id`'s effects, queues its sends, and returns the effects. */
  take(id: string): RaftEffect[] {
    const effects = this.nodes.get(id)!.takeEffects();
    for (const effect of effects)
      if (effect.kind === 'send' && !this.cut.has(id) && !this.cut.has(effect.to)) this.queue.push(effect);
    return effects;
  }

  deliverAll(now: number): void {
    for (let n = 0; this.queue.length > 0; n++) {
      assert.ok(n < 10_000, 'messages never stop');
      const { to, message } = this.queue.shift()!;
      this.nodes.get(to)!.receive(now, message);
      this.take(to);
    }
  }

  /** Ticks every node at `now` and delivers what follows. */
  tick(now: number): void {
    for (const [id, n] of this.nodes) {
      n.tick(now);
      this.take(id);
    }
    this.deliverAll(now);
  }

  /** Runs ticks every `step` ms from `from` to `to`. */
  run(from: number, to: number, step = 10): void {
    for (let now = from; now <= to; now += step) this.tick(now);
  }
}

function cluster(ids = IDS): Router {
  return new Router(new Map(ids.map((id, i) => [id, node(id, undefined, i + 1)])));
}

function leaderOf(router: Router): string[] {
  return [...router.nodes].filter(([, n]) => n.role === 'leader').map(([id]) => id);
}

describe('RaftNode: elections', () => {
  it('a single server elects itself within a heartbeat of its start and commits a proposal at once, stored first', () => {
    const base = testConfig(['s1']);
    const solo = new RaftNode({
      self: 's1',
      base,
      stored: initialClusterState('s1', base),
      timing: TEST_TIMING,
      random: () => 0,
      now: 0,
    });
    // A server that starts knows no leader: it seeks election within a heartbeat (random 0: at once).
    assert.equal(solo.nextWakeAt(), 0);
    solo.tick(solo.nextWakeAt());
    assert.equal(solo.role, 'leader');
    assert.equal(solo.term, 1);
    solo.takeEffects();
    const answer = solo.propose(200, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    assert.deepEqual(answer, { kind: 'proposed', id: 1 });
    const effects = solo.takeEffects();
    assert.deepEqual(
      effects.map((e) => e.kind),
      ['persist', 'applied', 'proposal'],
    );
    const persist = effects[0] as Extract<RaftEffect, { kind: 'persist' }>;
    assert.equal(persist.state.committed?.version, 1);
    assert.deepEqual(effects[2], {
      kind: 'proposal',
      id: 1,
      // Index 1 is the base entry (the cluster's first leader's config), 2 its no-op.
      outcome: { status: 'committed', version: 1, index: 3 },
    });
  });

  it('three servers elect exactly one leader; followers answer not_leader with it', () => {
    const router = cluster();
    router.run(0, 1000);
    const leaders = leaderOf(router);
    assert.equal(leaders.length, 1);
    for (const [id, n] of router.nodes) {
      assert.equal(n.leader, leaders[0]);
      if (id !== leaders[0])
        assert.deepEqual(
          n.propose(1000, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 }),
          {
            kind: 'not_leader',
            leader: leaders[0],
          },
        );
    }
  });

  it('a vote is stored before it is sent, and a new term before anything is', () => {
    const voter = node('s2');
    voter.receive(10, { kind: 'vote', from: 's1', term: 4, last_index: 0, last_term: 0 });
    const effects = voter.takeEffects();
    assert.deepEqual(
      effects.map((e) => e.kind),
      ['persist', 'send'],
    );
    assert.deepEqual(
      [effects[0]].map((e) => e?.kind === 'persist' && [e.state.current_term, e.state.voted_for]),
      [[4, 's1']],
    );
    assert.deepEqual(effects[1], {
      kind: 'send',
      to: 's1',
      message: { kind: 'vote_reply', from: 's2', term: 4, granted: true },
    });
    // One vote per term: another candidate of term 4 is refused, and nothing changes to store.
    voter.receive(11, { kind: 'vote', from: 's3', term: 4, last_index: 9, last_term: 3 });
    assert.deepEqual(
      voter.takeEffects().map((e) => e.kind === 'send' && e.message),
      [{ kind: 'vote_reply', from: 's2', term: 4, granted: false }],
    );
  });

  it('a vote survives a restart: the restarted server does not vote again in the same term', () => {
    // Already in term 4: the vote is the only thing that changes, and it alone must be stored.
    const voter = node('s2', { current_term: 4 });
    voter.receive(10, { kind: 'vote', from: 's1', term: 4, last_index: 0, last_term: 0 });
    const stored = voter.takeEffects().find((e) => e.kind === 'persist')!;
    assert.equal(stored.kind, 'persist');
    const again = node('s2', stored.kind === 'persist' ? stored.state : undefined);
    again.receive(20, { kind: 'vote', from: 's3', term: 4, last_index: 0, last_term: 0 });
    assert.deepEqual(
      again.takeEffects().map((e) => e.kind === 'send' && e.message),
      [{ kind: 'vote_reply', from: 's2', term: 4, granted: false }],
    );
  });

  it('refuses a candidate whose log is behind (§5.4.1)', () => {
    const voter = node('s2', {
      current_term: 2,
      log: [{ index: 1, term: 2, change: { kind: 'noop' } }],
    });
    voter.receive(10, { kind: 'vote', from: 's1', term: 3, last_index: 5, last_term: 1 });
    const reply = voter.takeEffects().find((e) => e.kind === 'send');
    assert.deepEqual(reply?.kind === 'send' && reply.message, {
      kind: 'vote_reply',
      from: 's2',
      term: 3,
      granted: false,
    });
  });

  it('an append is stored before it is acknowledged', () => {
    const follower = node('s2');
    follower.receive(10, {
      kind: 'append',
      from: 's1',
      term: 1,
      prev_index: 0,
      prev_term: 0,
      entries: [{ index: 1, term: 1, change: { kind: 'noop' } }],
      commit: 0,
    });
    const effects = follower.takeEffects();
    assert.deepEqual(
      effects.map((e) => e.kind),
      ['persist', 'send'],
    );
    assert.equal(effects[0]?.kind === 'persist' && effects[0].state.log.length, 1);
    assert.deepEqual(effects[1]?.kind === 'send' && effects[1].message, {
      kind: 'append_reply',
      from: 's2',
      term: 1,
      success: true,
      match_index: 1,
    });
  });

  it('pre-vote: a server cut off does not raise its term, and coming back does not unseat the leader', () => {
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    const term = router.nodes.get(leader!)!.term;
    const outsider = IDS.find((id) => id !== leader)!;
    router.cut.add(outsider);
    router.run(1010, 4000);
    assert.equal(router.nodes.get(outsider)!.term, term, 'no term raised while cut off');
    router.cut.delete(outsider);
    router.run(4010, 6000);
    assert.deepEqual(leaderOf(router), [leader]);
    for (const n of router.nodes.values()) assert.equal(n.term, term);
  });

  it('leader stickiness: a vote request of a later term is refused while the leader is heard', () => {
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    const follower = IDS.find((id) => id !== leader)!;
    const n = router.nodes.get(follower)!;
    const term = n.term;
    n.receive(1001, { kind: 'vote', from: 'sX', term: term + 5, last_index: 99, last_term: term + 4 });
    const effects = n.takeEffects();
    assert.deepEqual(
      effects.map((e) => e.kind === 'send' && e.message),
      [{ kind: 'vote_reply', from: follower, term, granted: false }],
    );
    assert.equal(n.term, term);
  });

  it('a server that starts seeks election within a heartbeat; in a running cluster its pre-vote is refused at no cost of a term', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fresh = node('s1', undefined, seed);
      assert.ok(
        fresh.nextWakeAt() < TEST_TIMING.heartbeat_ms,
        `seed ${seed}: first election at ${fresh.nextWakeAt()}`,
      );
    }
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    const term = router.nodes.get(leader!)!.term;
    const restarted = IDS.find((id) => id !== leader)!;
    const stored = router.nodes.get(restarted)!.durableState();
    router.nodes.set(restarted, node(restarted, stored, 99));
    router.run(1000, 3000);
    assert.deepEqual(leaderOf(router), [leader]);
    for (const n of router.nodes.values()) assert.equal(n.term, term, 'no term raised by the restart');
  });

  it('a leader the failure detector reports down is replaced within a heartbeat or so, long before an election timeout', () => {
    // Election timeouts twenty heartbeats long: only peerDown can make the election this quick.
    const timing = {
      ...TEST_TIMING,
      election_timeout_ms_min: 1000,
      election_timeout_ms_max: 2000,
      proposal_timeout_ms: 2000,
    };
    const slow = () =>
      new Router(
        new Map(
          IDS.map((id, i) => [
            id,
            new RaftNode({
              self: id,
              base: BASE,
              stored: initialClusterState(id, BASE),
              timing,
              random: new Random(i + 1).next,
              now: 0,
            }),
          ]),
        ),
      );
    for (const reported of [true, false]) {
      const router = slow();
      router.run(0, 500);
      const [leader] = leaderOf(router);
      assert.ok(leader !== undefined);
      router.cut.add(leader);
      router.run(510, 600);
      if (reported)
        for (const [id, n] of router.nodes)
          if (id !== leader) {
            n.peerDown(600, leader);
            router.take(id);
          }
      router.run(600, 600 + 2 * TEST_TIMING.heartbeat_ms);
      const others = leaderOf(router).filter((id) => id !== leader);
      // Without the report the followers still defer to the old leader so soon after losing it.
      assert.equal(others.length, reported ? 1 : 0, `reported ${reported}: leaders ${leaderOf(router)}`);
    }
  });

  it('a wrong report of a live leader costs no term when a majority still hears it; hearing it again clears the report', () => {
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    const term = router.nodes.get(leader!)!.term;
    const wrong = IDS.find((id) => id !== leader)!;
    router.nodes.get(wrong)!.peerDown(1000, leader!);
    router.take(wrong);
    assert.equal(router.nodes.get(wrong)!.leader, null);
    router.run(1000, 3000);
    assert.deepEqual(leaderOf(router), [leader]);
    for (const n of router.nodes.values()) {
      assert.equal(n.term, term);
      assert.equal(n.leader, leader);
    }
  });

  it('peerUp: a leader sends a server that comes back an append at once', () => {
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    const back = IDS.find((id) => id !== leader)!;
    const n = router.nodes.get(leader!)!;
    n.takeEffects();
    n.peerUp(back);
    const sends = n.takeEffects().filter((e) => e.kind === 'send');
    assert.deepEqual(
      sends.map((e) => e.kind === 'send' && [e.to, e.message.kind]),
      [[back, 'append']],
    );
    const follower = router.nodes.get(IDS.find((id) => id !== leader && id !== back)!)!;
    follower.peerUp(back);
    assert.deepEqual(follower.takeEffects(), []);
  });

  it('check-quorum: a leader that hears from no majority steps down within two election timeouts', () => {
    const router = cluster();
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    router.cut.add(leader!);
    router.run(1010, 1000 + 2 * TEST_TIMING.election_timeout_ms_min);
    assert.equal(router.nodes.get(leader!)!.role, 'follower');
    assert.equal(router.nodes.get(leader!)!.leader, null);
  });
});

describe('RaftNode: commits', () => {
  it("commits an earlier term's entry only with one of its own term (Figure 8)", () => {
    // s1 and s2 hold entry 2 of term 2, a majority; s1 becomes leader of term 3.
    const log = [
      { index: 1, term: 1, change: { kind: 'noop' } },
      { index: 2, term: 2, change: { kind: 'data_add', system: 'vip', items: ['x'], base_version: 0 } },
    ];
    const s1 = node('s1', { current_term: 2, log });
    s1.tick(1000); // pre-vote
    s1.receive(1001, { kind: 'pre_vote_reply', from: 's2', term: 2, granted: true });
    assert.equal(s1.role, 'candidate');
    s1.receive(1002, { kind: 'vote_reply', from: 's2', term: 3, granted: true });
    assert.equal(s1.role, 'leader');
    assert.deepEqual(s1.view().log.at(-1), { index: 3, term: 3, change: { kind: 'noop' } });
    s1.takeEffects();
    s1.receive(1003, { kind: 'append_reply', from: 's2', term: 3, success: true, match_index: 2 });
    assert.equal(
      s1.view().commit_index,
      0,
      'entry 2 of term 2 is on a majority, but not committed by counting',
    );
    assert.ok(!s1.takeEffects().some((e) => e.kind === 'applied'));
    s1.receive(1004, { kind: 'append_reply', from: 's2', term: 3, success: true, match_index: 3 });
    assert.equal(s1.view().commit_index, 3);
    assert.equal(s1.view().committed.version, 1);
  });
});

/** Runs `cluster` until one leader is elected (a bound of 5 s), and returns it. */
function electedLeader(cluster: TestCluster): string {
  for (let waited = 0; waited < 5000; waited += 50) {
    const leaders = cluster.leaders();
    if (leaders.length === 1) return leaders[0]!;
    cluster.runFor(50);
  }
  assert.fail('no leader within 5 s');
}

function outcomesOf(cluster: TestCluster, server: string, id: number) {
  return cluster.checker.outcomes.get(`${server}/${id}`);
}

function proposedId(answer: { kind: string; id?: number }): number {
  assert.equal(answer.kind, 'proposed');
  return answer.id!;
}

function data(cluster: TestCluster, id: string): unknown {
  return (cluster.node(id)!.view().committed.config.cluster as { system: { vip: { data: unknown } } }).system
    .vip.data;
}

describe('RaftNode: proposals', () => {
  it('a proposal through a follower is forwarded to the leader and reported committed with its version', () => {
    const cluster = new TestCluster({ seed: 11, servers: ['s1', 's2', 's3'] });
    const leader = electedLeader(cluster);
    const follower = ['s1', 's2', 's3'].find((id) => id !== leader)!;
    const { server, answer } = cluster.propose(follower, {
      kind: 'data_add',
      system: 'vip',
      items: ['a'],
      base_version: 0,
    });
    assert.equal(server, leader);
    cluster.runFor(200);
    assert.deepEqual(outcomesOf(cluster, leader, proposedId(answer)), {
      status: 'committed',
      version: 1,
      index: 3,
    });
    for (const id of ['s1', 's2', 's3']) assert.deepEqual(data(cluster, id), ['a']);
  });

  it("refuses an invalid change with the config's issues, appending nothing", () => {
    const cluster = new TestCluster({ seed: 12, servers: ['s1', 's2', 's3'] });
    const leader = electedLeader(cluster);
    cluster.runFor(200);
    const before = cluster.node(leader)!.view().log.length;
    const { answer } = cluster.propose(leader, {
      kind: 'system_set',
      system: 'vip',
      values: { type: 'bogus' as 'single' },
      base_version: 0,
    });
    const outcome = outcomesOf(cluster, leader, proposedId(answer));
    assert.equal(outcome?.status === 'failed' && outcome.reason, 'invalid');
    assert.match(outcome?.status === 'failed' ? outcome.message : '', /^cluster\.system\.vip\.type: /);
    assert.deepEqual(
      outcome?.status === 'failed' &&
        outcome.reason === 'invalid' && [outcome.index, outcome.issues[0]?.path],
      [null, 'cluster.system.vip.type'],
    );
    assert.equal(cluster.node(leader)!.view().log.length, before);
    // An item already there, against the config it would apply to (the earlier one is not committed yet).
    cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['x'], base_version: 0 });
    const twice = cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['x'], base_version: 0 });
    const refused = outcomesOf(cluster, leader, proposedId(twice.answer));
    assert.match(
      refused?.status === 'failed' ? refused.message : '',
      /^items\[0\]: "x" is already in system "vip"/,
    );
    // And a valid one commits.
    const ok = cluster.propose(leader, {
      kind: 'data_add',
      system: 'vip',
      items: ['10.0.0.9'],
      base_version: 0,
    });
    cluster.runFor(200);
    assert.equal(outcomesOf(cluster, leader, proposedId(ok.answer))?.status, 'committed');
  });

  it('a change that changes nothing commits without a version and is reported no_op at the version that holds it', () => {
    const cluster = new TestCluster({ seed: 19, servers: ['s1', 's2', 's3'] });
    const leader = electedLeader(cluster);
    cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    cluster.runFor(200);
    const index_before = cluster.node(leader)!.view().commit_index;
    const { answer } = cluster.propose(leader, {
      kind: 'system_set',
      system: 'vip',
      values: { type: 'single' },
      base_version: 1,
    });
    cluster.runFor(200);
    assert.deepEqual(outcomesOf(cluster, leader, proposedId(answer)), {
      status: 'no_op',
      version: 1,
      index: index_before + 1,
      reason: 'the config already is as this change would make it',
    });
    assert.deepEqual(cluster.agreement(), { version: 1, agreed: true });
    for (const id of ['s1', 's2', 's3'])
      assert.equal(cluster.node(id)!.view().commit_index, index_before + 1);
  });

  it('an entry that no longer applies when folded commits on every server but changes nothing and takes no version', () => {
    // A leader's log can hold such an entry only if it was checked against another config than
    // the one it folds onto; the rule must still give every server the same versions.
    const entries = [
      { index: 1, term: 1, change: { kind: 'noop' as const } },
      {
        index: 2,
        term: 1,
        change: { kind: 'data_add' as const, system: 'vip', items: ['x'], base_version: 0 },
      },
      {
        index: 3,
        term: 1,
        change: { kind: 'data_add' as const, system: 'vip', items: ['x'], base_version: 0 },
      },
      {
        index: 4,
        term: 1,
        change: { kind: 'data_add' as const, system: 'vip', items: ['y'], base_version: 0 },
      },
    ];
    const followers = ['s2', 's3'].map((id) => node(id));
    const results = followers.map((follower) => {
      follower.receive(10, {
        kind: 'append',
        from: 's1',
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries,
        commit: 4,
      });
      return follower
        .takeEffects()
        .flatMap((e) =>
          e.kind === 'applied'
            ? [
                [
                  e.version,
                  e.index,
                  (e.config.cluster as { system: { vip: { data: string[] } } }).system.vip.data,
                ],
              ]
            : [],
        );
    });
    assert.deepEqual(results[0], [
      [1, 2, ['x']],
      [2, 4, ['x', 'y']],
    ]);
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(
      followers.map((f) => [f.view().commit_index, f.view().committed.version]),
      [
        [4, 2],
        [4, 2],
      ],
    );
  });

  it('a minority commits nothing and reports no_quorum; the majority goes on; after healing the minority takes the majority log', () => {
    const servers = ['s1', 's2', 's3', 's4', 's5'];
    const cluster = new TestCluster({ seed: 13, servers });
    const leader = electedLeader(cluster);
    cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['before'], base_version: 0 });
    cluster.runFor(300);
    const minority = [leader, servers.find((id) => id !== leader)!];
    const majority = servers.filter((id) => !minority.includes(id));
    const version_before = cluster.node(leader)!.view().committed.version;
    cluster.partition([minority, majority]);
    const { answer } = cluster.propose(leader, {
      kind: 'data_add',
      system: 'vip',
      items: ['lost'],
      base_version: 0,
    });
    const id = proposedId(answer);
    cluster.runFor(TEST_TIMING.proposal_timeout_ms + 100);
    const outcome = outcomesOf(cluster, leader, id);
    assert.equal(outcome?.status === 'failed' && outcome.reason, 'no_quorum');
    for (const m of minority) assert.equal(cluster.node(m)!.view().committed.version, version_before);
    // Check-quorum made the old leader step down; the majority elected one of its own.
    assert.notEqual(cluster.node(leader)!.role, 'leader');
    const new_leader = electedLeader(cluster);
    assert.ok(majority.includes(new_leader));
    const { answer: kept } = cluster.propose(new_leader, {
      kind: 'data_add',
      system: 'vip',
      items: ['kept'],
      base_version: version_before,
    });
    cluster.runFor(300);
    assert.equal(outcomesOf(cluster, new_leader, proposedId(kept))?.status, 'committed');
    cluster.heal();
    cluster.runFor(1000);
    for (const id of servers) assert.deepEqual(data(cluster, id), ['before', 'kept'], id);
    assert.deepEqual(cluster.agreement(), { version: version_before + 1, agreed: true });
  });

  it('a proposal whose entry another leader replaces is reported superseded', () => {
    const servers = ['s1', 's2', 's3'];
    const cluster = new TestCluster({
      seed: 14,
      servers,
      timing: { ...TEST_TIMING, proposal_timeout_ms: 60_000 },
    });
    const leader = electedLeader(cluster);
    cluster.runFor(200);
    cluster.partition([[leader], servers.filter((id) => id !== leader)]);
    const { answer } = cluster.propose(leader, {
      kind: 'data_add',
      system: 'vip',
      items: ['doomed'],
      base_version: 0,
    });
    cluster.runFor(1000);
    const other = electedLeader(cluster);
    assert.notEqual(other, leader);
    cluster.propose(other, { kind: 'data_add', system: 'vip', items: ['winner'], base_version: 0 });
    cluster.runFor(300);
    cluster.heal();
    cluster.runFor(1000);
    const outcome = outcomesOf(cluster, leader, proposedId(answer));
    assert.equal(outcome?.status === 'failed' && outcome.reason, 'superseded');
    assert.deepEqual(data(cluster, leader), ['winner']);
  });
});

describe('RaftNode: server changes, one at a time', () => {
  it('a new leader refuses a server change until it has committed in its term', () => {
    const n = handMadeLeader();
    assert.deepEqual(n.propose(1003, { kind: 'server_rm', id: 's3', base_version: 0 }), {
      kind: 'proposed',
      id: 1,
    });
    const [report] = n.takeEffects();
    assert.equal(
      report?.kind === 'proposal' && report.outcome.status === 'failed' && report.outcome.reason,
      'conflict',
    );
  });

  it('a second server change waits until the first commits; a data change does not', () => {
    const cluster = new TestCluster({
      seed: 15,
      servers: ['s1', 's2', 's3', 's4'],
      members: ['s1', 's2', 's3'],
    });
    const leader = electedLeader(cluster);
    cluster.runFor(200);
    const first = cluster.propose(leader, {
      kind: 'server_add',
      id: 's4',
      ip: '127.0.0.1',
      port: 2204,
      systems: ['vip'],
      base_version: 0,
    });
    // The new server counts in majorities from the moment its entry is appended.
    assert.deepEqual(cluster.node(leader)!.view().members, ['s1', 's2', 's3', 's4']);
    const second = cluster.propose(leader, { kind: 'server_rm', id: 's3', base_version: 0 });
    const data_change = cluster.propose(leader, {
      kind: 'data_add',
      system: 'vip',
      items: ['a'],
      base_version: 0,
    });
    const refused = outcomesOf(cluster, leader, proposedId(second.answer));
    assert.equal(refused?.status === 'failed' && refused.reason, 'conflict');
    cluster.runFor(500);
    assert.equal(outcomesOf(cluster, leader, proposedId(first.answer))?.status, 'committed');
    assert.equal(outcomesOf(cluster, leader, proposedId(data_change.answer))?.status, 'committed');
    // s4 started from a config without itself, and caught up from the log.
    assert.deepEqual(cluster.agreement(), { version: 2, agreed: true });
    assert.deepEqual(cluster.node('s4')!.view().members, ['s1', 's2', 's3', 's4']);
    // Now a majority is 3 of 4: with two servers down, nothing commits.
    const down = ['s1', 's2', 's3', 's4'].filter((id) => id !== leader).slice(0, 2);
    for (const id of down) cluster.crash(id);
    const stuck = cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['b'], base_version: 0 });
    cluster.runFor(TEST_TIMING.proposal_timeout_ms + 100);
    const failed = outcomesOf(cluster, leader, proposedId(stuck.answer));
    assert.equal(failed?.status === 'failed' && failed.reason, 'no_quorum');
  });

  it('a leader that removes itself steps down once the removal commits; the rest go on undisturbed', () => {
    const cluster = new TestCluster({ seed: 16, servers: ['s1', 's2', 's3'] });
    const leader = electedLeader(cluster);
    cluster.runFor(200);
    const { answer } = cluster.propose(leader, { kind: 'server_rm', id: leader, base_version: 0 });
    cluster.runFor(300);
    assert.equal(outcomesOf(cluster, leader, proposedId(answer))?.status, 'committed');
    assert.equal(cluster.node(leader)!.role, 'follower');
    const next = electedLeader(cluster);
    assert.notEqual(next, leader);
    const term = cluster.node(next)!.term;
    cluster.runFor(3000);
    // The removed server starts no election (it is not a member), so the term stays.
    assert.equal(cluster.node(next)!.term, term);
    assert.equal(cluster.node(leader)!.nextWakeAt(), Number.POSITIVE_INFINITY);
    const rest = ['s1', 's2', 's3'].filter((id) => id !== leader);
    assert.deepEqual(serverIdsOf(cluster.node(next)!.view().committed.config), rest);
    const after = cluster.propose(next, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    cluster.runFor(300);
    assert.equal(outcomesOf(cluster, next, proposedId(after.answer))?.status, 'committed');
  });
});

describe('RaftNode: a removed follower learns of its removal', () => {
  it('the leader goes on sending it appends until it holds the removal and its commit: it applies it, and disturbs nobody', () => {
    const cluster = new TestCluster({ seed: 18, servers: ['s1', 's2', 's3'] });
    const leader = electedLeader(cluster);
    cluster.runFor(200);
    const removed = ['s1', 's2', 's3'].find((id) => id !== leader)!;
    const { answer } = cluster.propose(leader, { kind: 'server_rm', id: removed, base_version: 0 });
    cluster.runFor(500);
    assert.equal(outcomesOf(cluster, leader, proposedId(answer))?.status, 'committed');
    assert.equal(cluster.checker.applied_version.get(removed), 1, 'the removed server applied version 1');
    const view = cluster.node(removed)!.view();
    assert.equal(view.committed.version, 1);
    assert.ok(!serverIdsOf(view.committed.config).includes(removed), 'its committed config lacks it');
    // It seeks no election (it is not in its config), and the rest go on in the same term.
    const term = cluster.node(leader)!.term;
    cluster.runFor(3000);
    assert.equal(cluster.node(leader)!.term, term);
    assert.equal(cluster.node(removed)!.nextWakeAt(), Number.POSITIVE_INFINITY);
  });
});

describe('RaftNode: snapshots and restarts', () => {
  it('a follower too far behind gets the committed config in one snapshot message', () => {
    const servers = ['s1', 's2', 's3'];
    const cluster = new TestCluster({ seed: 17, servers, entries_kept: 2, check_stored: true });
    const leader = electedLeader(cluster);
    const behind = servers.find((id) => id !== leader)!;
    cluster.crash(behind);
    for (let i = 0; i < 10; i++) {
      cluster.propose(leader, { kind: 'data_add', system: 'vip', items: [`i${i}`], base_version: 0 });
      cluster.runFor(50);
    }
    cluster.runFor(200);
    assert.ok(cluster.node(leader)!.view().log.length <= 3, 'the leader folded its committed entries');
    const snapshots = cluster.delivered_by_kind.get('snapshot') ?? 0;
    cluster.restart(behind);
    cluster.runFor(500);
    assert.equal((cluster.delivered_by_kind.get('snapshot') ?? 0) - snapshots, 1);
    assert.deepEqual(cluster.agreement(), { version: 10, agreed: true });
    assert.equal(cluster.hosts.get(behind)!.disk.committed?.version, 10);
  });

  it('a restarted server keeps its term, vote, log and committed config', () => {
    const cluster = new TestCluster({ seed: 18, servers: ['s1', 's2', 's3'], check_stored: true });
    const leader = electedLeader(cluster);
    cluster.propose(leader, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    cluster.runFor(300);
    for (const id of ['s1', 's2', 's3']) {
      const before = cluster.node(id)!.view();
      cluster.crash(id);
      cluster.restart(id);
      const after = cluster.node(id)!.view();
      assert.deepEqual(
        [after.term, after.voted_for, after.log, after.committed],
        [before.term, before.voted_for, before.log, before.committed],
        id,
      );
      assert.equal(after.role, 'follower');
    }
  });
});

/** s1 of three, made leader of term 1 by hand (s2 grants both votes); its effects taken. */
function handMadeLeader(): RaftNode {
  const n = node('s1', undefined, 1);
  n.tick(1000);
  n.receive(1001, { kind: 'pre_vote_reply', from: 's2', term: 0, granted: true });
  n.receive(1002, { kind: 'vote_reply', from: 's2', term: 1, granted: true });
  assert.equal(n.role, 'leader');
  n.takeEffects();
  return n;
}

describe('RaftNode: the base entry', () => {
  it("servers whose files differ fold every version onto the first leader's config, and agree", () => {
    // s2's file lists an item the others' do not: each starts from its own version 0.
    const bases = new Map(IDS.map((id) => [id, structuredClone(BASE)]));
    (bases.get('s2')!.cluster as { system: { vip: { data: string[] } } }).system.vip.data = ['only-s2'];
    const router = new Router(
      new Map(
        IDS.map((id, i) => [
          id,
          new RaftNode({
            self: id,
            base: bases.get(id)!,
            stored: initialClusterState(id, bases.get(id)!),
            timing: TEST_TIMING,
            random: new Random(i + 1).next,
            now: 0,
          }),
        ]),
      ),
    );
    router.run(0, 1000);
    const [leader] = leaderOf(router);
    assert.ok(leader !== undefined);
    const leaderBase = bases.get(leader)!;
    for (const n of router.nodes.values()) {
      assert.equal(n.committed.version, 0, 'the base entry takes no version');
      assert.deepEqual(n.committed.config, leaderBase, "every server's version 0 is now the leader's");
    }
    router.nodes
      .get(leader)!
      .propose(1010, { kind: 'data_add', system: 'vip', items: ['a'], base_version: 0 });
    router.take(leader);
    router.run(1010, 1500);
    const configs = [...router.nodes.values()].map((n) => n.committed);
    for (const committed of configs) {
      assert.equal(committed.version, 1);
      assert.deepEqual(committed.config, configs[0]!.config, 'version 1 is one config everywhere');
    }
  });

  it('a restarted or later leader appends no second base entry', () => {
    const router = cluster();
    router.run(0, 1000);
    const [first] = leaderOf(router);
    router.cut.add(first!);
    router.run(1000, 3000);
    const [second] = leaderOf(router).filter((id) => id !== first);
    assert.ok(second !== undefined, 'another leader after the cut');
    const log = router.nodes.get(second)!.view().log;
    assert.deepEqual(
      log.filter((entry) => entry.change.kind === 'base').map((entry) => entry.index),
      [1],
      'one base entry, the first',
    );
    assert.equal(log.filter((entry) => entry.change.kind === 'noop').length, 2, "each leader's no-op");
  });
});

describe('RaftNode: what the replica reads', () => {
  it('uncommitted lists the config changes after the commit point, in log order, without the no-op', () => {
    const n = handMadeLeader();
    assert.deepEqual(n.uncommitted(), []);
    const a = { kind: 'data_add' as const, system: 'vip', items: ['a'], base_version: 0 };
    const b = { kind: 'system_set' as const, system: 'vip', values: { delay: 9 }, base_version: 0 };
    n.propose(1003, a);
    n.propose(1004, b);
    assert.deepEqual(n.uncommitted(), [a, b]);
    n.takeEffects();
    // The log: the base entry, the no-op, a, b.
    n.receive(1005, { kind: 'append_reply', from: 's2', term: 1, success: true, match_index: 3 });
    assert.deepEqual(n.uncommitted(), [b]);
    assert.deepEqual([n.committed.version, n.committed.index], [1, 3]);
  });

  it('leadsWithQuorum: a leader heard by a majority within the minimum election timeout; never a follower', () => {
    const n = handMadeLeader();
    const min = TEST_TIMING.election_timeout_ms_min;
    // Elected at 1002: the followers count as heard at the start of the term.
    assert.equal(n.leadsWithQuorum(1002 + min - 1), true);
    assert.equal(n.leadsWithQuorum(1002 + min), false);
    n.receive(1100, { kind: 'append_reply', from: 's3', term: 1, success: true, match_index: 0 });
    assert.equal(n.leadsWithQuorum(1100 + min - 1), true);
    assert.equal(node('s2').leadsWithQuorum(0), false);
  });
});

describe('RaftNode: bounds and recovery', () => {
  it(`a leader holds at most ${PROPOSALS_PENDING_MAX} proposals waiting for a majority`, () => {
    const n = handMadeLeader();
    for (let i = 0; i < PROPOSALS_PENDING_MAX; i++)
      n.propose(1003, { kind: 'data_add', system: 'vip', items: [`i${i}`], base_version: 0 });
    assert.ok(!n.takeEffects().some((e) => e.kind === 'proposal'), 'all accepted');
    const log_length = n.view().log.length;
    n.propose(1004, { kind: 'data_add', system: 'vip', items: ['one too many'], base_version: 0 });
    const [report] = n.takeEffects().filter((e) => e.kind === 'proposal');
    assert.equal(
      report?.kind === 'proposal' && report.outcome.status === 'failed' && report.outcome.reason,
      'conflict',
    );
    assert.equal(n.view().log.length, log_length);
    // They fail together when no majority answers, and room is made again.
    n.tick(1003 + TEST_TIMING.proposal_timeout_ms);
    const failed = n.takeEffects().filter((e) => e.kind === 'proposal');
    assert.equal(failed.length, PROPOSALS_PENDING_MAX);
  });

  it('a server that lost its state neither votes nor seeks election until a leader brings it up to date', () => {
    const n = node('s2', undefined, 2, true);
    n.receive(10, { kind: 'pre_vote', from: 's1', term: 1, last_index: 0, last_term: 0 });
    n.receive(11, { kind: 'vote', from: 's1', term: 1, last_index: 0, last_term: 0 });
    assert.deepEqual(
      n
        .takeEffects()
        .flatMap((e) => (e.kind === 'send' && 'granted' in e.message ? [e.message.granted] : [])),
      [false, false],
    );
    n.tick(10_000);
    assert.ok(!n.takeEffects().some((e) => e.kind === 'send'), 'no pre-vote of its own');
    assert.equal(n.role, 'follower');
    // A leader's append brings it to the leader's commit point: it takes part again.
    n.receive(10_001, {
      kind: 'append',
      from: 's1',
      term: 1,
      prev_index: 0,
      prev_term: 0,
      entries: [{ index: 1, term: 1, change: { kind: 'noop' } }],
      commit: 1,
    });
    n.takeEffects();
    n.receive(20_000, { kind: 'vote', from: 's3', term: 2, last_index: 1, last_term: 1 });
    const reply = n.takeEffects().find((e) => e.kind === 'send');
    assert.deepEqual(reply?.kind === 'send' && reply.message, {
      kind: 'vote_reply',
      from: 's2',
      term: 2,
      granted: true,
    });
  });
});
