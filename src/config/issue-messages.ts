/**
 * zod's issues turned into messages that say what was expected and what was found, for every
 * issue code zod has. zod's own defaults ("Invalid input") never reach an operator: a message
 * that names neither the expectation nor the value sends them guessing.
 */
import type { z } from 'zod';
import { quote } from '../text/quote.js';
import { didYouMean } from './did-you-mean.js';

/** One problem to report: its path, message, and where to point (its key, or another path). */
export interface SchemaProblem {
  path: PropertyKey[];
  message: string;
  key?: boolean;
  at?: PropertyKey[];
}

/** Expectations that zod's issue cannot describe by itself, by the key's dotted path pattern. */
const EXPECTED_AT: ReadonlyMap<string, string> = new Map([['key', 'a string or a list of strings']]);

/** Known keys of the object at a path, for "did you mean" hints. */
export type KnownKeys = (path: readonly PropertyKey[]) => string[];

export function schemaProblems(
  issue: z.core.$ZodIssue,
  root: unknown,
  knownKeysAt: KnownKeys,
  base: readonly PropertyKey[] = [],
): SchemaProblem[] {
  const path = [...base, ...(issue.path as PropertyKey[])];
  const value = valueAt(root, path);
  const expectedHere = EXPECTED_AT.get(path.map(String).join('.'));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys.map((key) => {
        const hint = key.length <= 64 ? didYouMean(key, known) : undefined;
        const message = `unknown key ${quote(key)}${hint ? ` (did you mean "${hint}"?)` : ''}`;
        return { path: [...path, key], message: `${message}; known keys: ${known.join(', ')}`, key: true };
      });
    }
    case 'invalid_type': {
      const expected = expectedHere ?? describeExpected(issue.expected);
      if (value === undefined) return [{ path, message: `is required (${expected})`, at: path.slice(0, -1) }];
      // A message of our own (`.int('must be a whole number ...')`) says more than the type.
      return [
        { path, message: custom(issue.message) ?? `must be ${expected} (got ${describeValue(value)})` },
      ];
    }
    case 'invalid_union': {
      // A branch whose own type matched failed deeper: its issues are the useful ones.
      const matched = issue.errors.find((branch) =>
        branch.every((inner) => !(inner.code === 'invalid_type' && inner.path.length === 0)),
      );
      if (matched) return matched.flatMap((inner) => schemaProblems(inner, root, knownKeysAt, path));
      const expected =
        expectedHere ??
        issue.errors
          .map((branch) => branch[0])
          .map((inner) =>
            inner?.code === 'invalid_type' ? describeExpected(inner.expected) : 'another value',
          )
          .join(' or ');
      if (value === undefined) return [{ path, message: `is required (${expected})`, at: path.slice(0, -1) }];
      return [{ path, message: `must be ${expected} (got ${describeValue(value)})` }];
    }
    case 'invalid_value': {
      const got = typeof value === 'string' ? quote(value) : describeValue(value);
      const allowed = issue.values.map(String);
      const hint = typeof value === 'string' && value.length <= 64 ? didYouMean(value, allowed) : undefined;
      return [
        {
          path,
          message: `${got} is not one of: ${allowed.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`,
        },
      ];
    }
    case 'invalid_key': {
      const key = String(path[path.length - 1] ?? '');
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return [{ path, message: `the key ${quote(key)} ${reasons || 'is not a valid key'}`, key: true }];
    }
    case 'too_small':
      return [
        {
          path,
          message: custom(issue.message) ?? `must be at least ${issue.minimum}${unitOf(issue.origin)}`,
        },
      ];
    case 'too_big':
      return [
        { path, message: custom(issue.message) ?? `must be at most ${issue.maximum}${unitOf(issue.origin)}` },
      ];
    case 'not_multiple_of':
      return [{ path, message: custom(issue.message) ?? `must be a multiple of ${issue.divisor}` }];
    case 'invalid_format':
      return [{ path, message: custom(issue.message) ?? `is not a valid ${issue.format}` }];
    case 'invalid_element':
      return [{ path, message: custom(issue.message) ?? 'has an invalid entry' }];
    case 'custom':
      return [{ path, message: lowerFirst(issue.message) }];
  }
}

/** A message we wrote ourselves in the schema, or undefined for one of zod's defaults. */
function custom(message: string): string | undefined {
  return /^(Invalid|Too (small|big)|Expected)\b/.test(message) ? undefined : message;
}

function unitOf(origin: string): string {
  if (origin === 'string') return ' characters';
  if (origin === 'array' || origin === 'set') return ' entries';
  return '';
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'an object of keys and values';
    default:
      return expected;
  }
}

/** What a value is, for "got ...": its type, and small scalars themselves. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${quote(value, 30)}`;
    case 'number':
      return Number.isFinite(value) ? `the number ${value}` : String(value);
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    if (!Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}
