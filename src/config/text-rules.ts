/**
 * What a string from a config must be so that it can reach a script, a log line and the wire
 * unchanged. Each rule returns the reason a string breaks it, or undefined; the schema turns
 * the reasons into messages, so every message says why the rule exists.
 */

const utf8 = new TextEncoder();

/** Where a string will be used, which decides the rules it must follow. */
export type TextUse =
  /** A server id or system name: FLIP_NODE / FLIP_SYSTEM, log fields, table columns. */
  | 'name'
  /** An item: an argument and FLIP_ITEM; newlines and any printable text are fine. */
  | 'item'
  /** A script path or name, given to execve. */
  | 'script'
  /** A directory path, given to mkdir and open. */
  | 'path';

/** Names that JavaScript objects reserve: a record keyed by one would silently lose it. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__']);

/** Why `text` cannot be used as `use`, or undefined when it can. */
export function textProblem(text: string, use: TextUse, bytes_max: number): string | undefined {
  if (text === '') return 'must not be empty';
  const nul = text.indexOf('\u0000');
  if (nul >= 0)
    return `contains a NUL character (at character ${nul + 1}): arguments and environment values end at NUL, so no script could receive it`;
  const surrogate = loneSurrogateAt(text);
  if (surrogate >= 0)
    return `is not valid Unicode (a lone surrogate at character ${surrogate + 1}): it could not reach a script unchanged`;
  if (use === 'name') {
    const control = controlCharacterAt(text);
    if (control >= 0) {
      const code = text.charCodeAt(control).toString(16).toUpperCase().padStart(4, '0');
      return `contains a control character (U+${code} at character ${control + 1}): a name appears in environment variables, log lines and tables`;
    }
    if (RESERVED_NAMES.has(text)) return `"${text}" is reserved by JavaScript and cannot be a name`;
  }
  const bytes = utf8.encode(text).length;
  if (bytes > bytes_max) {
    const why =
      use === 'item'
        ? 'an item is passed to its scripts as an argument and in FLIP_ITEM, which Linux bounds'
        : use === 'script' || use === 'path'
          ? 'longer than any path the system can open'
          : 'a name is shown in every log line';
    return `is ${bytes.toLocaleString('en-US')} bytes long; at most ${bytes_max.toLocaleString('en-US')} bytes (UTF-8): ${why}`;
  }
  return undefined;
}

/** The index of the first unpaired UTF-16 surrogate, or -1. */
export function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (code >= 0xdc00 && code <= 0xdfff) return i;
  }
  return -1;
}

/** The index of the first C0 control character or DEL, or -1. */
function controlCharacterAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return i;
  }
  return -1;
}
