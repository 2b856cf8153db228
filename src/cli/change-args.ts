/**
 * The change a `flip data|server|system` command line asks for, built from its arguments and
 * checked with parseChange, as the API checks it: the CLI and the API refuse the same changes
 * with the same messages. Each problem names the argument it comes from (`--port "x"`, `dealy=200`,
 * `ITEM "a"`), never a field of the JSON the user did not write. Pure.
 *
 * Values of `key=value` are read as JSON when they are JSON (`delay=200`, `preempt=false`,
 * `check=null`, `config='{"dev":"eth0"}'`, `alive='"123"'`), else as the text typed
 * (`alive=/usr/local/bin/vip-up`). That is the same rule describeChange writes them by, so a line
 * of `flip config history` can be typed again. In `system add`, `data=a,b` is also a list.
 */
import { type ChangeParse, type ConfigChange, parseChange, SETTABLE_KEYS } from '../changes/index.js';
import { didYouMean } from '../config/did-you-mean.js';
import type { ConfigIssue } from '../config/errors.js';
import { systemSchema } from '../config/schema.js';
import { quote } from '../text/quote.js';

/** A change command as typed, before it is checked. */
export type ChangeCommand =
  | { command: 'data add' | 'data rm'; system: string; items: string[] }
  | {
      command: 'server add';
      id: string;
      ip: string;
      port: string;
      priority?: string;
      systems?: string[];
    }
  | { command: 'server rm'; id: string }
  | { command: 'system set'; system: string; pairs: string[] }
  | { command: 'system add'; system: string; pairs: string[]; members: string[] }
  | { command: 'system rm'; system: string };

/** The change, or every problem, each a line naming its argument. */
export type ChangeBuild = { ok: true; change: ConfigChange } | { ok: false; problems: string[] };

/** Builds and checks the change of `command`, made against `base_version`. */
export function buildChange(command: ChangeCommand, base_version: number): ChangeBuild {
  const problems: string[] = [];
  const raw = rawChange(command, base_version, problems);
  if (problems.length > 0) return { ok: false, problems };
  const parsed: ChangeParse = parseChange(raw);
  if (parsed.ok) return parsed;
  return { ok: false, problems: parsed.issues.map((issue) => argumentProblem(command, issue)) };
}

function rawChange(command: ChangeCommand, base_version: number, problems: string[]): unknown {
  switch (command.command) {
    case 'data add':
    case 'data rm':
      return {
        kind: command.command === 'data add' ? 'data_add' : 'data_rm',
        system: command.system,
        items: command.items,
        base_version,
      };
    case 'server add': {
      const change: { [key: string]: unknown } = {
        kind: 'server_add',
        id: command.id,
        ip: command.ip,
        port: wholeNumber('--port', command.port, problems),
        base_version,
      };
      if (command.priority !== undefined) change.priority = number('--priority', command.priority, problems);
      if (command.systems !== undefined) change.systems = command.systems;
      return change;
    }
    case 'server rm':
      return { kind: 'server_rm', id: command.id, base_version };
    case 'system set':
      return {
        kind: 'system_set',
        system: command.system,
        values: pairs(command.pairs, SETTABLE_KEYS, false, problems),
        base_version,
      };
    case 'system add':
      return {
        kind: 'system_add',
        system: command.system,
        definition: pairs(command.pairs, Object.keys(systemSchema.shape), true, problems),
        members: command.members,
        base_version,
      };
    case 'system rm':
      return { kind: 'system_rm', system: command.system, base_version };
  }
}

function wholeNumber(option: string, text: string, problems: string[]): number | undefined {
  if (/^\d{1,15}$/.test(text.trim())) return Number(text.trim());
  problems.push(`${option} ${quote(text)}: must be a whole number`);
  return undefined;
}

function number(option: string, text: string, problems: string[]): number | undefined {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (Number.isFinite(value)) return value;
  problems.push(`${option} ${quote(text)}: must be a number`);
  return undefined;
}

