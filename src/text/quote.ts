/**
 * Echoing what a user typed, safely: a message that quotes a 100 kB id or lists 5,000 names is
 * itself a problem. These bound what is shown and make control characters visible.
 */

/** Characters of a quoted string shown before it is cut. */
export const QUOTE_CHARS_MAX = 60;
/** Names listed before the rest are counted. */
export const LIST_NAMES_MAX = 12;

/**
 * `text` as a JSON string literal (control characters escaped), cut after `chars_max`
 * characters with the full length said, e.g. `"aaaa…" (100,000 characters)`.
 */
export function quote(text: string, chars_max = QUOTE_CHARS_MAX): string {
  if (text.length <= chars_max) return JSON.stringify(text);
  const shown = JSON.stringify(text.slice(0, chars_max)).slice(0, -1);
  return `${shown}…" (${text.length.toLocaleString('en-US')} characters)`;
}

/** `names` joined by ", ", at most `max` of them, then "and N more". */
export function listSome(
  names: readonly string[],
  max = LIST_NAMES_MAX,
  render = (name: string) => name,
): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, max).map(render).join(', ');
  const rest = names.length - max;
  return rest > 0 ? `${shown} and ${rest.toLocaleString('en-US')} more` : shown;
}
