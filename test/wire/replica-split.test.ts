import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../../src/consensus/messages.js';
import type { ReplicaMessage } from '../../src/replica/messages.js';
import { BODY_BYTES_MAX } from '../../src/wire/layout.js';
import { REPLICA_MESSAGE_BYTES_MAX } from '../../src/wire/limits.js';
import {
  decodeReplicaBody,
  encodeReplicaBody,
  encodeReplicaMessage,
  REPLICA_CHUNK_PIECE_BYTES,
  REPLICA_WHOLE_BYTES_MAX,
  type ReplicaBody,
  type ReplicaChunk,
  replicaDigest,
  SNAPSHOT_CONFIG_BYTES_MAX,
} from '../../src/wire/replica-body.js';
import { type ReassemblyResult, ReplicaReassembler } from '../../src/wire/replica-reassembly.js';
import { splitReplicaMessage } from '../../src/wire/replica-split.js';
import { Rng } from './helpers.js';
import { bigConfig } from './replica-helpers.js';

function split(message: ReplicaMessage): { message: ReplicaMessage; bodies: ReplicaBody[] } {
  const result = splitReplicaMessage(message);
  assert.ok(result.ok, JSON.stringify(result));
  for (const body of result.bodies)
    assert.ok(encodeReplicaBody(body).length <= BODY_BYTES_MAX, 'every body fits a packet');
  return result;
}

function chunksOf(bodies: ReplicaBody[]): ReplicaChunk[] {
  return bodies.map((body) => {
    assert.equal(body.type, 'replica_chunk');
    // Through the wire form, as a receiver gets them.
    const decoded = decodeReplicaBody(encodeReplicaBody(body));
    assert.ok(decoded.ok && decoded.body.type === 'replica_chunk');
    return decoded.body.chunk;
  });
}

/** A conflict reply whose encoding is exactly `bytes` long. */
function replyOfSize(bytes: number): ReplicaMessage {
  const base: ReplicaMessage = {
    kind: 'change_reply',
    from: 'flip1',
    request: 1,
    answer: { kind: 'conflict', message: '' },
  };
  const message = 'm'.repeat(bytes - encodeReplicaMessage(base).length);
  return { ...base, answer: { kind: 'conflict', message } };
}

function dataAdd(i: number, itemBytes: number): Entry['change'] {
  return { kind: 'data_add', system: 'vip', items: [`${'i'.repeat(itemBytes)}-${i}`], base_version: 0 };
}

function append(entries: Entry['change'][], prev_index = 40): Extract<ReplicaMessage, { kind: 'append' }> {
  return {
    kind: 'append',
    from: 'flip1',
    term: 3,
    prev_index,
    prev_term: 2,
    commit: 40,
    entries: entries.map((change, i) => ({ index: prev_index + 1 + i, term: 3, change })),
  };
}

/** Feeds chunks (in this order) to a reassembler; the last result, and how many completed. */
function feed(
  reassembler: ReplicaReassembler,
  chunks: ReplicaChunk[],
  from = 1,
  now = 0,
): ReassemblyResult[] {
  return chunks.map((chunk) => reassembler.add(now, from, chunk));
}

