// The status page's picture of the cluster, made from one agent's /v1/status document and its
// recent events. Pure: documents in, plain data out; page.js only draws it. Types: picture.d.ts.

/** Events the page keeps and shows, at most. */
export const EVENTS_SHOWN = 60;

const STATE_LABEL = { alive: 'alive', probably_down: 'suspect', down: 'down', left: 'left' };

/**
 * The picture: every member as a server box with its state and readiness, and on it the items
 * placement gives it in this agent's view. On this agent's own box the chips say what it holds:
 * `held`, `arriving` (placement wants it here, not held yet) or `leaving` (held here, placement
 * wants it on `wanted_on`). Peers report no holdings, so a peer's chips are placement's (`wanted`).
 */
export function picture(status) {
  const self = status.server.id;
  const servers = status.members.map((member) => ({
    id: member.id,
    self: member.self,
    state: member.state,
    label: STATE_LABEL[member.state] ?? member.state,
    address: member.address,
    rtt_ms: member.rtt_ms,
    last_heard_ago_ms: member.last_heard_ago_ms,
    reports_against: member.reports_against,
    readiness: Object.entries(member.readiness)
      .filter(([, state]) => state !== 'ready')
      .map(([system, state]) => ({ system, state })),
    chips: [],
  }));
  const byId = new Map(servers.map((server) => [server.id, server]));
  const unplaced = [];
  for (const system of status.systems) {
    const items = new Map(system.items.map((item) => [item.item, item]));
    const held = new Set(system.held_here);
    for (const [member, wanted] of Object.entries(system.wanted)) {
      const server = byId.get(member);
      if (server === undefined) continue;
      for (const item of wanted) {
        const doc = items.get(item);
        const kind = member !== self ? 'wanted' : held.has(item) ? 'held' : 'arriving';
        server.chips.push(chip(system.name, item, kind, member, doc));
      }
    }
    const here = byId.get(self);
    for (const item of system.held_here) {
      const wantedOn = items.get(item)?.wanted_on ?? null;
      if (wantedOn === self || here === undefined) continue;
      here.chips.push(chip(system.name, item, 'leaving', wantedOn, items.get(item)));
    }
    for (const item of system.unplaced) unplaced.push({ system: system.name, item });
  }
  for (const server of servers) server.chips.sort(byItem);
  return {
    self,
    at: status.at,
    healthy: status.healthy,
    problems: status.problems,
    quorum: status.quorum,
    planning: status.server.planning,
    systems: status.systems.map((system) => ({
      name: system.name,
      type: system.type,
      no_quorum_policy: system.policy.no_quorum_policy,
      may_hold: system.policy.may_hold,
      check: system.check?.verdict ?? null,
    })),
    servers,
    unplaced,
  };
}

function chip(system, item, kind, wantedOn, doc) {
  return {
    system,
    item,
    kind,
    wanted_on: wantedOn,
    failing: doc?.script === 'failing',
    error: doc?.last_error ?? null,
  };
}

function byItem(a, b) {
  return a.system === b.system ? compareItems(a.item, b.item) : a.system < b.system ? -1 : 1;
}

/** Items in a natural order (192.168.0.9 before 192.168.0.10). */
export function compareItems(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Adds `incoming` events to `kept` (newest last, no id twice), keeping the newest EVENTS_SHOWN. */
export function keepEvents(kept, incoming) {
  const seen = new Set(kept.map((event) => event.id));
  const all = kept.concat(incoming.filter((event) => !seen.has(event.id)));
  all.sort((a, b) => a.id - b.id);
  return all.slice(-EVENTS_SHOWN);
}

/** One line for an event, and whether it is bad news. */
export function describeEvent(event) {
  switch (event.type) {
    case 'member':
      return {
        text: `${event.member}: ${STATE_LABEL[event.from] ?? event.from} → ${STATE_LABEL[event.to] ?? event.to} (${event.reason})`,
        bad: event.to === 'down' || event.to === 'probably_down',
      };
    case 'plan':
      return {
        text: `${event.system} plan ${event.plan}: wants ${list(event.desired)}${event.arriving.length > 0 ? `; taking ${list(event.arriving)}` : ''}${event.leaving.length > 0 ? `; dropping ${list(event.leaving)}` : ''}`,
        bad: false,
      };
    case 'script':
      return {
        text: `${event.system} ${event.item}: ${event.event} ${event.ok ? 'ok' : 'FAILED'} in ${event.duration_ms} ms${event.timed_out ? ' (timed out)' : ''}`,
        bad: !event.ok,
      };
    case 'item_failed':
      return {
        text: `${event.system} ${event.item}: ${event.event} failing (${event.attempts} tries)`,
        bad: true,
      };
    case 'item_recovered':
      return { text: `${event.system} ${event.item}: ${event.event} recovered`, bad: false };
    case 'quorum':
      return {
        text: `quorum ${event.state}${event.releasing.length > 0 ? `; releasing ${list(event.releasing)}` : ''}`,
        bad: event.state === 'lost',
      };
    case 'release_sent':
      return { text: `released ${list(event.items)} to ${event.to}`, bad: false };
    case 'release_received':
      return { text: `${event.from} released ${list(event.items)}`, bad: false };
    case 'claim_cleared':
      return { text: `${event.system}: claim cleared for ${list(event.items)}`, bad: false };
    case 'check':
      return { text: `${event.system} check ${event.verdict}`, bad: event.verdict === 'failing' };
    case 'readiness':
      return {
        text: `readiness: failing ${list(event.failing)}, holding ${list(event.holding)}, fresh ${list(event.fresh)}`,
        bad: event.failing.length > 0,
      };
    case 'lease_failed':
      return { text: `${event.system}: lease of ${event.items} items failed (${event.status})`, bad: true };
    case 'agent':
      return { text: `agent ${event.state}`, bad: event.state === 'refuted' };
    default:
      return { text: String(event.type), bad: false };
  }
}

function list(items) {
  if (items.length === 0) return 'none';
  return items.length > 6 ? `${items.slice(0, 6).join(', ')} and ${items.length - 6} more` : items.join(', ');
}

/** A duration for people: 850 ms, 4.2 s, 3 min, 2 h. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

/** The token from a location fragment like `#token=abc`, or undefined. */
export function tokenFromFragment(hash) {
  const match = /(?:^#|&)token=([^&]+)/.exec(hash);
  return match === null ? undefined : decodeURIComponent(match[1]);
}
