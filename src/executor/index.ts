/**
 * The script runner: the pure core, the process launcher and the driver that joins them; and the
 * adapter of a system's lease program.
 */
export { CapturedOutput, cutNote, shortenText } from './captured-output.js';
export { type DriverOptions, type LaunchFunction, RunnerDriver } from './driver.js';
export { runnerOptionsFor } from './from-config.js';
export { checkScript, LAUNCH_DEFAULTS, type LaunchOptions, launchScript, resolveScript } from './launcher.js';
export { LINUX_LEASE_LIFETIME_S, LINUX_LIFETIME_FENCE_MS } from './lease-fence.js';
export {
  LEASE_KEEPER_DEFAULTS,
  LeaseKeeper,
  type LeaseKeeperEvent,
  type LeaseKeeperOptions,
  type LeaseProgram,
  type RenewResult,
  readUptimeMs,
  UPTIME_RESOLUTION_MS,
  uptimeDeadlineMs,
} from './lease-keeper.js';
export { describeFailure, type RetryPolicy, retryDelayMs } from './retry.js';
export { ScriptRunner } from './runner.js';
export {
  type LedgerEntry,
  LedgerWriteError,
  type Recovery,
  type ScriptGroupRecorder,
  ScriptLedger,
} from './script-ledger.js';
export {
  type ActionKind,
  type FailedView,
  type Launch,
  RUNNER_DEFAULTS,
  type RunnerCounters,
  type RunnerEffects,
  type RunnerNote,
  type RunnerOptions,
  type RunnerSystem,
  type RunningView,
  type RunResult,
  type ScriptEvent,
  type SystemStatus,
} from './types.js';
