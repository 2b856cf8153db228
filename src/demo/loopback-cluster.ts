/**
 * A cluster of real flip agents on 127.0.0.1, each a separate process, with scripts that only
 * record: what `flip demo` shows and what the loopback tests and bench:agent drive. Agents run
 * detached, in their own process groups, and are always killed on close.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FlipConfig, loadConfig, parseClusterConfig, readConfigText } from '../config/index.js';
import { parseSource } from '../config/source.js';

export const RECORD_SCRIPT = fileURLToPath(new URL('../../scripts/demo/record', import.meta.url));

export interface RecordLine {
  at_ns: bigint;
  node: string;
  system: string;
  event: 'alive' | 'down';
  item: string;
}

export interface LoopbackClusterOptions {
  /** Base config (the README example by default); servers are moved to 127.0.0.1 on free ports. */
  configFile: string;
  /** Top-level keys to override (timings, quorum...). */
  overrides?: Record<string, unknown>;
  /** Per-system keys to override, for every system (e.g. a script or a delay). */
  systemOverrides?: Record<string, unknown>;
  /** The command that runs flip: [executable, ...args before `agent`]. */
  flipCommand?: string[];
  /** Top-level keys to remove from the base config (to get flip's own defaults). */
  dropKeys?: string[];
}

/** Free UDP ports on 127.0.0.1, found by binding port 0 and letting go. */
export async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
          const socket = createSocket('udp4');
          socket.once('error', reject);
          socket.bind(0, '127.0.0.1', () => resolve(socket));
        }),
    ),
  );
  const ports = sockets.map((socket) => socket.address().port);
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  return ports;
}

/** How this process runs flip: the same executable and loader flags, the same entry script. */
export function currentFlipCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

/** How long waitExit waits, after an exit, for the agent's output to reach its log file (ms). */
const LOG_FLUSH_WAIT_MS = 2_000;

export class LoopbackCluster {
  readonly dir: string;
  readonly recordLog: string;
  readonly config: FlipConfig;
  readonly ids: string[];
  readonly #configFiles = new Map<string, string>();
  readonly #processes = new Map<string, ChildProcess>();
  /** Per agent: resolves once its output is all in its log file (the pipes closed, the file written). */
  readonly #logged = new Map<string, Promise<void>>();
  readonly #flipCommand: string[];

  private constructor(dir: string, config: FlipConfig, files: Map<string, string>, flipCommand: string[]) {
    this.dir = dir;
    this.recordLog = join(dir, 'record.log');
    writeFileSync(this.recordLog, '');
    this.config = config;
    this.ids = config.servers_as_written;
    this.#configFiles = files;
    this.#flipCommand = flipCommand;
  }

  static async create(options: LoopbackClusterOptions): Promise<LoopbackCluster> {
    // The operator's file is checked first, so its problems are reported against it (with its
    // lines) rather than against the copies made below; JSON and YAML are both read.
    const text = readConfigText(options.configFile);
    parseClusterConfig(text, options.configFile);
    const raw = { ...(parseSource(text, options.configFile).value as Record<string, unknown>) };
    for (const key of options.dropKeys ?? []) delete raw[key];
    const servers = raw.servers as Record<string, Record<string, unknown>>;
    const ids = Object.keys(servers);
    const ports = await freeUdpPorts(ids.length);
    const dir = mkdtempSync(join(tmpdir(), 'flip-demo-'));
    const cluster = raw.cluster as { config?: unknown; system?: Record<string, Record<string, unknown>> };
    const systems = Object.fromEntries(
      Object.entries(cluster.system ?? {}).map(([name, system]) => [
        name,
        { ...system, alive: RECORD_SCRIPT, down: RECORD_SCRIPT, ...options.systemOverrides },
      ]),
    );
    const files = new Map<string, string>();
    for (const id of ids) {
      const config = {
        ...raw,
        // Every agent keeps its state under the cluster's temporary directory, never in the
        // operator's (or the default /var/lib/flip).
        state_dir: join(dir, 'state'),
        ...options.overrides,
        id,
        servers: Object.fromEntries(
          ids.map((other, i) => [other, { ...servers[other], ip: '127.0.0.1', port: ports[i] }]),
        ),
        cluster: { ...cluster, system: systems },
      };
      const file = join(dir, `${id}.json`);
      writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
      files.set(id, file);
    }
    const config = loadConfig(files.get(ids[0]!)!);
    return new LoopbackCluster(dir, config, files, options.flipCommand ?? currentFlipCommand());
  }

