/** Reading the recording scripts' lines of a loopback cluster (demo/loopback-cluster.ts). */
import type { RecordLine } from '../../src/demo/loopback-cluster.js';

/**
 * Who holds what by the records, for any items (not only the config's): alive adds, down removes.
 * `step` sees each record with the holders of its item just after it.
 */
export function holders(
  records: readonly RecordLine[],
  step?: (record: RecordLine, nodes: ReadonlySet<string>) => void,
): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>();
  for (const record of records) {
    const nodes = held.get(record.item) ?? new Set<string>();
    held.set(record.item, nodes);
    if (record.event === 'alive') nodes.add(record.node);
    else nodes.delete(record.node);
    step?.(record, nodes);
  }
  return held;
}

/** Each moment the records put an item on two servers or more, as "ITEM on A,B". */
export function twoHolders(records: readonly RecordLine[]): string[] {
  const found: string[] = [];
  holders(records, (record, nodes) => {
    if (nodes.size > 1) found.push(`${record.item} on ${[...nodes]}`);
  });
  return found;
}
