/**
 * The HTTP door (README "HTTP API"): off unless config `http.listen` is set. node:http (or
 * node:https with `tls`) rather than fastify: the handlers and their zod schemas are the
 * protocol table's already, so a framework would add a second router and ~8 MiB of RSS for
 * nothing we use; node:http's own bounds (headers size and time, connections) are what we set.
 *
 * Every request is authenticated (auth.ts) before anything else is read from pmond, on loopback
 * too (every local user can reach a loopback port); then its role is checked (roles.ts); then it
 * is the same dispatch as on the Unix socket, as the key's Unix user.
 *
 * Bounds: max_connections open (past it the kernel's accept is answered by a close), headers
 * 16 KiB within 10 s, the body max_body within 30 s (a larger Content-Length is refused before
 * it is read), a URL of 4 KiB, each stream's unsent bytes stream_buffer (past it, closed), the
 * event subscribers MAX_SUBSCRIBERS, each key's rate.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as path from 'node:path';
import type * as tls from 'node:tls';
import type { Config } from '../config/config';
import type { Logger } from '../logger/logger';
import type { PeerCredReader } from '../native';
import { HTTP_STATUS, invalidArgument, notFound, PmonError, permissionDenied, toWireError, unavailable } from '../protocol/errors';
import { ALIVE_MS, allPages, type EventSource, type LogFilesInfo, type Result } from '../protocol';
import type { RequestContext } from '../server/server';
import type { Caller } from '../supervisor/deps';
import type { Authenticator, Principal } from './auth';
import type { EventBus } from '../server/events';
import { match } from './routes';
import { roleActions, roleAllows } from './roles';
import type { Metrics } from './metrics';
import { ListingCache } from './listing-cache';
import { openApi } from './openapi';

export interface DoorDeps {
  http: Config['http'];
  dispatch(method: string, params: unknown, ctx: RequestContext): Promise<unknown>;
  auth: Authenticator;
  /** The caller a principal acts as: its uid and gid, and admin as the Unix door decides it. */
  callerFor(p: Principal): Caller;
  peerCred: PeerCredReader | null;
  events: EventBus;
  metrics: Metrics;
  logger: Logger;
  /** The dashboard's files (index.html, dashboard.js, dashboard.css). */
  assets: string;
  version: string;
  /** Meproc's /proc endpoints (meproc.ts). */
  extra?: (req: DoorRequest) => Promise<DoorReply | null>;
  /** The store's generation (Store.generation): with it, GET /v1/processes replies are kept a moment (listing-cache.ts). */
  generation?: () => number;
}

/** What an extra handler sees of a request. */
export interface DoorRequest {
  verb: string;
  url: URL;
  /** The body as JSON; null when empty or not JSON (raw tells them apart). */
  body: unknown;
  /** The body's bytes as sent. */
  raw: Buffer;
  caller: Caller;
  principal: Principal;
  call(method: string, params: unknown): Promise<unknown>;
}
export interface DoorReply {
  status: number;
  body: unknown;
}

const MAX_URL = 4096;
const BODY_MS = 30_000;
const HEARTBEAT_MS = 15_000;
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

export class HttpDoor {
  private server?: http.Server;
  private readonly open = new Set<net.Socket>();
  private unixPath?: string;
  /** The OpenAPI document, made at its first request. */
  private doc?: unknown;
  /** GET /v1/processes replies kept a moment (when the store's generation is given). */
  private readonly listings?: ListingCache;

  constructor(private readonly d: DoorDeps) {
    if (d.generation) this.listings = new ListingCache(d.generation);
  }

  /** Where it listens, as a URL base (http://127.0.0.1:8606), or the Unix path. */
  address = '';

