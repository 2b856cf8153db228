/** Runs the flip command from the TypeScript sources, as a separate process. */
import { spawnSync } from 'node:child_process';
import { FLIP_SOURCE_BIN, PACKAGE_ROOT } from '../../src/testing/paths.js';

export const ROOT = PACKAGE_ROOT;
export const CLI = FLIP_SOURCE_BIN;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runFlip(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
