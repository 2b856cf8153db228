/**
 * Two live agents with one server id (a copied config on another host): peers hear both runs,
 * keep the one that started first, drop the newcomer's packets and tell both. The newcomer stays
 * out of its own placement; the first run is never pushed into refuting or advancing its boot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipDriver } from '../../src/agent/membership-driver.js';
import type { DuplicateEvent } from '../../src/membership/node.js';
import { syntheticCluster } from '../../src/sim/clusters.js';
import { MemoryNetwork } from '../../src/testing/memory-network.js';
import { waitFor } from '../../src/testing/wait.js';
import { driverEvents } from '../helpers/driver-events.js';

const T = 1_800_000_000_000;
const POLL = { timeoutMs: 10_000, intervalMs: 10 };

describe('agent: two live agents with one id', () => {
  it('peers keep the first run; the newcomer is told, stays out, and the first neither refutes nor advances', async () => {
    const config = syntheticCluster(3, { gossip_interval: 50, ping_timeout: 100 });
    const network = new MemoryNetwork();
    const drivers: MembershipDriver[] = [];
    const start = (index: number, wall: number, ip?: string) => {
      const server = config.servers[index]!;
      const events: DuplicateEvent[] = [];
      const where: { kept_at: string; newcomer_at: string }[] = [];
      let advanced = 0;
      const driver = new MembershipDriver(
        { ...config, id: server.id },
        { now: () => performance.now(), wallNow: () => wall, random: Math.random },
        driverEvents({
          onDuplicate: (event, at) => {
            events.push(event);
            where.push(at);
          },
          onBootAdvanced: () => advanced++,
        }),
      );
      drivers.push(driver);
      driver.start(
        network.bind({ ip: ip ?? server.ip, port: server.port }, (packet, from) =>
          driver.receive(packet, from),
        ),
      );
      return { driver, events, where, advanced: () => advanced };
    };
    try {
      const first = start(0, T);
      const b = start(1, T);
      const c = start(2, T);
      await waitFor(() => b.driver.codec.replayWindow(0)?.bootId === T, {
        ...POLL,
        what: 'b hears the first run',
      });
      const incarnation = first.driver.core.incarnation;
      // The clone: the same id and config, on another address, started a minute later.
      const clone = start(0, T + 60_000, '10.9.9.9');
      await waitFor(() => clone.driver.core.standingDown, {
        ...POLL,
        what: 'the clone is told and stands down',
      });
      await waitFor(() => first.events.some((e) => e.kind === 'told' && e.we === 'kept'), {
        ...POLL,
        what: 'the first run is told',
      });
      assert.ok(b.events.some((e) => e.kind === 'seen') || c.events.some((e) => e.kind === 'seen'));
      assert.equal(b.driver.core.keptBoot(0) ?? c.driver.core.keptBoot(0), T);
      const told = clone.where.find((_, i) => clone.events[i]!.kind === 'told')!;
      assert.match(told.kept_at, /:\d+$/, 'the clone learns where the first run is');
      assert.match(told.newcomer_at, /^10\.9\.9\.9:/);
      // The clone is out of its own placement; peers hold the first run, at its own incarnation.
      assert.ok(!clone.driver.core.liveMembers().includes(0));
      assert.ok(first.driver.core.liveMembers().includes(0));
      assert.equal(clone.driver.leaseBase(performance.now()), Number.NEGATIVE_INFINITY);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(first.advanced(), 0, 'no boot hint: the first run is not told its clock went back');
      assert.ok(
        first.driver.core.incarnation <= T + 60_000 + 1,
        `at most one refutation, above the clone's start, before the conflict was seen (${first.driver.core.incarnation - incarnation})`,
      );
      assert.equal(b.driver.core.member(0).state, 'alive');
      assert.equal(c.driver.core.member(0).state, 'alive');
      assert.ok(
        b.driver.core.duplicateCounters.newcomer_packets + c.driver.core.duplicateCounters.newcomer_packets >
          0,
      );
    } finally {
      for (const driver of drivers) driver.stop();
    }
  });
});
