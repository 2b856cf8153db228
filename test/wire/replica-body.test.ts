import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChange } from '../../src/changes/index.js';
import { parseLogChange } from '../../src/consensus/log-change.js';
import { testConfig } from '../../src/consensus/testing.js';
import type { ReplicaMessage } from '../../src/replica/messages.js';
import {
  CHANGE_ANSWER_CODES,
  MESSAGE_TYPE_CODES,
  REPLICA_BODY_CODES,
  REPLICA_KIND_CODES,
} from '../../src/wire/codes.js';
import { DROP_REASONS } from '../../src/wire/drop-reasons.js';
import { BODY_BYTES_MAX } from '../../src/wire/layout.js';
import { ANSWER_ISSUES_MAX, REPLICA_ENTRIES_MAX, REPLICA_MESSAGE_BYTES_MAX } from '../../src/wire/limits.js';
import {
  decodeReplicaBody,
  decodeReplicaMessage,
  encodeReplicaBody,
  encodeReplicaMessage,
  REPLICA_CHUNK_PIECE_BYTES,
  REPLICA_DIGEST_BYTES,
  REPLICA_WHOLE_BYTES_MAX,
  type ReplicaDropReason,
  replicaMessageSize,
} from '../../src/wire/replica-body.js';
import { hex, Rng } from './helpers.js';
import { LayoutBytes, NAMES, REPLICA_KINDS, randomReplicaMessage } from './replica-helpers.js';

const K = REPLICA_KIND_CODES;

function roundTrip(message: ReplicaMessage): Uint8Array {
  const bytes = encodeReplicaMessage(message);
  assert.equal(bytes.length, replicaMessageSize(message), 'replicaMessageSize agrees with the encoding');
  const decoded = decodeReplicaMessage(bytes);
  assert.ok(decoded.ok, `decode failed: ${decoded.ok ? '' : `${decoded.reason}: ${decoded.detail}`}`);
  assert.deepEqual(decoded.message, message);
  return bytes;
}

function refused(bytes: Uint8Array, reason: ReplicaDropReason, pattern: RegExp): void {
  const decoded = decodeReplicaMessage(bytes);
  assert.equal(decoded.ok, false, `accepted ${hex(bytes.subarray(0, 64))}`);
  if (decoded.ok) return;
  assert.equal(decoded.reason, reason, decoded.detail);
  assert.match(decoded.detail, pattern);
}

/** The head of every replica message: kind, from, and (for the Raft kinds) term. */
function head(kind: keyof typeof K, from = 'flip1'): LayoutBytes {
  return new LayoutBytes().u8(K[kind]).name(from);
}

describe('replica body codes', () => {
  it('are the protocol numbers, never renumbered', () => {
    assert.deepEqual(REPLICA_BODY_CODES, { replica: 13, replica_chunk: 14 });
    assert.deepEqual(K, {
      pre_vote: 1,
      pre_vote_reply: 2,
      vote: 3,
      vote_reply: 4,
      append: 5,
      append_reply: 6,
      snapshot: 7,
      snapshot_reply: 8,
      change_forward: 9,
      change_reply: 10,
    });
    assert.deepEqual(CHANGE_ANSWER_CODES, {
      committed: 1,
      no_op: 2,
      invalid: 3,
      conflict: 4,
      no_quorum: 5,
      unknown_server: 6,
      timeout: 7,
    });
  });

  it('share no first byte with a membership message type', () => {
    const membership = new Set<number>(Object.values(MESSAGE_TYPE_CODES));
    for (const code of Object.values(REPLICA_BODY_CODES)) assert.ok(!membership.has(code), `code ${code}`);
  });

  it('add drop reasons at the end of the list, after every earlier one', () => {
    const added = ['malformed_replica', 'invalid_replica_content', 'bad_chunk', 'chunk_digest'];
    assert.deepEqual(DROP_REASONS.slice(-added.length), added);
    assert.equal(DROP_REASONS.indexOf('malformed_body'), DROP_REASONS.length - added.length - 1);
  });
});