  async listen(): Promise<void> {
    const h = this.d.http;
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void this.handle(req, res);
    };
    let server: http.Server;
    if (h.tls) {
      const opts: https.ServerOptions = {
        cert: fs.readFileSync(h.tls.cert),
        key: fs.readFileSync(h.tls.key),
        minVersion: 'TLSv1.2',
        maxHeaderSize: 16 * 1024,
        connectionsCheckingInterval: 1000,
      };
      if (h.tls.client_ca) Object.assign(opts, { ca: fs.readFileSync(h.tls.client_ca), requestCert: true, rejectUnauthorized: false });
      server = https.createServer(opts, onRequest) as unknown as http.Server;
    } else {
      server = http.createServer({ maxHeaderSize: 16 * 1024, connectionsCheckingInterval: 1000 }, onRequest);
    }
    server.maxConnections = h.max_connections;
    server.headersTimeout = 10_000;
    server.requestTimeout = BODY_MS;
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s: net.Socket) => {
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
    });
    server.on('clientError', (_e, s: net.Socket) => {
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      s.destroy();
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (h.listen.startsWith('/')) {
        try {
          const st = fs.lstatSync(h.listen);
          if (!st.isSocket()) throw invalidArgument(`http.listen ${h.listen}: something other than a socket is there`);
          fs.unlinkSync(h.listen);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return reject(e);
        }
        this.unixPath = h.listen;
        server.listen({ path: h.listen, backlog: 511 }, () => {
          fs.chmodSync(h.listen, 0o666);
          resolve();
        });
      } else {
        const i = h.listen.lastIndexOf(':');
        const host = h.listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
        server.listen({ host, port: Number(h.listen.slice(i + 1)) }, () => resolve());
      }
    });
    const a = server.address();
    this.address = typeof a === 'string' ? a : a ? `${h.tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
    server.on('error', (e) => this.d.logger.error(`http: ${e.message}`));
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      for (const c of this.open) c.destroy();
    });
    if (this.unixPath) fs.rmSync(this.unixPath, { force: true });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    let route = 'other';
    res.on('finish', () => this.d.metrics.observe(route, res.statusCode, Number(process.hrtime.bigint() - t0) / 1e9));
    try {
      const raw = req.url ?? '/';
      if (raw.length > MAX_URL) throw invalidArgument(`the URL is longer than ${MAX_URL} bytes`);
      if (!raw.startsWith('/')) throw invalidArgument('the request target must be a path');
      const url = new URL(raw, 'http://pmond');
      const verb = req.method ?? 'GET';
      this.refuseCrossSite(req);
      const asset = ASSETS[url.pathname];
      if (asset && (verb === 'GET' || verb === 'HEAD')) {
        route = 'asset';
        return this.sendAsset(res, asset);
      }
      if (url.pathname === '/v1/openapi.json' && verb === 'GET') {
        route = 'openapi';
        return sendJson(res, 200, (this.doc ??= openApi(this.d.version)));
      }
      const body = await readBody(req, this.d.http.max_body);
      if (url.pathname === '/v1/auth/challenge' && verb === 'POST') {
        route = 'auth';
        return sendJson(res, 200, this.d.auth.challenge());
      }
      if (url.pathname === '/v1/auth/login' && verb === 'POST') {
        route = 'auth';
        const b = parseJson(body) as { key?: unknown; challenge?: unknown; signature?: unknown } | null;
        const t = this.d.auth.login(String(b?.key ?? ''), String(b?.challenge ?? ''), String(b?.signature ?? ''));
        return sendJson(res, 200, { ...t, actions: roleActions(t.role) });
      }
      const principal = this.principal(req, verb, raw, body);
      if (url.pathname === '/v1/auth/logout' && verb === 'POST') {
        route = 'auth';
        return sendJson(res, 200, { logged_out: this.d.auth.logout(req.headers.authorization) });
      }
      const caller = this.d.callerFor(principal);
      const may = (method: string, params?: unknown): void => {
        if (principal.role && !roleAllows(principal.role, method, params)) {
          throw permissionDenied(`key ${principal.name} (${principal.role}) may not call ${method}`);
        }
      };
      const call = (method: string, params: unknown): Promise<unknown> => {
        may(method, params);
        return this.d.dispatch(method, params, plainContext(caller));
      };
      if (url.pathname === '/v1/whoami' && verb === 'GET') {
        route = 'whoami';
        return sendJson(res, 200, { name: principal.name, uid: principal.uid, role: principal.role ?? 'admin', via: principal.via, actions: roleActions(principal.role ?? 'admin') });
      }
      if (url.pathname === '/metrics' && verb === 'GET') {
        route = 'metrics';
        may('list');
        const text = await this.d.metrics.text(() => this.every('table', caller));
        res.writeHead(200, { 'Content-Type': this.d.metrics.contentType, 'Cache-Control': 'no-store' });
        return void res.end(text);
      }
      if (url.pathname === '/v1/events' && verb === 'GET') {
        route = 'events';
        may('list');
        return this.events(req, res, caller);
      }
      const rpc = /^\/v1\/rpc\/([a-z_]{1,32})$/.exec(url.pathname);
      if (rpc) {
        route = 'rpc';
        if (verb !== 'POST') throw new PmonError('INVALID_ARGUMENT', `${url.pathname}: POST only`);
        const params = parseJson(body) ?? {};
        may(rpc[1]!, params);
        return this.rpc(req, res, rpc[1]!, params, caller);
      }
      if (this.d.extra) {
        const r = await this.d.extra({ verb, url, body: parseJson(body, true), raw: body, caller, principal, call });
        if (r) {
          route = 'meproc';
          return sendJson(res, r.status, r.body);
        }
      }
      const m = match(verb, url.pathname);
      if (m === 'verb') throw invalidArgument(`${verb} is not a method of ${url.pathname}`);
      if (!m) throw notFound(`no resource ${url.pathname}`);
      route = m.route.path;
      const params = m.route.params(m.seg, url.searchParams, parseJson(body));
      if (m.route.method === 'list_all') {
        may('list');
        const full = url.searchParams.get('fields') === 'full';
        const make = async (): Promise<Buffer> => Buffer.from(JSON.stringify({ processes: await this.every(full ? 'list' : 'table', caller) }));
        const key = `${caller.admin ? 'admin' : `uid ${caller.uid}`} ${full ? 'full' : 'table'}`;
        return sendBody(res, 200, await (this.listings ? this.listings.get(key, make) : make()));
      }
      may(m.route.method, params);
      if (m.route.stream && (params as { follow?: boolean }).follow) return this.rpc(req, res, m.route.method, params, caller);
      return sendJson(res, 200, await this.d.dispatch(m.route.method, params, plainContext(caller)));
    } catch (e) {
      sendError(res, e);
    }
  }

  /** A browser's request from another site is refused (the dashboard's own pages send none or the same origin). */
  private refuseCrossSite(req: http.IncomingMessage): void {
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw permissionDenied('a request from another site is refused');
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const host = req.headers.host ?? '';
    const scheme = this.d.http.tls ? 'https' : 'http';
    if (origin !== `${scheme}://${host}`) throw permissionDenied(`a request from origin ${origin.slice(0, 100)} is refused (only ${scheme}://${host.slice(0, 100)})`);
  }

  private principal(req: http.IncomingMessage, verb: string, raw: string, body: Buffer): Principal {
    const authz = req.headers.authorization;
    const sock = req.socket as tls.TLSSocket;
    let cert: string | null = null;
    if (this.d.http.tls?.client_ca && sock.authorized) {
      const c = sock.getPeerCertificate();
      if (c?.fingerprint256) cert = c.fingerprint256.replace(/:/g, '').toLowerCase();
    }
    if (!authz && !cert && this.unixPath && this.d.peerCred) {
      const cred = this.d.peerCred(req.socket);
      if (cred) return { name: `uid ${cred.uid}`, uid: cred.uid, gid: cred.gid, role: null, via: 'peercred' };
    }
    return this.d.auth.authenticate({ method: verb, url: raw, authorization: authz, body, certSha256: cert });
  }

  /** Every process the caller may see, page after page of list (full views) or table (GET /v1/processes, /metrics). */
  private async every<M extends 'list' | 'table'>(method: M, caller: Caller): Promise<Result<M>['processes']> {
    return allPages(async (after) => (await this.d.dispatch(method, after ? { after } : {}, plainContext(caller))) as Result<M>);
  }

  /**
   * A method's events and answer as NDJSON (SSE with Accept: text/event-stream): each `data`
   * event a line, then `{"ok":true,"result":…}` or `{"ok":false,"error":…}`. A method that
   * answers before any event gets its status from its error code.
   */
  private async rpc(req: http.IncomingMessage, res: http.ServerResponse, method: string, params: unknown, caller: Caller): Promise<void> {
    const sse = (req.headers.accept ?? '').includes('text/event-stream');
    const stream = new Stream(res, this.d.http.stream_buffer, sse);
    const ctx: RequestContext = {
      caller,
      closed: stream.closed,
      emit: (data: string, source?: EventSource) => stream.send({ event: 'data', data, ...(source ? { source } : {}) }),
      emitFiles: (info: LogFilesInfo) => stream.send({ event: 'files', ...info }),
    };
    // A call that takes a while (a rolling reload) or streams (a followed log) says it is alive
    // every ALIVE_MS, as the Unix door's `alive` events do: the answer becomes a stream then.
    const beat = setInterval(() => stream.heartbeat(), ALIVE_MS);
    let reply: unknown;
    try {
      reply = { ok: true, result: await this.d.dispatch(method, params, ctx) };
    } catch (e) {
      if (!stream.started) return sendError(res, e);
      reply = { ok: false, error: toWireError(e) };
    } finally {
      clearInterval(beat);
    }
    if (!stream.started && !sse) return sendJson(res, 200, reply);
    await stream.send(reply);
    stream.end();
  }

  private events(req: http.IncomingMessage, res: http.ServerResponse, caller: Caller): void {
    const sse = (req.headers.accept ?? '').includes('text/event-stream');
    const stream = new Stream(res, this.d.http.stream_buffer, sse);
    const stop = this.d.events.subscribe(caller, (e) => void stream.send(e));
    if (!stop) throw unavailable('too many event streams are open; try again later');
    stream.start();
    const beat = setInterval(() => stream.heartbeat(), HEARTBEAT_MS);
    void stream.closed.then(() => {
      clearInterval(beat);
      stop();
    });
  }

  private sendAsset(res: http.ServerResponse, a: { file: string; type: string }): void {
    let text: Buffer;
    try {
      text = fs.readFileSync(path.join(this.d.assets, a.file));
    } catch {
      throw notFound(`the dashboard's ${a.file} is not installed`);
    }
    res.writeHead(200, {
      'Content-Type': a.type,
      'Content-Length': text.length,
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    res.end(text);
  }
}

/** A request context for a method that does not stream. */
function plainContext(caller: Caller): RequestContext {
  return {
    caller,
    closed: new Promise<void>(() => undefined),
    emit: async () => undefined,
    emitFiles: async () => undefined,
  };
}

/** A response written line by line, dropped when its reader falls stream_buffer behind. */
class Stream {
  started = false;
  readonly closed: Promise<void>;
  constructor(
    private readonly res: http.ServerResponse,
    private readonly limit: number,
    private readonly sse: boolean,
  ) {
    this.closed = new Promise<void>((r) => res.on('close', r));
  }
  start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'Content-Type': this.sse ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    this.res.flushHeaders();
  }
  async send(v: unknown): Promise<void> {
    this.start();
    if (this.res.destroyed) return;
    const line = JSON.stringify(v);
    const ok = this.res.write(this.sse ? `data: ${line}\n\n` : `${line}\n`);
    if (this.res.writableLength > this.limit) {
      this.res.destroy();
      return;
    }
    if (!ok) await new Promise<void>((r) => {
      this.res.once('drain', r);
      this.res.once('close', r);
    });
  }
  heartbeat(): void {
    this.start();
    if (!this.res.destroyed) this.res.write(this.sse ? ': alive\n\n' : '\n');
  }
  end(): void {
    this.res.end();
  }
}

function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const len = req.headers['content-length'];
  if (len !== undefined && Number(len) > max) {
    req.resume();
    return Promise.reject(invalidArgument(`the body is ${len} bytes, more than max_body ${max}`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        req.destroy();
        reject(invalidArgument(`the body is more than max_body ${max} bytes`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** The body as JSON; empty is null. INVALID_ARGUMENT when it is not JSON (lenient: null instead). */
function parseJson(body: Buffer, lenient = false): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    if (lenient) return null;
    throw invalidArgument('the body is not JSON');
  }
}

function sendJson(res: http.ServerResponse, status: number, v: unknown): void {
  // Encoded once: Buffer.byteLength and then end(text) would walk a big listing's text twice.
  sendBody(res, status, Buffer.from(JSON.stringify(v)));
}

/** A JSON body already encoded. */
function sendBody(res: http.ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function sendError(res: http.ServerResponse, e: unknown): void {
  const error = toWireError(e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A caller that is refused gets no kept-alive connection to try again on.
  if (error.code === 'PERMISSION_DENIED') res.setHeader('Connection', 'close');
  sendJson(res, HTTP_STATUS[error.code], { error });
}
