/** `flip config check FILE [--id ID]` and `flip config schema`. */
import { dirname, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, formatIssues, loadClusterConfig } from '../../config/index.js';
import { configJsonSchema } from '../../config/json-schema.js';
import { idProblemMessage } from '../../config/self-id.js';
import { checkConfigScripts } from '../../executor/config-scripts.js';
import { hostAddresses } from '../host-addresses.js';
import { envId } from '../options.js';
import { renderSummary } from '../render.js';

export interface ConfigCheckOptions {
  /** Check as this server, on its host: its scripts must run here. */
  id?: string;
}

/**
 * Validates the file, then its scripts: those of the server checked (`--id`, FLIP_ID, the file's
 * `id`, or the one server whose ip is on this host; see config/self-id.ts) and, as warnings,
 * those that may exist only on other hosts (see checkConfigScripts). A file that names no server
 * and whose servers are all elsewhere is checked as a whole, for every server.
 */
export function configCheck(
  file: string,
  options: ConfigCheckOptions,
  out: (text: string) => void,
  err: (text: string) => void,
): void {
  const config = loadClusterConfig(file, {
    id: options.id,
    env_id: envId(),
    host_addresses: hostAddresses(),
  });
  const scripts = checkConfigScripts(config, {
    self: config.id,
    // Named for this host by the operator or by its address: its scripts must run here.
    on_host: config.id_from !== undefined && config.id_from !== 'file',
    config_dir: dirname(resolve(file)),
  });
  if (scripts.errors.length > 0) throw new ConfigError(scripts.errors, file);
  // The file's id on a host that owns another server's ip: the agent would refuse to start here,
  // but a file meant for one server may well be checked on another.
  const idWarnings: ConfigIssue[] =
    config.id !== undefined && config.id_problem !== undefined
      ? [
          {
            path: 'id',
            message: `${idProblemMessage(config.id_problem)} (flip agent would refuse to start here)`,
          },
        ]
      : [];
  const all = [...idWarnings, ...scripts.warnings];
  const warnings = all.length;
  if (warnings > 0) err(formatIssues(all, file).replace(/^/gm, 'warning: '));
  out(warnings === 0 ? `${file}: ok` : `${file}: ok, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  out(renderSummary(config));
}

export function configSchema(out: (text: string) => void): void {
  out(JSON.stringify(configJsonSchema(), null, 2));
}
