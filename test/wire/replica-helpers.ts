/**
 * Helpers for the replica body tests: seeded random replica messages of every kind (valid by
 * construction, checked by the tests with parseChange) and a byte builder written from the layout
 * documented in src/wire/replica-body.ts (not from the codec), so tests can build any body, valid
 * or not, and check the codec against the specification.
 */
import { Buffer } from 'node:buffer';
import type { ConfigChange } from '../../src/changes/index.js';
import type { ConfigIssue } from '../../src/config/errors.js';
import type { LogChange } from '../../src/consensus/log-change.js';
import type { Entry } from '../../src/consensus/messages.js';
import { testConfig } from '../../src/consensus/testing.js';
import type { ChangeAnswer } from '../../src/replica/answer.js';
import type { ReplicaMessage } from '../../src/replica/messages.js';
import type { ConfigDocument } from '../../src/state/cluster-state.js';
import type { Rng } from './helpers.js';

/** Server ids: ASCII, UTF-8 of two, three and four bytes, and the longest the config allows (255 bytes). */
export const NAMES = ['flip1', 'flip2', 'ñodo-ß', '节点三', 'srv-🚀', 'x'.repeat(255)] as const;

const ITEMS = [
  '10.0.0.1/24',
  '192.0.2.7',
  'fd00::1/64',
  'item with spaces',
  'línea\nnueva',
  '€uro',
  'z'.repeat(300),
];

/** A count: small, mid-sized or near 2^53 (the range every u64 of the layout must carry). */
export function count(rng: Rng): number {
  return rng.incarnation();
}

function items(rng: Rng): string[] {
  const n = rng.between(1, 4);
  const chosen = new Set<string>();
  while (chosen.size < n) chosen.add(rng.chance(0.5) ? rng.pick(ITEMS) : `item-${rng.u32()}`);
  return [...chosen];
}

export function randomChange(rng: Rng): ConfigChange {
  const base_version = rng.chance(0.3) ? 0 : count(rng);
  const system = rng.pick(['vip', 'db', 'ßystem']);
  switch (rng.below(7)) {
    case 0:
      return { kind: 'data_add', system, items: items(rng), base_version };
    case 1:
      return { kind: 'data_rm', system, items: items(rng), base_version };
    case 2: {
      const change: ConfigChange = {
        kind: 'server_add',
        id: rng.pick(NAMES),
        ip: rng.pick(['10.0.0.9', '::1', '192.0.2.200']),
        port: rng.between(1, 65535),
        base_version,
      };
      if (rng.chance(0.5)) change.priority = rng.below(100);
      if (rng.chance(0.5)) change.systems = rng.chance(0.5) ? ['vip'] : [];
      return change;
    }
    case 3:
      return { kind: 'server_rm', id: rng.pick(NAMES), base_version };
    case 4:
      return {
        kind: 'system_set',
        system,
        values: rng.chance(0.5) ? { delay: rng.between(0, 1000) } : { check: null, alive: 'up.sh' },
        base_version,
      };
    case 5:
      return {
        kind: 'system_add',
        system,
        definition: {
          alive: 'up',
          down: 'down',
          type: 'single',
          data: rng.chance(0.5) ? items(rng) : [],
          config: { nested: { list: [1, 'two', null, true], depth: { a: { b: {} } } } },
        },
        members: [rng.pick(NAMES)],
        base_version,
      };
    default:
      return { kind: 'system_rm', system, base_version };
  }
}

function randomLogChange(rng: Rng): LogChange {
  return rng.chance(0.2) ? { kind: 'noop' } : randomChange(rng);
}

/** A config the config file's validation accepts, with `itemCount` items of about `itemBytes` bytes. */
export function bigConfig(itemCount: number, itemBytes = 32): ConfigDocument {
  const config = testConfig(['flip1', 'flip2', 'flip3']) as {
    cluster: { system: { vip: { data: string[] } } };
  };
  const pad = 'x'.repeat(Math.max(0, itemBytes - 12));
  config.cluster.system.vip.data = Array.from(
    { length: itemCount },
    (_, i) => `${pad}${String(i).padStart(12, '0')}`,
  );
  return config as unknown as ConfigDocument;
}

function randomAnswer(rng: Rng): ChangeAnswer {
  switch (rng.below(7)) {
    case 0:
      return { kind: 'committed', version: Math.max(1, count(rng)) };
    case 1:
      return {
        kind: 'no_op',
        version: count(rng),
        reason: 'the config already is as this change would make it',
      };
    case 2: {
      const issues: ConfigIssue[] = [];
      for (let i = rng.below(4); i > 0; i--) {
        const issue: ConfigIssue = {
          path: rng.pick(['items[0]', 'cluster.system.vip.type', '']),
          message: rng.pick(ITEMS),
        };
        if (rng.chance(0.3)) issue.line = rng.u32();
        if (rng.chance(0.3)) issue.column = rng.below(200);
        issues.push(issue);
      }
      return { kind: 'invalid', issues };
    }
    case 3:
      return { kind: 'conflict', message: 'touches "vip", changed by version 7 since 5' };
    case 4:
      return { kind: 'no_quorum', message: '' };
    case 5:
      return { kind: 'unknown_server', server: rng.pick(NAMES), message: 'not a server of the config' };
    default:
      return { kind: 'timeout', message: 'no answer within 4000 ms ⏱' };
  }
}

