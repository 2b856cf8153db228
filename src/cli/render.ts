/** Text renderings shared by the commands: the README's plan tables and config summaries. */
import { formatEndpoint } from '../config/address.js';
import type { FlipConfig } from '../config/index.js';
import type { Placement } from '../placement/index.js';

/**
 * One column a server, in the order the config file lists them, one row per item a server
 * holds, as in the original README. A down server shows `x` in its first row; arbiters and
 * servers holding nothing show an empty column.
 */
export function renderPlanTable(config: FlipConfig, placement: Placement, down: ReadonlySet<string>): string {
  const columns = config.servers_as_written.map((id) => {
    const items = placement.holdings.get(id) ?? [];
    return { id, cells: down.has(id) ? ['x', ...items] : items };
  });
  const rows = Math.max(0, ...columns.map((column) => column.cells.length));
  const widths = columns.map((column) =>
    Math.max(column.id.length, ...column.cells.map((cell) => cell.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]! + 2)))
      .join('')
      .trimEnd();
  const out = [line(columns.map((column) => column.id))];
  for (let row = 0; row < rows; row++) out.push(line(columns.map((column) => column.cells[row] ?? '')));
  return out.join('\n');
}

export function renderSummary(config: FlipConfig): string {
  const out: string[] = [];
  out.push(`this server: ${config.id}`);
  out.push(`servers (in placement order):`);
  for (const server of config.servers) {
    const priority = Number.isFinite(server.priority) ? `priority ${server.priority}` : 'no priority';
    const role = server.systems.length === 0 ? 'arbiter' : `systems: ${server.systems.join(', ')}`;
    out.push(
      `  ${server.index + 1}. ${server.id}  ${formatEndpoint(server.ip, server.port)}  ${priority}  ${role}`,
    );
  }
  out.push(`quorum: ${config.quorum} of ${config.servers.length}`);
  out.push(
    `timing: gossip_interval ${config.gossip_interval_ms} ms, ping_per_interval ${config.ping_per_interval}, ping_timeout ${config.ping_timeout_ms} ms`,
  );
  out.push(`keys: ${config.keys.length}`);
  out.push(`systems:`);
  if (config.systems.length === 0) out.push('  (none)');
  for (const system of config.systems) {
    out.push(
      `  ${system.name}: ${system.type}, members ${system.members.join(', ')}, ${system.data.length} item${system.data.length === 1 ? '' : 's'}`,
    );
  }
  return out.join('\n');
}
