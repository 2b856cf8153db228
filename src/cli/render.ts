/** Text renderings of the commands: config summaries (plan tables are placement/plan-table.ts). */
import { formatEndpoint } from '../config/address.js';
import type { FlipConfig } from '../config/index.js';

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
