/**
 * A client of pmond's HTTP door (internal/http): every protocol method through
 * `POST /v1/rpc/METHOD`, each request signed with an Ed25519 key (internal/protocol/keys.ts), its
 * results validated with the same table as the Unix socket's. What `pmon3 --host` and
 * `import { HttpClient } from 'pmon3'` use.
 *
 * TLS is verified, always: against the system's roots, the file NODE_EXTRA_CA_CERTS named when
 * the launcher started (it is kept as PMON3_EXTRA_CA_CERTS, since node's own parse of it costs
 * every local command ~65 ms), and the host's `ca`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { KeyObject } from 'node:crypto';
import * as tls from 'node:tls';
import { authorization } from '../protocol/keys';
import { failedPrecondition, fromWireError, internal, unavailable } from '../protocol/errors';
import { allPages, logFilesSchema, METHODS, type MethodName, type Params, type Result, V2_CAPABILITIES } from '../protocol';
import type { CallOptions, PmondClient } from './client';

export interface HttpClientOptions {
  /** http://HOST:PORT, https://HOST:PORT, or unix:/PATH (an HTTP door on a Unix socket). */
  url: string;
  /** The signing key (parsePrivate of a `pmon3 key gen` file); none: a Unix-socket door's SO_PEERCRED, or mTLS. */
  key?: { key: KeyObject; id: string };
  /** Extra trusted CAs (PEM), a client certificate and its key (mTLS). */
  ca?: Buffer[];
  cert?: Buffer;
  certKey?: Buffer;
  /** Give up a request when nothing arrives for this long (ms). */
  idleMs?: number;
  /** How errors name it (the host's name). */
  name?: string;
}

export class HttpClient implements PmondClient {
  readonly socketPath: string;
  private readonly agent: http.Agent;
  private readonly base: URL | null;
  private readonly unixPath: string | null;
  private caps?: Promise<ReadonlySet<string>>;
  private readonly live = new Set<http.ClientRequest>();

  constructor(private readonly o: HttpClientOptions) {
    this.socketPath = o.name ?? o.url;
    if (o.url.startsWith('unix:')) {
      this.unixPath = o.url.slice(5);
      this.base = null;
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    } else {
      let u: URL;
      try {
        u = new URL(o.url);
      } catch {
        throw unavailable(`${this.socketPath}: ${o.url} is not a URL (http://HOST:PORT or https://HOST:PORT)`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw unavailable(`${this.socketPath}: ${o.url}: only http and https`);
      this.base = u;
      this.unixPath = null;
      if (u.protocol === 'https:') {
        const extra = process.env.PMON3_EXTRA_CA_CERTS || process.env.NODE_EXTRA_CA_CERTS;
        const ca = [...tls.rootCertificates, ...(o.ca ?? []).map((b) => b.toString())];
        if (extra) {
          try {
            ca.push(fs.readFileSync(extra, 'utf8'));
          } catch {
            /* as node does: an unreadable extra CA file is a warning at most */
          }
        }
        this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca, ...(o.cert ? { cert: o.cert, key: o.certKey } : {}), rejectUnauthorized: true });
      } else {
        this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      }
    }
  }

  /** Call a method; resolves with its validated result or rejects with a PmonError. */
  call<M extends MethodName>(method: M, params: Params<M>, opts: CallOptions = {}): Promise<Result<M>> {
    const body = JSON.stringify(params ?? {});
    const p = `/v1/rpc/${method}`;
    return new Promise<Result<M>>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Accept: 'application/x-ndjson, application/json' };
      if (this.o.key) headers.Authorization = authorization(this.o.key, 'POST', p, body);
      const req = (this.base?.protocol === 'https:' ? https : http).request(
        {
          method: 'POST',
          path: p,
          headers,
          agent: this.agent,
          ...(this.unixPath ? { socketPath: this.unixPath } : { host: this.base!.hostname.replace(/^\[(.*)\]$/, '$1'), port: this.base!.port || (this.base!.protocol === 'https:' ? 443 : 80) }),
        },
        (res) => {
          let buf = '';
          let done = false;
          const finish = (f: Record<string, unknown>): void => {
            done = true;
            if (f.ok === true) {
              const r = METHODS[method].result.safeParse(f.result);
              if (r.success) resolve(r.data as Result<M>);
              else reject(internal(`${this.socketPath} sent a malformed ${method} reply: ${r.error.issues[0]?.message ?? ''}`));
            } else reject(fromWireError(f.error, `HTTP ${res.statusCode ?? '?'} without an error`));
          };
          const onLine = (line: string): void => {
            if (!line.trim() || done) return;
            let f: Record<string, unknown>;
            try {
              f = JSON.parse(line) as Record<string, unknown>;
            } catch {
              return reject(internal(`${this.socketPath} sent a line that is not JSON`));
            }
            if (f.event === 'data') {
              if (typeof f.data === 'string') opts.onEvent?.(f.data, f.source as never);
              return;
            }
            if (f.event === 'files') {
              const info = logFilesSchema.safeParse(f);
              if (info.success) opts.onFiles?.(info.data);
              return;
            }
            if (f.event !== undefined) return;
            finish(f);
          };
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            if (buf.length > 64 * 1024 * 1024) {
              req.destroy();
              return reject(internal(`${this.socketPath} sent an answer of more than 64 MiB`));
            }
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              onLine(buf.slice(0, i));
              buf = buf.slice(i + 1);
            }
          });
          res.on('end', () => {
            this.live.delete(req);
            if (buf) onLine(buf);
            if (!done) reject(unavailable(`${this.socketPath} ended its answer to ${method} before it was whole`));
          });
          res.on('error', (e) => reject(unavailable(`${this.socketPath}: ${e.message}`)));
        },
      );
      this.live.add(req);
      req.setTimeout(this.o.idleMs ?? 10_000, () => {
        req.destroy();
        reject(unavailable(`${this.socketPath} said nothing for ${(this.o.idleMs ?? 10_000) / 1000} s`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        this.live.delete(req);
        reject(unavailable(`cannot reach pmond at ${this.socketPath} (${e.code ?? e.message})`));
      });
      req.end(body);
    });
  }

  async capabilities(): Promise<ReadonlySet<string>> {
    this.caps ??= this.call('ping', {}).then((p) => new Set(p.capabilities ?? V2_CAPABILITIES));
    return this.caps;
  }

  async require(cap: string, what: string): Promise<void> {
    if ((await this.capabilities()).has(cap)) return;
    throw failedPrecondition(`pmond at ${this.socketPath} cannot do ${what} (it lacks "${cap}")`);
  }

  async listAll(): Promise<Result<'list'>['processes']> {
    return allPages((after) => this.call('list', after ? { after } : {}));
  }

  close(): void {
    for (const r of this.live) r.destroy();
    this.agent.destroy();
  }
}
