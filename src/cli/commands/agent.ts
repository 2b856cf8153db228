/** `flip agent --config FILE`: runs this server's agent until a signal stops it. */
import { Agent } from '../../agent/agent.js';
import { StateDirError } from '../../agent/state-dir.js';
import { TransportError } from '../../transport/udp.js';
import { keepRunningWhenOutputCloses } from '../closed-output.js';
import { CliError, EXIT_FAILURE } from '../exit-codes.js';

export interface AgentCommandOptions {
  config?: string;
  pretty?: boolean;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

export async function agent(options: AgentCommandOptions): Promise<number> {
  const file = options.config ?? process.env.FLIP_CONFIG;
  if (!file) throw new CliError('no config: pass --config FILE or set FLIP_CONFIG');
  keepRunningWhenOutputCloses();
  let running: Agent;
  try {
    running = await Agent.start(file, { pretty: options.pretty });
  } catch (error) {
    if (error instanceof TransportError || error instanceof StateDirError)
      throw new CliError(error.message, EXIT_FAILURE);
    throw error;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
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
