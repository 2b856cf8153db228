/** `flip plan FILE [--down ID,...] [--json]`: where every item lives when some servers are down. */
import { loadClusterConfig } from '../../config/index.js';
import { placeAll } from '../../placement/index.js';
import { renderPlanTable } from '../../placement/plan-table.js';
import { listSome, quote } from '../../text/quote.js';
import { CliError } from '../exit-codes.js';

export interface PlanOptions {
  /** Ids of the servers that are down, from every `--down` given. */
  down?: readonly string[];
  json?: boolean;
}

export function plan(file: string, options: PlanOptions, out: (text: string) => void): void {
  // Placement needs no server of its own: a file shared by the whole cluster plans as well.
  const config = loadClusterConfig(file);
  const ids = new Set(config.servers.map((server) => server.id));
  const down = new Set(options.down ?? []);
  const unknown = [...down].filter((id) => !ids.has(id));
  if (unknown.length > 0) {
    const plural = unknown.length === 1 ? 'id' : 'ids';
    throw new CliError(
      `--down: unknown server ${plural} ${listSome(unknown, 5, (id) => quote(id))}; servers are: ${listSome(config.servers_as_written)}`,
    );
  }
  const live = new Set([...ids].filter((id) => !down.has(id)));
  const placements = placeAll(config.systems, live);

  if (options.json) {
    const systems: Record<string, Record<string, string[]>> = {};
    for (const [name, placement] of placements) {
      systems[name] = Object.fromEntries(
        config.servers_as_written.map((id) => [id, placement.holdings.get(id) ?? []]),
      );
    }
    out(JSON.stringify({ systems }, null, 2));
    return;
  }
  const multiple = placements.size > 1;
  for (const system of config.systems) {
    const placement = placements.get(system.name)!;
    if (multiple) out(`${system.name} (${system.type})`);
    out(renderPlanTable(config, placement, down));
    if (placement.unplaced.length > 0) out(`unplaced (no live member): ${placement.unplaced.join(' ')}`);
    if (multiple) out('');
  }
}
