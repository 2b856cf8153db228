/**
 * A server started with the wrong key says so loudly: two real agents on 127.0.0.1 whose keys
 * differ each log, within seconds, a warning that names the other and says what to check.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent/agent.js';
import { waitFor } from '../../src/testing/wait.js';

/** A free UDP port on 127.0.0.1: bound, then closed again. */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A logger that keeps its records, parsed. */
function recording(): { logger: pino.Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line));
        callback();
      },
    }),
  );
  return { logger, records };
}

describe('agents with different keys', () => {
  it('each logs a warning naming the other within seconds, once', async () => {
    const ports = { a: await freePort(), b: await freePort() };
    const dir = mkdtempSync(join(tmpdir(), 'flip-wrong-key-'));
    const configFile = (id: 'a' | 'b', key: string): string => {
      const file = join(dir, `${id}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          id,
          key,
          state_dir: join(dir, 'state'),
          servers: {
            a: { ip: '127.0.0.1', port: ports.a },
            b: { ip: '127.0.0.1', port: ports.b },
          },
          cluster: {},
        }),
      );
      return file;
    };
    const logs = { a: recording(), b: recording() };
    const agents: Agent[] = [];
    try {
      agents.push(await Agent.start(configFile('a', 'the key of a'), { logger: logs.a.logger }));
      agents.push(await Agent.start(configFile('b', 'the key of b'), { logger: logs.b.logger }));
      const warnings = (id: 'a' | 'b') =>
        logs[id].records.filter((r) => String(r.msg).includes('fail authentication'));
      await waitFor(() => warnings('a').length > 0 && warnings('b').length > 0, {
        what: 'both agents warn about the other',
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      for (const [self, peer] of [
        ['a', 'b'],
        ['b', 'a'],
      ] as const) {
        const [warning] = warnings(self);
        assert.equal(warning!.level, 40, 'a warning');
        assert.equal(warning!.peer, peer);
        assert.equal(
          warning!.msg,
          `packets from ${peer} (127.0.0.1:${ports[peer]}) fail authentication: wrong key? ` +
            'both servers must share one of their keys',
        );
      }
      // Each probes the other several times a second, yet the next warning waits 30 s.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (const [index, self] of [
        [0, 'a'],
        [1, 'b'],
      ] as const) {
        const failed = agents[index]!.membership.codec.drops.unknown_key;
        assert.ok(failed >= 3, `${self} dropped ${failed} packets of the other`);
        assert.equal(warnings(self).length, 1);
      }
    } finally {
      for (const agent of agents) await agent.shutdown();
    }
  });
});
