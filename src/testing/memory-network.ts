/**
 * An in-memory packet network for tests: PacketTransports (src/transport/udp.ts) that deliver to
 * each other inside one process, like memberlist's exported mock transport. A packet is copied
 * when sent and delivered on a later turn of the event loop (setImmediate), never in the
 * sender's call stack, to whoever is bound to the destination then; nothing is lost, reordered
 * only as setImmediate orders it, and a packet to an unbound endpoint is dropped.
 */
import type { Endpoint, PacketTransport } from '../transport/udp.js';

export type PacketHandler = (packet: Uint8Array, from: Endpoint) => void;

function keyOf(endpoint: Endpoint): string {
  return `${endpoint.ip}|${endpoint.port}`;
}

export class MemoryNetwork {
  readonly #bound = new Map<string, { onPacket: PacketHandler }>();

  /**
   * A transport bound to `self`: packets sent to `self` reach onPacket, with `self` of the
   * sender as `from`. Binding an endpoint again (a restarted node) replaces the earlier receiver;
   * close() unbinds, unless the endpoint was bound again since.
   */
  bind(self: Endpoint, onPacket: PacketHandler): PacketTransport {
    const key = keyOf(self);
    const from: Endpoint = { ip: self.ip, port: self.port };
    const binding = { onPacket };
    this.#bound.set(key, binding);
    return {
      send: (to, packet) => {
        const copy = packet.slice();
        setImmediate(() => this.#bound.get(keyOf(to))?.onPacket(copy, from));
      },
      close: async () => {
        if (this.#bound.get(key) === binding) this.#bound.delete(key);
      },
    };
  }
}
