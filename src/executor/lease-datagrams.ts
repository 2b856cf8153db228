/**
 * Renewal by datagram: the agent's side of it. A lease program that answers `datagrams` with a
 * port and a token (scripts/linux/vip-lease with the nftables fence) lets the agent reset an
 * item's elements in the fence itself, in the kernel, by sending one UDP datagram from the
 * loopback address to ITEM:PORT whose payload is the token: the fence's rules see it as it passes
 * the output hook and lo, and reset the timeout of an element that is there (see "Renewal by
 * datagram" in scripts/linux/vip-config.bash). No process is woken for it, which is what makes
 * lease rounds cheap; the program is asked only about once a second (LeaseKeeper).
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
  /** Sends `payload` to address:port; resolves whether the kernel took it (never rejects). */
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

/** The real sender: one socket per family, bound to the loopback address, opened on first use. */
export class LoopbackDatagrams implements DatagramSender {
  #v4: Promise<Socket> | undefined;
  #v6: Promise<Socket> | undefined;
  #closed = false;

  send(address: string, port: number, payload: Buffer): Promise<boolean> {
    const family = isIP(address);
    if (family === 0 || this.#closed) return Promise.resolve(false);
    if (family === 4) this.#v4 ??= openSocket('udp4', '127.0.0.1');
    else this.#v6 ??= openSocket('udp6', '::1');
    const socket = family === 4 ? this.#v4! : this.#v6!;
    return socket.then(
      (s) =>
        new Promise<boolean>((resolve) => {
          try {
            s.send(payload, port, address, (error) => resolve(error === null || error === undefined));
          } catch {
            resolve(false);
          }
        }),
      () => false,
    );
  }

  close(): void {
    this.#closed = true;
    for (const socket of [this.#v4, this.#v6])
      socket?.then(
        (s) => s.close(),
        () => {},
      );
  }
}

function openSocket(type: 'udp4' | 'udp6', address: string): Promise<Socket> {
  const socket = createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
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
