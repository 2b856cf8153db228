/**
 * flip end to end on a real network: real agents (`flip agent`, from the sources) in network
 * namespaces on one bridge, the shipped VIP scripts (vip-up / vip-down) moving real addresses on
 * eth0 with gratuitous ARP, and an HTTP client in its own namespace asking each VIP who holds it.
 *
 * Needs root (and ip, nft, arping); skipped elsewhere unless FLIP_NETNS_TESTS=1, which makes
 * that a failure. Run: FLIP_NETNS_TESTS=1 node --import tsx --test --test-reporter=tap test/netns/e2e.test.ts
 *
 * "kill -9" kills the agent process only: the host stays up and keeps whatever address it held
 * (nobody is left to remove it). The tests therefore compare the holders among running agents
 * with placement, and report the addresses left behind by killed agents as "double" time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import { ClientProbe, handover, longestGap } from '../../src/testing/netns/client-probe.js';
import {
  FAST_TIMING,
  FlipCluster,
  type FlipTiming,
  readmeCluster,
  type SystemSpec,
} from '../../src/testing/netns/flip-lab.js';
import { createLab, type Lab, netnsTestSkip, requireNetns } from '../../src/testing/netns/harness.js';
import { HolderMonitor, nowMs, summaryTable } from '../../src/testing/netns/holder-monitor.js';
import { FLIP_SOURCE_BIN, PACKAGE_ROOT } from '../../src/testing/paths.js';
import { seeded } from '../../src/testing/seeded.js';
import { README_TIMING } from '../../src/testing/timing.js';
import { sleep } from '../../src/testing/wait.js';

const TOOLS = ['ip', 'nft', 'arping'];
const skip = netnsTestSkip(TOOLS);
/**
 * The two checks below guard flip bugs these tests found and that are now fixed (a stale ARP
 * after a heal; false quorums when a total partition heals). They are asserted by default;
 * FLIP_E2E_STRICT=0 only reports them, for bisecting.
 */
const STRICT = process.env.FLIP_E2E_STRICT !== '0';

/**
 * A VIP that a cut-off or partitioned server kept while the others moved it elsewhere comes back
 * to it after the heal: the temporary holder runs `down`, but the rightful holder runs no `alive`
 * (in its own view nothing changed), so nobody sends a gratuitous ARP and the client keeps the
 * temporary holder's MAC. If the client's last exchange through the temporary holder confirmed
 * its neighbour entry, the entry stays REACHABLE for the kernel's reachable time (15-45 s) and then
 * needs about 5 s DELAY + 3 unicast probes before a broadcast finds the holder: a blackhole of up
 * to ~50 s. Fixed twice over: the holder, told it had been declared down, runs `alive` again;
 * and the temporary holder, after its `down`, sends the holder a `released` notice, on which it
 * runs `alive` again (the holder need not have heard that it was declared down: it may have
 * raised its incarnation for another reason first).
 */
const STALE_ARP_NOTE =
  'the holder kept the VIP through a cut-off/partition and did not re-announce it after the heal';

const round = (ms: number) => Math.round(ms);

/**
 * Waits until the VIPs are where placement says for the running agents (holders among running
 * agents; killed agents may keep stale copies) and the client reaches every placed VIP at its
 * holder. Returns the time it took.
 */
async function settle(cluster: FlipCluster, timeoutMs = 15_000): Promise<number> {
  const started = nowMs();
  const running = cluster.runningIds();
  await cluster.waitForPlacement({ among: running, timeoutMs });
  const expected = cluster.expected();
  await Promise.all(
    [...expected]
      .filter(([, holders]) => holders.length === 1)
      .map(([vip, [holder]]) => cluster.waitClientReaches(vip, holder!, timeoutMs)),
  );
  return nowMs() - started;
}

/**
 * Waits until no agent has started or finished a script for `quietMs` (longer than a vip-up run):
 * the announcements that follow a hand-back are done, so a test that wants "no script runs" from
 * now on measures only what it causes.
 */
async function scriptsQuiet(cluster: FlipCluster, quietMs = 2500, timeoutMs = 15_000): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const last = cluster
      .entries({ since: nowMs() - 60_000 })
      .filter((entry) => entry.msg === 'script started' || entry.msg === 'script finished')
      .at(-1);
    if (last === undefined || nowMs() - last.at >= quietMs) return;
    if (nowMs() > deadline) throw new Error(`scripts still running ${timeoutMs} ms later`);
    await sleep(200);
  }
}

/** What the logs say happened after `since`: member changes, plans, script runs, in short. */
function story(cluster: FlipCluster, since: number): string {
  return cluster
    .entries({ since })
    .filter((entry) => ['member state', 'plan', 'script started', 'script finished'].includes(entry.msg))
    .map((entry) => {
      const f = entry.fields;
      const at = `+${round(entry.at - since)}ms ${entry.server}`;
      if (entry.msg === 'member state') return `${at} sees ${f.member} ${f.from}->${f.to} (${f.reason})`;
      if (entry.msg === 'plan') return `${at} plan ${JSON.stringify(f.desired)}`;
      if (entry.msg === 'script started') return `${at} ${f.event} ${f.item} started`;
      return `${at} ${f.event} ${f.item} finished in ${f.duration_ms} ms`;
    })
    .join('\n');
}

