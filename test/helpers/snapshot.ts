/** A plain agent snapshot for tests of the status document and the metrics. */
import type { AgentSnapshot, MemberSnapshot, SystemSnapshot } from '../../src/api/snapshot.js';
import { newDropCounters } from '../../src/wire/drop-reasons.js';

export function member(id: string, index: number, extra: Partial<MemberSnapshot> = {}): MemberSnapshot {
  return {
    id,
    index,
    address: `127.0.0.1:${2200 + index}`,
    state: 'alive',
    incarnation: 1,
    since: 0,
    last_heard: 9_900,
    reporters: [],
    rtt_ms: 0.5,
    readiness: { ip: 'ready' },
    ...extra,
  };
}

export function system(extra: Partial<SystemSnapshot> = {}): SystemSnapshot {
  return {
    name: 'ip',
    type: 'shard',
    members: ['flip1', 'flip'],
    data: ['192.168.0.1', '192.168.0.2'],
    no_quorum_policy: 'keep',
    leased: false,
    fence_ms: 1500,
    member_here: true,
    wanted: { flip1: ['192.168.0.1'], flip: ['192.168.0.2'] },
    unplaced: [],
    desired_here: ['192.168.0.2'],
    runner: {
      system: 'ip',
      plan: 3,
      phase: 'idle',
      next_plan_waiting: false,
      desired: ['192.168.0.2'],
      held: ['192.168.0.2'],
      running: [],
      failed: [],
    },
    readiness: 'ready',
    check: undefined,
    items: new Map([
      [
        '192.168.0.2',
        { last_run: { event: 'alive', ok: true, at: 9_000, duration_ms: 12 }, last_error: undefined },
      ],
    ]),
    ...extra,
  };
}

export function snapshot(extra: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return {
    now: 10_000,
    wall_now: Date.UTC(2026, 0, 1),
    id: 'flip',
    address: '127.0.0.1:2201',
    incarnation: 7,
    started_at: 0,
    started_at_wall: Date.UTC(2026, 0, 1) - 10_000,
    planning: true,
    standing_down: false,
    leaving: false,
    quorum_size: 2,
    quorum_reachable: true,
    members: [
      member('flip1', 0),
      member('flip', 1, { rtt_ms: undefined, last_heard: Number.NEGATIVE_INFINITY }),
      member('flip2', 2, { readiness: {} }),
    ],
    systems: [system()],
    counters: {
      packets_sent: 10,
      packets_received: 9,
      drops: { ...newDropCounters(), replay: 2 },
      node: {
        probes: 5,
        probes_failed: 1,
        indirect_requests: 0,
        refutations: 0,
        declared_down: 0,
        messages_sent: 10,
        reports_withheld: 0,
        confirmations: 0,
        grants_refused: 0,
        lease_rounds_quiet: 0,
        lease_rounds_retried: 0,
      },
      runner: {
        runs_started: 1,
        runs_failed: 0,
        stale_results: 0,
        announces_skipped: 0,
        alives_skipped: 0,
        alives_refused: 0,
        alives_waited: 0,
        alives_late: 0,
      },
      releases_sent: 0,
      claims_sent: 1,
    },
    ...extra,
  };
}
