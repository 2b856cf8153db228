/**
 * The bench:failover picture: a pure function of the saved results. Well-formed XML, one mark per
 * trial on the right panel and row, the medians where they belong, every label present; and the
 * results file and the command that redraws the picture from it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  FAILOVER_RESULTS_VERSION,
  type FailoverResults,
  parseFailoverResults,
} from '../../bench/failover-results.js';
import { escapeXml, niceTicks, renderFailoverSvg } from '../../bench/failover-svg.js';
import { ROOT } from '../helpers/flip-cli.js';
import { checkXml, type XmlElement } from '../helpers/xml.js';

/** Made-up trials (not measurements): three setups, one with a failed trial, specials in a label. */
function results(): FailoverResults {
  const trials = (crash: (number | undefined)[], graceful: number[]) => [
    ...crash.map((outage, i) => ({
      mode: 'crash' as const,
      n: i + 1,
      ...(outage === undefined ? { error: 'no answer from s2 within 20000 ms' } : { outage_ms: outage }),
      phases: {},
    })),
    ...graceful.map((outage, i) => ({ mode: 'graceful' as const, n: i + 1, outage_ms: outage, phases: {} })),
  ];
  return {
    version: FAILOVER_RESULTS_VERSION,
    run_at: '2026-12-04T19:39:00.000Z',
    machine: 'Linux test, 2 CPUs',
    setups: [
      {
        id: 'flip-keep-lease',
        label: 'flip, defaults, keep + vip-lease (fenced)',
        kind: 'flip',
        seconds: 100,
        trials: trials([1736, 1958, 1650, 1700], [285, 447, 250]),
      },
      {
        id: 'flip-release-lease',
        label: 'flip, release <lease> & "fence"',
        kind: 'flip',
        seconds: 100,
        trials: trials([1805, undefined, 1938], [236, 261, 240]),
      },
      {
        id: 'keepalived-default',
        label: 'keepalived, defaults (VRRPv2, advert_int 1)',
        kind: 'keepalived',
        seconds: 90,
        trials: trials([2957, 3000, 2990], [624, 647, 615]),
      },
    ],
  };
}

const marks = (elements: XmlElement[], mode: string, setup?: string) =>
  elements.filter(
    (e) =>
      (e.attributes.class ?? '').split(' ').includes('trial') &&
      e.attributes['data-mode'] === mode &&
      (setup === undefined || e.attributes['data-setup'] === setup),
  );

