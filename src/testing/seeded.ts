/**
 * Seeded randomness for tests and benchmarks: the simulator's generator (mulberry32, see
 * src/sim/random.ts), so that one seed replays the same run everywhere.
 */
import { Random } from '../sim/random.js';

export { Random };

/** A seeded uniform source in [0, 1), for options that take `random: () => number`. */
export function seeded(seed: number): () => number {
  return new Random(seed).next;
}
