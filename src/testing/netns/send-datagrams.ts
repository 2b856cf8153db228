/**
 * Sends renewal datagrams as the agent does (executor/lease-datagrams.ts), from inside a test's
 * network namespace. Reads lines `PORT TOKEN ADDRESS...` (TOKEN: 0x and 16 hex digits) on stdin,
 * sends one datagram to each address, and answers each line with a JSON array of booleans: whether
 * the kernel took each. Prints `ready` first; exits at end of input.
 * Run: node --import tsx src/testing/netns/send-datagrams.ts
 */
import { createInterface } from 'node:readline';
import { LoopbackDatagrams } from '../../executor/lease-datagrams.js';

const sender = new LoopbackDatagrams();
await sender.open();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [port, token, ...addresses] = line.trim().split(/\s+/);
  if (port === undefined || token === undefined || !/^0x[0-9a-f]{16}$/.test(token)) {
    process.stdout.write('"usage: PORT TOKEN ADDRESS..."\n');
    continue;
  }
  const payload = Buffer.from(token.slice(2), 'hex');
  const sent = await Promise.all(addresses.map((address) => sender.send(address, Number(port), payload)));
  process.stdout.write(`${JSON.stringify(sent)}\n`);
}
sender.close();
