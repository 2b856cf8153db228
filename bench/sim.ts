/**
 * bench:sim — failure-detection figures of the real protocol core in the simulator.
 *
 * For each cluster size: time from a crash to `down` (at the first node and at every live
 * node), steady-state messages and bytes each node sends per second, false `down`
 * declarations per node-hour at 0%, 5% and 20% loss, and simulation speed. Figures, not a
 * test: nothing here fails a build. Usage: npm run bench:sim [-- --quick]
 */
import { progressOnStderr } from '../src/cli/progress.js';
import { DEFAULTS } from '../src/config/index.js';
import { viewsMatch } from '../src/sim/checkers.js';
import { readmeCluster, syntheticCluster, type Timing } from '../src/sim/clusters.js';
import { Random } from '../src/sim/random.js';
import { buildSimulation } from '../src/sim/scenarios.js';
import { percentile } from '../src/stats/percentile.js';
import { ORIGINAL_TIMING, README_TIMING } from '../src/testing/timing.js';

const quick = process.argv.includes('--quick');
/** Simulations done (a detection series or a steady run each), on a terminal (stderr). */
const progress = progressOnStderr();
let runsDone = 0;
const ran = () => progress.update(++runsDone, 0);
/** Report lines go to stdout with the progress line out of the way. */
const print = (text: string) => progress.above(() => console.log(text));
const FLIP_DEFAULTS: Timing = {
  gossip_interval: DEFAULTS.gossip_interval_ms,
  ping_per_interval: DEFAULTS.ping_per_interval,
  ping_timeout: DEFAULTS.ping_timeout_ms,
};

interface Detection {
  first: number[];
  all: number[];
}

function detection(nodes: number, timing: Timing, loss: number, trials: number, seed: number): Detection {
  const config = nodes === 3 ? readmeCluster(timing) : syntheticCluster(nodes, timing);
  // The protocol alone: these figures are about detection and traffic, not the script runner.
  const sim = buildSimulation(config, seed, { loss }, 'none');
  const random = new Random(seed).fork(77);
  sim.startAll();
  sim.runUntil(20_000);
  const first: number[] = [];
  const all: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const victim = random.int(nodes);
    const crashAt = sim.now;
    const seen = new Set<number>();
    let firstAt: number | undefined;
    const live = sim.running().filter((i) => i !== victim);
    sim.crash(victim);
    const allAt = sim.runUntilTrue(() => {
      for (const observer of live) {
        if (seen.has(observer)) continue;
        if (sim.stateIn(observer, victim) === 'down') {
          seen.add(observer);
          firstAt ??= sim.now;
        }
      }
      return seen.size === live.length;
    }, crashAt + 120_000);
    if (firstAt !== undefined) first.push(firstAt - crashAt);
    if (allAt !== undefined) all.push(allAt - crashAt);
    sim.start(victim);
    sim.runUntilTrue(() => viewsMatch(sim, new Set()), sim.now + 60_000);
    sim.runUntil(sim.now + 5_000 + random.next() * 5_000);
  }
  ran();
  return { first, all };
}

interface Steady {
  messages: number;
  bytes: number;
  falseDownsPerNodeHour: number;
  virtualPerWall: number;
}

function steady(nodes: number, timing: Timing, loss: number, virtualMs: number, seed: number): Steady {
  const config = nodes === 3 ? readmeCluster(timing) : syntheticCluster(nodes, timing);
  // The protocol alone: these figures are about detection and traffic, not the script runner.
  const sim = buildSimulation(config, seed, { loss }, 'none');
  sim.startAll();
  sim.runUntil(20_000);
  sim.resetTraffic();
  const downsBefore = sim.trace.filter((entry) => entry.to === 'down').length;
  const wallStart = performance.now();
  sim.runUntil(20_000 + virtualMs);
  const wallMs = performance.now() - wallStart;
  ran();
  const downs = sim.trace.filter((entry) => entry.to === 'down').length - downsBefore;
  let messages = 0;
  let bytes = 0;
  for (let i = 0; i < nodes; i++) {
    messages += sim.sentBy(i).messages;
    bytes += sim.sentBy(i).bytes;
  }
  const seconds = virtualMs / 1000;
  return {
    messages: messages / nodes / seconds,
    bytes: bytes / nodes / seconds,
    // A "down" at any observer about any member counts; per node-hour of the cluster.
    falseDownsPerNodeHour: downs / (nodes * (virtualMs / 3_600_000)),
    virtualPerWall: virtualMs / wallMs,
  };
}

