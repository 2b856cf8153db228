/**
 * Fencing on a real network: a holder's agent that is killed (SIGKILL) or frozen (SIGSTOP) leaves
 * its VIP on its host, where the kernel would answer for it for ever. With the lease program
 * (scripts/linux/vip-lease) the address lapses by itself within the fence, and the new owner adds
 * it only after the fence: the holder monitor, which sees every address event in every
 * namespace, finds no moment with the VIP on two hosts, under the default policy (keep).
 * vip-lease runs on in its own process group: on the agent's SIGKILL its end of input makes it
 * delete the address at once; while the agent is frozen its watchdog deletes it once the
 * address's 1 s lifetime is up, within the default fence.
 *
 * Needs root (and ip, nft, arping); skipped elsewhere unless FLIP_NETNS_TESTS=1, which makes
 * that a failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import { FlipCluster } from '../../src/testing/netns/flip-lab.js';
import { createLab, type Lab, netnsTestSkip, requireNetns } from '../../src/testing/netns/harness.js';
import { HolderMonitor, nowMs, summaryTable } from '../../src/testing/netns/holder-monitor.js';
import { sleep } from '../../src/testing/wait.js';

const TOOLS = ['ip', 'nft', 'arping'];
const skip = netnsTestSkip(TOOLS);
const SERVERS = ['s1', 's2', 'w'];
const round = (ms: number) => Math.round(ms);

describe('fencing: a killed or frozen holder never leaves its VIP on two hosts (keep, vip-lease)', {
  skip,
  timeout: 180_000,
}, () => {
  let lab: Lab | undefined;
  let cluster: FlipCluster;
  let monitor: HolderMonitor;
  let vip = '';

  before(async () => {
    requireNetns(TOOLS);
    lab = await createLab({ servers: SERVERS });
    vip = lab.vip(0);
    cluster = new FlipCluster(lab, {
      servers: { s1: { priority: 1, systems: ['vip'] }, s2: { priority: 2, systems: ['vip'] }, w: {} },
      systems: { vip: { type: 'single', data: [vip], lease: true } },
      quorum: 2,
      key: 'secret',
    });
    await cluster.startHttpServers();
    monitor = await HolderMonitor.start(lab, [vip]);
    await cluster.startAll();
    await cluster.waitForPlacement({ timeoutMs: 20_000 });
  });

  after(async () => {
    await lab?.destroy();
  });

  for (const fault of ['SIGKILL', 'SIGSTOP'] as const) {
    it(`${fault} of the holder's agent: the address lapses on its host, then moves; never on two hosts`, async (t) => {
      const holder = monitor.holders(vip)[0];
      assert.ok(holder === 's1' || holder === 's2', `one of the pair holds ${vip}: ${monitor.holders(vip)}`);
      const heir = holder === 's1' ? 's2' : 's1';
      const at = nowMs();
      if (fault === 'SIGKILL') await cluster.kill9(holder);
      else cluster.freeze(holder, true);
      const lapsed = await waitForEvent(
        monitor,
        (e) => e.at >= at && e.server === holder && !e.added,
        10_000,
      );
      const added = await waitForEvent(monitor, (e) => e.at >= at && e.server === heir && e.added, 10_000);
      await sleep(500);
      const summary = monitor.summary(at, nowMs());
      t.diagnostic(
        `${fault}: the address lapsed on ${holder} after ${round(lapsed.at - at)} ms; added on ${heir} after ${round(added.at - at)} ms`,
      );
      t.diagnostic(summaryTable(summary));
      assert.ok(lapsed.at <= added.at, 'the old host dropped the address before the new one added it');
      assert.equal(summary[0]!.double.count, 0, 'no moment with the VIP on two hosts');
      // The last renewal came before the fault, so the fence bounds the lapse from the fault too.
      assert.ok(
        lapsed.at - at < DEFAULTS.fence_ms,
        `the address went ${round(lapsed.at - at)} ms after the fault (fence ${DEFAULTS.fence_ms} ms after the last renewal)`,
      );
      if (fault === 'SIGKILL') {
        // vip-lease, still running, read end of input and deleted the address before its lifetime was up.
        assert.ok(
          lapsed.at - at < 900,
          `vip-lease deleted the address ${round(lapsed.at - at)} ms after the kill`,
        );
      }
      // Bring the holder back (SIGCONT, or a new agent): the VIP goes home, break-before-make.
      const back = nowMs();
      if (fault === 'SIGKILL') await cluster.start(holder);
      else cluster.freeze(holder, false);
      await cluster.waitForPlacement({ timeoutMs: 20_000 });
      await sleep(500);
      assert.equal(monitor.summary(back, nowMs())[0]!.double.count, 0, 'the return was break-before-make');
    });
  }
});

async function waitForEvent(
  monitor: HolderMonitor,
  match: (event: HolderMonitor['events'][number]) => boolean,
  timeoutMs: number,
): Promise<HolderMonitor['events'][number]> {
  const until = nowMs() + timeoutMs;
  for (;;) {
    const found = monitor.events.find(match);
    if (found) return found;
    if (nowMs() > until) throw new Error('timed out waiting for an address event');
    await sleep(20);
  }
}
