/**
 * Pacing of large replica transfers (a message cut in chunks, replica-split.ts). The consensus
 * sends an unacknowledged append or snapshot again at every heartbeat, which for a config of
 * megabytes is thousands of packets each time to each server that lags, more than the link may
 * carry before the next heartbeat. A transfer already sent to a server is therefore sent to it
 * again only once a pause has passed that grows with its size: TRANSFER_PAUSE_MS_MIN, or
 * TRANSFER_PAUSE_MS_PER_CHUNK for each of its chunks when that is longer. A message of one packet
 * is never held back. Copies merge at the receiver (the digest names the transfer), so a copy
 * skipped costs time, never correctness: the next heartbeat after the pause sends it again.
 *
 * Pure: the time is given. Bounded: at most TRANSFERS_REMEMBERED_MAX transfers, oldest forgotten.
 */

/** A transfer is not sent again to the same server within this (ms). */
export const TRANSFER_PAUSE_MS_MIN = 1_000;
/** ... nor within this much per chunk (ms), for a large one: about its own sending time on a slow link. */
export const TRANSFER_PAUSE_MS_PER_CHUNK = 1;
/** Transfers remembered at most (by server and digest). */
export const TRANSFERS_REMEMBERED_MAX = 1024;

/** The pause after sending a transfer of `chunks` pieces before it goes to the same server again (ms). */
export function transferPauseMs(chunks: number): number {
  return Math.max(TRANSFER_PAUSE_MS_MIN, chunks * TRANSFER_PAUSE_MS_PER_CHUNK);
}

export class TransferPacer {
  /** "server digest" -> when it may be sent again; in insertion order, for forgetting. */
  readonly #until = new Map<string, number>();
  /** Transfers held back (not sent again within their pause). */
  held_back = 0;

  /**
   * Whether a message of `chunks` pieces with `digest` goes to `to` now; when it does, the pause
   * starts. A message of one piece always goes.
   */
  send(now: number, to: string, digest: string, chunks: number): boolean {
    if (chunks <= 1) return true;
    const key = `${to} ${digest}`;
    const until = this.#until.get(key);
    if (until !== undefined && now < until) {
      this.held_back++;
      return false;
    }
    this.#until.delete(key);
    this.#until.set(key, now + transferPauseMs(chunks));
    if (this.#until.size > TRANSFERS_REMEMBERED_MAX) this.#until.delete(this.#until.keys().next().value!);
    return true;
  }
}
