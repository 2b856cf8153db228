/**
 * The UDP transport: one datagram socket bound to this server's own ip:port. Packets are
 * best-effort, as the protocol expects; nothing here parses or trusts their contents.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface PacketTransport {
  send(to: Endpoint, packet: Uint8Array): void;
  close(): Promise<void>;
}

/** Why the transport could not start, in words an operator can act on. */
export class TransportError extends Error {
  override name = 'TransportError';
}

/** Socket buffer size asked of the kernel: a burst of a few hundred packets must not be lost. */
const SOCKET_BUFFER_BYTES = 1 << 20;

export async function bindUdp(
  local: Endpoint,
  onPacket: (packet: Uint8Array, from: Endpoint) => void,
  onSendError: (error: Error) => void = () => {},
): Promise<PacketTransport> {
  const family = isIP(local.ip);
  if (family === 0) throw new TransportError(`${local.ip} is not an IP address`);
  const socket: Socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only: family === 6,
    lookup: literalLookup,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      socket.close();
      reject(new TransportError(bindErrorMessage(local, error)));
    };
    socket.once('error', onError);
    socket.bind({ address: local.ip, port: local.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
  } catch {
    // The kernel may cap buffer sizes; the defaults still work.
  }
  socket.on('message', (packet, info) => onPacket(packet, { ip: info.address, port: info.port }));
  // A running socket's errors (e.g. ICMP unreachable reported on send) are not fatal.
  socket.on('error', (error) => onSendError(error));

  return {
    send(to, packet) {
      socket.send(packet, to.port, to.ip, (error) => {
        if (error) onSendError(error);
      });
    },
    close() {
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}

/**
 * The socket's resolver: a peer's address is an IP literal (the config takes nothing else), which
 * needs no resolving, so the send goes out in the same turn. Node's default, dns.lookup, answers
 * a literal a tick later, and that tick with its bookkeeping cost about as much as the send's
 * system call in an idle agent's profile. Anything else goes to dns.lookup.
 */
function literalLookup(
  address: string,
  family: LookupOneOptions | number,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const version = isIP(address);
  if (version !== 0) callback(null, address, version);
  else dnsLookup(address, typeof family === 'number' ? { family } : family, callback);
}

function bindErrorMessage(local: Endpoint, error: NodeJS.ErrnoException): string {
  const where = local.ip.includes(':') ? `[${local.ip}]:${local.port}` : `${local.ip}:${local.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on UDP ${where}: the port is already in use (is another flip agent running?)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on UDP ${where}: ${local.ip} is not an address of this host (check servers.<id>.ip and id)`;
    case 'EACCES':
      return `cannot listen on UDP ${where}: permission denied (ports below 1024 need privileges)`;
    default:
      return `cannot listen on UDP ${where}: ${error.message}`;
  }
}
