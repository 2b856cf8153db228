/**
 * The PATH scripts are found on and run with: the agent's own, then the shipped scripts
 * (scripts/linux: vip-up, vip-down, vip-lease). So a config can name `vip-up` bare and it works
 * from a clone, a global `npm install` or /usr/lib/flip alike, while a program of the same name
 * earlier on the agent's PATH still wins.
 */
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** scripts/linux of this package (src/executor and dist/executor are both two levels down). */
export const SHIPPED_SCRIPTS_DIR = fileURLToPath(new URL('../../scripts/linux', import.meta.url));

/** `path` (the agent's PATH by default) with the shipped scripts' directory last. */
export function scriptPath(path: string | undefined = process.env.PATH): string {
  const dirs = (path ?? '').split(delimiter).filter((dir) => dir !== '');
  if (!dirs.includes(SHIPPED_SCRIPTS_DIR)) dirs.push(SHIPPED_SCRIPTS_DIR);
  return dirs.join(delimiter);
}
