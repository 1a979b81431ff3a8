/**
 * Starting children. Every managed process, root's included, is made by the
 * exec helper pmon3-exec (internal/native/exec.c), which pmond runs with an
 * EMPTY environment and a fixed argv. The helper (as the exec server, see
 * exec-server.ts) creates the program as pmond's own child, born in its
 * cgroup, drops to the user (groups, gid, uid, checked), and only then, with
 * the user's rights, opens a log the user chose, changes to the cwd, finds
 * the binary and execs it with the user's environment. So nothing a user
 * controls — an environment variable, a path, a directory they can swap — is
 * ever touched with root's rights, and the pid pmond gets is the program's own.
 * pmond waits for these children with its pidfd reaper (reaper.ts). Where the
 * reaper cannot work (no pidfd, Linux < 5.3) the helper is run once per
 * program and becomes it (one-shot mode: no cgroup).
 *
 * Output goes straight from the child to its log file through fds 1 and 2;
 * no log byte passes through pmond.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failedPrecondition, internal, invalidArgument, PmonError } from '../protocol/errors';
import type { ExecServer } from './exec-server';
import { readStartTime } from './procfs';
import type { Reaper } from './reaper';

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
  | { kind: 'user'; path: string }
  /** The write end of the exec server's log pipe `path` (a key) as fds 1 and 2: its logger writes the files (log-pipes.ts). */
  | { kind: 'pipe'; path: string }
  /** A logger: the read end of log pipe `path` as fd 0; fds 1 and 2 stay the exec server's. */
  | { kind: 'pipein'; path: string };

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
  /** null: fds 1 and 2 stay the exec helper's (pmond's stderr): pmond's own helpers (the watcher). */
  log: LogTarget | null;
  /** cgroup directory to run in, or null. */
  cgroup: string | null;
  /** Keys of the exec server's listening sockets, given as fds 3... (with LISTEN_PID); absent or empty: none. */
  sockets?: string[];
  /** setrlimit(2) triples as rlimitWords gives them (resource, soft, hard; -1 unlimited), set before privileges are dropped. */
  rlimits?: string[];
  /** Its stdin: this FIFO in pmond's data_dir (made if missing), opened read-write by the helper (exec.c, pmon3-exec/5). */
  stdin?: string;
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

/** The helper's reply on failure: "STAGE ERRNO MESSAGE". */
export interface HelperFailure {
  stage: string;
  errno: number;
  message: string;
}

export class HelperSpawner implements Spawner {
  /**
   * @param helper path of pmon3-exec
   * @param memfd makes an in-memory file of a buffer (native memfd), for one-shot specs
   * @param server the exec server with the reaper of its children; without them, one-shot mode
   * @param forbidden directories a log the user names may not be under, as dirIdentities gives them
   */
  constructor(
    private readonly helper: string,
    private readonly memfd: (data: Buffer) => number,
    private readonly server?: { exec: ExecServer; reaper: Reaper },
    private readonly forbidden = '',
  ) {}

  async spawn(req: SpawnRequest): Promise<Watched> {
    const spec = encodeSpec(req, this.forbidden);
    if (req.log?.kind === 'daemon') ensureLogDir(req.log.path);
    return this.server ? this.viaServer(req, spec, this.server) : this.oneShot(req, spec);
  }

  private async viaServer(req: SpawnRequest, spec: Buffer, server: { exec: ExecServer; reaper: Reaper }): Promise<Watched> {
    const r = await server.exec.request(spec);
    // A program that failed after it was made is pmond's child too: reap it before saying why.
    const exited = r.pid > 0 ? server.reaper.watch(r.pid) : undefined;
    if (!r.ok) {
      await exited;
      throw describeFailure(r, req);
    }
    const startTime = readStartTime(r.pid);
    // Died (and was reaped) before we could look: still report its exit.
    return { pid: r.pid, startTime: startTime ?? -1, cgroup: req.cgroup, exited: exited! };
  }

  /** The helper run for this one program; it becomes the program (no cgroup in this mode). */
  private async oneShot(req: SpawnRequest, spec: Buffer): Promise<Watched> {
    if (req.cgroup) throw new CgroupJoinError(req.cgroup, 'cgroups need the exec server (Linux 5.3 or later)');
    // setsid(): own session and process group, survives pmond.
    const child = startOneShot(this.helper, this.memfd, spec, ['ignore', 'ignore', 'ignore'], 'the exec helper');
    // Subscribe to the exit before anything else can happen (containerd's reaper rule).
    const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const pid = await spawned(child, this.helper, 'the exec helper');
    const failure = await readStatus(child.stdio[4] as NodeJS.ReadableStream);
    if (failure) {
      await exited;
      throw describeFailure(failure, req);
    }
    const startTime = readStartTime(pid);
    return { pid, startTime: startTime ?? -1, cgroup: null, exited };
  }
}

/**
 * The exec helper in its one-shot mode: the spec as an in-memory file on fd 3, a close-on-exec
 * status pipe on fd 4, an empty environment (nothing of the user's reaches a program running as
 * root), cwd /, a session of its own (nothing it opens is a terminal of pmond's session).
 * `stdio` is fds 0-2. Throws FAILED_PRECONDITION naming `what` if it cannot be spawned at all.
 */
