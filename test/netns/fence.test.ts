/**
 * Fencing on a real network: a holder's agent that is killed (SIGKILL) or frozen (SIGSTOP) leaves
 * its VIP on its host, where the kernel would answer for it for ever. With the lease program
 * (scripts/linux/vip-lease) the host stops answering for the address by itself within the fence,
 * and the new owner adds it only after the fence: the holder monitor, which sees every address
 * event in every namespace, finds no moment with the VIP answered on two hosts, under the default
 * policy (keep). vip-lease runs on in its own process group: on the agent's SIGKILL its end of
 * input makes it delete the address at once; while the agent is frozen the address's element in
 * the nftables fence, which the agent's datagrams renewed, runs out 800 ms after the last one,
 * and the watchdog deletes the address itself once the lifetime of the last renew request is up
 * (2 s: the address is then cleanup).
 *
 * The monitor counts a host as holding the VIP while it answers for it: the address is there and,
 * on a host with the nftables fence (scripts/linux/vip-config.bash), its lease element lasts. The
 * last test freezes the holder's agent AND its vip-lease, so that only the kernel can fence, and
 * probes the VIP from the client namespace with ARP requests and TCP connections.
 *
 * Needs root (and ip, nft, arping); skipped elsewhere unless FLIP_NETNS_TESTS=1, which makes
 * that a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import {
  NFT_FENCE_MS,
  NFT_LEASE_TIMEOUT_MS,
  VIP_LEASE_WATCHDOG_FENCE_MS,
} from '../../src/executor/lease-fence.js';
import { LEASE_DATAGRAM_DEFAULTS } from '../../src/executor/lease-keeper.js';
import { ClientProbe } from '../../src/testing/netns/client-probe.js';
import { FlipCluster } from '../../src/testing/netns/flip-lab.js';
import { CLIENT, createLab, type Lab, netnsTestSkip, requireNetns } from '../../src/testing/netns/harness.js';
import { HolderMonitor, nowMs, summaryTable } from '../../src/testing/netns/holder-monitor.js';
import { groupAlive } from '../../src/testing/netns/lease-lab.js';
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
    monitor = await HolderMonitor.start(lab, [vip], { answering: true });
    await cluster.startAll();
    await cluster.waitForPlacement({ timeoutMs: 20_000 });
    // The lease rounds under test are datagrams between requests (the shipped scripts with nft).
    for (const id of ['s1', 's2'])
      await cluster.process(id)!.waitForOutput(/lease rounds renew by datagram between requests/, 10_000);
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
      // The address itself is cleanup once its element ended: renew requests come every
      // request_every_ms between the datagrams, and vip-lease's watchdog deletes it once the
      // lifetime of the last one is up.
      const cleanup_ms = LEASE_DATAGRAM_DEFAULTS.lifetime_s * 1000 + (VIP_LEASE_WATCHDOG_FENCE_MS - 1000);
      const lapsed = await waitForEvent(
        monitor,
        (e) => e.at >= at && e.server === holder && !e.added,
        cleanup_ms + 2000,
      );
      const added = await waitForEvent(monitor, (e) => e.at >= at && e.server === heir && e.added, 10_000);
      await sleep(500);
      const summary = monitor.summary(at, nowMs());
      t.diagnostic(
        `${fault}: the address lapsed on ${holder} after ${round(lapsed.at - at)} ms; added on ${heir} after ${round(added.at - at)} ms`,
      );
      t.diagnostic(summaryTable(summary));
      assert.equal(summary[0]!.double.count, 0, 'no moment with the VIP answered on two hosts');
      // The last renewal came before the fault, so the fence bounds the end of answering from the
      // fault too: the address gone, or before it, the lease element ended (the nftables fence).
      const element = monitor
        .elementIntervals(holder, vip)
        .filter(([from]) => from < at)
        .at(-1);
      const stopped = Math.min(lapsed.at, element?.[1] ?? Number.POSITIVE_INFINITY);
      t.diagnostic(`${fault}: ${holder} stopped answering ${round(stopped - at)} ms after the fault`);
      assert.ok(stopped <= added.at, 'the old host stopped answering before the new one added the address');
      assert.ok(
        stopped - at < DEFAULTS.fence_ms,
        `${holder} answered until ${round(stopped - at)} ms after the fault (fence ${DEFAULTS.fence_ms} ms after the last renewal)`,
      );
      assert.ok(lapsed.at - at < cleanup_ms, `the address itself went within ${cleanup_ms} ms`);
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

  it("SIGSTOP of the holder's agent and its vip-lease: the kernel alone stops the host answering within the fence; a client never sees two MACs", async (t) => {
    const holder = monitor.holders(vip)[0];
    assert.ok(holder === 's1' || holder === 's2', `one of the pair holds ${vip}: ${monitor.holders(vip)}`);
    const heir = holder === 's1' ? 's2' : 's1';
    const macs = new Map([
      [(await lab!.mac(holder)).toLowerCase(), holder],
      [(await lab!.mac(heir)).toLowerCase(), heir],
    ]);
    const agentPid = cluster.pid(holder);
    // The agent's vip-lease: in the holder's namespace, in a process group of its own.
    const inNamespace = spawnSync('ip', ['netns', 'pids', lab!.ns(holder)], { encoding: 'utf8' })
      .stdout.split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    const cmdline = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        return '';
      }
    };
    // bash runs it (its comm is "bash"); it leads its own process group.
    const leasePid = inNamespace.find(
      (pid) => cmdline(pid).includes('vip-lease') && groupAlive(pid) && processGroup(pid) === pid,
    );
    assert.ok(leasePid !== undefined, `vip-lease runs on ${holder}`);
    // ARP: a new request every 20 ms from the client, each waiting up to 1 s (arping's least) for
    // a reply; TCP: an HTTP request every 10 ms (the server answers with its name).
    const arp = lab!.spawn(CLIENT, [
      'bash',
      '-c',
      'end=$((SECONDS + 6)); for ((i = 0; i < 300 && SECONDS < end; i++)); do { s=$EPOCHREALTIME; r=$(arping -c 1 -w 1 -I eth0 "$0" 2>/dev/null | grep -o "\\[[0-9A-Fa-f:]*\\]" | head -1); [[ -n $r ]] || r=none; echo "$s $r"; } & sleep 0.02; done; wait',
      vip,
    ]);
    const http = new ClientProbe(lab!, vip, { everyMs: 10, timeoutMs: 100 }).start();
    await sleep(1000);
    // vip-lease first (its group: the ip and nft coprocesses too), then the agent: nothing renews.
    process.kill(-leasePid, 'SIGSTOP');
    const at = nowMs();
    process.kill(agentPid, 'SIGSTOP');
    try {
      await sleep(3500);
    } finally {
      process.kill(-leasePid, 'SIGCONT');
      process.kill(agentPid, 'SIGCONT');
    }
    await arp.exited;
    const samples = await http.stop();
    const probes = arp
      .output()
      .split('\n')
      .map((line) => /^(\d+)[.,](\d+) (\S+)$/.exec(line.trim()))
      .filter((match) => match !== null)
      .map((match) => ({
        at: Number(match[1]) * 1000 + Number(`0.${match[2]}`) * 1000,
        by: match[3] === 'none' ? undefined : macs.get(match[3]!.slice(1, -1).toLowerCase()),
      }))
      .sort((a, b) => a.at - b.at);
    // The last renewal: the end of the holder's last element interval (the sampler's view) less
    // the element timeout.
    const elements = monitor.elementIntervals(holder, vip).filter(([from]) => from < at);
    assert.ok(elements.length > 0, `${holder}'s lease element was seen`);
    const expired = elements.at(-1)![1];
    const renewed = expired - NFT_LEASE_TIMEOUT_MS;
    const thawed = at + 3500;
    const firstByHeir = probes.find((probe) => probe.at > at && probe.by === heir)?.at;
    const holderArp = probes.filter((probe) => probe.by === holder);
    const lastByHolder = holderArp.filter((probe) => probe.at < (firstByHeir ?? thawed)).at(-1)?.at;
    const httpHeir = samples.find((x) => x.ok && x.body === heir && x.sentAt > at);
    const httpHolder = samples.filter((x) => x.ok && x.body === holder && x.sentAt < thawed);
    const httpLast = httpHolder.at(-1);
    const httpFirstMiss = samples.find((x) => !x.ok && x.sentAt > renewed);
    const rel = (time: number | undefined) => (time === undefined ? '-' : `${round(time - renewed)} ms`);
    t.diagnostic(
      `after the last renewal (${round(at - renewed)} ms before the freeze): element expired ${rel(expired)}; ` +
        `HTTP: last answer by ${holder} to a request sent ${rel(httpLast?.sentAt)}, first request unanswered ${rel(httpFirstMiss?.sentAt)}, ` +
        `first answered by ${heir} ${rel(httpHeir?.sentAt)}; ARP (probe start times, arping starts late): ` +
        `last answered by ${holder} ${rel(lastByHolder)}, first by ${heir} ${rel(firstByHeir)}; ` +
        `${probes.length} ARP probes, ${samples.length} HTTP requests`,
    );
    const summary = monitor.summary(at - 1000, thawed);
    t.diagnostic(summaryTable(summary));
    assert.ok(probes.length >= 20, `the ARP probes ran: ${arp.output().slice(-300)}`);
    assert.ok(httpLast !== undefined && httpHeir !== undefined && firstByHeir !== undefined);
    // The kernel stopped the host answering within the fence of its last renewal (the agent and
    // vip-lease frozen all along: the address itself stays up to 1.5 s): no request started after
    // the element's end, ARP or HTTP, got the holder's answer; and the heir answered only after.
    assert.ok(
      httpLast.sentAt - renewed < NFT_FENCE_MS,
      `answered ${round(httpLast.sentAt - renewed)} ms after`,
    );
    assert.equal(
      httpHolder.filter((x) => x.sentAt > expired + 5).length,
      0,
      'HTTP: no answer after the element',
    );
    assert.equal(
      holderArp.filter((probe) => probe.at > expired + 5 && probe.at < thawed).length,
      0,
      'ARP: no answer by the holder after its element ended',
    );
    assert.ok(httpLast.sentAt < httpHeir.sentAt, 'HTTP: the holder stopped before the heir began');
    assert.equal(summary[0]!.double.count, 0, 'no moment with two hosts answering');
    await cluster.waitForPlacement({ timeoutMs: 30_000 });
  });
});

/** The process group of `pid` (0 when it is gone). */
function processGroup(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return 0;
  }
}

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
