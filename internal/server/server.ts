/**
 * pmond's Unix-socket server: framed JSON (internal/protocol), caller
 * identity from the kernel (SO_PEERCRED), every request validated against
 * the shared method table before a handler sees it. Bounds: a frame-size
 * cap, an idle timeout, connections per uid and in all (with a reserve that
 * only root and admin_group can use), requests in flight per connection, and
 * unsent reply bytes per connection (past reply_buffer_pause pmond stops
 * reading that connection, past reply_buffer_close it closes it). A bad frame
 * or a client that does not read costs that client its connection, never the
 * daemon or another user. Every request in flight gets an `alive` event every
 * ALIVE_MS, so a client can tell a long answer from a hung pmond.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Config } from '../config/config';
import type { Logger } from '../logger/logger';
import type { PeerCred, PeerCredReader } from '../native';
import {
  adminSocketPath,
  capabilities,
  MIN_PROTOCOL_VERSION,
  ALIVE_MS,
  DEFAULT_MAX_FRAME,
  encodeFrame,
  MAX_REPLY_FRAME,
  FrameDecoder,
  describeZodError,
  failedPrecondition,
  invalidArgument,
  METHODS,
  type EventFrame,
  type EventSource,
  type LogFilesInfo,
  MAX_COPY_TEXT,
  MAX_FOLLOWED_LOGS,
  type MethodName,
  type Params,
  notFound,
  permissionDenied,
  PmonError,
  PROTOCOL_VERSION,
  requestEnvelope,
  type Result,
  type AppSpecWire,
  toWireError,
  unavailable,
} from '../protocol';
import type { Caller, Supervisor } from '../supervisor/supervisor';
import type { LogFiles, LogReaderFactory } from './log-reader';
import { bound, sendCopies, sendPlain, type TextSink } from './log-all';
import { follow, openLog, type OpenLog, tail } from './logs';
import { type History, POINTS } from '../stats/history';
import type { EventBus } from './events';

/** Per-request context handed to handlers. */
export interface RequestContext {
  caller: Caller;
  /** Send a streaming event (only meaningful for streaming methods). */
  emit(data: string, source?: EventSource): Promise<void>;
  /** Send the `files` event of `log -a` (what is read, skipped and cut). */
  emitFiles(info: LogFilesInfo): Promise<void>;
  /** Resolves when the connection closes. */
  closed: Promise<void>;
}

type Handlers = { [M in MethodName]: (p: Params<M>, ctx: RequestContext) => Promise<Result<M>> };

export interface ServerDeps {
  supervisor: Supervisor;
  logger: Logger;
  config: Pick<
    Config,
    | 'socket_path'
    | 'socket_mode'
    | 'socket_group'
    | 'admin_group'
    | 'max_frame_bytes'
    | 'max_connections'
    | 'idle_timeout'
    | 'max_connections_per_uid'
    | 'admin_reserved_connections'
    | 'reply_buffer_pause'
    | 'reply_buffer_close'
    | 'config_path'
    | 'data_dir'
    | 'logs_dir'
    | 'apps'
    | 'process_config_file'
  >;
  /** When pmond started (epoch ms), for info's uptime. */
  startedAt: number;
  /** null when kernel identity is turned off (PMON3_NO_PEERCRED=1): then only pmond's own uid may connect. */
  peerCred: PeerCredReader | null;
  /** Readers of log files, running as the process's user. */
  logs: LogReaderFactory;
  daemonUid: number;
  /** gid of admin_group, or null. */
  adminGid: number | null;
  /** gid of socket_group, or null. */
  socketGid: number | null;
  version: string;
  /** State changes for `events` (and the HTTP door's /v1/events). */
  events: EventBus;
  /** CPU and memory history (internal/stats/history.ts) and how often it is sampled. */
  history: { history: History; intervalMs: number };
  /** pmond's configured apps files (config `apps`), read now, for `reload`. */
  configuredApps: () => { apps: AppSpecWire[]; files: string[] };
}

