/**
 * Whether a well-formed change fits the config it is applied to: what it names exists, what it
 * adds is not there yet, what it removes is, and a removal leaves what the cluster needs (a
 * server, a member for each system). These are the rules of the change itself; the config file's
 * own rules are checked on the result (apply.ts). Paths are the change's fields (`items[1]`).
 */
import { didYouMean } from '../config/did-you-mean.js';
import { boundIssues, type ConfigIssue, pathToString } from '../config/errors.js';
import type { ConfigDocument } from '../state/cluster-state.js';
import { listSome, quote } from '../text/quote.js';
import type { ConfigChange } from './change.js';
import { itemsOf, membersOf, serversOf, systemsOf } from './document.js';

/** What keeps `change` from fitting `config`; empty when it fits. At most CONFIG_ISSUES_MAX. */
export function fitProblems(config: ConfigDocument, change: ConfigChange): ConfigIssue[] {
  const servers = Object.keys(serversOf(config));
  const systems = Object.keys(systemsOf(config));
  const issue = (path: readonly PropertyKey[], message: string): ConfigIssue => ({
    path: pathToString(path),
    message,
  });
  const unknownSystem = (path: readonly PropertyKey[], name: string): ConfigIssue[] =>
    systems.includes(name)
      ? []
      : [issue(path, unknownName('system', name, systems, 'cluster.system defines'))];
  const unknownServer = (path: readonly PropertyKey[], id: string): ConfigIssue[] =>
    servers.includes(id) ? [] : [issue(path, unknownName('server', id, servers, 'servers'))];

  switch (change.kind) {
    case 'data_add':
    case 'data_rm': {
      const unknown = unknownSystem(['system'], change.system);
      if (unknown.length > 0) return unknown;
      const firstAt = new Map<unknown, number>();
      itemsOf(systemsOf(config)[change.system]).forEach((item, i) => {
        if (!firstAt.has(item)) firstAt.set(item, i);
      });
      const where = (i: number) => pathToString(['cluster', 'system', change.system, 'data', i]);
      return boundIssues(
        change.items.flatMap((item, i) => {
          const at = firstAt.get(item);
          if (change.kind === 'data_add' && at !== undefined)
            return [
              issue(
                ['items', i],
                `${quote(item)} is already in system ${quote(change.system)} (${where(at)})`,
              ),
            ];
          if (change.kind === 'data_rm' && at === undefined)
            return [issue(['items', i], `${quote(item)} is not in system ${quote(change.system)}`)];
          return [];
        }),
      );
    }
    case 'server_add': {
      const taken = servers.includes(change.id)
        ? [issue(['id'], `${quote(change.id)} is already a server (${pathToString(['servers', change.id])})`)]
        : [];
      const unknown = (change.systems ?? []).flatMap((name, i) => unknownSystem(['systems', i], name));
      return boundIssues([...taken, ...unknown]);
    }
    case 'server_rm': {
      const unknown = unknownServer(['id'], change.id);
      if (unknown.length > 0) return unknown;
      if (servers.length === 1)
        return [issue(['id'], `${quote(change.id)} is the only server; a cluster needs at least one`)];
      const alone = systems.filter((name) => {
        const members = membersOf(config, name);
        return members.length === 1 && members[0] === change.id;
      });
      if (alone.length === 0) return [];
      const which =
        alone.length === 1
          ? `system ${quote(alone[0]!)}`
          : `systems ${listSome(alone.map((name) => quote(name)))}`;
      return [
        issue(
          ['id'],
          `${quote(change.id)} is the only member of ${which}, which would be left with none: add another member first, or remove the system`,
        ),
      ];
    }
    case 'system_set':
    case 'system_rm':
      return unknownSystem(['system'], change.system);
    case 'system_add': {
      const taken = systems.includes(change.system)
        ? [
            issue(
              ['system'],
              `system ${quote(change.system)} is already there (${pathToString(['cluster', 'system', change.system])})`,
            ),
          ]
        : [];
      const unknown = change.members.flatMap((id, i) => unknownServer(['members', i], id));
      return boundIssues([...taken, ...unknown]);
    }
  }
}

/** "unknown server "flip9" (did you mean "flip1"?); servers: flip, flip1", as the config says it. */
function unknownName(what: string, name: string, known: readonly string[], listed: string): string {
  const hint = name.length <= 64 ? didYouMean(name, known) : undefined;
  return `unknown ${what} ${quote(name)}${hint ? ` (did you mean "${hint}"?)` : ''}; ${listed}: ${listSome(known)}`;
}
