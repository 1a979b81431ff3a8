/**
 * Starting children. Every managed process, root's included, is started
 * through the exec helper pmon3-exec (internal/native/exec.c): pmond runs it
 * with an EMPTY environment and a fixed argv, in its own session and process
 * group (setsid), and hands it what to run as an in-memory file on fd 3 (memfd:
 * written before the spawn, so the helper never waits for pmond's event loop).
 * Failures come back on a pipe, fd 4. The helper joins the
 * process's cgroup, drops to the user (groups, gid, uid, checked), and only
 * then, with the user's rights, opens a log the user chose, changes to the
 * cwd, finds the binary and execs it with the user's environment. So nothing
 * a user controls — an environment variable, a path, a directory they can
 * swap — is ever touched with root's rights, and the pid pmond gets is the
 * program's own.
 *
 * Output goes straight from the child to its log file through fds 1 and 2;
 * no log byte passes through pmond.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failedPrecondition, internal, invalidArgument, PmonError } from '../protocol/errors';
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
  /** The cgroup directory it runs in, or null (process group only). */
  cgroup: string | null;
  /** Resolves once, when the process is gone. */
  exited: Promise<ExitInfo>;
}

/** Where the child's stdout and stderr go. */
export type LogTarget =
  /** A file in pmond's own logs_dir: pmond opens it (it alone may create files there). */
  | { kind: 'daemon'; path: string }
  /** A file the user named: opened by the helper with the user's rights; missing parents are created. */
  | { kind: 'user'; path: string };

/** What to run. */
export interface SpawnRequest {
  /** Absolute path, or a bare name looked up in env.PATH (as the user). */
  file: string;
  args: string[];
  /** The complete environment of the child. */
  env: Record<string, string>;
  cwd: string;
  uid: number;
  gid: number;
  /** Supplementary groups of the user (initgroups). */
  groups: number[];
  log: LogTarget;
  /** cgroup directory to run in, or null. */
  cgroup: string | null;
}

/** Starts processes. */
export interface Spawner {
  /** Start req; throws a PmonError saying, in the words a shell would use, why it could not run. */
  spawn(req: SpawnRequest): Promise<Watched>;
}

/** Thrown when the helper could not join the cgroup: the caller may retry without one. */
export class CgroupJoinError extends PmonError {
  constructor(
    readonly cgroup: string,
    readonly errno: string,
  ) {
    super('INTERNAL', `cannot join cgroup ${cgroup}: ${errno}`);
  }
}

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NOCTTY } = fs.constants;

/** The helper's reply on failure: "STAGE ERRNO MESSAGE". */
interface HelperFailure {
  stage: string;
  errno: number;
  message: string;
}

export class HelperSpawner implements Spawner {
  /**
   * @param helper path of pmon3-exec
   * @param memfd makes an in-memory file of a buffer (native memfd), for the spec
   */
  constructor(
    private readonly helper: string,
    private readonly memfd: (data: Buffer) => number,
  ) {}

  async spawn(req: SpawnRequest): Promise<Watched> {
    const spec = encodeSpec(req);
    const logFd = req.log.kind === 'daemon' ? openDaemonLog(req.log.path, req.uid, req.gid) : undefined;
    let child: ChildProcess;
    let specFd: number | undefined;
    try {
      specFd = this.memfd(spec);
      child = spawn(this.helper, [], {
        argv0: 'pmon3-exec',
        env: {}, // nothing of the user's reaches a program running as root
        cwd: '/',
        detached: true, // setsid(): own session and process group, survives pmond
        stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'ignore', specFd, 'pipe'],
      });
    } catch (e) {
      throw failedPrecondition(`cannot start the exec helper ${this.helper}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    } finally {
      if (logFd !== undefined) fs.closeSync(logFd);
      if (specFd !== undefined) fs.closeSync(specFd);
    }
    // Subscribe to the exit before anything else can happen (containerd's reaper rule).
    const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    if (child.pid === undefined) {
      // If `error` is emitted before `spawn`, `exit` may never be emitted.
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw failedPrecondition(`cannot start the exec helper ${this.helper}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    }
    child.on('error', () => {}); // errors after spawn (kill on a dead pid) carry no news
    const failure = await readStatus(child.stdio[4] as NodeJS.ReadableStream);
    child.unref();
    const pid = child.pid;
    if (failure) {
      await exited;
      throw describeFailure(failure, req);
    }
    const startTime = readStartTime(pid);
    // Died (and was reaped) before we could look: still report its exit.
    return { pid, startTime: startTime ?? -1, cgroup: req.cgroup, exited };
  }
}

