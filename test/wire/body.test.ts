import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Gossip, Message, Update } from '../../src/membership/messages.js';
import {
  BODY_BYTES_MAX,
  BODY_BYTES_MIN,
  BODY_OVERHEAD_BYTES_MAX,
  bodyBaseSize,
  bodyFixedSize,
  bodySize,
  decodeBody,
  encodeBody,
  releasedItemSize,
  reportersFormat,
  STATE_RECORD_BYTES,
  UPDATE_BYTES_MIN,
  updateSize,
} from '../../src/wire/body.js';
import { everyMessage, hex, Rng, randomMessage, randomUpdate } from './helpers.js';

const MEMBERS = 5;

function roundTrip(message: Message, memberCount = MEMBERS): Message {
  const bytes = encodeBody(message, memberCount);
  assert.equal(bytes.length, bodySize(message), 'bodySize agrees with the encoding');
  const decoded = decodeBody(bytes, memberCount);
  assert.ok(decoded.ok, `decode failed: ${decoded.ok ? '' : decoded.detail}`);
  assert.deepEqual(decoded.message, message);
  return decoded.message;
}

function rejects(bytes: Uint8Array, pattern: RegExp, memberCount = MEMBERS): void {
  const decoded = decodeBody(bytes, memberCount);
  assert.equal(decoded.ok, false, `accepted ${hex(bytes)}`);
  if (decoded.ok) return;
  assert.equal(decoded.reason, 'malformed_body');
  assert.match(decoded.detail, pattern);
}

/** A copy of `bytes` with a big-endian value written at `offset`. */
function patched(bytes: Uint8Array, offset: number, value: number, width: 1 | 2 | 4 = 1): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  if (width === 1) view.setUint8(offset, value);
  else if (width === 2) view.setUint16(offset, value);
  else view.setUint32(offset, value);
  return copy;
}

function gossip(updates: Gossip[]): Message {
  return { type: 'gossip', incarnation: 1, updates };
}

function suspect(reporters: number[], member = 0): Update {
  return { kind: 'suspect', member, incarnation: 3, reporters };
}

describe('body: round trips', () => {
  it('every message type and update kind', () => {
    for (const message of everyMessage(MEMBERS)) roundTrip(message);
  });

  it('every message type with every kind of update, one at a time', () => {
    const updates = everyMessage(MEMBERS)[0]!.updates;
    for (const message of everyMessage(MEMBERS)) {
      for (const update of updates) roundTrip({ ...message, updates: [update] });
      roundTrip({ ...message, updates: [] });
    }
  });

  it('boundary values: incarnation 2^53-1, seq 2^32-1, every known flag, index 65535', () => {
    const top = 65_536;
    roundTrip(
      {
        type: 'ping',
        incarnation: Number.MAX_SAFE_INTEGER,
        seq: 0xffff_ffff,
        target: top - 1,
        flags: 1,
        about: { member: top - 1, incarnation: Number.MAX_SAFE_INTEGER },
        updates: [{ kind: 'alive', member: top - 1, incarnation: Number.MAX_SAFE_INTEGER }],
      },
      top,
    );
    roundTrip(
      {
        type: 'ack',
        incarnation: Number.MAX_SAFE_INTEGER,
        seq: 0xffff_ffff,
        grant: true,
        heard_ago_ms: 0xffff_ffff,
        updates: [{ kind: 'down', member: top - 1, incarnation: 1, silent_ms: 0xffff_ffff }],
      },
      top,
    );
  });

  it('refuses unknown ping and ack flags, and a caller setting the about flag itself', () => {
    const ping = encodeBody({ type: 'ping', incarnation: 1, seq: 1, target: 0, flags: 1, updates: [] });
    const flagsAt = 1 + 8 + 4 + 2;
    const unknown = Uint8Array.from(ping);
    unknown[flagsAt] = 0x80;
    const decoded = decodeBody(unknown, 3);
    assert.equal(decoded.ok, false);
    assert.match(decoded.ok ? '' : decoded.detail, /ping flags 128 have unknown bits/);
    const ack = encodeBody({ type: 'ack', incarnation: 1, seq: 1, grant: true, updates: [] });
    const badAck = Uint8Array.from(ack);
    badAck[1 + 8 + 4] = 0x08;
    assert.equal(decodeBody(badAck, 3).ok, false);
    assert.throws(
      () => encodeBody({ type: 'ping', incarnation: 1, seq: 1, target: 0, flags: 2, updates: [] }),
      /set by the codec/,
    );
  });

  it('random messages, for many cluster sizes', () => {
    const rng = new Rng(0x5eed);
    for (let i = 0; i < 2000; i++) {
      const memberCount = rng.pick([1, 2, 3, 8, 9, 100, 1000, 65_536]);
      roundTrip(randomMessage(rng, memberCount), memberCount);
    }
  });

  it('a single-member cluster', () => {
    roundTrip(gossip([suspect([0]), { kind: 'alive', member: 0, incarnation: 1 }]), 1);
  });
});