/** The first log entry after `since` matching `match`. */
function firstEntry(
  cluster: FlipCluster,
  since: number,
  match: (fields: Record<string, unknown>) => boolean,
) {
  return cluster
    .entries({ since })
    .find((entry) => match({ msg: entry.msg, server: entry.server, ...entry.fields }));
}

/**
 * Member `down` decisions after `since` (a total partition must not produce any): reported as
 * diagnostics and asserted. flip used to declare servers down for a few ms when a total partition
 * healed (the reports each server made alone during the partition met and counted as a quorum);
 * now a server reports only what servers it can hear could confirm.
 */
function reportFalseDowns(t: TestContext, cluster: FlipCluster, since: number): void {
  const downs = cluster
    .entries({ msg: 'member state', since })
    .filter((entry) => entry.fields.to === 'down' || entry.fields.to === 'left');
  for (const entry of downs) {
    const back = cluster
      .entries({ server: entry.server, msg: 'member state', since: entry.at })
      .find((later) => later.fields.member === entry.fields.member && later.fields.to === 'alive');
    t.diagnostic(
      `false down: ${entry.server} declared ${entry.fields.member} ${entry.fields.to} (${entry.fields.reason}) ` +
        `${round(entry.at - since)} ms after the partition began; alive again ${back ? `${round(back.at - entry.at)} ms later` : 'never'}`,
    );
  }
  if (STRICT) assert.deepEqual(downs, [], 'a server was declared down');
}

// ---------------------------------------------------------------------------------------------------
// The README cluster: flip, flip1 (priority 1), flip2 (arbiter), a shard of two VIPs.

const README_SERVERS = ['flip', 'flip1', 'flip2'];

