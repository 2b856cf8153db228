/**
 * The driver hands the protocol core only packets sealed for this server: a packet that one peer
 * sent another, replayed here by anyone who saw it, never reaches MembershipNode.receive, so it
 * cannot make this server believe it has just heard from the sender.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipDriver } from '../../src/agent/membership-driver.js';
import { syntheticCluster } from '../../src/sim/clusters.js';
import { MemoryNetwork, type PacketHandler } from '../../src/testing/memory-network.js';
import { waitFor } from '../../src/testing/wait.js';
import type { Endpoint } from '../../src/transport/udp.js';
import { driverEvents } from '../helpers/driver-events.js';

const T = 1_800_000_000_000;
const A = 0;
const B = 1;
const C = 2;

/** Polls every 10 ms for up to 5 s. */
const POLL = { timeoutMs: 5_000, intervalMs: 10 };

describe('agent: membership driver', () => {
  it("a packet A sent to B, replayed to C, never reaches C's protocol core", async () => {
    const config = syntheticCluster(3, { gossip_interval: 50, ping_timeout: 100 });
    const network = new MemoryNetwork();
    const endpoint = (index: number): Endpoint => ({
      ip: config.servers[index]!.ip,
      port: config.servers[index]!.port,
    });
    const drivers: MembershipDriver[] = [];
    /** What A sent B, and the first packet A sent C, held back from C. */
    const aToB: Uint8Array[] = [];
    let heldForC: Uint8Array | undefined;
    const isA = (from: Endpoint) => from.ip === endpoint(A).ip && from.port === endpoint(A).port;
    const intercept = (index: number, driver: MembershipDriver): PacketHandler => {
      return (packet, from) => {
        if (index === B && isA(from)) aToB.push(packet.slice());
        if (index === C && isA(from) && heldForC === undefined) {
          heldForC = packet;
          return;
        }
        driver.receive(packet, from);
      };
    };
    for (const index of [A, B, C]) {
      const driver = new MembershipDriver(
        { ...config, id: config.servers[index]!.id },
        { now: () => performance.now(), wallNow: () => T, random: Math.random },
        driverEvents(),
      );
      drivers.push(driver);
      driver.start(network.bind(endpoint(index), intercept(index, driver)));
    }
    const c = drivers[C]!;
    try {
      await waitFor(() => aToB.length > 0 && heldForC !== undefined, {
        ...POLL,
        what: 'A sends to B and to C',
      });
      // Every packet that reaches C's core, by sender (index), counted from here on.
      const reached: number[] = [];
      const receive = c.core.receive.bind(c.core);
      c.core.receive = (now, from, message) => {
        reached.push(from);
        return receive(now, from, message);
      };
      const received = c.packets_received;
      const window = c.codec.replayWindow(A);
      const drops = { ...c.codec.drops };

      // Receiving is synchronous, so nothing else reaches C's core in between.
      for (const packet of aToB) c.receive(packet, endpoint(A));
      assert.deepEqual(reached, [], "no packet A sealed for B reached C's core");
      assert.equal(c.packets_received, received);
      assert.deepEqual(c.codec.replayWindow(A), window, "C's replay window for A did not move");
      assert.deepEqual(c.codec.drops, { ...drops, wrong_destination: drops.wrong_destination + aToB.length });

      // The control: a packet A sealed for C, delivered late, does reach the core.
      c.receive(heldForC!, endpoint(A));
      assert.deepEqual(reached, [A]);
      assert.equal(c.packets_received, received + 1);
    } finally {
      for (const driver of drivers) driver.stop();
    }
  });
});
