import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentMetrics } from '../../src/metrics/agent-metrics.js';
import { Histogram } from '../../src/metrics/histogram.js';
import { renderMetrics } from '../../src/metrics/prometheus.js';
import { AgentStats } from '../../src/observe/agent-stats.js';
import { parsePrometheus } from '../helpers/prometheus-parser.js';
import { member, snapshot } from '../helpers/snapshot.js';

describe('metrics: the Prometheus text format', () => {
  it('writes HELP, TYPE and samples with escaped labels that the parser reads back', () => {
    const text = renderMetrics([
      {
        name: 'x_total',
        help: 'a help\nwith a newline and \\ a backslash',
        type: 'counter',
        samples: [{ labels: { a: 'quote " back \\ nl \n' }, value: 3 }, { value: 0 }],
      },
      {
        name: 'y',
        help: 'y',
        type: 'gauge',
        samples: [{ value: Number.POSITIVE_INFINITY }, { value: 0.25 }],
      },
    ]);
    const parsed = parsePrometheus(text);
    assert.equal(parsed.get('x_total')!.samples[0]!.labels.a, 'quote " back \\ nl \n');
    assert.equal(parsed.get('x_total')!.samples[0]!.value, 3);
    assert.equal(parsed.get('y')!.samples[0]!.value, Number.POSITIVE_INFINITY);
    assert.throws(() => renderMetrics([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }]));
    assert.throws(() =>
      renderMetrics([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'a-b': '' }, value: 1 }] }]),
    );
  });

  it('the parser rejects what a scraper would', () => {
    for (const bad of [
      'x 1',
      '# HELP x h\n# TYPE x gauge\nx{a="b} 1',
      '# HELP x h\n# TYPE x gauge\nx one',
      '# HELP x h\n# TYPE x counter\nx 1',
      '# HELP x h\n# TYPE x gauge\ny 1',
    ])
      assert.throws(() => parsePrometheus(`${bad}\n`), bad);
  });

  it('histograms are cumulative, end in +Inf, and count what was observed', () => {
    const histogram = new Histogram([0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 5, Number.NaN]) histogram.observe(value);
    const snap = histogram.snapshot();
    assert.deepEqual(
      snap.buckets.map((bucket) => bucket.count),
      [2, 3, 4],
    );
    assert.equal(snap.count, 4);
    assert.ok(Math.abs(snap.sum - 5.65) < 1e-9);
    const text = renderMetrics([
      { name: 'h_seconds', help: 'h', type: 'histogram', samples: [{ histogram: snap }] },
    ]);
    assert.match(text, /h_seconds_bucket\{le="\+Inf"\} 4/);
    parsePrometheus(text);
    assert.throws(() => new Histogram([1, 1]));
  });

  it("an agent's metrics parse, follow the naming rules, and carry its figures", () => {
    const stats = new AgentStats();
    stats.scriptFinished(
      1,
      'ip',
      '192.168.0.2',
      'alive',
      { ok: true, timed_out: false, duration_ms: 30 },
      undefined,
    );
    stats.scriptFinished(
      2,
      'ip',
      '192.168.0.1',
      'down',
      { ok: false, timed_out: true, duration_ms: 3000 },
      'timed out',
    );
    stats.memberChanges([
      { member: 0, from: 'alive', to: 'probably_down', incarnation: 1, at: 1000, reason: 'probe' },
      { member: 0, from: 'probably_down', to: 'down', incarnation: 1, at: 2500, reason: 'quorum' },
    ]);
    stats.planned('ip', 1, true);
    stats.roundTrips([0.4, 2]);
    const base = snapshot();
    const snap = snapshot({
      members: [member('flip1', 0, { state: 'down' }), member('flip', 1), member('flip2', 2)],
      counters: { ...base.counters, runner: { ...base.counters.runner, alives_waited: 4, alives_late: 1 } },
    });
    const families = parsePrometheus(renderMetrics(agentMetrics(snap, stats)));
    for (const name of families.keys()) assert.match(name, /^flip_/);
    const samples = [...families.values()].flatMap((family) => family.samples);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find(
        (sample) =>
          sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v),
      )?.value;
    assert.equal(value('flip_members', { state: 'down' }), 1);
    assert.equal(value('flip_members', { state: 'alive' }), 2);
    assert.equal(value('flip_quorum_reachable'), 1);
    assert.equal(value('flip_items_held', { system: 'ip' }), 1);
    assert.equal(value('flip_items_wanted', { system: 'ip' }), 1);
    assert.equal(value('flip_failovers_total', { system: 'ip' }), 1);
    assert.equal(value('flip_script_runs_total', { system: 'ip', event: 'down', result: 'timeout' }), 1);
    assert.equal(value('flip_script_duration_seconds_count', { event: 'alive', result: 'ok' }), 1);
    assert.equal(value('flip_packets_dropped_total', { reason: 'replay' }), 2);
    assert.equal(value('flip_packets_sent_total'), 10);
    assert.equal(value('flip_probe_rtt_seconds_count'), 2);
    assert.equal(value('flip_detection_seconds_count'), 1);
    assert.equal(value('flip_detection_seconds_sum'), 1.5);
    assert.equal(value('flip_member_rtt_seconds', { member: 'flip1' }), 0.0005);
    assert.equal(value('flip_fence_may_hold'), 1);
    assert.equal(value('flip_alives_held_back_total', { why: 'waited' }), 4);
    assert.equal(value('flip_alives_held_back_total', { why: 'late' }), 1);
    assert.equal(value('flip_alives_held_back_total', { why: 'refused' }), 0);
    for (const [name, family] of families) {
      if (family.type === 'counter') assert.match(name, /_total$/);
      if (name.includes('seconds')) assert.match(name, /_seconds$/);
    }
  });
});
