/**
 * bench:agent — real agents (compiled, one process each) on 127.0.0.1 with recording scripts.
 *
 * - Crash failover: SIGKILL of an item's owner -> the new owner's `alive` script starts.
 * - Planned hand-over: SIGTERM of the owner -> the new owner's `alive` script starts.
 *   Both at flip's defaults, at the README example's settings and at a fast setting; 20 trials.
 * - The three idle agents' CPU and RSS over 60 s (a leader of the config replica among them).
 * Figures, not a test. Usage: npm run bench:agent [-- --trials N --idle-seconds S --idle-warmup S
 *   --idle-only]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { progressOnStderr } from '../src/cli/progress.js';
import { LoopbackCluster } from '../src/demo/loopback-cluster.js';
import { percentile } from '../src/stats/percentile.js';
import { cpuNs } from '../src/testing/process-cpu.js';
import { LOOPBACK_TIMING } from '../src/testing/timing.js';
import { poll, sleep } from '../src/testing/wait.js';
import { numberOption } from './options.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = `${ROOT}examples/readme.json`;
const FLIP = [process.execPath, `${ROOT}bin/flip.js`];
/** Only the idle measurement, no failover trials. */
const IDLE_ONLY = process.argv.includes('--idle-only');
const TRIALS = IDLE_ONLY ? 0 : numberOption('--trials', 20);
const IDLE_SECONDS = numberOption('--idle-seconds', 60);
/** How long the idle agents run before their CPU is counted: a longer warm-up leaves out the start. */
const IDLE_WARMUP_SECONDS = numberOption('--idle-warmup', 5);
const VICTIM = 'flip1';
const ITEM = '192.168.0.1';
const HEIR = 'flip';
/** Trials done on a terminal (stderr); the idle measurement counts as one. */
const progress = progressOnStderr();
let trialsDone = 0;

interface Setting {
  name: string;
  overrides: Record<string, unknown>;
  system: Record<string, unknown>;
}

const SETTINGS: Setting[] = [
  {
    name: 'flip defaults (450 / 1 / 300, delay 500)',
    overrides: { gossip_interval: undefined, ping_per_interval: undefined, ping_timeout: undefined },
    system: {},
  },
  {
    name: 'README example (1000 / 3 / 1500, delay 500)',
    overrides: {},
    system: {},
  },
  {
    name: 'fast (100 / 1 / 300, delay 100)',
    overrides: { ...LOOPBACK_TIMING, ping_per_interval: 1 },
    system: { delay: 100 },
  },
];

/** How often the records are polled (ms). */
const POLL_MS = 10;

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** ms from `since` to the first `alive` of ITEM by HEIR after `since`, or undefined. */
async function takeover(
  cluster: LoopbackCluster,
  since: bigint,
  timeout_ms: number,
): Promise<number | undefined> {
  const record = await poll(
    () =>
      cluster
        .records()
        .find((r) => r.at_ns >= since && r.node === HEIR && r.event === 'alive' && r.item === ITEM),
    { timeoutMs: timeout_ms, intervalMs: POLL_MS },
  );
  return record === undefined ? undefined : Number(record.at_ns - since) / 1e6;
}

async function home(cluster: LoopbackCluster, since: bigint): Promise<boolean> {
  const back = await poll(
    () =>
      cluster
        .records()
        .find((r) => r.at_ns >= since && r.node === VICTIM && r.event === 'alive' && r.item === ITEM),
    { timeoutMs: 20_000, intervalMs: POLL_MS },
  );
  const released = await poll(
    () =>
      cluster
        .records()
        .find((r) => r.at_ns >= since && r.node === HEIR && r.event === 'down' && r.item === ITEM),
    { timeoutMs: 20_000, intervalMs: POLL_MS },
  );
  return back !== undefined && released !== undefined;
}

async function trials(setting: Setting, signal: 'SIGKILL' | 'SIGTERM'): Promise<number[]> {
  const overrides = Object.fromEntries(Object.entries(setting.overrides).filter(([, v]) => v !== undefined));
  const cluster = await LoopbackCluster.create({
    configFile: README,
    overrides,
    systemOverrides: setting.system,
    flipCommand: FLIP,
    dropKeys: Object.keys(setting.overrides).filter((key) => setting.overrides[key] === undefined),
  });
  const times: number[] = [];
  try {
    for (const id of cluster.ids) cluster.start(id);
    const ready = await poll(
      () => cluster.records().find((r) => r.node === VICTIM && r.event === 'alive' && r.item === ITEM),
      { timeoutMs: 30_000, intervalMs: POLL_MS },
    );
    if (!ready) throw new Error('the cluster did not come up');
    await sleep(1_000);
    for (let trial = 0; trial < TRIALS; trial++) {
      const since = nowNs();
      cluster.signal(VICTIM, signal);
      const ms = await takeover(cluster, since, 30_000);
      if (ms === undefined) throw new Error(`trial ${trial}: no takeover`);
      times.push(ms);
      progress.update(++trialsDone, 0);
      await cluster.waitExit(VICTIM, 20_000);
      const restartAt = nowNs();
      cluster.start(VICTIM);
      if (!(await home(cluster, restartAt))) throw new Error(`trial ${trial}: the item did not go home`);
      await sleep(500 + Math.random() * 500);
    }
  } finally {
    await cluster.close(5_000);
  }
  return times;
}

