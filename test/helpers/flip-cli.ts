/** Runs the flip command from the TypeScript sources, as a separate process. */
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * runFlip without blocking this process, for a CLI that talks to a server this test runs (a
 * spawnSync would stop the server from answering).
 */
export function runFlipAsync(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
