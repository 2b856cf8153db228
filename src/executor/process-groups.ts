/**
 * What the kernel says about the process groups that scripts run in: whether a group still has a
 * live member, and which process a pid names now. Linux's /proc answers; elsewhere the answers are
 * "unknown" and callers act on the safe side (the launcher waits, the script ledger kills nothing).
 *
 * A pid alone does not name a process for long: once a process is gone its number may be given to
 * another. A pid together with the process's start time (field 22 of /proc/PID/stat, in clock
 * ticks since boot) names one process for the life of the machine, so that is what is recorded
 * and compared before a group is signalled.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc/PID/stat describes it. */
export interface ProcessStat {
  /** One letter: R, S, D, Z (zombie), X (dead), T... */
  state: string;
  /** The process group it is in. */
  pgrp: number;
  /** When it started, in clock ticks since boot, as the decimal digits /proc gives. */
  start_ticks: string;
}

/** /proc/PID/stat of `pid`, or undefined when there is no such process or no /proc. */
export function processStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return parseStat(text);
}

/**
 * The fields of a /proc/PID/stat line that matter here, or undefined when it is not one. The
 * command name (field 2) is in parentheses and may itself hold spaces and parentheses, so the
 * fields are counted from the last `)`: state is field 3, pgrp field 5, starttime field 22.
 */
export function parseStat(text: string): ProcessStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const pgrp = fields[2];
  const start = fields[19];
  if (state === undefined || pgrp === undefined || start === undefined) return undefined;
  if (!/^\d+$/.test(pgrp) || !/^\d+$/.test(start)) return undefined;
  return { state, pgrp: Number(pgrp), start_ticks: start };
}

/** The start time of process `pid` (see ProcessStat), or undefined when it is unknown. */
export function processStartTicks(pid: number): string | undefined {
  return processStat(pid)?.start_ticks;
}

/** This boot of the machine (Linux's boot_id), or undefined without /proc. */
export function bootId(): string | undefined {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

/**
 * Whether the group `pgid` may still have a member: false once kill(-pgid, 0) finds none. Cheap,
 * but it counts zombies, which linger until reaped; see groupExists for the careful answer.
 */
export function groupMayExist(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    // EPERM: members exist that we may not signal; they are members all the same.
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Whether any process of the group `pgid` is still alive. kill(-pgid, 0) also counts zombies,
 * which linger until their new parent reaps them (slowly, under some container inits, or never),
 * so on Linux /proc decides whether a member is more than a zombie.
 */
export function groupExists(pgid: number): boolean {
  if (!groupMayExist(pgid)) return false;
  return liveGroups()?.has(pgid) ?? true;
}

/**
 * The process groups that have a live member (not a zombie), from one pass over /proc; undefined
 * without /proc. For asking about several groups at once.
 */
export function liveGroups(): Set<number> | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const groups = new Set<number>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(Number(entry));
    if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') groups.add(stat.pgrp);
  }
  return groups;
}

const NUL = Buffer.from([0]);

/**
 * The live processes whose environment, as they were started, holds the entry `entry` ("NAME=value"),
 * from one pass over /proc; [] without /proc. A process whose environment cannot be read (another
 * user's, without the rights) is not among them.
 */
export function processesWithEnvironment(entry: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  // Entries are NUL-terminated; a NUL in front makes the first one match like the others.
  const wanted = Buffer.from(`\0${entry}\0`);
  const found: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let environment: Buffer;
    try {
      environment = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue;
    }
    if (Buffer.concat([NUL, environment]).indexOf(wanted) < 0) continue;
    const stat = processStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X') found.push(Number(name));
  }
  return found;
}

export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
