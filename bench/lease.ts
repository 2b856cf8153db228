/**
 * bench:lease — what keeping leases costs: vip-lease renewing 10 addresses through LeaseKeeper (the
 * agent's adapter), in a network namespace, at 4 and then 10 rounds a second, 30 s each, in two
 * modes: every round a renew request (as before renewal by datagram, and as with a lease program
 * that does not know it), and datagrams between requests (the agent's default: executor/
 * lease-datagrams.ts). Prints the CPU time of the keeper and its children (the ip and nft
 * coprocesses, the awk that reads requests, and any it restarted), from /proc/PID/stat
 * utime+stime (and cutime+cstime for children it reaped), as a share of one core; and the CPU of
 * the process that drives it (the adapter, its datagrams, and the benchmark's timers).
 *
 * The driving process runs inside the namespace (this file again, with --worker), since datagrams
 * go to the namespace's own loopback. Then, the whole cost: three real agents (a `single` pair and
 * a witness, flip's defaults) idle for 30 s with 10 leased VIPs on the holder, each agent's CPU and
 * its lease program's (with its coprocesses), by process tree.
 *
 * Needs root. Figures, not a test. Run: npm run bench:lease [-- --idle] [--idle-warmup S] (--idle:
 * only the idle agents; --idle-warmup: how long they run before their window, 10 s by default).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { progressOnStderr } from '../src/cli/progress.js';
import {
  LEASE_DATAGRAM_DEFAULTS,
  LeaseKeeper,
  type LeaseKeeperEvent,
  type RenewResult,
} from '../src/executor/lease-keeper.js';
import { DEFAULT_TIMING, FlipCluster } from '../src/testing/netns/flip-lab.js';
import { createLab, type Lab, requireNetns, VIP_LEASE } from '../src/testing/netns/harness.js';
import { childPids, processName } from '../src/testing/netns/lease-lab.js';
import { PACKAGE_ROOT } from '../src/testing/paths.js';
import { clockTicksPerSecond, cpuNs, cpuTicks } from '../src/testing/process-cpu.js';
import { sleep } from '../src/testing/wait.js';
import { numberOption } from './options.js';

const ADDRESSES = 10;
const SECONDS = Number(process.env.FLIP_BENCH_SECONDS ?? 30);
const RATES = [4, 10];
/** Only the idle agents (the keeper's windows skipped). */
const IDLE_ONLY = process.argv.includes('--idle');
/** Seconds the idle agents run before their window: past the start-up, the JIT and the heap's growth. */
const IDLE_WARMUP_S = numberOption('--idle-warmup', 10);
/** How far ahead each renewal's deadline is, as an agent might set it. */
const DEADLINE_AHEAD_MS = 500;
const TICKS_PER_S = 100;

type Mode = 'requests' | 'datagrams';
const MODES: Mode[] = ['requests', 'datagrams'];

interface Window {
  mode: Mode;
  rate: number;
  seconds: number;
  rounds: number;
  outcomes: Record<string, number>;
  keeper_ticks: number;
  by_process: Record<string, number>;
  adapter_ms: number;
}

/** Ticks of the keeper (with the children it reaped) and of each live child, by name. */
function snapshot(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  const own = cpuTicks(pid);
  ticks.set('vip-lease (bash)', own.self);
  ticks.set('reaped children', own.reaped);
  for (const child of childPids(pid)) {
    const name = `${processName(child)} ${child}`;
    ticks.set(name, cpuTicks(child).self);
  }
  return ticks;
}

async function measure(keeper: LeaseKeeper, items: string[], mode: Mode, rate: number): Promise<Window> {
  const pid = keeper.pid;
  if (pid === undefined) throw new Error('the keeper is not running');
  const outcomes: Record<string, number> = {};
  const count = (result: RenewResult) => {
    const key = result.status === 'ok' ? `ok ${result.renewed}` : result.status;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  };
  const before = snapshot(pid);
  const cpu_before = process.cpuUsage();
  const started = performance.now();
  let rounds = 0;
  const pending: Promise<void>[] = [];
  const period_ms = 1000 / rate;
  while (performance.now() - started < SECONDS * 1000) {
    const due = started + rounds * period_ms;
    await sleep(Math.max(0, due - performance.now()));
    rounds++;
    pending.push(keeper.renew(items, performance.now() + DEADLINE_AHEAD_MS).then(count));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu_before);
  const after = snapshot(pid);
  // A child that exited in the window (an ip restarted every 2000 changes) is in `before` only, and
  // its whole life is then in the keeper's reaped ticks: taking `before` off for it leaves the window.
  const by_process = new Map<string, number>();
  let keeper_ticks = 0;
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const delta = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    by_process.set(name, delta);
    keeper_ticks += delta;
  }
  return {
    mode,
    rate,
    seconds,
    rounds,
    outcomes,
    keeper_ticks,
    by_process: Object.fromEntries(by_process),
    adapter_ms: (cpu.user + cpu.system) / 1000,
  };
}

const percent = (ticks: number, seconds: number) => ((ticks / TICKS_PER_S / seconds) * 100).toFixed(2);