describe('bench:failover picture', () => {
  const data = results();
  const svg = renderFailoverSvg(data);
  const parsed = checkXml(svg);

  it('is well-formed XML with one svg root', () => {
    assert.equal(parsed.problem, undefined, parsed.problem);
    assert.equal(parsed.elements[0]!.name, 'svg');
    assert.equal(parsed.elements[0]!.attributes.xmlns, 'http://www.w3.org/2000/svg');
  });

  it('the checker itself refuses what is not well-formed', () => {
    assert.match(checkXml('<svg><g></svg>').problem ?? '', /closes <g>/);
    assert.match(checkXml('<svg><text>a & b</text></svg>').problem ?? '', /bare &/);
    assert.match(checkXml('<svg a="1" a="2"/>').problem ?? '', /twice/);
    assert.match(checkXml('<svg/><svg/>').problem ?? '', /more than one root/);
    assert.match(checkXml('<svg>').problem ?? '', /unclosed/);
  });

  it('has one mark per trial, in its own panel and row', () => {
    for (const setup of data.setups)
      for (const mode of ['crash', 'graceful'])
        assert.equal(
          marks(parsed.elements, mode, setup.id).length,
          setup.trials.filter((t) => t.mode === mode).length,
          `${setup.id} ${mode}`,
        );
    assert.equal(marks(parsed.elements, 'crash').length + marks(parsed.elements, 'graceful').length, 19);
  });

  it('draws a failed trial as a failed mark, and counts it', () => {
    const failed = parsed.elements.filter((e) => e.attributes.class === 'trial failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.attributes['data-setup'], 'flip-release-lease');
    assert.match(svg, /p50 1805 ms, n=3, 1 failed/);
  });

  it('places the dots by outage and the median line at the median', () => {
    const dots = marks(parsed.elements, 'crash', 'flip-keep-lease');
    const byOutage = [...dots].sort(
      (a, b) => Number(a.attributes['data-outage-ms']) - Number(b.attributes['data-outage-ms']),
    );
    const xs = byOutage.map((dot) => Number(dot.attributes.cx));
    assert.deepEqual(
      xs,
      [...xs].sort((a, b) => a - b),
      'x grows with the outage',
    );
    const p50 = parsed.elements.find(
      (e) =>
        e.attributes.class === 'p50' &&
        e.attributes['data-setup'] === 'flip-keep-lease' &&
        e.attributes['data-mode'] === 'crash',
    )!;
    // p50 by nearest rank, as the bench's tables: of 1650, 1700, 1736, 1958 it is 1700, the second dot.
    assert.equal(Number(p50.attributes.x1), xs[1]);
    assert.ok(xs[1]! < xs[2]!);
    assert.match(svg, /p50 1700 ms, n=4/);
    assert.match(svg, /p50 2990 ms, n=3/);
  });

  it('labels the panels, the axis, every setup and its full label, escaped', () => {
    for (const text of [
      'crash: traffic cut and SIGKILL of the owner',
      'graceful: SIGTERM to the owner',
      'outage seen by the client (ms)',
      'median (p50)',
      'keepalived',
      'bench:failover: outage per trial, 2026-12-04 19:39 UTC',
    ])
      assert.ok(svg.includes(text), text);
    for (const setup of data.setups) {
      assert.ok(svg.includes(`>${setup.id}<`), setup.id);
      assert.ok(svg.includes(escapeXml(setup.label)), setup.label);
    }
    assert.ok(svg.includes('flip, release &lt;lease&gt; &amp; &quot;fence&quot;'));
  });

  it('colours flip and keepalived apart', () => {
    const fill = (setup: string) => marks(parsed.elements, 'graceful', setup)[0]!.attributes.fill;
    assert.equal(fill('flip-keep-lease'), fill('flip-release-lease'));
    assert.notEqual(fill('flip-keep-lease'), fill('keepalived-default'));
  });

  it('leaves out a panel that no setup has trials of', () => {
    const crashOnly = results();
    for (const setup of crashOnly.setups) setup.trials = setup.trials.filter((t) => t.mode === 'crash');
    const only = checkXml(renderFailoverSvg(crashOnly));
    assert.equal(only.problem, undefined);
    assert.deepEqual(
      only.elements.filter((e) => e.attributes.class === 'panel').map((e) => e.attributes['data-mode']),
      ['crash'],
    );
  });
});

describe('bench:failover picture: helpers', () => {
  const cases: [number, number[]][] = [
    [3000, [0, 500, 1000, 1500, 2000, 2500, 3000]],
    [3061, [0, 500, 1000, 1500, 2000, 2500, 3000, 3500]],
    [673, [0, 100, 200, 300, 400, 500, 600, 700]],
    [45, [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]],
  ];
  for (const [max, ticks] of cases) it(`ticks up to ${max}`, () => assert.deepEqual(niceTicks(max), ticks));
});

describe('bench:failover results file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flip-failover-svg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what was saved', () => {
    const data = results();
    assert.deepEqual(parseFailoverResults(JSON.stringify(data), 'r.json'), data);
  });

  it('refuses another version, bad JSON and bad fields, naming the file and field', () => {
    assert.throws(
      () => parseFailoverResults(JSON.stringify({ ...results(), version: 9 }), 'r.json'),
      /r\.json: version 9 is not 1/,
    );
    assert.throws(() => parseFailoverResults('{', 'r.json'), /r\.json: not JSON/);
    const bad = results();
    (bad.setups[1]!.trials[0] as { mode: string }).mode = 'reboot';
    assert.throws(
      () => parseFailoverResults(JSON.stringify(bad), 'r.json'),
      /r\.json: setups\.1\.trials\.0\.mode/,
    );
  });

  const redraw = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/failover-picture.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('npm run bench:failover:svg -- FILE --out PATH redraws the picture and prints where', () => {
    const input = join(dir, 'results.json');
    const out = join(dir, 'img', 'failover.svg');
    writeFileSync(input, JSON.stringify(results()));
    const result = redraw([input, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `wrote ${out}\n`);
    assert.equal(readFileSync(out, 'utf8'), renderFailoverSvg(results()));
  });

  it('a bad file or no file is a clear error, exit 2', () => {
    const input = join(dir, 'bad.json');
    writeFileSync(input, JSON.stringify({ version: 1, setups: 'x' }));
    const bad = redraw([input, '--out', join(dir, 'x.svg')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bench:failover:svg: .*bad\.json: /);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    assert.match(redraw([]).stderr, /usage: npm run bench:failover:svg -- RESULTS\.json/);
    assert.match(redraw([join(dir, 'missing.json')]).stderr, /cannot read/);
  });
});
