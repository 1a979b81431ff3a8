/**
 * Readiness and liveness of running instances: when a started instance counts as ready (its
 * app's `ready:`), and what restarts a running one that stopped being alive (`watchdog`, an
 * HTTP `health` check, Firestarter's live check). internal/apps/ready.ts says what the
 * settings mean; this file runs them.
 *
 * sd_notify messages arrive through one datagram socket (NotifySource, the native addon), each
 * with the sender's pid and uid from the kernel. A message counts for an instance only if its
 * pid is the instance's or a descendant's (found by walking parents while the sender lives) and
 * its uid is the instance's or root's: no process can ack, ping or stop another user's.
 *
 * Every check belongs to one watched process (a Watched): once that process is no longer the
 * one watched for its row (it exited, was stopped or replaced), its checks end and what they
 * find is ignored.
 *
 * Firestarter's live check: pmond makes each instance a file in its own directory and gives it
 * to the instance's user ($FIRESTARTER_WATCH_FILE); the instance keeps touching it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AppDefinition } from '../apps/model';
import { DEFAULT_READY_TIMEOUT_MS, parseHttpTarget, parseReady, type HttpTarget, type Ready } from '../apps/ready';
import { listeningSockets, parentOf } from '../process/procnet';
import type { Watched } from '../process/spawner';
import { failedPrecondition } from '../protocol/errors';
import type { ProcessRow } from '../store/schema';
import type { Core } from './deps';

/** Where instances send sd_notify messages. */
export interface NotifySource {
  /** $NOTIFY_SOCKET. */
  readonly path: string;
  /** Whether it is bound and read (instances may be given it). */
  readonly available: boolean;
  /** Be told of every message; pid and uid are the kernel's. */
  listen(fn: (pid: number, uid: number, text: string) => void): void;
}

/** What a failed liveness check does: restart the instance (if w is still the one watched), with the reason kept. */
export interface CheckActions {
  restart(id: number, w: Watched, reason: string): void;
}

/** Health check defaults: every 10 s, 2 s each, 3 failures in a row restart. */
const HEALTH_INTERVAL_MS = 10_000;
const HEALTH_TIMEOUT_MS = 2_000;
const HEALTH_FAILURES = 3;
/** How often tcp and http readiness look: from 50 ms, doubling to 1 s. */
const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 1_000;
/** Parents walked up from a notify sender to find its instance. */
const MAX_DEPTH = 16;

/** One watched process whose notify messages count. */
interface Tracked {
  id: number;
  w: Watched;
  uid: number;
  /** Resolves a pending ready: notify. */
  ready?: () => void;
  /** The watchdog: restarts unless WATCHDOG=1 comes first. */
  watchdogMs?: number;
  dog?: { cancel(): void };
  /** Said STOPPING=1: the watchdog no longer applies. */
  stopping?: boolean;
}

/** A pending readiness wait: its result, and a way to end it early. */
export interface ReadyWait {
  done: Promise<true | string>;
  cancel(): void;
}

/** Whether instances of def get $NOTIFY_SOCKET. */
export function wantsNotify(def: AppDefinition | undefined): boolean {
  return def?.task?.ready === 'notify' || def?.task?.watchdog_ms !== undefined;
}

export class Checks {
  private readonly byPid = new Map<number, Tracked>();
  /** Tracked instances per uid: a message from a uid with none is dropped before any /proc lookup. */
  private readonly uids = new Map<number, number>();
  /** Tracked instances by their cgroup's name: a sender's one /proc read tells whose it is. */
  private readonly byCgroup = new Map<string, Tracked>();
  /** Tracked instances without a cgroup: only for them is a sender's parent chain walked. */
  private noCgroup = 0;

  constructor(
    private readonly c: Core,
    private readonly act: CheckActions,
    private readonly notify: NotifySource | undefined,
    private readonly liveDir?: string,
    private readonly ack?: NotifySource,
  ) {
    notify?.listen((pid, uid, text) => this.onMessage(pid, uid, text));
    ack?.listen((pid, uid, text) => this.onMessage(pid, uid, text));
  }

