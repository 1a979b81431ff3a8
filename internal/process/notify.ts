/**
 * The sd_notify socket ($NOTIFY_SOCKET) of this pmond: one datagram socket bound by the native
 * addon beside pmond's own socket (SOCKET_PATH.notify), read in the addon's thread. A socket
 * left at the path by an earlier pmond (killed, never unlinked) is removed first, only if it is
 * a socket and pmond's own.
 */
import * as fs from 'node:fs';
import type { Native } from '../native';
import type { NotifySource } from '../supervisor/checks';

export class NativeNotify implements NotifySource {
  private readonly fns: Array<(pid: number, uid: number, text: string) => void> = [];
  private open = false;

  /** Nothing is bound until start (pmond's socket directory must exist first). */
  constructor(
    private readonly native: Native,
    readonly path: string,
  ) {}

  get available(): boolean {
    return this.open;
  }

  /** Bind at path and start reading; throws one line on failure (pmond goes on without). */
  start(): void {
    const path = this.path;
    try {
      const st = fs.lstatSync(path);
      if (!st.isSocket() || st.uid !== process.getuid!()) throw new Error(`${path} exists and is not a socket of pmond's user; not removing it`);
      fs.unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.native.startNotify(path, (pid, uid, text) => {
      for (const fn of this.fns) fn(pid, uid, text);
    });
    this.open = true;
  }

  /** Unlink the socket (pmond stops); a sender gets ECONNREFUSED, as sd_notify ignores. */
  close(): void {
    if (!this.open) return;
    try {
      const st = fs.lstatSync(this.path);
      if (st.isSocket() && st.uid === process.getuid!()) fs.unlinkSync(this.path);
    } catch {
      /* gone */
    }
  }

  listen(fn: (pid: number, uid: number, text: string) => void): void {
    this.fns.push(fn);
  }
}