export const REPLICA_KINDS = [
  'pre_vote',
  'pre_vote_reply',
  'vote',
  'vote_reply',
  'append',
  'append_reply',
  'snapshot',
  'snapshot_reply',
  'change_forward',
  'change_reply',
] as const satisfies readonly ReplicaMessage['kind'][];

/** A term of at least `min`, often a boundary value. */
function termAtLeast(rng: Rng, min: number): number {
  const term = count(rng);
  return Math.max(term, min);
}

/** A random valid replica message of `kind` (any kind when not given). */
export function randomReplicaMessage(rng: Rng, kind = rng.pick(REPLICA_KINDS)): ReplicaMessage {
  const from = rng.pick(NAMES);
  switch (kind) {
    case 'pre_vote':
    case 'vote': {
      const term = count(rng);
      const last_index = rng.chance(0.2) ? 0 : count(rng);
      const last_term = last_index === 0 ? 0 : Math.min(term, count(rng));
      return { kind, from, term, last_index, last_term };
    }
    case 'pre_vote_reply':
    case 'vote_reply':
      return { kind, from, term: count(rng), granted: rng.chance(0.5) };
    case 'append': {
      const term = termAtLeast(rng, 1);
      const prev_index = rng.chance(0.2)
        ? 0
        : rng.chance(0.5)
          ? rng.between(1, 1000)
          : Math.max(1, count(rng) - 100);
      const prev_term = prev_index === 0 ? 0 : rng.between(0, Math.min(term, 1000));
      const entries: Entry[] = [];
      let entryTerm = Math.max(1, prev_term);
      for (let i = rng.pick([0, 0, 1, 3, 8]); i > 0; i--) {
        if (rng.chance(0.3) && entryTerm < term) entryTerm += 1;
        entries.push({
          index: prev_index + entries.length + 1,
          term: entryTerm,
          change: randomLogChange(rng),
        });
      }
      return { kind, from, term, prev_index, prev_term, entries, commit: count(rng) };
    }
    case 'append_reply':
      return rng.chance(0.5)
        ? { kind, from, term: count(rng), success: true, match_index: count(rng) }
        : { kind, from, term: count(rng), success: false, next_hint: count(rng) };
    case 'snapshot': {
      const term = count(rng);
      const index = rng.chance(0.2) ? 0 : count(rng);
      const version = rng.below(Math.min(index, 1000) + 1);
      const config = bigConfig(rng.below(5));
      return { kind, from, term, snapshot: { version, index, term: rng.below(term + 1), config } };
    }
    case 'snapshot_reply':
      return { kind, from, term: count(rng), match_index: count(rng) };
    case 'change_forward':
      return {
        kind,
        from,
        term: count(rng),
        request: count(rng),
        change: randomChange(rng),
        again: rng.chance(0.5),
      };
    case 'change_reply':
      return { kind, from, request: count(rng), answer: randomAnswer(rng) };
  }
}

/**
 * Bytes from the layout in replica-body.ts: a test names each field as the spec does, so a body
 * can be built valid, or wrong in exactly one place.
 */
export class LayoutBytes {
  readonly #parts: number[] = [];

  u8(value: number): this {
    this.#parts.push(value & 0xff);
    return this;
  }

  u16(value: number): this {
    return this.u8(value >>> 8).u8(value);
  }

  u32(value: number): this {
    return this.u16(Math.floor(value / 0x1_0000)).u16(value % 0x1_0000);
  }

  /** A u64 from its high and low u32 halves (so values from 2^53 up can be written too). */
  u64(value: number, high = Math.floor(value / 0x1_0000_0000)): this {
    return this.u32(high).u32(value % 0x1_0000_0000);
  }

  raw(bytes: Uint8Array | readonly number[]): this {
    for (const byte of bytes) this.#parts.push(byte);
    return this;
  }

  /** name = u8 byte length, UTF-8. */
  name(text: string): this {
    const bytes = Buffer.from(text, 'utf8');
    return this.u8(bytes.length).raw(bytes);
  }

  /** text = u16 byte length, UTF-8. */
  text(text: string): this {
    const bytes = Buffer.from(text, 'utf8');
    return this.u16(bytes.length).raw(bytes);
  }

  /** json = u32 byte length, UTF-8 JSON (or any text given as a string). */
  json(value: unknown, raw = false): this {
    const bytes = Buffer.from(raw ? String(value) : JSON.stringify(value), 'utf8');
    return this.u32(bytes.length).raw(bytes);
  }

  get bytes(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
