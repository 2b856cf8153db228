/** Text renderings of the commands: config summaries (plan tables are placement/plan-table.ts). */
import { formatEndpoint } from '../config/address.js';
import { type ApiConfig, apiUrl } from '../config/api-listen.js';
import type { ClusterConfig, SystemConfig } from '../config/index.js';
import { idProblemMessage, idSourceText } from '../config/self-id.js';
import { fenceOf, fenceWaitMs } from '../handover/fence.js';
import { grantFreshMs } from '../membership/lease.js';

export function renderSummary(config: ClusterConfig): string {
  const out: string[] = [];
  out.push(`this server: ${thisServer(config)}`);
  out.push(`servers (in placement order):`);
  for (const server of config.servers) {
    const priority = Number.isFinite(server.priority) ? `priority ${server.priority}` : 'no priority';
    const role = server.systems.length === 0 ? 'arbiter' : `systems: ${server.systems.join(', ')}`;
    out.push(
      `  ${server.index + 1}. ${server.id}  ${formatEndpoint(server.ip, server.port)}  ${priority}  ${role}  ${apiText(server.api)}`,
    );
  }
  const majority = config.quorum > config.servers.length / 2;
  out.push(
    `quorum: ${config.quorum} of ${config.servers.length}${majority ? '' : ' (not a majority: two sides of a partition can each count one, so nothing prevents two owners)'}`,
  );
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
    out.push(`    no_quorum_policy ${system.no_quorum_policy}: ${policyMeaning(system)}`);
    out.push(`    ${fenceMeaning(system, config)}`);
    out.push(
      system.preempt
        ? `    preempt: items return to the member placement prefers once it is ready again (after hold_down ${system.hold_down_ms} ms)`
        : '    preempt false: an item stays with its holder while it is live, ready and has the quorum; it moves only when the holder fails',
    );
  }
  return out.join('\n');
}

/** Where a server's API listens and who may read it, in a few words. */
function apiText(api: ApiConfig | undefined): string {
  if (api === undefined) return 'api off';
  const token = api.token !== undefined || api.token_file !== undefined;
  const reads = api.loopback ? 'reads open on loopback' : 'reads need the token';
  return `api ${apiUrl(api)} (${reads}${token ? ', token set' : ', no token: no changes'})`;
}

/** What a system's no_quorum_policy does, in one line. */
function policyMeaning(system: SystemConfig): string {
  return system.no_quorum_policy === 'keep'
    ? 'a server that cannot reach a quorum keeps what it holds and takes nothing (a cut-off holder and its replacement may both hold an item)'
    : 'a server that cannot reach a quorum lets go of what it holds and takes nothing (a total partition leaves no owner)';
}

/** What protects the system's items from a dead or frozen agent, in one line. */
function fenceMeaning(system: SystemConfig, config: ClusterConfig): string {
  const wait = fenceWaitMs(fenceOf(system), grantFreshMs(config.ping_timeout_ms));
  if (system.lease === undefined)
    return wait === 0
      ? "no lease program: a killed or frozen agent's items stay on its host; a takeover does not wait"
      : `no lease program: the agent lets go itself when it loses the quorum; a takeover waits ${wait} ms after the holder was last heard from (a frozen agent is not fenced)`;
  return `lease ${system.lease}: held items lapse ${system.fence_ms} ms after their last renewal, agent or not; a takeover waits ${wait} ms after the holder was last heard from`;
}

/** "flip1 (from FLIP_ID)", or none with the reason, for a file shared by every server. */
function thisServer(config: ClusterConfig): string {
  if (config.id === undefined || config.id_from === undefined)
    return `none (${config.id_problem ? idProblemMessage(config.id_problem) : 'no server named'})`;
  const ip = config.servers.find((server) => server.id === config.id)?.ip;
  return `${config.id} (from ${idSourceText(config.id_from, ip)})`;
}
