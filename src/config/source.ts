/**
 * Reads config text (JSON, the original format, or YAML) into a plain value, keeping enough of
 * the parse tree to say on which line and column any key or value stands.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.js';

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

export function parseSource(text: string, filename?: string): ConfigSource {
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
  if (issues.length > 0) throw new ConfigError(issues, filename);

  const treeUsable = doc.errors.length === 0;
  const value = format === 'json' ? strictValue : doc.toJS();

  const locate = (path: readonly PropertyKey[], options?: { key?: boolean }): Position | undefined => {
    if (!treeUsable) return undefined;
    let node: unknown = doc.contents;
    let keyNode: unknown;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
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

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Turns a JSON.parse error into an issue with line and column. */
function jsonSyntaxIssue(text: string, error: Error): ConfigIssue {
  const match = /position (\d+)/.exec(error.message);
  const message = `invalid JSON: ${error.message.replace(/ in JSON at position \d+.*$/, '')}`;
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