/** The spec the helper reads on fd 3 (exec.c documents the order). */
export function encodeSpec(req: SpawnRequest): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const fields = [
    'pmon3-exec/1',
    String(req.uid),
    String(req.gid),
    String(req.groups.length),
    ...req.groups.map(String),
    req.cgroup ? path.join(req.cgroup, 'cgroup.procs') : '',
    req.log.kind === 'user' ? req.log.path : '',
    req.log.kind === 'user' ? '1' : '0',
    req.cwd,
    req.file,
    String(req.args.length + 1),
    req.file,
    ...req.args,
    String(env.length),
    ...env,
  ];
  for (const f of fields) if (f.includes('\0')) throw invalidArgument('a NUL byte in the command or its environment');
  return Buffer.from(fields.join('\0') + '\0');
}

/** Read the helper's status pipe to EOF: nothing means the execve succeeded. */
function readStatus(stream: NodeJS.ReadableStream): Promise<HelperFailure | null> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (b: Buffer) => {
      if (text.length < 4096) text += b.toString('utf8');
    });
    const done = (): void => {
      const m = /^(\w+) (\d+) ?(.*)\n?$/s.exec(text);
      resolve(m ? { stage: m[1]!, errno: Number(m[2]), message: m[3]!.trim() } : null);
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** The helper's failure as one line a user would recognise from their shell. */
function describeFailure(f: HelperFailure, req: SpawnRequest): PmonError {
  const why = f.message || `errno ${f.errno}`;
  const log = req.log.path;
  switch (f.stage) {
    case 'cgroup':
      return new CgroupJoinError(req.cgroup ?? '', why);
    case 'log':
      if (f.errno === 40 /* ELOOP */) return invalidArgument(`log ${log} is a symbolic link; refusing to follow it`);
      return invalidArgument(`log ${log}: ${why}`);
    case 'logowner':
      return invalidArgument(`log ${log} is not a regular file owned by uid ${req.uid}; refusing to write to it`);
    case 'chdir':
      return invalidArgument(`cd: ${req.cwd}: ${why}`);
    case 'exec':
      if (f.errno === 8 /* ENOEXEC */) return invalidArgument(`${req.file}: cannot execute binary file: ${why}`);
      return invalidArgument(`${req.file}: ${why}`);
    case 'path':
      return invalidArgument(f.errno === 2 /* ENOENT */ ? `${req.file}: command not found` : `${req.file}: ${why}`);
    case 'groups':
    case 'gid':
    case 'uid':
    case 'verify':
      return failedPrecondition(`cannot switch to uid ${req.uid} gid ${req.gid} (${f.stage}: ${why})`);
    default:
      return internal(`exec helper: ${f.stage}: ${why}`);
  }
}

/**
 * Open a log in pmond's own logs_dir for appending, for uid. Only pmond can
 * create files there, so a new file is created by pmond (O_EXCL) and handed
 * to the user; an existing file is used only if it already belongs to that
 * user — pmond never chowns a file that exists (its own pmond.log, another
 * user's log).
 */
export function openDaemonLog(file: string, uid: number, gid: number): number {
  const rootPmond = process.getuid?.() === 0;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw invalidArgument(`log directory ${path.dirname(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0o640);
    try {
      if (rootPmond && uid !== 0) fs.fchownSync(fd, uid, gid);
      fs.fchmodSync(fd, 0o640);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw logError(file, e);
  }
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY);
  } catch (e) {
    throw logError(file, e);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.uid !== uid || st.nlink !== 1) {
    fs.closeSync(fd);
    throw invalidArgument(`log ${file} is not a regular file owned by uid ${uid}; refusing to write to it`);
  }
  return fd;
}

function logError(file: string, e: unknown): PmonError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return invalidArgument(`log ${file} is a symbolic link; refusing to follow it`);
  return invalidArgument(`log ${file}: ${code ?? (e as Error).message}`);
}
