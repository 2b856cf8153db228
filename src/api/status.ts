/**
 * The status document (GET /v1/status) and the health verdict (GET /v1/health), assembled
 * from a snapshot of the agent. Pure.
 */
import { isLive } from '../membership/member-view.js';
import type { AgentSnapshot, SystemSnapshot } from './snapshot.js';
import { API_VERSION, type HealthDoc, type ItemDoc, type StatusDoc, type SystemDoc } from './types.js';

export function assembleStatus(snapshot: AgentSnapshot): StatusDoc {
  const { now } = snapshot;
  const members = snapshot.members.map((member) => ({
    id: member.id,
    index: member.index,
    address: member.address,
    self: member.id === snapshot.id,
    state: member.state,
    incarnation: member.incarnation,
    state_for_ms: Math.max(0, Math.round(now - member.since)),
    last_heard_ago_ms:
      member.id === snapshot.id || !Number.isFinite(member.last_heard)
        ? null
        : Math.max(0, Math.round(now - member.last_heard)),
    reports_against: member.reporters,
    rtt_ms: member.id === snapshot.id || member.rtt_ms === undefined ? null : round3(member.rtt_ms),
    readiness: member.readiness,
  }));
  const systems = snapshot.systems.map((system) => systemDoc(snapshot, system));
  const doc: StatusDoc = {
    version: API_VERSION,
    at: new Date(snapshot.wall_now).toISOString(),
    server: {
      id: snapshot.id,
      address: snapshot.address,
      incarnation: snapshot.incarnation,
      started_at: new Date(snapshot.started_at_wall).toISOString(),
      uptime_ms: Math.max(0, Math.round(now - snapshot.started_at)),
      planning: snapshot.planning,
      standing_down: snapshot.standing_down,
      leaving: snapshot.leaving,
    },
    quorum: {
      size: snapshot.quorum_size,
      live: snapshot.members.filter((member) => isLive(member.state)).length,
      reachable: snapshot.quorum_reachable,
    },
    members,
    systems,
    healthy: true,
    problems: [],
  };
  doc.problems = healthProblems(doc);
  doc.healthy = doc.problems.length === 0;
  return doc;
}

function systemDoc(snapshot: AgentSnapshot, system: SystemSnapshot): SystemDoc {
  const wantedOn = new Map<string, string>();
  for (const [id, items] of Object.entries(system.wanted)) for (const item of items) wantedOn.set(item, id);
  const held = new Set(system.runner?.held ?? []);
  const desiredHere = new Set(system.desired_here);
  const running = new Map((system.runner?.running ?? []).map((run) => [run.item, run]));
  const failed = new Map((system.runner?.failed ?? []).map((fail) => [fail.item, fail]));
  const items: ItemDoc[] = system.data.map((item) => {
    const on = wantedOn.get(item) ?? null;
    const here = held.has(item);
    const record = system.items.get(item);
    const run = running.get(item);
    const fail = failed.get(item);
    const lastRun = record?.last_run;
    return {
      item,
      wanted_on: on,
      held_here: here,
      // Only a member can hold; what it should hold is what its controller wants here.
      disagrees: system.member_here && here !== desiredHere.has(item),
      script: run !== undefined ? 'running' : fail !== undefined ? 'failing' : 'idle',
      script_event: run?.event ?? fail?.event ?? null,
      last_run:
        lastRun === undefined
          ? null
          : {
              event: lastRun.event,
              ok: lastRun.ok,
              ago_ms: Math.max(0, Math.round(snapshot.now - lastRun.at)),
              duration_ms: Math.round(lastRun.duration_ms),
            },
      last_error: fail?.last_error ?? record?.last_error ?? null,
      failures: fail?.attempts ?? 0,
    };
  });
  return {
    name: system.name,
    type: system.type,
    members: system.members,
    member_here: system.member_here,
    policy: {
      no_quorum_policy: system.no_quorum_policy,
      leased: system.leased,
      fence_ms: system.fence_ms,
      may_hold: snapshot.quorum_reachable && !snapshot.standing_down,
    },
    wanted: system.wanted,
    held_here: system.runner?.held ?? [],
    unplaced: system.unplaced,
    plan: system.runner?.plan ?? 0,
    phase: system.runner?.phase ?? 'idle',
    items,
    check: system.check === undefined ? null : { verdict: system.check },
    readiness: system.readiness,
  };
}

/**
 * Why the cluster does not look healthy from this server: no quorum, a member not alive, an
 * item no live member can take, a failing script or check, or a held set that differs from
 * placement's while no plan is on its way. Empty: healthy.
 */
export function healthProblems(doc: StatusDoc): string[] {
  const problems: string[] = [];
  if (!doc.quorum.reachable)
    problems.push(`no quorum reachable (${doc.quorum.live} of ${doc.quorum.size} needed live)`);
  if (doc.server.standing_down) problems.push('another agent with this id is running: this one stands down');
  for (const member of doc.members)
    if (member.state !== 'alive') problems.push(`member ${member.id} is ${member.state}`);
  for (const system of doc.systems) {
    if (system.unplaced.length > 0)
      problems.push(`${system.name}: ${system.unplaced.length} item(s) have no live member to hold them`);
    if (system.check?.verdict === 'failing') problems.push(`${system.name}: health check failing here`);
    for (const item of system.items) {
      if (item.script === 'failing')
        problems.push(`${system.name}/${item.item}: ${item.script_event} script failing`);
      else if (item.disagrees && system.phase === 'idle' && item.script !== 'running')
        problems.push(
          `${system.name}/${item.item}: ${item.held_here ? 'held here but wanted elsewhere' : 'wanted here but not held'}`,
        );
    }
  }
  return problems;
}

/** GET /v1/health: ok when the agent runs and has a quorum. */
export function healthDoc(
  snapshot: Pick<AgentSnapshot, 'id' | 'quorum_reachable' | 'quorum_size' | 'members' | 'leaving'>,
): HealthDoc {
  const live = snapshot.members.filter((member) => isLive(member.state)).length;
  const ok = snapshot.quorum_reachable && !snapshot.leaving;
  return {
    ok,
    id: snapshot.id,
    ...(ok ? {} : { reason: snapshot.leaving ? 'shutting down' : 'no quorum reachable' }),
    quorum_reachable: snapshot.quorum_reachable,
    members_live: live,
    quorum: snapshot.quorum_size,
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
