/** Reading the recording scripts' lines of a loopback cluster (demo/loopback-cluster.ts). */
import type { RecordLine } from '../../src/demo/loopback-cluster.js';

/** Who holds what by the records, for any items (not only the config's): alive adds, down removes. */
export function holders(records: readonly RecordLine[]): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>();
  for (const record of records) {
    const nodes = held.get(record.item) ?? new Set<string>();
    held.set(record.item, nodes);
    if (record.event === 'alive') nodes.add(record.node);
    else nodes.delete(record.node);
  }
  return held;
}
