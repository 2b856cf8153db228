/**
 * The picture of a bench:failover run: for each fault (crash, graceful) a panel with one row per
 * setup, one dot per trial at the outage the client saw, and the median marked. flip's setups
 * and keepalived's in two colours, side by side on one scale per panel, so that the spread shows
 * as well as the median. Hand-written SVG: a pure function of the results, no dependency.
 */
import { percentile } from '../src/stats/percentile.js';
import { FAILOVER_MODES, type FailoverMode, type FailoverResults } from './failover-results.js';

/** Layout, in SVG user units (px). */
const WIDTH = 1000;
const LABEL_WIDTH = 190;
const RIGHT_COLUMN = 200;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_RIGHT = WIDTH - RIGHT_COLUMN;
const ROW_HEIGHT = 28;
const PANEL_TITLE = 30;
const AXIS_HEIGHT = 44;
const PANEL_GAP = 16;
const HEADER = 62;
const KEY_LINE = 16;
const DOT_RADIUS = 4;

const COLOURS = { flip: '#1f6fb4', keepalived: '#d9751e', failed: '#c0392b', median: '#111' } as const;

const MODE_TITLES: Record<FailoverMode, string> = {
  crash: 'crash: traffic cut and SIGKILL of the owner',
  graceful: 'graceful: SIGTERM to the owner',
};

/** Text and attribute values with the five XML specials escaped. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Axis ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, 4 to 10 of them. */
export function niceTicks(max: number): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const rough = top / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => top / s <= 10) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = 0; value < top + step; value += step) {
    ticks.push(Number(value.toPrecision(12)));
    if (value >= top) break;
  }
  return ticks;
}

/** A small vertical offset per trial, the same every time, so that equal outages do not hide each other. */
function jitter(n: number): number {
  return (((n * 7) % 11) - 5) * 1.4;
}

const fmt = (value: number) => String(Math.round(value));

interface Row {
  id: string;
  label: string;
  kind: 'flip' | 'keepalived';
  trials: { n: number; outage_ms?: number; error?: string }[];
}

function rowsFor(results: FailoverResults, mode: FailoverMode): Row[] {
  return results.setups
    .map((setup) => ({
      id: setup.id,
      label: setup.label,
      kind: setup.kind,
      trials: setup.trials.filter((trial) => trial.mode === mode),
    }))
    .filter((row) => row.trials.length > 0);
}

function panel(mode: FailoverMode, rows: Row[], top: number): { svg: string[]; height: number } {
  const outages = rows.flatMap((row) =>
    row.trials.flatMap((trial) => (trial.outage_ms === undefined ? [] : [trial.outage_ms])),
  );
  // With every trial failed there is nothing to scale to: a second is a readable empty axis.
  const ticks = niceTicks(outages.length === 0 ? 1000 : Math.max(...outages) * 1.02);
  const scaleMax = ticks.at(-1)!;
  const x = (ms: number) => PLOT_LEFT + (Math.min(ms, scaleMax) / scaleMax) * (PLOT_RIGHT - PLOT_LEFT);
  const plotTop = top + PANEL_TITLE;
  const plotBottom = plotTop + rows.length * ROW_HEIGHT;
  const out: string[] = [`<g class="panel" data-mode="${mode}">`];
  out.push(
    `<text class="panel-title" x="${PLOT_LEFT}" y="${top + 20}" font-weight="bold">${escapeXml(MODE_TITLES[mode])}</text>`,
  );
  // Bands under the grid, the grid under the marks.
  rows.forEach((_, index) => {
    if (index % 2 === 1) return;
    out.push(
      `<rect class="band" x="${PLOT_LEFT}" y="${plotTop + index * ROW_HEIGHT}" width="${PLOT_RIGHT - PLOT_LEFT}" height="${ROW_HEIGHT}" fill="#f3f3f3"/>`,
    );
  });
  for (const tick of ticks) {
    const tx = x(tick).toFixed(1);
    out.push(
      `<line class="grid" x1="${tx}" y1="${plotTop}" x2="${tx}" y2="${plotBottom}" stroke="#ddd"/>`,
      `<text class="tick" x="${tx}" y="${plotBottom + 16}" text-anchor="middle" fill="#444">${fmt(tick)}</text>`,
    );
  }
  out.push(
    `<line class="axis" x1="${PLOT_LEFT}" y1="${plotBottom}" x2="${PLOT_RIGHT}" y2="${plotBottom}" stroke="#444"/>`,
    `<text class="axis-title" x="${(PLOT_LEFT + PLOT_RIGHT) / 2}" y="${plotBottom + 36}" text-anchor="middle" fill="#444">outage seen by the client (ms)</text>`,
  );
  rows.forEach((row, index) => {
    const rowTop = plotTop + index * ROW_HEIGHT;
    const middle = rowTop + ROW_HEIGHT / 2;
    const colour = COLOURS[row.kind];
    out.push(
      `<text class="setup" x="${LABEL_WIDTH}" y="${middle + 4}" text-anchor="end" fill="${colour}"><title>${escapeXml(row.label)}</title>${escapeXml(row.id)}</text>`,
    );
    const ok = row.trials.flatMap((trial) => (trial.outage_ms === undefined ? [] : [trial.outage_ms]));
    for (const trial of row.trials) {
      const y = (middle + jitter(trial.n)).toFixed(1);
      if (trial.outage_ms === undefined) {
        // A failed trial: a cross just right of the scale (it has no outage), its error in the tooltip.
        const cx = PLOT_RIGHT + 9;
        const cy = Number(y);
        out.push(
          `<path class="trial failed" data-setup="${escapeXml(row.id)}" data-mode="${mode}" d="M${cx - 4} ${cy - 4}L${cx + 4} ${cy + 4}M${cx - 4} ${cy + 4}L${cx + 4} ${cy - 4}" stroke="${COLOURS.failed}" stroke-width="2"><title>${escapeXml(`${row.id} ${mode} #${trial.n} failed: ${trial.error ?? 'no outage measured'}`)}</title></path>`,
        );
        continue;
      }
      out.push(
        `<circle class="trial ${row.kind}" data-setup="${escapeXml(row.id)}" data-mode="${mode}" data-outage-ms="${fmt(trial.outage_ms)}" cx="${x(trial.outage_ms).toFixed(1)}" cy="${y}" r="${DOT_RADIUS}" fill="${colour}" fill-opacity="0.55" stroke="${colour}"><title>${escapeXml(`${row.id} ${mode} #${trial.n}: ${fmt(trial.outage_ms)} ms`)}</title></circle>`,
      );
    }
    const failed = row.trials.length - ok.length;
    // Nearest rank, as the bench's tables compute it, so that picture and table agree.
    const p50 = percentile(ok, 50);
    if (Number.isFinite(p50)) {
      const mx = x(p50).toFixed(1);
      out.push(
        `<line class="p50" data-setup="${escapeXml(row.id)}" data-mode="${mode}" x1="${mx}" y1="${rowTop + 3}" x2="${mx}" y2="${rowTop + ROW_HEIGHT - 3}" stroke="${COLOURS.median}" stroke-width="2.5"/>`,
      );
    }
    const summary = `p50 ${Number.isFinite(p50) ? `${fmt(p50)} ms` : '–'}, n=${row.trials.length}${failed > 0 ? `, ${failed} failed` : ''}`;
    out.push(
      `<text class="p50-label" x="${PLOT_RIGHT + 20}" y="${middle + 4}" fill="${failed > 0 ? COLOURS.failed : '#222'}">${escapeXml(summary)}</text>`,
    );
  });
  out.push('</g>');
  return { svg: out, height: PANEL_TITLE + rows.length * ROW_HEIGHT + AXIS_HEIGHT };
}

