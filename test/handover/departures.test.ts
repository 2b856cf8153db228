/**
 * Departures (src/handover/departures.ts) and the committed versions a server has yet to take
 * (src/node/committed-versions.ts): a server list that drops a server is taken only once that
 * server can hold nothing in our view, and the versions after it wait behind it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FlipConfig, parseConfig } from '../../src/config/index.js';
import { type DepartureView, departuresPending } from '../../src/handover/departures.js';
import { fencedAt } from '../../src/handover/fence.js';
import type { MemberView } from '../../src/membership/member-view.js';
import { CommittedVersions } from '../../src/node/committed-versions.js';

/** a, b and c, members of a leased `single` system under `release`; this server is `a`. */
function config(servers: readonly string[], data = ['10.0.0.1']): FlipConfig {
  return parseConfig(
    JSON.stringify({
      id: 'a',
      key: 'secret',
      no_quorum_policy: 'release',
      servers: Object.fromEntries(
        servers.map((id, i) => [id, { ip: '127.0.0.1', port: 2300 + i, systems: ['vip'] }]),
      ),
      cluster: { system: { vip: { alive: 'up', down: 'down', type: 'single', lease: 'lease', data } } },
    }),
    'departures',
  );
}

/** A view of a, b, c: `c` as given, last heard by us and by anyone at `heard`. */
function view(c: MemberView['state'], heard: number): DepartureView {
  return {
    member: (index) => ({ state: index === 2 ? c : 'alive', incarnation: 1, since: 0 }),
    lastHeard: (index) => (index === 2 ? heard : 1_000_000),
    heardByAnyone: (index) => (index === 2 ? heard : 1_000_000),
    grant_fresh_ms: 150,
  };
}

const SILENCE = 5_000;
const before = config(['a', 'b', 'c']);
const after = config(['a', 'b']);
const fenced = (heard: number) =>
  fencedAt(heard, { no_quorum_policy: 'release', leased: true, fence_ms: before.systems[0]!.fence_ms }, 150);

describe('departuresPending', () => {
  it('waits for a dropped server that is alive here; not for a server added', () => {
    assert.deepEqual(departuresPending(10_000, view('alive', 9_990), before, after, SILENCE), ['c']);
    assert.deepEqual(departuresPending(10_000, view('alive', 9_990), after, before, SILENCE), []);
  });

  it('takes the list once the server left and its fence passed, not before the fence', () => {
    const heard = 10_000;
    assert.deepEqual(departuresPending(heard + 1, view('left', heard), before, after, SILENCE), ['c']);
    const at = fenced(heard);
    assert.deepEqual(departuresPending(at - 1, view('left', heard), before, after, SILENCE), ['c']);
    assert.deepEqual(departuresPending(at, view('left', heard), before, after, SILENCE), []);
    assert.deepEqual(departuresPending(at, view('down', heard), before, after, SILENCE), []);
  });

  it('a server silent here for silence_ms counts as gone (peers on the new list tell us nothing of it)', () => {
    const heard = 10_000;
    assert.deepEqual(
      departuresPending(heard + SILENCE - 1, view('probably_down', heard), before, after, SILENCE),
      ['c'],
    );
    assert.deepEqual(
      departuresPending(heard + SILENCE, view('probably_down', heard), before, after, SILENCE),
      [],
    );
  });
});

describe('CommittedVersions', () => {
  const idle = { holds: () => false };

  it('takes versions in order; a list that drops a live server waits, and the versions after it wait behind it', () => {
    const versions = new CommittedVersions();
    const more = config(['a', 'b'], ['10.0.0.1', '10.0.0.2']);
    versions.push(1, after);
    versions.push(2, more);
    const live = view('alive', 9_990);
    assert.deepEqual(versions.next(10_000, before, live, idle), {
      kind: 'wait',
      version: 1,
      servers: ['c'],
      systems: [],
    });
    assert.deepEqual(versions.next(10_000, before, live, idle), {
      kind: 'wait',
      version: 1,
      servers: ['c'],
      systems: [],
    });
    assert.equal(versions.size, 2, 'nothing taken while it waits');
    const left = view('left', 10_000);
    const first = versions.next(fenced(10_000), before, left, idle);
    assert.equal(first?.kind, 'take');
    assert.equal(first?.kind === 'take' && first.change.kind, 'lists');
    const second = versions.next(fenced(10_000), after, left, idle);
    assert.equal(second?.kind === 'take' && second.change.kind, 'systems');
    assert.equal(versions.next(fenced(10_000), more, left, idle), undefined);
  });
});

describe('CommittedVersions: systems let go of first', () => {
  /** a, b, c members of `vip`; `next` has it set up anew (another config). */
  const current = config(['a', 'b', 'c'], ['10.0.0.1', '10.0.0.2']);
  const next = parseConfig(
    JSON.stringify({
      id: 'a',
      key: 'secret',
      no_quorum_policy: 'release',
      servers: Object.fromEntries(
        ['a', 'b', 'c'].map((id, i) => [id, { ip: '127.0.0.1', port: 2300 + i, systems: ['vip'] }]),
      ),
      cluster: {
        system: {
          vip: {
            alive: 'up',
            down: 'down',
            type: 'single',
            lease: 'lease',
            config: { interface: 'eth1' },
            data: ['10.0.0.1', '10.0.0.2'],
          },
        },
      },
    }),
    'redefined',
  );

  it('empties the system first, waits until the host holds nothing of it, then takes the version', () => {
    const versions = new CommittedVersions();
    versions.push(4, next);
    const live = view('alive', 1_000_000);
    let held = true;
    const host = { holds: (system: string) => system === 'vip' && held };
    const first = versions.next(1_000_000, current, live, host);
    assert.equal(first?.kind, 'retire');
    if (first?.kind !== 'retire') return;
    assert.deepEqual(first.systems, ['vip']);
    assert.deepEqual(first.config.systems[0]!.data, [], 'its items emptied');
    assert.deepEqual(first.config.systems[0]!.config, current.systems[0]!.config, 'under its old definition');
    assert.equal(first.change.kind, 'systems');
    assert.equal(versions.size, 1, 'the version itself still waits');
    const waiting = versions.next(1_000_000, first.config, live, host);
    assert.deepEqual(waiting, { kind: 'wait', version: 4, servers: [], systems: ['vip'] });
    held = false;
    const taken = versions.next(1_000_000, first.config, live, host);
    assert.equal(taken?.kind, 'take');
    assert.equal(taken?.kind === 'take' && taken.change.kind, 'lists');
    assert.equal(versions.size, 0);
  });
});
