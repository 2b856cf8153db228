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

/*
 * The runtime-change commands (flip data|server|system, flip config show|history): one status per
 * failure class, so that a script can tell "retry" from "fix the change" from "look first". 2
 * is bad input as everywhere (the API's 400 too: a body it could not take), 4 an API that could
 * not be reached (nothing was sent, or nothing was answered before the connection failed).
 */
/** The change does not fit the committed config (422); nothing changed: fix the change. */
export const EXIT_CHANGE_INVALID = 5;
/** It conflicts with a change made at the same time (409); nothing changed: look again, retry. */
export const EXIT_CHANGE_CONFLICT = 6;
/** No leader with a majority could be reached (503 no_quorum); nothing changed: retry later. */
export const EXIT_NO_QUORUM = 7;
/** The agent asked is not a server of the cluster's config (503 unknown_server); nothing changed: ask another. */
export const EXIT_UNKNOWN_SERVER = 8;
/** No answer in time (504, or the request's own timeout): it may or may not commit; look first. */
export const EXIT_CHANGE_TIMEOUT = 9;
/** The API refused the token (401: none or wrong; 403: the agent has none, so takes no changes). */
export const EXIT_DENIED = 10;
/** The agent does not take runtime changes (501: its replica is not wired to the API). */
export const EXIT_NOT_AVAILABLE = 11;
