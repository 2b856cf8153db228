/**
 * The cluster state's shape and the rules between its fields: every rule refuses what breaks
 * it and names the field, and a state that keeps them goes through the file unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CLUSTER_STATE_CHECK,
  CLUSTER_STATE_KIND,
  type ClusterState,
  clusterStateFile,
  initialClusterState,
} from '../../src/state/cluster-state.js';
import { encodeState } from '../../src/state/envelope.js';

const root = mkdtempSync(join(tmpdir(), 'flip-cluster-state-'));
after(() => rmSync(root, { recursive: true, force: true }));

const FILE = {
  key: 'secret',
  servers: { flip1: { ip: '127.0.0.1', port: 2201 }, flip2: { ip: '127.0.0.1', port: 2202 } },
  cluster: { system: { vip: { alive: 'up', down: 'down', type: 'single', data: ['192.168.0.1'] } } },
};

/** A state with a committed config at index 4 and three entries after it, one uncommitted. */
function running(): ClusterState {
  return {
    server: 'flip1',
    current_term: 3,
    voted_for: 'flip2',
    committed: { version: 2, index: 4, term: 2, config: FILE },
    log: [
      { index: 4, term: 2, change: { kind: 'data-add', system: 'vip', items: ['192.168.0.2'] } },
      { index: 5, term: 3, change: { kind: 'noop' } },
      { index: 6, term: 3, change: null },
    ],
    file_base: FILE,
  };
}

describe('state: the cluster state', () => {
  it('accepts a fresh state and a running one', () => {
    assert.deepEqual(CLUSTER_STATE_CHECK(initialClusterState('flip1', FILE)), {
      ok: true,
      doc: { server: 'flip1', current_term: 0, voted_for: null, committed: null, log: [], file_base: FILE },
    });
    assert.deepEqual(CLUSTER_STATE_CHECK(running()), { ok: true, doc: running() });
  });

  it('refuses what breaks a rule, naming the field', () => {
    const table: [string, (state: ClusterState) => unknown, RegExp][] = [
      ['negative term', (s) => ({ ...s, current_term: -1 }), /^current_term: must be 0 or more/],
      ['fractional term', (s) => ({ ...s, current_term: 1.5 }), /^current_term: must be a whole number/],
      ['empty vote', (s) => ({ ...s, voted_for: '' }), /^voted_for: must not be empty$/],
      [
        'vote with a newline',
        (s) => ({ ...s, voted_for: 'a\nb' }),
        /^voted_for: contains a control character/,
      ],
      ['no server', ({ server: _, ...s }) => s, /^server: is required \(a string\)$/],
      ['unknown key', (s) => ({ ...s, commit_index: 3 }), /^commit_index: unknown key "commit_index"$/],
      [
        'version 0 committed',
        (s) => ({ ...s, committed: { ...s.committed!, version: 0 } }),
        /^committed\.version: must be 1 or more$/,
      ],
      [
        'config not an object',
        (s) => ({ ...s, committed: { ...s.committed!, config: [] } }),
        /^committed\.config: must be an object/,
      ],
      [
        'entry without change',
        (s) => ({ ...s, log: [{ index: 5, term: 3 }] }),
        /^log\[0\]\.change: is required/,
      ],
      [
        'committed term after the current',
        (s) => ({ ...s, current_term: 1, log: [] }),
        /^committed\.term: is 2, after current_term 1$/,
      ],
      [
        'gap after committed',
        (s) => ({ ...s, log: s.log.slice(2) }),
        /^log\[0\]\.index: is 6: a gap after committed\.index 4$/,
      ],
      [
        'gap at the start',
        (s) => ({ ...s, committed: null, log: s.log.slice(1) }),
        /^log\[0\]\.index: is 5: a gap after the log start \(1 expected\)$/,
      ],
      [
        'indexes not in a row',
        (s) => ({ ...s, log: [s.log[0], s.log[2]] }),
        /^log\[1\]\.index: is 6, after 4: entries follow one another$/,
      ],
      [
        'term going down',
        (s) => ({ ...s, log: [s.log[0], s.log[1], { ...s.log[2]!, term: 2 }] }),
        /^log\[2\]\.term: is 2, below the term 3 of the entry before$/,
      ],
      [
        'entry term after the current',
        (s) => ({ ...s, log: [s.log[0], s.log[1], { ...s.log[2]!, term: 4 }] }),
        /^log\[2\]\.term: is 4, after current_term 3$/,
      ],
      [
        'entry disagreeing with committed',
        (s) => ({ ...s, log: [{ ...s.log[0]!, term: 1 }] }),
        /^log\[0\]\.term: is 1, but committed\.term says 2$/,
      ],
      [
        'entry after committed of an older term',
        (s) => ({ ...s, log: [{ index: 5, term: 1, change: 1 }] }),
        /^log\[0\]\.term: is 1, below committed\.term 2$/,
      ],
      [
        'change not JSON',
        (s) => ({ ...s, log: [{ index: 5, term: 3, change: () => 1 }] }),
        /^log\[0\]\.change: /,
      ],
    ];
    for (const [name, mutate, problem] of table) {
      const checked = CLUSTER_STATE_CHECK(mutate(running()));
      assert.equal(checked.ok, false, name);
      assert.match(checked.ok ? '' : checked.problem, problem, name);
    }
  });

  it('goes through its file unchanged, and a broken one is corrupt with the field named', async () => {
    const file = clusterStateFile(join(root, 'flip1'));
    assert.equal(file.path, join(root, 'flip1', 'cluster-state'));
    await file.save(running());
    assert.deepEqual(await file.load(), { kind: 'ok', doc: running(), path: file.path, temp_removed: false });
    assert.match(readFileSync(file.path, 'latin1'), /^flip-state v1 kind=cluster-state bytes=\d+ sha256=/);
    writeFileSync(file.path, encodeState(CLUSTER_STATE_KIND, { ...running(), current_term: 1 }));
    const load = await file.load();
    assert.equal(load.kind, 'corrupt');
    assert.match(
      load.kind === 'corrupt' ? load.reason : '',
      /^the payload is not a valid cluster-state: committed\.term: is 2, after current_term 1; log\[0\]\.term: is 2, after current_term 1; log\[1\]\.term: is 3, after current_term 1; and 1 more$/,
    );
  });
});