describe('the README cluster on a real network (gossip 200 ms, timeout 500 ms, delay 200 ms)', {
  skip,
  timeout: 240_000,
}, () => {
  let lab: Lab | undefined;
  let cluster: FlipCluster;
  let monitor: HolderMonitor;
  /** flip1's VIP (item 0) and flip's VIP (item 1). */
  let vip1 = '';
  let vip0 = '';

  before(async () => {
    requireNetns(TOOLS);
    lab = await createLab({ servers: README_SERVERS });
    cluster = readmeCluster(lab, FAST_TIMING);
    [vip1, vip0] = cluster.vips as [string, string];
    await cluster.startHttpServers();
    monitor = await HolderMonitor.start(lab, cluster.vips);
    await cluster.startAll();
  });

  after(async () => {
    await lab?.destroy();
  });

  it("all up: the README's split, and the client reaches each VIP at its owner", async (t) => {
    // Placement: data sorted, item i -> member i mod n, members by priority: flip1, flip.
    assert.deepEqual(
      Object.fromEntries(cluster.expected(README_SERVERS)),
      { [vip1]: ['flip1'], [vip0]: ['flip'] },
      'placement of the README example',
    );
    // `flip plan --json` agrees.
    const plan = JSON.parse(
      execFileSync(
        process.execPath,
        ['--import', 'tsx', FLIP_SOURCE_BIN, 'plan', cluster.configFile('flip'), '--json'],
        {
          cwd: PACKAGE_ROOT,
          encoding: 'utf8',
        },
      ),
    ) as { systems: Record<string, Record<string, string[]>> };
    assert.deepEqual(plan.systems.ip, { flip: [vip0], flip1: [vip1], flip2: [] });
    const took = await cluster.waitForPlacement({ timeoutMs: 15_000 });
    assert.equal(await lab!.clientGet(vip1), 'flip1');
    assert.equal(await lab!.clientGet(vip0), 'flip');
    assert.deepEqual(monitor.holders(vip1), ['flip1']);
    assert.deepEqual(monitor.holders(vip0), ['flip']);
    t.diagnostic(`VIPs placed ${round(took)} ms after the agents had started`);
  });

  it('kill -9 flip1: its VIP moves to flip, and the client follows through gratuitous ARP (no ARP flush)', async (t) => {
    const [macFlip, macFlip1] = [await lab!.mac('flip'), await lab!.mac('flip1')];
    assert.equal(await lab!.clientGet(vip1), 'flip1');
    assert.equal(
      (await lab!.neighbour('client', vip1))?.lladdr,
      macFlip1,
      "client's ARP entry before the move",
    );
    const probe = new ClientProbe(lab!, vip1, { everyMs: 10, timeoutMs: 200 }).start();
    await sleep(200);
    const killedAt = nowMs();
    await cluster.kill9('flip1');
    await cluster.waitForPlacement({ among: cluster.runningIds(), timeoutMs: 10_000 });
    assert.deepEqual(Object.fromEntries(cluster.expected()), { [vip1]: ['flip'], [vip0]: ['flip'] });
    await cluster.waitClientReaches(vip1, 'flip', 5000);
    await sleep(300);
    const samples = await probe.stop();

    const moved = monitor.events.find(
      (event) => event.at >= killedAt && event.server === 'flip' && event.vip === vip1 && event.added,
    );
    assert.ok(moved, `no address event for ${vip1} on flip`);
    const firstNew = samples.find(
      (sample) => sample.ok && sample.body === 'flip' && sample.doneAt >= moved.at,
    );
    assert.ok(firstNew, 'the client never reached flip through the VIP');
    const followMs = firstNew.doneAt - moved.at;
    assert.ok(
      followMs <= 1000,
      `the client reached flip ${round(followMs)} ms after the address moved (> 1 s)`,
    );
    assert.equal(
      (await lab!.neighbour('client', vip1))?.lladdr,
      macFlip,
      "the client's ARP entry for the VIP does not show flip's MAC",
    );
    const down = firstEntry(
      cluster,
      killedAt,
      (f) => f.msg === 'member state' && f.member === 'flip1' && f.to === 'down',
    );
    t.diagnostic(
      `kill -9 -> flip1 down (quorum) ${round(down!.at - killedAt)} ms; address on flip ${round(moved.at - killedAt)} ms; ` +
        `client answered by flip ${round(firstNew.doneAt - killedAt)} ms (${round(followMs)} ms after the address moved)`,
    );
    t.diagnostic(
      `flip1's namespace still holds ${vip1} (its agent is dead): holders now ${monitor.holders(vip1)}`,
    );
    for (const line of story(cluster, killedAt).split('\n')) t.diagnostic(line);
  });

  it('flip1 restarted: its VIP returns to flip1', async (t) => {
    const startedAt = nowMs();
    await cluster.start('flip1');
    const took = await cluster.waitForPlacement({ timeoutMs: 15_000 });
    await cluster.waitClientReaches(vip1, 'flip1', 5000);
    assert.deepEqual(monitor.holders(vip1), ['flip1']);
    assert.deepEqual(monitor.holders(vip0), ['flip']);
    t.diagnostic(
      `back on flip1 ${round(nowMs() - startedAt)} ms after the restart (placement ${round(took)} ms)`,
    );
  });

  it('SIGTERM of an owner: the client, probing every 10 ms, sees at most a brief gap', async (t) => {
    await settle(cluster);
    const probe = new ClientProbe(lab!, vip1, { everyMs: 10, timeoutMs: 200 }).start();
    await sleep(500);
    const stoppedAt = nowMs();
    const exit = await cluster.terminate('flip1');
    assert.equal(exit.code, 0, 'flip1 did not exit 0 on SIGTERM');
    await cluster.waitClientReaches(vip1, 'flip', 5000);
    await sleep(500);
    const end = nowMs();
    const samples = await probe.stop();
    const move = handover(samples, 'flip1', 'flip', stoppedAt - 50);
    assert.ok(move, 'no hand-over seen by the client');
    const gap = longestGap(samples, stoppedAt - 200, end);
    const failed = samples.filter((sample) => !sample.ok && sample.sentAt >= stoppedAt).length;
    t.diagnostic(
      `graceful hand-over: outage ${round(move.outageMs)} ms (last answer by flip1 -> first by flip), ` +
        `longest gap between answers ${round(gap.ms)} ms, ${failed} failed probes of ${samples.length}`,
    );
    for (const line of story(cluster, stoppedAt).split('\n')) t.diagnostic(line);
    assert.ok(move.outageMs < 1000, `outage ${round(move.outageMs)} ms`);
    assert.ok(gap.ms < 1000, `gap ${round(gap.ms)} ms`);
    assert.ok(
      cluster
        .entries({ server: 'flip1', msg: 'script started', since: stoppedAt })
        .some((e) => e.fields.event === 'down'),
      'flip1 ran no down script on SIGTERM',
    );
    assert.deepEqual(monitor.holders(vip1), ['flip'], 'flip1 removed its address');
    // keep without a lease program has no fence: flip1 says it left only once its `down` is done
    // (LeaveOrder drain_first), so flip's `alive` never adds the address while flip1 has it.
    const [moved] = monitor.summary(stoppedAt - 50, end).filter((row) => row.vip === vip1);
    t.diagnostic(`${vip1} on two hosts during the hand-over: ${JSON.stringify(moved?.double)}`);
    assert.equal(moved?.double.count, 0, `${vip1} was on two hosts during the graceful hand-over`);
    await cluster.start('flip1');
    await cluster.waitForPlacement({ timeoutMs: 15_000 });
  });

  it('total partition for 10 s: nothing moves, during or after', async (t) => {
    await settle(cluster);
    await cluster.waitForPlacement({ timeoutMs: 5000 });
    await scriptsQuiet(cluster);
    const mark = nowMs();
    const eventsBefore = monitor.events.length;
    // Every server alone; the client in no group, so it still reaches everybody.
    await lab!.partition(README_SERVERS.map((server) => [server]));
    const until = nowMs() + 10_000;
    let checks = 0;
    while (nowMs() < until) {
      assert.equal(await lab!.clientGet(vip1, 300), 'flip1');
      assert.equal(await lab!.clientGet(vip0, 300), 'flip');
      checks++;
      await sleep(400);
    }
    await lab!.healAll();
    await sleep(3000);
    const newEvents = monitor.events.slice(eventsBefore);
    assert.deepEqual(newEvents, [], 'a VIP changed holder');
    const scripts = cluster.entries({ msg: 'script started', since: mark });
    assert.deepEqual(scripts, [], 'a script ran');
    const suspicions = cluster
      .entries({ msg: 'member state', since: mark })
      .filter((entry) => entry.fields.to === 'probably_down').length;
    reportFalseDowns(t, cluster, mark);
    await cluster.waitForPlacement({ timeoutMs: 2000 });
    t.diagnostic(`${checks} client checks during the partition; ${suspicions} probably_down transitions`);
  });

  it('flip1 cut off from the other servers: its VIP moves to flip, and after the heal the client follows it back', {
    todo: STRICT ? false : `was a flip bug: ${STALE_ARP_NOTE}`,
  }, async (t) => {
    await settle(cluster);
    // flip1 alone, the client in no group: flip and flip2 declare flip1 down and take its VIP over
    // (flip's gratuitous ARP moves the client); flip1 cannot declare anybody down and keeps it.
    await lab!.partition([['flip1'], ['flip', 'flip2']]);
    const moved = await cluster.waitClientReaches(vip1, 'flip', 10_000);
    assert.deepEqual(monitor.holders(vip1), ['flip', 'flip1'], 'flip1 keeps its VIP while cut off');
    await sleep(1000);
    const healedAt = nowMs();
    await lab!.healAll();
    // flip1 was declared down and refutes: it holds down (hold_down) before its VIP returns.
    await cluster.waitForPlacement({ timeoutMs: DEFAULTS.hold_down_ms + 10_000 });
    t.diagnostic(
      `client at flip ${round(moved)} ms after the partition; back on flip1 alone ${round(nowMs() - healedAt)} ms after the heal`,
    );
    const entry = await lab!.neighbour('client', vip1);
    const macs = new Map([
      [await lab!.mac('flip'), 'flip'],
      [await lab!.mac('flip1'), 'flip1'],
    ]);
    t.diagnostic(
      `client's ARP entry for ${vip1} after the heal: ${macs.get(entry?.lladdr ?? '') ?? entry?.lladdr} ${entry?.state}`,
    );
    for (const line of story(cluster, healedAt).split('\n')) t.diagnostic(line);
    const took = await cluster.waitClientReaches(vip1, 'flip1', 5000);
    t.diagnostic(`the client reached flip1 ${round(took)} ms after the VIP was back on flip1 alone`);
  });
});

