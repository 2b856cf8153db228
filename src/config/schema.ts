/**
 * The shape of a flip config file as written by an operator, checked by zod.
 *
 * Objects are strict: an unknown key is an error (with a "did you mean" hint added by
 * validate.ts), because a misspelt key that is silently ignored is a default the operator
 * did not choose. Every number has a range and every string a length and the characters it
 * may hold (limits.ts, text-rules.ts), each with the reason in its message. Cross-field rules
 * (id names a server, quorum fits, ...) live in validate.ts.
 */
import { z } from 'zod';
import { LOG_LEVELS, NO_QUORUM_POLICIES, SYSTEM_TYPES } from './defaults.js';
import {
  CHECK_COUNT_MAX,
  CHECK_INTERVAL_MS_MIN,
  INDIRECT_PROBES_MAX,
  ITEM_BYTES_MAX,
  KEY_COUNT_MAX,
  NAME_BYTES_MAX,
  PING_PER_INTERVAL_MAX,
  SCRIPT_PATH_BYTES_MAX,
  STATE_DIR_BYTES_MAX,
  TIME_MS_MAX,
} from './limits.js';
import { type TextUse, textProblem } from './text-rules.js';

/** A string that must follow the rules of `use` (see text-rules.ts). */
function text(use: TextUse, bytes_max: number) {
  return z.string().superRefine((value, context) => {
    const problem = textProblem(value, use, bytes_max);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  });
}

const name = text('name', NAME_BYTES_MAX);
const script = text('script', SCRIPT_PATH_BYTES_MAX);
const directory = text('path', STATE_DIR_BYTES_MAX);
const secret = z.string().min(1, 'must not be empty');
const noQuorumPolicy = z
  .enum(NO_QUORUM_POLICIES)
  .describe('what a server that cannot reach a quorum does with what it holds: keep (default) or release');

/** A whole number from `min` to `max`, with the range in every message. */
function whole(min: number, max: number, unit = '') {
  const range = `${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}${unit}`;
  return z
    .number()
    .int(`must be a whole number${unit === '' ? '' : ` of${unit}`} (${range})`)
    .min(min, `is out of range (${range})`)
    .max(max, `is out of range (${range})`);
}

/** A time key in ms, bounded by TIME_MS_MAX so that no timer built from it can overflow. */
function millis(min: number, key: keyof typeof TIME_MS_MAX) {
  return whole(min, TIME_MS_MAX[key], ' ms');
}

const preempt = z
  .boolean()
  .describe(
    'true (default): items return to the server placement prefers once it is back; false: they stay with their holder until it fails (keepalived nopreempt)',
  );

const holdDown = millis(0, 'hold_down').describe(
  `ms a returning server must stay healthy before items return to it; default 10000, 0 for none, at most ${TIME_MS_MAX.hold_down}`,
);

/** A server's HTTP API (see api-listen.ts); `false` or `listen: "off"` turns it off. */
export const apiSchema = z.union([
  z.literal(false),
  z.strictObject({
    listen: z
      .string()
      .min(1, 'must not be empty')
      .max(64, 'is too long (at most 64 characters)')
      .optional()
      .describe(
        'address:port the HTTP API listens on ([v6]:port for IPv6), or "off"; default: 127.0.0.1 (the server\'s own address when it is a loopback one) on the TCP port of the same number as the server\'s UDP port',
      ),
    token: secret
      .optional()
      .describe('bearer token for changes, and for reads when listening beyond loopback'),
    token_file: directory
      .optional()
      .describe('a file holding the token (relative to the config file), instead of token'),
  }),
]);

export const serverSchema = z.strictObject({
  ip: z.string().min(1, 'must not be empty').describe('IPv4 or IPv6 address this server listens on'),
  port: whole(1, 65535).describe('UDP port this server listens on'),
  priority: z
    .number()
    .optional()
    .describe('lower is first: data is assigned to lower priorities first; default +infinity'),
  systems: z.array(name).optional().describe('systems this server is a member of; none: an arbiter'),
  api: apiSchema
    .optional()
    .describe('the HTTP API (status, events, metrics): default on, loopback only; false turns it off'),
});

