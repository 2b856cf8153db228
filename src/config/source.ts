/**
 * Reads config text (JSON, the original format, or YAML) into a plain value, keeping enough of
 * the parse tree to say on which line and column any key or value stands.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import { boundIssues, ConfigError, type ConfigIssue } from './errors.js';
import { TEXT_NESTING_DEPTH_MAX, tooDeepAt } from './nesting.js';

export interface Position {
  line: number;
  column: number;
}

export interface ConfigSource {
  value: unknown;
  /** Where the value at `path` stands; with `key: true`, where its key stands. */
  locate(path: readonly PropertyKey[], options?: { key?: boolean }): Position | undefined;
}

export type SourceFormat = 'json' | 'yaml';

export function formatOf(filename: string | undefined, text: string): SourceFormat {
  if (filename?.endsWith('.json')) return 'json';
  if (filename?.endsWith('.yaml') || filename?.endsWith('.yml')) return 'yaml';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

/** A UTF-8 byte-order mark, which some editors write first; it means nothing in a config. */
const BYTE_ORDER_MARK = '\uFEFF';

/**
 * YAML aliases expanded when building the value. Each alias of a list of aliases multiplies the
 * work ("billion laughs"); a real config needs few, if any.
 */
const YAML_ALIAS_COUNT_MAX = 1000;

export function parseSource(rawText: string, filename?: string): ConfigSource {
  const text = rawText.startsWith(BYTE_ORDER_MARK) ? rawText.slice(1) : rawText;
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const message = `nests lists and objects more than ${TEXT_NESTING_DEPTH_MAX} levels deep; a config needs a few`;
    throw new ConfigError([{ path: '', message, ...deep }], filename);
  }
  try {
    return parseText(text, filename);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // The parsers throw for input they cannot build a value from (a nesting deeper than the
    // stack, an alias bomb): it is bad input, said in one line.
    throw new ConfigError([{ path: '', message: parserFailure(error) }], filename);
  }
}

function parserFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/alias count/i.test(message))
    return `the YAML expands too many aliases (a "billion laughs" document?): at most ${YAML_ALIAS_COUNT_MAX} alias uses`;
  if (error instanceof RangeError) return 'the config is nested too deeply to read';
  return `cannot read the config: ${firstLine(message)}`;
}

function parseText(text: string, filename?: string): ConfigSource {
  const format = formatOf(filename, text);
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  let strictValue: unknown;
  if (format === 'json') {
    try {
      strictValue = JSON.parse(text);
    } catch (error) {
      throw new ConfigError([jsonSyntaxIssue(text, error as Error)], filename);
    }
  }

  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  for (const error of doc.errors) {
    // A file that JSON.parse accepted can only fail here for duplicate keys, which JSON.parse
    // silently resolves (last one wins) but which are always a mistake in a flip config.
    if (format === 'json' && error.code !== 'DUPLICATE_KEY') continue;
    const at = position(error.pos[0]);
    const message =
      error.code === 'DUPLICATE_KEY'
        ? 'duplicate key: a key may appear only once in an object (a server or system listed twice?)'
        : firstLine(error.message);
    issues.push({ path: '', message, ...at });
  }
  if (issues.length > 0) throw new ConfigError(boundIssues(issues), filename);

  const treeUsable = doc.errors.length === 0;
  const value = format === 'json' ? strictValue : doc.toJS({ maxAliasCount: YAML_ALIAS_COUNT_MAX });

  // Each map's pairs by key, built on first use: a file with many problems in one large map
  // would otherwise cost a scan of the map per problem.
  const pairsOf = new WeakMap<object, Map<string, Pair<unknown, unknown>>>();
  const pairIn = (map: YAMLMap<unknown, unknown>, key: string): Pair<unknown, unknown> | undefined => {
    let pairs = pairsOf.get(map);
    if (pairs === undefined) {
      pairs = new Map();
      for (const item of map.items) {
        if (!isScalar(item.key)) continue;
        const name = String(item.key.value);
        if (!pairs.has(name)) pairs.set(name, item);
      }
      pairsOf.set(map, pairs);
    }
    return pairs.get(key);
  };

  const locate = (path: readonly PropertyKey[], options?: { key?: boolean }): Position | undefined => {
    if (!treeUsable) return undefined;
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = pairIn(node, String(segment));
        if (pair === undefined) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        keyNode = undefined;
        node = node.items[segment];
        if (node === undefined) break;
      } else {
        break;
      }
    }
    const target = (options?.key && keyNode !== undefined ? keyNode : node) as Node | undefined;
    const range = target?.range;
    return range ? position(range[0]) : undefined;
  };

  return { value, locate };
}

/** A parser's message, one line and short: some quote a whole token, however long. */
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.length <= PARSER_MESSAGE_CHARS_MAX ? line : `${line.slice(0, PARSER_MESSAGE_CHARS_MAX)}…`;
}

const PARSER_MESSAGE_CHARS_MAX = 160;

/** Turns a JSON.parse error into an issue with line and column. */
function jsonSyntaxIssue(text: string, error: Error): ConfigIssue {
  const match = /position (\d+)/.exec(error.message);
  const message = `invalid JSON: ${firstLine(error.message.replace(/ in JSON at position \d+.*$/, ''))}`;
  if (!match) {
    const lineCol = /line (\d+) column (\d+)/.exec(error.message);
    if (lineCol) return { path: '', message, line: Number(lineCol[1]), column: Number(lineCol[2]) };
    return { path: '', message };
  }
  const offset = Number(match[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { path: '', message, line, column };
}
