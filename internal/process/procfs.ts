/**
 * Facts about live processes from /proc. "Alive" always means the pid exists
 * AND its start time matches the one recorded at spawn: a reused pid belongs
 * to somebody else.
 */
import * as fs from 'node:fs';

/**
 * Start time of a pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * or null if there is no such process. The command name (field 2) may hold
 * spaces and parentheses, so fields are counted after the last ')'.
 */
export function readStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // After ") " come field 3 (state) onwards; starttime is field 22 → index 19.
  const fields = stat.slice(close + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return null; // a zombie is dead for our purposes
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : null;
}

/** Whether pid is alive and is the same process that started at startTime. */
export function isSameProcess(pid: number, startTime: number): boolean {
  return readStartTime(pid) === startTime;
}

/** Every pid in /proc right now. */
export function allPids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((e) => e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57)
      .map(Number);
  } catch {
    return [];
  }
}

/** Send a signal to a whole process group; false if nothing was there. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pids whose initial environment holds NAME=value (from /proc/PID/environ,
 * readable for our own uid, or any as root). Used once at start-up to find
 * a child whose pid was never recorded.
 */
export function findByEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const inner = Buffer.concat([Buffer.from([0]), needle]);
  return allPids().filter((pid) => {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`);
      return env.subarray(0, needle.length).equals(needle) || env.includes(inner);
    } catch {
      return false; // gone, or not ours to read
    }
  });
}
