/**
 * The script runner's options as a flip config sets them, for the daemon and the simulator
 * alike (beside membership/from-config.ts, which does the same for the protocol core).
 */
import type { FlipConfig, SystemConfig } from '../config/index.js';
import { systemsToRetire } from '../config/runtime-change.js';
import type { ScriptRunner } from './runner.js';
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

/**
 * The runner side of systems changed at runtime (runtimeChange's and committedChange's `systems`):
 * the items and scripts of those this runner has. The agent and the simulator both call it.
 */
export function systemsToRunner(
  now: number,
  runner: ScriptRunner,
  systems: ReadonlyMap<string, SystemConfig>,
  inject: RunnerInject = {},
): void {
  const own = new Set(runner.systems());
  for (const [name, system] of systems) {
    if (!own.has(name)) continue;
    const { alive, down, delay_ms, script_timeout_ms } = runnerSystemFor(system, inject);
    runner.setScripts(now, name, { alive, down, delay_ms, script_timeout_ms });
    runner.setData(now, name, system.data);
  }
}

/**
 * The runner side of new lists taken in process (committedChange's `lists`), `current` to `next`:
 * the systems let go of are forgotten (CommittedVersions emptied them, and took `next` once
 * nothing of them was left), the changed ones take their new items and scripts, and the systems
 * this server is a member of now are taken up. Returns the names removed and the systems added,
 * for what goes with a system (its lease program, in the agent).
 */
export function listsToRunner(
  now: number,
  runner: ScriptRunner,
  current: FlipConfig,
  next: FlipConfig,
  systems: ReadonlyMap<string, SystemConfig>,
  inject: RunnerInject = {},
): { removed: string[]; added: SystemConfig[] } {
  const retired = new Set(systemsToRetire(current, next));
  const removed = runner.systems().filter((name) => retired.has(name));
  for (const name of removed) runner.removeSystem(now, name);
  systemsToRunner(now, runner, systems, inject);
  const self = next.servers.find((server) => server.id === next.id);
  const running = new Set(runner.systems());
  const added = next.systems.filter(
    (system) => self?.systems.includes(system.name) === true && !running.has(system.name),
  );
  for (const system of added) runner.addSystem(now, runnerSystemFor(system, inject));
  return { removed, added };
}
