/**
 * The replica, scenario by scenario: the answers a client gets (committed, no_op, invalid,
 * conflict, no_quorum, unknown_server, timeout) and when, forwarding to the leader, the order of
 * effects, duplicated forwards, a minority partition, and restarts from the stored state. The
 * clusters are ReplicaClusters on a calm network, whose checkers (src/replica/checkers.ts and
 * src/consensus/checkers.ts) run after every step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_TIMING, testConfig } from '../../src/consensus/testing.js';
import type { ChangeAnswer } from '../../src/replica/answer.js';
import { ConfigReplica, type ReplicaEffect, requestTimeoutMs } from '../../src/replica/config-replica.js';
import type { ChangeForward } from '../../src/replica/messages.js';
import { ReplicaCluster } from '../../src/replica/testing.js';
import { startFrom } from '../../src/state/start-from.js';

const IDS = ['s1', 's2', 's3'];

/** A replica of `self` started as an agent would with no state file, from a file listing `ids`. */
function replica(self: string, ids: readonly string[] = IDS): ConfigReplica {
  const start = startFrom({
    server: self,
    file: { ...testConfig(ids), id: self },
    stored: { kind: 'missing', path: `${self}/cluster-state`, temp_removed: false },
  });
  assert.equal(start.kind, 'start');
  if (start.kind !== 'start') throw new Error('unreachable');
  return new ConfigReplica({ self, start, timing: TEST_TIMING, random: () => 0, now: 0 });
}

/** s1 of three, made leader of term 1 at 1002 by hand (s2 grants both votes); its effects taken. */
function handMadeLeader(): ConfigReplica {
  const leader = replica('s1');
  leader.tick(1000);
  leader.receive(1001, { kind: 'pre_vote_reply', from: 's2', term: 0, granted: true });
  leader.receive(1002, { kind: 'vote_reply', from: 's2', term: 1, granted: true });
  assert.equal(leader.leader, 's1');
  leader.takeEffects();
  return leader;
}

function answers(effects: ReplicaEffect[]): ChangeAnswer[] {
  return effects.flatMap((effect) => (effect.kind === 'answer' ? [effect.answer] : []));
}

/** A first copy of a change forwarded by `from` as request `request`, meant for term 1's leader. */
const forwardFrom = (from: string, request: number, change: unknown): ChangeForward => ({
  kind: 'change_forward',
  from,
  request,
  change: change as ChangeForward['change'],
  term: 1,
  again: false,
});

const add = (item: string, base_version = 0) => ({
  kind: 'data_add',
  system: 'vip',
  items: [item],
  base_version,
});
const setDelay = (delay: number, base_version: number) => ({
  kind: 'system_set',
  system: 'vip',
  values: { delay },
  base_version,
});

/** Runs `cluster` until one leader is elected (a bound of 5 s), and returns it. */
function electedLeader(cluster: ReplicaCluster): string {
  for (let waited = 0; waited < 5000; waited += 50) {
    const leaders = cluster.leaders();
    if (leaders.length === 1) return leaders[0]!;
    cluster.runFor(50);
  }
  assert.fail('no leader within 5 s');
}

/** Asks `server` for `change`, runs `ms`, and returns the answer. */
function ask(cluster: ReplicaCluster, server: string, change: unknown, ms = 300): ChangeAnswer | undefined {
  const request = cluster.propose(server, change);
  assert.notEqual(request, undefined, `${server} is up`);
  cluster.runFor(ms);
  return cluster.answerOf(server, request!);
}

function data(cluster: ReplicaCluster, id: string): unknown {
  return (cluster.node(id)!.committed.config.cluster as { system: { vip: { data: unknown } } }).system.vip
    .data;
}

