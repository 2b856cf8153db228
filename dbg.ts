import { SCENARIOS } from './src/sim/scenarios.js';
for (const [name, seed] of [['heal', 20], ['return', 14]] as const) {
  const outcome = (SCENARIOS as any)[name]({ seed, nodes: 3, timing: {}, loss: name === 'heal' ? 0.02 : 0, runs: 10 });
  console.log(name, JSON.stringify(outcome.checks.filter((c: any) => !c.ok)).slice(0, 1500), JSON.stringify(outcome.figures));
}