  configFile(id: string): string {
    return this.#configFiles.get(id)!;
  }

  /** Starts `id`'s agent; its log goes to <dir>/<id>.log. */
  start(id: string): ChildProcess {
    const [command, ...args] = this.#flipCommand;
    const log = createWriteStream(join(this.dir, `${id}.log`), { flags: 'a' });
    const child = spawn(command!, [...args, 'agent', '--config', this.configFile(id)], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLIP_DEMO_LOG: this.recordLog },
    });
    // Two sources into one file: neither may end it, or the other's last lines are lost.
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.#logged.set(id, new Promise((resolve) => child.once('close', () => log.end(() => resolve()))));
    this.#processes.set(id, child);
    return child;
  }

  running(id: string): boolean {
    const child = this.#processes.get(id);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Sends `signal` to `id`'s whole process group (the agent and any script it runs). */
  signal(id: string, signal: NodeJS.Signals): void {
    const child = this.#processes.get(id);
    if (!child?.pid || !this.running(id)) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /**
   * Waits for `id`'s agent to exit; its exit code, or null when killed by a signal. Its last lines
   * are in its log file by then (up to LOG_FLUSH_WAIT_MS after the exit: a script it left running
   * may hold its output open).
   */
  async waitExit(id: string, timeout_ms = 30_000): Promise<number | null> {
    const child = this.#processes.get(id);
    if (!child) return null;
    if (this.running(id))
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${id} did not exit within ${timeout_ms} ms`)),
          timeout_ms,
        );
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#logged.get(id),
      new Promise((resolve) => {
        wait = setTimeout(resolve, LOG_FLUSH_WAIT_MS);
      }),
    ]);
    clearTimeout(wait);
    return child.exitCode;
  }

  /** Everything the record script has written so far. */
  records(): RecordLine[] {
    return readFileSync(this.recordLog, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [at, node, system, event, ...item] = line.split(' ');
        return {
          at_ns: BigInt(at!),
          node: node!,
          system: system!,
          event: event as 'alive' | 'down',
          item: item.join(' '),
        };
      });
  }

  /**
   * Who holds what, by replaying the records: `alive` adds an item to its node, `down` removes
   * it. Nodes listed in `gone` hold nothing (a crashed host's addresses are gone with it).
   */
  holdings(gone: ReadonlySet<string> = new Set()): Map<string, Map<string, string[]>> {
    const held = new Map<string, Map<string, Set<string>>>();
    for (const record of this.records()) {
      const bySystem = held.get(record.system) ?? new Map<string, Set<string>>();
      held.set(record.system, bySystem);
      const items = bySystem.get(record.node) ?? new Set<string>();
      bySystem.set(record.node, items);
      if (record.event === 'alive') items.add(record.item);
      else items.delete(record.item);
    }
    const out = new Map<string, Map<string, string[]>>();
    for (const system of this.config.systems) {
      const bySystem = new Map<string, string[]>();
      for (const id of this.ids) {
        const items = gone.has(id) ? [] : [...(held.get(system.name)?.get(id) ?? [])];
        bySystem.set(
          id,
          system.data.filter((item) => items.includes(item)),
        );
      }
      out.set(system.name, bySystem);
    }
    return out;
  }

  /** Stops every agent (SIGTERM, then SIGKILL after `grace_ms`) and removes the directory. */
  async close(grace_ms = 5_000, keepDir = false): Promise<void> {
    const ids = [...this.#processes.keys()].filter((id) => this.running(id));
    for (const id of ids) this.signal(id, 'SIGTERM');
    await Promise.all(
      ids.map(async (id) => {
        try {
          await this.waitExit(id, grace_ms);
        } catch {
          this.signal(id, 'SIGKILL');
          await this.waitExit(id, grace_ms).catch(() => undefined);
        }
      }),
    );
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills everything at once, synchronously (for exit handlers). */
  killAllSync(): void {
    for (const id of this.#processes.keys()) this.signal(id, 'SIGKILL');
  }
}