describe('replica message codec: round trip', () => {
  it('carries 3000 seeded messages of every kind unchanged', () => {
    const rng = new Rng(0x5eed_1200);
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const message = randomReplicaMessage(rng, REPLICA_KINDS[i % REPLICA_KINDS.length]);
      if (message.kind === 'change_forward')
        assert.ok(parseChange(message.change).ok, 'the generator makes valid changes');
      if (message.kind === 'append')
        for (const entry of message.entries) assert.ok(parseLogChange(entry.change).ok, 'and valid entries');
      seen.add(message.kind);
      try {
        roundTrip(message);
      } catch (error) {
        assert.fail(
          `message ${i} (seed 0x5eed1200): ${(error as Error).message}\n${JSON.stringify(message)}`,
        );
      }
    }
    assert.deepEqual([...seen].sort(), [...REPLICA_KINDS].sort());
  });

  it('carries a whole message in a `replica` body: type 13, then the message', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 300; i++) {
      const message = randomReplicaMessage(rng);
      const encoding = encodeReplicaMessage(message);
      if (encoding.length > REPLICA_WHOLE_BYTES_MAX) continue;
      const body = encodeReplicaBody({ type: 'replica', message });
      assert.equal(body[0], 13);
      assert.deepEqual(body.subarray(1), encoding);
      assert.ok(body.length <= BODY_BYTES_MAX);
      const decoded = decodeReplicaBody(body);
      assert.ok(decoded.ok && decoded.body.type === 'replica');
      assert.deepEqual(decoded.body.message, message);
    }
  });

  it('reads bodies built from the documented layout', () => {
    const vote = head('vote', 'ñodo-ß').u64(9).u64(41).u64(8).bytes;
    assert.deepEqual(decodeReplicaMessage(vote), {
      ok: true,
      message: { kind: 'vote', from: 'ñodo-ß', term: 9, last_index: 41, last_term: 8 },
    });
    const change = { kind: 'data_add', system: 'vip', items: ['10.0.0.1'], base_version: 3 };
    const append = head('append')
      .u64(5)
      .u64(10)
      .u64(4)
      .u64(9)
      .u16(2)
      .u64(4)
      .json({ kind: 'noop' })
      .u64(5)
      .json(change).bytes;
    assert.deepEqual(decodeReplicaMessage(append), {
      ok: true,
      message: {
        kind: 'append',
        from: 'flip1',
        term: 5,
        prev_index: 10,
        prev_term: 4,
        commit: 9,
        entries: [
          { index: 11, term: 4, change: { kind: 'noop' } },
          { index: 12, term: 5, change },
        ],
      },
    });
    const reply = head('change_reply')
      .u64(77)
      .u8(3)
      .u16(1)
      .text('items[0]')
      .text('is already there')
      .u8(3)
      .u32(4)
      .u32(2).bytes;
    assert.deepEqual(decodeReplicaMessage(reply), {
      ok: true,
      message: {
        kind: 'change_reply',
        from: 'flip1',
        request: 77,
        answer: {
          kind: 'invalid',
          issues: [{ path: 'items[0]', message: 'is already there', line: 4, column: 2 }],
        },
      },
    });
    const failed = head('append_reply').u64(3).u8(0).u64(17).bytes;
    assert.deepEqual(decodeReplicaMessage(failed), {
      ok: true,
      message: { kind: 'append_reply', from: 'flip1', term: 3, success: false, next_hint: 17 },
    });
  });

  it('gives back the sender JSON value itself, not a rewrite of it', () => {
    // A key order the schema would not produce, and values zod could normalise.
    const change = { base_version: 0, items: ['b', 'a'], system: 'vip', kind: 'data_add' };
    const bytes = head('change_forward').u64(1).u64(1).u8(0).json(change).bytes;
    const decoded = decodeReplicaMessage(bytes);
    assert.ok(decoded.ok && decoded.message.kind === 'change_forward');
    assert.equal(JSON.stringify(decoded.message.change), JSON.stringify(change));
  });
});