  /**
   * The variables an instance of def starts with: NOTIFY_SOCKET (and WATCHDOG_USEC) when it uses
   * sd_notify, FIRESTARTER_WATCH_FILE (made fresh, the instance's user's) with a live check.
   */
  env(row: Pick<ProcessRow, 'id' | 'name' | 'uid' | 'gid'>, def: AppDefinition | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    if (def?.task?.live_check_ms !== undefined) out.FIRESTARTER_WATCH_FILE = this.freshLiveFile(row);
    if (!wantsNotify(def)) return out;
    if (!this.notify?.available) throw failedPrecondition(`${row.name}: ready: notify and watchdog need pmond's notify socket, which could not be made (see pmond.log)`);
    const dog = def?.task?.watchdog_ms;
    return {
      ...out,
      NOTIFY_SOCKET: this.notify!.path,
      ...(dog !== undefined ? { WATCHDOG_USEC: String(dog * 1000) } : {}),
      // Firestarter's manual ack, for programs written for it (ack-socket.ts).
      ...(def?.task?.ready === 'notify' && this.ack?.available ? { FIRESTARTER_SOCK_PATH: this.ack.path } : {}),
    };
  }

  /**
   * row's live-check file, made anew: in pmond's own directory (0711, so no user can swap or
   * link anything in it), created O_EXCL|O_NOFOLLOW, 0600 and given to the instance's user, who
   * touches it (Firestarter's os.Chtimes needs ownership).
   */
  private freshLiveFile(row: Pick<ProcessRow, 'id' | 'name' | 'uid' | 'gid'>): string {
    const dir = this.liveDir;
    if (!dir) throw failedPrecondition(`${row.name}: live_check_timeout needs pmond's live-check directory, which it was not given`);
    try {
      fs.mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw failedPrecondition(`${row.name}: live check: cannot make ${dir}: ${(e as Error).message}`);
    }
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid!() || (st.mode & 0o022) !== 0) {
      throw failedPrecondition(`${row.name}: live check: ${dir} is not a directory of pmond's own that only it can write`);
    }
    const file = path.join(dir, String(row.id));
    // The last run's file emptied through an fd before its name goes: a process of that run that
    // escaped and still holds it cannot keep a grown, deleted inode on the run directory's disk.
    try {
      const old = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        if (fs.fstatSync(old).isFile()) fs.ftruncateSync(old, 0);
      } finally {
        fs.closeSync(old);
      }
    } catch {
      /* none, or not a file */
    }
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      if (process.getuid!() === 0) fs.fchownSync(fd, row.uid, row.gid);
    } finally {
      fs.closeSync(fd);
    }
    return file;
  }

  /** Start listening for w's messages (when its app uses sd_notify); called whenever a process becomes the one watched. */
  track(id: number, w: Watched, uid: number, def: AppDefinition | undefined): void {
    if (!wantsNotify(def)) return;
    const had = this.byPid.get(w.pid);
    if (had) this.untrack(had.w);
    const t: Tracked = { id, w, uid, ...(def?.task?.watchdog_ms !== undefined ? { watchdogMs: def.task.watchdog_ms } : {}) };
    this.byPid.set(w.pid, t);
    this.uids.set(uid, (this.uids.get(uid) ?? 0) + 1);
    if (w.cgroup) this.byCgroup.set(path.basename(w.cgroup), t);
    else this.noCgroup++;
  }

  /** w is no longer watched: its checks end. */
  untrack(w: Watched): void {
    const t = this.byPid.get(w.pid);
    if (t && t.w === w) {
      t.dog?.cancel();
      this.byPid.delete(w.pid);
      if (w.cgroup) {
        if (this.byCgroup.get(path.basename(w.cgroup)) === t) this.byCgroup.delete(path.basename(w.cgroup));
      } else this.noCgroup--;
      const n = (this.uids.get(t.uid) ?? 1) - 1;
      if (n > 0) this.uids.set(t.uid, n);
      else this.uids.delete(t.uid);
    }
  }

  /** Whether w is still the process watched for id. */
  private current(id: number, w: Watched): boolean {
    return this.c.units.peek(id)?.watched === w && !this.c.units.closed;
  }

  /**
   * Wait until w is ready by its app's `ready:`, at most timeoutMs: true, or why not (a failed
   * start, never a success). `none` is ready at once.
   */
  awaitReady(id: number, w: Watched, text: string | undefined, timeoutMs = DEFAULT_READY_TIMEOUT_MS): ReadyWait {
    const ready: Ready = text ? parseReady(text) : { kind: 'none' };
    if (ready.kind === 'none') return { done: Promise.resolve(true), cancel: () => undefined };
    const { clock } = this.c;
    let finish!: (r: true | string) => void;
    let over = false;
    const timers: Array<{ cancel(): void }> = [];
    const done = new Promise<true | string>((resolve) => {
      finish = (r) => {
        if (over) return;
        over = true;
        for (const t of timers) t.cancel();
        const tr = this.byPid.get(w.pid);
        if (tr?.w === w) delete tr.ready;
        resolve(r);
      };
    });
    timers.push(clock.setTimeout(() => finish(`not ready within ${seconds(timeoutMs)} (ready: ${text})`), timeoutMs));
    if (ready.kind === 'delay') {
      timers.push(clock.setTimeout(() => finish(true), ready.ms));
    } else if (ready.kind === 'notify') {
      const tr = this.byPid.get(w.pid);
      if (!tr || tr.w !== w) finish('ready: notify: the instance is not listened to (no notify socket)');
      else tr.ready = () => finish(true);
    } else {
      // tcp and http: look, then look again later, until ready, gone or out of time.
      let wait = POLL_FIRST_MS;
      const look = async (): Promise<void> => {
        if (over) return;
        if (!this.current(id, w)) return finish('it is no longer running');
        const ok = ready.kind === 'tcp' ? listensOn(w.pid, ready.port) !== undefined : await this.httpOk(w.pid, ready, Math.min(HEALTH_TIMEOUT_MS, wait * 4));
        if (ok === true) return finish(true);
        wait = Math.min(POLL_MAX_MS, wait * 2);
        timers.push(clock.setTimeout(() => void look(), wait));
      };
      timers.push(clock.setTimeout(() => void look(), POLL_FIRST_MS));
    }
    return { done, cancel: () => finish('cancelled') };
  }

  /**
   * A GET of target on w's own listening port (or target's port, which must be one the instance
   * itself listens on: root's pmond sends no request a user chose to someone else's loopback
   * service): 2xx/3xx true, else why not.
   */
  private async httpOk(pid: number, target: HttpTarget, timeoutMs: number): Promise<true | string> {
    // /proc/PID/net shows the instance's own network namespace: in another one, its 127.0.0.1
    // is not pmond's, and a request would reach whoever listens on pmond's.
    if (netns(pid) !== netns('self')) return 'the instance is in another network namespace (no request is sent)';
    const own = listeningSockets(pid);
    if (target.port !== undefined) {
      const host = target.host ?? '127.0.0.1';
      // The exact address or its family's wildcard (a dual-stack :: takes 127.0.0.1 too).
      const covers = own.some((s) => s.port === target.port && (s.address === host || s.address === (host === '::1' ? '::' : '0.0.0.0') || (host === '127.0.0.1' && s.address === '::')));
      if (!covers) return `the instance does not listen on ${host.includes(':') ? `[${host}]` : host}:${target.port} (no request is sent to an address that is not its own)`;
      return httpGet(host, target.port, target.path, timeoutMs);
    }
    // Its own port: a loopback or wildcard listener only, asked on loopback.
    const s = own.find((x) => x.address === '127.0.0.1' || x.address === '0.0.0.0' || x.address === '::1' || x.address === '::');
    if (!s) return own.length ? 'it listens on no loopback or wildcard address (no request is sent elsewhere)' : 'it listens on no TCP port yet';
    return httpGet(s.address === '0.0.0.0' || s.address === '127.0.0.1' ? '127.0.0.1' : '::1', s.port, target.path, timeoutMs);
  }

  /** w is running (ready): start its liveness checks (watchdog, health) while it stays the one watched. */
  live(id: number, w: Watched, def: AppDefinition | undefined): void {
    const t = this.byPid.get(w.pid);
    if (t && t.w === w && t.watchdogMs !== undefined) this.feed(t);
    if (def?.task?.live_check_ms !== undefined) this.liveCheck(id, w, def.task.live_check_ms);
    const h = def?.task?.health;
    if (!h) return;
    let target: HttpTarget;
    try {
      target = parseHttpTarget(h.http);
    } catch {
      return; // checked when the app was taken
    }
    const interval = h.interval_ms ?? HEALTH_INTERVAL_MS;
    const limit = h.failures ?? HEALTH_FAILURES;
    let failures = 0;
    const tick = async (): Promise<void> => {
      if (!this.current(id, w)) return;
      const row = await this.c.units.get(id);
      if (row?.status === 'running') {
        const r = await this.httpOk(w.pid, target, h.timeout_ms ?? HEALTH_TIMEOUT_MS);
        if (!this.current(id, w)) return;
        failures = r === true ? 0 : failures + 1;
        if (r !== true && failures >= limit) {
          this.act.restart(id, w, `health: GET ${target.path} failed ${failures} times in a row (last: ${r})`);
          return;
        }
      }
      this.c.clock.setTimeout(() => void tick(), interval);
    };
    this.c.clock.setTimeout(() => void tick(), interval);
  }

  /**
   * Firestarter's live check: the instance touches $FIRESTARTER_WATCH_FILE at least every ms,
   * else it is restarted. Looked at by lstat in pmond's own directory (nothing there can be
   * swapped); a file that is gone, not a regular file, someone else's or grown past 1 MiB (the
   * user owns it: it must not fill the run directory) fails at once.
   */
  private liveCheck(id: number, w: Watched, ms: number): void {
    if (!this.liveDir) return;
    const file = path.join(this.liveDir, String(id));
    const since = this.c.clock.now();
    const every = Math.max(250, Math.min(1000, Math.floor(ms / 4)));
    const tick = async (): Promise<void> => {
      if (!this.current(id, w)) return;
      const row = await this.c.units.get(id);
      if (!row) return;
      let why: string | undefined;
      try {
        const st = fs.lstatSync(file);
        if (!st.isFile() || st.uid !== row.uid && process.getuid!() === 0) why = 'is no longer a file of the instance';
        else if (st.size > 1 << 20 || st.blocks * 512 > 1 << 20) why = `grew to ${Math.max(st.size, st.blocks * 512)} bytes (at most 1 MiB)`;
        else if (st.nlink !== 1) why = 'has another name (a hard link)';
        else if (this.c.clock.now() - Math.max(since, st.mtimeMs) > ms) why = `not touched for ${seconds(ms)}`;
      } catch (e) {
        why = `is gone (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
      if (why && this.current(id, w) && row.status === 'running') {
        this.act.restart(id, w, `live check: FIRESTARTER_WATCH_FILE ${why}`);
        return;
      }
      this.c.clock.setTimeout(() => void tick(), every);
    };
    this.c.clock.setTimeout(() => void tick(), every);
  }

  /** (Re)arm t's watchdog. */
  private feed(t: Tracked): void {
    t.dog?.cancel();
    if (t.stopping || t.watchdogMs === undefined) return;
    const ms = t.watchdogMs;
    t.dog = this.c.clock.setTimeout(() => {
      if (this.current(t.id, t.w)) this.act.restart(t.id, t.w, `watchdog: no WATCHDOG=1 for ${seconds(ms)}`);
    }, ms);
  }

  /** The tracked instance a sender belongs to: its own pid or an ancestor's, with its uid (or root's). */
  private owner(pid: number, uid: number): Tracked | undefined {
    const direct = this.byPid.get(pid);
    // An instance's descendants share its cgroup (a user cannot move a process out of pmond's):
    // one read of the sender's /proc/PID/cgroup, no walk.
    const viaCgroup = direct ?? (this.byCgroup.size ? this.byCgroup.get(cgroupName(pid)) : undefined);
    if (viaCgroup) {
      if (!this.current(viaCgroup.id, viaCgroup.w)) {
        this.untrack(viaCgroup.w);
        return undefined;
      }
      return uid === viaCgroup.uid || uid === 0 ? viaCgroup : undefined;
    }
    // The walk up the parents is only for instances that have no cgroup (bounded: 16 reads).
    if (this.noCgroup === 0) return undefined;
    let p: number | undefined = pid;
    for (let depth = 0; p !== undefined && p > 1 && depth < MAX_DEPTH; depth++) {
      const t = this.byPid.get(p);
      if (t) {
        if (!this.current(t.id, t.w)) {
          this.untrack(t.w);
          return undefined;
        }
        return uid === t.uid || uid === 0 ? t : undefined;
      }
      // Only pids of tracked trees are worth a walk; a stranger's walk ends at pid 1 or the depth.
      p = parentOf(p);
    }
    return undefined;
  }

  /** One sd_notify message: READY=1, WATCHDOG=1, WATCHDOG=trigger, STOPPING=1, STATUS= (logged). */
  private onMessage(pid: number, uid: number, text: string): void {
    // A flood from a user with no instance listened to costs a map lookup, not a /proc walk.
    if (this.byPid.size === 0 || (uid !== 0 && !this.uids.has(uid))) return;
    const t = this.owner(pid, uid);
    if (!t) return;
    for (const line of text.split('\n')) {
      if (line === 'READY=1') t.ready?.();
      else if (line === 'WATCHDOG=1') {
        if (t.dog) this.feed(t);
      } else if (line === 'WATCHDOG=trigger') {
        this.act.restart(t.id, t.w, 'watchdog: the instance asked for it (WATCHDOG=trigger)');
      } else if (line === 'STOPPING=1') {
        t.stopping = true;
        t.dog?.cancel();
      } else if (line.startsWith('STATUS=')) {
        this.c.logger.debug(`process ${t.id}: status: ${line.slice(7, 207).replace(/[\x00-\x1f\x7f]/g, '?')}`);
      }
    }
  }
}

/** The name of pid's cgroup (the last part of its /proc/PID/cgroup v2 line), or ''. */
function cgroupName(pid: number): string {
  try {
    const m = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    return m ? path.basename(m[1]!.trim()) : '';
  } catch {
    return '';
  }
}

/** The network namespace of pid ("self": pmond's), as its /proc link names it; '' if unreadable. */
function netns(pid: number | 'self'): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return '';
  }
}

/** The listening socket of pid's tree on port (any if undefined), or undefined. */
function listensOn(pid: number, port: number | undefined): { address: string; port: number } | undefined {
  return listeningSockets(pid).find((s) => port === undefined || s.port === port);
}

/** GET http://host:port/path: true on 2xx/3xx, else why not. No body is read. */
function httpGet(host: string, port: number, path: string, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const req = http.request({ host, port, path, method: 'GET', agent: false, headers: { host: 'localhost', connection: 'close' }, timeout: timeoutMs }, (res) => {
      const code = res.statusCode ?? 0;
      res.destroy();
      resolve(code >= 200 && code < 400 ? true : `status ${code}`);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(`no answer within ${seconds(timeoutMs)}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end();
  });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