describe('splitReplicaMessage', () => {
  it('sends a message that fits whole, as it is', () => {
    const message: ReplicaMessage = { kind: 'vote', from: 'flip1', term: 4, last_index: 9, last_term: 3 };
    const { message: sent, bodies } = split(message);
    assert.equal(sent, message);
    assert.deepEqual(bodies, [{ type: 'replica', message }]);
  });

  it('at the boundary: an encoding of REPLICA_WHOLE_BYTES_MAX goes whole, one byte more in two chunks', () => {
    const fits = split(replyOfSize(REPLICA_WHOLE_BYTES_MAX));
    assert.equal(fits.bodies.length, 1);
    assert.equal(encodeReplicaBody(fits.bodies[0]!).length, BODY_BYTES_MAX, 'a body filled to the byte');
    const over = split(replyOfSize(REPLICA_WHOLE_BYTES_MAX + 1));
    assert.equal(over.bodies.length, 2);
    const results = feed(new ReplicaReassembler(), chunksOf(over.bodies));
    assert.deepEqual(results[0], { kind: 'pending', have: 1, count: 2 });
    assert.deepEqual(results[1], { kind: 'complete', message: replyOfSize(REPLICA_WHOLE_BYTES_MAX + 1) });
  });

  it('cuts an append that does not fit to the longest prefix of entries that does', () => {
    const rng = new Rng(0xa99e);
    for (let round = 0; round < 50; round++) {
      const entries = Array.from({ length: rng.between(2, 64) }, (_, i) => dataAdd(i, rng.between(1, 400)));
      const message = append(entries);
      const { message: sent, bodies } = split(message);
      assert.equal(bodies.length, 1);
      assert.equal(sent.kind, 'append');
      if (sent.kind !== 'append') return;
      const size = (n: number) =>
        encodeReplicaMessage({ ...message, entries: message.entries.slice(0, n) }).length;
      if (size(entries.length) <= REPLICA_WHOLE_BYTES_MAX) {
        assert.equal(sent, message, 'an append that fits is not cut');
        continue;
      }
      const kept = sent.entries.length;
      assert.ok(kept >= 1 && kept < entries.length);
      assert.deepEqual(sent.entries, message.entries.slice(0, kept), 'a prefix, indexes unchanged');
      assert.deepEqual({ ...sent, entries: [] }, { ...message, entries: [] }, 'every other field unchanged');
      assert.ok(size(kept) <= REPLICA_WHOLE_BYTES_MAX);
      assert.ok(size(kept + 1) > REPLICA_WHOLE_BYTES_MAX, 'one more entry would not fit');
    }
  });

  it('sends an append whose first entry alone does not fit with that entry only, chunked', () => {
    const big = {
      kind: 'data_add',
      system: 'vip',
      items: Array.from({ length: 30 }, (_, i) => `${'b'.repeat(100)}${i}`),
      base_version: 0,
    } as const;
    const message = append([{ ...big, items: [...big.items] }, { kind: 'noop' }, dataAdd(1, 10)]);
    const { message: sent, bodies } = split(message);
    assert.ok(sent.kind === 'append');
    assert.deepEqual(sent.entries, message.entries.slice(0, 1));
    assert.ok(bodies.length > 1);
    const results = feed(new ReplicaReassembler(), chunksOf(bodies));
    assert.deepEqual(results.at(-1), { kind: 'complete', message: sent });
  });

  it('sends a large snapshot in chunks of the documented layout, reassembled in any order, duplicated', () => {
    const message: ReplicaMessage = {
      kind: 'snapshot',
      from: 'flip2',
      term: 7,
      snapshot: { version: 12, index: 30, term: 6, config: bigConfig(3000, 40) },
    };
    const encoding = encodeReplicaMessage(message);
    const { bodies } = split(message);
    assert.equal(bodies.length, Math.ceil(encoding.length / REPLICA_CHUNK_PIECE_BYTES));
    const chunks = chunksOf(bodies);
    chunks.forEach((chunk, index) => {
      assert.equal(chunk.index, index);
      assert.equal(chunk.total, encoding.length);
      assert.deepEqual(chunk.digest, replicaDigest(encoding));
      assert.deepEqual(
        chunk.piece,
        encoding.subarray(index * REPLICA_CHUNK_PIECE_BYTES, (index + 1) * REPLICA_CHUNK_PIECE_BYTES),
      );
    });
    const rng = new Rng(0x5ab);
    const shuffled = [...chunks, ...chunks.filter(() => rng.chance(0.3))];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const reassembler = new ReplicaReassembler();
    const results = feed(reassembler, shuffled);
    const complete = results.filter((result) => result.kind === 'complete');
    assert.equal(complete.length, 1, 'completed once');
    assert.deepEqual(complete[0], { kind: 'complete', message });
    assert.equal(reassembler.counts.completed, 1);
  });

  it(`carries a config of SNAPSHOT_CONFIG_BYTES_MAX (${SNAPSHOT_CONFIG_BYTES_MAX} bytes of JSON), and refuses one byte more`, () => {
    const config = bigConfig(100_000, 150) as { cluster: { system: { vip: { data: string[] } } } };
    const data = config.cluster.system.vip.data;
    let grow = SNAPSHOT_CONFIG_BYTES_MAX - JSON.stringify(config).length;
    assert.ok(grow > 0, `the base config is ${JSON.stringify(config).length} bytes`);
    // Spread over items, each within the config's 16 KiB for an item.
    for (let i = 0; grow > 0; i++) {
      const add = Math.min(grow, 10_000);
      data[i] = `${'g'.repeat(add)}${data[i]}`;
      grow -= add;
    }
    assert.equal(Buffer.byteLength(JSON.stringify(config)), SNAPSHOT_CONFIG_BYTES_MAX);
    const message = {
      kind: 'snapshot',
      from: 'x'.repeat(255),
      term: 9,
      snapshot: { version: 3, index: 3, term: 9, config },
    } as ReplicaMessage;
    const result = splitReplicaMessage(message);
    assert.ok(result.ok);
    assert.equal(result.bodies.length, Math.ceil(REPLICA_MESSAGE_BYTES_MAX / REPLICA_CHUNK_PIECE_BYTES));
    assert.equal(result.bodies.length, 12_769);
    const reassembler = new ReplicaReassembler();
    let last: ReassemblyResult | undefined;
    for (const body of result.bodies)
      if (body.type === 'replica_chunk') last = reassembler.add(0, 1, body.chunk);
    assert.equal(last?.kind, 'complete', JSON.stringify(last).slice(0, 300));
    if (last?.kind === 'complete') assert.deepEqual(last.message, message);

    data[0] = `g${data[0]}`;
    const over = splitReplicaMessage(message);
    assert.deepEqual(over, {
      ok: false,
      reason: 'too_big',
      bytes: REPLICA_MESSAGE_BYTES_MAX + 1,
      bytes_max: REPLICA_MESSAGE_BYTES_MAX,
    });
  });
});

