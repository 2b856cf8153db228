/**
 * What the Linux kernel promises about an address with a lifetime: how soon after its last renewal
 * it is gone. The agent waits this out before it counts a silent server's leased addresses as
 * deleted (see scripts/linux/README.md, "Leases").
 */

/**
 * The lifetime a lease program gives the addresses it renews (FLIP_LEASE_LIFETIME_S), in seconds:
 * the shortest the kernel takes, since lifetimes are whole seconds.
 */
export const LINUX_LEASE_LIFETIME_S = 1;

/**
 * Within how many ms of its last renewal the kernel has deleted an address renewed with a lifetime
 * of LINUX_LEASE_LIFETIME_S (1 s).
 *
 * Why 1500: the kernel's rules give about 1300 (the lifetime check is check_lifetime() in net/ipv4/devinet.c and addrconf_verify_rtnl()
 * in net/ipv6/addrconf.c, with the same rules):
 * - lifetimes are whole seconds, counted from the jiffy of the renewal, so the address is due 1 s
 *   after it (the check counts it expired HZ/50, 20 ms, early);
 * - the check is delayed work, set for the earliest due address and moved to the next whole
 *   second when that is less than HZ/4 (250 ms) later, so it runs up to 250 ms after the address
 *   is due;
 * - after each run the next one is at least HZ (1 s) later, and a renewal runs it at once, so that
 *   minimum never keeps it from the address that was just renewed;
 * - the timer wheel fires a timer of about a second up to one slot late: 7 jiffies at HZ=250
 *   (28 ms), 63 at HZ=1000 (63 ms), 7 at HZ=100 (70 ms).
 * So the address is gone by 1000 + 244 + 28 = 1272 ms after its renewal at HZ=250 (Debian's
 * kernels), plus the few ms the work waits for a worker and the RTNL lock. At HZ=1000 (a common
 * choice) the same sum is 1000 + 249 + 63 = 1312 ms, so there 1300 can be exceeded by a
 * few ms, rarely: a fence for such kernels needs 1350. Measured on Linux 6.18 (HZ=250) by
 * test/netns/lease.test.ts: see scripts/linux/README.md.
 *
 * When the bound does not hold:
 * - an address of the same family added, or changed, in the same network namespace during the last
 *   second before the address is due runs the check at once, and the next run is then a whole
 *   second after that change: the address can stay until about 1.3 s after that change, up to
 *   about 2.3 s after its last renewal. A frozen or killed agent's renewals all stop together, but
 *   one of its `alive` scripts still running, a DHCP client or IPv6 router advertisements can
 *   change addresses in that second. test/netns/lease.test.ts shows it.
 * - the check's timer is deferrable (IPv6 since Linux 5.18, IPv4 since 6.13, where the check also
 *   became one per network namespace): a CPU that is completely idle runs it only when it wakes
 *   up for something else. A server that answers for a VIP rarely idles that long.
 * - the check runs in a kernel worker and deletes under the RTNL lock: saturated CPUs, or the lock
 *   held by other work (namespaces being deleted, heavy netlink traffic), delay it. Measured once
 *   at 1413 ms, on a 2-CPU VM where another test suite was building and deleting namespaces; four
 *   runs of 36 trials otherwise stayed at or under 1263 ms (p50 about 1025 ms).
 */
export const LINUX_LIFETIME_FENCE_MS = 1500;

/**
 * Within how many ms of its last renewal an address is gone while scripts/linux/vip-lease runs
 * (the agent killed, frozen, or renewing no more): vip-lease is also a watchdog. It deletes each
 * address it renewed once the kernel counts its lifetime as run out (1 s after the renewal; the
 * kernel itself may take up to LINUX_LIFETIME_FENCE_MS to get round to it), looking every 10 ms
 * from its own deadline on, and deletes them all at once on end of input (the agent died).
 *
 * Why 1200: the kernel counts the lifetime as run out 1000 ms after the renewal's jiffy; vip-lease
 * looks at its deadline (1000 ms after a /proc/uptime reading taken just before the renewal, so
 * up to 10 ms early) and then every 10 ms, and each look starts one `ip address show`. Measured by
 * test/netns/lease.test.ts ("the watchdog ..."): see docs/SAFETY.md for the distribution. The
 * rest is room for a loaded host, whose processes start late.
 *
 * This bound holds only while vip-lease runs: if it dies or freezes together with the agent (the
 * whole process tree killed, the host frozen), LINUX_LIFETIME_FENCE_MS is the bound.
 */
export const VIP_LEASE_WATCHDOG_FENCE_MS = 1200;

/**
 * The timeout of an address's element in the nftables fence of the shipped scripts (NFT_TIMEOUT_MS
 * in scripts/linux/vip-config.bash): every renewal resets it. Renewals come at most 550 ms apart
 * (GRANTS_LOST_MS under `keep`, membership/lease.ts; every 250 ms round's grants under `release`),
 * so 800 ms leaves 250 ms of delay, a round's worth, before a live holder's address goes unanswered;
 * an agent stalled longer drops its leased items anyway (the controller's `stalled` event). The kernel checks an element's
 * timeout at each packet's lookup, to the jiffy, and the fence's rules drop what a host would send
 * or take for an address without its element: so the host stops answering for the address this
 * long after the element's last renewal, whatever the agent, vip-lease and the address lifetime do.
 */
export const NFT_LEASE_TIMEOUT_MS = 800;

/**
 * vip-up's lease made past its deadline (FLIP_LEASE_DEADLINE_MS) gets an element that ends when one
 * made at the deadline would, NFT_LEASE_TIMEOUT_MS less how late it is; with less than this left
 * it leases nothing and exits LEASE_LATE_EXIT_CODE (NFT_LATE_TIMEOUT_MIN_MS in vip-config.bash).
 */
export const NFT_LATE_TIMEOUT_MIN_MS = 100;

/**
 * Within how many ms of its last renewal a host with the nftables fence has stopped answering for
 * an address: NFT_LEASE_TIMEOUT_MS plus room for what comes between the renewal's deadline check and
 * the kernel's reset of the element (a renew request: vip-lease writes one line to its nft
 * coprocess, which carries it out in a few ms, measured by test/netns/lease.test.ts, "the nftables
 * fence ..."; a renewal datagram, executor/lease-datagrams.ts: the agent's own sendto on the next
 * tick, the element of table inet flip reset in the output hook within that call, that of table
 * netdev flip as lo receives it, in the softirq that follows) and the jiffy
 * (4 ms at HZ=250, 10 ms at HZ=100): 200 ms. On a quiet host the commit takes a few ms; CI, at a
 * load average of about 15 with other namespace tests running, once measured more than 90 ms from
 * the request to the commit, so a loaded host whose vip-lease (and its nft) is scheduled late
 * needs room well beyond the quiet figure. The scripts refuse a fence below it (NFT_FENCE_MIN_MS), and
 * a host without nftables one below LINUX_LIFETIME_FENCE_MS (see scripts/linux/README.md).
 */
export const NFT_FENCE_MS = 1000;
