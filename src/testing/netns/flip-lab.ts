/**
 * Real flip agents on a netns lab (harness.ts): one agent per server namespace, each listening on
 * its lab address, port 2200, running the shipped Linux VIP scripts on the lab's eth0, plus the
 * lab's HTTP server in every server namespace so that the client can ask a VIP who holds it.
 *
 * FlipCluster writes one config per server, starts, kills (-9), stops (SIGTERM) and restarts
 * agents, keeps every agent's JSON log (in memory and in <dir>/<server>.log), and computes where
 * every VIP belongs with flip's own placement code for a given set of live servers.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FlipConfig, parseConfig } from '../../config/index.js';
import { placeAll } from '../../placement/index.js';
import { FLIP_BUILT_BIN, FLIP_SOURCE_BIN, PACKAGE_ROOT } from '../paths.js';
import { waitFor } from '../wait.js';
import { type ExecResult, type Lab, type LabProcess, VIP_DOWN, VIP_UP } from './harness.js';
import { nowMs } from './holder-monitor.js';

/** The shipped lease program for VIPs (see scripts/linux/README.md). */
export const VIP_LEASE = join(PACKAGE_ROOT, 'scripts/linux/vip-lease');

export const FLIP_PORT = 2200;
/** cluster.config of every lab cluster: the VIP scripts' settings. */
export const VIP_SCRIPT_CONFIG = { interface: 'eth0', prefix: 24, arp_count: 3, arp_interval_ms: 100 };

/** Timing keys; an absent key keeps flip's default. `delay` goes to every system. */
export interface FlipTiming {
  gossip_interval?: number;
  ping_per_interval?: number;
  ping_timeout?: number;
  indirect_probes?: number;
  delay?: number;
}

/** Fast but sane timing for tests. (The README example's timing is README_TIMING in ../timing.ts.) */
export const FAST_TIMING: FlipTiming = { gossip_interval: 200, ping_timeout: 500, delay: 200 };
/** flip's defaults: every key omitted. */
export const DEFAULT_TIMING: FlipTiming = {};

export interface ServerSpec {
  priority?: number;
  systems?: string[];
}

export interface SystemSpec {
  type: 'shard' | 'hash' | 'single' | 'replicated';
  /** The items: VIP addresses. */
  data: string[];
  /** Per-system config keys merged over VIP_SCRIPT_CONFIG. */
  config?: Record<string, unknown>;
  script_timeout?: number;
  /** Renew held addresses through scripts/linux/vip-lease, so they lapse when nobody renews them. */
  lease?: boolean;
  no_quorum_policy?: 'keep' | 'release';
  /** The system's `fence` (ms); the default when absent. */
  fence?: number;
  /** A health check program (absolute path) and its keys; the defaults when absent. */
  check?: string;
  check_interval?: number;
  rise?: number;
  fall?: number;
  hold_down?: number;
  preempt?: boolean;
}

export interface FlipClusterOptions {
  /** Every server of the cluster by id, in the lab's order; ids must be lab server names. */
  servers: Record<string, ServerSpec>;
  systems: Record<string, SystemSpec>;
  timing?: FlipTiming;
  quorum?: number;
  key?: string;
  logLevel?: 'debug' | 'info' | 'warning' | 'error';
  /** Where configs and logs go; a new directory under /tmp by default. */
  dir?: string;
  /** Every server's `api.token` (runtime changes need one); none by default. */
  apiToken?: string;
  /**
   * Agents run the compiled command (dist/, `npm run build` first) instead of the sources under
   * tsx: for benchmarks, so that a figure is an installed agent's. The `flip` commands still run
   * from the sources.
   */
  built?: boolean;
}

export interface LogEntry {
  server: string;
  /** Which start of the agent wrote it: 1 for the first. */
  life: number;
  /** Epoch ms (from the entry's time). */
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

interface Agent {
  proc: LabProcess;
  life: number;
  buffer: string;
}

export class FlipCluster {
  readonly dir: string;
  readonly ids: string[];
  /** The parsed config (as the first server sees it; placement is the same everywhere). */
  readonly config: FlipConfig;
  readonly logs: LogEntry[] = [];
  private readonly files = new Map<string, string>();
  private readonly agents = new Map<string, Agent>();
  private readonly lives = new Map<string, number>();
  private readonly http = new Map<string, LabProcess>();