const MAX_IN_FLIGHT = 32;
/**
 * Connections the kernel queues for accept (capped by net.core.somaxconn). A connect-and-close
 * flood fills Node's default of 511 while pmond is busy for a moment, and a full backlog answers
 * a Unix connect with EAGAIN at once; the client retries that too.
 */
const LISTEN_BACKLOG = 4096;

export class Server {
  private server?: net.Server;
  /** The admin door (adminSocketPath), on a root pmond. */
  private admin?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Open connections per uid (callers that were let in). */
  private readonly perUid = new Map<number, number>();
  private readonly handlers: Handlers;

  constructor(private readonly d: ServerDeps) {
    this.handlers = makeHandlers(d);
  }

  /**
   * Listen on socket_path. Refuses if another pmond answers there; removes a
   * stale socket file left by a dead one.
   */
  async listen(): Promise<void> {
    const p = this.d.config.socket_path;
    if (Buffer.byteLength(p) > 107) throw invalidArgument(`socket_path ${p} is longer than the 107 bytes a Unix socket path may have`);
    const dir = path.dirname(p);
    // Made 0755 for root (every user may ask a system pmond); 0700 for a per-user pmond, which
    // serves only its owner and root ($XDG_RUNTIME_DIR/pmon3). Set after mkdir, whatever the umask;
    // a directory that exists is left as it is (the checks below still apply).
    const dirMode = this.d.daemonUid === 0 ? 0o755 : 0o700;
    if (fs.mkdirSync(dir, { recursive: true, mode: dirMode }) !== undefined) fs.chmodSync(dir, dirMode);
    const st = fs.statSync(dir);
    if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
      throw failedPrecondition(`socket directory ${dir} is writable by others; refusing to use it`);
    }
    if (fs.existsSync(p)) {
      if (await answers(p)) throw failedPrecondition(`another pmond is already running on ${p}`);
      fs.unlinkSync(p);
    }
    // No server.maxConnections: Node would drop connections over it before anyone could tell
    // root from an attacker. onConnection counts them per uid, with a reserve for admins.
    const server = net.createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600 and opened up only after chmod: no window with a wider mode.
      const old = process.umask(0o177);
      server.listen({ path: p, backlog: LISTEN_BACKLOG }, () => {
        process.umask(old);
        resolve();
      });
    });
    const mode = this.d.peerCred ? this.d.config.socket_mode : 0o600;
    fs.chmodSync(p, mode);
    if (this.d.socketGid !== null) fs.chownSync(p, -1, this.d.socketGid);
    this.server = server;
    if (this.d.daemonUid === 0 && this.d.peerCred) await this.listenAdmin(adminSocketPath(p));
  }

  /**
   * The admin door (adminSocketPath): 0600, or 0660 with admin_group. A user's connect flood
   * fills the main socket's backlog, never this one, so root's commands get through it at once.
   * Not there (path too long, an error): logged, and the main socket serves everyone as before.
   */
  private async listenAdmin(p: string): Promise<void> {
    try {
      if (Buffer.byteLength(p) > 107) throw new Error(`${p} is longer than the 107 bytes a Unix socket path may have`);
      try {
        fs.unlinkSync(p); // the main socket answered to nobody: what is here is stale (or a squatter's)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const server = net.createServer((s) => this.onConnection(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const old = process.umask(0o177);
        server.listen({ path: p, backlog: 128 }, () => {
          process.umask(old);
          resolve();
        });
      });
      if (this.d.adminGid !== null) {
        fs.chownSync(p, 0, this.d.adminGid);
        fs.chmodSync(p, 0o660);
      }
      this.admin = server;
    } catch (e) {
      this.d.logger.warn(`no admin socket (${(e as Error).message}); root and admin_group share ${this.d.config.socket_path} with everyone`);
    }
  }

  /** Stop accepting, close every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const [server, p] of [
      [this.server, this.d.config.socket_path],
      [this.admin, adminSocketPath(this.d.config.socket_path)],
    ] as const) {
      if (!server) continue;
      await new Promise<void>((r) => server.close(() => r()));
      try {
        fs.unlinkSync(p);
      } catch {
        /* already gone */
      }
    }
  }

  /**
   * Who is calling, from the kernel; or why they may not call at all.
   * A per-user (unprivileged) pmond serves only its owner and root.
   */
  private callerOf(socket: net.Socket): { caller: Caller } | { refuse: string; hangUp: boolean } {
    let cred: PeerCred | null;
    if (this.d.peerCred) {
      cred = this.d.peerCred(socket);
      if (!cred) return { refuse: 'caller identity could not be established', hangUp: true };
    } else {
      // No kernel identity: the socket is 0600, so only our own uid got here.
      cred = { uid: this.d.daemonUid, gid: -1, pid: -1 };
    }
    const own = cred.uid === this.d.daemonUid;
    if (this.d.daemonUid !== 0 && !own && cred.uid !== 0) {
      return { refuse: `this pmond belongs to uid ${this.d.daemonUid}; uid ${cred.uid} may not use it`, hangUp: false };
    }
    const admin = cred.uid === 0 || (this.d.daemonUid !== 0 && own) || this.inAdminGroup(cred);
    return { caller: { ...cred, admin } };
  }

  private inAdminGroup(cred: PeerCred): boolean {
    const g = this.d.adminGid;
    if (g === null) return false;
    if (cred.gid === g) return true;
    try {
      const status = fs.readFileSync(`/proc/${cred.pid}/status`, 'utf8');
      const line = status.split('\n').find((l) => l.startsWith('Groups:'));
      return !!line && line.slice(7).trim().split(/\s+/).map(Number).includes(g);
    } catch {
      return false;
    }
  }

  /** Why a caller may not open one more connection now, or null. */
  private overLimit(caller: Caller): string | null {
    const c = this.d.config;
    const open = this.sockets.size;
    if (caller.admin) return open >= c.max_connections ? `pmond has ${open} connections open, the most max_connections allows` : null;
    const mine = this.perUid.get(caller.uid) ?? 0;
    if (mine >= c.max_connections_per_uid) return `uid ${caller.uid} has ${mine} connections open, the most max_connections_per_uid allows`;
    const forOthers = c.max_connections - c.admin_reserved_connections;
    if (open >= forOthers) return `pmond has ${open} connections open; the remaining ${c.admin_reserved_connections} are kept for root and admin_group`;
    return null;
  }

  /**
   * The one entry of every door (this Unix socket, the HTTP API): the method looked up in the
   * table, its params validated, its handler run as ctx.caller, the answer given once what it
   * changed was written (or is known to be kept in memory only). Throws a PmonError; anything
   * else a handler throws is logged with its stack and answered as INTERNAL.
   */
  async dispatch(method: string, params: unknown, ctx: RequestContext): Promise<unknown> {
    if (!Object.prototype.hasOwnProperty.call(METHODS, method)) throw invalidArgument(`unknown method "${method.slice(0, 64)}"`);
    const m = method as MethodName;
    const parsed = METHODS[m].params.safeParse(params ?? {});
    if (!parsed.success) throw invalidArgument(describeZodError(parsed.error));
    const handler = this.handlers[m] as (p: unknown, c: RequestContext) => Promise<unknown>;
    try {
      const result = await handler(parsed.data, ctx);
      await this.d.supervisor.settled();
      return result;
    } catch (e) {
      if (!(e instanceof Error && 'code' in e)) this.d.logger.error(`${m} failed: ${(e as Error)?.stack ?? String(e)}`);
      throw e;
    }
  }

  private onConnection(socket: net.Socket): void {
    const who = this.callerOf(socket);
    const maxFrame = this.d.config.max_frame_bytes ?? DEFAULT_MAX_FRAME;
    socket.on('error', () => undefined);
    const refuse = (err: Error): void => {
      // One frame, then the connection goes: the write lands in the peer's queue at once
      // (a Unix socket), and a peer that never reads cannot keep the socket open.
      // Gone as soon as the frame is handed to the kernel: refused connections hold no fd.
      socket.end(encodeFrame({ v: PROTOCOL_VERSION, id: 0, ok: false, error: toWireError(err) }, MAX_REPLY_FRAME), () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    if ('refuse' in who && who.hangUp) return refuse(permissionDenied(who.refuse));
    if ('caller' in who) {
      const why = this.overLimit(who.caller);
      if (why) return refuse(unavailable(why));
    }
    const uid = 'caller' in who ? who.caller.uid : -1;
    this.sockets.add(socket);
    this.perUid.set(uid, (this.perUid.get(uid) ?? 0) + 1);
    const decoder = new FrameDecoder(maxFrame);
    const inFlight = new Set<number>();
    let streaming = 0;
    let paused = false;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const { reply_buffer_pause: pauseAt, reply_buffer_close: closeAt } = this.d.config;

    const send = (v: unknown): boolean => {
      if (socket.destroyed) return false;
      // Closed only when it was already behind (past the pause mark) and falls further behind:
      // one large reply to a client that keeps up is never the reason.
      const behind = socket.writableLength > pauseAt;
      const ok = socket.write(encodeFrame(v, MAX_REPLY_FRAME));
      const unsent = socket.writableLength;
      if (behind && unsent > closeAt) {
        this.d.logger.warn(`closing a connection of uid ${uid}: ${unsent} reply bytes unread (reply_buffer_close ${closeAt})`);
        socket.destroy();
        return false;
      }
      if (unsent > pauseAt && !paused) {
        // Stop reading this client's requests until it reads what it was sent.
        paused = true;
        socket.pause();
        socket.once('drain', () => {
          paused = false;
          if (!socket.destroyed) socket.resume();
        });
      }
      return ok;
    };
    socket.setTimeout(this.d.config.idle_timeout * 1000, () => {
      if (streaming === 0 && inFlight.size === 0) socket.destroy();
    });
    // A frame, once begun, must arrive whole within idle_timeout (no byte-a-minute clients).
    let partialSince = 0;
    const ticker = setInterval(() => {
      if (partialSince && Date.now() - partialSince > this.d.config.idle_timeout * 1000) socket.destroy();
      for (const id of inFlight) send({ v: PROTOCOL_VERSION, id, event: 'alive' });
    }, Math.min(ALIVE_MS, this.d.config.idle_timeout * 500));
    ticker.unref();
    socket.on('close', () => {
      clearInterval(ticker);
      this.sockets.delete(socket);
      const n = (this.perUid.get(uid) ?? 1) - 1;
      if (n > 0) this.perUid.set(uid, n);
      else this.perUid.delete(uid);
      resolveClosed();
    });

    const fail = (id: number, err: unknown): void => {
      send({ v: PROTOCOL_VERSION, id, ok: false, error: toWireError(err) });
    };

    socket.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
        partialSince = decoder.pending() > 0 ? partialSince || Date.now() : 0;
      } catch (e) {
        fail(0, e);
        socket.end();
        socket.destroySoon?.();
        return;
      }
      for (const f of frames) {
        const env = requestEnvelope.safeParse(f);
        if (!env.success) {
          const id = typeof (f as { id?: unknown })?.id === 'number' ? (f as { id: number }).id : 0;
          fail(id, invalidArgument(`malformed request: ${describeZodError(env.error)}`));
          continue;
        }
        const { id, method, params, v } = env.data;
        if (v < MIN_PROTOCOL_VERSION) {
          fail(id, failedPrecondition(`protocol version ${v} is older than pmond takes (${MIN_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}); use a newer pmon3`));
          continue;
        }
        if ('refuse' in who) {
          // Answered per request, so the client sees PERMISSION_DENIED rather than a hang-up.
          fail(id, permissionDenied(who.refuse));
          continue;
        }
        const { caller } = who;
        if (inFlight.size >= MAX_IN_FLIGHT || inFlight.has(id)) {
          fail(id, unavailable(inFlight.has(id) ? `request id ${id} is already in flight` : `too many requests in flight on this connection (max ${MAX_IN_FLIGHT})`));
          continue;
        }
        inFlight.add(id);
        const ctx: RequestContext = {
          caller,
          closed,
          emit: async (data, source) => {
            streaming = 1;
            if (!send({ v: PROTOCOL_VERSION, id, event: 'data', data, ...(source ? { source } : {}) }) && !socket.destroyed) {
              await new Promise<void>((r) => {
                socket.once('drain', r);
                socket.once('close', r);
              });
            }
          },
          emitFiles: async (info) => {
            streaming = 1;
            const frame: EventFrame = { v: PROTOCOL_VERSION, id, event: 'files', ...info };
            if (!send(frame) && !socket.destroyed) {
              await new Promise<void>((r) => {
                socket.once('drain', r);
                socket.once('close', r);
              });
            }
          },
        };
        this.dispatch(method, params, ctx)
          .then((result) => {
            send({ v: PROTOCOL_VERSION, id, ok: true, result });
          })
          .catch((e: unknown) => fail(id, e))
          .finally(() => {
            inFlight.delete(id);
          });
      }
    });
  }
}

