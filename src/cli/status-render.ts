/**
 * Tables of `flip status` and `flip members`, from the API's status document, and one line per
 * event for `--watch`. Pure: colour is a parameter (on a terminal, without NO_COLOR).
 */
import type { EventDoc, MemberDoc, StatusDoc, SystemDoc } from '../api/types.js';

export interface Paint {
  good(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
}

const ansi = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
export const COLOUR: Paint = { good: ansi(32), warn: ansi(33), bad: ansi(31), dim: ansi(2) };
export const PLAIN: Paint = { good: (t) => t, warn: (t) => t, bad: (t) => t, dim: (t) => t };

/** Colour on a terminal unless NO_COLOR is set (https://no-color.org). */
export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Paint {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '' ? COLOUR : PLAIN;
}

/** An ANSI colour code, not counted in a cell's width. */
const ANSI_CODE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Columns padded to their widest cell (ANSI codes not counted). */
export function table(rows: readonly (readonly string[])[]): string {
  const visible = (text: string) => text.replace(ANSI_CODE, '').length;
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visible(cell));
    });
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

function stateText(member: MemberDoc, paint: Paint): string {
  const text = member.self ? `${member.state} (this)` : member.state;
  if (member.state === 'alive') return paint.good(text);
  if (member.state === 'probably_down') return paint.warn(text);
  return paint.bad(text);
}

export function renderMembers(doc: StatusDoc, paint: Paint): string {
  const rows = [
    ['MEMBER', 'ADDRESS', 'STATE', 'INCARNATION', 'LAST HEARD', 'RTT', 'REPORTS', 'READINESS'],
    ...doc.members.map((member) => [
      member.id,
      member.address,
      stateText(member, paint),
      String(member.incarnation),
      member.self ? '-' : duration(member.last_heard_ago_ms),
      member.rtt_ms === null ? '-' : `${member.rtt_ms.toFixed(member.rtt_ms < 10 ? 2 : 0)}ms`,
      member.reports_against.length === 0 ? '-' : member.reports_against.join(','),
      Object.entries(member.readiness)
        .map(([system, state]) => `${system}:${state}`)
        .join(' ') || '-',
    ]),
  ];
  const quorum = doc.quorum.reachable
    ? paint.good(`quorum ${doc.quorum.size}: reachable`)
    : paint.bad(`quorum ${doc.quorum.size}: NOT reachable`);
  return `${table(rows)}\n${quorum} (${doc.quorum.live} of ${doc.members.length} live in ${doc.server.id}'s view)`;
}

/**
 * Per system, one row per member with the items placement gives it in this view (the README's
 * table), the items this server holds, and a mark on each item where what is held and what
 * placement wants disagree (`!`) or whose script is failing (`✗`).
 */
export function renderSystem(doc: StatusDoc, system: SystemDoc, paint: Paint): string {
  const byItem = new Map(system.items.map((item) => [item.item, item]));
  const mark = (name: string): string => {
    const item = byItem.get(name);
    if (item?.script === 'failing') return paint.bad(`${name}✗`);
    if (item?.disagrees) return paint.warn(`${name}!`);
    if (item?.script === 'running') return paint.dim(`${name}…`);
    return name;
  };
  const rows = [
    ['SERVER', 'WANTED BY PLACEMENT', 'HELD'],
    ...system.members.map((id) => [
      id === doc.server.id ? `${id} (this)` : id,
      (system.wanted[id] ?? []).map(mark).join(' ') || '-',
      id === doc.server.id ? system.held_here.map(mark).join(' ') || '-' : paint.dim('(not reported)'),
    ]),
  ];
  const head = `${system.name} (${system.type}, no_quorum_policy ${system.policy.no_quorum_policy}${system.policy.leased ? `, lease fence ${system.policy.fence_ms}ms` : ''}${system.check ? `, check ${system.check.verdict}` : ''}, plan ${system.plan} ${system.phase})`;
  const lines = [head, table(rows).replace(/^/gm, '  ')];
  if (system.unplaced.length > 0)
    lines.push(paint.bad(`  unplaced (no live member): ${system.unplaced.join(' ')}`));
  for (const item of system.items)
    if (item.script === 'failing' && item.last_error !== null)
      lines.push(
        paint.bad(`  ${item.item}: ${item.script_event} failing (${item.failures}x): ${item.last_error}`),
      );
  return lines.join('\n');
}

export function renderStatus(doc: StatusDoc, paint: Paint): string {
  const parts = [
    `${doc.server.id} (${doc.server.address}), incarnation ${doc.server.incarnation}, up ${duration(doc.server.uptime_ms)}${doc.server.planning ? '' : ', not planning yet'}${doc.server.standing_down ? paint.bad(', STANDING DOWN (duplicate id)') : ''}`,
    '',
    renderMembers(doc, paint),
  ];
  for (const system of doc.systems) parts.push('', renderSystem(doc, system, paint));
  parts.push('');
  if (doc.healthy) parts.push(paint.good('healthy'));
  else parts.push(paint.bad('NOT healthy:'), ...doc.problems.map((problem) => `  - ${problem}`));
  return parts.join('\n');
}

/** One line for an event (`--watch`). */
export function renderEvent(event: EventDoc, paint: Paint): string {
  const time = event.at.slice(11, 23);
  const head = `${paint.dim(time)} #${event.id}`;
  switch (event.type) {
    case 'member': {
      const to =
        event.to === 'alive'
          ? paint.good(event.to)
          : event.to === 'probably_down'
            ? paint.warn(event.to)
            : paint.bad(event.to);
      return `${head} member ${event.member}: ${event.from} -> ${to} (${event.reason}, incarnation ${event.incarnation})`;
    }
    case 'plan':
      return `${head} plan ${event.system} #${event.plan}: +[${event.arriving.join(' ')}] -[${event.leaving.join(' ')}]`;
    case 'script': {
      const how = event.ok
        ? paint.good('ok')
        : paint.bad(event.timed_out ? 'timed out' : `failed (exit ${event.exit_code ?? event.signal})`);
      return `${head} ${event.event} ${event.system}/${event.item}: ${how} in ${event.duration_ms}ms`;
    }
    case 'item_failed':
      return `${head} ${paint.bad('item failing')} ${event.system}/${event.item} (${event.event}, ${event.attempts} attempts)`;
    case 'item_recovered':
      return `${head} ${paint.good('item recovered')} ${event.system}/${event.item} (${event.event})`;
    case 'quorum':
      return `${head} quorum ${event.state === 'lost' ? paint.bad('lost') : paint.good('regained')}${event.releasing.length > 0 ? `, releasing ${event.releasing.join(' ')}` : ''}`;
    case 'release_sent':
      return `${head} released to ${event.to}: ${event.items.join(' ')}`;
    case 'release_received':
      return `${head} ${event.from} released to us: ${event.items.join(' ')}`;
    case 'claim_cleared':
      return `${head} claim cleared ${event.system}: ${event.items.join(' ')}`;
    case 'check':
      return `${head} check ${event.system}: ${event.verdict === 'passing' ? paint.good('passing') : paint.bad('failing')}`;
    case 'readiness':
      return `${head} readiness: failing [${event.failing.join(' ')}] holding down [${event.holding.join(' ')}] fresh [${event.fresh.join(' ')}]`;
    case 'lease_failed':
      return `${head} ${paint.bad('lease renewal failed')} ${event.system} (${event.items} items, ${event.status})`;
    case 'agent':
      return `${head} agent ${event.state}`;
  }
}
