/**
 * bench:failover — how long a client cannot reach a virtual IP when its owner crashes or stops,
 * with flip and with keepalived, on a real network built from Linux network namespaces.
 *
 * One lab (src/testing/netns/harness.ts): three servers s1, s2, s3 and a client on one bridge,
 * an HTTP server in every server namespace answering with its name, one VIP. The client sends an
 * HTTP GET to the VIP every 10 ms (new connection each, 200 ms timeout) and records who answered
 * and when.
 *
 * Setups: flip with a `single` system (s1 priority 1, s2 priority 2, s3 an arbiter) at its defaults
 * and at the README example's timing; keepalived with three VRRP instances (unicast, priorities
 * 150/100/50, preemption on) at its defaults (VRRPv2, advert_int 1) and at a fast setting
 * (VRRPv3, advert_int 0.25). For each setup, N trials of each fault on the VIP's owner (s1):
 *
 *   crash     the server dies: its traffic is dropped (IP and ARP, nftables inside its namespace)
 *             and its daemon's process group gets SIGKILL at the same moment. (Killing only the
 *             daemon would leave the address and the HTTP server up, so the client would never
 *             see an outage.) Before the restart the VIP is removed from s1, as a reboot would.
 *   graceful  SIGTERM to the daemon (flip: leave + `down`; keepalived: priority-0 advert).
 *
 * Outage = time from the last answer by s1 to the first answer by s2. Then s1's daemon is
 * restarted and the benchmark waits until the VIP is back on s1 before the next trial.
 *
 * Usage: npx tsx bench/failover.ts [--trials N] [--slow-trials N] [--quick] [--setups a,b] [--no-docs]
 *        [--json PATH] [--svg PATH]
 * Needs root, ip, nft, arping, keepalived. Exits non-zero only when the benchmark cannot run.
 *
 * Besides the tables (stdout, and docs/FAILOVER.md unless --no-docs) it draws the outages as an
 * SVG (bench/failover-svg.ts) and saves the results as JSON (bench/failover-results.ts), from
 * which `npm run bench:failover:svg -- PATH` redraws the picture. With the docs: the picture
 * to docs/img/failover.svg and the results to docs/img/failover.json; with --no-docs the
 * picture to a temporary file and the results only with --json. Both paths are printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progressOnStderr } from '../src/cli/progress.js';
import { DEFAULTS } from '../src/config/index.js';
import { percentile } from '../src/stats/percentile.js';
import { ClientProbe, handover } from '../src/testing/netns/client-probe.js';
import { DEFAULT_TIMING, FAST_TIMING, FlipCluster, type FlipTiming } from '../src/testing/netns/flip-lab.js';
import { canRunNetns, createLab, type Lab, type LabProcess } from '../src/testing/netns/harness.js';
import { HolderMonitor, nowMs } from '../src/testing/netns/holder-monitor.js';
import { README_TIMING } from '../src/testing/timing.js';
import { sleep, waitFor } from '../src/testing/wait.js';
import { DEFAULT_RESULTS, DEFAULT_SVG, writeSvg } from './failover-picture.js';
import { FAILOVER_RESULTS_VERSION, type FailoverResults } from './failover-results.js';
import { renderFailoverSvg } from './failover-svg.js';
import { optionValue } from './options.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const TEMPLATE = fileURLToPath(new URL('./keepalived/keepalived.conf.tmpl', import.meta.url));
const DOC = fileURLToPath(new URL('../docs/FAILOVER.md', import.meta.url));
const SERVERS = ['s1', 's2', 's3'] as const;
const OWNER = 's1';
const BACKUP = 's2';
/** How long one fault may take before the trial counts as failed. */
const TRIAL_LIMIT_MS = 20_000;
/** How long the VIP may take to return to s1 after a restart. */
const RETURN_LIMIT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------
// Arguments

const quick = process.argv.includes('--quick');
const trialsArg = Number(optionValue('--trials') ?? (quick ? 3 : 12));
const slowTrialsArg = Number(optionValue('--slow-trials') ?? (quick ? 3 : 10));
const writeDocs = !process.argv.includes('--no-docs');
const jsonPath = optionValue('--json') ?? (writeDocs ? DEFAULT_RESULTS : undefined);
const svgPath =
  optionValue('--svg') ??
  (writeDocs
    ? DEFAULT_SVG
    : join(tmpdir(), `flip-bench-failover-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`));

