/**
 * Whether the scripts a config names can run, checked before anything runs them: by the agent
 * at start (for its own systems: a problem refuses the start) and by `flip config check` (for
 * every system, since a config file is usually checked away from the servers that run it).
 */
import type { ClusterConfig, ConfigIssue } from '../config/index.js';
import { listSome } from '../text/quote.js';
import { scriptProblem } from './launcher.js';

export interface ScriptCheck {
  /** Scripts that cannot run where they must: the agent would refuse to start. */
  errors: ConfigIssue[];
  /** Scripts missing here that may exist on the servers that run them. */
  warnings: ConfigIssue[];
}

export interface ScriptCheckOptions {
  /** The server being checked; its systems' scripts must run on this host. None: a shared file. */
  self: string | undefined;
  /**
   * Whether this host is that server (`flip agent`, or `flip config check` with --id, FLIP_ID or
   * the host's address naming it): then every
   * problem with its scripts is an error. Otherwise only the files of scripts given relative to
   * the config file are judged here; absolute paths, names on PATH and #! interpreters, which
   * may exist only on the target host, are warnings.
   */
  on_host: boolean;
  /** Directory of the config file, which relative script paths start from. */
  config_dir: string;
  /** PATH to look bare names up in; the process's own by default. */
  path_env?: string;
}

export function checkConfigScripts(config: ClusterConfig, options: ScriptCheckOptions): ScriptCheck {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const self = config.servers.find((server) => server.id === options.self);
  for (const system of config.systems) {
    const mine = self?.systems.includes(system.name) === true;
    for (const event of ['alive', 'down', 'lease', 'check'] as const) {
      const script = system[event];
      if (script === undefined) continue;
      const found = scriptProblem(script, options.config_dir, options.path_env);
      if (found === undefined) continue;
      const problem = found.message;
      const path = `cluster.system.${system.name}.${event}`;
      // A script beside the config file is judged here; its interpreter belongs to the host.
      const judgedHere = script.includes('/') && !script.startsWith('/') && found.kind === 'script';
      if (mine) {
        if (options.on_host || judgedHere) errors.push({ path, message: problem });
        else warnings.push({ path, message: `${problem} here (it must exist on server ${options.self})` });
      } else if (!options.on_host) {
        // Only a check looks at other servers' systems; an agent never runs them.
        const members = listSome(system.members, 8);
        warnings.push({
          path,
          message: `${problem} here (it must exist on ${members}, the servers that run it)`,
        });
      }
    }
  }
  return { errors, warnings };
}