describe('body: suspect reporters', () => {
  it('encodes an empty set as an empty list', () => {
    assert.equal(reportersFormat([]), 'list');
    assert.equal(updateSize(suspect([])), UPDATE_BYTES_MIN + 1 + 2);
    roundTrip(gossip([suspect([])]));
  });

  it('encodes a single reporter as whichever is smaller', () => {
    assert.equal(reportersFormat([3]), 'bitmap');
    assert.equal(reportersFormat([300]), 'list');
    roundTrip(gossip([suspect([4])]));
    roundTrip(gossip([suspect([300])]), 1000);
  });

  it('encodes every reporter of the largest cluster (65536, more than a u16 count) as a bitmap', () => {
    const all = Array.from({ length: 65_536 }, (_, i) => i);
    assert.equal(updateSize(suspect(all)), UPDATE_BYTES_MIN + 1 + 2 + 8192);
    roundTrip(gossip([suspect(all)]), 65_536);
  });

  it('picks a bitmap for dense sets and a list for sparse ones, whichever is smaller', () => {
    const all1000 = Array.from({ length: 1000 }, (_, i) => i);
    assert.equal(reportersFormat(all1000), 'bitmap');
    assert.equal(updateSize(suspect(all1000)), UPDATE_BYTES_MIN + 1 + 2 + 125);
    const sparse = [3, 500, 999];
    assert.equal(reportersFormat(sparse), 'list');
    assert.equal(updateSize(suspect(sparse)), UPDATE_BYTES_MIN + 1 + 2 + 6);
    // A tie (2 + 2 bytes either way) is a list.
    assert.equal(reportersFormat([9]), 'list');
    assert.equal(reportersFormat([8, 9]), 'bitmap');
  });

  it('round-trips big sets in both encodings with n = 1000', () => {
    const rng = new Rng(1000);
    const all = Array.from({ length: 1000 }, (_, i) => i);
    const evens = all.filter((i) => i % 2 === 0);
    const tens = all.filter((i) => i % 10 === 0);
    const random = all.filter(() => rng.chance(0.3));
    const cases = [all, evens, tens, random, [999], [0, 999], all.slice(990)];
    const formats = new Set<string>();
    for (const reporters of cases) {
      formats.add(reportersFormat(reporters));
      const message = gossip([suspect(reporters, 998)]);
      roundTrip(message, 1000);
      assert.equal(encodeBody(message, 1000).length, bodyBaseSize('gossip') + updateSize(suspect(reporters)));
    }
    assert.deepEqual([...formats].sort(), ['bitmap', 'list']);
  });

  it('lays a bitmap out LSB first: bit i of the bitmap is server index i', () => {
    // 8 reporters: a list is 2 + 16 bytes, a bitmap 2 + 2 bytes.
    const reporters = [0, 1, 2, 3, 4, 5, 6, 9];
    const bytes = encodeBody(gossip([suspect(reporters)]), 16);
    const update = bytes.subarray(bodyBaseSize('gossip'));
    // kind 2, member 0, incarnation 3, format 1 (bitmap), length 2, then 0x7f 0x02.
    assert.equal(hex(update), '02' + '0000' + '0000000000000003' + '01' + '0002' + '7f02');
  });

  it('lays a list out as a u16 count and u16 indexes', () => {
    const bytes = encodeBody(gossip([suspect([1, 300])]), 1000);
    assert.equal(
      hex(bytes.subarray(bodyBaseSize('gossip'))),
      '0200000000000000000003' + '00' + '0002' + '0001012c',
    );
  });

  it('decodes both encodings to sorted unique arrays', () => {
    const rng = new Rng(77);
    for (let i = 0; i < 300; i++) {
      const memberCount = rng.pick([8, 100, 1000, 4096]);
      const update = randomUpdate(rng, memberCount);
      const decoded = decodeBody(encodeBody(gossip([update]), memberCount), memberCount);
      assert.ok(decoded.ok);
      for (const u of decoded.message.updates) {
        if (u.kind !== 'suspect') continue;
        for (let j = 1; j < u.reporters.length; j++) assert.ok(u.reporters[j]! > u.reporters[j - 1]!);
      }
    }
  });
});

