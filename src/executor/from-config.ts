/**
 * The script runner's options as a flip config sets them, for the daemon and the simulator
 * alike (beside membership/from-config.ts, which does the same for the protocol core).
 */
import type { FlipConfig, SystemConfig } from '../config/index.js';
import type { RunnerOptions, RunnerSystem } from './types.js';

export interface RunnerInject {
  /** Where a script named in the config runs from; the daemon resolves paths, the simulator does not. */
  resolveScript?: (script: string) => string;
}

/** Options for the runner of server `self`: only the systems it is a member of run scripts there. */
export function runnerOptionsFor(config: FlipConfig, self: string, inject: RunnerInject = {}): RunnerOptions {
  const server = config.servers.find((candidate) => candidate.id === self);
  if (server === undefined) throw new Error(`runnerOptionsFor: ${self} is not a server of the config`);
  return {
    node: self,
    remove_on_start: config.remove_on_start,
    systems: config.systems
      .filter((system) => server.systems.includes(system.name))
      .map((system) => runnerSystemFor(system, inject)),
  };
}

/** The runner's view of one system (for a system a running agent takes up: ScriptRunner.addSystem). */
export function runnerSystemFor(system: SystemConfig, inject: RunnerInject = {}): RunnerSystem {
  const resolve = inject.resolveScript ?? ((script: string) => script);
  return {
    name: system.name,
    alive: resolve(system.alive),
    down: resolve(system.down),
    config: system.config,
    data: system.data,
    delay_ms: system.delay_ms,
    script_timeout_ms: system.script_timeout_ms,
  };
}