/** Whether something answers on the socket at p. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/**
 * `log -a` / `logf -a` (log-all.ts): the rotated copies oldest first, then the current log
 * (its newest MAX_COPY_TEXT), all as `data` events; then, following, a `files` event and the
 * appended text. Reads stop when the client goes away.
 */
async function logAll(
  row: { log: string; uid: number },
  opened: OpenLog,
  files: LogFiles,
  following: boolean,
  c: RequestContext,
  chunk: number,
): Promise<Result<'log'>> {
  let gone = false;
  void c.closed.then(() => (gone = true));
  const sink: TextSink = { send: (t) => c.emit(t), gone: () => gone };
  const prefixed = (e: unknown): never => {
    throw e instanceof PmonError && !e.message.startsWith('log ') ? new PmonError(e.code, `log ${row.log}: ${e.message}`) : e;
  };
  const info = await sendCopies(row.log, files, row.uid, sink, MAX_COPY_TEXT, chunk).catch(prefixed);
  const start = Math.max(0, opened.size - MAX_COPY_TEXT);
  info.files.push(row.log);
  if (start > 0) info.notes.push(`${row.log}: only its last ${bound(MAX_COPY_TEXT)} shown (the most read of one file)`);
  await sendPlain(files, opened.fd, start, opened.size, sink, chunk).catch(prefixed);
  if (!following) return { path: row.log, text: '', ...info };
  await c.emitFiles(info);
  const f = follow(row.log, opened, files, row.uid, (t) => c.emit(t), chunk);
  try {
    await Promise.race([c.closed, f.failed]);
  } finally {
    f.stop();
  }
  return { path: row.log, text: '', ...info };
}

