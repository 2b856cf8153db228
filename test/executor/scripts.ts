/** Where the test scripts live, and how to read what the `record` script wrote. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = resolve(fileURLToPath(import.meta.url), '../../fixtures');
export const SCRIPTS = join(FIXTURES, 'scripts');

export function script(name: string): string {
  return join(SCRIPTS, name);
}

/** The records the `record` script appended: one object of field -> value per call. */
export function readRecords(file: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\x1e')
    .filter((record) => record !== '')
    .map((record) => {
      const fields: Record<string, string> = {};
      for (const field of record.split('\x1f')) {
        if (field === '') continue;
        const at = field.indexOf('=');
        fields[field.slice(0, at)] = field.slice(at + 1);
      }
      return fields;
    });
}
