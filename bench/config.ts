/**
 * bench:config — how long `flip config check` takes, and how much memory it needs, on large
 * configs: a 1000-server, 10,000-item cluster (the size flip is meant to handle, target under
 * a second), one at the item bound, and files over the bounds, which must be refused fast.
 * Each file is checked by the real command, in a process of its own, so start-up is counted.
 * Figures, not a test. Usage: npm run bench:config
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progressOnStderr } from '../src/cli/progress.js';
import { CONFIG_FILE_BYTES_MAX, ITEM_COUNT_MAX } from '../src/config/limits.js';
import { percentile } from '../src/stats/percentile.js';

const BIN = fileURLToPath(new URL('../bin/flip.js', import.meta.url));
const TRIALS = 5;
/** Checks done of all cases, on a terminal (stderr). */
const progress = progressOnStderr();
let checksDone = 0;

function cluster(servers: number, items: number, systems: number): string {
  const serverEntries: Record<string, unknown> = {};
  for (let i = 0; i < servers; i++) {
    serverEntries[`s${i}`] = {
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 2200,
      priority: i % 7,
      systems: [`sys${i % systems}`],
    };
  }
  const system: Record<string, unknown> = {};
  for (let s = 0; s < systems; s++) {
    const data: string[] = [];
    for (let i = s; i < items; i += systems) data.push(`192.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    system[`sys${s}`] = { alive: '/bin/true', down: '/bin/true', type: 'shard', data };
  }
  return JSON.stringify({ id: 's0', key: 'secret', servers: serverEntries, cluster: { system } }, null, 1);
}

interface Row {
  name: string;
  bytes: number;
  status: number | null;
  ms: number[];
  rss_mb: number;
  says: string;
}

function measure(name: string, file: string): Row {
  const ms: number[] = [];
  let status: number | null = null;
  let rss_kb = 0;
  let says = '';
  for (let trial = 0; trial < TRIALS; trial++) {
    const started = performance.now();
    // /usr/bin/time is not on every machine; the child reports its own peak RSS instead.
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'data:text/javascript,process.on("exit",()=>process.stderr.write("\\nrss_kb="+process.resourceUsage().maxRSS))',
        BIN,
        'config',
        'check',
        file,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    ms.push(performance.now() - started);
    progress.update(++checksDone, 0);
    status = result.status;
    rss_kb = Math.max(rss_kb, Number(/rss_kb=(\d+)/.exec(result.stderr)?.[1] ?? 0));
    says =
      (result.status === 0 ? result.stdout : result.stderr).split('\n')[result.status === 0 ? 0 : 1] ?? '';
  }
  return { name, bytes: statSync(file).size, status, ms, rss_mb: rss_kb / 1024, says };
}

const dir = mkdtempSync(join(tmpdir(), 'flip-bench-config-'));
try {
  const cases: [string, string][] = [
    ['3 servers, 2 items (the README)', fileURLToPath(new URL('../examples/readme.json', import.meta.url))],
  ];
  const write = (name: string, text: string) => {
    const file = join(dir, `${cases.length}.json`);
    writeFileSync(file, text);
    cases.push([name, file]);
  };
  write('1000 servers, 10,000 items, 10 systems', cluster(1000, 10_000, 10));
  write(
    `1000 servers, ${ITEM_COUNT_MAX.toLocaleString('en-US')} items (the item bound)`,
    cluster(1000, ITEM_COUNT_MAX, 10),
  );
  write('1000 servers, 1 item more than the bound', cluster(1000, ITEM_COUNT_MAX + 1, 10));
  const huge = join(dir, 'huge.json');
  writeFileSync(
    huge,
    cluster(10, 0, 1).replace('"data": []', `"data": [${'"x",'.repeat(CONFIG_FILE_BYTES_MAX / 4)}"y"]`),
  );
  cases.push(['a file over the size bound', huge]);

  console.log(
    `bench:config, node ${process.version}, ${TRIALS} trials each, whole command (process start included)`,
  );
  console.log('');
  console.log('| config | file | exit | p50 ms | max ms | peak RSS MB | says |');
  console.log('|---|---|---|---|---|---|---|');
  progress.begin('bench:config', cases.length * TRIALS, 'checks');
  for (const [name, file] of cases) {
    const row = measure(name, file);
    progress.above(() =>
      console.log(
        `| ${row.name} | ${(row.bytes / 1024).toFixed(0)} KiB | ${row.status} | ${percentile(row.ms, 50).toFixed(0)} | ${percentile(row.ms, 100).toFixed(0)} | ${row.rss_mb.toFixed(0)} | ${row.says.slice(0, 90)} |`,
      ),
    );
  }
  progress.end();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
