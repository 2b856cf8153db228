/**
 * Properties of applyChange over random sequences of changes on the README's config (fast-check):
 * every applied result is a valid config file; the input never changes; an invalid change says
 * why; adding items or a server and removing them again gives back the document; the quorum
 * default follows the server count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChange, configIssues } from '../../src/changes/apply.js';
import type { ConfigChange, SystemSettings } from '../../src/changes/change.js';
import { itemsOf, membersOf, serversOf, systemsOf } from '../../src/changes/document.js';
import { parseChange } from '../../src/changes/parse-change.js';
import { defaultQuorum, parseClusterConfig } from '../../src/config/index.js';
import type { ConfigDocument } from '../../src/state/cluster-state.js';
import { sameJson } from '../../src/state/json-equal.js';
import { readmeDocument } from './documents.js';

const fc = (await import('fast-check')).default;

/** The random choices behind one change; turned into a change against the document of the moment. */
interface Step {
  kind: number;
  a: number;
  b: number;
  c: number;
}

const step = fc.record({ kind: fc.nat(6), a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(1000) });

/** Settings a system_set picks from: each valid alone on the README's systems, or in pairs. */
const SETTINGS: SystemSettings[] = [
  { delay: 0 },
  { delay: 1500 },
  { type: 'hash' },
  { type: 'single' },
  { type: 'shard' },
  { preempt: false },
  { preempt: null },
  { hold_down: 0 },
  { no_quorum_policy: 'release' },
  { check: '/bin/true', check_interval: 1000, rise: 1 },
  { check: null, check_interval: null, rise: null },
  { config: { interface: 'eth1', mtu: 9000 } },
  { config: null },
  { fence: 1500, script_timeout: 5000 },
  // Invalid alone: a check setting without a check (refused by the config's own rule).
  { check_timeout: 500 },
];

function pick<T>(list: readonly T[], n: number): T | undefined {
  return list.length === 0 ? undefined : list[n % list.length];
}

/** A subset of `list`, chosen by the bits of `n`, in list order. */
function subset<T>(list: readonly T[], n: number): T[] {
  return list.filter((_, i) => (n >> (i % 10)) & 1);
}

/**
 * A change against `doc` from the choices of `s`; names it adds are fresh (numbered by `fresh`).
 * Most are valid; some are not (the last member removed, a quorum left too large, a check setting
 * without a check, nothing chosen to remove), which the properties check too.
 */
function changeFor(doc: ConfigDocument, s: Step, fresh: number): ConfigChange {
  const base_version = fresh;
  const systems = Object.keys(systemsOf(doc));
  const servers = Object.keys(serversOf(doc));
  const system = pick(systems, s.a) ?? 'ip';
  switch (systems.length === 0 && s.kind !== 2 && s.kind !== 3 ? 5 : s.kind) {
    case 0: {
      const items = Array.from({ length: 1 + (s.b % 3) }, (_, i) => `10.${fresh % 250}.${s.c % 250}.${i}`);
      return { kind: 'data_add', system, items, base_version };
    }
    case 1: {
      const items = subset(itemsOf(systemsOf(doc)[system]) as string[], s.b);
      if (items.length === 0) return { kind: 'data_add', system, items: [`fresh-${fresh}`], base_version };
      return { kind: 'data_rm', system, items, base_version };
    }
    case 2: {
      const change: ConfigChange = {
        kind: 'server_add',
        id: `s${fresh}`,
        ip: s.b % 2 === 0 ? '127.0.0.1' : '::1',
        port: 3000 + fresh,
        base_version,
      };
      if (s.c % 3 === 0) change.priority = s.c % 7;
      if (s.c % 2 === 0) change.systems = subset(systems, s.b);
      return change;
    }
    case 3:
      return { kind: 'server_rm', id: pick(servers, s.b) ?? 'flip', base_version };
    case 4: {
      const values = {
        ...SETTINGS[s.b % SETTINGS.length],
        ...(s.c % 4 === 0 ? SETTINGS[s.c % SETTINGS.length] : {}),
      };
      return { kind: 'system_set', system, values, base_version };
    }
    case 5: {
      const members = subset(servers, s.b);
      return {
        kind: 'system_add',
        system: `sys${fresh}`,
        definition: {
          alive: 'up',
          down: 'down',
          type: pick(['shard', 'hash', 'replicated', 'single'] as const, s.c)!,
          data: Array.from({ length: s.c % 4 }, (_, i) => `sys${fresh}-${i}`),
        },
        members: members.length > 0 ? members : [pick(servers, s.c) ?? 'flip'],
        base_version,
      };
    }
    default:
      return { kind: 'system_rm', system, base_version };
  }
}

/** The README's config, with `quorum` as written or left to its default. */
function start(explicitQuorum: boolean): ConfigDocument {
  const doc = readmeDocument();
  if (!explicitQuorum) delete doc.quorum;
  return doc;
}

