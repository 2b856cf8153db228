/** Operating errors about config: expected, reported all at once, never a stack trace. */

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
      if (!plain) return `[${JSON.stringify(text)}]`;
      return i === 0 ? text : `.${text}`;
    })
    .join('');
}