// ---------------------------------------------------------------------------------------------------
// The same story at the README's own timing (gossip 1000 ms, 3 pings per round, timeout 1500 ms).

describe('the README cluster at the README timing (1000 / 3 / 1500, delay 500)', {
  skip,
  timeout: 180_000,
}, () => {
  let lab: Lab | undefined;

  before(async () => {
    requireNetns(TOOLS);
    lab = await createLab({ servers: README_SERVERS });
  });

  after(async () => {
    await lab?.destroy();
  });

  it('all up, kill -9 flip1, restart it, total partition: the README story', async (t) => {
    const cluster = readmeCluster(lab!, README_TIMING);
    const [vip1, vip0] = cluster.vips as [string, string];
    await cluster.startHttpServers();
    const monitor = await HolderMonitor.start(lab!, cluster.vips);
    await cluster.startAll();
    await cluster.waitForPlacement({ timeoutMs: 20_000 });
    assert.equal(await lab!.clientGet(vip1), 'flip1');
    assert.equal(await lab!.clientGet(vip0), 'flip');

    const killedAt = nowMs();
    await cluster.kill9('flip1');
    await cluster.waitForPlacement({ among: cluster.runningIds(), timeoutMs: 20_000 });
    const reached = await cluster.waitClientReaches(vip1, 'flip', 5000);
    const down = firstEntry(
      cluster,
      killedAt,
      (f) => f.msg === 'member state' && f.member === 'flip1' && f.to === 'down',
    );
    t.diagnostic(
      `kill -9 flip1 -> down ${round(down!.at - killedAt)} ms, client reaches flip ${round(nowMs() - killedAt)} ms (${round(reached)} ms of waiting)`,
    );

    const restartedAt = nowMs();
    await cluster.start('flip1');
    await cluster.waitForPlacement({ timeoutMs: 20_000 });
    await cluster.waitClientReaches(vip1, 'flip1', 5000);
    t.diagnostic(`flip1 holds its VIP again ${round(nowMs() - restartedAt)} ms after its restart`);

    await scriptsQuiet(cluster);
    const mark = nowMs();
    const eventsBefore = monitor.events.length;
    await lab!.partition(README_SERVERS.map((server) => [server]));
    await sleep(10_000);
    assert.equal(await lab!.clientGet(vip1, 500), 'flip1');
    assert.equal(await lab!.clientGet(vip0, 500), 'flip');
    await lab!.healAll();
    await sleep(5000);
    assert.deepEqual(monitor.events.slice(eventsBefore), [], 'a VIP changed holder');
    assert.deepEqual(cluster.entries({ msg: 'script started', since: mark }), [], 'a script ran');
    reportFalseDowns(t, cluster, mark);
    await cluster.waitForPlacement({ timeoutMs: 2000 });
  });
});

