/**
 * Server addresses: whether one can be used, and one canonical spelling for each, so that
 * `::1` and `0:0:0:0:0:0:0:1`, or `127.0.0.1` and `::ffff:127.0.0.1`, are seen to be one socket.
 */
import { isIP } from 'node:net';

/** Why `ip` cannot be a server's address, or undefined when it can. */
export function addressProblem(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'is not a valid IPv4 or IPv6 address';
  const canonical = canonicalAddress(ip);
  if (canonical === '0.0.0.0' || canonical === '0:0:0:0:0:0:0:0')
    return 'is the unspecified address: peers send to a server at its address, so it must be one they can reach';
  if (isMulticast(canonical)) return 'is a multicast address: a server needs an address of its own (unicast)';
  if (canonical === '255.255.255.255')
    return 'is the broadcast address: a server needs an address of its own';
  return undefined;
}

/**
 * One spelling per address: IPv4 as dotted quad; IPv6 as eight lower-case groups without
 * leading zeros, a zone kept; an IPv4-mapped IPv6 address as its IPv4 address. Returns `ip`
 * unchanged when it is not an IP address.
 */
export function canonicalAddress(ip: string): string {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return ip;
  const percent = ip.indexOf('%');
  const zone = percent >= 0 ? ip.slice(percent) : '';
  const groups = ipv6Groups(percent >= 0 ? ip.slice(0, percent) : ip);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped && zone === '') {
    const high = groups[6]!;
    const low = groups[7]!;
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups.map((group) => group.toString(16)).join(':')}${zone}`;
}

/** The eight 16-bit groups of a valid IPv6 address (no zone). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined) =>
    part === undefined || part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const front = parse(head);
  if (rest === undefined) return front;
  const back = parse(rest);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function isMulticast(canonical: string): boolean {
  if (canonical.includes('.') && !canonical.includes(':')) {
    const first = Number(canonical.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return canonical.startsWith('ff');
}

/** `ip:port`, or `[ip]:port` for IPv6, as URLs and most tools write an endpoint. */
export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