/**
 * The CPU time (ns) of `pid` and of every live descendant, by pid (with the name of each): its
 * threads' schedstat, plus the clock ticks of the children it has reaped (vip-lease restarts nft
 * and ip now and then).
 */
function treeNs(pid: number, into = new Map<number, { name: string; ns: number }>()) {
  const reaped = (cpuTicks(pid).reaped / clockTicksPerSecond()) * 1e9;
  into.set(pid, { name: processName(pid), ns: cpuNs(pid) + reaped });
  for (const child of childPids(pid)) treeNs(child, into);
  return into;
}

/** UDP datagrams sent so far in the network namespace of `pid` (/proc/PID/net/snmp, Udp OutDatagrams). */
function udpSent(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('Udp: '));
  const names = lines[0]!.split(' ');
  const values = lines[1]!.split(' ');
  return Number(values[names.indexOf('OutDatagrams')]);
}

interface IdleAgent {
  lease: boolean;
  server: string;
  /** UDP datagrams sent per second in the server's namespace: the agent's packets and its renewal datagrams. */
  udp_per_s: number;
  /** % of a core over the window: the agent's node process, and everything below it (the lease program, its coprocesses). */
  agent: number;
  program: number;
  processes: string;
}

/** Three agents at flip's defaults, idle with 10 VIPs on the holder (leased or not): each one's CPU over SECONDS. */
async function idleAgents(lab: Lab, lease: boolean): Promise<IdleAgent[]> {
  const vips = Array.from({ length: ADDRESSES }, (_, i) => lab.vip(i));
  const cluster = new FlipCluster(lab, {
    servers: { s1: { priority: 1, systems: ['vip'] }, s2: { priority: 2, systems: ['vip'] }, w: {} },
    systems: { vip: { type: 'single', data: vips, lease } },
    quorum: 2,
    key: 'bench',
    timing: DEFAULT_TIMING,
    built: true,
  });
  await cluster.startAll();
  await cluster.waitForPlacement({ timeoutMs: 60_000 });
  // Past the start-up (scripts, the first plans and replica catch-up), and the JIT's warming.
  await sleep(IDLE_WARMUP_S * 1000);
  const servers = ['s1', 's2', 'w'];
  const before = new Map(servers.map((id) => [id, treeNs(cluster.pid(id))]));
  const udpBefore = new Map(servers.map((id) => [id, udpSent(cluster.pid(id))]));
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const seconds = (performance.now() - started) / 1000;
  const figures = servers.map((server) => {
    const root = cluster.pid(server);
    const after = treeNs(root);
    const was = before.get(server)!;
    let agent = 0;
    let program = 0;
    const parts: string[] = [];
    const share = (ns: number) => (ns / 1e9 / seconds) * 100;
    for (const [pid, { name, ns }] of after) {
      const delta = ns - (was.get(pid)?.ns ?? 0);
      if (pid === root) agent += delta;
      else program += delta;
      if (delta > 0) parts.push(`${name} ${share(delta).toFixed(2)}%`);
    }
    return {
      lease,
      server,
      udp_per_s: (udpSent(root) - udpBefore.get(server)!) / seconds,
      agent: share(agent),
      program: share(program),
      processes: parts.join(', '),
    };
  });
  await Promise.all(servers.map((id) => cluster.terminate(id)));
  return figures;
}

/** Inside the namespace: measures each mode at each rate, one keeper per mode; prints the windows as JSON. */
async function worker(items: string[]): Promise<void> {
  const windows: Window[] = [];
  const events: LeaseKeeperEvent[] = [];
  for (const mode of MODES) {
    const keeper = new LeaseKeeper(
      {
        program: VIP_LEASE,
        config_json: JSON.stringify({ interface: 'eth0', prefix: 32, arp_count: 0 }),
        system: 'vip',
        node: 's1',
        fence_ms: 1000,
      },
      {
        onEvent: (event) => events.push(event),
        ...(mode === 'datagrams' ? { datagrams: LEASE_DATAGRAM_DEFAULTS } : {}),
      },
    );
    try {
      // Started before the addresses are put back, so that the first renewal is not late.
      keeper.start();
      await keeper.renew(['192.0.2.1'], performance.now() + 5000);
      for (const item of items)
        execFileSync('ip', [
          'address',
          'replace',
          `${item}/32`,
          'dev',
          'eth0',
          'valid_lft',
          '2',
          'preferred_lft',
          '2',
        ]);
      await keeper.renew(items, performance.now() + DEADLINE_AHEAD_MS);
      for (const rate of RATES) {
        windows.push(await measure(keeper, items, mode, rate));
        process.stderr.write(`window ${windows.length}\n`);
      }
    } finally {
      await keeper.stop();
    }
  }
  const notable = events.filter((event) => event.type !== 'started' && event.type !== 'stderr');
  process.stdout.write(`${JSON.stringify({ windows, events: notable })}\n`);
}

