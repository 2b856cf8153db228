/**
 * The shape of a flip config file as written by an operator, checked by zod.
 *
 * Objects are strict: an unknown key is an error (with a "did you mean" hint added by
 * validate.ts), because a misspelt key that is silently ignored is a default the operator
 * did not choose. Cross-field rules (id names a server, quorum fits, ...) live in validate.ts.
 */
import { z } from 'zod';
import { LOG_LEVELS, SYSTEM_TYPES } from './defaults.js';

const nonEmpty = z.string().min(1, 'must not be empty');
const millis = z.number().int('must be a whole number of milliseconds');

export const serverSchema = z.strictObject({
  ip: z.string().min(1, 'must not be empty').describe('IPv4 or IPv6 address this server listens on'),
  port: z
    .number()
    .int('must be a whole number')
    .min(1, 'is out of range (1-65535)')
    .max(65535, 'is out of range (1-65535)')
    .describe('UDP port this server listens on'),
  priority: z
    .number()
    .optional()
    .describe('lower is first: data is assigned to lower priorities first; default +infinity'),
  systems: z.array(nonEmpty).optional().describe('systems this server is a member of; none: an arbiter'),
});

export const systemSchema = z.strictObject({
  alive: nonEmpty.describe('script run when an item is assigned to this server'),
  down: nonEmpty.describe('script run when an item is taken away from this server'),
  type: z
    .enum(Object.keys(SYSTEM_TYPES) as [keyof typeof SYSTEM_TYPES, ...(keyof typeof SYSTEM_TYPES)[]])
    .describe('how data is divided: shard (sharded), replicated (replicate), single (choose_one)'),
  config: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('passed to the scripts, merged over cluster.config'),
  data: z.array(nonEmpty).describe('the items divided between the members'),
  delay: millis
    .min(0, 'must be >= 0')
    .optional()
    .describe('ms to wait so changes arriving together make one plan; default 500'),
  script_timeout: millis
    .min(1, 'must be >= 1')
    .optional()
    .describe('ms after which a running script is killed; default 30000'),
});

export const keySchema = z.union([nonEmpty, z.array(nonEmpty).min(1, 'must list at least one key')]);

export const configSchema = z.strictObject({
  id: nonEmpty.describe('the id of this server; must be a key of servers'),
  quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  gossip_interval: millis.min(1, 'must be >= 1').optional().describe('ms between probe rounds'),
  ping_per_interval: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  ping_timeout: millis.min(1, 'must be >= 1').optional().describe('ms without a reply before probably_down'),
  indirect_probes: z.number().int('must be a whole number').min(0, 'must be >= 0').optional(),
  key: keySchema.describe('shared secret, or a list: the first encrypts, all decrypt'),
  log_level: z.enum(LOG_LEVELS).optional(),
  remove_on_start: z.boolean().optional(),
  remove_on_failure: z.boolean().optional(),
  servers: z.record(nonEmpty, serverSchema).describe('every server of the cluster, by id'),
  cluster: z.strictObject({
    config: z.record(z.string(), z.unknown()).optional(),
    system: z.record(nonEmpty, systemSchema).optional(),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
