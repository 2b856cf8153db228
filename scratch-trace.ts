import { parseConfig } from './src/config/index.js';
import { clusterDocument, replicaChangesRun, SPARE_SERVERS } from './src/sim/replica-changes.js';
import { buildSimulation, SCRIPTS } from './src/sim/scenarios.js';

const seed = Number(process.argv[2]);
const from = Number(process.argv[3] ?? 0) * 1000;
const to = Number(process.argv[4] ?? 1e9) * 1000;
const item = process.argv[5];
const options = { nodes: 3, policy: 'release' as const, leased: true, loss: 0, timing: {} } as never;
const file = clusterDocument(options);
const config = parseConfig(JSON.stringify(file), 'x');
const sim = buildSimulation(config, seed, { loss: 0 }, undefined, SPARE_SERVERS);
sim.setScripts({ ...SCRIPTS, failure_rate: 0.1 });
const ids = sim.config.servers.map((s) => s.id);
sim.onAction((a) => {
  if (a.at < from || a.at > to) return;
  if (a.kind === 'script_started' || a.kind === 'script_ended') {
    if (item && a.launch.item !== item) return;
    console.log(`${(a.at / 1000).toFixed(3)} ${ids[a.node]} ${a.kind} ${a.launch.event} ${a.launch.item}${a.kind === 'script_ended' ? ` ok=${a.ok}` : ''}`);
  } else console.log(`${(a.at / 1000).toFixed(3)} ${ids[a.node]} ${a.kind} ${JSON.stringify(a)}`);
});
sim.onChange((c) => {
  if (c.at < from || c.at > to) return;
  console.log(`${(c.at / 1000).toFixed(3)} view ${ids[c.observer]}: ${ids[c.member]} ${c.from}->${c.to} (${c.reason})`);
});
const run = replicaChangesRun(sim, file, seed, { loss: 0 } as never, 20_000);
console.log(run.faults.join('\n'));
for (const c of run.checks) if (!c.ok) console.log('FAIL', c.label, c.detail);
