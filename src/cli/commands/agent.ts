/**
 * `flip agent --config FILE [--id ID]`: runs this server's agent until a signal stops it; SIGHUP
 * reloads the config file (Agent.reload).
 */
import { Agent } from '../../agent/agent.js';
import { StateDirError } from '../../agent/state-dir.js';
import { TransportError } from '../../transport/udp.js';
import { keepRunningWhenOutputCloses } from '../closed-output.js';
import { CliError, EXIT_FAILURE } from '../exit-codes.js';
import { hostAddresses } from '../host-addresses.js';
import { envId } from '../options.js';

export interface AgentCommandOptions {
  config?: string;
  pretty?: boolean;
  /** This server's id, over FLIP_ID and the file's `id` (config/self-id.ts). */
  id?: string;
  /** HOST:PORT of a running agent's API: complete a minimal config file from the cluster (join.ts). */
  join?: string;
  /** The API token for --join (or FLIP_TOKEN). */
  token?: string;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

export async function agent(options: AgentCommandOptions): Promise<number> {
  const file = options.config ?? process.env.FLIP_CONFIG;
  if (!file) throw new CliError('no config: pass --config FILE or set FLIP_CONFIG');
  keepRunningWhenOutputCloses();
  if (options.join !== undefined) {
    const { joinCluster } = await import('./join.js');
    const joined = await joinCluster(file, { join: options.join, token: options.token, id: options.id });
    process.stderr.write(
      joined.kind === 'joined'
        ? `flip: joined: ${file} now holds the cluster's config version ${joined.version} from ${options.join} (the minimal file is kept as ${joined.kept})\n`
        : `flip: ${file} already lists the cluster's servers: --join ${options.join} has nothing to do\n`,
    );
  }
  let running: Agent;
  try {
    running = await Agent.start(file, {
      pretty: options.pretty,
      identity: { id: options.id, env_id: envId(), host_addresses: hostAddresses() },
    });
  } catch (error) {
    if (error instanceof TransportError || error instanceof StateDirError)
      throw new CliError(error.message, EXIT_FAILURE);
    throw error;
  }
  // SIGHUP: read the config file again and apply what can change at runtime (the items); the
  // outcome is logged. One reload at a time; a SIGHUP during one reloads again after it.
  let reloading: Promise<unknown> = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading
      .then(() => running.reload())
      .catch((error: unknown) => {
        running.log.error({ err: (error as Error).message }, 'reload failed');
      });
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    // Removed from the cluster (flip server rm): leave it and stop, as on SIGTERM.
    void running.removed.then(() => {
      stopping = true;
      return running.shutdown('removed').then(() => resolve(0));
    });
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (stopping) {
          // A second signal: the operator wants out now.
          running.log.warn({ signal }, 'second signal, exiting at once');
          process.exit(EXIT_FAILURE);
        }
        stopping = true;
        running.shutdown(signal).then(() => resolve(0));
      });
    }
  });
}
