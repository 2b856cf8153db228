/**
 * How deeply a config's text nests, found by a scan before any parser runs. The YAML parser
 * recurses per level: a few hundred thousand nested `[`, or ten thousand compact sequences on
 * one line (`- - - - x`), in a file well under the size bound exhaust its stack or the
 * process's memory, which no try/catch can stop. Nesting by indentation needs the square of
 * its depth in spaces, so the size bound keeps it shallow enough, and the parser reports it.
 * A config needs a handful of levels, plus what a system's config holds (SYSTEM_CONFIG_DEPTH_MAX).
 */

/** Nesting of `[` and `{` a config text may have; beyond it the file is refused unparsed. */
export const TEXT_NESTING_DEPTH_MAX = 64;

/** Where the text first nests deeper than `depth_max`, or undefined when it never does. */
export function tooDeepAt(
  text: string,
  depth_max = TEXT_NESTING_DEPTH_MAX,
): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let quote: '"' | "'" | undefined;
  if (compactIndicators(text, 0) > depth_max) return { line: 1, column: 1 };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\n') {
      line++;
      lineStart = i + 1;
      // YAML's quoted scalars may span lines; JSON's may not, and then JSON.parse reports it.
      if (quote === undefined) {
        const compact = compactIndicators(text, lineStart);
        if (depth + compact > depth_max) return { line, column: 1 };
      }
      continue;
    }
    if (quote === '"') {
      if (char === '\\') i++;
      else if (char === '"') quote = undefined;
      continue;
    }
    if (quote === "'") {
      // In YAML single quotes, '' is a quote character, which this skips as close-then-open.
      if (char === "'") quote = undefined;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === '#' && (i === lineStart || /\s/.test(text[i - 1] ?? ''))) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
    } else if (char === '[' || char === '{') {
      depth++;
      if (depth > depth_max) return { line, column: i - lineStart + 1 };
    } else if (char === ']' || char === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * How many block indicators (`- ` and `? `) open the line at `start`, after its indentation:
 * each one is a level of nesting on that line.
 */
function compactIndicators(text: string, start: number): number {
  let i = start;
  let count = 0;
  while (text[i] === ' ' || text[i] === '\t') i++;
  while ((text[i] === '-' || text[i] === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
    count++;
    i += 2;
    while (text[i] === ' ' || text[i] === '\t') i++;
  }
  return count;
}
