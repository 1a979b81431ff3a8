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

  private constructor(readonly path: string) {}

  /** Bind at path and start reading; throws one line on failure (pmond goes on without). */
  static start(native: Native, path: string): NativeNotify {
    try {
      const st = fs.lstatSync(path);
      if (!st.isSocket() || st.uid !== process.getuid!()) throw new Error(`${path} exists and is not a socket of pmond's user; not removing it`);
      fs.unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const n = new NativeNotify(path);
    native.startNotify(path, (pid, uid, text) => {
      for (const fn of n.fns) fn(pid, uid, text);
    });
    return n;
  }

  listen(fn: (pid: number, uid: number, text: string) => void): void {
    this.fns.push(fn);
  }
}
