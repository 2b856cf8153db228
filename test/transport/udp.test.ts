/**
 * The UDP transport on loopback: packets to an IP literal go out without a resolver (in the same
 * turn: the socket's lookup answers a literal at once), a name still resolves, IPv6 works, and a
 * port that is taken is refused in words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freeUdpPorts } from '../../src/demo/loopback-cluster.js';
import { waitFor } from '../../src/testing/wait.js';
import { bindUdp, type PacketTransport } from '../../src/transport/udp.js';

describe('UDP transport', () => {
  it('sends to an IP literal and to a name, on IPv4 and IPv6', async () => {
    const [p1, p2, p3, p4] = await freeUdpPorts(4);
    const got: string[] = [];
    const opened: PacketTransport[] = [];
    try {
      const receiver = await bindUdp({ ip: '127.0.0.1', port: p1! }, (packet) =>
        got.push(Buffer.from(packet).toString()),
      );
      opened.push(receiver);
      const errors: string[] = [];
      const sender = await bindUdp(
        { ip: '127.0.0.1', port: p2! },
        () => {},
        (error) => errors.push(error.message),
      );
      opened.push(sender);
      sender.send({ ip: '127.0.0.1', port: p1! }, Buffer.from('literal'));
      sender.send({ ip: 'localhost', port: p1! }, Buffer.from('name'));
      await waitFor(() => got.length === 2, { what: 'both packets', timeoutMs: 5000 });
      assert.deepEqual(got.sort(), ['literal', 'name']);
      assert.deepEqual(errors, []);
      const six: string[] = [];
      const receiver6 = await bindUdp({ ip: '::1', port: p3! }, (packet) =>
        six.push(Buffer.from(packet).toString()),
      );
      opened.push(receiver6);
      const sender6 = await bindUdp({ ip: '::1', port: p4! }, () => {});
      opened.push(sender6);
      sender6.send({ ip: '::1', port: p3! }, Buffer.from('six'));
      await waitFor(() => six.length === 1, { what: 'the IPv6 packet', timeoutMs: 5000 });
    } finally {
      await Promise.all(opened.map((transport) => transport.close()));
    }
  });

  it('a port in use is refused in words', async () => {
    const [port] = await freeUdpPorts(1);
    const first = await bindUdp({ ip: '127.0.0.1', port: port! }, () => {});
    try {
      await assert.rejects(
        bindUdp({ ip: '127.0.0.1', port: port! }, () => {}),
        /the port is already in use/,
      );
    } finally {
      await first.close();
    }
  });
});