describe('ConfigReplica: answers given at once', () => {
  it("a malformed change, or one the committed config refuses, is answered invalid with the config's messages; nothing is sent", () => {
    const follower = replica('s2');
    const malformed = follower.propose(10, { kind: 'data_ad', system: 'vip', items: ['x'], base_version: 0 });
    const refused = follower.propose(10, {
      kind: 'system_set',
      system: 'vip',
      values: { check_interval: 1000 },
      base_version: 0,
    });
    const effects = follower.takeEffects();
    assert.deepEqual(
      effects.map((effect) => effect.kind === 'answer' && effect.request),
      [malformed, refused],
    );
    const [first, second] = answers(effects);
    assert.equal(first?.kind, 'invalid');
    assert.deepEqual(first?.kind === 'invalid' && first.issues[0]?.path, 'kind');
    assert.match(first?.kind === 'invalid' ? first.issues[0]!.message : '', /did you mean "data_add"/);
    assert.deepEqual(second, {
      kind: 'invalid',
      issues: [
        {
          path: 'cluster.system.vip.check_interval',
          message: 'has no effect without a check script (set check too)',
        },
      ],
    });
    assert.equal(follower.waiting, 0);
  });

  it('without a known leader, a valid change is answered no_quorum and nothing is sent', () => {
    const follower = replica('s2');
    follower.propose(10, add('a'));
    const effects = follower.takeEffects();
    assert.deepEqual(
      effects.map((effect) => effect.kind),
      ['answer'],
    );
    assert.equal(answers(effects)[0]?.kind, 'no_quorum');
  });

  it('a server that is not in the config answers unknown_server', () => {
    const outsider = replica('s4', IDS);
    outsider.propose(10, add('a'));
    assert.deepEqual(answers(outsider.takeEffects()), [
      {
        kind: 'unknown_server',
        server: 's4',
        message:
          '"s4" is not a server of the cluster\'s config (removed, or not added yet): it takes no changes; ask a server of the cluster',
      },
    ]);
  });

  it('a leader that has not heard from a majority within the minimum election timeout answers no_quorum, appending nothing', () => {
    const leader = handMadeLeader();
    const log = leader.raftView().log.length;
    // Elected at 1002; the followers were last heard at the start of the term.
    leader.propose(1002 + TEST_TIMING.election_timeout_ms_min - 1, add('a'));
    assert.equal(leader.raftView().log.length, log + 1, 'still within the window: appended');
    leader.takeEffects();
    leader.propose(1002 + TEST_TIMING.election_timeout_ms_min, add('b'));
    const [answer] = answers(leader.takeEffects());
    assert.equal(answer?.kind, 'no_quorum');
    assert.equal(leader.raftView().log.length, log + 1);
  });

  it('a forwarded change that arrives twice is appended once', () => {
    const leader = handMadeLeader();
    const forward = forwardFrom('s2', 7, add('a'));
    leader.receive(1010, forward);
    leader.receive(1011, forward);
    const entries = leader.raftView().log.filter((entry) => entry.change.kind === 'data_add');
    assert.equal(entries.length, 1);
    // Nothing was refused either: the copy got no answer of its own.
    assert.ok(!leader.takeEffects().some((e) => e.kind === 'send' && e.message.kind === 'change_reply'));
  });
});

describe('ConfigReplica: effects in order', () => {
  it('a single server stores a committed change before it reports the version, and answers after both', () => {
    const solo = replica('s1', ['s1']);
    solo.tick(TEST_TIMING.election_timeout_ms_min);
    assert.equal(solo.leader, 's1');
    solo.takeEffects();
    const request = solo.propose(200, add('a'));
    const effects = solo.takeEffects();
    assert.deepEqual(
      effects.map((effect) => effect.kind),
      ['persist', 'applied', 'answer'],
    );
    const [persist, applied, answer] = effects;
    assert.equal(persist?.kind === 'persist' && persist.state.committed?.version, 1);
    assert.deepEqual(applied?.kind === 'applied' && [applied.version, applied.change], [1, add('a')]);
    assert.deepEqual(answer, { kind: 'answer', request, answer: { kind: 'committed', version: 1 } });
  });

  it('a leader stores its entry before it sends it, and a follower stores it before it acknowledges', () => {
    const leader = handMadeLeader();
    leader.propose(1010, add('a'));
    const effects = leader.takeEffects();
    assert.equal(effects[0]?.kind, 'persist');
    assert.ok(
      effects[0]?.kind === 'persist' &&
        effects[0].state.log.some((e) => (e.change as { kind: string }).kind === 'data_add'),
    );
    const appends = effects.filter((e) => e.kind === 'send' && e.message.kind === 'append');
    assert.equal(appends.length, 2);
    const follower = replica('s2');
    const append = appends[0]!;
    follower.receive(1011, append.kind === 'send' ? append.message : (undefined as never));
    assert.deepEqual(
      follower.takeEffects().map((effect) => (effect.kind === 'send' ? effect.message.kind : effect.kind)),
      ['persist', 'append_reply'],
    );
  });
});