export const systemSchema = z.strictObject({
  alive: script.describe('script run when an item is assigned to this server'),
  down: script.describe('script run when an item is taken away from this server'),
  type: z
    .enum(Object.keys(SYSTEM_TYPES) as [keyof typeof SYSTEM_TYPES, ...(keyof typeof SYSTEM_TYPES)[]])
    .describe('how data is divided: shard (sharded), hash, replicated (replicate), single (choose_one)'),
  config: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('passed to the scripts, merged over cluster.config'),
  data: z.array(text('item', ITEM_BYTES_MAX)).describe('the items divided between the members'),
  delay: millis(0, 'delay')
    .optional()
    .describe(
      `ms to wait so changes arriving together make one plan; default 500, at most ${TIME_MS_MAX.delay}`,
    ),
  script_timeout: millis(1, 'script_timeout')
    .optional()
    .describe(
      `ms after which a running script is killed; default 30000, at most ${TIME_MS_MAX.script_timeout}`,
    ),
  no_quorum_policy: noQuorumPolicy.optional(),
  lease: script
    .optional()
    .describe(
      'long-running program that renews held items so they lapse by themselves when the agent stops (scripts/linux/vip-lease for VIPs)',
    ),
  fence: millis(1, 'fence')
    .optional()
    .describe(
      `ms after its last renewal within which a held item stops being answered for, agent or not; default 1500, at most ${TIME_MS_MAX.fence}`,
    ),
  check: script
    .optional()
    .describe(
      'health check run every check_interval: a server whose check fails `fall` times in a row holds none of the items until it passes `rise` times again',
    ),
  check_interval: millis(CHECK_INTERVAL_MS_MIN, 'check_interval')
    .optional()
    .describe(`ms between health checks; default 2000, at least ${CHECK_INTERVAL_MS_MIN}`),
  check_timeout: millis(1, 'check_timeout')
    .optional()
    .describe('ms after which a running check has failed and is killed; default 2000'),
  rise: whole(1, CHECK_COUNT_MAX)
    .optional()
    .describe('passes in a row that make a failing server healthy; default 2'),
  fall: whole(1, CHECK_COUNT_MAX)
    .optional()
    .describe('failures in a row that make a healthy server failing; default 3'),
  hold_down: holdDown.optional(),
  preempt: preempt.optional(),
});

export const keySchema = z.union([
  secret,
  z
    .array(secret)
    .min(1, 'must list at least one key')
    .max(KEY_COUNT_MAX, `lists too many keys (at most ${KEY_COUNT_MAX}: a rotation needs two or three)`),
]);

export const configSchema = z.strictObject({
  id: name
    .optional()
    .describe(
      'the id of this server; must be a key of servers. Leave it out of a file shared by every server: each agent is then named by --id, FLIP_ID or the one server whose ip is on its host',
    ),
  quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  gossip_interval: millis(1, 'gossip_interval')
    .optional()
    .describe(`ms between probe rounds; at most ${TIME_MS_MAX.gossip_interval}`),
  ping_per_interval: whole(1, PING_PER_INTERVAL_MAX).optional(),
  ping_timeout: millis(1, 'ping_timeout')
    .optional()
    .describe(`ms without a reply before a probe has failed; at most ${TIME_MS_MAX.ping_timeout}`),
  indirect_probes: whole(0, INDIRECT_PROBES_MAX).optional(),
  key: keySchema.describe('shared secret, or a list: the first encrypts, all decrypt'),
  log_level: z.enum(LOG_LEVELS).optional(),
  remove_on_start: z.boolean().optional(),
  remove_on_failure: z.boolean().optional(),
  no_quorum_policy: noQuorumPolicy.optional(),
  hold_down: holdDown.optional(),
  preempt: preempt.optional(),
  state_dir: directory
    .optional()
    .describe(
      'directory for the state that must outlive the agent, in a subdirectory per server id; relative to the config file; default /var/lib/flip',
    ),
  servers: z.record(name, serverSchema).describe('every server of the cluster, by id'),
  cluster: z.strictObject({
    config: z.record(z.string(), z.unknown()).optional(),
    system: z.record(name, systemSchema).optional(),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