function makeHandlers(d: ServerDeps): Handlers {
  const sup = d.supervisor;
  // Replies stay well under reply_buffer_close: a page of `list`, a chunk of `log`.
  const maxReply = Math.floor(d.config.reply_buffer_close / 4);
  const maxText = Math.max(1024, Math.min((d.config.max_frame_bytes ?? DEFAULT_MAX_FRAME) - 4096, maxReply));
  /** A page of list or table: at most this much JSON, about. */
  const pageBytes = Math.min(512 * 1024, maxReply);
  return {
    ping: async () => ({ protocol: PROTOCOL_VERSION, version: d.version, pid: process.pid, health: sup.health(), capabilities: capabilities() }),
    list: async (p, c) => sup.list(c.caller, p.after ?? 0, pageBytes),
    table: async (p, c) => sup.table(c.caller, p.after ?? 0, pageBytes),
    describe: async (p, c) => sup.describe(c.caller, p.target),
    exec: async (p, c) => sup.exec(c.caller, p),
    stop: async (p, c) => sup.stop(c.caller, p.target, p.force),
    restart: async (p, c) => {
      try {
        if (p.changes && Object.keys(p.changes).length) return await sup.restartWith(c.caller, p.target, p.count, p.changes);
        return await sup.restart(c.caller, p.target, p.count);
      } catch (e) {
        // The Go pmon3's restart NAME of a name only its process config knows: root and admins
        // bring it in from pmond's own files (what root configured, never another user's file).
        if (!(e instanceof PmonError) || e.code !== 'NOT_FOUND' || !c.caller.admin) throw e;
        let known: AppSpecWire | undefined;
        try {
          known = d.configuredApps().apps.find((a) => a.name === p.target);
        } catch {
          throw e; // a file that cannot be read now says so at reload; this name is just not found
        }
        if (!known) throw e;
        await sup.apply(c.caller, { apps: [{ ...known, autostart: true }], files: [], prune: false, dry_run: false });
        return sup.describe(c.caller, known.instances > 1 ? `${p.target}:0` : p.target);
      }
    },
    delete: async (p, c) => sup.delete(c.caller, p.target, p.force),
    kill: async (p, c) => sup.killAll(c.caller, p.force),
    init: async (p, c) => sup.init(c.caller, p.config_only ?? false),
    drop: async (p, c) => sup.dropAll(c.caller, p.force),
    reset: async (p, c) => sup.reset(c.caller, p.target),
    apply: async (p, c) => sup.apply(c.caller, p),
    group: async (p, c) => sup.group(c.caller, p),
    dgraph: async (p, c) => sup.dgraph(c.caller, p.config_only),
    scale: async (p, c) => sup.scale(c.caller, p),
    upgrade: async (p, c) => sup.upgrade(c.caller, p.target),
    log_rotate: async (p, c) => sup.rotateLogs(c.caller, p.target),
    apps: async (_p, c) => sup.listApps(c.caller),
    input: async (p, c) => sup.input(c.caller, p.target, p.data),
    events: async (_p, c) => {
      const stop = d.events.subscribe(c.caller, (e) => void c.emit(`${JSON.stringify(e)}\n`));
      if (!stop) throw unavailable('too many event streams are open; try again later');
      try {
        await c.emit('');
        await c.closed;
      } finally {
        stop();
      }
      return { ended: true };
    },
    stat: async (p, c) => {
      const rows = p.targets.length ? (await Promise.all(p.targets.map((t) => sup.select(c.caller, t)))).flat() : await sup.visible(c.caller);
      const now = Date.now();
      const seen = new Set<number>();
      const series = [];
      for (const r of rows) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        const h = d.history.history.get(r.id, p.resolution, now) ?? { cpu: [], memory: [] };
        series.push({ id: r.id, name: r.name, ...h });
      }
      return { res_minutes: p.resolution, points: POINTS, interval_ms: d.history.intervalMs, series };
    },
    reload: async (p, c) => {
      if (!c.caller.admin) throw permissionDenied(`reload applies pmond's own apps files (config apps): root and admin_group only; apply -f FILE applies yours`);
      const { apps, files } = d.configuredApps();
      return sup.apply(c.caller, { apps, files, prune: true, dry_run: p.dry_run });
    },
    log: async (p, c) => {
      let row = await sup.find(c.caller, p.target);
      if (p.crash) {
        // The newest crash file (save_log_on_crash) read like the log: by a reader running as the user.
        const crash = (await sup.crashFiles(row))[0];
        if (!crash) throw notFound(`${row.name} has no crash file (save_log_on_crash keeps one when it exits abnormally)`);
        row = { ...row, log: crash };
      }
      // Every open, fstat and read of the log, the first and each one after a rotation, is done
      // by a reader running as the process's user, with a deadline: a directory they swap leads
      // only where they could go themselves, and a file system that does not answer holds only
      // that reader, never pmond.
      const files = await d.logs.start(await sup.identity(row), c.caller);
      try {
        const opened = await openLog(row.log, files, row.uid);
        if (p.all) return await logAll(row, opened, files, p.follow, c, Math.min(256 * 1024, maxText));
        const text = await tail(files, opened.fd, opened.size, p.lines, maxText).catch((e: unknown) => {
          throw e instanceof PmonError ? new PmonError(e.code, `log ${row.log}: ${e.message}`) : e;
        });
        if (!p.follow) return { path: row.log, text };
        if (text) await c.emit(text);
        const f = follow(row.log, opened, files, row.uid, (t) => c.emit(t), Math.min(256 * 1024, maxText));
        try {
          await Promise.race([c.closed, f.failed]);
        } finally {
          f.stop();
        }
        return { path: row.log, text: '' };
      } finally {
        files.end();
      }
    },
    act: async (p, c) => sup.act(c.caller, p.action, p.targets, p.force),
    run: async (p, c) => sup.run(c.caller, p.target),
    trystart: async (p, c) => sup.tryStart(c.caller, p.target),
    info: async (_p, c) => ({
      version: d.version,
      pid: process.pid,
      uid: d.daemonUid,
      started_at: new Date(d.startedAt).toISOString(),
      uptime_ms: Date.now() - d.startedAt,
      config_path: d.config.config_path,
      socket_path: d.config.socket_path,
      data_dir: d.config.data_dir,
      logs_dir: d.config.logs_dir,
      apps_paths: [...d.config.apps, ...(d.config.process_config_file ? [d.config.process_config_file] : [])],
      ...(await sup.counts(c.caller)),
      health: sup.health(),
    }),
    logs: async (p, c) => {
      const selected = p.targets.length ? await Promise.all(p.targets.map((t) => sup.find(c.caller, t))) : await sup.visible(c.caller);
      const rows = [...new Map(selected.map((r) => [r.id, r])).values()];
      if (p.follow && rows.length > MAX_FOLLOWED_LOGS) {
        throw invalidArgument(`logs --follow follows at most ${MAX_FOLLOWED_LOGS} processes and ${rows.length} are selected; name the ones you want`);
      }
      // As for `log`: every file is opened and read by a reader running as the process's user,
      // with a deadline. One reader per user the logs belong to, shared by that user's logs
      // (its requests go one after the other).
      const readers = new Map<number, Promise<LogFiles>>();
      const filesFor = (row: (typeof rows)[number]): Promise<LogFiles> => {
        let r = readers.get(row.uid);
        if (!r) {
          r = sup.identity(row).then((who) => d.logs.start(who, c.caller));
          r.catch(() => undefined);
          readers.set(row.uid, r);
        }
        return r;
      };
      const processes: Array<{ id: number; name: string; path: string }> = [];
      const skipped: Array<{ id: number; name: string; error: string }> = [];
      const open: Array<{ row: (typeof rows)[number]; log: OpenLog; files: LogFiles; source: EventSource }> = [];
      const skip = async (source: EventSource, e: unknown): Promise<void> => {
        const error = toWireError(e).message;
        skipped.push({ ...source, error });
        // While following, the reply comes only at the end: say it now.
        if (p.follow) await c.emit('', { ...source, error });
      };
      try {
        for (const row of rows) {
          const source = { id: row.id, name: row.name };
          try {
            const files = await filesFor(row);
            const log = await openLog(row.log, files, row.uid);
            const text = await tail(files, log.fd, log.size, p.lines, maxText);
            if (text) await c.emit(text, source);
            processes.push({ ...source, path: row.log });
            if (p.follow) open.push({ row, log, files, source });
            else await files.close(log.fd);
          } catch (e) {
            await skip(source, e);
          }
        }
        if (!p.follow) return { processes, skipped };
        const chunk = Math.min(256 * 1024, maxText);
        const followers = open.map((o) => {
          const f = follow(o.row.log, o.log, o.files, o.row.uid, (t) => c.emit(t, o.source), chunk);
          f.failed.catch((e: unknown) => skip(o.source, e)).catch(() => undefined);
          return f;
        });
        // An event without a source says every log is followed from here on (attach --stdin
        // sends only after it); clients that do not know it skip events without one.
        await c.emit('');
        try {
          await c.closed;
        } finally {
          for (const f of followers) f.stop();
        }
        return { processes, skipped };
      } finally {
        for (const r of readers.values()) r.then((f) => f.end(), () => undefined);
      }
    },
  };
}
