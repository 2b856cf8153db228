/**
 * Whole clusters of RaftNodes under seeded random schedules (testing.ts): message delay, loss and
 * duplication, partitions, crashes (some in the middle of a call's effects) and restarts with the
 * stored state kept, failure-detector verdicts (right and wrong), client proposals through random
 * servers, and server changes. The checkers (checkers.ts) run after every step; after the chaos
 * the network heals and every server comes back, and every server of the final config must reach
 * the same committed version in a bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigChange } from '../../src/changes/index.js';
import { serverIdsOf } from '../../src/consensus/log-change.js';
import { TestCluster } from '../../src/consensus/testing.js';
import { Random } from '../../src/sim/random.js';

const CHAOS_MS = 3000;
const STEP_MS = 50;
/** After healing: an election (at most a few timeouts) and a few round trips. */
const LIVENESS_BOUND_MS = 5000;

interface ScheduleResult {
  acknowledged: number;
  /** From healing to every server of the final config on the same version, the last change in (ms). */
  converged_ms: number;
  version: number;
  messages: number;
}

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `s${i + 1}`);
}

function dataOf(config: { [key: string]: unknown }): string[] {
  const cluster = config.cluster as { system: { vip: { data: string[] } } };
  return cluster.system.vip.data;
}

/** Adds `id` back with the address the base config gave it, a member of `vip` again. */
function serverAdd(id: string): ConfigChange {
  const port = 2200 + Number(id.slice(1)) - 1;
  return { kind: 'server_add', id, ip: '127.0.0.1', port, systems: ['vip'], base_version: 0 };
}

const NETWORKS = {
  lan: { delay_ms_min: 1, delay_ms_max: 15, loss: 0.05, duplicate: 0.02 },
  /** A fifth of messages lost, delays up to 40 ms (an eighth of the longest election timeout). */
  lossy: { delay_ms_min: 1, delay_ms_max: 40, loss: 0.2, duplicate: 0.05 },
} as const;

