/**
 * pmon3's native parts, built by node-gyp (binding.gyp at the top) into build/Release:
 * - pmon3_native.node, an N-API addon (native.c): the peer of a Unix socket from the
 *   kernel (SO_PEERCRED), open(2) with a user's filesystem rights, poll for a broken pipe;
 * - pmon3-exec (exec.c), the program every managed process is started through
 *   (internal/process/spawner.ts says how).
 * Loaded with process.dlopen, which also works in the CLI's start-up snapshot.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** Who is on the other end of a Unix socket, as the kernel says. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The addon's functions. */
export interface Native {
  /** SO_PEERCRED of a connected Unix socket fd. */
  getPeerCred(fd: number): PeerCred;
  /**
   * open(2) with the filesystem rights of uid/gid/groups (this thread only, for this one call);
   * throws an Error with `code` (ENOENT, EACCES, ELOOP...) as Node's fs does. O_CLOEXEC and O_NOCTTY
   * are always added (a terminal never becomes pmond's controlling terminal).
   */
  openAs(file: string, flags: number, mode: number, uid: number, gid: number, groups: number[]): number;
  /**
   * Whether openAs refuses to follow /proc magic links (openat2 RESOLVE_NO_MAGICLINKS, Linux 5.6+).
   * Without it, openAs still opens with no effective capability, so another user's magic links
   * stay shut (the ptrace check fails), only the user's own are followed.
   */
  magicLinksRefused: boolean;
  /** Whether fd reports POLLERR or POLLHUP now (e.g. a pipe whose reader has gone). */
  pollErr(fd: number): boolean;
  /** An anonymous in-memory file (memfd, close-on-exec) holding data, positioned at its start. */
  memfd(data: Buffer): number;
  /**
   * Start the process's one reaper thread: every pid given to watchPid is reaped when it exits
   * and reported as cb(pid, code, signal) (code -1 when killed by a signal; signal 0 when not).
   * Once per process (EEXIST after).
   */
  startReaper(cb: (pid: number, code: number, signal: number) => void): void;
  /** Reap pid (a child of this process that libuv did not spawn) when it exits; ESRCH if there is no such child. */
  watchPid(pid: number): void;
  /**
   * Bind a datagram socket at path (mode 0666) for sd_notify messages and read it in a thread:
   * each message as cb(pid, uid, text), pid and uid from the kernel (SO_PASSCRED). Messages over
   * 4096 bytes are dropped, fds sent with one are closed, at most 1024 wait (more are dropped).
   * Once per process (EEXIST after).
   */
  startNotify(path: string, cb: (pid: number, uid: number, text: string) => void): void;
  /**
   * /proc/PID/stat of each pid, into out (3 per pid: utime+stime and start time in clock ticks,
   * RSS in pages; NaN for a pid that is gone), read on libuv's pool; resolves to seconds since
   * boot (CLOCK_BOOTTIME, the clock of /proc/uptime and of start times) read after the last pid.
   * The reads work on copies; out is written when they are done (rejects if out lost its room).
   */
  procStats(pids: Int32Array, out: Float64Array): Promise<number>;
  /** sysconf(_SC_CLK_TCK): clock ticks per second. */
  clockTicks: number;
  /** sysconf(_SC_PAGESIZE): bytes per page. */
  pageSize: number;
}

/** Reads a connected socket's peer credentials; null when not possible. */
export type PeerCredReader = (socket: net.Socket) => PeerCred | null;

/** build/Release of the tree this file belongs to (dist/internal/native → the root). */
export function nativeDir(root = path.join(__dirname, '..', '..', '..')): string {
  return path.join(root, 'build', 'Release');
}

/** Path of the exec helper, pmon3-exec. */
export function execHelperPath(root?: string): string {
  return path.join(nativeDir(root), 'pmon3-exec');
}

/** The per-instance logger (log.c), for rotation and timestamps. */
export function loggerPath(root?: string): string {
  return path.join(nativeDir(root), 'pmon3-log');
}

/** Load the addon; throws one line naming the file when it cannot be loaded. */
export function loadNative(root?: string): Native {
  const file = path.join(nativeDir(root), 'pmon3_native.node');
  const mod = { exports: {} as Native };
  try {
    process.dlopen(mod, file);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new Error(`native addon ${file} could not be loaded (${why}); build it with make build (npm ci)`);
  }
  return mod.exports;
}

/** The file descriptor under a net.Socket, if it has one. */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * The server's reader of callers' identities, or null when PMON3_NO_PEERCRED=1 asks for the
 * stricter fallback (socket 0600, own uid only), e.g. to test it.
 */
export function peerCredReader(native: Native, env: NodeJS.ProcessEnv = process.env): PeerCredReader | null {
  if (env.PMON3_NO_PEERCRED === '1') return null;
  return (socket) => {
    const fd = socketFd(socket);
    if (fd === undefined) return null;
    try {
      return native.getPeerCred(fd);
    } catch {
      return null;
    }
  };
}

/** Whether the exec helper is there and executable (pmond refuses to start without it). */
export function checkExecHelper(file = execHelperPath()): string | null {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return null;
  } catch (e) {
    return `exec helper ${file} is missing or not executable (${(e as NodeJS.ErrnoException).code}); build it with make build (npm ci)`;
  }
}