describe('replica message codec: the encoder refuses what the replica never builds', () => {
  const vote: ReplicaMessage = { kind: 'vote', from: 'flip1', term: 2, last_index: 1, last_term: 1 };
  const cases: [string, ReplicaMessage, RegExp][] = [
    ['a negative term', { ...vote, term: -1 }, /term -1/],
    ['a term past 2^53', { ...vote, term: 2 ** 53 }, /term/],
    ['an empty server id', { ...vote, from: '' }, /must not be empty/],
    ['a server id of 256 bytes', { ...vote, from: 'x'.repeat(256) }, /at most 255 bytes/],
    [
      'entries whose indexes skip',
      {
        kind: 'append',
        from: 'flip1',
        term: 1,
        prev_index: 0,
        prev_term: 0,
        commit: 0,
        entries: [{ index: 2, term: 1, change: { kind: 'noop' } }],
      },
      /entry 0 has index 2/,
    ],
    [
      'a message text over 65535 bytes',
      {
        kind: 'change_reply',
        from: 'flip1',
        request: 1,
        answer: { kind: 'conflict', message: 'x'.repeat(65_536) },
      },
      /longer than 65535/,
    ],
    [
      'more issues than a reply carries',
      {
        kind: 'change_reply',
        from: 'flip1',
        request: 1,
        answer: {
          kind: 'invalid',
          issues: Array.from({ length: ANSWER_ISSUES_MAX + 1 }, () => ({ path: '', message: 'x' })),
        },
      },
      /issues exceed/,
    ],
  ];
  for (const [name, message, pattern] of cases)
    it(name, () => {
      assert.throws(
        () => encodeReplicaMessage(message),
        (error: Error) => error instanceof RangeError && pattern.test(error.message),
      );
    });
});