/** A process's CPU time so far (ns, process-cpu.ts) and its RSS. */
function readProc(pid: number): { cpu_ns: number; rss_kb: number } {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpu_ns: cpuNs(pid), rss_kb: Number(rss?.[1] ?? 0) };
}

interface IdleFigures {
  /** Per agent, in the cluster's order. */
  agents: { id: string; cpu_percent: number; rss_mb: number; rss_max_mb: number }[];
}

/** The three agents of the README cluster, idle: each one's CPU over IDLE_SECONDS and its RSS. */
async function idle(): Promise<IdleFigures> {
  const cluster = await LoopbackCluster.create({
    configFile: README,
    flipCommand: FLIP,
    dropKeys: ['gossip_interval', 'ping_per_interval', 'ping_timeout'],
  });
  try {
    const children = cluster.ids.map((id) => cluster.start(id));
    await sleep(IDLE_WARMUP_SECONDS * 1000);
    const pids = children.map((child) => child.pid!);
    const start = pids.map(readProc);
    const startedAt = performance.now();
    const rssMax = start.map((figures) => figures.rss_kb);
    for (let s = 0; s < IDLE_SECONDS; s++) {
      await sleep(1_000);
      pids.forEach((pid, i) => {
        rssMax[i] = Math.max(rssMax[i]!, readProc(pid).rss_kb);
      });
    }
    const end = pids.map(readProc);
    const seconds = (performance.now() - startedAt) / 1000;
    return {
      agents: cluster.ids.map((id, i) => ({
        id,
        cpu_percent: ((end[i]!.cpu_ns - start[i]!.cpu_ns) / 1e9 / seconds) * 100,
        rss_mb: end[i]!.rss_kb / 1024,
        rss_max_mb: rssMax[i]! / 1024,
      })),
    };
  } finally {
    await cluster.close(5_000);
  }
}

const fmt = (values: number[], p: number) => Math.round(percentile(values, p)).toString();
/** Lines of the report go to stdout with the progress line out of the way. */
const print = (text: string) => progress.above(() => console.log(text));

console.log('building dist/ for the compiled agent...');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
console.log(
  `# bench:agent — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
);
console.log('');
if (!IDLE_ONLY) {
  console.log(
    `Three agents on 127.0.0.1 (the README example cluster), ${TRIALS} trials each. Time from the signal to`,
  );
  console.log(`${VICTIM} until ${HEIR}'s \`alive\` script for ${ITEM} starts (ms).`);
  console.log('');
  console.log('| setting | SIGKILL p50 | p95 | max | SIGTERM p50 | p95 | max |');
  console.log('|---|---|---|---|---|---|---|');
}
const crashAtDefaults: number[] = [];
progress.begin('bench:agent', SETTINGS.length * 2 * TRIALS + 1, 'trials');
for (const setting of IDLE_ONLY ? [] : SETTINGS) {
  const crash = await trials(setting, 'SIGKILL');
  const planned = await trials(setting, 'SIGTERM');
  if (setting === SETTINGS[0]) crashAtDefaults.push(...crash);
  print(
    `| ${setting.name} | ${fmt(crash, 50)} | ${fmt(crash, 95)} | ${fmt(crash, 100)} | ${fmt(planned, 50)} | ${fmt(planned, 95)} | ${fmt(planned, 100)} |`,
  );
}
const idleFigures = await idle();
progress.update(++trialsDone, 0);
progress.end();
console.log('');
const idleMean =
  idleFigures.agents.reduce((sum, agent) => sum + agent.cpu_percent, 0) / idleFigures.agents.length;
console.log(
  `Idle agents at flip's defaults over ${IDLE_SECONDS} s after ${IDLE_WARMUP_SECONDS} s of warm-up: CPU ${idleMean.toFixed(2)}% of a core on average (${idleFigures.agents
    .map(
      (agent) =>
        `${agent.id} ${agent.cpu_percent.toFixed(2)}%, RSS ${agent.rss_mb.toFixed(1)} MB, max ${agent.rss_max_mb.toFixed(1)} MB`,
    )
    .join('; ')}).`,
);
if (!IDLE_ONLY)
  console.log(
    `Crash failover p50 at flip's defaults vs keepalived's default 3.6 s: ${(percentile(crashAtDefaults, 50) / 3600).toFixed(2)} (target < 0.5).`,
  );
