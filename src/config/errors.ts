/** Operating errors about config: expected, reported all at once, never a stack trace. */
import { quote } from '../text/quote.js';
import { CONFIG_ISSUES_MAX } from './limits.js';

export interface ConfigIssue {
  /** The key's path, dotted: `servers.flip1.port`. Empty for the whole file. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly issues: ConfigIssue[],
    readonly file?: string,
  ) {
    super(formatIssues(issues, file));
  }
}

export function formatIssue(issue: ConfigIssue, file?: string): string {
  const where = [file, issue.line, issue.column].filter((part) => part !== undefined).join(':');
  const path = issue.path === '' ? '' : `${issue.path}: `;
  return `${where === '' ? '' : `${where}: `}${path}${issue.message}`;
}

export function formatIssues(issues: ConfigIssue[], file?: string): string {
  return issues.map((issue) => formatIssue(issue, file)).join('\n');
}

export function pathToString(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const text = String(segment);
      const plain = /^[A-Za-z_][\w-]*$/.test(text);
      if (!plain) return `[${quote(text)}]`;
      return i === 0 ? text : `.${text}`;
    })
    .join('');
}

/** Sorted by position, and at most CONFIG_ISSUES_MAX of them, the rest counted. */
export function boundIssues(issues: ConfigIssue[]): ConfigIssue[] {
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (issues.length <= CONFIG_ISSUES_MAX) return issues;
  const rest = issues.length - CONFIG_ISSUES_MAX;
  return [
    ...issues.slice(0, CONFIG_ISSUES_MAX),
    { path: '', message: `and ${rest.toLocaleString('en-US')} more problems (fix these first)` },
  ];
}
