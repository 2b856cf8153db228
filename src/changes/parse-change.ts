/**
 * The shape a change must have, checked wherever one arrives from outside: a request to the API,
 * an entry of another server's log, a state file. What does not fit becomes ConfigIssues whose
 * paths are the change's fields (`items[2]`, `values.delay`), with the config file's messages
 * (config/issue-messages.ts): a value is checked by the same rule as the config key it writes.
 *
 * Whether a well-formed change fits a given config (the system exists, the item is not there
 * yet, ...) is a separate question, answered by fit.ts against that config.
 */
import { z } from 'zod';
import { didYouMean } from '../config/did-you-mean.js';
import { type ConfigIssue, pathToString } from '../config/errors.js';
import { describeValue, schemaProblems, valueAt } from '../config/issue-messages.js';
import {
  CONFIG_FILE_BYTES_MAX,
  ITEM_BYTES_MAX,
  ITEM_COUNT_MAX,
  NAME_BYTES_MAX,
  SERVER_COUNT_MAX,
  SYSTEM_COUNT_MAX,
} from '../config/limits.js';
import { serverSchema, systemSchema } from '../config/schema.js';
import { RESERVED_NAMES, type TextUse, textProblem } from '../config/text-rules.js';
import { quote } from '../text/quote.js';
import {
  CHANGE_KINDS,
  type ChangeKind,
  type ConfigChange,
  SYSTEM_KEYS_NOT_SETTABLE,
  SYSTEM_KEYS_REQUIRED,
  type SystemSettings,
} from './change.js';

/**
 * The largest change, as JSON: a change can write no more than a whole config file holds, and a
 * bound keeps one request or log entry from costing unbounded memory and time.
 */
export const CHANGE_BYTES_MAX = CONFIG_FILE_BYTES_MAX;

/**
 * How deeply objects and lists may nest in a change: a system's `config` may nest 32 levels
 * (limits.ts), and the change around it adds three.
 */
export const CHANGE_DEPTH_MAX = 40;

/** A string that follows the config's rules for `use` (config/text-rules.ts). */
function text(use: TextUse, bytes_max: number) {
  return z.string().superRefine((value, context) => {
    const problem = textProblem(value, use, bytes_max);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  });
}

const name = text('name', NAME_BYTES_MAX);
const item = text('item', ITEM_BYTES_MAX);

/** A list in which no value appears twice: the second is named with where the first is. */
function distinct<T extends z.ZodArray<z.ZodType<string>>>(list: T) {
  return list.superRefine((values, context) => {
    const first = new Map<string, number>();
    values.forEach((value, i) => {
      const at = first.get(value);
      if (at === undefined) first.set(value, i);
      else
        context.addIssue({
          code: 'custom',
          path: [i],
          message: `${quote(value)} is listed twice (also at [${at}])`,
        });
    });
  });
}

const items = distinct(
  z
    .array(item)
    .min(1, 'must list at least one item')
    .max(ITEM_COUNT_MAX, `lists too many items (at most ${ITEM_COUNT_MAX.toLocaleString('en-US')})`),
);

const baseVersion = z
  .number()
  .int('must be a whole number (the committed version the change was made against)')
  .min(0, 'must be 0 or more (the committed version the change was made against)');

/**
 * A system_set's values: each key of a system but `data`, checked by the config's own rule for
 * it; `null` for an optional key. Built from config/schema.ts, so that a key added there becomes
 * settable here with its rule and message.
 */
function settingsSchema(): z.ZodType<SystemSettings> {
  const required = new Set<string>(SYSTEM_KEYS_REQUIRED);
  const shape: { [key: string]: z.ZodType } = {};
  for (const [key, rule] of Object.entries(systemSchema.shape)) {
    if ((SYSTEM_KEYS_NOT_SETTABLE as readonly string[]).includes(key)) continue;
    shape[key] = required.has(key) ? rule.optional() : rule.nullable();
  }
  // Only when every key was known: a misspelt key is reported as such, not as nothing set.
  return z.strictObject(shape).refine((values) => Object.keys(values).length > 0, {
    message: 'must set at least one key',
    when: (payload) => payload.issues.length === 0,
  }) as unknown as z.ZodType<SystemSettings>;
}

/** The keys a system_set may set. */
export const SETTABLE_KEYS: readonly string[] = Object.keys(systemSchema.shape).filter(
  (key) => !(SYSTEM_KEYS_NOT_SETTABLE as readonly string[]).includes(key),
);

const SCHEMAS = {
  data_add: z.strictObject({
    kind: z.literal('data_add'),
    system: name,
    items,
    base_version: baseVersion,
  }),
  data_rm: z.strictObject({
    kind: z.literal('data_rm'),
    system: name,
    items,
    base_version: baseVersion,
  }),
  server_add: z.strictObject({
    kind: z.literal('server_add'),
    id: name,
    ip: serverSchema.shape.ip,
    port: serverSchema.shape.port,
    priority: serverSchema.shape.priority,
    systems: distinct(
      z.array(name).max(SYSTEM_COUNT_MAX, `names too many systems (at most ${SYSTEM_COUNT_MAX})`),
    ).optional(),
    base_version: baseVersion,
  }),
  server_rm: z.strictObject({ kind: z.literal('server_rm'), id: name, base_version: baseVersion }),
  system_set: z.strictObject({
    kind: z.literal('system_set'),
    system: name,
    values: settingsSchema(),
    base_version: baseVersion,
  }),
  system_add: z.strictObject({
    kind: z.literal('system_add'),
    system: name,
    definition: systemSchema,
    members: distinct(
      z
        .array(name)
        .min(1, 'must name at least one server: a system needs a member')
        .max(
          SERVER_COUNT_MAX,
          `names too many servers (at most ${SERVER_COUNT_MAX.toLocaleString('en-US')})`,
        ),
    ),
    base_version: baseVersion,
  }),
  system_rm: z.strictObject({ kind: z.literal('system_rm'), system: name, base_version: baseVersion }),
} satisfies { [K in ChangeKind]: z.ZodType<Extract<ConfigChange, { kind: K }>> };

