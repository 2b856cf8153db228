/**
 * bench:state — what saving the cluster state costs: the time of one save (encode, write, fsync,
 * rename, fsync of the directory), awaited one after another, as a distribution over SAVES saves;
 * the time of one load; and how saves asked for all at once coalesce. Two sizes: the README's
 * three-server cluster with a short log, and a large one (100 servers, 1000 items, 200 entries).
 *
 * The files go to a temporary directory under FLIP_BENCH_DIR (default: the system's temporary
 * directory); its file system is printed, since fsync on tmpfs costs nothing and proves nothing.
 * Figures, not a test. Run: npm run bench:state
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ClusterState, type ConfigDocument, clusterStateFile } from '../src/state/cluster-state.js';
import { encodeState } from '../src/state/envelope.js';
import { percentile } from '../src/stats/percentile.js';

const SAVES = Number(process.env.FLIP_BENCH_SAVES ?? 200);
const LOADS = 50;
/** Saves asked for at once, without waiting, in the coalescing run. */
const BURST = 200;

function config(servers: number, items: number, systems: number): ConfigDocument {
  const entries: Record<string, unknown> = {};
  for (let i = 0; i < servers; i++)
    entries[`flip${i + 1}`] = { ip: `10.0.${i >> 8}.${i & 255}`, port: 2201, systems: [`sys${i % systems}`] };
  const system: Record<string, unknown> = {};
  for (let s = 0; s < systems; s++) {
    const data: string[] = [];
    for (let i = s; i < items; i += systems) data.push(`192.168.${i >> 8}.${i & 255}`);
    system[`sys${s}`] = {
      alive: '/usr/lib/flip/vip-up',
      down: '/usr/lib/flip/vip-down',
      type: 'shard',
      data,
    };
  }
  return { key: 'secret', servers: entries, cluster: { system } };
}

function state(servers: number, items: number, systems: number, entries: number): ClusterState {
  const committed = config(servers, items, systems);
  return {
    server: 'flip1',
    current_term: 12,
    voted_for: 'flip2',
    committed: { version: 40, index: 100, term: 11, config: committed },
    log: Array.from({ length: entries }, (_, i) => ({
      index: 101 + i,
      term: 12,
      change: { kind: 'data-add', system: 'sys0', items: [`10.99.${i >> 8}.${i & 255}`] },
    })),
    file_base: committed,
  };
}

/** The file system type of `path`, from the longest mount point above it in /proc/mounts. */
function fileSystemOf(path: string): string {
  try {
    let best = { point: '', type: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, point, type] = line.split(' ');
      if (point === undefined || type === undefined) continue;
      const under = path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
      if (under && point.length > best.point.length) best = { point, type };
    }
    return `${best.type} (mounted on ${best.point})`;
  } catch {
    return 'unknown (no /proc/mounts)';
  }
}

const ms = (value: number) => value.toFixed(2);

async function measure(name: string, dir: string, doc: ClusterState): Promise<string> {
  const file = clusterStateFile(join(dir, name.replace(/[^a-z0-9]+/g, '-')));
  const bytes = encodeState('cluster-state', doc).length;
  await file.save(doc); // The directory is made by the first save, which is not counted.
  const encode: number[] = [];
  const saves: number[] = [];
  for (let i = 0; i < SAVES; i++) {
    doc.current_term += 1;
    let started = performance.now();
    encodeState('cluster-state', doc);
    encode.push(performance.now() - started);
    started = performance.now();
    await file.save(doc);
    saves.push(performance.now() - started);
  }
  const loads: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const started = performance.now();
    const load = await file.load();
    loads.push(performance.now() - started);
    if (load.kind !== 'ok') throw new Error(`bench: the state did not load back: ${JSON.stringify(load)}`);
  }
  const writes_before = file.writes;
  const started = performance.now();
  const burst: Promise<void>[] = [];
  for (let i = 0; i < BURST; i++) {
    doc.current_term += 1;
    burst.push(file.save(doc));
  }
  await Promise.all(burst);
  const burst_ms = performance.now() - started;
  const writes = file.writes - writes_before;
  return `| ${name} | ${bytes.toLocaleString('en-US')} | ${ms(percentile(saves, 50))} | ${ms(percentile(saves, 90))} | ${ms(percentile(saves, 99))} | ${ms(percentile(saves, 100))} | ${ms(percentile(encode, 50))} | ${ms(percentile(loads, 50))} | ${writes} writes, ${ms(burst_ms)} ms |`;
}

async function main(): Promise<void> {
  const base = resolve(process.env.FLIP_BENCH_DIR ?? tmpdir());
  const dir = mkdtempSync(join(base, 'flip-bench-state-'));
  try {
    console.log(`Run of bench:state — ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
    console.log(
      `directory ${dir}, file system ${fileSystemOf(dir)}, load average ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(
      `${SAVES} saves one after another (each awaited), ${LOADS} loads, then ${BURST} saves asked for at once\n`,
    );
    console.log(
      '| state | bytes | save p50 ms | p90 | p99 | max | encode p50 ms | load p50 ms | burst of 200 saves |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    console.log(await measure('3 servers, 2 items, 10 entries', dir, state(3, 2, 1, 10)));
    console.log(await measure('100 servers, 1000 items, 200 entries', dir, state(100, 1000, 10, 200)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
