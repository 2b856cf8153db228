/**
 * What a change command prints for the API's answer, and its exit status: the version committed,
 * or one line that says what happened, whether anything changed and what to do (the issues of an
 * invalid change follow it, one a line). Pure; the statuses are exit-codes.ts's.
 */
import type { ChangeResultDoc, ErrorDoc } from '../api/types.js';
import type { ConfigChange } from '../changes/change.js';
import { whenApplied, whenAppliedLine } from '../changes/when-applied.js';
import type { ChangeAnswer } from '../replica/answer.js';
import {
  EXIT_CHANGE_CONFLICT,
  EXIT_CHANGE_INVALID,
  EXIT_CHANGE_TIMEOUT,
  EXIT_DENIED,
  EXIT_NO_QUORUM,
  EXIT_NOT_AVAILABLE,
  EXIT_OK,
  EXIT_UNKNOWN_SERVER,
  EXIT_UNREACHABLE,
  EXIT_USAGE,
} from './exit-codes.js';

/** An answer of the API: its HTTP status and its JSON body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

export interface Report {
  exit: number;
  /** For stdout on success, stderr otherwise. */
  lines: string[];
}

/** The exit status of a refusal, by HTTP status and, for 503, the error's code. */
export function failureExit(status: number, code?: string): number {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return EXIT_USAGE;
    case 401:
    case 403:
      return EXIT_DENIED;
    case 409:
      return EXIT_CHANGE_CONFLICT;
    case 422:
      return EXIT_CHANGE_INVALID;
    case 501:
      return EXIT_NOT_AVAILABLE;
    case 503:
      return code === 'unknown_server'
        ? EXIT_UNKNOWN_SERVER
        : code === 'no_quorum'
          ? EXIT_NO_QUORUM
          : EXIT_UNREACHABLE;
    case 504:
      return EXIT_CHANGE_TIMEOUT;
    default:
      return EXIT_UNREACHABLE;
  }
}

/** A refusal as lines: the first says what happened; an invalid change's issues follow. */
export function failureLines(answer: HttpAnswer, base: string): string[] {
  const error = (answer.body as Partial<ErrorDoc> | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${answer.status}`;
  const issues = (Array.isArray(error?.issues) ? error.issues : []).map(
    (issue) => `  ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`,
  );
  switch (answer.status) {
    case 400:
    case 413:
    case 415:
      return [`the API at ${base} refused the request: ${message}`, ...issues];
    case 401:
      return [`the API at ${base} needs its token: ${message} (pass --token or set FLIP_TOKEN)`];
    case 403:
      return [`the API at ${base} takes no changes: ${message}`];
    case 409:
      return [`conflict, nothing changed: ${message}`];
    case 422:
      return [`invalid change, nothing changed: ${message}`, ...issues];
    case 501:
      return [`not available at ${base}: ${message}`];
    case 503:
      if (error?.code === 'unknown_server') return [`unknown server, nothing changed: ${message}`];
      if (error?.code === 'no_quorum') return [`no quorum reachable, nothing changed: ${message}`];
      return [`the API at ${base} is not available: ${message}`];
    case 504:
      return [`no answer in time, the change may or may not be committed: ${message}`];
    default:
      return [`the API at ${base} answered ${answer.status}: ${message}`];
  }
}

/**
 * The report of POST /v1/changes's answer to `sent`: a committed change that the running agents
 * take only at their next start says so on a second line.
 */
export function changeReport(answer: HttpAnswer, base: string, sent?: ConfigChange): Report {
  if (answer.status !== 200)
    return { exit: failureExit(answer.status, errorCode(answer)), lines: failureLines(answer, base) };
  const doc = answer.body as ChangeResultDoc;
  if (doc.outcome === 'no_op')
    return {
      exit: EXIT_OK,
      lines: [`nothing to change: version ${doc.version} already is so (${doc.reason ?? doc.change})`],
    };
  const later = sent === undefined ? undefined : whenAppliedLine(whenApplied(sent));
  return {
    exit: EXIT_OK,
    lines: [`committed version ${doc.version}: ${doc.change}`, ...(later === undefined ? [] : [later])],
  };
}

/** The `code` of a refusal's ErrorDoc, if it has one. */
export function errorCode(answer: HttpAnswer): string | undefined {
  const code = (answer.body as Partial<ErrorDoc> | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The exit status for a change's answer as the replica gave it (a reload's changes). */
export function answerExit(kind: ChangeAnswer['kind']): number {
  switch (kind) {
    case 'committed':
    case 'no_op':
      return EXIT_OK;
    case 'invalid':
      return EXIT_CHANGE_INVALID;
    case 'conflict':
      return EXIT_CHANGE_CONFLICT;
    case 'no_quorum':
      return EXIT_NO_QUORUM;
    case 'unknown_server':
      return EXIT_UNKNOWN_SERVER;
    case 'timeout':
      return EXIT_CHANGE_TIMEOUT;
  }
}
