/**
 * Which server of the config this agent is, so that one file can serve a whole cluster.
 *
 * Precedence, first found wins: `--id ID` on the command line, then FLIP_ID in the environment,
 * then the file's `id`, then the one server whose `ip` is an address of this host. Something
 * named beats something inferred, and the file's `id` beats the address so that the original
 * per-server files, and clusters whose servers share one host (the README's, on 127.0.0.1),
 * keep working unchanged. A shared file that still carries an `id` must not make a second host
 * run as that server: when the file's server's `ip` is not on this host but another server's
 * is, that is refused (the bind alone would not catch it where net.ipv4.ip_nonlocal_bind is
 * set, as it often is beside keepalived or HAProxy).
 *
 * Pure: the caller reads the host's addresses (os.networkInterfaces()) and hands them in.
 */
import { listSome } from '../text/quote.js';
import { canonicalAddress } from './address.js';

/** Where the id of this server came from. */
export type IdSource = '--id' | 'FLIP_ID' | 'file' | 'address';

/** The names given for this server, each possibly absent. */
export interface NamedIds {
  /** `--id ID`. */
  option?: string;
  /** FLIP_ID. */
  env?: string;
  /** The file's `id`. */
  file?: string;
}

export interface ServerAddress {
  id: string;
  ip: string;
}

/** Why no server could be chosen. */
export type IdProblem =
  /** Nothing names this server and the host's addresses were not looked at. */
  | { kind: 'unnamed' }
  /** Nothing names it, and no server's `ip` is an address of this host. */
  | { kind: 'no-match'; host_addresses: readonly string[]; servers: readonly ServerAddress[] }
  /** Nothing names it, and the host owns the `ip` of several servers. */
  | { kind: 'several'; candidates: readonly ServerAddress[] }
  /** The file names a server whose `ip` is not on this host, and another server's is. */
  | { kind: 'file-id-elsewhere'; named: ServerAddress; here: ServerAddress };

export type IdChoice = { ok: true; id: string; from: IdSource } | { ok: false; problem: IdProblem };

/** The id named on the command line, in the environment or in the file, by precedence. */
export function namedId(named: NamedIds): { id: string; from: IdSource } | undefined {
  if (named.option !== undefined) return { id: named.option, from: '--id' };
  if (named.env !== undefined) return { id: named.env, from: 'FLIP_ID' };
  if (named.file !== undefined) return { id: named.file, from: 'file' };
  return undefined;
}

/**
 * The server this host is: the named one (see namedId), else the only server whose `ip` is one
 * of `host_addresses` (compared in canonical form: `::ffff:10.0.0.1` is `10.0.0.1`). Without
 * `host_addresses` nothing is inferred. A named id is returned as given; whether it is a
 * server is the validator's question, which answers it with a "did you mean". The file's id is
 * refused (`file-id-elsewhere`) when its server's ip is not on this host and exactly one other
 * server's is: a file shared by every server that kept an id.
 */
export function chooseServerId(
  named: NamedIds,
  servers: readonly ServerAddress[],
  host_addresses: readonly string[] | undefined,
): IdChoice {
  const byName = namedId(named);
  if (byName && (byName.from !== 'file' || host_addresses === undefined)) return { ok: true, ...byName };
  if (host_addresses === undefined) return { ok: false, problem: { kind: 'unnamed' } };
  const own = new Set(host_addresses.map(canonicalAddress));
  const candidates = servers.filter((server) => own.has(canonicalAddress(server.ip)));
  if (byName) {
    // The file's id, checked against the host: only a clear contradiction is refused.
    const server = servers.find((s) => s.id === byName.id);
    const here = candidates.length === 1 ? candidates[0]! : undefined;
    if (server && here && !own.has(canonicalAddress(server.ip)))
      return { ok: false, problem: { kind: 'file-id-elsewhere', named: server, here } };
    return { ok: true, ...byName };
  }
  if (candidates.length === 1) return { ok: true, id: candidates[0]!.id, from: 'address' };
  if (candidates.length === 0)
    return { ok: false, problem: { kind: 'no-match', host_addresses: [...host_addresses], servers } };
  return { ok: false, problem: { kind: 'several', candidates } };
}

const HOW_TO_NAME = 'name it with --id ID or FLIP_ID=ID (or `id` in a file meant for one server)';

/** What to tell the operator about `problem`; it reads after "id: ". */
export function idProblemMessage(problem: IdProblem): string {
  const server = (s: ServerAddress) => `${s.id} (${s.ip})`;
  switch (problem.kind) {
    case 'unnamed':
      return `no server named: ${HOW_TO_NAME}`;
    case 'no-match':
      return `no server named, and no server's ip is an address of this host (${listSome(problem.host_addresses, 8)}): ${HOW_TO_NAME}; servers: ${listSome(problem.servers.map(server))}`;
    case 'several':
      return `no server named, and this host owns the ip of several servers: ${listSome(problem.candidates.map(server))}; choose one with --id ID or FLIP_ID=ID`;
    case 'file-id-elsewhere':
      return `the file names ${server(problem.named)}, whose ip is not an address of this host, which owns the ip of ${server(problem.here)}: is this file shared by every server? Leave its id out, or pass --id ${problem.here.id} (or FLIP_ID=${problem.here.id})`;
  }
}

/** How a choice is shown to the operator: "the file's id", "this host's address 10.0.0.2". */
export function idSourceText(from: IdSource, ip?: string): string {
  switch (from) {
    case '--id':
      return '--id';
    case 'FLIP_ID':
      return 'FLIP_ID';
    case 'file':
      return "the file's id";
    case 'address':
      return ip === undefined ? "this host's address" : `this host's address ${ip}`;
  }
}
