import { SCENARIOS } from './src/sim/scenarios.js';
const trace: string[] = [];
process.on("exit", () => console.log(trace.filter(l => parseFloat(l) > 25 && parseFloat(l) < 34.5).join("\n")));
const outcome = (SCENARIOS as any).return({ seed: 2654435775, nodes: 3, timing: {}, loss: 0, runs: 1, trace: (line: string) => trace.push(line) });
console.log(JSON.stringify(outcome.checks.filter((c: any) => !c.ok)).slice(0, 400));
