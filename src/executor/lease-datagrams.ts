/**
 * Renewal by datagram: the agent's side of it. A lease program that answers `datagrams` with a
 * port and a token (scripts/linux/vip-lease with the nftables fence) lets the agent reset an
 * item's elements in the fence itself, in the kernel, by sending one UDP datagram from the
 * loopback address to ITEM:PORT whose payload is the token: the fence's rules see it as it passes
 * the output hook and lo, and reset the timeout of an element that is there (see "Renewal by
 * datagram" in scripts/linux/vip-config.bash). No process is woken for it, which is what makes
 * lease rounds cheap; the program is asked only every few seconds, and after a stall (LeaseKeeper).
 *
 * The sockets are bound to 127.0.0.1 and ::1. Linux refuses to route an IPv4 datagram from
 * 127.0.0.1 to an address that is not on this host (EINVAL); an IPv6 one from ::1 would be routed
 * out, and the fence's output chain drops it (EPERM). Either way the send fails, and the item
 * counts as not renewed.
 */

import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/** Where renewal datagrams go and what they carry, as the lease program said. */
export interface DatagramTarget {
  port: number;
  /** The payload: the fence's token, 8 bytes. */
  token: Buffer;
}

/** Sends renewal datagrams. An interface so that tests can stand in for the kernel. */
export interface DatagramSender {
  /** Makes ready to send (binds the sockets); resolves when done, also when that failed. */
  open(): Promise<void>;
  /**
   * Sends `payload` to address:port; resolves whether the kernel took it (never rejects). The
   * datagram is handed to the kernel within this call (false when the sender is not open yet).
   */
  send(address: string, port: number, payload: Buffer): Promise<boolean>;
  close(): void;
}

/** Parses the rest of a `datagrams` reply (`PORT TOKEN`, or `0`): a target, `none`, or undefined when malformed. */
export function parseDatagramsReply(rest: string | undefined): DatagramTarget | 'none' | undefined {
  if (rest === '0') return 'none';
  const match = /^(\d{1,5}) 0x([0-9a-f]{16})$/.exec(rest ?? '');
  if (match === null) return undefined;
  const port = Number(match[1]);
  if (port < 1 || port > 65_535) return undefined;
  return { port, token: Buffer.from(match[2]!, 'hex') };
}

/** The real sender: one socket per family, bound to the loopback address by open(). */
export class LoopbackDatagrams implements DatagramSender {
  #v4: Socket | undefined;
  #v6: Socket | undefined;
  #opening: Promise<void> | undefined;
  #closed = false;

  open(): Promise<void> {
    this.#opening ??= Promise.all([
      openSocket('udp4', '127.0.0.1').then(
        (socket) => this.#keep(socket, 4),
        () => {},
      ),
      // A host without IPv6 on lo: its IPv6 items are renewed by request only.
      openSocket('udp6', '::1').then(
        (socket) => this.#keep(socket, 6),
        () => {},
      ),
    ]).then(() => {});
    return this.#opening;
  }

  #keep(socket: Socket, family: 4 | 6): void {
    if (this.#closed) socket.close();
    else if (family === 4) this.#v4 = socket;
    else this.#v6 = socket;
  }

  send(address: string, port: number, payload: Buffer): Promise<boolean> {
    const family = isIP(address);
    const socket = family === 4 ? this.#v4 : family === 6 ? this.#v6 : undefined;
    if (socket === undefined || this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      try {
        // With the literal-address lookup below, dgram calls sendto within this call.
        socket.send(payload, port, address, (error) => resolve(error === null || error === undefined));
      } catch {
        resolve(false);
      }
    });
  }

  close(): void {
    this.#closed = true;
    this.#v4?.close();
    this.#v6?.close();
    this.#v4 = undefined;
    this.#v6 = undefined;
  }
}

/**
 * dgram resolves a destination through dns.lookup, which answers even an IP literal on a later
 * tick; the items are literals, so this lookup answers at once, and the datagram goes to the
 * kernel within send(), right after the caller's deadline check.
 */
function literal(
  address: string,
  _options: unknown,
  callback: (error: Error | null, address: string, family: number) => void,
): void {
  callback(null, address, isIP(address));
}

function openSocket(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
  const socket = createSocket({ type, lookup: literal, ...(type === 'udp6' ? { ipv6Only: true } : {}) });
  return new Promise<Socket>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      // Later errors belong to one send, whose callback reports them.
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}
