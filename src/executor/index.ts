/** The script runner: the pure core, the process launcher and the driver that joins them. */
export { CapturedOutput, cutNote, shortenText } from './captured-output.js';
export { type DriverOptions, type LaunchFunction, RunnerDriver } from './driver.js';
export { checkScript, LAUNCH_DEFAULTS, type LaunchOptions, launchScript, resolveScript } from './launcher.js';
export {
  describeFailure,
  type FailedView,
  type Launch,
  type RetryPolicy,
  RUNNER_DEFAULTS,
  type RunnerCounters,
  type RunnerEffects,
  type RunnerNote,
  type RunnerOptions,
  type RunnerSystem,
  type RunningView,
  type RunResult,
  retryDelayMs,
  type ScriptEvent,
  ScriptRunner,
  type SystemStatus,
} from './runner.js';
