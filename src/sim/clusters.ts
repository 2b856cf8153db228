/**
 * Cluster configs for the simulator: the original README's example, or a synthetic cluster
 * of any size. Both go through the real config validation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FlipConfig, parseConfig } from '../config/index.js';

export interface Timing {
  gossip_interval?: number;
  ping_per_interval?: number;
  ping_timeout?: number;
}

/** The README's three-server example (flip, flip1 with priority 1, arbiter flip2). */
export function readmeCluster(timing: Timing = {}): FlipConfig {
  return parseConfig(JSON.stringify(readmeDocument(timing)), 'readme.json');
}

/** The README's example cluster as its config file says it, with `timing` over its own. */
export function readmeDocument(timing: Timing = {}): Record<string, unknown> {
  const file = fileURLToPath(new URL('../../examples/readme.json', import.meta.url));
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return { ...raw, ...timing };
}

/**
 * `count` servers n0..n(count-1), on consecutive ports of 127.0.0.1. When there are at least
 * three, the last is an arbiter; the others share a `shard` system of two VIPs each, and the
 * first two also form a `single` active/passive pair.
 */
export function syntheticCluster(count: number, timing: Timing = {}): FlipConfig {
  return parseConfig(JSON.stringify(syntheticDocument(count, timing)), `synthetic-${count}.json`);
}

/** syntheticCluster's config file. */
export function syntheticDocument(count: number, timing: Timing = {}): Record<string, unknown> {
  const width = String(count - 1).length;
  const id = (i: number) => `n${String(i).padStart(width, '0')}`;
  const arbiter = count >= 3 ? count - 1 : -1;
  const servers: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const systems = i === arbiter ? [] : i < 2 ? ['vip', 'pair'] : ['vip'];
    servers[id(i)] = { ip: '127.0.0.1', port: 10000 + i, systems };
  }
  const members = arbiter === -1 ? count : count - 1;
  const vips = Array.from(
    { length: members * 2 },
    (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  );
  const raw = {
    id: id(0),
    key: 'simulation',
    ...timing,
    servers,
    cluster: {
      system: {
        vip: { alive: 'up', down: 'down', type: 'shard', data: vips },
        pair: { alive: 'up', down: 'down', type: 'single', data: ['10.255.0.1'] },
      },
    },
  };
  return raw;
}
