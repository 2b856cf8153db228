/**
 * Local health awareness (Lifeguard): a bounded score that rises on signs that this node
 * itself is slow or cut off (a probe that got neither an ack nor a nack from any helper, a
 * refutation of our own suspicion, a stalled event loop) and falls on each successful probe.
 */
import { HEALTH_SCORE_MAX } from './timing.js';

export class Awareness {
  #score = 0;

  get score(): number {
    return this.#score;
  }

  /** Raises (positive) or lowers (negative) the score, kept within [0, HEALTH_SCORE_MAX]. */
  apply(delta: number): void {
    this.#score = Math.min(HEALTH_SCORE_MAX, Math.max(0, this.#score + delta));
  }
}
