/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: HELP and TYPE lines
 * and one line per sample, label values escaped. Pure: families in, text out.
 */
import type { HistogramSnapshot } from './histogram.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export type MetricFamily =
  | {
      name: string;
      help: string;
      type: 'counter' | 'gauge';
      samples: readonly { labels?: Labels; value: number }[];
    }
  | {
      name: string;
      help: string;
      type: 'histogram';
      samples: readonly { labels?: Labels; histogram: HistogramSnapshot }[];
    };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    if (seen.has(family.name)) throw new Error(`metric ${family.name} written twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const { labels, histogram } of family.samples) {
        for (const bucket of histogram.buckets)
          lines.push(
            `${family.name}_bucket${labelText({ ...labels, le: numberText(bucket.le) })} ${numberText(bucket.count)}`,
          );
        lines.push(`${family.name}_sum${labelText(labels)} ${numberText(histogram.sum)}`);
        lines.push(`${family.name}_count${labelText(labels)} ${numberText(histogram.count)}`);
      }
    } else {
      for (const { labels, value } of family.samples)
        lines.push(`${family.name}${labelText(labels)} ${numberText(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([key, value]) => {
    if (!LABEL.test(key)) throw new Error(`bad label name ${key}`);
    return `${key}="${escapeLabel(value)}"`;
  });
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
