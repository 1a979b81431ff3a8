/**
 * The pmond client: one connection, requests matched to replies by id,
 * every reply validated against the shared method table. Before anything is
 * sent, the server's identity is checked (the caller's verifyPeer, from the
 * kernel's SO_PEERCRED): a socket squatted by another user never receives a
 * request. While a request is in flight, pmond sends something at least every
 * ALIVE_MS; silence for `idleMs` means pmond is stopped or hung: UNAVAILABLE.
 */
import { accessSync, constants, lstatSync } from 'node:fs';
import * as net from 'node:net';
import {
  adminSocketPath,
  allPages,
  failedPrecondition,
  V2_CAPABILITIES,
  encodeFrame,
  FrameDecoder,
  fromWireError,
  MAX_REPLY_FRAME,
  internal,
  METHODS,
  type MethodName,
  type Params,
  PmonError,
  PROTOCOL_VERSION,
  type Result,
  unavailable,
  type EventSource,
  type LogFilesInfo,
  logFilesSchema,
} from '../protocol';

/** How long a refused connection (socket file there, nobody listening) is tried again. */
const REFUSED_RETRY_MS = 500;

/** Whether a socket file is at path (lstat only: nothing is opened). */
function socketExists(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Whether this process may connect to the socket at path (access(2) W_OK: no connection made). */
function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return socketExists(path);
  } catch {
    return false;
  }
}

interface Pending {
  method: MethodName;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (data: string, source?: EventSource) => void;
  onFiles?: (info: LogFilesInfo) => void;
}

/** Options of one call. */
export interface CallOptions {
  /** Receives streamed `data` events (log follow; `source` says whose log, for `logs`). */
  onEvent?: (data: string, source?: EventSource) => void;
  /** Receives the `files` event of `log -a` (what is read, skipped and cut). */
  onFiles?: (info: LogFilesInfo) => void;
}

/** Options of a connection. */
export interface ConnectOptions {
  /** Give up connecting after this long (ms). */
  timeoutMs?: number;
  /** Give up a request when pmond has sent nothing for this long (ms). */
  idleMs?: number;
  /** Called with the connected socket before any byte is sent; throws to refuse the server. */
  verifyPeer?: (socket: net.Socket) => void;
  /** One attempt: no retry of a full backlog or a refusal. */
  once?: boolean;
}

/** What a command needs of pmond, over the Unix socket (Client) or the HTTP door (HttpClient). */
export interface PmondClient {
  /** How errors name this pmond (its socket path, or its host). */
  readonly socketPath: string;
  call<M extends MethodName>(method: M, params: Params<M>, opts?: CallOptions): Promise<Result<M>>;
  capabilities(): Promise<ReadonlySet<string>>;
  require(cap: string, what: string): Promise<void>;
  listAll(): Promise<Result<'list'>['processes']>;
  close(): void;
}

