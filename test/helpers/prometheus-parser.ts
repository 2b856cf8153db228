/**
 * A small parser of the Prometheus text format (0.0.4), strict enough to catch what a scraper
 * would reject or misread: names, label syntax and escapes, values, HELP/TYPE before samples,
 * one family per name, histogram buckets cumulative and ending in +Inf = _count.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)$`);

export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('text must end with a newline');
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | undefined;
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1}: ${line}`;
      if (line.startsWith('# HELP ')) {
        const match = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
        if (!match) throw new Error(`bad HELP at ${where}`);
        if (families.has(match[1]!)) throw new Error(`family declared twice at ${where}`);
        current = { name: match[1]!, help: match[2]!, type: 'untyped', samples: [] };
        families.set(current.name, current);
        return;
      }
      if (line.startsWith('# TYPE ')) {
        const match = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
        if (!match || current === undefined || current.name !== match[1])
          throw new Error(`bad TYPE at ${where}`);
        if (current.samples.length > 0) throw new Error(`TYPE after samples at ${where}`);
        current.type = match[2]!;
        return;
      }
      if (line.startsWith('#')) return;
      const match = SAMPLE.exec(line);
      if (!match) throw new Error(`bad sample at ${where}`);
      const [, name, , labelText, valueText] = match;
      if (current === undefined) throw new Error(`sample before any family at ${where}`);
      const allowed =
        current.type === 'histogram'
          ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`]
          : [current.name];
      if (!allowed.includes(name!)) throw new Error(`sample ${name} outside its family at ${where}`);
      const value = parseValue(valueText!);
      if (value === undefined) throw new Error(`bad value at ${where}`);
      current.samples.push({ name: name!, labels: parseLabels(labelText ?? '', where), value });
    });
  for (const family of families.values()) {
    if (family.type === 'counter') {
      if (!family.name.endsWith('_total')) throw new Error(`counter ${family.name} without _total`);
      for (const sample of family.samples)
        if (sample.value < 0) throw new Error(`negative counter ${family.name}`);
    }
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
    if (!match) throw new Error(`bad labels at ${where}`);
    if (Object.hasOwn(labels, match[1]!)) throw new Error(`label twice at ${where}`);
    labels[match[1]!] = match[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(match[0].length);
  }
  return labels;
}

function checkHistogram(family: ParsedFamily): void {
  const series = new Map<string, ParsedSample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const samples of series.values()) {
    const buckets = samples.filter((sample) => sample.name.endsWith('_bucket'));
    const count = samples.find((sample) => sample.name.endsWith('_count'));
    if (!samples.some((sample) => sample.name.endsWith('_sum')) || count === undefined)
      throw new Error(`histogram ${family.name} without _sum or _count`);
    let previousLe = Number.NEGATIVE_INFINITY;
    let previous = 0;
    for (const bucket of buckets) {
      const le = parseValue(bucket.labels.le ?? '');
      if (le === undefined || le <= previousLe) throw new Error(`histogram ${family.name}: le out of order`);
      if (bucket.value < previous) throw new Error(`histogram ${family.name}: buckets not cumulative`);
      previousLe = le;
      previous = bucket.value;
    }
    if (previousLe !== Number.POSITIVE_INFINITY) throw new Error(`histogram ${family.name} without +Inf`);
    if (previous !== count.value) throw new Error(`histogram ${family.name}: +Inf bucket != _count`);
  }
}