export function startOneShot(
  helper: string,
  memfd: (data: Buffer) => number,
  spec: Buffer,
  stdio: ['ignore' | 'pipe', 'ignore' | 'pipe', 'ignore' | 'pipe'],
  what: string,
): ChildProcess {
  let specFd: number | undefined;
  try {
    specFd = memfd(spec);
    return spawn(helper, [], { argv0: 'pmon3-exec', env: {}, cwd: '/', detached: true, stdio: [...stdio, specFd, 'pipe'] });
  } catch (e) {
    throw failedPrecondition(`cannot start ${what} ${helper}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    if (specFd !== undefined) fs.closeSync(specFd);
  }
}

/** The pid of startOneShot's child once it exists; FAILED_PRECONDITION if it never did. Later errors (a kill of a dead pid) carry no news. */
export async function spawned(child: ChildProcess, helper: string, what: string): Promise<number> {
  if (child.pid === undefined) {
    // If `error` is emitted before `spawn`, `exit` may never be emitted.
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw failedPrecondition(`cannot start ${what} ${helper}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  }
  child.on('error', () => undefined);
  return child.pid;
}

/** pmond's logs_dir/<user>: made by pmond (root's, 0755) before the helper creates a log in it. */
export function ensureLogDir(file: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  } catch (e) {
    throw invalidArgument(`log directory ${path.dirname(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * "DEV:INO,..." of directories, for the helper to tell by identity, not by path, whether a log a
 * user names is under one of them (pmond's logs_dir and data_dir: a symlink ~/L -> logs_dir
 * passes any comparison of strings). Missing directories are left out.
 */
export function dirIdentities(dirs: string[]): string {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      const st = fs.statSync(d, { bigint: true });
      out.push(`${st.dev}:${st.ino}`);
    } catch {
      /* not there: nothing can be under it */
    }
  }
  return out.join(',');
}

/**
 * The spec the helper reads (exec.c documents the order). A null log keeps the helper's own
 * fds 1 and 2; argv0 is the program's argv[0] (by default its file); `forbidden` as
 * dirIdentities gives it.
 */
export function encodeSpec(req: Omit<SpawnRequest, 'log'> & { log: LogTarget | null; argv0?: string }, forbidden = ''): Buffer {
  const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
  const socks = req.sockets ?? [];
  const lims = req.rlimits ?? [];
  const v5 = !!req.stdin;
  const v4 = v5 || socks.length > 0 || lims.length > 0;
  const fields = [
    v5 ? 'pmon3-exec/5' : v4 ? 'pmon3-exec/4' : 'pmon3-exec/3',
    String(req.uid),
    String(req.gid),
    String(req.groups.length),
    ...req.groups.map(String),
    req.cgroup ?? '',
    req.log?.kind ?? '',
    req.log?.path ?? '',
    req.cwd,
    req.file,
    String(req.args.length + 1),
    req.argv0 ?? req.file,
    ...req.args,
    String(env.length),
    ...env,
    forbidden,
    ...(v4 ? [String(socks.length), ...socks, String(lims.length / 3), ...lims] : []),
    ...(v5 ? [req.stdin!] : []),
  ];
  for (const f of fields) if (f.includes('\0')) throw invalidArgument('a NUL byte in the command or its environment');
  return Buffer.from(fields.join('\0') + '\0');
}

/** Read the one-shot helper's status pipe to EOF: nothing means the execve succeeded. */
export function readStatus(stream: NodeJS.ReadableStream): Promise<HelperFailure | null> {
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
  const log = req.log?.path ?? '(none)';
  switch (f.stage) {
    case 'cgroup':
      return new CgroupJoinError(req.cgroup ?? '', why);
    case 'log':
      if (f.errno === 40 /* ELOOP */) return invalidArgument(`log ${log} is a symbolic link; refusing to follow it`);
      return invalidArgument(`log ${log}: ${why}`);
    case 'logdir':
      return invalidArgument(`log ${log} is inside pmond's own directory (logs_dir or data_dir); only pmond creates logs there (leave out --log)`);
    case 'logowner':
      return invalidArgument(`log ${log} is not a regular file owned by uid ${req.uid}; refusing to write to it`);
    case 'chdir':
      return invalidArgument(`cd: ${req.cwd}: ${why}`);
    case 'exec':
      if (f.errno === 8 /* ENOEXEC */) return invalidArgument(`${req.file}: cannot execute binary file: ${why}`);
      return invalidArgument(`${req.file}: ${why}`);
    case 'path':
      return invalidArgument(f.errno === 2 /* ENOENT */ ? `${req.file}: command not found` : `${req.file}: ${why}`);
    case 'timeout':
      return invalidArgument(`${req.file}: did not start within 10 s (its cwd, binary or log is on a file system that does not answer); killed`);
    case 'rlimit':
      return failedPrecondition(`${req.file}: its resource limits cannot be set (${why})`);
    case 'socket':
      return failedPrecondition(`${req.file}: its listening sockets cannot be given to it (${why})`);
    case 'setsid':
    case 'clone':
      return internal(`exec helper: ${f.stage}: ${why}`);
    case 'groups':
    case 'gid':
    case 'uid':
    case 'caps':
    case 'verify':
      return failedPrecondition(`cannot switch to uid ${req.uid} gid ${req.gid} (${f.stage}: ${why})`);
    default:
      return internal(`exec helper: ${f.stage}: ${why}`);
  }
}