describe('replica message codec: every malformed field is refused with its reason', () => {
  const M = 'malformed_replica';
  const C = 'invalid_replica_content';
  const okConfig = testConfig(['flip1', 'flip2', 'flip3']);
  const deep: unknown = JSON.parse(`${'{"a":'.repeat(45)}1${'}'.repeat(45)}`);
  const cases: [string, Uint8Array, ReplicaDropReason, RegExp][] = [
    ['an empty message', new Uint8Array(0), M, /truncated: replica kind/],
    ['kind 0', new LayoutBytes().u8(0).name('flip1').bytes, M, /unknown replica message kind 0/],
    [
      'kind 11, not (yet) a kind',
      new LayoutBytes().u8(11).name('flip1').bytes,
      M,
      /unknown replica message kind 11/,
    ],
    ['an empty server id', head('vote_reply', '').u64(1).u8(1).bytes, M, /vote_reply from must not be empty/],
    [
      'a server id with a control character',
      head('vote_reply', 'a\u0007b').u64(1).u8(1).bytes,
      M,
      /control character/,
    ],
    ['a server id "__proto__"', head('vote_reply', '__proto__').u64(1).u8(1).bytes, M, /reserved/],
    [
      'a server id that is not UTF-8',
      new LayoutBytes().u8(K.vote_reply).u8(2).raw([0xc3, 0x28]).u64(1).u8(1).bytes,
      M,
      /from is not UTF-8/,
    ],
    [
      'a server id cut short',
      new LayoutBytes().u8(K.vote_reply).u8(9).raw([0x61]).bytes,
      M,
      /truncated: vote_reply from/,
    ],
    [
      'a term of 2^53',
      head('vote_reply').u64(0, 0x20_0000).u8(1).bytes,
      M,
      /vote_reply term is 2\^53 or more/,
    ],
    ['granted 2', head('vote_reply').u64(1).u8(2).bytes, M, /granted is 2, not 0 or 1/],
    ['success 255', head('append_reply').u64(1).u8(255).u64(1).bytes, M, /success is 255/],
    ['a trailing byte', head('vote_reply').u64(1).u8(1).u8(0).bytes, M, /1 trailing bytes/],
    [
      'a vote whose log is of a later term than it asks',
      head('vote').u64(3).u64(9).u64(4).bytes,
      M,
      /last_term 4 is after its term 3/,
    ],
    [
      'a pre_vote with a term for an empty log',
      head('pre_vote').u64(3).u64(0).u64(1).bytes,
      M,
      /of an empty log/,
    ],
    [
      'an append with prev_term at index 0',
      head('append').u64(3).u64(0).u64(1).u64(0).u16(0).bytes,
      M,
      /prev_term 1 at index 0/,
    ],
    [
      'an append with prev_term after its term',
      head('append').u64(3).u64(5).u64(4).u64(0).u16(0).bytes,
      M,
      /after its term 3/,
    ],
    [
      'an entry count over the bound',
      head('append')
        .u64(3)
        .u64(5)
        .u64(2)
        .u64(0)
        .u16(REPLICA_ENTRIES_MAX + 1).bytes,
      M,
      /count 1025 is above 1024/,
    ],
    [
      'an entry count the bytes cannot hold',
      head('append').u64(3).u64(5).u64(2).u64(0).u16(3).bytes,
      M,
      /count 3 needs 36 bytes, 0 left/,
    ],
    [
      'entries whose terms go back',
      head('append')
        .u64(5)
        .u64(5)
        .u64(2)
        .u64(0)
        .u16(2)
        .u64(4)
        .json({ kind: 'noop' })
        .u64(3)
        .json({ kind: 'noop' }).bytes,
      M,
      /entry 1 term 3 is below 4/,
    ],
    [
      'an entry of a term below prev_term',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(3).json({ kind: 'noop' }).bytes,
      M,
      /entry 0 term 3 is below 4/,
    ],
    [
      'an entry of a later term than the append',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(6).json({ kind: 'noop' }).bytes,
      M,
      /entry 0 term 6 is after the append's term 5/,
    ],
    [
      'an entry of term 0',
      head('append').u64(5).u64(0).u64(0).u64(0).u16(1).u64(0).json({ kind: 'noop' }).bytes,
      M,
      /entry 0 has term 0/,
    ],
    [
      'entries past 2^53',
      head('append').u64(5).u64(Number.MAX_SAFE_INTEGER).u64(4).u64(0).u16(1).u64(5).json({ kind: 'noop' })
        .bytes,
      M,
      /pass 2\^53/,
    ],
    [
      'an entry whose change is not JSON',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(5).json('{"kind":', true).bytes,
      M,
      /entry 0 change is not JSON/,
    ],
    [
      'an entry whose change is not UTF-8',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(5).u32(2).raw([0xff, 0xfe]).bytes,
      M,
      /entry 0 change is not UTF-8/,
    ],
    [
      'an entry whose change length runs past the end',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(5).u32(1_000_000).raw([0x7b]).bytes,
      M,
      /truncated: entry 0 change needs 1000000 bytes/,
    ],
    [
      'an entry that is not a change',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(5).json({ kind: 'data_ad', system: 'vip' }).bytes,
      C,
      /entry 0 change: kind: "data_ad" is not one of/,
    ],
    [
      'an entry with a noop and more',
      head('append').u64(5).u64(5).u64(4).u64(0).u16(1).u64(5).json({ kind: 'noop', extra: 1 }).bytes,
      C,
      /entry 0 change/,
    ],
    [
      'a forwarded change without items',
      head('change_forward')
        .u64(1)
        .u64(1)
        .u8(0)
        .json({ kind: 'data_add', system: 'vip', items: [], base_version: 0 }).bytes,
      C,
      /change_forward change: items: must list at least one item/,
    ],
    [
      'a forwarded change with a key reserved by JavaScript',
      head('change_forward')
        .u64(1)
        .u64(1)
        .u8(0)
        .json('{"kind":"server_rm","id":"a","base_version":0,"__proto__":{}}', true).bytes,
      C,
      /reserved/,
    ],
    [
      'a forwarded change that is a list',
      head('change_forward').u64(1).u64(1).u8(0).json([1, 2]).bytes,
      C,
      /must be an object/,
    ],
    [
      'a snapshot of a later term than the message',
      head('snapshot').u64(2).u64(1).u64(4).u64(3).json(okConfig).bytes,
      M,
      /snapshot term 3 is after the message's term 2/,
    ],
    [
      'a snapshot with more versions than entries',
      head('snapshot').u64(2).u64(5).u64(4).u64(1).json(okConfig).bytes,
      M,
      /version 5 is above its index 4/,
    ],
    [
      'a snapshot whose config is a list',
      head('snapshot').u64(2).u64(1).u64(4).u64(1).json([okConfig]).bytes,
      C,
      /not a JSON object/,
    ],
    [
      'a snapshot whose config is null',
      head('snapshot').u64(2).u64(1).u64(4).u64(1).json(null).bytes,
      C,
      /not a JSON object/,
    ],
    [
      'a snapshot whose config nests too deep',
      head('snapshot')
        .u64(2)
        .u64(1)
        .u64(4)
        .u64(1)
        .json({ ...okConfig, deep }).bytes,
      C,
      /nests deeper than 40/,
    ],
    [
      'a snapshot whose config uses __proto__',
      head('snapshot')
        .u64(2)
        .u64(1)
        .u64(4)
        .u64(1)
        .json(JSON.stringify(okConfig).replace('"key"', '"__proto__":{},"key"'), true).bytes,
      C,
      /reserved key "__proto__"/,
    ],
    [
      'a snapshot whose config the config file would refuse',
      head('snapshot')
        .u64(2)
        .u64(1)
        .u64(4)
        .u64(1)
        .json({ ...okConfig, servers: {} }).bytes,
      C,
      /snapshot config: servers/,
    ],
    ['an unknown answer kind', head('change_reply').u64(1).u8(8).bytes, M, /unknown answer kind 8/],
    [
      'an issue with unknown flag bits',
      head('change_reply').u64(1).u8(CHANGE_ANSWER_CODES.invalid).u16(1).text('p').text('m').u8(4).bytes,
      M,
      /issue 0 flags 4 have unknown bits/,
    ],
    [
      'more issues than the bound',
      head('change_reply')
        .u64(1)
        .u8(CHANGE_ANSWER_CODES.invalid)
        .u16(ANSWER_ISSUES_MAX + 1).bytes,
      M,
      /issue count 1025 is above 1024/,
    ],
    [
      'an answer naming a server by an invalid id',
      head('change_reply').u64(1).u8(CHANGE_ANSWER_CODES.unknown_server).name('a\nb').text('m').bytes,
      M,
      /unknown_server server contains a control character/,
    ],
    [
      'an answer text that is not UTF-8',
      head('change_reply').u64(1).u8(CHANGE_ANSWER_CODES.conflict).u16(1).raw([0x80]).bytes,
      M,
      /conflict message is not UTF-8/,
    ],
  ];
  for (const [name, bytes, reason, pattern] of cases)
    it(name, () => {
      refused(bytes, reason, pattern);
    });

  it('a message over REPLICA_MESSAGE_BYTES_MAX, before reading it', () => {
    refused(new Uint8Array(REPLICA_MESSAGE_BYTES_MAX + 1), 'malformed_replica', /larger than 16777216/);
  });
});