async function main(): Promise<void> {
  requireNetns(['ip', 'nft', 'awk']);
  process.stderr.write('building dist/ for the compiled agents...\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
  let lab: Lab | undefined;
  try {
    lab = await createLab({ servers: ['s1', 's2', 'w'] });
    const items = Array.from({ length: ADDRESSES }, (_, i) => lab!.vip(i));
    const progress = progressOnStderr();
    const total = MODES.length * RATES.length;
    progress.begin('bench:lease', total + 2, 'windows');
    let windows: Window[] = [];
    let events: LeaseKeeperEvent[] = [];
    if (!IDLE_ONLY) {
      const run = lab.spawn(
        's1',
        [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--worker', ...items],
        {
          cwd: PACKAGE_ROOT,
        },
      );
      let seen = 0;
      run.child.stderr?.on('data', (chunk: Buffer) => {
        for (const match of chunk.toString().matchAll(/^window (\d+)$/gm)) seen = Number(match[1]);
        progress.update(seen, 0);
      });
      const code = await new Promise<number | null>((resolve) =>
        run.child.on('exit', (exit) => resolve(exit)),
      );
      progress.end();
      const line = run
        .output()
        .split('\n')
        .find((text) => text.startsWith('{"windows"'));
      if (code !== 0 || line === undefined)
        throw new Error(`the worker failed (exit ${code}): ${run.output().slice(-2000)}`);
      ({ windows, events } = JSON.parse(line) as { windows: Window[]; events: LeaseKeeperEvent[] });
    }
    progress.begin('bench:lease', total + 2, 'windows');
    progress.update(total, 0);
    const idle = [...(await idleAgents(lab, true))];
    progress.update(total + 1, 0);
    idle.push(...(await idleAgents(lab, false)));
    progress.end();

    const cpu = cpus();
    console.log(
      `# bench:lease — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ` +
        `Linux ${release()}, ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}`,
    );
    if (!IDLE_ONLY) {
      console.log(
        `${ADDRESSES} addresses renewed through LeaseKeeper and vip-lease, ${SECONDS} s per window, ` +
          `CPU from /proc/PID/stat (ticks of 10 ms). requests: a renew request every round; datagrams: ` +
          `datagrams between requests, a request every ${LEASE_DATAGRAM_DEFAULTS.request_every_ms} ms ` +
          `(lifetime ${LEASE_DATAGRAM_DEFAULTS.lifetime_s} s).\n`,
      );
      console.log(
        '| mode | rounds/s | renewals answered | keeper + children, % of a core | ms per round | adapter (driving process), % of a core | total, % of a core |',
      );
      console.log('| --- | --- | --- | --- | --- | --- | --- |');
      for (const w of windows) {
        const answered = Object.entries(w.outcomes)
          .map(([key, n]) => `${n} ${key}`)
          .join(', ');
        const adapter = (w.adapter_ms / 1000 / w.seconds) * 100;
        const keeper = (w.keeper_ticks / TICKS_PER_S / w.seconds) * 100;
        console.log(
          `| ${w.mode} | ${w.rate} | ${answered} | ${keeper.toFixed(2)} | ` +
            `${((w.keeper_ticks * 10) / w.rounds).toFixed(2)} | ${adapter.toFixed(2)} | ${(keeper + adapter).toFixed(2)} |`,
        );
      }
      for (const rate of RATES) {
        const total = (mode: Mode) => {
          const w = windows.find((window) => window.mode === mode && window.rate === rate)!;
          return (w.keeper_ticks / TICKS_PER_S / w.seconds) * 100 + (w.adapter_ms / 1000 / w.seconds) * 100;
        };
        console.log(
          `\n${rate} rounds/s: datagrams cost ${(total('datagrams') / total('requests')).toFixed(2)} x requests (keeper + children + adapter)`,
        );
      }
      for (const w of windows) {
        const parts = Object.entries(w.by_process).map(
          ([name, ticks]) => `${name}: ${percent(ticks, w.seconds)}%`,
        );
        console.log(`\n${w.mode}, ${w.rate} rounds/s, by process: ${parts.join(', ')}`);
      }
      if (events.length > 0) console.log(`\nkeeper events: ${JSON.stringify(events)}`);
    }
    console.log(
      `\nIdle agents (compiled, dist/), flip's defaults, a single pair (s1, s2) and a witness (w), ` +
        `${ADDRESSES} VIPs on the holder s1, leased through vip-lease or not, ${IDLE_WARMUP_S} s of ` +
        `warm-up, then ${SECONDS} s; CPU from schedstat:\n`,
    );
    console.log(
      '| lease | server | agent (node), % of a core | lease program and its coprocesses, % of a core | total | UDP datagrams sent/s (agent and renewals) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const f of idle)
      console.log(
        `| ${f.lease ? 'vip-lease' : 'none'} | ${f.server} | ${f.agent.toFixed(2)} | ${f.program.toFixed(2)} | ${(f.agent + f.program).toFixed(2)} | ${f.udp_per_s.toFixed(1)} |`,
      );
    for (const f of idle)
      console.log(
        `\n${f.lease ? 'leased' : 'not leased'}, ${f.server} by process: ${f.processes || 'nothing'}`,
      );
  } finally {
    await lab?.destroy();
  }
}

const workerAt = process.argv.indexOf('--worker');
(workerAt === -1 ? main() : worker(process.argv.slice(workerAt + 1))).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