  constructor(
    readonly lab: Lab,
    readonly options: FlipClusterOptions,
  ) {
    this.ids = Object.keys(options.servers);
    for (const id of this.ids) lab.host(id);
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'flip-e2e-'));
    const timing = options.timing ?? FAST_TIMING;
    const { delay, ...top } = timing;
    let first: FlipConfig | undefined;
    for (const id of this.ids) {
      const config = {
        id,
        key: options.key ?? 'lab-secret',
        ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
        ...top,
        log_level: options.logLevel ?? 'info',
        // Each lab keeps the agents' state in its own directory, not in /var/lib/flip.
        state_dir: join(this.dir, 'state'),
        servers: Object.fromEntries(
          this.ids.map((server) => [
            server,
            {
              ip: lab.host(server).ipv4,
              port: FLIP_PORT,
              ...options.servers[server],
              ...(options.apiToken === undefined ? {} : { api: { token: options.apiToken } }),
            },
          ]),
        ),
        cluster: {
          config: VIP_SCRIPT_CONFIG,
          system: Object.fromEntries(
            Object.entries(options.systems).map(([name, system]) => [
              name,
              {
                alive: VIP_UP,
                down: VIP_DOWN,
                type: system.type,
                data: system.data,
                ...(system.config ? { config: system.config } : {}),
                ...(delay === undefined ? {} : { delay }),
                ...(system.script_timeout === undefined ? {} : { script_timeout: system.script_timeout }),
                ...(system.lease ? { lease: VIP_LEASE } : {}),
                ...(system.no_quorum_policy ? { no_quorum_policy: system.no_quorum_policy } : {}),
                ...(system.fence !== undefined ? { fence: system.fence } : {}),
                ...pick(system, ['check', 'check_interval', 'rise', 'fall', 'hold_down', 'preempt']),
              },
            ]),
          ),
        },
      };
      const text = `${JSON.stringify(config, null, 2)}\n`;
      const file = join(this.dir, `${id}.json`);
      writeFileSync(file, text);
      this.files.set(id, file);
      first ??= parseConfig(text, file);
    }
    this.config = first!;
  }

  /** Every VIP of every system (sorted within each system). */
  get vips(): string[] {
    return this.config.systems.flatMap((system) => system.data);
  }

  /** The system an item belongs to. */
  systemOf(vip: string): FlipConfig['systems'][number] {
    const system = this.config.systems.find((candidate) => candidate.data.includes(vip));
    if (!system) throw new Error(`${vip} is in no system`);
    return system;
  }

  configFile(id: string): string {
    const file = this.files.get(id);
    if (file === undefined) throw new Error(`${id} has no config file (not a server of this cluster)`);
    return file;
  }

  /**
   * Writes `document` (a config in its JSON shape) as the config file of lab server `id`, for a
   * server that is not in `options.servers`, such as one added at runtime; start(id) uses it.
   */
  writeConfigFile(id: string, document: Record<string, unknown>): string {
    this.lab.host(id);
    const file = join(this.dir, `${id}.json`);
    writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
    this.files.set(id, file);
    return file;
  }

  /**
   * Runs `flip ARGS...` (from the sources) in server `id`'s namespace, against that agent's API
   * (loopback, the default `api.listen`) with the cluster's API token. Never throws on an exit
   * status; killed after timeoutMs.
   */
  flip(id: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
    const token = this.options.apiToken;
    return this.lab.exec(
      id,
      [
        process.execPath,
        '--import',
        'tsx',
        FLIP_SOURCE_BIN,
        ...args,
        '--api',
        `http://127.0.0.1:${FLIP_PORT}`,
        ...(token === undefined ? [] : ['--token', token]),
      ],
      { cwd: PACKAGE_ROOT, timeoutMs },
    );
  }

  /** Starts the lab's HTTP server (answering with the server's name) in every server namespace. */
  async startHttpServers(): Promise<void> {
    await Promise.all(
      this.ids.map(async (id) => {
        if (!this.http.get(id)?.running()) this.http.set(id, await this.lab.startHttpServer(id));
      }),
    );
  }

  /** Starts one agent; resolves once it has bound its socket ("flip agent started"). */
  async start(id: string, timeoutMs = 20_000): Promise<LabProcess> {
    if (this.running(id)) throw new Error(`${id}'s agent is already running`);
    const life = (this.lives.get(id) ?? 0) + 1;
    this.lives.set(id, life);
    const proc = this.lab.spawn(
      id,
      [
        process.execPath,
        ...(this.options.built === true ? [FLIP_BUILT_BIN] : ['--import', 'tsx', FLIP_SOURCE_BIN]),
        'agent',
        '--config',
        this.configFile(id),
      ],
      { cwd: PACKAGE_ROOT },
    );
    const agent: Agent = { proc, life, buffer: '' };
    this.agents.set(id, agent);
    const logFile = join(this.dir, `${id}.log`);
    appendFileSync(logFile, `# life ${life} started ${new Date().toISOString()} pid ${proc.pid}\n`);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      appendFileSync(logFile, text);
      agent.buffer += text;
      for (let newline = agent.buffer.indexOf('\n'); newline >= 0; newline = agent.buffer.indexOf('\n')) {
        this.onLine(id, life, agent.buffer.slice(0, newline));
        agent.buffer = agent.buffer.slice(newline + 1);
      }
    };
    proc.child.stdout?.on('data', onData);
    proc.child.stderr?.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk.toString('utf8')));
    void proc.exited.then(({ code, signal }) =>
      appendFileSync(logFile, `# life ${life} exited code ${code} signal ${signal}\n`),
    );
    await proc.waitForOutput(/"msg":"flip agent started"/, timeoutMs);
    return proc;
  }

  async startAll(ids: string[] = this.ids): Promise<void> {
    await Promise.all(ids.map((id) => this.start(id)));
  }

  private onLine(server: string, life: number, line: string): void {
    if (!line.startsWith('{')) return;
    try {
      const fields = JSON.parse(line) as Record<string, unknown>;
      const time = typeof fields.time === 'string' ? Date.parse(fields.time) : nowMs();
      this.logs.push({ server, life, at: time, msg: String(fields.msg ?? ''), fields });
    } catch {
      // not a log line
    }
  }

  running(id: string): boolean {
    return this.agents.get(id)?.proc.running() ?? false;
  }

  /** Servers whose agent runs now, in cluster order. */
  runningIds(): string[] {
    return this.ids.filter((id) => this.running(id));
  }

  /** The pid of the agent that runs on `id` (its process group's too). */
  pid(id: string): number {
    const agent = this.agents.get(id);
    if (!agent?.proc.running()) throw new Error(`${id}'s agent is not running`);
    return agent.proc.pid;
  }

  /** SIGSTOP (or SIGCONT) to the agent process only: it freezes, its host and scripts do not. */
  freeze(id: string, frozen: boolean): void {
    const agent = this.agents.get(id);
    if (!agent?.proc.running()) return;
    process.kill(agent.proc.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** kill -9 of the agent's process group (its detached scripts live on, as after a crash). */
  async kill9(id: string): Promise<void> {
    const agent = this.agents.get(id);
    if (!agent?.proc.running()) return;
    this.lab.kill(agent.proc, 'SIGKILL');
    await agent.proc.exited;
  }

  /**
   * Graceful stop: SIGTERM to the agent process only (it runs `down` for what it holds, announces
   * its leave and exits 0). Resolves with its exit; SIGKILL after timeoutMs.
   */
  async terminate(id: string, timeoutMs = 15_000): Promise<{ code: number | null; signal: string | null }> {
    const agent = this.agents.get(id);
    if (!agent?.proc.running()) return { code: null, signal: null };
    try {
      process.kill(agent.proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.lab.kill(agent.proc, 'SIGKILL'), timeoutMs);
    const result = await agent.proc.exited;
    clearTimeout(timer);
    return result;
  }

  /** How many times the agent has been started (its current life), 0 before the first start. */
  life(id: string): number {
    return this.lives.get(id) ?? 0;
  }

  /** Whether the running agent has a script running (a `script started` without its end in its current life). */
  busy(id: string): boolean {
    const life = this.life(id);
    const entries = this.logs.filter((entry) => entry.server === id && entry.life === life);
    const started = entries.filter((entry) => entry.msg === 'script started').length;
    const ended = entries.filter(
      (entry) => entry.msg === 'script finished' || entry.msg === 'script failed',
    ).length;
    return started > ended;
  }

  /** The agent's process (the latest life), if it was ever started. */
  process(id: string): LabProcess | undefined {
    return this.agents.get(id)?.proc;
  }

  /** Log entries, optionally of one server, with a message, after a time. */
  entries(filter: { server?: string; msg?: string; since?: number } = {}): LogEntry[] {
    return this.logs.filter(
      (entry) =>
        (filter.server === undefined || entry.server === filter.server) &&
        (filter.msg === undefined || entry.msg === filter.msg) &&
        (filter.since === undefined || entry.at >= filter.since),
    );
  }

  /**
   * Where every VIP belongs when `live` (default: the servers whose agent runs) are the live
   * servers, by flip's own placement: VIP -> holders (one for shard/hash/single; every live member for
   * replicated; none when no member is live).
   */
  expected(live: Iterable<string> = this.runningIds()): Map<string, string[]> {
    const placements = placeAll(this.config.systems, new Set(live));
    const out = new Map<string, string[]>();
    for (const system of this.config.systems) {
      const placement = placements.get(system.name)!;
      for (const item of system.data) {
        out.set(
          item,
          system.members.filter((member) => placement.holdings.get(member)?.includes(item)),
        );
      }
    }
    return out;
  }

  /** Every VIP's holders now, read from the namespaces (one `ip addr` per server). */
  async holdersNow(): Promise<Map<string, string[]>> {
    const lists = await Promise.all(this.ids.map((id) => this.lab.addresses(id)));
    return new Map(this.vips.map((vip) => [vip, this.ids.filter((_, i) => lists[i]!.includes(vip))]));
  }

  /**
   * Waits until every VIP is held exactly where placement says for `live` (default: running
   * agents). With `among`, only the holders among those servers are compared (e.g. to ignore
   * addresses left behind by agents killed with -9). Returns the time it took; throws with the
   * differences on timeout.
   */
  async waitForPlacement(
    options: { live?: Iterable<string>; among?: Iterable<string>; timeoutMs?: number } = {},
  ): Promise<number> {
    const started = nowMs();
    const expected = this.expected(options.live);
    const among = options.among ? new Set(options.among) : undefined;
    let last = new Map<string, string[]>();
    const differences = () =>
      [...expected]
        .map(([vip, want]) => {
          const got = (last.get(vip) ?? []).filter((id) => !among || among.has(id));
          return want.join(',') === got.join(',') ? '' : `${vip}: want [${want}] got [${got}]`;
        })
        .filter(Boolean);
    try {
      await waitFor(
        async () => {
          last = await this.holdersNow();
          return differences().length === 0;
        },
        { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: 100, what: 'VIPs placed' },
      );
    } catch {
      throw new Error(
        `VIPs not where placement says after ${options.timeoutMs ?? 20_000} ms: ${differences().join('; ')}`,
      );
    }
    return nowMs() - started;
  }

  /** Waits until the client, asking the VIP, is answered by `server`; returns the time it took. */
  async waitClientReaches(vip: string, server: string, timeoutMs = 10_000): Promise<number> {
    const started = nowMs();
    let last: string | null = null;
    try {
      await waitFor(
        async () => {
          last = await this.lab.clientGet(vip, 200);
          return last === server;
        },
        { timeoutMs, intervalMs: 20, what: `${server} answering on ${vip}` },
      );
    } catch {
      throw new Error(
        `the client did not reach ${server} through ${vip} within ${timeoutMs} ms (last answer: ${last})`,
      );
    }
    return nowMs() - started;
  }

  /** Kills every agent (SIGKILL); the lab's destroy() would do it too. */
  async killAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.kill9(id)));
  }
}

/** The config of the README example on a lab: flip, flip1 (priority 1), flip2 (arbiter), shard of 2 VIPs. */
export function readmeCluster(lab: Lab, timing: FlipTiming = FAST_TIMING, dir?: string): FlipCluster {
  return new FlipCluster(lab, {
    servers: { flip: { systems: ['ip'] }, flip1: { priority: 1, systems: ['ip'] }, flip2: {} },
    systems: { ip: { type: 'shard', data: [lab.vip(1), lab.vip(0)] } },
    quorum: 2,
    timing,
    key: 'secret',
    ...(dir ? { dir } : {}),
  });
}

/** The keys of `spec` among `keys` that are set. */
function pick<T extends object, K extends keyof T>(spec: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (spec[key] !== undefined) out[key] = spec[key];
  return out;
}
