/**
 * Starting children: own session and process group, as the requested user
 * (uid, gid AND supplementary groups, through `setpriv --init-groups`, which
 * execs in place so the pid stays the child's), stdout and stderr appended
 * straight to the log file through an fd the child inherits. No log byte
 * passes through the daemon; the daemon closes its copy of the fd at once.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failedPrecondition, invalidArgument } from '../protocol/errors';
import { readStartTime } from './procfs';

/** How a run ended. */
export interface ExitInfo {
  /** Exit code, or null when killed by a signal or unknown (adopted process). */
  code: number | null;
  /** Signal name, or null. */
  signal: string | null;
}

/** A process pmond watches: its own child, or one re-adopted after a restart. */
export interface Watched {
  pid: number;
  /** /proc start time of pid, to tell it from a later process with the same pid. */
  startTime: number;
  /** Resolves once, when the process is gone. */
  exited: Promise<ExitInfo>;
}

/** What to run. */
export interface SpawnRequest {
  file: string;
  args: string[];
  /** The complete environment of the child. */
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  /** Log file; created if missing, appended to. */
  logPath: string;
  /** Whether logPath lies in pmond's own logs_dir (created by pmond) or was chosen by the user. */
  logInDaemonDir: boolean;
}

/** Starts processes. */
export interface Spawner {
  spawn(req: SpawnRequest): Promise<Watched>;
}

const O_NOFOLLOW = fs.constants.O_NOFOLLOW;
const LOG_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | O_NOFOLLOW;

/**
 * Check that file is a regular file the target user may execute. Done before
 * spawning, because through setpriv an exec failure would only show up as an
 * exit code.
 */
export function checkExecutable(file: string, uid: number, gids: number[]): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw invalidArgument(code === 'ENOENT' ? `binary ${file} does not exist` : `binary ${file}: ${code}`);
  }
  if (st.isDirectory()) throw invalidArgument(`binary ${file} is a directory`);
  if (!st.isFile()) throw invalidArgument(`binary ${file} is not a regular file`);
  const mode = st.mode;
  const ok =
    uid === 0
      ? (mode & 0o111) !== 0
      : st.uid === uid
        ? (mode & 0o100) !== 0
        : gids.includes(st.gid)
          ? (mode & 0o010) !== 0
          : (mode & 0o001) !== 0;
  if (!ok) throw invalidArgument(`binary ${file} is not executable${uid === 0 ? '' : ` by uid ${uid}`}`);
}

export class ProcessSpawner implements Spawner {
  private readonly root = process.getuid?.() === 0;

  constructor(private readonly setprivPath = '/usr/bin/setpriv') {}

  async spawn(req: SpawnRequest): Promise<Watched> {
    const fd = this.openLog(req);
    let child;
    try {
      const switchUser = this.root && req.uid !== 0;
      const [cmd, argv] = switchUser
        ? [this.setprivPath, ['--reuid', String(req.uid), '--regid', String(req.gid), '--init-groups', '--', req.file, ...req.args]]
        : [req.file, req.args];
      child = spawn(cmd, argv, {
        cwd: req.cwd,
        env: req.env,
        detached: true, // setsid(): own session and process group, survives pmond
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    // Subscribe to the exit before anything else can happen (containerd's reaper rule).
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (child.pid === undefined) {
      // If `error` is emitted before `spawn`, `exit` may never be emitted.
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw failedPrecondition(`cannot start ${req.file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    }
    child.on('error', () => {}); // errors after spawn (kill on a dead pid) carry no news
    child.unref();
    const pid = child.pid;
    const startTime = readStartTime(pid);
    if (startTime === null) {
      // Died (and was reaped) before we could look; still report its exit.
      return { pid, startTime: -1, exited };
    }
    return { pid, startTime, exited };
  }

  /**
   * Open the log for appending. In pmond's own logs_dir (which only root can
   * write) pmond creates it and hands it to the user. A path the user chose
   * is opened with the user's own rights, so root never follows a user's
   * symlink or writes where the user could not.
   */
  private openLog(req: SpawnRequest): number {
    if (!this.root || req.uid === 0) return openNoFollow(req.logPath);
    if (req.logInDaemonDir) {
      const fd = openNoFollow(req.logPath);
      try {
        fs.fchownSync(fd, req.uid, req.gid);
        fs.fchmodSync(fd, 0o640);
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      return fd;
    }
    return asUser(req.uid, req.gid, () => openNoFollow(req.logPath));
  }
}

function openNoFollow(p: string): number {
  try {
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o750 });
    const fd = fs.openSync(p, LOG_FLAGS, 0o640);
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      throw invalidArgument(`log ${p} is not a regular file`);
    }
    return fd;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw invalidArgument(`log ${p} is a symbolic link; refusing to follow it`);
    if (code === 'EACCES' || code === 'EPERM') throw invalidArgument(`log ${p}: permission denied`);
    if (code) throw invalidArgument(`log ${p}: ${code}`);
    throw e;
  }
}

/**
 * Run fn with the effective uid/gid/groups of a user, then switch back.
 * The switch is process-wide for the span of one synchronous call.
 */
function asUser<T>(uid: number, gid: number, fn: () => T): T {
  const savedGroups = process.getgroups!();
  (process as unknown as { initgroups(user: number, extraGroup: number): void }).initgroups(uid, gid);
  process.setegid!(gid);
  process.seteuid!(uid);
  try {
    return fn();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(savedGroups);
  }
}
