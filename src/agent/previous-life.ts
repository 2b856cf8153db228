/**
 * What an agent does at start about an earlier run of itself, before its protocol starts and
 * before anything is planned: it makes its state directory and kills the scripts that a run
 * ended by SIGKILL left running (see executor/script-ledger.ts), so that none of them can finish
 * after this run's start-up clean-up, and logs what it did.
 */
import { LedgerWriteError, type Recovery, type ScriptLedger } from '../executor/script-ledger.js';
import type { Logger } from './log.js';
import { prepareStateDir, StateDirError } from './state-dir.js';

/**
 * Makes `state_dir` (this server's) and recovers `ledger`, the file in it. The caller must hold
 * this server's port already: that is what keeps a second agent of the server from starting on
 * the host, whose running scripts these would otherwise be. Throws StateDirError for a state
 * directory that cannot be made or written (a start error).
 */
export async function endPreviousLife(
  state_dir: string,
  ledger: ScriptLedger,
  log: Logger,
): Promise<Recovery> {
  prepareStateDir(state_dir);
  let recovery: Recovery;
  try {
    recovery = await ledger.recover();
  } catch (error) {
    if (error instanceof LedgerWriteError) throw new StateDirError(error.message);
    throw error;
  }
  if (recovery.problem !== undefined)
    log.warn(
      { file: ledger.file, problem: recovery.problem },
      'script ledger ignored: scripts an earlier run left running are not looked for',
    );
  const fields = (entry: Recovery['killed'][number]) => ({
    system: entry.system,
    item: entry.item,
    event: entry.event,
    pid: entry.pgid,
  });
  for (const entry of recovery.killed)
    log.warn(fields(entry), 'killed a script that an earlier run of this agent left running');
  for (const entry of recovery.still_running)
    log.error(
      fields(entry),
      'a script that an earlier run left running is still there after SIGKILL; starting anyway',
    );
  for (const { entry, why } of recovery.left_alone)
    log.info({ ...fields(entry), why }, 'a process group an earlier run recorded is left alone');
  return recovery;
}