describe('ConfigReplica: changes through any server', () => {
  it('a change asked at a follower is forwarded, committed, and answered with its version; every server applies it once', () => {
    const cluster = new ReplicaCluster({ seed: 21, servers: IDS });
    const leader = electedLeader(cluster);
    const follower = IDS.find((id) => id !== leader)!;
    const before = cluster.delivered_by_kind.get('change_forward') ?? 0;
    assert.deepEqual(ask(cluster, follower, add('10.0.0.9')), { kind: 'committed', version: 1 });
    assert.equal((cluster.delivered_by_kind.get('change_forward') ?? 0) - before, 1);
    assert.equal(cluster.delivered_by_kind.get('change_reply'), 1);
    for (const id of IDS) {
      assert.deepEqual(data(cluster, id), ['10.0.0.9'], id);
      assert.equal(cluster.checker.applied_version.get(id), 1, id);
    }
    // The file's `id` names one server: it is not in what the cluster shares.
    assert.equal(Object.hasOwn(cluster.node(follower)!.committed.config, 'id'), false);
  });

  it('a change that changes nothing is answered no_op with the version that holds it', () => {
    const cluster = new ReplicaCluster({ seed: 22, servers: IDS });
    const leader = electedLeader(cluster);
    assert.deepEqual(ask(cluster, leader, setDelay(200, 0)), { kind: 'committed', version: 1 });
    assert.deepEqual(ask(cluster, leader, setDelay(200, 1)), {
      kind: 'no_op',
      version: 1,
      reason: 'the config already is as this change would make it',
    });
    assert.deepEqual(cluster.agreement(), { version: 1, agreed: true });
  });

  it('conflicts: with a change committed since its base (named by version), with one not committed yet, and when the leader cannot tell', () => {
    const cluster = new ReplicaCluster({ seed: 23, servers: IDS });
    const leader = electedLeader(cluster);
    const follower = IDS.find((id) => id !== leader)!;
    assert.deepEqual(ask(cluster, follower, setDelay(200, 0)), { kind: 'committed', version: 1 });
    // Made against version 0 too: the same key is refused, another part of the config is not.
    const stale = ask(cluster, follower, setDelay(300, 0));
    assert.deepEqual(stale, {
      kind: 'conflict',
      message:
        'conflicts with version 1 (system set vip delay=200), committed after version 0 that this change was made against: both change delay of system "vip"; look at the config again (flip config show) and retry',
    });
    assert.deepEqual(ask(cluster, follower, add('a', 0)), { kind: 'committed', version: 2 });
    // Two at once at the leader: the second meets the first before it commits.
    const first = cluster.propose(leader, setDelay(400, 2))!;
    const second = cluster.propose(leader, setDelay(100, 2))!;
    cluster.runFor(300);
    assert.deepEqual(cluster.answerOf(leader, first), { kind: 'committed', version: 3 });
    assert.match(
      (cluster.answerOf(leader, second) as { message?: string }).message ?? '',
      /^conflicts with a change not committed yet \(system set vip delay=400\)/,
    );
    // A base version the leader has not reached cannot come from it: refused, the client retries.
    assert.match(
      (ask(cluster, leader, add('b', 9)) as { message?: string }).message ?? '',
      /^made against version 9, newer than version 3 that the leader has committed/,
    );
    // After a restart a leader knows the changes committed since its start only.
    for (const id of IDS) cluster.crash(id);
    for (const id of IDS) cluster.restart(id);
    const next = electedLeader(cluster);
    assert.match(
      (ask(cluster, next, add('c', 2)) as { message?: string }).message ?? '',
      /^made against version 2, and the leader holds the changes committed since version 3 only/,
    );
    assert.deepEqual(ask(cluster, next, add('c', 3)), { kind: 'committed', version: 4 });
  });

  it('a forward lost on the way is answered timeout at its bound, once', () => {
    const cluster = new ReplicaCluster({ seed: 24, servers: IDS });
    const leader = electedLeader(cluster);
    cluster.runFor(100);
    const follower = IDS.find((id) => id !== leader)!;
    cluster.partition([[leader], IDS.filter((id) => id !== leader)]);
    // The follower still knows the leader: it forwards, and the forward is lost.
    const request = cluster.propose(follower, add('lost'))!;
    cluster.runFor(requestTimeoutMs(TEST_TIMING) - 1);
    assert.equal(cluster.answerOf(follower, request), undefined);
    cluster.runFor(1);
    assert.equal(cluster.answerOf(follower, request)?.kind, 'timeout');
    // The checker would throw on a second answer.
    cluster.heal();
    cluster.runFor(1000);
    assert.equal(cluster.checker.answers.get('timeout'), 1);
  });

  it('a forward lost on the way is sent again to the same leader, and answered once the way is back', () => {
    const cluster = new ReplicaCluster({ seed: 26, servers: IDS });
    const leader = electedLeader(cluster);
    cluster.runFor(100);
    const follower = IDS.find((id) => id !== leader)!;
    const forwardsBefore = cluster.delivered_by_kind.get('change_forward') ?? 0;
    // Cut for less than the leader's check-quorum: the first forward (and maybe one copy) is lost.
    cluster.partition([[follower], IDS.filter((id) => id !== follower)]);
    const request = cluster.propose(follower, add('again'))!;
    cluster.runFor(TEST_TIMING.heartbeat_ms + 10);
    cluster.heal();
    cluster.runFor(3 * TEST_TIMING.heartbeat_ms);
    assert.equal(cluster.answerOf(follower, request)?.kind, 'committed', 'answered well before the timeout');
    assert.equal(
      (cluster.delivered_by_kind.get('change_forward') ?? 0) - forwardsBefore,
      1,
      'one copy reached the leader',
    );
    const entries = cluster
      .node(leader)!
      .raftView()
      .log.filter((entry) => JSON.stringify(entry.change).includes('again'));
    assert.equal(entries.length, 1, 'appended once');
  });

  it("a copy of a forward that comes after the leader's answer gets that answer again", () => {
    const leader = handMadeLeader();
    const forward = forwardFrom('s2', 8, add('b'));
    leader.receive(1010, forward);
    // Committed by a majority: s2 acknowledges the leader's append.
    let replies = leader.takeEffects().filter((e) => e.kind === 'send' && e.message.kind === 'change_reply');
    assert.deepEqual(replies, [], 'no answer before the commit');
    const last = leader.raftView().log.at(-1)!.index;
    leader.receive(1020, { kind: 'append_reply', from: 's2', term: 1, success: true, match_index: last });
    replies = leader.takeEffects().filter((e) => e.kind === 'send' && e.message.kind === 'change_reply');
    assert.equal(replies.length, 1);
    leader.receive(1030, { ...forward, again: true });
    const again = leader.takeEffects().filter((e) => e.kind === 'send' && e.message.kind === 'change_reply');
    assert.deepEqual(again, replies, 'the same answer, sent again');
    assert.equal(
      leader.raftView().log.filter((entry) => entry.change.kind === 'data_add').length,
      1,
      'appended once',
    );
  });

  it('a copy sent again that the server does not remember: taken in the term it leads, else neither appended nor answered', () => {
    const leader = handMadeLeader();
    const log = leader.raftView().log.length;
    const copy = { kind: 'change_forward' as const, from: 's2', change: add('c') as never, again: true };
    // Meant for a term it did not lead in this life (it may have taken a first copy then).
    leader.receive(1010, { ...copy, request: 9, term: 0 });
    assert.equal(leader.raftView().log.length, log, 'not appended');
    assert.ok(!leader.takeEffects().some((e) => e.kind === 'send' && e.message.kind === 'change_reply'));
    // Meant for the term it leads: it would remember a first copy, so this is the first to come.
    leader.receive(1011, { ...copy, request: 10, term: 1 });
    assert.equal(leader.raftView().log.length, log + 1, 'appended');
  });

  it('a minority commits nothing: its requests end no_quorum or timeout; the majority commits; after healing no minority change is in force', () => {
    const servers = ['s1', 's2', 's3', 's4', 's5'];
    const cluster = new ReplicaCluster({ seed: 25, servers });
    const leader = electedLeader(cluster);
    assert.equal(ask(cluster, leader, add('before'))?.kind, 'committed');
    const minority = [leader, servers.find((id) => id !== leader)!];
    const majority = servers.filter((id) => !minority.includes(id));
    cluster.partition([minority, majority]);
    const asked: [string, number][] = [];
    for (let i = 0; i < 8; i++) {
      const at = minority[i % 2]!;
      asked.push([at, cluster.propose(at, add(`minority-${i}`, 1))!]);
      cluster.runFor(250);
    }
    assert.equal(ask(cluster, majority[0]!, add('majority', 1), 500)?.kind, 'committed');
    cluster.runFor(requestTimeoutMs(TEST_TIMING));
    const kinds = asked.map(([at, request]) => cluster.answerOf(at, request)?.kind);
    assert.ok(
      kinds.every((kind) => kind === 'no_quorum' || kind === 'timeout'),
      `minority answers: ${kinds.join(', ')}`,
    );
    assert.ok(
      kinds.includes('no_quorum'),
      'refused at once once the cut-off leader knows it has no majority',
    );
    cluster.heal();
    cluster.runFor(1000);
    assert.deepEqual(cluster.agreement(), { version: 2, agreed: true });
    for (const id of servers) assert.deepEqual(data(cluster, id), ['before', 'majority'], id);
  });

  it('a restarted server starts from its stored state: its version kept, nothing applied again, later versions follow', () => {
    const cluster = new ReplicaCluster({ seed: 26, servers: IDS });
    const leader = electedLeader(cluster);
    assert.equal(ask(cluster, leader, add('a'))?.kind, 'committed');
    assert.equal(ask(cluster, leader, add('b', 1))?.kind, 'committed');
    const other = IDS.find((id) => id !== leader)!;
    const disk = cluster.hosts.get(other)!.disk;
    assert.equal(disk?.committed?.version, 2);
    cluster.crash(other);
    cluster.restart(other);
    assert.equal(cluster.node(other)!.committed.version, 2);
    assert.deepEqual(data(cluster, other), ['a', 'b']);
    // It knows no leader until it hears one (a heartbeat): until then it answers no_quorum.
    assert.equal(ask(cluster, other, add('c', 2), 0)?.kind, 'no_quorum');
    cluster.runFor(TEST_TIMING.heartbeat_ms);
    assert.equal(ask(cluster, other, add('c', 2))?.kind, 'committed');
    assert.equal(cluster.checker.applied_version.get(other), 3);
  });
});

describe('ConfigReplica: the file taken in', () => {
  it('is persisted by the call that takes it in, with no message or tick after (a stop right after keeps it)', () => {
    const follower = replica('s2');
    follower.takeEffects();
    const edited = { ...testConfig(IDS), id: 's2', log_level: 'debug' };
    follower.setFileBase(edited);
    const persists = follower.takeEffects().filter((effect) => effect.kind === 'persist');
    assert.equal(persists.length, 1);
    const saved = persists[0] as Extract<ReplicaEffect, { kind: 'persist' }>;
    assert.deepEqual(saved.state.file_base, edited);
    follower.setFileBase(edited);
    assert.deepEqual(follower.takeEffects(), [], 'the same file again: nothing to save');
  });
});