/** Chunks of a made-up transfer (content that is not a message), with its true digest unless given. */
function rawChunks(encoding: Uint8Array, digest = replicaDigest(encoding)): ReplicaChunk[] {
  const chunks: ReplicaChunk[] = [];
  for (let index = 0; index * REPLICA_CHUNK_PIECE_BYTES < encoding.length; index++)
    chunks.push({
      digest,
      total: encoding.length,
      index,
      piece: encoding.subarray(index * REPLICA_CHUNK_PIECE_BYTES, (index + 1) * REPLICA_CHUNK_PIECE_BYTES),
    });
  return chunks;
}

function snapshotChunks(seed: number, items = 300): { message: ReplicaMessage; chunks: ReplicaChunk[] } {
  const message: ReplicaMessage = {
    kind: 'snapshot',
    from: 'flip1',
    term: 2,
    snapshot: { version: 1, index: seed, term: 2, config: bigConfig(items) },
  };
  const result = splitReplicaMessage(message);
  assert.ok(result.ok);
  return {
    message,
    chunks: result.bodies.map((body) => (body as Extract<ReplicaBody, { type: 'replica_chunk' }>).chunk),
  };
}

describe('ReplicaReassembler', () => {
  it('fills the pieces a lossy copy missed from the copies sent after it (same digest)', () => {
    const { message, chunks } = snapshotChunks(5, 2000);
    assert.ok(chunks.length > 20);
    const rng = new Rng(0x1055);
    const reassembler = new ReplicaReassembler();
    let done: ReassemblyResult | undefined;
    let copies = 0;
    while (done === undefined && copies < 20) {
      copies++;
      for (const chunk of chunks) {
        if (rng.chance(0.3)) continue; // lost
        const result = reassembler.add(copies * 100, 1, chunk);
        if (result.kind !== 'pending') {
          done = result;
          break;
        }
      }
    }
    assert.deepEqual(done, { kind: 'complete', message });
    assert.ok(copies > 1, 'the first copy alone lost pieces');
    assert.equal(reassembler.transfersHeld, 0);
    assert.equal(reassembler.bytesHeld, 0, 'a completed transfer is forgotten');
  });

  it('keeps the transfers of two senders, and of two messages of one sender, apart', () => {
    const a = snapshotChunks(5);
    const b = snapshotChunks(6);
    const reassembler = new ReplicaReassembler();
    const results: ReassemblyResult[] = [];
    for (let i = 0; i < Math.max(a.chunks.length, b.chunks.length); i++) {
      if (a.chunks[i]) results.push(reassembler.add(0, 1, a.chunks[i]!), reassembler.add(0, 2, a.chunks[i]!));
      if (b.chunks[i]) results.push(reassembler.add(0, 1, b.chunks[i]!));
    }
    const complete = results
      .filter((r) => r.kind === 'complete')
      .map((r) => (r.kind === 'complete' ? r.message : null));
    assert.deepEqual(
      complete.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [a.message, a.message, b.message].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
  });

  it('drops a piece whose total differs from its transfer (bad_chunk)', () => {
    const { chunks } = snapshotChunks(5);
    const reassembler = new ReplicaReassembler();
    reassembler.add(0, 1, chunks[0]!);
    const result = reassembler.add(0, 1, { ...chunks[1]!, total: chunks[1]!.total + 1 });
    assert.equal(result.kind, 'dropped');
    if (result.kind === 'dropped') assert.equal(result.reason, 'bad_chunk');
  });

  it('drops a transfer whose bytes do not match its digest (chunk_digest)', () => {
    const encoding = encodeReplicaMessage(snapshotChunks(5).message);
    const results = feed(new ReplicaReassembler(), rawChunks(encoding, new Uint8Array(16).fill(1)));
    assert.deepEqual(results.at(-1), {
      kind: 'dropped',
      reason: 'chunk_digest',
      detail: `a transfer of ${encoding.length} bytes does not match its digest`,
    });
  });

  it('drops a complete transfer that is not a valid message, with the decoder reason', () => {
    const garbage = new Rng(3).bytes(5000);
    garbage[0] = 99;
    const last = feed(new ReplicaReassembler(), rawChunks(garbage)).at(-1);
    assert.equal(last?.kind, 'dropped');
    if (last?.kind === 'dropped') {
      assert.equal(last.reason, 'malformed_replica');
      assert.match(last.detail, /unknown replica message kind 99/);
    }
  });

  it('drops a transfer no piece of which came for idle_ms_max', () => {
    const { chunks } = snapshotChunks(5);
    const reassembler = new ReplicaReassembler({ idle_ms_max: 1000 });
    reassembler.add(0, 1, chunks[0]!);
    reassembler.add(600, 1, chunks[1]!);
    assert.equal(reassembler.nextWakeAt(), 1600, 'idle from its last piece');
    assert.equal(reassembler.expire(1599), 0);
    assert.equal(reassembler.expire(1600), 1);
    assert.equal(reassembler.counts.expired, 1);
    assert.equal(reassembler.transfersHeld, 0);
    assert.equal(reassembler.bytesHeld, 0);
    assert.equal(reassembler.nextWakeAt(), undefined);
    // Its later pieces start over: the transfer does not complete from them alone.
    const results = feed(reassembler, chunks.slice(2), 1, 1700);
    assert.ok(results.every((result) => result.kind === 'pending'));
  });

  it('holds at most transfers_per_sender_max transfers of one sender: the one that moved least lately goes', () => {
    const reassembler = new ReplicaReassembler({ transfers_per_sender_max: 2 });
    const transfers = [7, 8, 9].map((seed) => snapshotChunks(seed));
    reassembler.add(0, 1, transfers[0]!.chunks[0]!);
    reassembler.add(1, 1, transfers[1]!.chunks[0]!);
    reassembler.add(2, 1, transfers[0]!.chunks[1]!); // the first moves again
    reassembler.add(3, 2, transfers[2]!.chunks[0]!); // another sender: not counted against sender 1
    assert.equal(reassembler.counts.evicted, 0);
    reassembler.add(4, 1, transfers[2]!.chunks[0]!);
    assert.equal(reassembler.counts.evicted, 1);
    assert.equal(reassembler.transfersHeld, 3);
    // The second (moved least lately) went; the first completes from the rest of its pieces.
    const last = feed(reassembler, transfers[0]!.chunks.slice(2), 1, 5).at(-1);
    assert.deepEqual(last, { kind: 'complete', message: transfers[0]!.message });
  });

  it('holds at most transfers_max transfers in all', () => {
    const reassembler = new ReplicaReassembler({ transfers_max: 3 });
    const { chunks } = snapshotChunks(5);
    for (let sender = 0; sender < 5; sender++) reassembler.add(sender, sender, chunks[0]!);
    assert.equal(reassembler.transfersHeld, 3);
    assert.equal(reassembler.counts.evicted, 2);
  });

  it('holds at most bytes_held_max bytes of pieces: a new piece pushes out the stalest other transfers', () => {
    const reassembler = new ReplicaReassembler({ bytes_held_max: REPLICA_MESSAGE_BYTES_MAX });
    const big = (fill: number) => rawChunks(new Uint8Array(10 * 1024 * 1024).fill(fill));
    const first = big(1);
    const second = big(2);
    feed(reassembler, first.slice(0, -1), 1, 0);
    assert.equal(reassembler.bytesHeld, (first.length - 1) * REPLICA_CHUNK_PIECE_BYTES);
    let held = 0;
    second.forEach((chunk, i) => {
      reassembler.add(1 + i, 2, chunk);
      held = Math.max(held, reassembler.bytesHeld);
    });
    assert.ok(held <= REPLICA_MESSAGE_BYTES_MAX, `held ${held}`);
    assert.equal(reassembler.counts.evicted, 1);
    assert.equal(reassembler.transfersHeld, 0, 'the second completed (and was refused as no message)');
  });

  it('refuses bounds that cannot work', () => {
    assert.throws(() => new ReplicaReassembler({ idle_ms_max: 0 }), RangeError);
    assert.throws(() => new ReplicaReassembler({ transfers_per_sender_max: 0 }), RangeError);
    assert.throws(() => new ReplicaReassembler({ transfers_max: 0.5 }), RangeError);
    assert.throws(
      () => new ReplicaReassembler({ bytes_held_max: REPLICA_MESSAGE_BYTES_MAX - 1 }),
      RangeError,
    );
  });
});
