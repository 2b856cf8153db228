/**
 * An agent's metrics, as Prometheus families, from a snapshot (api/snapshot.ts) and the
 * agent's own counts (observe/agent-stats.ts). Pure. Names: `flip_` prefix, base units
 * (seconds), `_total` on counters.
 */
import type { AgentSnapshot } from '../api/snapshot.js';
import type { MemberStateName } from '../membership/messages.js';
import type { AgentStats } from '../observe/agent-stats.js';
import { DROP_REASONS } from '../wire/drop-reasons.js';
import type { MetricFamily } from './prometheus.js';

const STATES: readonly MemberStateName[] = ['alive', 'probably_down', 'down', 'left'];

export function agentMetrics(snapshot: AgentSnapshot, stats: AgentStats): MetricFamily[] {
  const counters = snapshot.counters;
  const own = snapshot.systems.filter((system) => system.member_here);
  const bool = (value: boolean) => (value ? 1 : 0);
  return [
    {
      name: 'flip_members',
      help: "Members in each state in this server's view (itself included).",
      type: 'gauge',
      samples: STATES.map((state) => ({
        labels: { state },
        value: snapshot.members.filter((member) => member.state === state).length,
      })),
    },
    {
      name: 'flip_quorum_reachable',
      help: "1 when this server has a quorum's fresh grants (it may hold and take items).",
      type: 'gauge',
      samples: [{ value: bool(snapshot.quorum_reachable) }],
    },
    {
      name: 'flip_quorum_size',
      help: 'Members needed for a quorum.',
      type: 'gauge',
      samples: [{ value: snapshot.quorum_size }],
    },
    {
      name: 'flip_items_held',
      help: 'Items this server holds, per system (its last successful script was alive).',
      type: 'gauge',
      samples: perSystem(own, (system) => system.runner?.held.length ?? 0),
    },
    {
      name: 'flip_items_wanted',
      help: 'Items placement gives this server in its view, per system.',
      type: 'gauge',
      samples: perSystem(own, (system) => system.wanted[snapshot.id]?.length ?? 0),
    },
    {
      name: 'flip_items_unplaced',
      help: 'Items no live member can hold, per system.',
      type: 'gauge',
      samples: perSystem(snapshot.systems, (system) => system.unplaced.length),
    },
    {
      name: 'flip_items_failing',
      help: 'Items whose script keeps failing here, per system.',
      type: 'gauge',
      samples: perSystem(own, (system) => system.runner?.failed.length ?? 0),
    },
    {
      name: 'flip_failovers_total',
      help: 'Items this server took over while another member of the system was down or left in its view.',
      type: 'counter',
      samples: perSystem(own, (system) => stats.failovers().get(system.name) ?? 0),
    },
    {
      name: 'flip_members_declared_down_total',
      help: "Members that went down in this server's view.",
      type: 'counter',
      samples: [{ value: stats.members_down_total }],
    },
    {
      name: 'flip_script_runs_total',
      help: 'Scripts run (alive, down, check), by system, event and result (ok, failed, timeout).',
      type: 'counter',
      samples: stats.scriptRuns().map((run) => ({ labels: { ...run.key }, value: run.count })),
    },
    {
      name: 'flip_alives_held_back_total',
      help: "alive scripts not started when due, or that changed nothing: 'refused' (no lease or claim), 'waited' (a leased item held for a renewal window, per time asked), 'late' (its lease deadline passed before the script leased the item, exit 75).",
      type: 'counter',
      samples: [
        { labels: { why: 'refused' }, value: counters.runner.alives_refused },
        { labels: { why: 'waited' }, value: counters.runner.alives_waited },
        { labels: { why: 'late' }, value: counters.runner.alives_late },
      ],
    },
    {
      name: 'flip_script_duration_seconds',
      help: 'How long scripts ran, by system, event and result.',
      type: 'histogram',
      samples: stats
        .scriptRuns()
        .map((run) => ({ labels: { ...run.key }, histogram: run.seconds.snapshot() })),
    },
    {
      name: 'flip_check_passing',
      help: "1 when this server's health check of the system passes (0 failing or not yet known).",
      type: 'gauge',
      samples: own
        .filter((system) => system.check !== undefined)
        .map((system) => ({ labels: { system: system.name }, value: bool(system.check === 'passing') })),
    },
    {
      name: 'flip_packets_sent_total',
      help: 'Gossip packets sent.',
      type: 'counter',
      samples: [{ value: counters.packets_sent }],
    },
    {
      name: 'flip_packets_received_total',
      help: 'Gossip packets received and authenticated.',
      type: 'counter',
      samples: [{ value: counters.packets_received }],
    },
    {
      name: 'flip_packets_dropped_total',
      help: 'Packets received and dropped, by reason (see src/wire/drop-reasons.ts).',
      type: 'counter',
      samples: DROP_REASONS.map((reason) => ({ labels: { reason }, value: counters.drops[reason] })),
    },
    {
      name: 'flip_probes_total',
      help: 'Probes of members started.',
      type: 'counter',
      samples: [{ value: counters.node.probes }],
    },
    {
      name: 'flip_probes_failed_total',
      help: 'Probes that got no answer in time.',
      type: 'counter',
      samples: [{ value: counters.node.probes_failed }],
    },
    {
      name: 'flip_probe_rtt_seconds',
      help: 'Round trips of answered direct probes.',
      type: 'histogram',
      samples: [{ histogram: stats.rtt.snapshot() }],
    },
    {
      name: 'flip_member_rtt_seconds',
      help: 'Round trip of the last answered probe of each member.',
      type: 'gauge',
      samples: snapshot.members.flatMap((member) =>
        member.id === snapshot.id || member.rtt_ms === undefined
          ? []
          : [{ labels: { member: member.id }, value: member.rtt_ms / 1000 }],
      ),
    },
    {
      name: 'flip_detection_seconds',
      help: "From a member's suspicion to its down decision, in this server's view.",
      type: 'histogram',
      samples: [{ histogram: stats.detection.snapshot() }],
    },
    {
      name: 'flip_refutations_total',
      help: 'Times this server refuted being suspected or declared down.',
      type: 'counter',
      samples: [{ value: counters.node.refutations }],
    },
    {
      name: 'flip_lease_rounds_quiet_total',
      help: 'Lease rounds that pinged nobody: the grants in hand kept the lease (no system renews on them).',
      type: 'counter',
      samples: [{ value: counters.node.lease_rounds_quiet }],
    },
    {
      name: 'flip_lease_rounds_retried_total',
      help: 'Lease rounds short of a quorum of grants a quarter of a ping timeout in: their silent members were pinged again.',
      type: 'counter',
      samples: [{ value: counters.node.lease_rounds_retried }],
    },
    {
      name: 'flip_release_notices_sent_total',
      help: 'Release notices sent (an item let go, its new holder told).',
      type: 'counter',
      samples: [{ value: counters.releases_sent }],
    },
    {
      name: 'flip_claims_sent_total',
      help: 'Claims sent (asking the members whether an item may be taken).',
      type: 'counter',
      samples: [{ value: counters.claims_sent }],
    },
    {
      name: 'flip_fence_may_hold',
      help: '1 when this server may hold and take items (a quorum is reachable and it does not stand down).',
      type: 'gauge',
      samples: [{ value: bool(snapshot.quorum_reachable && !snapshot.standing_down) }],
    },
    {
      name: 'flip_fence_seconds',
      help: 'For a system with a lease program: how long after its last renewal a held item lapses.',
      type: 'gauge',
      samples: snapshot.systems
        .filter((system) => system.leased)
        .map((system) => ({ labels: { system: system.name }, value: system.fence_ms / 1000 })),
    },
    {
      name: 'flip_incarnation',
      help: "This server's incarnation.",
      type: 'gauge',
      samples: [{ value: snapshot.incarnation }],
    },
    {
      name: 'flip_uptime_seconds',
      help: 'Seconds since this agent started.',
      type: 'gauge',
      samples: [{ value: Math.max(0, (snapshot.now - snapshot.started_at) / 1000) }],
    },
    {
      name: 'flip_api_requests_total',
      help: 'HTTP API requests answered.',
      type: 'counter',
      samples: [{ value: stats.api_requests }],
    },
    {
      name: 'flip_api_unauthorized_total',
      help: 'HTTP API requests refused for a missing or wrong token.',
      type: 'counter',
      samples: [{ value: stats.api_unauthorized }],
    },
    {
      name: 'flip_api_faults_total',
      help: 'Faults in the HTTP API caught and answered with 500 (the agent went on).',
      type: 'counter',
      samples: [{ value: stats.api_faults }],
    },
  ];
}

/** One sample per system, labelled with its name. */
function perSystem<S extends { name: string }>(systems: readonly S[], value: (system: S) => number) {
  return systems.map((system) => ({ labels: { system: system.name }, value: value(system) }));
}
