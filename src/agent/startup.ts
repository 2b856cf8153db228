import type { FlipConfig } from '../config/index.js';

/**
 * How long a starting agent waits to hear the cluster's view from a peer before it acts on
 * its config alone: long enough for a round of introductions and their answers.
 */
export function startupGraceMs(config: FlipConfig): number {
  return 2 * config.ping_timeout_ms + config.gossip_interval_ms;
}
