/**
 * A server restarted with its clock set back seals packets with a lower boot id than its last
 * run used, so every peer drops them as replays of that run. The peers tell it (boot_hint), and
 * it goes on above the boot id they have seen: it is not locked out until its clock catches up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipDriver } from '../../src/agent/membership-driver.js';
import { syntheticCluster } from '../../src/sim/clusters.js';
import type { Endpoint, PacketTransport } from '../../src/transport/udp.js';

const T = 1_800_000_000_000;

/** Drivers wired to each other by an in-memory network keyed by port. */
class Net {
  readonly drivers = new Map<number, MembershipDriver>();

  transport(self: Endpoint): PacketTransport {
    return {
      send: (to, packet) => {
        const copy = packet.slice();
        setImmediate(() => this.drivers.get(to.port)?.receive(copy, self));
      },
      close: async () => {},
    };
  }
}

function start(net: Net, config: ReturnType<typeof syntheticCluster>, index: number, wall: number) {
  const server = config.servers[index]!;
  const advanced: number[] = [];
  const driver = new MembershipDriver(
    { ...config, id: server.id },
    { now: () => performance.now(), wallNow: () => wall, random: Math.random },
    {
      onRefuted: () => {},
      onChanges: () => {},
      onSynced: () => {},
      onDrop: () => {},
      onReleased: () => {},
      onReleasedAck: () => {},
      onBootAdvanced: (_from, to) => advanced.push(to),
    },
  );
  net.drivers.set(server.port, driver);
  driver.start(net.transport({ ip: server.ip, port: server.port }));
  return { driver, advanced };
}

async function until(what: string, condition: () => boolean, timeout_ms = 5_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('agent: boot hints', () => {
  it('a peer restarted with its clock a minute back is told, goes on above its old boot id, and is heard', async () => {
    const config = syntheticCluster(3, { gossip_interval: 50, ping_timeout: 100 });
    const net = new Net();
    const a = start(net, config, 0, T);
    const b = start(net, config, 1, T);
    const c = start(net, config, 2, T);
    try {
      await until('a hears b', () => a.driver.codec.replayWindow(1)?.bootId === T);
      b.driver.stop();
      const restarted = start(net, config, 1, T - 60_000);
      await until('b is told and advances', () => restarted.advanced.length > 0);
      assert.equal(restarted.driver.codec.bootId, T + 1);
      assert.ok(a.driver.codec.drops.stale_boot + c.driver.codec.drops.stale_boot > 0);
      await until(
        'both peers accept b again',
        () =>
          a.driver.codec.replayWindow(1)?.bootId === T + 1 &&
          c.driver.codec.replayWindow(1)?.bootId === T + 1,
      );
      // A second hint (the other peer's) at the old boot id changes nothing more.
      assert.deepEqual(restarted.advanced, [T + 1]);
      restarted.driver.stop();
    } finally {
      for (const driver of net.drivers.values()) driver.stop();
    }
  });
});
