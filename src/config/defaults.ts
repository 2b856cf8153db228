/**
 * Defaults for every optional config key, with the reasoning behind each.
 *
 * The original flip used gossip_interval 1000 ms, 1 ping per interval and ping_timeout 1500 ms.
 * memberlist's LAN preset probes every 1000 ms with a 500 ms timeout and then waits a suspicion
 * timeout of several seconds. flip decides "down" by quorum instead of by a long suspicion
 * timer, so one node's slow link cannot take a server down on its own; that lets the timers be
 * short without false alarms. A LAN round trip is well under 1 ms and even a busy Node.js event
 * loop answers within tens of milliseconds, so a 500 ms timeout is still ~100x the normal reply
 * time, while a crash is noticed in about interval + timeout.
 */
export const DEFAULTS = {
  /**
   * How often each node starts a round of probes (ms). An idle agent's CPU is per packet (mostly
   * the wake-ups), about 0.09% + 165 ms / interval of a core here: 450 ms keeps it under 0.5%
   * (250 ms cost 0.7%). With one probe a round, each peer of a three-server cluster is probed by
   * each other server every 900 ms; with the timeout below a crash is declared in about 0.8 s
   * (p50, simulated).
   */
  gossip_interval_ms: 450,
  /** Members probed per round. 1 keeps per-node load constant as the cluster grows. */
  ping_per_interval: 1,
  /**
   * A probe without an answer after this long has failed (ms): still ~100 times a LAN round trip
   * and longer than a Node.js GC pause; local health stretches it when we are the slow one, and
   * one server's failed probe is never enough to declare anybody down.
   */
  ping_timeout_ms: 300,
  /** Members asked to probe a silent member on our behalf (SWIM's k). */
  indirect_probes: 3,
  /** A system's plan is computed this long after the first change, so bursts make one plan (ms). */
  delay_ms: 500,
  /** A script still running after this long is killed with its whole process group (ms). */
  script_timeout_ms: 30_000,
  log_level: 'info',
  /** Run `down` at start for items this node does not hold (the original's remove_on_start). */
  remove_on_start: true,
  /** Run `down` for everything held when stopped by a signal (the original's remove_on_failure). */
  remove_on_failure: true,
  /**
   * A server that cannot reach a quorum keeps what it holds: the original flip's behaviour, and
   * its README's story (a total partition moves nothing). `release` trades that for never two
   * owners: see docs/SAFETY.md.
   */
  no_quorum_policy: 'keep',
  /**
   * How long after the agent last renewed an item's lease the host may still answer for it
   * (ms). The shipped Linux VIP handling keeps each leased address's element in an nftables set
   * with an 800 ms timeout that the lease program (vip-lease) renews, and drops whatever the host
   * would send or take for the address without it: the kernel itself stops the host answering
   * 800 ms after the last renewal, agent and vip-lease killed or frozen or not (NFT_FENCE_MS,
   * executor/lease-fence.ts: the timeout and 200 ms for the renewal's commit). A host without
   * nftables has only the address's own lifetime, which the kernel enforces within 1.5 s
   * (LINUX_LIFETIME_FENCE_MS): the scripts refuse to run there unless `fence` is 1500.
   */
  fence_ms: 1000,
  /**
   * Where the agent keeps what must outlive it (the process groups of the scripts it runs, to
   * kill after a SIGKILL), in a directory per server id: the FHS place for a daemon's state.
   */
  state_dir: '/var/lib/flip',
  /**
   * A system's health check runs every this many ms: HAProxy's default check interval (`inter`),
   * a process spawn every two seconds per system, cheap beside the agent's own packets.
   */
  check_interval_ms: 2000,
  /**
   * A check still running after this long has failed, and its process group is killed (ms). The
   * interval too, as HAProxy bounds a check by `inter`: a check that needs longer than the gap
   * between two checks cannot tell a live service from a stuck one in time anyway.
   */
  check_timeout_ms: 2000,
  /**
   * Passes in a row that make a failing server healthy again, and failures in a row that make a
   * healthy one failing: HAProxy's defaults. One timed-out check on a loaded host moves nothing;
   * a dead service is noticed in about three intervals (6 s).
   */
  rise: 2,
  fall: 3,
  /**
   * A returning server (restarted, back after it was declared down, or healthy again after its
   * check failed) gets its items back only after it has stayed healthy this long (ms). 10 s is
   * systemd's default start-limit interval (five starts in 10 s), so an agent in a restart loop,
   * a link that flaps every few seconds or a check that passes and fails in turn keeps its
   * items away instead of pulling them back each time; it is longer than a check's fall (6 s)
   * and than a failure's detection (about 1 s), and a returning server's items are served by
   * another member meanwhile, so waiting costs clients nothing.
   */
  hold_down_ms: 10_000,
  /**
   * Items return to the server placement prefers (the original flip's behaviour: "when a server
   * comes back its data returns"). `false` is keepalived's `nopreempt`.
   */
  preempt: true,
} as const;

/** What a server that cannot reach a quorum does with what it holds (see docs/SAFETY.md). */
export const NO_QUORUM_POLICIES = ['keep', 'release'] as const;
export type NoQuorumPolicy = (typeof NO_QUORUM_POLICIES)[number];

export const LOG_LEVELS = ['debug', 'info', 'warning', 'warn', 'error', 'fatal'] as const;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Every spelling of a system type that flip accepts, and what it means. */
export const SYSTEM_TYPES = {
  shard: 'shard',
  sharded: 'shard',
  replicated: 'replicated',
  replicate: 'replicated',
  single: 'single',
  choose_one: 'single',
  hash: 'hash',
} as const;
export type SystemType = (typeof SYSTEM_TYPES)[keyof typeof SYSTEM_TYPES];

/** The default quorum, as in the original: a strict majority of all servers, arbiters counted. */
export function defaultQuorum(serverCount: number): number {
  return Math.floor(serverCount / 2) + 1;
}