export class Client implements PmondClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder(MAX_REPLY_FRAME);
  private closedError?: Error;
  private idleTimer?: NodeJS.Timeout;
  private caps?: Promise<ReadonlySet<string>>;

  private constructor(
    private readonly socket: net.Socket,
    readonly socketPath: string,
    private readonly idleMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.failAll(unavailable(`connection to pmond at ${socketPath} failed: ${e.message}`)));
    socket.on('close', () => this.failAll(unavailable(`pmond at ${socketPath} closed the connection`)));
  }

  /**
   * Connect, or UNAVAILABLE (PERMISSION_DENIED) with a one-line hint. A full listen backlog
   * (EAGAIN: pmond is there but busy, perhaps under a connect flood) is retried until timeoutMs;
   * a refusal with the socket file present (ECONNREFUSED: pmond starting or just gone) for
   * REFUSED_RETRY_MS at most, so a pmond that is not running is still reported at once.
   */
  static connect(socketPath: string, opts: ConnectOptions = {}): Promise<Client> {
    const { timeoutMs = 5000, idleMs = 10_000 } = opts;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let s: net.Socket | undefined;
      let delay = 10;
      let retry: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        clearTimeout(retry);
        s?.destroy();
        reject(unavailable(`cannot reach pmond at ${socketPath} — timed out`));
      }, timeoutMs);
      const attempt = (): void => {
        const sock = net.connect(socketPath);
        s = sock;
        sock.once('connect', () => {
          clearTimeout(timer);
          sock.removeAllListeners('error');
          try {
            opts.verifyPeer?.(sock);
          } catch (e) {
            sock.destroy();
            reject(e);
            return;
          }
          resolve(new Client(sock, socketPath, idleMs));
        });
        sock.once('error', (e: NodeJS.ErrnoException) => {
          sock.destroy();
          const elapsed = Date.now() - started;
          const again = e.code === 'EAGAIN' || (e.code === 'ECONNREFUSED' && elapsed < REFUSED_RETRY_MS && socketExists(socketPath));
          if (again && !opts.once && elapsed + delay < timeoutMs) {
            retry = setTimeout(attempt, delay);
            delay = Math.min(delay * 2, 200);
            return;
          }
          clearTimeout(timer);
          if (e.code === 'EACCES') reject(new PmonError('PERMISSION_DENIED', `cannot reach pmond at ${socketPath}: permission denied`));
          else if (e.code === 'EAGAIN') reject(unavailable(`cannot reach pmond at ${socketPath} — it accepts no connection (busy?)`));
          else reject(unavailable(`cannot reach pmond at ${socketPath} — is it running?`));
        });
      };
      attempt();
    });
  }

  /**
   * Through a root pmond's admin door (adminSocketPath) when this caller may use it (root,
   * admin_group: it is writable to them), in one attempt; anything wrong there (absent, stale,
   * squatted, busy) and the main socket, as connect() does.
   */
  static async connectAdminFirst(socketPath: string, opts: ConnectOptions & { verifyPeerAt?: (p: string) => (socket: net.Socket) => void } = {}): Promise<Client> {
    const admin = adminSocketPath(socketPath);
    if (writable(admin)) {
      try {
        return await Client.connect(admin, { ...opts, once: true, timeoutMs: Math.min(opts.timeoutMs ?? 5000, 1000), verifyPeer: opts.verifyPeerAt?.(admin) ?? opts.verifyPeer });
      } catch {
        /* the main socket, below */
      }
    }
    return Client.connect(socketPath, { ...opts, verifyPeer: opts.verifyPeerAt?.(socketPath) ?? opts.verifyPeer });
  }

  /** Call a method; resolves with its validated result or rejects with a PmonError. */
  call<M extends MethodName>(method: M, params: Params<M>, opts: CallOptions = {}): Promise<Result<M>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent, onFiles: opts.onFiles });
      this.armIdle();
      // The server enforces its own request cap (max_frame_bytes) and says so.
      this.socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params }, MAX_REPLY_FRAME));
    });
  }

  /** What this pmond can do (its `ping`'s capabilities; a pmond of protocol 2: V2_CAPABILITIES), asked once per connection. */
  async capabilities(): Promise<ReadonlySet<string>> {
    this.caps ??= this.call('ping', {}).then((p) => new Set(p.capabilities ?? V2_CAPABILITIES));
    return this.caps;
  }

  /** FAILED_PRECONDITION in one line unless this pmond has the capability `cap` (`what` names it for a person). */
  async require(cap: string, what: string): Promise<void> {
    if ((await this.capabilities()).has(cap)) return;
    throw failedPrecondition(`pmond at ${this.socketPath} cannot do ${what} (it lacks "${cap}"; it is older than this pmon3: upgrade and restart pmond)`);
  }

  /** Every process the caller may see: `list`, page after page. */
  async listAll(): Promise<Result<'list'>['processes']> {
    return allPages((after) => this.call('list', after ? { after } : {}));
  }

  /** Close the connection. */
  close(): void {
    clearTimeout(this.idleTimer);
    this.socket.end();
    this.socket.destroy();
  }

  /** (Re)start the silence deadline while requests are pending. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.pending.size === 0) return;
    this.idleTimer = setTimeout(() => {
      this.failAll(unavailable(`pmond at ${this.socketPath} said nothing for ${this.idleMs / 1000} s (is it stopped or hung?)`));
      this.socket.destroy();
    }, this.idleMs);
  }

  private onData(chunk: Buffer): void {
    let frames: unknown[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.failAll(e as Error);
      this.socket.destroy();
      return;
    }
    for (const f of frames) this.onFrame(f as Record<string, unknown>);
    this.armIdle();
  }

  private onFrame(f: Record<string, unknown>): void {
    const id = typeof f.id === 'number' ? f.id : -1;
    const p = this.pending.get(id);
    if (!p) {
      // id 0: the server refused the connection or a frame before any request could be matched.
      if (id === 0 && f.ok === false) this.failAll(fromWireError(f.error));
      return;
    }
    if (f.event === 'data') {
      if (typeof f.data === 'string') p.onEvent?.(f.data, sourceOf(f.source));
      return;
    }
    if (f.event === 'files') {
      const info = logFilesSchema.safeParse({ files: f.files, skipped: f.skipped, notes: f.notes });
      if (info.success) p.onFiles?.(info.data);
      return;
    }
    if (f.event !== undefined) return; // `alive`, or an event a newer pmond sends: it spoke, that is all
    this.pending.delete(id);
    if (f.ok === true) {
      const r = METHODS[p.method].result.safeParse(f.result);
      if (r.success) p.resolve(r.data);
      else p.reject(internal(`pmond sent a malformed ${p.method} reply: ${r.error.issues[0]?.message ?? ''}`));
    } else {
      p.reject(fromWireError(f.error));
    }
  }

  private failAll(e: Error): void {
    clearTimeout(this.idleTimer);
    this.closedError ??= e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }
}

/** A `data` event's source, if it carries a well-formed one. */
function sourceOf(v: unknown): EventSource | undefined {
  const s = v as { id?: unknown; name?: unknown; error?: unknown } | undefined;
  if (!s || typeof s.id !== 'number' || typeof s.name !== 'string') return undefined;
  return typeof s.error === 'string' ? { id: s.id, name: s.name, error: s.error } : { id: s.id, name: s.name };
}
