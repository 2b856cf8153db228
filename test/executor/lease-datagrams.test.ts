/**
 * The agent's sender of renewal datagrams on loopback (no namespace needed: 127.0.0.1 only); what
 * the fence makes of them is tested in test/netns/lease.test.ts ("renewal by datagram").
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { LoopbackDatagrams } from '../../src/executor/lease-datagrams.js';

describe('executor: LoopbackDatagrams', () => {
  it('sends nothing before open, the payload from 127.0.0.1 after it, and nothing after close', async () => {
    const receiver = createSocket('udp4');
    receiver.bind(0, '127.0.0.1');
    await once(receiver, 'listening');
    const port = receiver.address().port;
    const got: Array<{ payload: string; from: string }> = [];
    receiver.on('message', (message, from) =>
      got.push({ payload: message.toString('hex'), from: from.address }),
    );
    const sender = new LoopbackDatagrams();
    try {
      const token = Buffer.from('0102030405060708', 'hex');
      assert.equal(await sender.send('127.0.0.1', port, token), false, 'not open yet');
      await sender.open();
      assert.equal(await sender.send('127.0.0.1', port, token), true);
      assert.equal(await sender.send('not-an-address', port, token), false);
      for (let i = 0; i < 50 && got.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(got, [{ payload: '0102030405060708', from: '127.0.0.1' }]);
      sender.close();
      assert.equal(await sender.send('127.0.0.1', port, token), false, 'closed');
    } finally {
      sender.close();
      receiver.close();
    }
  });
});
