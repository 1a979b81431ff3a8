/**
 * The exec server: one long-lived `pmon3-exec --server` (internal/native/exec.c),
 * started by pmond with an empty environment and a fixed argv, that makes each
 * program as pmond's own child (clone3 CLONE_PARENT), born in its cgroup, and
 * answers once the program has exec'd. pmond never forks on the restart path.
 *
 * Requests and replies are framed on a socket pair (fd 3 of the server):
 * a 4-byte little-endian length, then "ID\0SPEC" / "ID ok PID" or
 * "ID fail PID STAGE ERRNO MESSAGE". A server that dies is started again at the
 * next request; whatever it had in hand fails with INTERNAL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { internal, invalidArgument } from '../protocol/errors';

/** The server's answer to one request. */
export type ServerReply =
  | { ok: true; pid: number }
  /** pid 0: no process was made; otherwise it exited and must be reaped. */
  | { ok: false; pid: number; stage: string; errno: number; message: string };

interface Pending {
  resolve: (r: ServerReply) => void;
  reject: (e: Error) => void;
}

export class ExecServer {
  private child?: ChildProcess;
  private socket?: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private started = 0;
  private readonly pending = new Map<string, Pending>();

  /**
   * @param helper path of pmon3-exec
   * @param onDown told (one line) when a server ends unexpectedly
   */
  constructor(
    private readonly helper: string,
    private readonly onDown: (why: string) => void = () => undefined,
  ) {}

  /**
   * A listening-socket request ("pmon3-sock/1", exec.c): bind, take or close; the reply's pid is 0.
   * `generation` says which server holds them: a new server (after a crash of the last) holds none.
   */
  control(fields: string[]): Promise<ServerReply> {
    for (const f of fields) if (f.includes('\0')) throw invalidArgument('a NUL byte in a socket request');
    return this.request(Buffer.from(['pmon3-sock/1', ...fields].join('\0') + '\0'));
  }

  /** A log-pipe request ("pmon3-pipe/1", exec.c): make, take or close; the reply's pid is 0. */
  pipe(fields: string[]): Promise<ServerReply> {
    for (const f of fields) if (f.includes('\0')) throw invalidArgument('a NUL byte in a pipe request');
    return this.request(Buffer.from(['pmon3-pipe/1', ...fields].join('\0') + '\0'));
  }

  /** Counts the servers started: a socket bound in an earlier one is gone with it. */
  get generation(): number {
    return this.started;
  }

  /** Ask for one program (spec as encodeSpec makes it). */
  request(spec: Buffer): Promise<ServerReply> {
    const socket = this.socket && !this.socket.destroyed ? this.socket : this.start();
    const id = String(this.nextId++);
    const body = Buffer.concat([Buffer.from(`${id}\0`), spec]);
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      socket.ref(); // awaited: keep the loop alive until the answer
      this.write(socket, frame);
    });
  }

  /** Stop the server (pmond's shutdown; it would die with pmond anyway: PR_SET_PDEATHSIG). */
  close(): void {
    this.child?.kill('SIGKILL');
    this.socket?.destroy();
  }

  /**
   * Write now, not at the next turn of the event loop: the program should not wait for
   * pmond's loop. A direct write when nothing is queued; the socket's queue otherwise.
   */
  private write(socket: net.Socket, frame: Buffer): void {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let done = 0;
    if (typeof fd === 'number' && fd >= 0 && socket.writableLength === 0) {
      try {
        done = fs.writeSync(fd, frame);
      } catch {
        done = 0; // EAGAIN: the server is busy; queue it
      }
    }
    if (done < frame.length) socket.write(frame.subarray(done));
  }

  private start(): net.Socket {
    this.started++;
    const child = spawn(this.helper, ['--server'], {
      argv0: 'pmon3-exec',
      env: {}, // nothing of anybody's reaches a program running as root
      cwd: '/',
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const socket = child.stdio[3] as net.Socket;
    this.child = child;
    this.socket = socket;
    this.buffered = Buffer.alloc(0);
    const down = (why: string): void => {
      if (this.child !== child) return;
      this.child = undefined;
      this.socket = undefined;
      const err = internal(`the exec server ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      if (this.pending.size) this.onDown(`the exec server ${why}; started again at the next request`);
      this.pending.clear();
    };
    child.on('error', (e) => down(`could not run: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    child.on('exit', (code, signal) => down(`ended (${signal ?? `exit ${code}`})`));
    // The socket can tell first (EPIPE, EOF) that the server is gone.
    socket.on('error', () => down('closed its socket'));
    socket.on('close', () => down('closed its socket'));
    socket.on('data', (b: Buffer) => this.onData(b));
    // Neither keeps pmond alive by itself (its server does that).
    child.unref();
    socket.unref();
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4) {
      const len = this.buffered.readUInt32LE(0);
      if (this.buffered.length < 4 + len) break;
      const text = this.buffered.subarray(4, 4 + len).toString('utf8');
      this.buffered = this.buffered.subarray(4 + len);
      const m = /^(\d+) (ok|fail) (\d+)(?: (\w+) (\d+) ?(.*))?$/s.exec(text);
      const p = m ? this.pending.get(m[1]!) : undefined;
      if (!m || !p) continue;
      this.pending.delete(m[1]!);
      if (this.pending.size === 0) this.socket?.unref();
      const pid = Number(m[3]);
      p.resolve(m[2] === 'ok' ? { ok: true, pid } : { ok: false, pid, stage: m[4] ?? 'spec', errno: Number(m[5] ?? 0), message: (m[6] ?? '').trim() });
    }
  }
}
