/**
 * `flip demo`: the README's story on one machine, for real. Three agents (or the servers of
 * any config) run as separate processes on 127.0.0.1 with scripts that only record; the demo
 * shows who holds what, kills one agent with SIGKILL, shows the failover, restarts it, shows
 * the data return, and stops everything. It fails (exit 1) if the failover did not happen.
 */
import { fileURLToPath } from 'node:url';
import { placeAll } from '../placement/index.js';
import { renderPlanTable } from '../placement/plan-table.js';
import { LoopbackCluster } from './loopback-cluster.js';

export const README_EXAMPLE = fileURLToPath(new URL('../../examples/readme.json', import.meta.url));

export interface DemoOptions {
  config?: string;
  out: (text: string) => void;
  /** How often the live table is checked (ms). */
  poll_ms?: number;
}

const POLL_MS = 100;

export async function runDemo(options: DemoOptions): Promise<boolean> {
  const out = options.out;
  const cluster = await LoopbackCluster.create({ configFile: options.config ?? README_EXAMPLE });
  const onExit = () => cluster.killAllSync();
  process.once('exit', onExit);
  const interrupted = new Promise<'interrupted'>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve('interrupted'));
  });
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const config = cluster.config;
  const ids = cluster.ids;
  const gone = new Set<string>();
  let lastShown = '';

  const table = () => {
    const holdings = cluster.holdings(gone);
    return config.systems
      .map((system) => {
        const text = renderPlanTable(config, { holdings: holdings.get(system.name)!, unplaced: [] }, gone);
        return config.systems.length > 1 ? `${system.name} (${system.type})\n${text}` : text;
      })
      .join('\n\n');
  };
  const expected = () => {
    const live = new Set(ids.filter((id) => !gone.has(id)));
    return config.systems
      .map((system) => {
        const placement = placeAll([system], live).get(system.name)!;
        const text = renderPlanTable(config, placement, gone);
        return config.systems.length > 1 ? `${system.name} (${system.type})\n${text}` : text;
      })
      .join('\n\n');
  };
  const show = (force = false) => {
    const text = table();
    if (!force && text === lastShown) return;
    lastShown = text;
    out(`[${elapsed()}] who holds what:`);
    out(text.replace(/^/gm, '    '));
  };
  /** Shows the table as it changes until it equals placement's answer, or the time is up. */
  const until = async (what: string, timeout_ms: number): Promise<boolean> => {
    const deadline = performance.now() + timeout_ms;
    const want = expected();
    for (;;) {
      show();
      if (table() === want) {
        out(`[${elapsed()}] ok: ${what}`);
        return true;
      }
      if (performance.now() > deadline) {
        out(`[${elapsed()}] FAILED: ${what} did not happen within ${timeout_ms} ms; expected:`);
        out(want.replace(/^/gm, '    '));
        return false;
      }
      const tick = new Promise((resolve) => setTimeout(resolve, options.poll_ms ?? POLL_MS));
      if ((await Promise.race([tick, interrupted])) === 'interrupted') {
        out('interrupted');
        return false;
      }
    }
  };

  // The server to fail: the first member server that holds something when all are up.
  const allUp = placeAll(config.systems, new Set(ids));
  const victim =
    ids.find(
      (id) => id === 'flip1' && [...allUp.values()].some((p) => (p.holdings.get(id) ?? []).length > 0),
    ) ??
    ids.find((id) => [...allUp.values()].some((p) => (p.holdings.get(id) ?? []).length > 0)) ??
    ids[0]!;
  const detectBudget = 10 * (config.gossip_interval_ms + config.ping_timeout_ms) + 5_000;

  let ok = false;
  try {
    out(`flip demo: ${ids.length} agents on 127.0.0.1 (${ids.join(', ')}), quorum ${config.quorum}`);
    out(`scripts only record, to ${cluster.recordLog}; agent logs in ${cluster.dir}`);
    for (const id of ids) cluster.start(id);
    if (!(await until('all agents up, data divided as placement says', 30_000))) return false;

    out(`[${elapsed()}] kill -9 ${victim}`);
    cluster.signal(victim, 'SIGKILL');
    await cluster.waitExit(victim);
    gone.add(victim);
    show(true);
    const killedAt = performance.now();
    if (!(await until(`the survivors agreed ${victim} is down and took its data`, detectBudget)))
      return false;
    out(
      `[${elapsed()}] failover took ${((performance.now() - killedAt) / 1000).toFixed(2)} s after the kill`,
    );

    out(`[${elapsed()}] restart ${victim}`);
    cluster.start(victim);
    gone.delete(victim);
    if (!(await until(`${victim} is back and its data went home`, detectBudget))) return false;
    ok = true;
    return true;
  } finally {
    out(`[${elapsed()}] stopping every agent`);
    await cluster.close(5_000, !ok);
    process.off('exit', onExit);
    if (!ok) out(`logs kept in ${cluster.dir}`);
    out(ok ? 'demo finished: failover and return shown' : 'demo FAILED');
  }
}
