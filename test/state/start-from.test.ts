/** Where an agent starts: its config file or its stored state, whichever is newer, or nowhere. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ClusterState,
  type ConfigDocument,
  initialClusterState,
} from '../../src/state/cluster-state.js';
import { sameJson } from '../../src/state/json-equal.js';
import { startFrom } from '../../src/state/start-from.js';
import type { StateLoad } from '../../src/state/state-file.js';

const PATH = '/var/lib/flip/flip1/cluster-state';
const FILE: ConfigDocument = {
  key: 'secret',
  servers: { flip1: { ip: '10.0.0.1', port: 2201 }, flip2: { ip: '10.0.0.2', port: 2201 } },
  cluster: { system: { vip: { alive: 'up', down: 'down', type: 'single', data: ['192.168.0.1'] } } },
};
const COMMITTED: ConfigDocument = {
  ...FILE,
  cluster: {
    system: { vip: { alive: 'up', down: 'down', type: 'single', data: ['192.168.0.1', '192.168.0.9'] } },
  },
};

const ok = (doc: ClusterState): StateLoad<ClusterState> => ({
  kind: 'ok',
  doc,
  path: PATH,
  temp_removed: false,
});

function stored(committed_version: number | null): ClusterState {
  return {
    server: 'flip1',
    current_term: 5,
    voted_for: 'flip2',
    committed:
      committed_version === null
        ? null
        : { version: committed_version, index: 7, term: 4, config: COMMITTED },
    log: [{ index: committed_version === null ? 1 : 8, term: 5, change: { kind: 'noop' } }],
    file_base: FILE,
  };
}

describe('state: where an agent starts', () => {
  it('with no stored state: the file, as version 0, and a fresh state based on it', () => {
    const start = startFrom({
      server: 'flip1',
      file: FILE,
      stored: { kind: 'missing', path: PATH, temp_removed: true },
    });
    assert.deepEqual(start, {
      kind: 'start',
      from: 'file',
      version: 0,
      config: FILE,
      state: initialClusterState('flip1', FILE),
      file_edit: undefined,
    });
  });

  it('picks the newer: the file (version 0) until a change is committed, the stored config after', () => {
    const table: [number | null, 'file' | 'stored', number][] = [
      [null, 'file', 0],
      [1, 'stored', 1],
      [2, 'stored', 2],
      [1000, 'stored', 1000],
    ];
    for (const [version, from, started] of table) {
      const start = startFrom({ server: 'flip1', file: FILE, stored: ok(stored(version)) });
      assert.equal(start.kind, 'start');
      if (start.kind !== 'start') continue;
      assert.equal(start.from, from, `stored version ${version}`);
      assert.equal(start.version, started);
      assert.deepEqual(start.config, from === 'file' ? FILE : COMMITTED);
    }
  });

  it('keeps the term, the vote and the log whichever config it starts from', () => {
    for (const version of [null, 3]) {
      const start = startFrom({ server: 'flip1', file: FILE, stored: ok(stored(version)) });
      assert.equal(start.kind, 'start');
      if (start.kind !== 'start') continue;
      assert.equal(start.state.current_term, 5);
      assert.equal(start.state.voted_for, 'flip2');
      assert.deepEqual(start.state.log, stored(version).log);
    }
  });

  it('with nothing committed, takes an edited file as it is (nothing to undo), as the new base', () => {
    const edited = { ...FILE, quorum: 2 };
    const start = startFrom({ server: 'flip1', file: edited, stored: ok(stored(null)) });
    assert.equal(start.kind === 'start' && start.from, 'file');
    assert.deepEqual(start.kind === 'start' && start.config, edited);
    assert.deepEqual(start.kind === 'start' && start.state.file_base, edited);
    assert.equal(start.kind === 'start' && start.file_edit, undefined);
  });

  it('after a commit, hands an edit of the file back as a change to commit, keeping the base until then', () => {
    const edited = { ...FILE, quorum: 2 };
    const start = startFrom({ server: 'flip1', file: edited, stored: ok(stored(4)) });
    assert.equal(start.kind, 'start');
    if (start.kind !== 'start') return;
    assert.equal(start.from, 'stored');
    assert.deepEqual(start.config, COMMITTED, 'the edit is not in force before its commit');
    assert.deepEqual(start.file_edit, { base: FILE, file: edited });
    assert.deepEqual(start.state.file_base, FILE);
  });

  it('sees no edit in a file whose keys were only reordered', () => {
    const reordered: ConfigDocument = { cluster: FILE.cluster, servers: FILE.servers, key: FILE.key };
    const start = startFrom({ server: 'flip1', file: reordered, stored: ok(stored(4)) });
    assert.equal(start.kind === 'start' && start.file_edit, undefined);
  });

  it('refuses a corrupt state, naming the file and the reason, and applies nothing', () => {
    const start = startFrom({
      server: 'flip1',
      file: FILE,
      stored: { kind: 'corrupt', reason: 'checksum mismatch: …', path: PATH, temp_removed: false },
    });
    assert.deepEqual(start, {
      kind: 'refuse',
      path: PATH,
      reason: 'checksum mismatch: …',
      message: `cannot start from the cluster state ${PATH}: checksum mismatch: …; nothing of it was applied (to recover, see "Recovering from a bad state file" in docs/STATE.md)`,
    });
  });

  it("refuses another server's state", () => {
    const start = startFrom({ server: 'flip3', file: FILE, stored: ok(stored(2)) });
    assert.equal(start.kind, 'refuse');
    assert.equal(
      start.kind === 'refuse' && start.reason,
      'it is the state of server "flip1", not of "flip3"',
    );
  });
});

describe('state: the same JSON document', () => {
  it('ignores key order and nothing else', () => {
    const same: [unknown, unknown][] = [
      [1, 1],
      ['a', 'a'],
      [null, null],
      [
        { a: 1, b: [1, { c: 2, d: 3 }] },
        { b: [1, { d: 3, c: 2 }], a: 1 },
      ],
      [[], []],
    ];
    const different: [unknown, unknown][] = [
      [1, '1'],
      [null, {}],
      [[], {}],
      [{}, []],
      [
        [1, 2],
        [2, 1],
      ],
      [{ a: 1 }, { a: 1, b: 1 }],
      [{ a: 1, b: 1 }, { a: 1 }],
      [{ a: undefined }, { b: undefined }],
      [{ a: [1] }, { a: [1, 1] }],
      [{ a: { b: { c: 1 } } }, { a: { b: { c: 2 } } }],
    ];
    for (const [a, b] of same) assert.ok(sameJson(a, b) && sameJson(b, a), JSON.stringify([a, b]));
    for (const [a, b] of different) assert.ok(!sameJson(a, b) && !sameJson(b, a), JSON.stringify([a, b]));
  });

  it('walks a deeply nested document without overflowing the stack', () => {
    let a: unknown = 0;
    let b: unknown = 0;
    for (let i = 0; i < 100_000; i++) {
      a = [a];
      b = [b];
    }
    assert.ok(sameJson(a, b));
  });
});