/** Every change, as one zod schema (for a decoder that wants one); parseChange gives better messages. */
export const configChangeSchema: z.ZodType<ConfigChange> = z.discriminatedUnion('kind', [
  SCHEMAS.data_add,
  SCHEMAS.data_rm,
  SCHEMAS.server_add,
  SCHEMAS.server_rm,
  SCHEMAS.system_set,
  SCHEMAS.system_add,
  SCHEMAS.system_rm,
]);

/** A checked change, or every problem found, each naming the field. */
export type ChangeParse = { ok: true; change: ConfigChange } | { ok: false; issues: ConfigIssue[] };

/** Checks a value (parsed JSON) as a change; never throws. */
export function parseChange(value: unknown): ChangeParse {
  const fail = (issues: ConfigIssue[]): ChangeParse => ({ ok: false, issues });
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail([
      { path: '', message: `a change must be an object of keys and values (got ${describeValue(value)})` },
    ]);
  const bounds = boundProblems(value);
  if (bounds.length > 0) return fail(bounds);
  const kind = Object.hasOwn(value, 'kind') ? (value as { kind: unknown }).kind : undefined;
  if (!isKind(kind)) return fail([{ path: 'kind', message: kindProblem(kind) }]);
  const parsed = SCHEMAS[kind].safeParse(value);
  if (parsed.success) return { ok: true, change: parsed.data as ConfigChange };
  const known = knownKeys(kind);
  return fail(
    parsed.error.issues.flatMap((issue) =>
      schemaProblems(issue, value, known).map((problem) => ({
        path: pathToString(problem.path),
        message: settingProblem(problem.path, value) ?? problem.message,
      })),
    ),
  );
}

function isKind(kind: unknown): kind is ChangeKind {
  return typeof kind === 'string' && (CHANGE_KINDS as readonly string[]).includes(kind);
}

function kindProblem(kind: unknown): string {
  const kinds = CHANGE_KINDS.join(', ');
  if (kind === undefined) return `is required (one of: ${kinds})`;
  if (typeof kind !== 'string') return `must be one of: ${kinds} (got ${describeValue(kind)})`;
  const hint = kind.length <= 64 ? didYouMean(kind, CHANGE_KINDS) : undefined;
  return `${quote(kind)} is not one of: ${kinds}${hint ? ` (did you mean "${hint}"?)` : ''}`;
}

/** The keys known at a path of a change of `kind`, for "did you mean" hints. */
function knownKeys(kind: ChangeKind) {
  return (path: readonly PropertyKey[]): string[] => {
    if (path.length === 0) return Object.keys(SCHEMAS[kind].shape);
    if (path.length === 1 && path[0] === 'values') return [...SETTABLE_KEYS];
    if (path.length === 1 && path[0] === 'definition') return Object.keys(systemSchema.shape);
    return [];
  };
}

/**
 * Messages for two system_set mistakes that the schema's own would leave unexplained: `data`, which
 * has commands of its own, and removing a key that every system needs.
 */
function settingProblem(path: readonly PropertyKey[], change: object): string | undefined {
  if (path.length !== 2 || path[0] !== 'values') return undefined;
  const key = String(path[1]);
  if ((SYSTEM_KEYS_NOT_SETTABLE as readonly string[]).includes(key))
    return 'cannot be set whole: items change through data_add and data_rm, which name each item, so that two changes made at once both count';
  if ((SYSTEM_KEYS_REQUIRED as readonly string[]).includes(key) && valueAt(change, path) === null)
    return `cannot be removed: every system needs ${SYSTEM_KEYS_REQUIRED.join(', ')}`;
  return undefined;
}

/**
 * Problems that must be found before the schema runs: nesting deeper than CHANGE_DEPTH_MAX (which
 * would cost a recursive walk its stack), a key `__proto__` (which the schema would silently drop),
 * and a size over CHANGE_BYTES_MAX. Walks with its own stack.
 */
function boundProblems(value: object): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const stack: { node: unknown; path: PropertyKey[] }[] = [{ node: value, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (path.length >= CHANGE_DEPTH_MAX)
      return [
        {
          path: pathToString(path),
          message: `nests lists and objects deeper than ${CHANGE_DEPTH_MAX} levels`,
        },
      ];
    for (const [key, child] of Object.entries(node)) {
      const at = [...path, Array.isArray(node) ? Number(key) : key];
      if (RESERVED_NAMES.has(key))
        issues.push({
          path: pathToString(at),
          message: `the key "${key}" is reserved by JavaScript and cannot be used`,
        });
      else stack.push({ node: child, path: at });
    }
  }
  if (issues.length > 0) return issues;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > CHANGE_BYTES_MAX)
    return [
      {
        path: '',
        message: `the change is ${bytes.toLocaleString('en-US')} bytes as JSON; at most ${CHANGE_BYTES_MAX.toLocaleString('en-US')} (as a config file)`,
      },
    ];
  return [];
}
