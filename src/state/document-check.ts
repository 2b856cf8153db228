/**
 * How a state file's reader checks the shape of the document it read: the file format proves the
 * bytes are the ones written, the check proves they are a document this flip understands. A
 * check never throws; what it finds wrong becomes a `corrupt` load naming the field.
 */
import type { z } from 'zod';
import { pathToString } from '../config/errors.js';
import { schemaProblems } from '../config/issue-messages.js';
import { quote } from '../text/quote.js';

/** The document, typed, or what is wrong with it ("committed.version: must be ..."). */
export type CheckResult<T> = { ok: true; doc: T } | { ok: false; problem: string };

/** Checks a parsed JSON value; must not throw. */
export type DocumentCheck<T> = (value: unknown) => CheckResult<T>;

/** Problems named in one message; the rest are counted, so a wrecked file gives a short line. */
export const PROBLEMS_SHOWN_MAX = 3;

/** A DocumentCheck from a zod schema, with the config's messages ("is required (a number)"). */
export function zodCheck<T>(schema: z.ZodType<T>): DocumentCheck<T> {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return { ok: true, doc: parsed.data };
    const problems = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const at = issue.path as PropertyKey[];
        return issue.keys.map((key) => `${pathToString([...at, key])}: unknown key ${quote(key)}`);
      }
      return schemaProblems(issue, value, () => []).map((problem) => {
        const where = pathToString(problem.path);
        return where === '' ? problem.message : `${where}: ${problem.message}`;
      });
    });
    const rest = problems.length - PROBLEMS_SHOWN_MAX;
    const shown = problems.slice(0, PROBLEMS_SHOWN_MAX).join('; ');
    return { ok: false, problem: rest > 0 ? `${shown}; and ${rest} more` : shown };
  };
}
