/** The worker side of load-isolated.ts: loads one config and posts it (or its issues) back. */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { loadConfig } from './index.js';
import type { WorkerReply } from './load-isolated.js';
import type { ConfigOverrides } from './validate.js';

const { file, overrides } = workerData as { file: string; overrides: ConfigOverrides };
let reply: WorkerReply;
try {
  reply = { ok: true, config: loadConfig(file, overrides) };
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  reply = { ok: false, issues: error.issues, file: error.file };
}
parentPort!.postMessage(reply);
