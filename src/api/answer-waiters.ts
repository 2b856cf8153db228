/**
 * The API's requests waiting for their answers from the config replica, by request id: what an
 * agent's ChangeService.submit needs between `ConfigReplica.propose` (which returns the id) and
 * the `answer` effect that carries it. Register with `wait` before the effects of that propose
 * are carried out: an answer known at once comes among them. An answer for an id nobody waits
 * for (the client left, or the API stopped waiting) is dropped. Bounded by the replica, which
 * holds at most REQUESTS_WAITING_MAX requests and answers each once, within its own bound.
 */
import type { ChangeAnswer } from '../replica/answer.js';

export class AnswerWaiters {
  readonly #waiting = new Map<number, (answer: ChangeAnswer) => void>();

  /** Requests waiting. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * The answer of `request`, once `settle` gives it. When `signal` aborts first, the wait ends
   * with a `timeout` answer (the change may still commit) and a later answer is dropped.
   */
  wait(request: number, signal: AbortSignal): Promise<ChangeAnswer> {
    if (this.#waiting.has(request)) throw new Error(`request ${request} is already waited for`);
    return new Promise((resolve) => {
      const stop = () => {
        this.#waiting.delete(request);
        resolve({
          kind: 'timeout',
          message:
            'the API stopped waiting for the answer: the change may be committed or not; look at the config (flip config show) before retrying',
        });
      };
      if (signal.aborted) return stop();
      signal.addEventListener('abort', stop, { once: true });
      this.#waiting.set(request, (answer) => {
        signal.removeEventListener('abort', stop);
        this.#waiting.delete(request);
        resolve(answer);
      });
    });
  }

  /** Gives `request` its answer; false when nobody waits for it (it is dropped). */
  settle(request: number, answer: ChangeAnswer): boolean {
    const waiter = this.#waiting.get(request);
    if (waiter === undefined) return false;
    waiter(answer);
    return true;
  }
}
