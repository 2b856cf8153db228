/**
 * Timing presets that tests and benchmarks share, as config keys (ms); an absent key keeps
 * flip's default (src/config/defaults.ts). The netns lab's own presets (with a plan delay) are
 * in netns/flip-lab.ts.
 */
import type { Timing } from '../sim/clusters.js';

/** The original flip's timing defaults (interval 1000 ms, 1 ping, timeout 1500 ms). */
export const ORIGINAL_TIMING = {
  gossip_interval: 1000,
  ping_per_interval: 1,
  ping_timeout: 1500,
} satisfies Timing;
/** The README example's timing (interval 1000 ms, 3 pings, timeout 1500 ms). */
export const README_TIMING = {
  gossip_interval: 1000,
  ping_per_interval: 3,
  ping_timeout: 1500,
} satisfies Timing;
/** Fast timers for real agents on loopback (interval 100 ms, timeout 300 ms): tests take seconds. */
export const LOOPBACK_TIMING = { gossip_interval: 100, ping_timeout: 300 } satisfies Timing;
