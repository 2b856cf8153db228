/**
 * One line per change, for `flip config history` and log lines, written like the command that
 * makes it: `data add vip 10.0.0.9 10.0.0.10`, `server add flip4 --ip 10.0.0.4 --port 2204`.
 * Names and values that are not plain words are quoted as JSON, and long lists are cut, so a line
 * stays one line and short whatever a change holds.
 */
import { quote } from '../text/quote.js';
import type { ConfigChange } from './change.js';

/** Items, systems or servers shown before the rest are counted. */
export const DESCRIBED_NAMES_MAX = 8;

/** Characters of one value shown before it is cut. */
const VALUE_CHARS_MAX = 40;

export function describeChange(change: ConfigChange): string {
  switch (change.kind) {
    case 'data_add':
      return `data add ${word(change.system)} ${words(change.items, ' ')}`;
    case 'data_rm':
      return `data rm ${word(change.system)} ${words(change.items, ' ')}`;
    case 'server_add': {
      const parts = [`server add ${word(change.id)} --ip ${word(change.ip)} --port ${change.port}`];
      if (change.priority !== undefined) parts.push(`--priority ${change.priority}`);
      if (change.systems !== undefined && change.systems.length > 0)
        parts.push(`--systems ${words(change.systems, ',')}`);
      return parts.join(' ');
    }
    case 'server_rm':
      return `server rm ${word(change.id)}`;
    case 'system_set': {
      const values = Object.entries(change.values)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${value === null ? 'null' : setting(value)}`);
      return `system set ${word(change.system)} ${values.join(' ')}`;
    }
    case 'system_add': {
      const { type, data } = change.definition;
      const count = `${data.length} item${data.length === 1 ? '' : 's'}`;
      return `system add ${word(change.system)} (type ${type}, ${count}, members ${words(change.members, ',')})`;
    }
    case 'system_rm':
      return `system rm ${word(change.system)}`;
  }
}

/** A name or item as typed on a command line: bare when it is a plain word, else quoted. */
function word(text: string): string {
  return /^[\w.:/@+-]+$/u.test(text) && text.length <= VALUE_CHARS_MAX ? text : quote(text, VALUE_CHARS_MAX);
}

/** Up to DESCRIBED_NAMES_MAX words joined by `separator`, then how many more. */
function words(names: readonly string[], separator: string): string {
  const shown = names.slice(0, DESCRIBED_NAMES_MAX).map(word).join(separator);
  const rest = names.length - DESCRIBED_NAMES_MAX;
  return rest > 0 ? `${shown} (and ${rest.toLocaleString('en-US')} more)` : shown;
}

/**
 * A set value: a string that reads as nothing else bare, anything else as JSON (so `"null"` and
 * `"500"`, strings, are told from `null` and `500`), cut when long.
 */
function setting(value: unknown): string {
  if (typeof value === 'string' && !/^(null|true|false|-?\d.*)$/.test(value)) return word(value);
  const json = JSON.stringify(value) ?? String(value);
  return json.length <= VALUE_CHARS_MAX
    ? json
    : `${json.slice(0, VALUE_CHARS_MAX)}… (${json.length.toLocaleString('en-US')} characters)`;
}
