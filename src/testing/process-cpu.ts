/**
 * How much CPU a process has used, for the benchmarks: clock ticks from /proc/PID/stat (its
 * children that it waited for too), and nanoseconds from its threads' schedstat, which an idle
 * agent's minute needs (at 0.7% of a core it is about 40 ticks of 10 ms).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time of one process, from /proc/PID/stat, in clock ticks. */
export interface CpuTicks {
  /** utime + stime of the process itself. */
  self: number;
  /** cutime + cstime: the children it has waited for. */
  reaped: number;
}

export function cpuTicks(pid: number): CpuTicks {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { self: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return { self: 0, reaped: 0 };
  }
}

let ticksPerSecond: number | undefined;

/** Clock ticks a second (`getconf CLK_TCK`; 100 when that cannot say). */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return ticksPerSecond;
}

/**
 * CPU time of one process's own threads so far (ns): the sum of their schedstat run times, or its
 * clock ticks where schedstat is missing (a kernel without schedstats); 0 when it is gone.
 */
export function cpuNs(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'latin1').split(' ')[0]);
    return ns;
  } catch {
    return (cpuTicks(pid).self / clockTicksPerSecond()) * 1e9;
  }
}