/**
 * `key=value` arguments as an object. Keys are checked here (unknown, given twice) so that the
 * message names the argument; values are checked by parseChange with the config's rules.
 */
function pairs(
  args: readonly string[],
  known: readonly string[],
  data_list: boolean,
  problems: string[],
): { [key: string]: unknown } {
  const values: { [key: string]: unknown } = {};
  if (args.length === 0) problems.push('key=value: give at least one');
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at <= 0) {
      problems.push(`${quote(arg)}: expected key=value (keys: ${known.join(', ')})`);
      continue;
    }
    const key = arg.slice(0, at);
    const text = arg.slice(at + 1);
    if (!known.includes(key)) {
      // `data` has its own commands: parseChange explains that, named by the argument.
      if (!(key === 'data' && !data_list)) {
        const hint = key.length <= 64 ? didYouMean(key, known) : undefined;
        problems.push(
          `${shortArg(arg)}: unknown key ${quote(key)}${hint ? ` (did you mean "${hint}"?)` : ''}; keys: ${known.join(', ')}`,
        );
        continue;
      }
    }
    if (Object.hasOwn(values, key)) {
      problems.push(`${shortArg(arg)}: ${key} is given twice`);
      continue;
    }
    values[key] = key === 'data' && data_list ? dataValue(text) : value(text);
  }
  return values;
}

/** A value as typed: JSON when it is JSON, else the text. */
export function value(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `data=` of system add: a JSON list, or items separated by commas. */
function dataValue(text: string): unknown {
  const parsed = value(text);
  if (Array.isArray(parsed)) return parsed;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** One of parseChange's issues, said of the argument it comes from. */
function argumentProblem(command: ChangeCommand, issue: ConfigIssue): string {
  const [head, ...rest] = issue.path.split(/(?=[.[])/);
  const at = rest.join('');
  const index = /^\[(\d+)\]/.exec(at)?.[1];
  const nth = <T>(list: readonly T[] | undefined) =>
    index === undefined ? undefined : list?.[Number(index)];
  let argument: string;
  switch (head) {
    case 'system':
      argument = `SYSTEM ${quote('system' in command ? command.system : '')}`;
      break;
    case 'id':
      argument = `ID ${quote('id' in command ? command.id : '')}`;
      break;
    case 'items': {
      const item = nth('items' in command ? command.items : undefined);
      argument = item === undefined ? 'ITEM...' : `ITEM ${quote(item)}`;
      break;
    }
    case 'ip':
    case 'port':
    case 'priority': {
      const typed = command.command === 'server add' ? command[head] : undefined;
      argument = `--${head}${typed === undefined ? '' : ` ${quote(typed)}`}`;
      break;
    }
    case 'systems': {
      const system = nth(command.command === 'server add' ? command.systems : undefined);
      argument = `--systems${system === undefined ? '' : ` ${quote(system)}`}`;
      break;
    }
    case 'members': {
      const member = nth(command.command === 'system add' ? command.members : undefined);
      argument = `--members${member === undefined ? '' : ` ${quote(member)}`}`;
      break;
    }
    case 'values':
    case 'definition': {
      const key = /^\.([\w-]+)/.exec(at)?.[1] ?? /^\["(.*)"\]/.exec(at)?.[1];
      const typed = key === undefined || !('pairs' in command) ? undefined : pairFor(command.pairs, key);
      const inner = key === undefined ? '' : at.slice(at.indexOf(key) + key.length).replace(/^"\]/, '');
      argument =
        typed === undefined ? (key === undefined ? 'key=value...' : `${key}=VALUE`) : shortArg(typed);
      if (inner !== '') argument += ` (at ${key}${inner})`;
      break;
    }
    default:
      argument = issue.path === '' ? 'the change' : issue.path;
  }
  return `${argument}: ${issue.message}`;
}

function pairFor(args: readonly string[], key: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${key}=`));
}

/** An argument as typed, cut when long. */
function shortArg(arg: string): string {
  return /^[\w.:/@+,=-]+$/u.test(arg) && arg.length <= 60 ? arg : quote(arg);
}
