/**
 * What may be configured on this host, kept across restarts: the runner's maybeHeld (items held,
 * or with an `alive` started since their last successful `down`), by system, in the agent's state
 * directory. At its next start the agent takes down those that its config no longer lists (the
 * runner's strays): an item removed from the file while the agent was stopped, or killed, would
 * otherwise stay on the host for ever, since nothing else remembers it.
 *
 * Saved after every script start and end that changes it (StateFile: write, fsync, rename, fsync
 * the directory). A SIGKILL between an `alive`'s start and the save leaves that one item out; if
 * the config still lists it, the start-up clean-up (`remove_on_start`) covers it as before.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { ITEM_BYTES_MAX, ITEM_COUNT_MAX, NAME_BYTES_MAX, SYSTEM_COUNT_MAX } from '../config/limits.js';
import { zodCheck } from '../state/document-check.js';
import { StateFile } from '../state/state-file.js';

/** The file in the server's state directory. */
export const MAYBE_HELD_FILE = 'maybe-held.json';

const schema = z.strictObject({
  systems: z.record(
    z.string().min(1).max(NAME_BYTES_MAX),
    z.array(z.string().min(1).max(ITEM_BYTES_MAX)).max(ITEM_COUNT_MAX),
  ),
});

type MaybeHeldDoc = z.infer<typeof schema>;

export type MaybeHeldLoad =
  | { kind: 'ok'; items: Map<string, string[]> }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string; path: string };

export class MaybeHeldFile {
  readonly #file: StateFile<MaybeHeldDoc>;
  /** What was last saved (or loaded), as JSON: a save of the same is skipped. */
  #last: string | undefined;

  constructor(state_dir: string) {
    this.#file = new StateFile({
      path: join(state_dir, MAYBE_HELD_FILE),
      kind: 'flip-maybe-held',
      check: zodCheck(schema),
    });
  }

  get path(): string {
    return this.#file.path;
  }

  async load(): Promise<MaybeHeldLoad> {
    const load = await this.#file.load();
    if (load.kind === 'missing') return { kind: 'missing' };
    if (load.kind === 'corrupt') return { kind: 'corrupt', reason: load.reason, path: load.path };
    const systems = Object.entries(load.doc.systems).slice(0, SYSTEM_COUNT_MAX);
    this.#last = JSON.stringify(Object.fromEntries(systems));
    return { kind: 'ok', items: new Map(systems) };
  }

  /** Saves `items` unless they are what was saved last; resolves once on disk. */
  async save(items: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const systems = Object.fromEntries([...items].map(([name, list]) => [name, [...list]]));
    const text = JSON.stringify(systems);
    if (text === this.#last) return;
    this.#last = text;
    await this.#file.save({ systems });
  }

  /** Resolves when no save is being written. */
  idle(): Promise<void> {
    return this.#file.idle();
  }
}