describe('body: sizes', () => {
  it('updateSize is exactly the encoded size of every update', () => {
    const rng = new Rng(42);
    for (let i = 0; i < 3000; i++) {
      const memberCount = rng.pick([2, 16, 1000, 65_536]);
      const update = randomUpdate(rng, memberCount);
      const withIt = encodeBody(gossip([update]), memberCount).length;
      const without = encodeBody(gossip([]), memberCount).length;
      assert.equal(withIt - without, updateSize(update), JSON.stringify(update));
    }
  });

  it('bodyBaseSize is the size without updates; state records and released items add their sizes', () => {
    for (const message of everyMessage(MEMBERS)) {
      const bare = { ...message, updates: [] } as Message;
      const records = message.type === 'state' ? message.records.length * STATE_RECORD_BYTES : 0;
      const items =
        message.type === 'released' || message.type === 'claim' || message.type === 'claim_reply'
          ? message.items.reduce((sum, item) => sum + releasedItemSize(item), 0)
          : 0;
      // Optional fields: a ping's `about` (member and incarnation), an ack's heard_ago_ms.
      const optional =
        (message.type === 'ping' && message.about !== undefined ? 10 : 0) +
        (message.type === 'ack' && message.heard_ago_ms !== undefined ? 4 : 0) +
        (message.type === 'duplicate'
          ? new TextEncoder().encode(message.kept_at + message.newcomer_at).length
          : 0);
      assert.equal(encodeBody(bare).length, bodyBaseSize(message.type) + optional + records + items);
      assert.equal(bodyFixedSize(bare), bodyBaseSize(message.type) + optional);
    }
    assert.equal(BODY_OVERHEAD_BYTES_MAX, bodyBaseSize('duplicate'));
    assert.equal(BODY_OVERHEAD_BYTES_MAX, 33);
    assert.equal(bodyBaseSize('ping'), 18);
    assert.equal(BODY_BYTES_MIN, bodyBaseSize('gossip'));
    assert.equal(BODY_BYTES_MIN, 11);
  });

  it('leaves BODY_BYTES_MAX for the body of a 1400-byte packet', () => {
    assert.equal(BODY_BYTES_MAX, 1337);
  });

  it('pins the byte layout of a ping (the wire format is protocol)', () => {
    const bytes = encodeBody({
      type: 'ping',
      incarnation: 0x0102_0304_0506,
      seq: 0x0a0b0c0d,
      target: 0x0102,
      flags: 1,
      updates: [{ kind: 'down', member: 3, incarnation: 9, silent_ms: 0x0708 }],
    });
    assert.equal(
      hex(bytes),
      '01' +
        '0000010203040506' +
        '0a0b0c0d' +
        '0102' +
        '01' +
        '0001' +
        '03' +
        '0003' +
        '0000000000000009' +
        '00000708',
    );
  });

  it('pins the byte layout of a ping about a suspect and of an ack with a grant and a silence', () => {
    const ping = encodeBody({
      type: 'ping',
      incarnation: 1,
      seq: 2,
      target: 3,
      flags: 0,
      about: { member: 4, incarnation: 5 },
      updates: [],
    });
    assert.equal(
      hex(ping),
      '01' + '0000000000000001' + '00000002' + '0003' + '02' + '0004' + '0000000000000005' + '0000',
    );
    const ack = encodeBody({
      type: 'ack',
      incarnation: 1,
      seq: 2,
      grant: true,
      heard_ago_ms: 300,
      updates: [],
    });
    assert.equal(hex(ack), '02' + '0000000000000001' + '00000002' + '03' + '0000012c' + '0000');
  });

  it('pins the byte layout of a released notice: id, count, then (system, item) as u16-length UTF-8', () => {
    const message: Message = {
      type: 'released',
      incarnation: 5,
      id: 0x01020304,
      items: [{ system: 'ip', item: 'é' }],
      updates: [],
    };
    const bytes = encodeBody(message);
    assert.equal(
      hex(bytes),
      '07' + '0000000000000005' + '01020304' + '0001' + '0002' + '6970' + '0002' + 'c3a9' + '0000',
    );
    assert.equal(bodySize(message), bytes.length);
    assert.equal(bodyBaseSize('released'), 17);
  });
});