type Mode = 'crash' | 'graceful';

interface Setup {
  id: string;
  label: string;
  kind: 'flip' | 'keepalived';
  timing?: FlipTiming;
  advertInt?: number;
  vrrpVersion?: 2 | 3;
  /** flip: the VIP system's no_quorum_policy (flip's default, keep, when absent). */
  policy?: 'keep' | 'release';
  /** flip: renew the VIP through scripts/linux/vip-lease, so that a gone holder is fenced. */
  lease?: boolean;
  /** flip: the VIP system's `fence` (ms); the default (the kernel's bound) when absent. */
  fence?: number;
  /** Slow setups (seconds-long detection) run --slow-trials trials. */
  slow: boolean;
}

/** "gossip 250, 1 ping, timeout 500, delay 500": the timing flip runs with, defaults filled in. */
function timingLabel(timing: FlipTiming): string {
  const interval = timing.gossip_interval ?? DEFAULTS.gossip_interval_ms;
  const pings = timing.ping_per_interval ?? DEFAULTS.ping_per_interval;
  const timeout = timing.ping_timeout ?? DEFAULTS.ping_timeout_ms;
  const delay = timing.delay ?? DEFAULTS.delay_ms;
  return `gossip ${interval}, ${pings} ping${pings === 1 ? '' : 's'}, timeout ${timeout}, delay ${delay}`;
}

const ALL_SETUPS: Setup[] = [
  {
    id: 'flip-default',
    label: `flip, defaults, keep, no lease (${timingLabel(DEFAULT_TIMING)})`,
    kind: 'flip',
    timing: DEFAULT_TIMING,
    slow: false,
  },
  {
    id: 'flip-keep-lease',
    label: 'flip, defaults, keep + vip-lease (fenced)',
    kind: 'flip',
    timing: DEFAULT_TIMING,
    policy: 'keep',
    lease: true,
    slow: false,
  },
  {
    id: 'flip-release-lease',
    label: 'flip, defaults, release + vip-lease (fenced)',
    kind: 'flip',
    timing: DEFAULT_TIMING,
    policy: 'release',
    lease: true,
    slow: false,
  },
  {
    id: 'flip-release-lease-1500',
    label: 'flip, defaults, release + vip-lease, fence 1500 (a host without nftables)',
    kind: 'flip',
    timing: DEFAULT_TIMING,
    policy: 'release',
    lease: true,
    fence: 1500,
    slow: false,
  },
  {
    id: 'flip-readme',
    label: `flip, README timing (${timingLabel(README_TIMING)})`,
    kind: 'flip',
    timing: README_TIMING,
    slow: true,
  },
  {
    id: 'flip-fast',
    label: `flip, test timing (${timingLabel(FAST_TIMING)})`,
    kind: 'flip',
    timing: FAST_TIMING,
    slow: false,
  },
  {
    id: 'keepalived-default',
    label: 'keepalived, defaults (VRRPv2, advert_int 1)',
    kind: 'keepalived',
    advertInt: 1,
    vrrpVersion: 2,
    slow: true,
  },
  {
    id: 'keepalived-fast',
    label: 'keepalived, fast (VRRPv3, advert_int 0.25)',
    kind: 'keepalived',
    advertInt: 0.25,
    vrrpVersion: 3,
    slow: false,
  },
];
const DEFAULT_SETUPS = [
  'flip-default',
  'flip-keep-lease',
  'flip-release-lease',
  'keepalived-default',
  'keepalived-fast',
];
const setupIds = (optionValue('--setups') ?? DEFAULT_SETUPS.join(',')).split(',').map((id) => id.trim());

// ---------------------------------------------------------------------------------------------------
// Small helpers

/** Trials done of all setups, on a terminal; quiet in CI and when stderr is a file. */
const progress = progressOnStderr();

