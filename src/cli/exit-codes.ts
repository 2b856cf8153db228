/** Exit statuses of the flip command. */
export const EXIT_OK = 0;
/** A runtime failure: an agent that could not start, a demo whose failover did not happen. */
export const EXIT_FAILURE = 1;
/** Bad input: an invalid config, an unknown server id, a wrong option. */
export const EXIT_USAGE = 2;

/** An expected failure with a message for the user and an exit status; never a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}
/** `flip status` / `flip members`: the API answered, and the cluster is not healthy from there. */
export const EXIT_UNHEALTHY = 3;
/** `flip status` / `flip members`: the API could not be reached or did not answer as expected. */
export const EXIT_UNREACHABLE = 4;