describe('body: encodeBody refuses messages the protocol forbids', () => {
  const ping: Message = { type: 'ping', incarnation: 1, seq: 1, target: 1, flags: 0, updates: [] };
  const bad: [string, Message][] = [
    ['negative incarnation', { ...ping, incarnation: -1 }],
    ['fractional incarnation', { ...ping, incarnation: 1.5 }],
    ['incarnation 2^53', { ...ping, incarnation: 2 ** 53 }],
    ['NaN incarnation', { ...ping, incarnation: Number.NaN }],
    ['negative seq', { ...ping, seq: -1 }],
    ['seq 2^32', { ...ping, seq: 2 ** 32 }],
    ['target not a member', { ...ping, target: MEMBERS }],
    ['flags 256', { ...ping, flags: 256 }],
    ['unknown type', { ...ping, type: 'pong' } as unknown as Message],
    ['unknown kind', gossip([{ kind: 'zombie', member: 0, incarnation: 1 } as unknown as Update])],
    ['member not a member', gossip([{ kind: 'alive', member: MEMBERS, incarnation: 1 }])],
    ['update incarnation 2^53', gossip([{ kind: 'alive', member: 0, incarnation: 2 ** 53 }])],
    ['unsorted reporters', gossip([suspect([2, 1])])],
    ['duplicate reporters', gossip([suspect([1, 1])])],
    ['reporter not a member', gossip([suspect([1, MEMBERS])])],
    ['released id 2^32', { type: 'released', incarnation: 1, id: 2 ** 32, items: [], updates: [] }],
    [
      'a released item of 65536 bytes',
      {
        type: 'released',
        incarnation: 1,
        id: 1,
        items: [{ system: 'ip', item: 'x'.repeat(65_536) }],
        updates: [],
      },
    ],
    [
      'unknown state',
      {
        type: 'state',
        incarnation: 1,
        records: [{ member: 0, state: 'zombie' } as never],
        updates: [],
      },
    ],
  ];
  for (const [name, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => encodeBody(message, MEMBERS), RangeError);
    });
  }

  it('refuses an invalid member count', () => {
    assert.throws(() => encodeBody(ping, 0), RangeError);
    assert.throws(() => encodeBody(ping, 65_537), RangeError);
  });
});