function log(text: string): void {
  progress.log(`${new Date().toISOString().slice(11, 23)} ${text}`);
}

/** Trials of all setups done so far, and how many failed. */
const tally = { done: 0, failed: 0 };

function fmt(ms: number): string {
  return Number.isFinite(ms) ? String(Math.round(ms)) : '–';
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Daemons: the same five operations for flip and keepalived

interface Phases {
  /** fault -> s2 knows (flip: member s1 down/left at s2). */
  detect?: number;
  /** knows -> plan at s2 (flip's delay; 0 for a leave). */
  plan?: number;
  /** plan -> `alive` started at s2 (the gone holder's fence; 0 without a lease). */
  fence?: number;
  /** `alive` started -> address on s2 (script start-up and `ip addr add`). */
  script?: number;
  /** fault -> address on s2. */
  address?: number;
  /** address on s2 -> first answer from s2 at the client. */
  client?: number;
}

interface Daemon {
  startAll(): Promise<void>;
  start(server: string): Promise<void>;
  /** SIGKILL of the daemon's process group (the network side of the crash is done by the caller). */
  kill(server: string): Promise<void>;
  /** SIGTERM to the daemon; resolves when it has exited. */
  terminate(server: string): Promise<void>;
  /** Extra settling after the VIP is home (e.g. wait for scripts to finish). */
  settled(since: number): Promise<void>;
  phases(fault: number, monitor: HolderMonitor, firstAnswer: number): Phases;
  stopAll(): Promise<void>;
  /** Where its logs are. */
  where: string;
}

class FlipDaemon implements Daemon {
  readonly cluster: FlipCluster;
  readonly where: string;

  constructor(
    readonly lab: Lab,
    setup: Setup,
    dir: string,
  ) {
    const timing = setup.timing ?? {};
    this.cluster = new FlipCluster(lab, {
      servers: { s1: { priority: 1, systems: ['vip'] }, s2: { priority: 2, systems: ['vip'] }, s3: {} },
      systems: {
        vip: {
          type: 'single',
          data: [lab.vip(0)],
          ...(setup.lease ? { lease: true } : {}),
          ...(setup.policy ? { no_quorum_policy: setup.policy } : {}),
          ...(setup.fence !== undefined ? { fence: setup.fence } : {}),
        },
      },
      timing,
      dir,
    });
    this.where = dir;
  }

  startAll(): Promise<void> {
    return this.cluster.startAll();
  }

  async start(server: string): Promise<void> {
    await this.cluster.start(server);
  }

  kill(server: string): Promise<void> {
    return this.cluster.kill9(server);
  }

  async terminate(server: string): Promise<void> {
    await this.cluster.terminate(server);
  }

  /** The VIP is home: also wait until the owner's vip-up has finished and no agent runs a script. */
  async settled(since: number): Promise<void> {
    await waitFor(
      () =>
        this.cluster
          .entries({ server: OWNER, msg: 'script finished', since })
          .some((entry) => entry.fields.event === 'alive') &&
        this.cluster.runningIds().every((id) => !this.cluster.busy(id)),
      { timeoutMs: 10_000, intervalMs: 50, what: 'scripts finished' },
    ).catch(() => log('warning: scripts still running 10 s after the return'));
    await sleep(300);
  }

  phases(fault: number, monitor: HolderMonitor, firstAnswer: number): Phases {
    const entries = this.cluster.entries({ server: BACKUP, since: fault - 5 });
    const knows = entries.find(
      (entry) =>
        entry.msg === 'member state' &&
        entry.fields.member === OWNER &&
        (entry.fields.to === 'down' || entry.fields.to === 'left'),
    );
    const plan = entries.find(
      (entry) =>
        entry.msg === 'plan' &&
        Array.isArray(entry.fields.arriving) &&
        (entry.fields.arriving as unknown[]).length > 0,
    );
    const started = entries.find(
      (entry) =>
        entry.msg === 'script started' && entry.fields.event === 'alive' && (!plan || entry.at >= plan.at),
    );
    const added = monitor.events.find((event) => event.at >= fault && event.server === BACKUP && event.added);
    return {
      ...(knows ? { detect: knows.at - fault } : {}),
      ...(knows && plan ? { plan: plan.at - knows.at } : {}),
      ...(plan && started ? { fence: started.at - plan.at } : {}),
      ...(started && added ? { script: added.at - started.at } : {}),
      ...(added ? { address: added.at - fault, client: firstAnswer - added.at } : {}),
    };
  }

  stopAll(): Promise<void> {
    return this.cluster.killAll();
  }
}

class KeepalivedDaemon implements Daemon {
  readonly where: string;
  private readonly procs = new Map<string, LabProcess>();
  private readonly lives = new Map<string, number>();

  constructor(
    readonly lab: Lab,
    readonly advertInt: number,
    readonly vrrpVersion: 2 | 3,
    readonly dir: string,
  ) {
    this.where = dir;
    const template = readFileSync(TEMPLATE, 'utf8');
    const priorities: Record<string, number> = { s1: 150, s2: 100, s3: 50 };
    for (const server of SERVERS) {
      const fill: Record<string, string> = {
        ROUTER_ID: `bench-${server}`,
        VRRP_VERSION: String(vrrpVersion),
        PRIORITY: String(priorities[server]),
        ADVERT_INT: String(advertInt),
        SRC_IP: lab.host(server).ipv4,
        PEERS: SERVERS.filter((other) => other !== server)
          .map((other) => `        ${lab.host(other).ipv4}`)
          .join('\n'),
        VIP: lab.vip(0),
      };
      const text = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
        const value = fill[key];
        if (value === undefined) throw new Error(`keepalived template: unknown placeholder ${key}`);
        return value;
      });
      writeFileSync(join(dir, `${server}.conf`), text);
    }
  }

  async startAll(): Promise<void> {
    await Promise.all(SERVERS.map((server) => this.start(server)));
  }

  private pidFiles(server: string, life: number): [string, string, string] {
    return [
      join(this.dir, `${server}.${life}.pid`),
      join(this.dir, `${server}.${life}.vrrp.pid`),
      join(this.dir, `${server}.${life}.checkers.pid`),
    ];
  }

  async start(server: string): Promise<void> {
    const life = (this.lives.get(server) ?? 0) + 1;
    this.lives.set(server, life);
    // Fresh pid files per start (a reboot empties /run), and no survivor of the last life.
    await this.reap(server, life - 1);
    const [pid, vrrpPid, checkersPid] = this.pidFiles(server, life);
    const proc = this.lab.spawn(server, [
      KEEPALIVED,
      '--dont-fork',
      '--log-console',
      '--log-detail',
      '--no-syslog',
      '--vrrp',
      '--use-file',
      join(this.dir, `${server}.conf`),
      '--pid',
      pid,
      '--vrrp_pid',
      vrrpPid,
      '--checkers_pid',
      checkersPid,
    ]);
    this.procs.set(server, proc);
    await proc.waitForOutput(/Entering BACKUP STATE|Entering MASTER STATE/, 10_000);
  }

  /** Kills whatever the pid files of an earlier life name, and waits until those processes are gone. */
  private async reap(server: string, life: number): Promise<void> {
    if (life < 1) return;
    const pids = this.pidFiles(server, life)
      .filter((file) => existsSync(file))
      .map((file) => Number(readFileSync(file, 'utf8').trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 1);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await waitFor(() => pids.every((pid) => !pidAlive(pid)), {
      timeoutMs: 5000,
      intervalMs: 20,
      what: `keepalived of ${server} gone`,
    });
  }

  async kill(server: string): Promise<void> {
    const proc = this.procs.get(server);
    if (!proc) return;
    this.lab.kill(proc, 'SIGKILL');
    await proc.exited;
    await this.reap(server, this.lives.get(server) ?? 0);
  }

  async terminate(server: string): Promise<void> {
    const proc = this.procs.get(server);
    if (!proc?.running()) return;
    process.kill(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => this.lab.kill(proc, 'SIGKILL'), 10_000);
    await proc.exited;
    clearTimeout(timer);
    await this.reap(server, this.lives.get(server) ?? 0);
  }

  async settled(): Promise<void> {
    // An advertisement or two, so that every instance has seen the new master.
    await sleep(this.advertInt * 1000 + 300);
  }

  phases(fault: number, monitor: HolderMonitor, firstAnswer: number): Phases {
    const added = monitor.events.find((event) => event.at >= fault && event.server === BACKUP && event.added);
    return added ? { address: added.at - fault, client: firstAnswer - added.at } : {};
  }

  async stopAll(): Promise<void> {
    for (const server of SERVERS) await this.kill(server);
  }
}