function runSchedule(
  seed: number,
  n: number,
  server_changes: boolean,
  network: keyof typeof NETWORKS,
): ScheduleResult {
  const servers = ids(n);
  const cluster = new TestCluster({
    seed,
    servers,
    network: NETWORKS[network],
    entries_kept: 2,
    // The store's schema check costs a few ms per save: a tenth of the schedules run it.
    check_stored: seed % 10 === 0,
  });
  const chaos = new Random(seed ^ 0x5eed);
  let item = 0;
  const superseded: string[] = [];
  try {
    for (let t = 0; t < CHAOS_MS; t += STEP_MS) {
      cluster.runFor(STEP_MS);
      const live = cluster.live();
      const down = servers.filter((id) => !live.includes(id));
      if (live.length > 0 && chaos.chance(0.35)) {
        const change: ConfigChange = {
          kind: 'data_add',
          system: 'vip',
          items: [`i${item++}`],
          base_version: 0,
        };
        cluster.propose(chaos.pick(live), change);
      }
      if (server_changes && live.length > 0 && chaos.chance(0.04)) {
        const leader = cluster.leaders()[0];
        const config = leader === undefined ? undefined : cluster.node(leader)!.view().committed.config;
        if (config !== undefined) {
          const members = serverIdsOf(config);
          const out = servers.filter((id) => !members.includes(id));
          const change: ConfigChange =
            out.length > 0 && (members.length <= 3 || chaos.chance(0.5))
              ? serverAdd(chaos.pick(out))
              : { kind: 'server_rm', id: chaos.pick(members), base_version: 0 };
          cluster.propose(leader!, change);
        }
      }
      if (live.length > 0 && chaos.chance(0.03)) {
        const victim = chaos.pick(live);
        if (chaos.chance(0.5)) cluster.crashDuringNextEffects(victim);
        else cluster.crash(victim);
      }
      if (down.length > 0 && chaos.chance(0.08)) cluster.restart(chaos.pick(down));
      // The membership's verdicts: mostly right (a server down is reported down, a live one up),
      // sometimes wrong (a live leader reported down). They only hurry elections.
      if (live.length > 0 && chaos.chance(0.15)) {
        const about = chaos.pick(servers);
        cluster.report(chaos.pick(live), about, !live.includes(about) || chaos.chance(0.2));
      }
      if (chaos.chance(0.02)) {
        const shuffled = chaos.shuffle(servers);
        const cut = 1 + chaos.int(n - 1);
        cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      }
      if (chaos.chance(0.04)) cluster.heal();
    }
    // Heal everything; every server comes back; the network stops losing.
    cluster.calm();
    // One last change, so that whatever the chaos left uncommitted is settled by a leader.
    const healed_at = cluster.now;
    let last: string | undefined;
    let last_key: string | undefined;
    let members: string[] = servers;
    for (let waited = 0; waited <= LIVENESS_BOUND_MS; waited += 100) {
      cluster.runFor(100);
      const leader = cluster.leaders().find((id) => cluster.node(id)!.view().members.includes(id));
      // A last change that failed (its leader was stale and another replaced its entry) is made again.
      const failed = last_key !== undefined && cluster.checker.outcomes.get(last_key)?.status === 'failed';
      if ((last_key === undefined || failed) && leader !== undefined) {
        last = `i${item++}`;
        const { server, answer } = cluster.propose(leader, {
          kind: 'data_add',
          system: 'vip',
          items: [last],
          base_version: 0,
        });
        last_key = answer.kind === 'proposed' ? `${server}/${answer.id}` : undefined;
      }
      if (leader === undefined || last === undefined) continue;
      members = serverIdsOf(cluster.node(leader)!.view().committed.config);
      const { version, agreed } = cluster.agreement(members);
      const config = cluster.node(leader)!.view().committed.config;
      if (agreed && version === cluster.checker.versions.size && dataOf(config).includes(last)) break;
    }
    const { version, agreed } = cluster.agreement(members);
    assert.ok(
      agreed && last !== undefined,
      `seed ${seed}: not every server of the final config reached version ${version} within ${LIVENESS_BOUND_MS} ms of healing (at ${cluster.now - healed_at} ms)`,
    );
    // No acknowledged change lost: every item reported committed is in the final config, and no
    // item of a proposal reported superseded ever is.
    const final = dataOf(cluster.node(members[0]!)!.view().committed.config);
    for (const ack of cluster.checker.acknowledged)
      if (ack.change.kind === 'data_add')
        for (const it of ack.change.items)
          assert.ok(final.includes(it), `seed ${seed}: acknowledged ${it} lost`);
    for (const [key, outcome] of cluster.checker.outcomes) {
      const change = cluster.checker.proposals.get(key);
      if (outcome.status === 'failed' && outcome.reason === 'superseded' && change?.kind === 'data_add')
        superseded.push(...change.items);
    }
    for (const it of superseded) assert.ok(!final.includes(it), `seed ${seed}: superseded ${it} was applied`);
    return {
      acknowledged: cluster.checker.acknowledged.length,
      converged_ms: cluster.now - healed_at,
      version,
      messages: cluster.delivered,
    };
  } catch (error) {
    if (error instanceof Error) error.message = `seed ${seed} (${n} servers): ${error.message}`;
    throw error;
  }
}

describe('consensus under seeded random schedules', () => {
  for (const [n, count, server_changes, network] of [
    [3, 100, false, 'lan'],
    [5, 100, true, 'lan'],
    [3, 100, false, 'lossy'],
    [5, 100, true, 'lossy'],
  ] as const) {
    it(`${count} schedules of ${n} servers on a ${network} network${server_changes ? ' with server changes' : ''} keep every invariant and converge after healing`, () => {
      const started = performance.now();
      let acknowledged = 0;
      let messages = 0;
      let versions = 0;
      let converged_ms_max = 0;
      for (let seed = 1; seed <= count; seed++) {
        const result = runSchedule(
          seed * 7919 + n + (network === 'lossy' ? 1_000_000 : 0),
          n,
          server_changes,
          network,
        );
        acknowledged += result.acknowledged;
        messages += result.messages;
        versions += result.version;
        converged_ms_max = Math.max(converged_ms_max, result.converged_ms);
      }
      // Not a timed test: the figures are printed for the docs.
      console.log(
        `# ${count} schedules, ${n} servers, ${network}: ${acknowledged} changes acknowledged, ${versions} versions, ${messages} messages, converged within ${converged_ms_max} ms of healing (simulated), ${Math.round(performance.now() - started)} ms`,
      );
      assert.ok(acknowledged > count, 'the schedules commit changes at all');
    });
  }
});