// ---------------------------------------------------------------------------------------------------
// Five servers, two systems, one arbiter.

const FIVE = ['s1', 's2', 's3', 's4', 's5'];

function fiveServerCluster(
  lab: Lab,
  timing: FlipTiming = FAST_TIMING,
  safety: Pick<SystemSpec, 'lease' | 'no_quorum_policy'> = {},
): FlipCluster {
  return new FlipCluster(lab, {
    servers: {
      s1: { priority: 1, systems: ['web'] },
      s2: { priority: 2, systems: ['web', 'db'] },
      s3: { priority: 3, systems: ['web'] },
      s4: { priority: 4, systems: ['web', 'db'] },
      s5: {},
    },
    systems: {
      web: { type: 'shard', data: [lab.vip(0), lab.vip(1), lab.vip(2), lab.vip(3)], ...safety },
      db: { type: 'single', data: [lab.vip(4)], ...safety },
    },
    timing,
  });
}

describe('five servers, a shard of 4 VIPs and a single VIP, one arbiter', { skip, timeout: 180_000 }, () => {
  let lab: Lab | undefined;
  let cluster: FlipCluster;
  let monitor: HolderMonitor;

  before(async () => {
    requireNetns(TOOLS);
    lab = await createLab({ servers: FIVE });
    cluster = fiveServerCluster(lab);
    await cluster.startHttpServers();
    monitor = await HolderMonitor.start(lab, cluster.vips);
    await cluster.startAll();
  });

  after(async () => {
    await lab?.destroy();
  });

  /** Placement for the running agents, checked on the network and through the client. */
  async function step(t: TestContext, what: string, expected: Record<string, string[]>): Promise<void> {
    const started = nowMs();
    assert.deepEqual(Object.fromEntries(cluster.expected()), expected, `placement after: ${what}`);
    await cluster.waitForPlacement({ among: cluster.runningIds(), timeoutMs: 15_000 });
    const placed = nowMs() - started;
    await settle(cluster);
    // Each VIP: its holder serves it; killed agents' namespaces hold nothing new.
    for (const [vip, [holder]] of Object.entries(expected)) {
      assert.equal(await lab!.clientGet(vip), holder, `client through ${vip}`);
    }
    const stale = [...(await cluster.holdersNow())]
      .map(([vip, holders]) => [vip, holders.filter((id) => !cluster.running(id))] as const)
      .filter(([, holders]) => holders.length > 0)
      .map(([vip, holders]) => `${vip} on ${holders.join('+')}`);
    t.diagnostic(
      `${what}: placed ${round(placed)} ms, client reaches all ${round(nowMs() - started)} ms` +
        (stale.length > 0 ? `; left behind by killed agents: ${stale.join(', ')}` : ''),
    );
  }

  it('kill two servers one after the other, then bring them back', async (t) => {
    const [w0, w1, w2, w3, d0] = [0, 1, 2, 3, 4].map((i) => lab!.vip(i)) as [
      string,
      string,
      string,
      string,
      string,
    ];
    await cluster.waitForPlacement({ timeoutMs: 20_000 });
    await step(t, 'all up', { [w0]: ['s1'], [w1]: ['s2'], [w2]: ['s3'], [w3]: ['s4'], [d0]: ['s2'] });

    await cluster.kill9('s2');
    const heldByS2 = ['s2'];
    await step(t, 'kill -9 s2', { [w0]: ['s1'], [w1]: ['s1'], [w2]: ['s3'], [w3]: ['s4'], [d0]: ['s4'] });

    await cluster.kill9('s1');
    await step(t, 'kill -9 s1', { [w0]: ['s3'], [w1]: ['s4'], [w2]: ['s3'], [w3]: ['s4'], [d0]: ['s4'] });
    // Killed agents keep what they held, and only that.
    const now = await cluster.holdersNow();
    assert.deepEqual(
      [...now].filter(([, holders]) => holders.includes('s1')).map(([vip]) => vip),
      [w0, w1],
      's1 left behind exactly what it held when killed',
    );
    assert.deepEqual(
      [...now].filter(([, holders]) => holders.some((id) => heldByS2.includes(id))).map(([vip]) => vip),
      [w1, d0].sort(),
      's2 left behind exactly what it held when killed',
    );

    await cluster.start('s1');
    await step(t, 's1 back', { [w0]: ['s1'], [w1]: ['s1'], [w2]: ['s3'], [w3]: ['s4'], [d0]: ['s4'] });

    await cluster.start('s2');
    await step(t, 's2 back', { [w0]: ['s1'], [w1]: ['s2'], [w2]: ['s3'], [w3]: ['s4'], [d0]: ['s2'] });
    // Everybody up: exactly one holder per VIP, on every namespace.
    await cluster.waitForPlacement({ timeoutMs: 10_000 });
    for (const vip of cluster.vips)
      assert.equal(monitor.holders(vip).length, 1, `${vip}: ${monitor.holders(vip)}`);
  });
});

