/** Config documents the change tests start from. */
import { readFileSync } from 'node:fs';
import type { ConfigDocument } from '../../src/state/cluster-state.js';

/**
 * The README's example config (examples/readme.json), as the cluster would replicate it: without
 * `id`, which names one server and so belongs to each server's own file, not to the shared config.
 * Servers flip, flip1 (members of `ip`) and flip2 (an arbiter); `quorum: 2` set explicitly.
 */
export function readmeDocument(): ConfigDocument {
  const raw = JSON.parse(
    readFileSync(new URL('../../examples/readme.json', import.meta.url), 'utf8'),
  ) as ConfigDocument;
  delete raw.id;
  return raw;
}

/** Freezes a document and everything in it, so that any write to it throws (modules are strict). */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || Object.isFrozen(node)) continue;
    Object.freeze(node);
    stack.push(...Object.values(node));
  }
  return value;
}

/** The object at a dotted path of plain keys ("cluster.system.ip"), for assertions. */
export function at(doc: unknown, path: string): unknown {
  let node = doc;
  for (const key of path.split('.')) node = (node as Record<string, unknown>)?.[key];
  return node;
}