// ---------------------------------------------------------------------------------------------------
// Trials

interface Trial {
  mode: Mode;
  n: number;
  outageMs?: number;
  phases: Phases;
  error?: string;
}

interface Result {
  setup: Setup;
  trials: Trial[];
  seconds: number;
}

async function waitHome(lab: Lab, monitor: HolderMonitor, vip: string): Promise<void> {
  await waitFor(() => monitor.holders(vip).join(',') === OWNER, {
    timeoutMs: RETURN_LIMIT_MS,
    intervalMs: 20,
    what: `${vip} back on ${OWNER} alone`,
  });
  await waitFor(async () => (await lab.clientGet(vip, 200)) === OWNER, {
    timeoutMs: 10_000,
    intervalMs: 20,
    what: `the client reaching ${OWNER} through ${vip}`,
  });
}

async function runSetup(lab: Lab, monitor: HolderMonitor, setup: Setup, trials: number): Promise<Result> {
  const began = nowMs();
  const vip = lab.vip(0);
  const dir = mkdtempSync(join(tmpdir(), `flip-bench-${setup.id}-`));
  const daemon: Daemon =
    setup.kind === 'flip'
      ? new FlipDaemon(lab, setup, dir)
      : new KeepalivedDaemon(lab, setup.advertInt ?? 1, setup.vrrpVersion ?? 2, dir);
  const results: Trial[] = [];
  try {
    log(`${setup.label}: starting (logs in ${daemon.where})`);
    const startedAt = nowMs();
    await daemon.startAll();
    await waitHome(lab, monitor, vip);
    await daemon.settled(startedAt);
    for (const mode of ['crash', 'graceful'] as const) {
      for (let n = 1; n <= trials; n++) {
        const trial = await runTrial(lab, monitor, daemon, vip, mode, n);
        results.push(trial);
        tally.done++;
        if (trial.error) tally.failed++;
        progress.update(tally.done, tally.failed);
        log(
          `${setup.id} ${mode} ${n}/${trials}: ${trial.error ? `FAILED: ${trial.error}` : `outage ${fmt(trial.outageMs ?? Number.NaN)} ms`}`,
        );
      }
    }
  } finally {
    await daemon.stopAll();
    await lab.healAll();
    for (const server of SERVERS) {
      await lab.exec(server, ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
      // The nftables fence of the shipped scripts (a host rebooted between setups has none), which
      // would drop the VIP for a daemon that does not lease it.
      await lab.exec(server, ['nft', 'delete table inet flip; delete table netdev flip']);
    }
  }
  return { setup, trials: results, seconds: (nowMs() - began) / 1000 };
}

async function runTrial(
  lab: Lab,
  monitor: HolderMonitor,
  daemon: Daemon,
  vip: string,
  mode: Mode,
  n: number,
): Promise<Trial> {
  const probe = new ClientProbe(lab, vip, {
    everyMs: 10,
    timeoutMs: 200,
    maxDurationMs: TRIAL_LIMIT_MS + 5000,
  });
  probe.start();
  let trial: Trial = { mode, n, phases: {} };
  try {
    await sleep(300);
    const fault = nowMs();
    if (mode === 'crash') {
      // Power loss: the network side first (one nft transaction), the process at once after.
      await Promise.all([lab.cutOff(OWNER), daemon.kill(OWNER)]);
    } else {
      await daemon.terminate(OWNER);
    }
    const first = await waitFor(
      () => probe.samples.find((sample) => sample.ok && sample.body === BACKUP && sample.doneAt >= fault),
      { timeoutMs: TRIAL_LIMIT_MS, intervalMs: 10, what: `${BACKUP} answering` },
    ).catch(() => undefined);
    await sleep(50);
    const samples = await probe.stop();
    const move = handover(samples, OWNER, BACKUP, fault);
    if (!first || !move) trial = { ...trial, error: `no answer from ${BACKUP} within ${TRIAL_LIMIT_MS} ms` };
    else trial = { ...trial, outageMs: move.outageMs, phases: daemon.phases(fault, monitor, first.doneAt) };
  } catch (error) {
    trial = { ...trial, error: (error as Error).message };
  } finally {
    await probe.stop();
  }
  // Bring the owner back: a crashed server reboots without its addresses.
  if (mode === 'crash') {
    await lab.exec(OWNER, ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
    await lab.heal(OWNER);
  }
  const restartedAt = nowMs();
  await daemon.start(OWNER);
  await waitHome(lab, monitor, vip);
  await daemon.settled(restartedAt);
  return trial;
}

// ---------------------------------------------------------------------------------------------------
// Report

interface Row {
  setup: Setup;
  crash: number[];
  graceful: number[];
  failed: number;
  trials: number;
  seconds: number;
  phases: Record<Mode, Phases[]>;
}

function toRow(result: Result): Row {
  const ok = (mode: Mode) =>
    result.trials.filter((t) => t.mode === mode && t.outageMs !== undefined).map((t) => t.outageMs!);
  return {
    setup: result.setup,
    crash: ok('crash'),
    graceful: ok('graceful'),
    failed: result.trials.filter((t) => t.error).length,
    trials: result.trials.length / 2,
    seconds: result.seconds,
    phases: {
      crash: result.trials.filter((t) => t.mode === 'crash').map((t) => t.phases),
      graceful: result.trials.filter((t) => t.mode === 'graceful').map((t) => t.phases),
    },
  };
}

function stats(values: number[]): string {
  return `${fmt(percentile(values, 50))} | ${fmt(percentile(values, 95))} | ${fmt(percentile(values, 100))}`;
}

function mainTable(rows: Row[]): string {
  const lines = [
    '| setup | trials | crash p50 ms | crash p95 ms | crash max ms | graceful p50 ms | graceful p95 ms | graceful max ms |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const failed = row.failed > 0 ? ` (${row.failed} failed)` : '';
    lines.push(
      `| ${row.setup.label} | ${row.trials}${failed} | ${stats(row.crash)} | ${stats(row.graceful)} |`,
    );
  }
  return lines.join('\n');
}

function phaseTable(rows: Row[]): string {
  const lines = [
    '| setup | fault | detect p50 | plan delay p50 | fence wait p50 | script to address p50 | fault to address p50 | address to client p50 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const p = (list: Phases[], key: keyof Phases) =>
    fmt(median(list.map((phase) => phase[key]).filter((v): v is number => v !== undefined)));
  for (const row of rows) {
    for (const mode of ['crash', 'graceful'] as const) {
      const list = row.phases[mode];
      const flip = row.setup.kind === 'flip';
      lines.push(
        `| ${row.setup.label} | ${mode} | ${flip ? p(list, 'detect') : '–'} | ${flip ? p(list, 'plan') : '–'} | ${flip ? p(list, 'fence') : '–'} | ${flip ? p(list, 'script') : '–'} | ${p(list, 'address')} | ${p(list, 'client')} |`,
      );
    }
  }
  return lines.join('\n');
}

function ratio(a: Row | undefined, b: Row | undefined, mode: Mode): string {
  if (!a || !b) return 'n/a';
  const x = median(a[mode]);
  const y = median(b[mode]);
  if (!Number.isFinite(x) || !Number.isFinite(y) || y === 0) return 'n/a';
  return `${(x / y).toFixed(2)} (p50 ${fmt(x)} / ${fmt(y)} ms)`;
}

function machine(): string {
  const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  const model =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  const keepalived = spawnSync(KEEPALIVED, ['--version'], { encoding: 'utf8' });
  const version = `${keepalived.stdout}${keepalived.stderr}`.split('\n')[0]?.trim() ?? '';
  return `Linux ${kernel}, ${cpus().length} CPUs (${model}), node ${process.version}, ${version}`;
}

function report(rows: Row[], totalSeconds: number): string {
  const byId = (id: string) => rows.find((row) => row.setup.id === id);
  const flipDefault = byId('flip-default');
  const kaDefault = byId('keepalived-default');
  const kaFast = byId('keepalived-fast');
  const flipFast = byId('flip-fast') ?? flipDefault;
  const perPolicy = ALL_SETUPS.filter((setup) => setup.lease).flatMap((setup) => {
    const row = byId(setup.id);
    if (!row) return [];
    return [
      `- crash, ${setup.label} vs keepalived defaults: ${ratio(row, kaDefault, 'crash')} — target: at most 0.5`,
      `- graceful, ${setup.label} vs keepalived defaults: ${ratio(row, kaDefault, 'graceful')} — target: at most 1`,
    ];
  });
  const lines = [
    `Run of bench:failover — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${machine()}.`,
    `Outage as the client sees it (last answer by the old owner to the first by the new), ms.`,
    '',
    mainTable(rows),
    '',
    'Ratios flip / keepalived (p50):',
    '',
    `- crash, defaults without a lease (flip ${timingLabel(DEFAULT_TIMING)} vs advert_int 1): ${ratio(flipDefault, kaDefault, 'crash')} — target: at most 0.5`,
    `- graceful, defaults without a lease: ${ratio(flipDefault, kaDefault, 'graceful')} — target: at most 1`,
    ...perPolicy,
    `- crash, fast (flip ${flipFast === flipDefault ? 'defaults' : timingLabel(FAST_TIMING)} vs advert_int 0.25): ${ratio(flipFast, kaFast, 'crash')}`,
    `- graceful, fast: ${ratio(flipFast, kaFast, 'graceful')}`,
    '',
    "Where the time goes (medians, ms; flip phases from the new owner's log, addresses from `ip monitor`):",
    '',
    phaseTable(rows),
    '',
    `Trials per fault: ${rows.map((row) => `${row.setup.id} ${row.trials}`).join(', ')} (default 12; setups whose detection takes seconds run --slow-trials, default 10; five setups take about 15 minutes).`,
    `bench:failover took ${Math.round(totalSeconds)} s (${rows.map((row) => `${row.setup.id} ${Math.round(row.seconds)} s`).join(', ')}).`,
  ];
  return lines.join('\n');
}

const DOC_BEGIN = '<!-- bench:failover begin -->';
const DOC_END = '<!-- bench:failover end -->';

const DOC_INTRO = `# Failover: flip and keepalived on a real network

\`npm run bench:failover\` (\`bench/failover.ts\`) measures what a client sees when the server that
holds a virtual IP fails. It builds a network of Linux namespaces (three servers and a client on one
bridge, \`src/testing/netns/harness.ts\`), runs an HTTP server in every server namespace that
answers with its name, and has the client send a GET to the VIP every 10 ms (a new connection each
time, 200 ms timeout). The outage of one trial is the time from the last answer by the old owner to
the first answer by the new one.

Setups: flip with a \`single\` system of two members (priorities 1 and 2) and an arbiter, running
the shipped \`vip-up\`/\`vip-down\` scripts (3 gratuitous ARPs 100 ms apart), at its defaults three
ways: \`no_quorum_policy: keep\` without a lease program (nothing fences a gone holder, so nothing is
waited for), and \`keep\` and \`release\` with the shipped \`vip-lease\` (a takeover waits the gone
holder's fence, counted from when it was last heard; see docs/SAFETY.md); keepalived with three
VRRP instances (unicast peers, priorities 150/100/50, preemption on, the VIP on eth0/24). Faults on
the owner: **crash** drops all its traffic (IP and ARP, nftables in its namespace) and SIGKILLs the
daemon's process group at the same moment, like a power loss (before the restart the VIP is removed
from it, as a reboot would); **graceful** sends SIGTERM to the daemon. After each trial the daemon is
restarted and the benchmark waits until the VIP is back on the owner. Trials run one after another
on a 2-core VM, so the numbers include its noise; p95 and max over 10-20 trials are rough.

Each run also draws every trial's outage, \`docs/img/failover.svg\`, and saves its results beside it
(\`docs/img/failover.json\`; \`npm run bench:failover:svg -- docs/img/failover.json\` redraws it).

## Latest run
`;

/** The results as saved (--json) and drawn (failover-svg.ts). */
function resultsOf(results: Result[], machineText: string): FailoverResults {
  return {
    version: FAILOVER_RESULTS_VERSION,
    run_at: new Date().toISOString(),
    machine: machineText,
    setups: results.map((result) => ({
      id: result.setup.id,
      label: result.setup.label,
      kind: result.setup.kind,
      seconds: result.seconds,
      trials: result.trials.map((trial) => ({
        mode: trial.mode,
        n: trial.n,
        ...(trial.outageMs === undefined ? {} : { outage_ms: trial.outageMs }),
        ...(trial.error === undefined ? {} : { error: trial.error }),
        phases: trial.phases,
      })),
    })),
  };
}

function writeDoc(body: string): void {
  const section = `${DOC_BEGIN}\n${body}\n${DOC_END}`;
  let text: string;
  if (existsSync(DOC)) {
    const current = readFileSync(DOC, 'utf8');
    const begin = current.indexOf(DOC_BEGIN);
    const end = current.indexOf(DOC_END);
    text =
      begin >= 0 && end > begin
        ? `${current.slice(0, begin)}${section}${current.slice(end + DOC_END.length)}`
        : `${current.trimEnd()}\n\n## Latest run\n\n${section}\n`;
  } else {
    text = `${DOC_INTRO}\n${section}\n`;
  }
  writeFileSync(DOC, text);
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const support = canRunNetns(['ip', 'nft', 'arping']);
  if (!support.ok) {
    process.stderr.write(`bench:failover needs network namespaces: ${support.reason}\n`);
    return 1;
  }
  const setups = setupIds.map((id) => ALL_SETUPS.find((setup) => setup.id === id));
  if (setups.some((setup) => !setup)) {
    process.stderr.write(
      `unknown setup in --setups; setups are: ${ALL_SETUPS.map((s) => s.id).join(', ')}\n`,
    );
    return 1;
  }
  if (setups.some((setup) => setup!.kind === 'keepalived') && !existsSync(KEEPALIVED)) {
    process.stderr.write(`bench:failover needs ${KEEPALIVED} (Debian package keepalived)\n`);
    return 1;
  }
  const began = nowMs();
  const lab = await createLab({ servers: [...SERVERS] });
  const measured: Result[] = [];
  const trialsOf = (setup: Setup) => (setup.slow ? Math.min(slowTrialsArg, trialsArg) : trialsArg);
  try {
    for (const server of SERVERS) await lab.startHttpServer(server);
    const monitor = await HolderMonitor.start(lab, [lab.vip(0)]);
    // Two faults per trial count.
    const total = (setups as Setup[]).reduce((sum, setup) => sum + 2 * trialsOf(setup), 0);
    progress.begin('bench:failover', total, 'trials');
    for (const setup of setups as Setup[])
      measured.push(await runSetup(lab, monitor, setup, trialsOf(setup)));
    await monitor.stop();
  } finally {
    progress.end();
    await lab.destroy();
  }
  const rows = measured.map(toRow);
  const text = report(rows, (nowMs() - began) / 1000);
  process.stdout.write(`${text}\n`);
  const results = resultsOf(measured, machine());
  const svg = writeSvg(svgPath, renderFailoverSvg(results));
  log(`wrote the picture to ${svg}`);
  if (jsonPath !== undefined) {
    mkdirSync(dirname(resolve(jsonPath)), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 1)}\n`);
    log(`wrote the results to ${jsonPath} (redraw: npm run bench:failover:svg -- ${jsonPath})`);
  }
  if (writeDocs) {
    const picture =
      svg === DEFAULT_SVG
        ? '\n\n![Outage per trial, flip beside keepalived, crash and graceful](img/failover.svg)'
        : '';
    writeDoc(`${text}${picture}`);
    log(`wrote ${DOC}`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench:failover could not run: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