/** Applies a run of random steps, checking each outcome; returns the document and what happened. */
function run(
  explicitQuorum: boolean,
  steps: Step[],
): { doc: ConfigDocument; applied: number; invalid: number; noop: number } {
  let doc = start(explicitQuorum);
  let applied = 0;
  let invalid = 0;
  let noop = 0;
  steps.forEach((s, i) => {
    const change = changeFor(doc, s, i + 1);
    // Every change the generator makes is well formed, as one from the API would have to be.
    assert.deepEqual(parseChange(JSON.parse(JSON.stringify(change))), { ok: true, change });
    const before = JSON.stringify(doc);
    const outcome = applyChange(doc, change);
    assert.equal(JSON.stringify(doc), before, 'the input is never changed');
    if (outcome.kind === 'invalid') {
      invalid += 1;
      assert.ok(outcome.issues.length > 0);
      for (const issue of outcome.issues) assert.ok(issue.message.length > 0 && issue.message.length < 1000);
      return;
    }
    if (outcome.kind === 'no_op') {
      noop += 1;
      assert.equal(change.kind, 'system_set');
      return;
    }
    applied += 1;
    const next = outcome.config;
    assert.deepEqual(configIssues(next), [], `${JSON.stringify(change)} gave an invalid config`);
    // As a config file an operator would write, with its quorum following the servers unless set.
    const asFile = parseClusterConfig(JSON.stringify(next), 'cluster.json');
    const count = Object.keys(serversOf(next)).length;
    assert.equal(asFile.quorum, explicitQuorum ? 2 : defaultQuorum(count));
    assert.equal(Object.hasOwn(next, 'quorum'), explicitQuorum);
    const countBefore = Object.keys(serversOf(doc)).length;
    if (change.kind === 'server_add') assert.equal(count, countBefore + 1);
    else if (change.kind === 'server_rm') assert.equal(count, countBefore - 1);
    else assert.equal(count, countBefore);
    if (change.kind === 'data_add')
      assert.deepEqual(itemsOf(systemsOf(next)[change.system]).slice(-change.items.length), change.items);
    for (const name of Object.keys(systemsOf(next))) assert.ok(membersOf(next, name).length > 0, name);
    doc = next;
  });
  return { doc, applied, invalid, noop };
}

describe('applyChange over random sequences of changes', () => {
  it('gives a valid config file after every applied change, and refuses the others with reasons', () => {
    const totals = { applied: 0, invalid: 0, noop: 0 };
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { minLength: 1, maxLength: 25 }), (explicitQuorum, steps) => {
        const { applied, invalid, noop } = run(explicitQuorum, steps);
        totals.applied += applied;
        totals.invalid += invalid;
        totals.noop += noop;
      }),
      { numRuns: 200 },
    );
    // The generator reaches both sides: most changes apply, and some are refused.
    const all = totals.applied + totals.invalid + totals.noop;
    assert.ok(totals.applied > all / 2, JSON.stringify(totals));
    assert.ok(totals.invalid > 0, JSON.stringify(totals));
  });

  it('gives back the document when items are added and then removed', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(step, { maxLength: 15 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        (explicitQuorum, steps, names, which) => {
          const { doc } = run(explicitQuorum, steps);
          const system = pick(Object.keys(systemsOf(doc)), which);
          if (system === undefined) return;
          const have = new Set(itemsOf(systemsOf(doc)[system]));
          // Items the config can hold (no NUL, no lone surrogate), and not there yet.
          const items = names
            .map((name) => `item ${name}`)
            .filter(
              (item) =>
                !have.has(item) &&
                parseChange({ kind: 'data_rm', system, items: [item], base_version: 0 }).ok,
            );
          if (items.length === 0) return;
          const outcome = applyChange(doc, { kind: 'data_add', system, items, base_version: 0 });
          // A lease program refuses items with spaces: the config's rule, not this property's concern.
          if (outcome.kind === 'invalid') {
            assert.equal(outcome.source, 'config');
            return;
          }
          assert.equal(outcome.kind, 'applied');
          if (outcome.kind !== 'applied') return;
          const back = applyChange(outcome.config, { kind: 'data_rm', system, items, base_version: 1 });
          assert.equal(back.kind, 'applied');
          if (back.kind === 'applied') assert.ok(sameJson(back.config, doc));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives back the document when a server is added and then removed', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(step, { maxLength: 15 }),
        fc.option(fc.integer({ min: -5, max: 5 })),
        fc.nat(1023),
        (explicitQuorum, steps, priority, bits) => {
          const { doc } = run(explicitQuorum, steps);
          const change: ConfigChange = {
            kind: 'server_add',
            id: 'joiner',
            ip: '10.200.0.1',
            port: 4000,
            systems: subset(Object.keys(systemsOf(doc)), bits),
            base_version: 0,
          };
          if (priority !== null) change.priority = priority;
          const added = applyChange(doc, change);
          // A quorum set in the file that one more server would leave short of a majority under
          // `release` is refused (never two owners rests on quorums overlapping): the config's rule.
          if (added.kind === 'invalid' && explicitQuorum && /is not a majority/.test(JSON.stringify(added)))
            return;
          assert.equal(added.kind, 'applied', JSON.stringify(added));
          if (added.kind !== 'applied') return;
          const back = applyChange(added.config, { kind: 'server_rm', id: 'joiner', base_version: 1 });
          assert.equal(back.kind, 'applied', JSON.stringify(back));
          if (back.kind === 'applied') assert.ok(sameJson(back.config, doc));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gives the same document for the same sequence, wherever it is replayed', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { maxLength: 20 }), (explicitQuorum, steps) => {
        assert.ok(sameJson(run(explicitQuorum, steps).doc, run(explicitQuorum, steps).doc));
      }),
      { numRuns: 50 },
    );
  });
});