describe('replica body: chunks checked alone', () => {
  const digest = new Uint8Array(REPLICA_DIGEST_BYTES).fill(7);
  const chunk = (total: number, index: number, pieceBytes: number) =>
    new LayoutBytes().u8(14).raw(digest).u32(total).u16(index).raw(new Uint8Array(pieceBytes)).bytes;
  const total = 3 * REPLICA_CHUNK_PIECE_BYTES + 10;

  it('a full piece and the short last one are taken', () => {
    for (const [index, bytes] of [
      [0, REPLICA_CHUNK_PIECE_BYTES],
      [3, 10],
    ] as const) {
      const decoded = decodeReplicaBody(chunk(total, index, bytes));
      assert.ok(decoded.ok && decoded.body.type === 'replica_chunk', JSON.stringify(decoded));
      assert.deepEqual(decoded.body.chunk.digest, digest);
      assert.equal(decoded.body.chunk.total, total);
      assert.equal(decoded.body.chunk.index, index);
      assert.equal(decoded.body.chunk.piece.length, bytes);
    }
    assert.equal(
      chunk(total, 0, REPLICA_CHUNK_PIECE_BYTES).length,
      BODY_BYTES_MAX,
      'a full chunk fills a body',
    );
  });

  const cases: [string, Uint8Array, RegExp][] = [
    [
      'a transfer over the bound',
      chunk(REPLICA_MESSAGE_BYTES_MAX + 1, 0, REPLICA_CHUNK_PIECE_BYTES),
      /larger than 16777216/,
    ],
    [
      'a transfer that fits one body',
      chunk(REPLICA_WHOLE_BYTES_MAX, 0, REPLICA_CHUNK_PIECE_BYTES),
      /fits one body/,
    ],
    ['a piece number past the last', chunk(total, 4, 10), /piece 4 of a transfer of 4 pieces/],
    ['a short piece that is not the last', chunk(total, 1, 100), /piece 1 of 100 bytes, not 1314/],
    ['a last piece of the wrong length', chunk(total, 3, 11), /piece 3 of 11 bytes, not 10/],
    ['a header cut short', new LayoutBytes().u8(14).raw(digest).u16(0).bytes, /truncated: chunk total/],
  ];
  for (const [name, bytes, pattern] of cases)
    it(name, () => {
      const decoded = decodeReplicaBody(bytes);
      assert.ok(!decoded.ok);
      assert.equal(decoded.reason, 'bad_chunk');
      assert.match(decoded.detail, pattern);
    });

  it('a body of another type is not a replica body', () => {
    const decoded = decodeReplicaBody(Uint8Array.of(5, 0, 0));
    assert.ok(!decoded.ok);
    assert.equal(decoded.reason, 'malformed_replica');
    assert.match(decoded.detail, /body type 5 is not a replica body/);
  });
});