// ---------------------------------------------------------------------------------------------------
// Chaos: random faults on the five-server cluster.

type FaultKind = 'kill9' | 'sigterm' | 'restart' | 'cutOff' | 'partition' | 'heal' | 'freeze';

interface FaultRecord {
  n: number;
  kind: FaultKind;
  target: string;
  /** ms since the chaos run began. */
  at: number;
}

interface ReachRecord {
  after: string;
  at: number;
  /** Per VIP: ms from the heal until the client was answered by the placed holder (null: not within the bound). */
  vips: Record<string, number | null>;
}

/** Faults of the keep chaos run (FLIP_CHAOS_FAULTS); the release run takes the issue's 50 (FLIP_CHAOS_RELEASE_FAULTS). */
const CHAOS_FAULTS = Number(process.env.FLIP_CHAOS_FAULTS ?? 15);
/** After a missed bound, how much longer to wait to see when the client gets through. */
const LATE_LIMIT_MS = 5000;

/**
 * The bound after a heal, from the timing: a failure is detected within 2 probe rounds plus the
 * timeout per reporter, and up to 3 such rounds pass before a quorum of reports meets (or a
 * rejoining server is heard and refutes): 2 x (ping_timeout + gossip_interval) x 3; then the
 * plan delay; then up to two script runs (a plan waits for the running one, and vip-up takes
 * about 1.3 s with arp_count 3: iputils arping waits out its 1 s deadline).
 */
function reachBoundMs(timing: FlipTiming): number {
  const interval = timing.gossip_interval ?? DEFAULTS.gossip_interval_ms;
  const timeout = timing.ping_timeout ?? DEFAULTS.ping_timeout_ms;
  const delay = timing.delay ?? DEFAULTS.delay_ms;
  return 2 * (timeout + interval) * 3 + delay + 2 * 1500;
}

/**
 * The chaos runs: flip's default policy (`keep`: two holders while a holder is cut off are
 * reported, not asserted), and `release` with the shipped vip-lease, where the promise is that no
 * VIP is ever on two hosts (docs/SAFETY.md): asserted over every sample of the holder monitor, with
 * SIGSTOPs of agents among the faults too.
 */
const CHAOS_VARIANTS = [
  { name: 'keep', faults: CHAOS_FAULTS, safety: {}, freeze: false, noDouble: false },
  {
    name: 'release + vip-lease',
    faults: Number(process.env.FLIP_CHAOS_RELEASE_FAULTS ?? 50),
    safety: { lease: true, no_quorum_policy: 'release' as const },
    freeze: true,
    noDouble: true,
  },
];

