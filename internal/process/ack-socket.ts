/**
 * Firestarter's manual ack: a program started by Firestarter connects to
 * $FIRESTARTER_SOCK_PATH and writes one line, {"command":"worker:ack",...}. pmond gives apps
 * with a notify readiness (ack: manual) the same: a stream socket beside its own
 * (<socket_path>.ack, 0666), where such a line counts as READY=1 — from the connecting process
 * as the kernel names it (SO_PEERCRED), so, unlike Firestarter's, it acks only the instance it
 * comes from (or whose descendant it is), never another's, and output on the log never does.
 * Bounded: 64 connections at once, 4 KiB and 2 s each.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { PeerCredReader } from '../native';
import type { NotifySource } from '../supervisor/checks';

const MAX_CONNECTIONS = 64;
const MAX_BYTES = 4096;
const DEADLINE_MS = 2000;

export class AckSocket implements NotifySource {
  private readonly fns: Array<(pid: number, uid: number, text: string) => void> = [];
  private server?: net.Server;
  private open = false;

  constructor(
    readonly path: string,
    private readonly peer: PeerCredReader,
  ) {}

  get available(): boolean {
    return this.open;
  }

  /** Listen (a stale socket of pmond's own at path removed first); throws one line on failure. */
  async start(): Promise<void> {
    try {
      const st = fs.lstatSync(this.path);
      if (!st.isSocket() || st.uid !== process.getuid!()) throw new Error(`${this.path} exists and is not a socket of pmond's user; not removing it`);
      fs.unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = net.createServer((s) => this.onConnection(s));
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.path, 0o666);
    server.on('error', () => undefined);
    this.server = server;
    this.open = true;
  }

  close(): void {
    if (!this.open) return;
    this.server?.close();
    this.open = false;
    try {
      if (fs.lstatSync(this.path).isSocket()) fs.unlinkSync(this.path);
    } catch {
      /* gone */
    }
  }

  listen(fn: (pid: number, uid: number, text: string) => void): void {
    this.fns.push(fn);
  }

  private onConnection(s: net.Socket): void {
    const cred = this.peer(s);
    if (!cred) {
      s.destroy();
      return;
    }
    let buf = '';
    let done = false;
    const timer = setTimeout(() => s.destroy(), DEADLINE_MS);
    timer.unref();
    // One line (or all it sent before closing) is one command.
    const handle = (line: string): void => {
      if (done) return;
      done = true;
      let command: unknown;
      try {
        command = (JSON.parse(line) as { command?: unknown }).command;
      } catch {
        command = undefined;
      }
      s.end();
      if (command === 'worker:ack') for (const fn of this.fns) fn(cred.pid, cred.uid, 'READY=1');
    };
    s.setEncoding('utf8');
    s.on('error', () => undefined);
    s.on('close', () => clearTimeout(timer));
    s.on('end', () => handle(buf));
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_BYTES) return void s.destroy();
      const nl = buf.indexOf('\n');
      if (nl >= 0) handle(buf.slice(0, nl));
    });
  }
}