describe('replica message codec: hostile bytes never throw', () => {
  const REASONS = new Set<string>(['malformed_replica', 'invalid_replica_content', 'bad_chunk']);

  it('refuses every proper prefix of 400 seeded messages', () => {
    const rng = new Rng(0x7a11);
    for (let i = 0; i < 400; i++) {
      const bytes = encodeReplicaMessage(randomReplicaMessage(rng));
      // Every prefix of the short ones; of longer ones, a spread of cuts.
      const step = Math.max(1, Math.floor(bytes.length / 200));
      for (let cut = 0; cut < bytes.length; cut += step) {
        const decoded = decodeReplicaMessage(bytes.subarray(0, cut));
        assert.equal(decoded.ok, false, `message ${i} cut at ${cut} of ${bytes.length} was accepted`);
        if (!decoded.ok) assert.equal(decoded.reason, 'malformed_replica', decoded.detail);
      }
    }
  });

  it('20,000 random and mutated bodies: a reason from the list, and what decodes is a message the encoder takes', () => {
    const rng = new Rng(0xbad_b0d1);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let body: Uint8Array;
      const valid = encodeReplicaBody({
        type: 'replica',
        message: randomReplicaMessage(rng, rng.pick(NAMES_KINDS)),
      });
      switch (rng.below(4)) {
        case 0:
          body = rng.bytes(rng.below(300));
          body[0] = rng.pick([13, 14]);
          break;
        case 1:
          body = valid.slice();
          for (let flips = rng.between(1, 3); flips > 0; flips--) {
            const at = rng.below(body.length);
            body[at] = body[at]! ^ (1 << rng.below(8));
          }
          break;
        case 2:
          body = valid.slice();
          body[rng.between(1, body.length - 1)] = rng.u32() & 0xff;
          break;
        default:
          body = new Uint8Array([...valid, ...rng.bytes(rng.between(1, 4))]);
      }
      let decoded: ReturnType<typeof decodeReplicaBody>;
      try {
        decoded = decodeReplicaBody(body);
      } catch (error) {
        assert.fail(`body ${i} (seed 0xbadb0d1) threw ${(error as Error).stack}: ${hex(body)}`);
      }
      if (!decoded.ok) {
        assert.ok(REASONS.has(decoded.reason), `body ${i}: reason ${decoded.reason}`);
        assert.equal(typeof decoded.detail, 'string');
        continue;
      }
      accepted++;
      const { body: decodedBody } = decoded;
      if (decodedBody.type === 'replica')
        assert.doesNotThrow(() => encodeReplicaMessage(decodedBody.message));
    }
    assert.ok(accepted < 20_000 / 2, `${accepted} accepted: the mutations were mostly caught`);
  });
});

/** Kinds small enough to be mutated quickly (a snapshot's config is checked whole each time). */
const NAMES_KINDS = REPLICA_KINDS.filter((kind) => kind !== 'snapshot');

it('the names used by the generators are valid server ids of every UTF-8 width', () => {
  for (const name of NAMES) roundTrip({ kind: 'vote_reply', from: name, term: 1, granted: true });
});
