/**
 * One RaftNode and small clusters of them, scenario by scenario: elections with pre-vote and
 * stickiness, check-quorum, the persist-before-send order, the Figure 8 commit rule, proposals
 * and their outcomes, single-server membership changes and snapshots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkChange, configFileValidator, serversOf } from '../../src/consensus/config-change.js';
import type { RaftMessage } from '../../src/consensus/messages.js';
import { type RaftEffect, RaftNode } from '../../src/consensus/raft-node.js';
import { TEST_TIMING, TestCluster, testConfig } from '../../src/consensus/testing.js';
import { Random } from '../../src/sim/random.js';
import { type ClusterState, initialClusterState } from '../../src/state/cluster-state.js';

const IDS = ['s1', 's2', 's3'];
const BASE = testConfig(IDS);

function node(self: string, stored?: Partial<ClusterState>, seed = 1): RaftNode {
  return new RaftNode({
    self,
    base: BASE,
    stored: { ...initialClusterState(self, BASE), ...stored },
    timing: TEST_TIMING,
    random: new Random(seed).next,
    validate: checkChange,
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
  it('a single server elects itself at its first timeout and commits a proposal at once, stored first', () => {
    const base = testConfig(['s1']);
    const solo = new RaftNode({
      self: 's1',
      base,
      stored: initialClusterState('s1', base),
      timing: TEST_TIMING,
      random: () => 0,
      validate: checkChange,
      now: 0,
    });
    assert.equal(solo.nextWakeAt(), TEST_TIMING.election_timeout_ms_min);
    solo.tick(solo.nextWakeAt());
    assert.equal(solo.role, 'leader');
    assert.equal(solo.term, 1);
    solo.takeEffects();
    const answer = solo.propose(200, { kind: 'data_add', system: 'vip', items: ['a'] });
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
      outcome: { status: 'committed', version: 1, index: 2 },
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
        assert.deepEqual(n.propose(1000, { kind: 'data_add', system: 'vip', items: ['a'] }), {
          kind: 'not_leader',
          leader: leaders[0],
        });
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
    const voter = node('s2');
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
      { index: 2, term: 2, change: { kind: 'data_add', system: 'vip', items: ['x'] } },
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
