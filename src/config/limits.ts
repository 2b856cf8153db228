/**
 * Upper bounds of a config, each with the reason it exists. A config that passes these can be
 * run: every timer fits Node's 32-bit timers with room for the margins added to it, every item
 * and name can be passed to a script as an argument and an environment value, and checking
 * the file takes bounded time and memory.
 */

/** A config file larger than this is refused before it is read (bytes). */
export const CONFIG_FILE_BYTES_MAX = 8 * 1024 * 1024;

/** Problems listed for one file; the rest are counted, so a broken generated file stays readable. */
export const CONFIG_ISSUES_MAX = 100;

/**
 * Servers of one cluster. The wire format allows 65,536, but flip is simulated and measured up
 * to this size; every member's state must also fit the anti-entropy sync in bounded packets.
 */
export const SERVER_COUNT_MAX = 5000;

/** Systems of one cluster. */
export const SYSTEM_COUNT_MAX = 1000;

/** Items of all systems together. Placement is recomputed on every change, for every item. */
export const ITEM_COUNT_MAX = 100_000;

/** Keys in a rotation: the first encrypts and every one is tried on a packet of its id. */
export const KEY_COUNT_MAX = 16;

/**
 * An item reaches its scripts as an argument and as FLIP_ITEM. Linux refuses a single argument
 * or environment string over 128 KiB (MAX_ARG_STRLEN) with E2BIG, for ever; 16 KiB leaves room
 * for the system's config beside it (bytes of UTF-8).
 */
export const ITEM_BYTES_MAX = 16 * 1024;

/** Server ids and system names reach the scripts as FLIP_NODE and FLIP_SYSTEM, and every log line. */
export const NAME_BYTES_MAX = 255;

/** A script path: Linux's PATH_MAX. */
export const SCRIPT_PATH_BYTES_MAX = 4096;

/**
 * The state directory: Linux's PATH_MAX too. The agent's files sit a level below it (a directory
 * per server id), so a path near the bound fails at start with ENAMETOOLONG, named clearly.
 */
export const STATE_DIR_BYTES_MAX = 4096;

/**
 * A system's merged config reaches its scripts as JSON, as an argument and as FLIP_CONFIG (both
 * under MAX_ARG_STRLEN, and all of them together under the kernel's ARG_MAX of 2 MiB).
 */
export const SYSTEM_CONFIG_BYTES_MAX = 64 * 1024;

/** Nesting of objects and lists inside a system's config; deeper JSON is a mistake or an attack. */
export const SYSTEM_CONFIG_DEPTH_MAX = 32;

/**
 * Time keys, in ms. Node's timers take at most 2^31 - 1 ms (24.8 days) and fire after 1 ms
 * beyond that, so each key has a maximum that keeps it, and every sum built from it (the
 * start-up grace, a hand-back wait, a shutdown deadline), far below that. Each maximum is also
 * longer than any setting that makes sense for failover.
 */
export const TIME_MS_MAX = {
  /** A probe round a minute already means a failover takes minutes. */
  gossip_interval: 60_000,
  /** A reply slower than a minute is not a live server. */
  ping_timeout: 60_000,
  /** Coalescing changes for longer than five minutes only delays failover. */
  delay: 300_000,
  /** A script that runs for over an hour is stuck. */
  script_timeout: 3_600_000,
  /** Every failover waits the fence: a minute of it is already no failover. */
  fence: 60_000,
  /** A health check every hour is no health check. */
  check_interval: 3_600_000,
  /** A check still running after an hour is stuck. */
  check_timeout: 3_600_000,
  /** A server kept from its items for an hour after it is healthy again is kept out by hand. */
  hold_down: 3_600_000,
} as const;

/**
 * The shortest gap between two runs of a health check (ms): each run is a process, and ten a
 * second per system is already more than a health check needs.
 */
export const CHECK_INTERVAL_MS_MIN = 100;

/** Checks in a row for `rise` and `fall`: a hundred at the shortest interval is ten seconds. */
export const CHECK_COUNT_MAX = 100;

/** Members probed per round: more than this is a flood, not a probe. */
export const PING_PER_INTERVAL_MAX = 100;

/** Members asked to probe a silent member on our behalf. */
export const INDIRECT_PROBES_MAX = 100;
