/**
 * A server restarted with its clock set back seals packets with a lower boot id than its last
 * run used, so every peer drops them as replays of that run. The peers tell it (boot_hint), and
 * it goes on above the boot id they have seen: it is not locked out until its clock catches up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipDriver } from '../../src/agent/membership-driver.js';
import { syntheticCluster } from '../../src/sim/clusters.js';
import { MemoryNetwork } from '../../src/testing/memory-network.js';
import { waitFor } from '../../src/testing/wait.js';
import { driverEvents } from '../helpers/driver-events.js';

const T = 1_800_000_000_000;

/** Drivers wired to each other by an in-memory network, and every driver started on it. */
interface Net {
  network: MemoryNetwork;
  drivers: MembershipDriver[];
}

function start(net: Net, config: ReturnType<typeof syntheticCluster>, index: number, wall: number) {
  const server = config.servers[index]!;
  const advanced: number[] = [];
  const driver = new MembershipDriver(
    { ...config, id: server.id },
    { now: () => performance.now(), wallNow: () => wall, random: Math.random },
    driverEvents({ onBootAdvanced: (_from, to) => advanced.push(to) }),
  );
  net.drivers.push(driver);
  driver.start(
    net.network.bind({ ip: server.ip, port: server.port }, (packet, from) => driver.receive(packet, from)),
  );
  return { driver, advanced };
}

/** Polls every 10 ms for up to 5 s. */
const POLL = { timeoutMs: 5_000, intervalMs: 10 };

describe('agent: boot hints', () => {
  it('a peer restarted with its clock a minute back is told, goes on above its old boot id, and is heard', async () => {
    const config = syntheticCluster(3, { gossip_interval: 50, ping_timeout: 100 });
    const net: Net = { network: new MemoryNetwork(), drivers: [] };
    const a = start(net, config, 0, T);
    const b = start(net, config, 1, T);
    const c = start(net, config, 2, T);
    try {
      await waitFor(() => a.driver.codec.replayWindow(1)?.bootId === T, { ...POLL, what: 'a hears b' });
      b.driver.stop();
      const restarted = start(net, config, 1, T - 60_000);
      await waitFor(() => restarted.advanced.length > 0, { ...POLL, what: 'b is told and advances' });
      assert.equal(restarted.driver.codec.bootId, T + 1);
      assert.ok(a.driver.codec.drops.stale_boot + c.driver.codec.drops.stale_boot > 0);
      await waitFor(
        () =>
          a.driver.codec.replayWindow(1)?.bootId === T + 1 &&
          c.driver.codec.replayWindow(1)?.bootId === T + 1,
        { ...POLL, what: 'both peers accept b again' },
      );
      // A second hint (the other peer's) at the old boot id changes nothing more.
      assert.deepEqual(restarted.advanced, [T + 1]);
      restarted.driver.stop();
    } finally {
      for (const driver of net.drivers) driver.stop();
    }
  });
});
