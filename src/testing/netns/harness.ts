/**
 * A lab of real test hosts built from Linux network namespaces, for end-to-end tests and benchmarks.
 *
 * One lab holds, per run: a "switch" namespace with a Linux bridge, one namespace per server and one
 * client namespace. Each host namespace is joined to the bridge by a veth pair that is created
 * inside the switch namespace with its peer placed straight into the host namespace as `eth0`, so
 * no interface, address, route or rule is ever made in the root namespace. Every namespace name
 * starts with a per-run prefix `flt<4 hex>-`. Hosts are addressed in a private range that only exists
 * inside the namespaces (10.77.0.0/24 and fd77::/64 by default: servers .1, .2, ..., client .250,
 * virtual IPs from .100 on).
 *
 * Everything the lab starts is killed and every namespace it made is deleted by destroy(), which
 * also runs on process exit, SIGINT, SIGTERM and SIGHUP; cleanupLeftovers() removes what a crashed
 * earlier run left behind (it runs at every createLab()).
 *
 * Tests decide whether they can run with netnsTestSkip() and requireNetns(): they skip where
 * namespaces are not available (not root, not Linux, tools missing) unless FLIP_NETNS_TESTS=1, in
 * which case they fail with the reason.
 */
import { type ChildProcess, spawn as spawnChild, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';

/**
 * The plain-JavaScript helpers that node runs inside namespaces. tsc does not copy them to
 * dist, so they are always taken from the source tree, from tsx and from dist alike.
 */
const HELPERS_DIR = join(PACKAGE_ROOT, 'src/testing/netns');
/** The tiny HTTP server that answers with its name (see http-server.mjs). */
export const HTTP_SERVER_SCRIPT = join(HELPERS_DIR, 'http-server.mjs');
/** The persistent HTTP probe that runs inside a namespace (see http-probe.mjs). */
export const HTTP_PROBE_SCRIPT = join(HELPERS_DIR, 'http-probe.mjs');
/** flip's Linux VIP scripts, and the lease keeper that renews their addresses' lifetimes. */
export const VIP_UP = join(PACKAGE_ROOT, 'scripts/linux/vip-up');
export const VIP_DOWN = join(PACKAGE_ROOT, 'scripts/linux/vip-down');
export const VIP_LEASE = join(PACKAGE_ROOT, 'scripts/linux/vip-lease');

/** Namespaces (and so labs) made by this harness: `flt` + 4 hex digits + `-`. */
export const NAME_SCHEME = /^flt[0-9a-f]{4}-/;
/** The interface of every host namespace. */
export const HOST_IFACE = 'eth0';
/** The port startHttpServer() uses by default. */
export const HTTP_PORT = 8080;
/** Reserved host names. */
export const CLIENT = 'client';
export const SWITCH = 'switch';

const OWNER_DIR = join(tmpdir(), 'flip-netns');
const COMMAND_TIMEOUT_MS = 30_000;
const SYNC_TIMEOUT_MS = 10_000;
const MAX_SERVERS = 50;
const OUTPUT_LIMIT = 1024 * 1024;
const CLIENT_OCTET = 250;
const VIP_OCTET = 100;

// ---------------------------------------------------------------------------------------------------
// Types

export interface LabOptions {
  /** Logical server names, e.g. ['s1', 's2', 's3'] (1 to 50, letters/digits/_/-, not "client"/"switch"). */
  servers: string[];
  /** Prefix of every namespace name; generated (`flt<4 hex>-`) when absent. Must match NAME_SCHEME. */
  prefix?: string;
  /** IPv4 /24 for the hosts, e.g. '10.77.0.0/24'; by default the first candidate unused by the root namespace. */
  subnet?: string;
  /** IPv6 /64 for the hosts, e.g. 'fd77::/64'; chosen with the IPv4 one by default. */
  subnet6?: string;
}

export interface LabHost {
  /** Logical name: a server name, or "client". */
  name: string;
  /** Network namespace name. */
  ns: string;
  role: 'server' | 'client';
  /** The host's interface on the lab network (always eth0). */
  iface: string;
  ipv4: string;
  ipv6: string;
  /** The bridge port (veth peer) in the switch namespace. */
  switchPort: string;
}

export interface ExecOptions {
  /** Written to the command's stdin (stdin is closed otherwise). */
  input?: string;
  /** Killed (whole process group, SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Extra environment variables, merged over process.env. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Throw when the command does not exit with 0. */
  check?: boolean;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'pipe' (default) captures stdout and stderr (see LabProcess.output()); 'ignore' discards them. */
  stdio?: 'pipe' | 'ignore' | 'inherit';
  /** Give the process a stdin pipe (LabProcess.child.stdin); default: stdin is /dev/null. */
  stdin?: boolean;
}

export interface LabProcess {
  readonly host: string;
  readonly ns: string;
  readonly argv: readonly string[];
  /** Also the id of its process group (it is started detached). */
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Captured stdout and stderr, interleaved (last 1 MiB), when spawned with stdio 'pipe'. */
  output(): string;
  /** Waits until the captured output matches; rejects after timeoutMs (default 10 s) or on exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface ProbeResult {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
  /** Time the request took, measured inside the namespace. */
  ms: number;
}

export interface NeighbourEntry {
  dst: string;
  dev?: string;
  lladdr?: string;
  state: string[];
}

export interface NetnsSupport {
  ok: boolean;
  /** Why not, when ok is false. */
  reason: string;
}

// ---------------------------------------------------------------------------------------------------
// Small synchronous helpers (usable from exit handlers)

interface SyncResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

function runSync(argv: string[], input?: string): SyncResult {
  const [command, ...args] = argv;
  const result = spawnSync(command!, args, {
    input,
    encoding: 'utf8',
    timeout: SYNC_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    error: result.error,
  };
}

function mustSync(argv: string[], input?: string): string {
  const result = runSync(argv, input);
  if (result.status !== 0) {
    const why = result.error?.message ?? (result.stderr.trim() || `exit status ${result.status}`);
    throw new Error(`${argv.join(' ')}: ${why}`);
  }
  return result.stdout;
}

function parseJson<T>(text: string, fallback: T): T {
  const trimmed = text.trim();
  return trimmed === '' ? fallback : (JSON.parse(trimmed) as T);
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Canonical spelling of an IP address (IPv6 compressed and lowercase), or an error. */
export function canonicalIp(address: string): string {
  const family = isIP(address);
  if (family === 4) return address;
  if (family === 6 && !address.includes('%')) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  throw new Error(`not an IP address: ${JSON.stringify(address)}`);
}

// ---------------------------------------------------------------------------------------------------
// Can this machine run the lab?

const supportCache = new Map<string, NetnsSupport>();

/**
 * Whether namespaces can be used here: Linux, root, the given tools on PATH (default ip and nft),
 * and a throwaway namespace can really be created and deleted. The answer is cached per tool list.
 */
export function canRunNetns(tools: string[] = ['ip', 'nft']): NetnsSupport {
  const key = [...tools].sort().join(' ');
  const cached = supportCache.get(key);
  if (cached) return cached;
  const answer = probeNetns(tools);
  supportCache.set(key, answer);
  return answer;
}

const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  nft: 'nftables',
  arping: 'iputils-arping',
  na6: 'ipv6toolkit',
  tee: 'coreutils',
};

function probeNetns(tools: string[]): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  const missing = ['ip', 'tee', ...tools].filter(
    (tool, i, all) => all.indexOf(tool) === i && !findExecutable(tool),
  );
  if (missing.length > 0) {
    const names = missing.map((tool) =>
      TOOL_PACKAGES[tool] ? `${tool} (Debian package ${TOOL_PACKAGES[tool]})` : tool,
    );
    return { ok: false, reason: `missing tools: ${names.join(', ')}` };
  }
  // Not NAME_SCHEME ('p' is not hex), so cleanupLeftovers() never touches a concurrent probe.
  const name = `fltprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const added = runSync(['ip', 'netns', 'add', name]);
  if (added.status !== 0) {
    return {
      ok: false,
      reason: `cannot create a network namespace: ${added.stderr.trim() || added.error?.message}`,
    };
  }
  try {
    const lo = runSync(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    if (lo.status !== 0) return { ok: false, reason: `cannot configure a namespace: ${lo.stderr.trim()}` };
    return { ok: true, reason: '' };
  } finally {
    runSync(['ip', 'netns', 'delete', name]);
  }
}

/**
 * The test convention: a reason to skip (string) when namespaces cannot be used here, or false to
 * run. With FLIP_NETNS_TESTS=1 it never skips, so requireNetns()/createLab() fail with the reason.
 */
export function netnsTestSkip(tools: string[] = ['ip', 'nft']): string | false {
  const support = canRunNetns(tools);
  if (support.ok || process.env.FLIP_NETNS_TESTS === '1') return false;
  return `network namespace tests need root on Linux: ${support.reason} (FLIP_NETNS_TESTS=1 turns this skip into a failure)`;
}

/** Throws with the reason when namespaces cannot be used here. */
export function requireNetns(tools: string[] = ['ip', 'nft']): void {
  const support = canRunNetns(tools);
  if (!support.ok) throw new Error(`network namespace tests cannot run here: ${support.reason}`);
}

// ---------------------------------------------------------------------------------------------------
// The root namespace, read only

/**
 * A comparable picture of the root namespace's network (links, addresses, routes, nftables ruleset),
 * read only, with the fields that change by themselves (address lifetimes, route expiry) left out.
 */
export function rootNetworkSnapshot(): string {
  const volatile = new Set(['valid_life_time', 'preferred_life_time', 'expires']);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => !volatile.has(key))
          .map(([key, inner]) => [key, strip(inner)]),
      );
    }
    return value;
  };
  const json = (argv: string[]) => strip(parseJson<unknown>(mustSync(argv), []));
  const snapshot: Record<string, unknown> = {
    link: json(['ip', '-j', 'link', 'show']),
    addr: json(['ip', '-j', 'addr', 'show']),
    route4: json(['ip', '-j', '-4', 'route', 'show', 'table', 'all']),
    route6: json(['ip', '-j', '-6', 'route', 'show', 'table', 'all']),
  };
  if (findExecutable('nft')) snapshot.nft = mustSync(['nft', 'list', 'ruleset']);
  return JSON.stringify(snapshot, null, 1);
}

// Address ranges -------------------------------------------------------------------------------------

const SUBNET_CANDIDATES: Array<{ v4: string; v6: string }> = [
  { v4: '10.77.0.0/24', v6: 'fd77::/64' },
  { v4: '10.78.0.0/24', v6: 'fd78::/64' },
  { v4: '10.79.0.0/24', v6: 'fd79::/64' },
  { v4: '172.31.77.0/24', v6: 'fd7a::/64' },
  { v4: '192.168.177.0/24', v6: 'fd7b::/64' },
];

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function ipv6ToBigInt(address: string): bigint {
  const canonical = canonicalIp(address);
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  if (tailGroups.some((group) => group.includes('.')) || headGroups.some((group) => group.includes('.'))) {
    // Embedded IPv4 (::ffff:a.b.c.d): convert the last two groups.
    const groups = tail === undefined ? headGroups : tailGroups;
    const v4 = ipv4ToInt(groups.pop()!);
    groups.push((v4 >>> 16).toString(16), (v4 & 0xffff).toString(16));
  }
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

interface Network {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

function parseNetwork(cidr: string): Network | undefined {
  const [address = '', lengthText] = cidr.split('/');
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = lengthText === undefined ? max : Number(lengthText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  const value = family === 4 ? BigInt(ipv4ToInt(address)) : ipv6ToBigInt(address);
  const hostBits = BigInt(max - bits);
  return { family: family as 4 | 6, base: (value >> hostBits) << hostBits, bits };
}

function overlaps(a: Network, b: Network): boolean {
  if (a.family !== b.family) return false;
  const max = a.family === 4 ? 32 : 128;
  const shift = BigInt(max - Math.min(a.bits, b.bits));
  return a.base >> shift === b.base >> shift;
}

/** Destinations of the root namespace's routes (all tables, default routes left out), read only. */
function rootRouteNetworks(): Network[] {
  const routes = [
    ...parseJson<Array<{ dst?: string }>>(mustSync(['ip', '-j', '-4', 'route', 'show', 'table', 'all']), []),
    ...parseJson<Array<{ dst?: string }>>(mustSync(['ip', '-j', '-6', 'route', 'show', 'table', 'all']), []),
  ];
  return routes
    .map((route) => route.dst)
    .filter((dst): dst is string => typeof dst === 'string' && dst !== 'default')
    .map(parseNetwork)
    .filter((network): network is Network => network !== undefined);
}

function chooseSubnets(options: LabOptions): { v4: string; v6: string } {
  const used = rootRouteNetworks();
  const free = (cidr: string) => {
    const network = parseNetwork(cidr);
    if (!network) throw new Error(`not a network: ${cidr}`);
    return !used.some((route) => overlaps(route, network));
  };
  const check = (cidr: string, family: 4 | 6, bits: number) => {
    const network = parseNetwork(cidr);
    if (!network || network.family !== family || network.bits !== bits) {
      throw new Error(`subnet ${JSON.stringify(cidr)} must be an IPv${family} /${bits}`);
    }
    if (!free(cidr)) throw new Error(`subnet ${cidr} overlaps a route of the root namespace`);
  };
  if (options.subnet) check(options.subnet, 4, 24);
  if (options.subnet6) check(options.subnet6, 6, 64);
  const v4 = options.subnet ?? SUBNET_CANDIDATES.find((c) => free(c.v4))?.v4;
  const v6 = options.subnet6 ?? SUBNET_CANDIDATES.find((c) => free(c.v6))?.v6;
  if (!v4 || !v6) throw new Error('every candidate test subnet overlaps a route of the root namespace');
  return { v4, v6 };
}

/** Address number n (1-254) of an IPv4 /24 or IPv6 /64 given as CIDR. */
function hostAddress(cidr: string, n: number): string {
  const network = cidr.split('/')[0]!;
  if (isIP(network) === 4) return network.split('.').slice(0, 3).concat(String(n)).join('.');
  // IPv6: the /64 network plus n written in hex digits that read like the decimal number (fd77::250).
  const canonical = canonicalIp(network);
  return canonicalIp(`${canonical.endsWith('::') ? canonical : `${canonical}::`}${n}`);
}

// ---------------------------------------------------------------------------------------------------
// Ownership: which process made a lab, so that cleanupLeftovers() only removes dead runs' labs

interface Owner {
  pid: number;
  startTime: string;
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start with field 3; starttime is 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function ownerFile(prefix: string): string {
  return join(OWNER_DIR, `${prefix.replace(/-$/, '')}.json`);
}

function writeOwner(prefix: string): void {
  mkdirSync(OWNER_DIR, { recursive: true });
  const owner: Owner = { pid: process.pid, startTime: processStartTime(process.pid) ?? '' };
  writeFileSync(ownerFile(prefix), JSON.stringify(owner));
}

function ownerAlive(prefix: string): boolean {
  let owner: Owner;
  try {
    owner = JSON.parse(readFileSync(ownerFile(prefix), 'utf8')) as Owner;
  } catch {
    return false;
  }
  return processStartTime(owner.pid) === owner.startTime && owner.startTime !== '';
}

function listNamespaces(): string[] {
  const result = runSync(['ip', '-j', 'netns', 'list']);
  if (result.status !== 0) return [];
  return parseJson<Array<{ name: string }>>(result.stdout, []).map((entry) => entry.name);
}

function killNamespaceProcesses(ns: string): void {
  const result = runSync(['ip', 'netns', 'pids', ns]);
  if (result.status !== 0) return;
  for (const text of result.stdout.split(/\s+/)) {
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function deleteNamespace(ns: string): void {
  killNamespaceProcesses(ns);
  runSync(['ip', 'netns', 'delete', ns]);
}

/**
 * Deletes the namespaces (and kills their processes) of labs whose creating process is gone, e.g.
 * after a crash or SIGKILL. Labs of live processes, this one's included, are left alone. Returns the
 * deleted namespace names.
 */
export function cleanupLeftovers(): string[] {
  const deleted: string[] = [];
  const byPrefix = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    const match = NAME_SCHEME.exec(ns);
    if (!match) continue;
    byPrefix.set(match[0], [...(byPrefix.get(match[0]) ?? []), ns]);
  }
  for (const [prefix, namespaces] of byPrefix) {
    if (ownerAlive(prefix)) continue;
    // Hosts first, the switch last.
    for (const ns of namespaces.sort((a, b) => Number(a.endsWith(SWITCH)) - Number(b.endsWith(SWITCH)))) {
      deleteNamespace(ns);
      deleted.push(ns);
    }
    rmSync(ownerFile(prefix), { force: true });
  }
  // Owner files of dead runs that left no namespaces.
  let files: string[] = [];
  try {
    files = readdirSync(OWNER_DIR);
  } catch {
    // no directory yet
  }
  for (const file of files) {
    const prefix = `${file.replace(/\.json$/, '')}-`;
    if (NAME_SCHEME.test(prefix) && !byPrefix.has(prefix) && !ownerAlive(prefix)) {
      rmSync(join(OWNER_DIR, file), { force: true });
    }
  }
  return deleted;
}

// ---------------------------------------------------------------------------------------------------
// Exit handlers

const liveLabs = new Set<Lab>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const signalHandlers = new Map<NodeJS.Signals, () => void>();

function destroyAllSync(): void {
  for (const lab of [...liveLabs]) lab.destroySync();
}

function installHandlers(): void {
  if (signalHandlers.size > 0) return;
  process.on('exit', destroyAllSync);
  for (const signal of SIGNALS) {
    const handler = () => {
      destroyAllSync();
      uninstallHandlers();
      // Let the signal do what it would have done without us (usually: end the process).
      process.kill(process.pid, signal);
    };
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
}

function uninstallHandlers(): void {
  process.off('exit', destroyAllSync);
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  signalHandlers.clear();
}

// ---------------------------------------------------------------------------------------------------
// Processes

class RunningProcess implements LabProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private captured = '';
  private done = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly host: string,
    readonly ns: string,
    readonly argv: readonly string[],
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
    const capture = (chunk: Buffer) => {
      this.captured += chunk.toString('utf8');
      if (this.captured.length > OUTPUT_LIMIT) this.captured = this.captured.slice(-OUTPUT_LIMIT);
      for (const listener of this.listeners) listener();
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.done = true;
        for (const listener of this.listeners) listener();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  running(): boolean {
    return !this.done;
  }

  output(): string {
    return this.captured;
  }

  waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.captured.match(pattern);
        if (match) finish(() => resolve(match));
        else if (this.done) {
          finish(() =>
            reject(new Error(`${this.argv.join(' ')} exited before printing ${pattern}:\n${this.captured}`)),
          );
        }
      };
      const timer = setTimeout(() => {
        finish(() =>
          reject(
            new Error(
              `${this.argv.join(' ')} did not print ${pattern} in ${timeoutMs} ms:\n${this.captured}`,
            ),
          ),
        );
      }, timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A persistent http-probe.mjs inside one namespace. */
class Prober {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, (result: ProbeResult) => void>();

  constructor(readonly proc: LabProcess) {
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        this.answer(line);
      }
    });
    void proc.exited.then(() => {
      for (const [id, resolve] of this.pending) {
        this.pending.delete(id);
        resolve({ ok: false, error: 'probe process exited', ms: 0 });
      }
    });
    this.setRef(false);
  }

  get alive(): boolean {
    return this.proc.running();
  }

  probe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      // A guard in case the probe process hangs: its own timeout should always answer first.
      const guard = setTimeout(
        () => finish({ ok: false, error: 'no answer from probe process', ms: timeoutMs }),
        timeoutMs + 5000,
      );
      const finish = (result: ProbeResult) => {
        clearTimeout(guard);
        if (!this.pending.delete(id)) return;
        if (this.pending.size === 0) this.setRef(false);
        resolve(result);
      };
      this.pending.set(id, finish);
      this.setRef(true);
      this.proc.child.stdin?.write(`${JSON.stringify({ id, host, port, timeoutMs })}\n`);
    });
  }

  private answer(line: string): void {
    let message: ProbeResult & { id?: number };
    try {
      message = JSON.parse(line) as ProbeResult & { id?: number };
    } catch {
      return;
    }
    const { id, ...result } = message;
    if (typeof id === 'number') this.pending.get(id)?.(result);
  }

  /** An idle probe must not keep the test process alive. */
  private setRef(on: boolean): void {
    const child = this.proc.child;
    const handles = [child, child.stdin, child.stdout, child.stderr] as Array<
      { ref?: () => void; unref?: () => void } | null | undefined
    >;
    for (const handle of handles) {
      if (on) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The lab

/** nft script that removes a table whether or not it exists (nft 1.0.6 has no "destroy"). */
function dropTable(family: string, name: string): string {
  return `add table ${family} ${name}\ndelete table ${family} ${name}\n`;
}

export class Lab {
  /** Prefix of every namespace and bridge-port name of this lab, e.g. 'flt3fa2-'. */
  readonly prefix: string;
  readonly switchNs: string;
  readonly bridge: string;
  readonly clientNs: string;
  /** Logical server names, in order. */
  readonly servers: readonly string[];
  /** Every host (servers and "client") by logical name. */
  readonly hosts: ReadonlyMap<string, LabHost>;
  /** The IPv4 /24 and IPv6 /64 of the lab network. */
  readonly subnet: string;
  readonly subnet6: string;

  private readonly namespaces: string[] = [];
  private readonly processes = new Set<LabProcess>();
  /** Process groups of exec() commands still running. */
  private readonly execGroups = new Set<number>();
  private readonly probers = new Map<string, Prober>();
  private destroyed = false;

  /** Use createLab(). */
  constructor(options: LabOptions, prefix: string, subnets: { v4: string; v6: string }) {
    this.prefix = prefix;
    this.switchNs = `${prefix}${SWITCH}`;
    this.clientNs = `${prefix}${CLIENT}`;
    this.bridge = `${prefix}br`;
    this.servers = [...options.servers];
    this.subnet = subnets.v4;
    this.subnet6 = subnets.v6;
    const hosts = new Map<string, LabHost>();
    options.servers.forEach((name, i) => {
      hosts.set(name, {
        name,
        ns: `${prefix}${name}`,
        role: 'server',
        iface: HOST_IFACE,
        ipv4: hostAddress(subnets.v4, i + 1),
        ipv6: hostAddress(subnets.v6, i + 1),
        switchPort: `${prefix}p${i + 1}`,
      });
    });
    hosts.set(CLIENT, {
      name: CLIENT,
      ns: this.clientNs,
      role: 'client',
      iface: HOST_IFACE,
      ipv4: hostAddress(subnets.v4, CLIENT_OCTET),
      ipv6: hostAddress(subnets.v6, CLIENT_OCTET),
      switchPort: `${prefix}pc`,
    });
    this.hosts = hosts;
  }

  /** Every namespace of the lab: switch, servers, client. */
  get namespaceNames(): string[] {
    return [this.switchNs, ...[...this.hosts.values()].map((host) => host.ns)];
  }

  /** The i-th test virtual IPv4 address (.100 + i), inside the lab subnet and outside the hosts' addresses. */
  vip(i = 0): string {
    return hostAddress(this.subnet, VIP_OCTET + i);
  }

  /** The i-th test virtual IPv6 address (::100 + i). */
  vip6(i = 0): string {
    return hostAddress(this.subnet6, VIP_OCTET + i);
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host)
      throw new Error(`unknown host ${JSON.stringify(name)} (hosts: ${[...this.hosts.keys()].join(', ')})`);
    return host;
  }

  /** Namespace of a host name ("client", a server name, "switch"), or a namespace name of this lab. */
  ns(target: string): string {
    if (target === SWITCH) return this.switchNs;
    const host = this.hosts.get(target);
    if (host) return host.ns;
    if (this.namespaceNames.includes(target)) return target;
    throw new Error(`unknown host or namespace ${JSON.stringify(target)}`);
  }

  private hostName(target: string): string {
    const ns = this.ns(target);
    return [...this.hosts.values()].find((host) => host.ns === ns)?.name ?? SWITCH;
  }

  // --- set-up (called by createLab) -----------------------------------------------------------------

  /** Builds the namespaces, bridge, veth pairs and addresses. */
  build(): void {
    this.addNamespace(this.switchNs);
    const sw = ['ip', '-n', this.switchNs];
    mustSync([...sw, 'link', 'set', 'lo', 'up']);
    // No STP (ports forward at once) and no multicast snooping (IPv6 neighbour discovery is always flooded).
    mustSync([...sw, 'link', 'add', this.bridge, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0']);
    mustSync([...sw, 'link', 'set', this.bridge, 'up']);
    // Where br_netfilter is loaded, keep bridged frames out of the switch's (empty) netfilter hooks.
    for (const key of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables', 'bridge-nf-call-arptables']) {
      this.writeSysctl(this.switchNs, `/proc/sys/net/bridge/${key}`, '0', true);
    }
    for (const host of this.hosts.values()) {
      this.addNamespace(host.ns);
      const h = ['ip', '-n', host.ns];
      mustSync([...h, 'link', 'set', 'lo', 'up']);
      // IPv6 addresses survive `link set eth0 down` (linkDown(..., 'host')), like IPv4 ones.
      this.writeSysctl(host.ns, '/proc/sys/net/ipv6/conf/all/keep_addr_on_down', '1');
      this.writeSysctl(host.ns, '/proc/sys/net/ipv6/conf/default/keep_addr_on_down', '1');
      // The veth pair is created inside the switch namespace and its peer goes straight into the host
      // namespace: no interface ever exists in the root namespace.
      mustSync([
        ...sw,
        'link',
        'add',
        host.switchPort,
        'type',
        'veth',
        'peer',
        'name',
        host.iface,
        'netns',
        host.ns,
      ]);
      mustSync([...sw, 'link', 'set', host.switchPort, 'master', this.bridge]);
      mustSync([...sw, 'link', 'set', host.switchPort, 'up']);
      mustSync([...h, 'addr', 'add', `${host.ipv4}/24`, 'dev', host.iface]);
      // nodad: usable at once instead of tentative for a second.
      mustSync([...h, 'addr', 'add', `${host.ipv6}/64`, 'dev', host.iface, 'nodad']);
      mustSync([...h, 'link', 'set', host.iface, 'up']);
    }
  }

  private addNamespace(ns: string): void {
    this.namespaces.push(ns);
    mustSync(['ip', 'netns', 'add', ns]);
  }

  private writeSysctl(ns: string, path: string, value: string, optional = false): void {
    // tee runs inside the namespace, where /proc/sys/net shows that namespace's settings.
    const result = runSync(['ip', 'netns', 'exec', ns, 'tee', path], `${value}\n`);
    if (result.status !== 0 && !optional)
      throw new Error(`cannot set ${path} in ${ns}: ${result.stderr.trim()}`);
  }

  // --- commands -------------------------------------------------------------------------------------

  /**
   * Runs argv inside a namespace (`ip netns exec NS ...`, no shell) and collects its output. The
   * command gets its own process group, killed whole on timeout (default 30 s) or destroy().
   */
  exec(target: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    const ns = this.ns(target);
    const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const pid = child.pid;
      if (pid !== undefined) this.execGroups.add(pid);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (stdout.length < OUTPUT_LIMIT) stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < OUTPUT_LIMIT) stderr += chunk.toString('utf8');
      });
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid, 'SIGKILL');
      }, timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        if (pid !== undefined) this.execGroups.delete(pid);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (pid !== undefined) this.execGroups.delete(pid);
        const result: ExecResult = { code, signal, stdout, stderr, timedOut };
        if (options.check && code !== 0) {
          const why = timedOut ? `timed out after ${timeoutMs} ms` : `exit ${code ?? signal}`;
          reject(new Error(`in ${ns}: ${argv.join(' ')}: ${why}\n${stderr}`));
        } else resolve(result);
      });
      child.stdin.on('error', () => {
        // the command may exit without reading its input
      });
      child.stdin.end(options.input ?? '');
    });
  }

  /**
   * Starts a long-running process inside a namespace, detached in its own process group (its pid is
   * the group id), so that kill() reaches its children too. destroy() kills it if still running.
   */
  spawn(target: string, argv: string[], options: SpawnOptions = {}): LabProcess {
    this.assertLive();
    const ns = this.ns(target);
    const stdio = options.stdio ?? 'pipe';
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: [options.stdin ? 'pipe' : 'ignore', stdio, stdio],
    });
    child.on('error', () => {
      // reported through exited / running()
    });
    const proc = new RunningProcess(this.hostName(target), ns, argv, child);
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Sends a signal (default SIGTERM) to the process's whole group. */
  kill(proc: LabProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
    if (proc.running()) killGroup(proc.pid, signal);
  }

  /** SIGTERM, then SIGKILL after graceMs (default 2 s); resolves once the process has exited. */
  async stop(proc: LabProcess, graceMs = 2000): Promise<void> {
    if (!proc.running()) return;
    this.kill(proc, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  // --- failures -------------------------------------------------------------------------------------

  /**
   * Isolates a host: nftables rules inside its namespace drop every IPv4/IPv6 packet in and out
   * except on loopback, and ARP too. heal() removes them.
   */
  async cutOff(server: string): Promise<void> {
    const rules =
      dropTable('inet', 'flip_cut') +
      dropTable('arp', 'flip_cut') +
      'table inet flip_cut {\n' +
      '  chain input { type filter hook input priority -200; policy drop; iif "lo" accept; }\n' +
      '  chain output { type filter hook output priority -200; policy drop; oif "lo" accept; }\n' +
      '}\n' +
      'table arp flip_cut {\n' +
      '  chain input { type filter hook input priority -200; policy drop; }\n' +
      '  chain output { type filter hook output priority -200; policy drop; }\n' +
      '}\n';
    await this.nft(server, rules);
  }

  /** Undoes cutOff() (and only that). */
  async heal(server: string): Promise<void> {
    await this.nft(server, dropTable('inet', 'flip_cut') + dropTable('arp', 'flip_cut'));
  }

  /**
   * Takes a host's link down: side 'switch' (default) downs its bridge port, like a pulled cable (the
   * host sees no carrier); side 'host' downs its own eth0.
   */
  async linkDown(server: string, side: 'switch' | 'host' = 'switch'): Promise<void> {
    await this.setLink(server, side, 'down');
  }

  async linkUp(server: string, side: 'switch' | 'host' = 'switch'): Promise<void> {
    await this.setLink(server, side, 'up');
  }

  private async setLink(name: string, side: 'switch' | 'host', state: 'up' | 'down'): Promise<void> {
    const host = this.host(name);
    const ns = side === 'switch' ? this.switchNs : host.ns;
    const dev = side === 'switch' ? host.switchPort : host.iface;
    await this.exec(ns, ['ip', 'link', 'set', 'dev', dev, state], { check: true });
  }

  /**
   * Splits the network: each host listed in a group drops IPv4/IPv6 traffic to and from the addresses
   * of the hosts in the other groups (rules inside its own namespace). Hosts may be servers or
   * "client"; a host in no group keeps talking to everyone. ARP is not blocked. Replaces any earlier
   * partition; healAll() removes it.
   */
  async partition(groups: string[][]): Promise<void> {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const name of group) {
        this.host(name);
        if (groupOf.has(name)) throw new Error(`host ${name} is in more than one group`);
        groupOf.set(name, index);
      }
    });
    await Promise.all(
      [...this.hosts.values()].map(async (host) => {
        let rules = dropTable('inet', 'flip_part');
        const group = groupOf.get(host.name);
        if (group !== undefined) {
          const others = [...groupOf].filter(([, g]) => g !== group).map(([name]) => this.host(name));
          if (others.length > 0) {
            const v4 = others.map((other) => other.ipv4).join(', ');
            const v6 = others.map((other) => other.ipv6).join(', ');
            rules +=
              'table inet flip_part {\n' +
              `  chain input { type filter hook input priority -150; policy accept; ip saddr { ${v4} } drop; ip6 saddr { ${v6} } drop; }\n` +
              `  chain output { type filter hook output priority -150; policy accept; ip daddr { ${v4} } drop; ip6 daddr { ${v6} } drop; }\n` +
              '}\n';
          }
        }
        await this.nft(host.name, rules);
      }),
    );
  }

  /** Removes every cutOff() and partition() rule and brings every link up again (both sides). */
  async healAll(): Promise<void> {
    const clear =
      dropTable('inet', 'flip_cut') + dropTable('arp', 'flip_cut') + dropTable('inet', 'flip_part');
    await Promise.all(
      [...this.hosts.values()].map(async (host) => {
        await this.nft(host.name, clear);
        await this.setLink(host.name, 'switch', 'up');
        await this.setLink(host.name, 'host', 'up');
      }),
    );
  }

  private async nft(target: string, script: string): Promise<void> {
    await this.exec(target, ['nft', '-f', '-'], { input: script, check: true });
  }

  // --- observation ----------------------------------------------------------------------------------

  /** Addresses (IPv4 and IPv6, canonical) on a host's interfaces. */
  async addresses(target: string): Promise<string[]> {
    const result = await this.exec(target, ['ip', '-j', 'addr', 'show'], { check: true });
    const links = parseJson<Array<{ addr_info?: Array<{ local?: string }> }>>(result.stdout, []);
    return links.flatMap((link) => (link.addr_info ?? []).map((info) => info.local ?? '')).filter(Boolean);
  }

  /** The servers (logical names, in lab order) whose interfaces hold the address now. */
  async holders(address: string): Promise<string[]> {
    const wanted = canonicalIp(address);
    const held = await Promise.all(
      this.servers.map(async (name) =>
        (await this.addresses(name)).some((local) => canonicalIp(local) === wanted),
      ),
    );
    return this.servers.filter((_, i) => held[i]);
  }

  /** MAC address of a host's eth0. */
  async mac(target: string): Promise<string> {
    const host = this.host(this.hostName(target));
    const result = await this.exec(host.ns, ['ip', '-j', 'link', 'show', 'dev', host.iface], { check: true });
    const address = parseJson<Array<{ address?: string }>>(result.stdout, [])[0]?.address;
    if (!address) throw new Error(`no MAC address for ${host.iface} in ${host.ns}`);
    return address;
  }

  /** The host's neighbour-table (ARP / NDP) entry for an address on eth0, or null. */
  async neighbour(target: string, address: string): Promise<NeighbourEntry | null> {
    const host = this.host(this.hostName(target));
    const result = await this.exec(
      host.ns,
      ['ip', '-j', 'neigh', 'show', canonicalIp(address), 'dev', host.iface],
      {
        check: true,
      },
    );
    return parseJson<NeighbourEntry[]>(result.stdout, [])[0] ?? null;
  }

  // --- HTTP -----------------------------------------------------------------------------------------

  /**
   * Starts http-server.mjs in a namespace: it answers every request on port `port` (default 8080),
   * any address of the namespace, with `name` (default: the host's name). Resolves once it listens.
   */
  async startHttpServer(target: string, name?: string, port = HTTP_PORT): Promise<LabProcess> {
    const proc = this.spawn(target, [
      process.execPath,
      HTTP_SERVER_SCRIPT,
      name ?? this.hostName(target),
      String(port),
    ]);
    try {
      await proc.waitForOutput(/^listening /m, 10_000);
    } catch (error) {
      await this.stop(proc);
      throw error;
    }
    return proc;
  }

  /** One HTTP GET from a namespace, on a new connection, with the details. */
  async httpProbe(
    from: string,
    address: string,
    { timeoutMs = 1000, port = HTTP_PORT } = {},
  ): Promise<ProbeResult> {
    this.assertLive();
    const ns = this.ns(from);
    let prober = this.probers.get(ns);
    if (!prober?.alive) {
      prober = new Prober(this.spawn(from, [process.execPath, HTTP_PROBE_SCRIPT], { stdin: true }));
      this.probers.set(ns, prober);
    }
    return prober.probe(address, port, timeoutMs);
  }

  /** HTTP GET from a namespace: the answer's body (the answering server's name), or null on any failure. */
  async httpGet(from: string, address: string, timeoutMs = 1000, port = HTTP_PORT): Promise<string | null> {
    const result = await this.httpProbe(from, address, { timeoutMs, port });
    return result.ok && result.status === 200 ? (result.body ?? null) : null;
  }

  /** HTTP GET from the client namespace to address:8080: the answering server's name, or null. */
  clientGet(address: string, timeoutMs = 1000): Promise<string | null> {
    return this.httpGet(CLIENT, address, timeoutMs);
  }

  // --- tear-down ------------------------------------------------------------------------------------

  /** Kills every process the lab started and deletes every namespace it made. Idempotent. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  /** destroy(), synchronously (what the exit handlers run). */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const proc of this.processes) killGroup(proc.pid, 'SIGKILL');
    for (const pid of this.execGroups) killGroup(pid, 'SIGKILL');
    this.processes.clear();
    this.execGroups.clear();
    this.probers.clear();
    // Hosts first, the switch (which holds the bridge) last.
    for (const ns of [...this.namespaces].reverse()) deleteNamespace(ns);
    rmSync(ownerFile(this.prefix), { force: true });
    liveLabs.delete(this);
    if (liveLabs.size === 0) uninstallHandlers();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`lab ${this.prefix} has been destroyed`);
  }

  /** @internal */
  register(): void {
    liveLabs.add(this);
    installHandlers();
  }
}

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

function newPrefix(): string {
  const taken = new Set(listNamespaces().map((ns) => NAME_SCHEME.exec(ns)?.[0]));
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = `flt${randomBytes(2).toString('hex')}-`;
    if (!taken.has(prefix) && !ownerAlive(prefix)) return prefix;
  }
  throw new Error('could not find a free lab prefix');
}

/**
 * Builds a lab: a switch namespace with a bridge, one namespace per server and a client namespace,
 * all on one LAN. Throws (after cleaning up what it made) when namespaces cannot be used here.
 */
export async function createLab(options: LabOptions): Promise<Lab> {
  requireNetns(['ip', 'nft']);
  const { servers } = options;
  if (servers.length === 0 || servers.length > MAX_SERVERS)
    throw new Error(`a lab has 1 to ${MAX_SERVERS} servers`);
  for (const name of servers) {
    if (!SERVER_NAME.test(name) || name === CLIENT || name === SWITCH) {
      throw new Error(
        `bad server name ${JSON.stringify(name)}: letters, digits, _ and -, not "client" or "switch"`,
      );
    }
  }
  if (new Set(servers).size !== servers.length) throw new Error('server names must be unique');
  if (options.prefix !== undefined && !(NAME_SCHEME.test(options.prefix) && options.prefix.length === 8)) {
    throw new Error(`prefix must look like "flt1a2b-", got ${JSON.stringify(options.prefix)}`);
  }
  cleanupLeftovers();
  const subnets = chooseSubnets(options);
  const prefix = options.prefix ?? newPrefix();
  // The owner file comes first, so that a concurrent cleanupLeftovers() never takes this lab for a leftover.
  writeOwner(prefix);
  const lab = new Lab(options, prefix, subnets);
  lab.register();
  try {
    lab.build();
  } catch (error) {
    lab.destroySync();
    throw error;
  }
  return lab;
}