describe('body: decodeBody rejects malformed bodies without throwing', () => {
  // ping: type 0, incarnation 1-8, seq 9-12, target 13-14, flags 15, update count 16-17,
  // then the suspect update: kind 18, member 19-20, incarnation 21-28, format 29, count 30-31,
  // reporters 32-33 and 34-35 (a list: sparse reporters in a cluster of LARGE members).
  const LARGE = 1000;
  const ping = encodeBody(
    { type: 'ping', incarnation: 1, seq: 2, target: 3, flags: 0, updates: [suspect([1, 300], 4)] },
    LARGE,
  );
  // state: type 0, incarnation 1-8, record count 9-10, record: member 11-12, state 13,
  // incarnation 14-21, update count 22-23.
  const state = encodeBody({
    type: 'state',
    incarnation: 1,
    records: [{ member: 2, state: 'down', incarnation: 5 }],
    updates: [],
  });
  // gossip with a bitmap: update at 11, format 22, length 23-24, bitmap 25.
  const bitmapped = encodeBody(gossip([suspect([0, 1, 2, 3, 4], 1)]), MEMBERS);

  it('starts from valid bodies', () => {
    assert.ok(decodeBody(ping, LARGE).ok);
    assert.equal(ping[29], 0, 'the list format was chosen');
    assert.ok(decodeBody(state, MEMBERS).ok);
    assert.ok(decodeBody(bitmapped, MEMBERS).ok);
    assert.equal(bitmapped[22], 1, 'the bitmap format was chosen');
  });

  it('rejects an empty body', () => rejects(new Uint8Array(0), /truncated: message type/));

  it('rejects a released notice whose text is not UTF-8, or whose count overruns the body', () => {
    // released: type 0, incarnation 1-8, id 9-12, count 13-14, system length 15-16, 'ip' 17-18,
    // item length 19-20, item 21-22, update count 23-24.
    const released = encodeBody({
      type: 'released',
      incarnation: 1,
      id: 9,
      items: [{ system: 'ip', item: 'ab' }],
      updates: [],
    });
    assert.ok(decodeBody(released, MEMBERS).ok);
    rejects(patched(released, 21, 0xc3), /released item 0 is not UTF-8/);
    rejects(patched(released, 17, 0xff), /released item 0 system is not UTF-8/);
    rejects(patched(released, 13, 0xffff, 2), /released item count 65535 needs/);
    rejects(patched(released, 19, 0x00ff, 2), /truncated: released item 0 needs 255 bytes/);
    for (let length = 0; length < released.length; length++)
      rejects(released.subarray(0, length), /truncated|needs/);
  });

  it('rejects every truncation of a valid body', () => {
    for (const body of [ping, state, bitmapped]) {
      for (let length = 0; length < body.length; length++)
        rejects(body.subarray(0, length), /truncated|needs/, LARGE);
    }
  });

  it('rejects trailing bytes', () => {
    rejects(Uint8Array.of(...ping, 0), /1 trailing bytes/, LARGE);
    rejects(Uint8Array.of(...state, 1, 2, 3), /3 trailing bytes/);
  });

  it('rejects unknown message types', () => {
    for (const type of [0, 13, 255]) {
      rejects(patched(ping, 0, type), new RegExp(`unknown message type ${type}`), LARGE);
    }
  });

  it('rejects incarnations of 2^53 or more', () => {
    rejects(patched(ping, 1, 0x0020_0000, 4), /incarnation is 2\^53 or more/, LARGE);
    rejects(patched(ping, 1, 0xffff_ffff, 4), /incarnation is 2\^53 or more/, LARGE);
    rejects(patched(ping, 21, 0x0020_0000, 4), /update 0 incarnation is 2\^53/, LARGE);
    rejects(patched(state, 14, 0x0020_0000, 4), /record 0 incarnation is 2\^53/);
  });

  it('rejects member indexes that are not below the member count', () => {
    rejects(patched(ping, 13, LARGE, 2), /ping target 1000 is not a server index below 1000/, LARGE);
    rejects(patched(ping, 19, 0xffff, 2), /update 0 member 65535/, LARGE);
    rejects(patched(state, 11, MEMBERS, 2), /record 0 member 5/);
    rejects(patched(ping, 34, LARGE, 2), /reporters entry 1000/, LARGE);
    // The same bytes are fine in a bigger cluster.
    assert.ok(decodeBody(patched(ping, 13, LARGE, 2), LARGE + 1).ok);
  });

  it('rejects unknown update kinds, states and reporter formats', () => {
    for (const kind of [0, 6, 255])
      rejects(patched(ping, 18, kind), new RegExp(`unknown kind ${kind}`), LARGE);
    for (const code of [4, 255]) rejects(patched(state, 13, code), new RegExp(`unknown state ${code}`));
    for (const format of [2, 255]) {
      rejects(patched(ping, 29, format), new RegExp(`unknown format ${format}`), LARGE);
    }
  });

  it('rejects list reporters that are not sorted and unique', () => {
    rejects(patched(ping, 34, 1, 2), /not sorted and unique/, LARGE);
    rejects(patched(ping, 34, 0, 2), /not sorted and unique/, LARGE);
  });

  it('rejects bitmap bits and bitmap lengths beyond the member count', () => {
    // Five members fit in one byte; bit 5 is server index 5.
    rejects(patched(bitmapped, 25, 0b0010_0000), /names server index 5/);
    rejects(patched(bitmapped, 25, 0x80), /names server index 7/);
    const longer = Uint8Array.of(...patched(bitmapped, 23, 2, 2), 0);
    rejects(longer, /bitmap of 2 bytes is longer than 1/);
    // An empty bitmap is an empty set.
    const empty = Uint8Array.of(...patched(bitmapped, 23, 0, 2).subarray(0, 25));
    const decoded = decodeBody(empty, MEMBERS);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.message.updates[0], suspect([], 1));
  });

  it('rejects counts that claim more items than the bytes left', () => {
    rejects(patched(ping, 16, 2, 2), /update count 2 needs 22 bytes, 18 left/, LARGE);
    rejects(patched(ping, 16, 0xffff, 2), /update count 65535/, LARGE);
    rejects(patched(state, 9, 0xffff, 2), /state record count 65535/);
    rejects(patched(ping, 30, 3, 2), /reporters count 3 needs 6 bytes, 4 left/, LARGE);
  });

  it('rejects an invalid member count instead of throwing', () => {
    for (const memberCount of [0, -1, 1.5, 65_537, Number.NaN]) rejects(ping, /memberCount/, memberCount);
  });

  it('never throws on random bytes', () => {
    const rng = new Rng(99);
    for (let i = 0; i < 20_000; i++) {
      const bytes = rng.bytes(rng.below(64));
      if (rng.chance(0.8) && bytes.length > 0) bytes[0] = rng.between(1, 6);
      const decoded = decodeBody(bytes, rng.pick([1, 5, 1000]));
      if (!decoded.ok) assert.equal(decoded.reason, 'malformed_body');
    }
  });
});
