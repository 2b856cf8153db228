/**
 * The addresses of this host's interfaces, for choosing which server of a shared config this is
 * (config/self-id.ts). A link-local IPv6 address is also given with its zone (`fe80::1%eth0`),
 * as a server's `ip` must be written to be usable.
 */
import { networkInterfaces } from 'node:os';

export function hostAddresses(): string[] {
  const addresses: string[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const entry of list ?? []) {
      addresses.push(entry.address);
      if (entry.family === 'IPv6' && entry.scopeid !== undefined && entry.scopeid !== 0)
        addresses.push(`${entry.address}%${name}`);
    }
  }
  return addresses;
}