/**
 * The whole picture as an SVG document: a title with the run's date and machine, a legend, a
 * panel per fault that any setup has trials of, and a key from the setup ids to their labels.
 */
export function renderFailoverSvg(results: FailoverResults): string {
  const body: string[] = [];
  let y = HEADER;
  for (const mode of FAILOVER_MODES) {
    const rows = rowsFor(results, mode);
    if (rows.length === 0) continue;
    const drawn = panel(mode, rows, y);
    body.push(...drawn.svg);
    y += drawn.height + PANEL_GAP;
  }
  const key = results.setups.map(
    (setup, i) =>
      `<text class="key" x="20" y="${y + 14 + i * KEY_LINE}" fill="#333"><tspan font-weight="bold" fill="${COLOURS[setup.kind]}">${escapeXml(setup.id)}</tspan>: ${escapeXml(setup.label)}</text>`,
  );
  const height = y + 14 + results.setups.length * KEY_LINE + 10;
  const legendY = 46;
  const legend = [
    `<circle cx="${PLOT_LEFT + 6}" cy="${legendY - 4}" r="${DOT_RADIUS}" fill="${COLOURS.flip}" fill-opacity="0.55" stroke="${COLOURS.flip}"/>`,
    `<text x="${PLOT_LEFT + 16}" y="${legendY}">flip (one dot per trial)</text>`,
    `<circle cx="${PLOT_LEFT + 196}" cy="${legendY - 4}" r="${DOT_RADIUS}" fill="${COLOURS.keepalived}" fill-opacity="0.55" stroke="${COLOURS.keepalived}"/>`,
    `<text x="${PLOT_LEFT + 206}" y="${legendY}">keepalived</text>`,
    `<line x1="${PLOT_LEFT + 300}" y1="${legendY - 11}" x2="${PLOT_LEFT + 300}" y2="${legendY + 3}" stroke="${COLOURS.median}" stroke-width="2.5"/>`,
    `<text x="${PLOT_LEFT + 308}" y="${legendY}">median (p50)</text>`,
    `<path d="M${PLOT_LEFT + 414} ${legendY - 8}L${PLOT_LEFT + 422} ${legendY}M${PLOT_LEFT + 414} ${legendY}L${PLOT_LEFT + 422} ${legendY - 8}" stroke="${COLOURS.failed}" stroke-width="2"/>`,
    `<text x="${PLOT_LEFT + 428}" y="${legendY}">failed trial</text>`,
  ];
  const title = `bench:failover: outage per trial, ${results.run_at.slice(0, 16).replace('T', ' ')} UTC`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>${escapeXml(`Outage seen by an HTTP client probing a virtual IP every 10 ms when its owner fails, flip beside keepalived. ${results.machine}`)}</desc>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="20" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...legend,
    ...body,
    ...key,
    '</svg>',
    '',
  ].join('\n');
}
