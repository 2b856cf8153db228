/**
 * The names of the simulator's scenarios, apart from their code so that the CLI can list them in
 * its help without loading the simulator. scenarios.ts maps each name to its scenario, and the
 * compiler checks that the two agree.
 */
export const SCENARIO_NAMES = [
  'all-alive',
  'lossy',
  'one-down',
  'total-partition',
  'minority-partition',
  'flapping-partition',
  'random',
  'return',
  'heal',
  'changes',
  'committed-changes',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Whether `name` (user input) names a scenario; never true for `__proto__` or `toString`. */
export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}
