/**
 * The options of `flip sim` and their ranges, apart from the command so that the help text
 * (main.ts) and the checks (sim.ts) state the same ranges without loading the simulator.
 */
import { PING_PER_INTERVAL_MAX, SERVER_COUNT_MAX, TIME_MS_MAX } from '../../config/limits.js';

export interface SimCommandOptions {
  scenario?: string;
  nodes?: string;
  seed?: string;
  runs?: string;
  loss?: string;
  duration?: string;
  interval?: string;
  timeout?: string;
  pings?: string;
  quorum?: string;
  policy?: string;
  lease?: boolean;
  /** commander's `--no-preempt`: false when given. */
  preempt?: boolean;
  hash?: boolean;
  json?: boolean;
}

/** Inclusive ranges of the whole-number options; the timing ones are the config's own bounds. */
export const SIM_RANGES = {
  nodes: [1, SERVER_COUNT_MAX],
  quorum: [1, SERVER_COUNT_MAX],
  seed: [0, 2 ** 32 - 1],
  runs: [1, 100_000],
  duration: [1, 86_400],
  interval: [1, TIME_MS_MAX.gossip_interval],
  timeout: [1, TIME_MS_MAX.ping_timeout],
  pings: [1, PING_PER_INTERVAL_MAX],
} as const satisfies Record<string, readonly [number, number]>;

/** Packet loss is a fraction from 0 to this, as the help says. */
export const SIM_LOSS_MAX = 0.99;
