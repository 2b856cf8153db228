/**
 * Loads a config in a short-lived worker thread. The schema library and the YAML parser are
 * then loaded only in the worker, whose memory is returned when it exits: a long-running
 * agent does not carry ~15 MB of validation code it needed once, at start.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { ConfigOverrides, FlipConfig } from './validate.js';

export type WorkerReply =
  | { ok: true; config: FlipConfig }
  | { ok: false; issues: ConfigIssue[]; file?: string };

export async function loadConfigIsolated(file: string, overrides: ConfigOverrides = {}): Promise<FlipConfig> {
  // Run from the TypeScript sources (tests, development), a worker thread would not get the
  // TypeScript loader: load in this thread then; the memory saving matters for the built agent.
  if (extname(fileURLToPath(import.meta.url)) === '.ts')
    return (await import('./index.js')).loadConfig(file, overrides);
  const worker = new URL('./load-worker.js', import.meta.url);
  return new Promise((resolve, reject) => {
    const thread = new Worker(worker, { workerData: { file, overrides } });
    thread.once('message', (reply: WorkerReply) => {
      if (reply.ok) resolve(reply.config);
      else reject(new ConfigError(reply.issues, reply.file));
    });
    thread.once('error', reject);
    thread.once('exit', (code) => {
      if (code !== 0) reject(new Error(`config loader exited with code ${code}`));
    });
  });
}
