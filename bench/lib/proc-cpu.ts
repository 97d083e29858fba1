/**
 * CPU time a process has used so far (user + system), read from
 * /proc/<pid>/stat: what each process of a scenario spent, read from the
 * outside without asking the process (which would cost it a turn).
 */
import fs from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds used by `pid`; NaN where /proc is not available or the process is gone. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count the fields from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 (utime) and 15 (stime), numbered from 1; the slice starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of each named process, now. */
export function cpuSnapshot(pids: ReadonlyMap<string, number | undefined>): Map<string, number> {
  return new Map([...pids].map(([name, pid]) => [name, cpuSecondsOf(pid)]));
}

/** Microseconds of CPU per unit of work between two snapshots, by process name. */
export function cpuPerUnitUs(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>, units: number): Map<string, number> {
  return new Map([...after].map(([name, s]) => [name, ((s - (before.get(name) ?? Number.NaN)) * 1e6) / Math.max(1, units)]));
}
