/**
 * What a command does when the reader of its output goes away (`flip plan F | head -1`): a
 * write then fails with EPIPE, which Node reports as an unhandled error with a stack trace.
 * A command that only prints ends quietly, as a Unix tool killed by SIGPIPE does; the agent
 * keeps running (a closed log pipe must not make it drop or strand what it holds).
 */
let keepRunning = false;

/** Called by the agent command: a closed stdout loses log lines, nothing else. */
export function keepRunningWhenOutputCloses(): void {
  keepRunning = true;
}

/** Installs the handlers on stdout and stderr; `exitCode` gives the status to end with. */
export function handleClosedOutput(exitCode: () => number): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (keepRunning) return;
      // Any other failure to write (EIO from a vanished terminal) cannot be reported either.
      process.exit(error.code === 'EPIPE' ? exitCode() : 1);
    });
  }
}
