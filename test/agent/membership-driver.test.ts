/**
 * The driver hands the protocol core only packets sealed for this server: a packet that one peer
 * sent another, replayed here by anyone who saw it, never reaches MembershipNode.receive, so it
 * cannot make this server believe it has just heard from the sender.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MembershipDriver } from '../../src/agent/membership-driver.js';
import { parseConfig } from '../../src/config/index.js';
import type { Message } from '../../src/membership/messages.js';
import { syntheticCluster, syntheticDocument } from '../../src/sim/clusters.js';
import { MemoryNetwork, type PacketHandler } from '../../src/testing/memory-network.js';
import { waitFor } from '../../src/testing/wait.js';
import type { Endpoint } from '../../src/transport/udp.js';
import type { DropReason } from '../../src/wire/drop-reasons.js';
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

  it('two servers on different server lists (a rolling restart after server rm): each knows the other by id, sees it alive, and misreads no member number', async () => {
    // n0 still runs the list with n1; n2 runs the list without it, where n2 is index 1, not 2.
    const timing = { gossip_interval: 50, ping_timeout: 100 };
    const withN1 = syntheticDocument(4, timing);
    const withoutN1 = structuredClone(withN1) as { servers: Record<string, unknown> };
    delete withoutN1.servers.n1;
    const oldList = parseConfig(JSON.stringify({ ...withN1, id: 'n0' }), 'old.json');
    const newList = parseConfig(JSON.stringify({ ...withoutN1, id: 'n2' }), 'new.json');
    assert.equal(oldList.servers.find((server) => server.id === 'n2')!.index, 2);
    assert.equal(newList.servers.find((server) => server.id === 'n2')!.index, 1);
    const network = new MemoryNetwork();
    const drops: DropReason[] = [];
    const n0 = new MembershipDriver(
      oldList,
      { now: () => performance.now(), wallNow: () => T, random: Math.random },
      driverEvents({ onDrop: (reason) => drops.push(reason) }),
    );
    const n2 = new MembershipDriver(
      newList,
      { now: () => performance.now(), wallNow: () => T + 1, random: Math.random },
      driverEvents(),
    );
    // What reaches n0's core from n2, which n0 numbers 2.
    const fromN2: Message[] = [];
    const receive = n0.core.receive.bind(n0.core);
    n0.core.receive = (now, from, message, boot) => {
      assert.equal(from, 2, "every packet n0's core gets comes from n2, by n2's index at n0");
      fromN2.push(message);
      return receive(now, from, message, boot);
    };
    const at = (config: typeof oldList, id: string): Endpoint => {
      const server = config.servers.find((candidate) => candidate.id === id)!;
      return { ip: server.ip, port: server.port };
    };
    n0.start(network.bind(at(oldList, 'n0'), (packet, from) => n0.receive(packet, from)));
    n2.start(network.bind(at(newList, 'n2'), (packet, from) => n2.receive(packet, from)));
    try {
      // n1 and n3 never run: n2 suspects and declares them, and gossips that, which n0 must not
      // read (n2's number for n3 is n0's for n2).
      await waitFor(() => drops.includes('other_roster') && fromN2.length > 10, {
        ...POLL,
        what: "n2's gossip dropped at n0 as other_roster, and its probes read",
      });
      assert.ok(n0.isLive(2), 'n0 holds n2 alive');
      assert.ok(n2.isLive(0), 'n2 holds n0 alive');
      for (const message of fromN2) {
        assert.deepEqual(message.updates, [], `${message.type} from n2 came without its gossip`);
        assert.ok(!['gossip', 'state', 'ping_req', 'duplicate'].includes(message.type), message.type);
        if (message.type === 'ping') assert.equal(message.target, 0);
      }
      assert.ok(!drops.includes('unknown_sender') && !drops.includes('wrong_destination'), drops.join());
    } finally {
      n0.stop();
      n2.stop();
    }
  });
});
