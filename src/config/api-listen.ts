/**
 * Where a server's HTTP API listens (the per-server `api` key), and its default.
 *
 * Default: on, loopback only, on TCP port = the server's UDP gossip port. TCP and UDP ports are
 * separate spaces, so the number is already known free of other flip agents on the host (every
 * server of one config has its own UDP endpoint), needs no second number in the config, and an
 * operator finds the API of the agent gossiping on 7946 at http://127.0.0.1:7946/. A server
 * whose own address is a loopback one (a loopback cluster, `flip demo`) listens on that address,
 * so servers that share a port number on 127.0.0.1 and 127.0.0.2 do not share an API socket.
 */
import { isIP } from 'node:net';
import { canonicalAddress } from './address.js';

export interface ApiConfig {
  /** Address the API listens on (no brackets for IPv6). */
  host: string;
  /** TCP port. */
  port: number;
  /** The bearer token, as written (`token`); undefined with `token_file` or none. */
  token: string | undefined;
  /** A file holding the token, as written (relative to the config file's directory). */
  token_file: string | undefined;
  /** Whether `host` is a loopback address: only there may reads go without the token. */
  loopback: boolean;
}

/** `listen` values that turn the API off, beside `"api": false`. */
export const API_OFF = 'off';

/** Splits `host:port` or `[v6]:port`; a problem text when it is neither. */
export function parseListen(text: string): { host: string; port: number } | { problem: string } {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (match === null)
    return { problem: `${JSON.stringify(text)} is not "address:port" (IPv6 as "[::1]:port"), nor "off"` };
  const host = match[1]!;
  const port = Number(match[2]);
  if (isIP(host) === 0) return { problem: `${JSON.stringify(host)} is not an IPv4 or IPv6 address` };
  if (port < 1 || port > 65535) return { problem: `port ${port} is out of range (1 to 65,535)` };
  return { host, port };
}

/** Whether `ip` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127/8). */
export function isLoopback(ip: string): boolean {
  const canonical = canonicalAddress(ip);
  if (canonical === '0:0:0:0:0:0:0:1') return true;
  return isIP(canonical) === 4 && canonical.startsWith('127.');
}

/** The API of a server with no `api` key. */
export function defaultApi(server: { ip: string; port: number }): ApiConfig {
  const host = isLoopback(server.ip) ? server.ip : '127.0.0.1';
  return { host, port: server.port, token: undefined, token_file: undefined, loopback: true };
}

/** The URL of an API for a client on the same host (an unspecified address is reached on loopback). */
export function apiUrl(api: Pick<ApiConfig, 'host' | 'port'>): string {
  const canonical = canonicalAddress(api.host);
  const host = canonical === '0.0.0.0' ? '127.0.0.1' : canonical === '0:0:0:0:0:0:0:0' ? '[::1]' : api.host;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${api.port}`;
}
