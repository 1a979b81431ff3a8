/**
 * Facts about live processes from /proc. "Alive" always means the pid exists
 * AND its start time matches the one recorded at spawn: a reused pid belongs
 * to somebody else.
 */
import * as fs from 'node:fs';
import { MAX_NAME } from '../protocol/methods';
import { MAX_PROCESS_ID } from '../store/schema';

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

/** This boot's id (/proc/sys/kernel/random/boot_id): a pid recorded in another boot means nothing now. */
export function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Real uid of a live pid (from /proc/PID/status), or null. */
export function readUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A live process started by a pmond, found by the markers in its environment. */
export interface Marked {
  pid: number;
  startTime: number;
  /** Its real uid now. */
  uid: number;
  /** PMON3_PROCESS_ID: the row it was started for. */
  processId: number;
  /** PMON3_PROCESS_NAME, as started. */
  name: string;
  /** PMON3_SPAWN_TOKEN, or null. */
  token: string | null;
  /** PMON3_LOGGER=out|err: the row's logger of stdout (and stderr) or of stderr alone (supervisor/loggers.ts), not its program. */
  logger?: 'out' | 'err';
}

/** A PMON3_PROCESS_ID pmond could have written: 1 to MAX_PROCESS_ID, plain digits. */
const MARKED_ID = /^[1-9]\d{0,9}$/;

/** What scanMarked found. */
export interface MarkedScan {
  /** Processes whose markers pmond could have written. */
  marked: Marked[];
  /** Processes carrying the daemon id with markers pmond never writes (forged): pid and uid. */
  malformed: Array<{ pid: number; uid: number | null }>;
}

/**
 * Every live process whose initial environment (/proc/PID/environ, readable
 * for our own uid, or any as root) carries PMON3_DAEMON_ID=daemonId: the
 * children of the pmond owning this data_dir, whatever its table says. One
 * walk of /proc, done at start-up.
 *
 * Markers are claims, not facts: the daemon id is in the environment of every
 * user's own children, so any user can start a process that carries it, with
 * any id and name. Only an id pmond could have handed out is taken (digits,
 * 1 to MAX_PROCESS_ID); the name is cut to what a name can be. What a marked
 * process may then obtain (adoption by the row of its own uid only, ids
 * reserved only for root's and pmond's own processes) is decided by the
 * supervisor's boot.
 */
export function scanMarked(daemonId: string): MarkedScan {
  const needle = Buffer.from(`PMON3_DAEMON_ID=${daemonId}\0`);
  const out: Marked[] = [];
  const malformed: MarkedScan['malformed'] = [];
  for (const pid of allPids()) {
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    const at = env.indexOf(needle);
    if (at < 0 || (at > 0 && env[at - 1] !== 0)) continue;
    const vars = new Map<string, string>();
    for (const kv of env.toString('utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && kv.startsWith('PMON3_')) vars.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    const rawId = vars.get('PMON3_PROCESS_ID') ?? '';
    const startTime = readStartTime(pid);
    const uid = readUid(pid);
    if (startTime === null) continue; // gone meanwhile
    if (!MARKED_ID.test(rawId) || Number(rawId) > MAX_PROCESS_ID || uid === null) {
      malformed.push({ pid, uid });
      continue;
    }
    const name = (vars.get('PMON3_PROCESS_NAME') ?? '').slice(0, MAX_NAME);
    const token = (vars.get('PMON3_SPAWN_TOKEN') ?? '').slice(0, 64) || null;
    out.push({ pid, startTime, uid, processId: Number(rawId), name, token, ...(vars.get('PMON3_LOGGER') === 'out' || vars.get('PMON3_LOGGER') === 'err' ? { logger: vars.get('PMON3_LOGGER') as 'out' | 'err' } : {}) });
  }
  return { marked: out, malformed };
}

/**
 * Pids whose initial environment holds NAME=value (from /proc/PID/environ,
 * readable for our own uid, or any as root). Tests use it to find a
 * process's instances by their markers.
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