const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${Math.round(value)}`);
const fixed = (value: number, digits = 1) => value.toFixed(digits);

const started = performance.now();
console.log(
  `# bench:sim — ${new Date().toISOString().slice(0, 10)}, node ${process.version}${quick ? ' (quick)' : ''}`,
);
console.log('');
console.log(
  'Original defaults (gossip_interval 1000 ms, ping_per_interval 1, ping_timeout 1500 ms), 1% loss for',
);
console.log('detection and traffic. Detection: crash -> `down` at the first node and at every live node.');
console.log('');
console.log(
  '| servers | trials | first p50 ms | all p50 ms | all p99 ms | msgs/node/s | bytes/node/s | false downs/node-h 0% | 5% | 20% | virtual s per wall s |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
const sizes = quick ? [3, 5, 10, 100] : [3, 5, 10, 100, 1000];
// Per size: detection, traffic, three losses, speed; then three settings and the hour.
progress.begin('bench:sim', sizes.length * 6 + 3 + 1);
for (const nodes of sizes) {
  const trials = nodes <= 10 ? (quick ? 10 : 40) : nodes <= 100 ? 10 : 3;
  const d = detection(nodes, ORIGINAL_TIMING, 0.01, trials, nodes);
  const hour = 3_600_000;
  const virtualMs = nodes >= 1000 ? (quick ? 60_000 : 600_000) : quick ? 600_000 : hour;
  const traffic = steady(nodes, ORIGINAL_TIMING, 0.01, virtualMs, nodes + 1);
  const falseDowns = [0, 0.05, 0.2].map((loss) => steady(nodes, ORIGINAL_TIMING, loss, virtualMs, nodes + 2));
  const speed = steady(nodes, ORIGINAL_TIMING, 0, virtualMs, nodes + 3);
  print(
    `| ${nodes} | ${trials} | ${ms(percentile(d.first, 50))} | ${ms(percentile(d.all, 50))} | ${ms(percentile(d.all, 99))} | ${fixed(traffic.messages)} | ${Math.round(traffic.bytes)} | ${falseDowns.map((f) => fixed(f.falseDownsPerNodeHour, 2)).join(' | ')} | ${Math.round(speed.virtualPerWall)} |`,
  );
}
console.log('');
console.log('Three servers (the README example cluster), 1% loss, crash -> `down` at every live node:');
console.log('');
console.log('| settings | interval / pings / timeout | all p50 ms | all p99 ms | max ms | target |');
console.log('|---|---|---|---|---|---|');
for (const [name, timing, target] of [
  ['original defaults', ORIGINAL_TIMING, '< 2 x timeout + interval = 4000'],
  ['README example', README_TIMING, 'p50 < 2500'],
  ['flip defaults', FLIP_DEFAULTS, ''],
] as const) {
  const d = detection(3, timing, 0.01, quick ? 20 : 100, 3);
  const config = readmeCluster(timing);
  print(
    `| ${name} | ${config.gossip_interval_ms} / ${config.ping_per_interval} / ${config.ping_timeout_ms} | ${ms(percentile(d.all, 50))} | ${ms(percentile(d.all, 99))} | ${ms(percentile(d.all, 100))} | ${target} |`,
  );
}
const hourSim = steady(1000, ORIGINAL_TIMING, 0, quick ? 60_000 : 3_600_000, 99);
progress.end();
console.log('');
console.log(
  `1000 servers x ${quick ? '1 virtual minute' : '1 virtual hour'} at the original defaults: ${fixed((quick ? 60 : 3600) / hourSim.virtualPerWall, 1)} s of wall time (${Math.round(hourSim.virtualPerWall)} virtual s per wall s).`,
);
console.log(`bench:sim took ${fixed((performance.now() - started) / 1000, 0)} s`);
