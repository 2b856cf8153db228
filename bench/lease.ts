/**
 * bench:lease — what keeping leases costs: vip-lease renewing 10 addresses through LeaseKeeper (the
 * agent's adapter), in a network namespace, at 4 and then 10 rounds a second, 30 s each. Prints the
 * CPU time of the keeper and its children (the ip coprocess, the awk that reads requests, and any ip
 * it restarted), from /proc/PID/stat utime+stime (and cutime+cstime for children it reaped), as a
 * share of one core; and this process's own CPU (the adapter, plus the benchmark's timers).
 *
 * Needs root. Figures, not a test. Run: npm run bench:lease
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressOnStderr } from '../src/cli/progress.js';
import { LeaseKeeper, type LeaseKeeperEvent, type RenewResult } from '../src/executor/lease-keeper.js';
import { createLab, type Lab, requireNetns } from '../src/testing/netns/harness.js';
import { childPids, cpuTicks, leaseWrapper, processName } from '../src/testing/netns/lease-lab.js';
import { sleep } from '../src/testing/wait.js';

const ADDRESSES = 10;
const SECONDS = Number(process.env.FLIP_BENCH_SECONDS ?? 30);
const RATES = [4, 10];
/** How far ahead each renewal's deadline is, as an agent might set it. */
const DEADLINE_AHEAD_MS = 500;
const TICKS_PER_S = 100;

interface Window {
  rate: number;
  seconds: number;
  rounds: number;
  outcomes: Record<string, number>;
  keeper_ticks: number;
  by_process: Map<string, number>;
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

async function measure(keeper: LeaseKeeper, items: string[], rate: number): Promise<Window> {
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
    rate,
    seconds,
    rounds,
    outcomes,
    keeper_ticks,
    by_process,
    adapter_ms: (cpu.user + cpu.system) / 1000,
  };
}

const percent = (ticks: number, seconds: number) => ((ticks / TICKS_PER_S / seconds) * 100).toFixed(2);

async function main(): Promise<void> {
  requireNetns(['ip', 'nft', 'awk']);
  const dir = mkdtempSync(join(tmpdir(), 'flip-bench-lease-'));
  let lab: Lab | undefined;
  let keeper: LeaseKeeper | undefined;
  try {
    lab = await createLab({ servers: ['s1'] });
    const events: LeaseKeeperEvent[] = [];
    keeper = new LeaseKeeper(
      {
        program: leaseWrapper(dir, lab.host('s1').ns),
        config_json: JSON.stringify({ interface: 'eth0', prefix: 32, arp_count: 0 }),
        system: 'vip',
        node: 's1',
      },
      { onEvent: (event) => events.push(event) },
    );
    const items = Array.from({ length: ADDRESSES }, (_, i) => lab!.vip(i));
    // Started before the addresses exist, so that the first renewal is not late.
    keeper.start();
    await keeper.renew(['192.0.2.1'], performance.now() + 5000);
    for (const item of items) {
      await lab.exec(
        's1',
        ['ip', 'address', 'add', `${item}/32`, 'dev', 'eth0', 'valid_lft', '1', 'preferred_lft', '1'],
        {
          check: true,
        },
      );
      await keeper.renew(items, performance.now() + DEADLINE_AHEAD_MS);
    }
    const windows: Window[] = [];
    // One redraw per rate: the line costs nothing next to the CPU this process measures.
    const progress = progressOnStderr();
    progress.begin('bench:lease', RATES.length, 'rates');
    for (const rate of RATES) {
      windows.push(await measure(keeper, items, rate));
      progress.update(windows.length, 0);
    }
    progress.end();

    const cpu = cpus();
    console.log(
      `# bench:lease — ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ` +
        `Linux ${release()}, ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}`,
    );
    console.log(
      `${ADDRESSES} addresses renewed through LeaseKeeper and vip-lease, ${SECONDS} s per rate, ` +
        `CPU from /proc/PID/stat (ticks of 10 ms):\n`,
    );
    console.log(
      '| rounds/s | renewals answered | keeper + children, % of a core | ms per round | adapter (this process), % of a core |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    for (const w of windows) {
      const answered = Object.entries(w.outcomes)
        .map(([key, n]) => `${n} ${key}`)
        .join(', ');
      console.log(
        `| ${w.rate} | ${answered} | ${percent(w.keeper_ticks, w.seconds)} | ` +
          `${((w.keeper_ticks * 10) / w.rounds).toFixed(2)} | ${((w.adapter_ms / 1000 / w.seconds) * 100).toFixed(2)} |`,
      );
    }
    for (const w of windows) {
      const parts = [...w.by_process].map(([name, ticks]) => `${name}: ${percent(ticks, w.seconds)}%`);
      console.log(`\n${w.rate} rounds/s by process: ${parts.join(', ')}`);
    }
    const notable = events.filter((event) => event.type !== 'started' && event.type !== 'stderr');
    if (notable.length > 0) console.log(`\nkeeper events: ${JSON.stringify(notable)}`);
  } finally {
    await keeper?.stop();
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
