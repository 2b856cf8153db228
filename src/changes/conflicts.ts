/**
 * When a change made against an old version must be refused: the operator saw version 5, someone
 * else committed version 6 since, and the change is about to apply to version 6. Most such
 * changes are fine (two operators adding different items), so the leader refuses one only when it
 * conflicts with a change committed after its base.
 *
 * The rule: each change touches parts of the config, listed below; two changes conflict when they
 * touch the same part of the same system or server, or when either touches a system or server as
 * a whole and the other touches anything of it.
 *
 * | change | touches |
 * | --- | --- |
 * | data_add, data_rm | each named item of the system |
 * | system_set | each set key of the system |
 * | system_add, system_rm | the system, whole; system_add also each member server's membership of it |
 * | server_add | the server, whole; and its membership of each system it joins |
 * | server_rm | the server, whole |
 *
 * So `data add vip A` conflicts with a later `data rm vip A` or `data add vip A`, and with a later
 * `system rm vip`, but not with `data add vip B` or `system set vip delay=200`; `system set vip
 * delay=200` conflicts with a later `system set vip delay=300`; `server add flip4 --systems vip`
 * conflicts with a later `server rm flip4` and `system rm vip`, but not with `server add flip5
 * --systems vip`. A server_rm conflicts with nothing about the systems its server was in: whether
 * it may go (it is no system's last member) is checked against the config it applies to (fit.ts),
 * as is everything else a conflict does not cover.
 *
 * Pure; the caller decides what a conflict means (refuse with the message, and the client retries
 * or reports).
 */
import { quote } from '../text/quote.js';
import type { ConfigChange } from './change.js';
import { describeChange } from './describe-change.js';

/** A part of the config a change touches. */
interface Touch {
  /** What it belongs to: a system or a server, by name. */
  owner: { kind: 'system' | 'server'; name: string };
  /**
   * The part: all of it, one item, one key, or a membership: of server `other` in this system,
   * or of this server in system `other`.
   */
  part:
    | { kind: 'whole' }
    | { kind: 'item'; item: string }
    | { kind: 'key'; key: string }
    | { kind: 'member'; other: string };
}

/**
 * Why `change` conflicts with `later`, the changes committed after `change.base_version`, in
 * commit order (versions base_version + 1, base_version + 2, ...); undefined when it conflicts
 * with none. The message names the first such change by its version and what both touch. Takes
 * time in proportion to the items and keys of all the changes together.
 */
export function conflicts(change: ConfigChange, later: readonly ConfigChange[]): string | undefined {
  const found = firstConflict(change, later);
  if (found === undefined) return undefined;
  const version = change.base_version + 1 + found.position;
  return `conflicts with version ${version} (${describeChange(found.other)}), committed after version ${change.base_version} that this change was made against: both change ${found.what}; look at the config again (flip config show) and retry`;
}

/**
 * Why `change` conflicts with `pending`, changes a leader has appended but not committed yet
 * (they commit before it): no client can have seen them, so any of them that touches what
 * `change` touches was made at the same time, whatever `change.base_version`. Undefined when it
 * conflicts with none. Same rule and cost as `conflicts`.
 */
export function conflictsPending(change: ConfigChange, pending: readonly ConfigChange[]): string | undefined {
  const found = firstConflict(change, pending);
  if (found === undefined) return undefined;
  return `conflicts with a change not committed yet (${describeChange(found.other)}), made at the same time: both change ${found.what}; retry once it is committed (flip config show)`;
}

/** The first of `others` that conflicts with `change`: its position, and what both touch. */
function firstConflict(
  change: ConfigChange,
  others: readonly ConfigChange[],
): { position: number; other: ConfigChange; what: string } | undefined {
  const mine = new TouchIndex(touches(change));
  for (const [position, other] of others.entries()) {
    for (const theirs of touches(other)) {
      const touched = mine.overlapping(theirs);
      if (touched === undefined) continue;
      return { position, other, what: partName(touched.part.kind === 'whole' ? theirs : touched) };
    }
  }
  return undefined;
}

/** One change's touches, found by owner and by part in constant time. */
class TouchIndex {
  private readonly byOwner = new Map<string, Touch>();
  private readonly wholeByOwner = new Map<string, Touch>();
  private readonly byPart = new Map<string, Touch>();

  constructor(touches: readonly Touch[]) {
    for (const touch of touches) {
      const owner = ownerKey(touch);
      if (!this.byOwner.has(owner)) this.byOwner.set(owner, touch);
      if (touch.part.kind === 'whole') this.wholeByOwner.set(owner, touch);
      else this.byPart.set(partKey(touch), touch);
    }
  }

  /**
   * A touch of this change that overlaps `other`: the same part of the same owner, or either of
   * them the whole owner.
   */
  overlapping(other: Touch): Touch | undefined {
    const owner = ownerKey(other);
    if (other.part.kind === 'whole') return this.byOwner.get(owner);
    return this.wholeByOwner.get(owner) ?? this.byPart.get(partKey(other));
  }
}

/** The parts of the config `change` touches (see the table above). */
function touches(change: ConfigChange): Touch[] {
  const system = (name: string, part: Touch['part']): Touch => ({ owner: { kind: 'system', name }, part });
  const server = (name: string, part: Touch['part']): Touch => ({ owner: { kind: 'server', name }, part });
  switch (change.kind) {
    case 'data_add':
    case 'data_rm':
      return change.items.map((item) => system(change.system, { kind: 'item', item }));
    case 'system_set':
      return Object.keys(change.values).map((key) => system(change.system, { kind: 'key', key }));
    case 'system_add':
      return [
        system(change.system, { kind: 'whole' }),
        ...change.members.map((id) => server(id, { kind: 'member', other: change.system })),
      ];
    case 'system_rm':
      return [system(change.system, { kind: 'whole' })];
    case 'server_add':
      return [
        server(change.id, { kind: 'whole' }),
        ...(change.systems ?? []).map((name) => system(name, { kind: 'member', other: change.id })),
      ];
    case 'server_rm':
      return [server(change.id, { kind: 'whole' })];
  }
}

/** Keys that no name can make ambiguous (names may hold spaces and quotes). */
function ownerKey(touch: Touch): string {
  return JSON.stringify([touch.owner.kind, touch.owner.name]);
}

function partKey(touch: Touch): string {
  const { part } = touch;
  const detail =
    part.kind === 'whole'
      ? ''
      : part.kind === 'item'
        ? part.item
        : part.kind === 'key'
          ? part.key
          : part.other;
  return JSON.stringify([touch.owner.kind, touch.owner.name, part.kind, detail]);
}

/** "item "10.0.0.9" of system "vip"", "delay of system "vip"", "server "flip4"". */
function partName(touch: Touch): string {
  const owner = `${touch.owner.kind} ${quote(touch.owner.name)}`;
  switch (touch.part.kind) {
    case 'whole':
      return owner;
    case 'item':
      return `item ${quote(touch.part.item)} of ${owner}`;
    case 'key':
      return `${touch.part.key} of ${owner}`;
    case 'member':
      return touch.owner.kind === 'system'
        ? `the membership of server ${quote(touch.part.other)} in ${owner}`
        : `the membership of ${owner} in system ${quote(touch.part.other)}`;
  }
}