for (const variant of CHAOS_VARIANTS)
  describe(`chaos (${variant.name}): random faults on five servers`, { skip, timeout: 600_000 }, () => {
    let lab: Lab | undefined;

    before(async () => {
      requireNetns(TOOLS);
      lab = await createLab({ servers: FIVE });
    });

    after(async () => {
      await lab?.destroy();
    });

    it(`${variant.faults} seeded faults: every VIP reachable within the bound after every heal${variant.noDouble ? ', never on two hosts' : ''}`, async (t) => {
      const seed = process.env.FLIP_CHAOS_SEED ? Number(process.env.FLIP_CHAOS_SEED) : randomInt(2 ** 31);
      t.diagnostic(`chaos seed ${seed} (FLIP_CHAOS_SEED=${seed} replays the fault sequence)`);
      // Seeded, so that a seed replays the same fault sequence.
      const random = seeded(seed);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const cluster = fiveServerCluster(lab!, FAST_TIMING, variant.safety);
      // A server back after being declared down holds down (hold_down) before its VIPs return to
      // it; under a fence, a takeover also waits for the gone holder's fence (about 1.7 s).
      const bound = reachBoundMs(FAST_TIMING) + DEFAULTS.hold_down_ms + (variant.safety.lease ? 2000 : 0);
      await cluster.startHttpServers();
      // With leases, a host holds a VIP while it answers for it: the address there and, with the
      // nftables fence, its lease element lasting.
      const monitor = await HolderMonitor.start(lab!, cluster.vips, {
        answering: variant.safety.lease === true,
      });
      await cluster.startAll();
      await cluster.waitForPlacement({ timeoutMs: 20_000 });
      await settle(cluster);

      const began = nowMs();
      const faults: FaultRecord[] = [];
      const reaches: ReachRecord[] = [];
      const violations: string[] = [];
      const staleArps: string[] = [];
      const cut = new Set<string>();
      let partitioned: string[][] | undefined;

      const macs = new Map(
        await Promise.all(cluster.ids.map(async (id) => [await lab!.mac(id), id] as const)),
      );
      /** The client's neighbour entry for a VIP: which server's MAC, and its state. */
      async function arpEntry(vip: string): Promise<{ server?: string; state: string }> {
        const entry = await lab!.neighbour('client', vip);
        if (!entry) return { state: 'no entry' };
        const server = macs.get(entry.lladdr ?? '');
        return { ...(server ? { server } : {}), state: `${entry.lladdr ?? ''} ${entry.state.join(',')}` };
      }

      /** After a heal: every VIP with a live member answers from its placed holder within the bound. */
      async function checkReach(after: string): Promise<void> {
        const healedAt = nowMs();
        const expected = cluster.expected();
        const record: ReachRecord = { after, at: round(healedAt - began), vips: {} };
        await Promise.all(
          [...expected].map(async ([vip, holders]) => {
            if (holders.length !== 1) return;
            const holder = holders[0]!;
            try {
              await cluster.waitClientReaches(vip, holder, bound);
              record.vips[vip] = round(nowMs() - healedAt);
              return;
            } catch {
              record.vips[vip] = null;
            }
            // Not within the bound: what does the network look like, and when does it recover?
            const held = monitor.holders(vip);
            const arp = await arpEntry(vip);
            const recovered = await cluster
              .waitClientReaches(vip, holder, LATE_LIMIT_MS)
              .then(() => `${round(nowMs() - healedAt)} ms after the heal`)
              .catch(() => `not within ${round(nowMs() - healedAt)} ms`);
            const what =
              `${after}: ${vip} not answered by ${holder} within ${bound} ms; held by ${held.join('+') || 'nobody'}; ` +
              `client's ARP entry: ${arp.server ?? 'none'} ${arp.state}; answered by ${holder} ${recovered}`;
            // The placed server holds the VIP but the client still has the MAC of another server (which
            // released it, or is a killed agent's leftover): the holder never announced itself again
            // (see STALE_ARP_NOTE).
            const staleArp = held.includes(holder) && arp.server !== undefined && arp.server !== holder;
            const leftover =
              arp.server !== undefined && held.includes(arp.server)
                ? ` (${arp.server} still holds it: a killed agent's leftover)`
                : '';
            (staleArp ? staleArps : violations).push(`${what}${leftover}`);
          }),
        );
        reaches.push(record);
      }

      for (let n = 1; n <= variant.faults; n++) {
        const running = cluster.runningIds();
        const dead = cluster.ids.filter((id) => !cluster.running(id));
        // At most two servers out (dead or cut off), so that three can always form a quorum.
        const out = new Set([...dead, ...cut]).size;
        const options: Array<[FaultKind, number]> = [];
        if (out < 2) options.push(['kill9', 2], ['sigterm', 2], ['cutOff', 1.5]);
        if (out < 2 && variant.freeze) options.push(['freeze', 2]);
        if (dead.length > 0) options.push(['restart', 3]);
        options.push(['partition', 1.5]);
        if (cut.size > 0 || partitioned) options.push(['heal', 2.5]);
        let roll = random() * options.reduce((sum, [, weight]) => sum + weight, 0);
        let kind = options[0]![0];
        for (const [candidate, weight] of options) {
          roll -= weight;
          if (roll < 0) {
            kind = candidate;
            break;
          }
        }
        let target = '';
        switch (kind) {
          case 'kill9':
            target = pick(running.filter((id) => !cut.has(id)));
            await cluster.kill9(target);
            break;
          case 'sigterm':
            target = pick(running.filter((id) => !cut.has(id)));
            await cluster.terminate(target);
            break;
          case 'restart':
            target = pick(dead);
            await cluster.start(target);
            break;
          case 'freeze': {
            // SIGSTOP of the agent alone (its host and vip-lease run on), 1 to 5 s, then SIGCONT.
            target = pick(running.filter((id) => !cut.has(id)));
            cluster.freeze(target, true);
            await sleep(1000 + Math.floor(random() * 4000));
            cluster.freeze(target, false);
            break;
          }
          case 'cutOff':
            target = pick(cluster.ids.filter((id) => !cut.has(id) && cluster.running(id)));
            await lab!.cutOff(target);
            cut.add(target);
            break;
          case 'partition': {
            const shuffled = [...cluster.ids].sort(() => random() - 0.5);
            partitioned = [shuffled.slice(0, 3).sort(), shuffled.slice(3).sort()];
            target = partitioned.map((group) => group.join('+')).join(' | ');
            await lab!.partition(partitioned);
            break;
          }
          case 'heal':
            target = [...cut, ...(partitioned ? ['partition'] : [])].join(',');
            await lab!.healAll();
            cut.clear();
            partitioned = undefined;
            break;
        }
        faults.push({ n, kind, target, at: round(nowMs() - began) });
        if (kind === 'heal') await checkReach(`fault ${n} (heal ${target})`);
        await sleep(1000 + Math.floor(random() * 3000));
      }

      // The end: heal everything, bring every agent back.
      await lab!.healAll();
      cut.clear();
      const dead = cluster.ids.filter((id) => !cluster.running(id));
      await Promise.all(dead.map((id) => cluster.start(id)));
      faults.push({
        n: variant.faults + 1,
        kind: 'heal',
        target: `all; restart ${dead.join(',') || 'none'}`,
        at: round(nowMs() - began),
      });
      await checkReach('the end');
      await cluster.waitForPlacement({ timeoutMs: 15_000 });
      await sleep(1000);
      const ended = nowMs();

      const summary = monitor.summary(began, ended);
      const labels = new Map(cluster.vips.map((vip) => [vip, cluster.systemOf(vip).name]));
      const table = summaryTable(summary, labels);
      const intervals = Object.fromEntries(
        cluster.vips.map((vip) => {
          const { double, none } = monitor.intervals(vip, began, ended);
          const rel = (list: typeof double) =>
            list.map((i) => ({ start: round(i.start - began), ms: round(i.ms), holders: i.holders }));
          return [vip, { system: labels.get(vip), double: rel(double), none: rel(none) }];
        }),
      );
      const file = `/tmp/flip-chaos-${variant.name.replace(/\W+/g, '-')}-${seed}.json`;
      writeFileSync(
        file,
        `${JSON.stringify(
          {
            seed,
            date: new Date().toISOString(),
            timing: FAST_TIMING,
            boundMs: bound,
            durationMs: round(ended - began),
            faults,
            reaches,
            violations,
            staleArps,
            summary,
            intervals,
            monitorChecks: { checks: monitor.checks, mismatches: monitor.mismatches },
            logs: cluster.dir,
          },
          null,
          2,
        )}\n`,
      );
      t.diagnostic(
        `faults: ${faults.map((f) => `${f.n}:${f.kind}${f.target ? `(${f.target})` : ''}`).join(' ')}`,
      );
      t.diagnostic(
        `double / none holder intervals over ${round((ended - began) / 1000)} s (reported, not asserted):`,
      );
      for (const line of table.split('\n')) t.diagnostic(line);
      const reachTimes = reaches.flatMap((r) => Object.values(r.vips).filter((v): v is number => v !== null));
      t.diagnostic(
        `after ${reaches.length} heals, slowest VIP reached in ${Math.max(0, ...reachTimes)} ms (bound ${bound} ms); ` +
          `monitor cross-checks ${monitor.checks}, mismatches ${monitor.mismatches}, lines arrived after their stamps by ` +
          `p50 ${round(monitor.lateness().p50)} ms, max ${round(monitor.lateness().max)} ms; details in ${file}, agent logs in ${cluster.dir}`,
      );

      for (const line of staleArps) t.diagnostic(`stale ARP (known flip bug, ${STALE_ARP_NOTE}): ${line}`);
      for (const line of violations) t.diagnostic(`not reachable: ${line}`);

      // Everything healed and every agent up: exactly one holder per VIP, where placement says.
      for (const vip of cluster.vips) {
        assert.deepEqual(monitor.holders(vip), cluster.expected(cluster.ids).get(vip), `${vip} at the end`);
      }
      assert.deepEqual(violations, [], `VIPs not reachable within ${bound} ms after a heal`);
      if (variant.noDouble) {
        const doubles = Object.entries(intervals).flatMap(([vip, { double }]) =>
          double.map((i) => `${vip}: ${i.holders.join('+')} for ${i.ms} ms at ${i.start} ms`),
        );
        t.diagnostic(`moments with a VIP on two hosts: ${doubles.length}`);
        // What the monitor saw around each (stamped by each host's ip monitor, and when the line
        // arrived here), with wall-clock times to find it in the agents' logs.
        const wall = (at: number) => new Date(at).toISOString();
        for (const vip of cluster.vips)
          for (const interval of monitor.intervals(vip, began, ended).double) {
            t.diagnostic(
              `${vip} on ${interval.holders.join('+')} from ${wall(interval.start)} for ${round(interval.ms)} ms:`,
            );
            for (const event of monitor.eventsOf(vip, interval.start - 3000, interval.end + 1000))
              t.diagnostic(
                `  ${wall(event.at)} ${event.server} ${event.added ? 'added' : 'deleted'} (line arrived ${round(event.arrived - event.at)} ms later)`,
              );
          }
        assert.deepEqual(doubles, [], 'under release with vip-lease no VIP is ever on two hosts');
      }
      if (STRICT) {
        assert.deepEqual(staleArps, [], `VIPs not reachable within ${bound} ms after a heal (stale ARP)`);
      }
    });
  });
