/**
 * The listening sockets of apps, held by the exec server (exec.c: "pmon3-sock/1"), never by
 * pmond: pmond's loop never accepts on them, and a program started with them holds its own
 * copies (fds 3...), so a pmond killed with SIGKILL (and its exec server with it) leaves every
 * running instance listening. The next pmond's server takes a socket back from a running
 * instance (pidfd_getfd, checked to be a listening socket at that very address) before it
 * binds one: a bind would say EADDRINUSE while an instance still listens, and a second socket
 * by SO_REUSEPORT would split the connections with one nobody may accept on any more.
 */
import { parseListen } from '../apps/sockets';
import { failedPrecondition } from '../protocol/errors';
import type { SocketSpec } from '../protocol/methods';
import type { ServerReply } from './exec-server';

/** The exec server's socket requests. */
export interface SocketServer {
  control(fields: string[]): Promise<ServerReply>;
  /** Which server it is: sockets held by an earlier one are gone with it. */
  readonly generation: number;
}

/** Sockets for a start: the keys to pass to the helper. */
export interface SocketSource {
  /**
   * The keys of app's sockets in the exec server, bound (or taken back from one of `holders`,
   * pids of its running instances, whose fd 3+i is socket i) if it holds none; [] for none.
   * Throws FAILED_PRECONDITION naming the address and why.
   */
  keysFor(appId: number, sockets: readonly SocketSpec[], holders: readonly number[], owner: { uid: number; gid: number }): Promise<string[]>;
  /** Close app's sockets (the app is gone, or has other sockets now). */
  release(appId: number): Promise<void>;
  /** Whether app's sockets are held (by this server or an earlier one). */
  holds(appId: number): boolean;
}

export class SocketHolder implements SocketSource {
  private readonly held = new Map<number, { sig: string; keys: string[]; generation: number }>();
  /** One change per app at a time: four instances starting together bind once. */
  private readonly busy = new Map<number, Promise<unknown>>();

  constructor(private readonly server: SocketServer) {}

  keysFor(appId: number, sockets: readonly SocketSpec[], holders: readonly number[], owner: { uid: number; gid: number }): Promise<string[]> {
    return this.serial(appId, () => this.ensure(appId, sockets, holders, owner));
  }

  release(appId: number): Promise<void> {
    return this.serial(appId, () => this.close(appId));
  }

  holds(appId: number): boolean {
    return this.held.has(appId);
  }

  private serial<T>(appId: number, fn: () => Promise<T>): Promise<T> {
    const before = this.busy.get(appId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.busy.set(appId, tail);
    void tail.then(() => {
      if (this.busy.get(appId) === tail) this.busy.delete(appId);
    });
    return run;
  }

  private async ensure(appId: number, sockets: readonly SocketSpec[], holders: readonly number[], owner: { uid: number; gid: number }): Promise<string[]> {
    const sig = JSON.stringify([owner.uid, owner.gid, sockets.map((s) => [s.listen, s.backlog ?? 0, s.mode ?? ''])]);
    const cur = this.held.get(appId);
    if (cur && cur.sig === sig && cur.generation === this.server.generation) return cur.keys;
    if (cur) await this.close(appId);
    if (sockets.length === 0) return [];
    const keys: string[] = [];
    try {
      for (const [i, s] of sockets.entries()) {
        const key = `a${appId}.${i}`;
        const l = parseListen(s.listen);
        let r: ServerReply | undefined;
        if (l.family === 'unix') {
          // Bound by a binder that is the app's user (exec.c): only where that user may create a socket.
          for (const pid of holders) {
            r = await this.server.control(['takeunix', key, String(pid), String(3 + i), l.path]);
            if (r.ok) break;
          }
          if (!r?.ok) r = await this.server.control(['bindunix', key, l.path, s.mode ?? '0666', String(owner.uid), String(owner.gid), String(s.backlog ?? 511)]);
        } else {
          const where = [String(l.family), l.address, String(l.port)];
          for (const pid of holders) {
            r = await this.server.control(['take', key, String(pid), String(3 + i), ...where]);
            if (r.ok) break;
          }
          if (!r?.ok) r = await this.server.control(['bind', key, ...where, String(s.backlog ?? 511)]);
        }
        if (!r.ok) throw failedPrecondition(`socket ${s.listen}: cannot listen: ${r.message || `errno ${r.errno}`}`);
        keys.push(key);
      }
    } catch (e) {
      for (const k of keys) await this.server.control(['close', k]).catch(() => undefined);
      throw e;
    }
    this.held.set(appId, { sig, keys, generation: this.server.generation });
    return keys;
  }

  private async close(appId: number): Promise<void> {
    const cur = this.held.get(appId);
    this.held.delete(appId);
    if (!cur || cur.generation !== this.server.generation) return;
    for (const k of cur.keys) await this.server.control(['close', k]).catch(() => undefined);
  }
}
