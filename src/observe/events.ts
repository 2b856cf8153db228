/**
 * The recent events of one agent, in a bounded ring: what /v1/events returns and streams.
 * The newest `capacity` events are kept; ids grow by one per event, so a reader that asks for
 * the events after an id it has seen learns whether some were dropped in between. Listeners (the
 * event streams) hear each event as it is added; one that throws is removed, never the agent.
 */
import type { EventBody, EventDoc, EventsDoc } from '../api/types.js';

/** Events kept by default: hours of a calm cluster, minutes of a stormy one (~300 bytes each). */
export const EVENT_RING_CAPACITY = 1000;

export type EventListener = (event: EventDoc) => void;

export class EventRing {
  readonly capacity: number;
  readonly #events: EventDoc[] = [];
  /** Index in #events of the oldest event once the ring is full. */
  #start = 0;
  #lastId = 0;
  readonly #listeners = new Set<EventListener>();
  /** Listeners that threw and were removed. */
  listener_faults = 0;

  constructor(capacity = EVENT_RING_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('event ring capacity must be >= 1');
    this.capacity = capacity;
  }

  get last_id(): number {
    return this.#lastId;
  }

  /** Adds an event that happened at wall-clock `wall_ms`, and tells the listeners. */
  add(wall_ms: number, body: EventBody): EventDoc {
    const event: EventDoc = { id: ++this.#lastId, at: new Date(wall_ms).toISOString(), ...body };
    if (this.#events.length < this.capacity) this.#events.push(event);
    else {
      this.#events[this.#start] = event;
      this.#start = (this.#start + 1) % this.capacity;
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        this.#listeners.delete(listener);
        this.listener_faults++;
      }
    }
    return event;
  }

  /** The kept events with id > `since`, oldest first, at most `limit` (the newest ones). */
  since(since = 0, limit = this.capacity): EventsDoc {
    const oldest = this.#lastId - this.#events.length + 1;
    const from = Math.max(since + 1, oldest, this.#lastId - limit + 1);
    const events: EventDoc[] = [];
    for (let id = from; id <= this.#lastId; id++) events.push(this.#at(id));
    return { events, last_id: this.#lastId, truncated: from > since + 1 && since < this.#lastId };
  }

  #at(id: number): EventDoc {
    const oldest = this.#lastId - this.#events.length + 1;
    return this.#events[(this.#start + (id - oldest)) % this.#events.length]!;
  }

  /** Calls `listener` with every event added from now on, until the returned function is called. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
