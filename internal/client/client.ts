/**
 * The pmond client: one connection, requests matched to replies by id,
 * every reply validated against the shared method table.
 */
import * as net from 'node:net';
import {
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
  ERROR_CODES,
  type ErrorCode,
} from '../protocol';

interface Pending {
  method: MethodName;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (data: string) => void;
}

/** Options of one call. */
export interface CallOptions {
  /** Receives streamed `data` events (log follow). */
  onEvent?: (data: string) => void;
}

export class Client {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder(MAX_REPLY_FRAME);
  private closedError?: Error;

  private constructor(
    private readonly socket: net.Socket,
    readonly socketPath: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.failAll(unavailable(`connection to pmond at ${socketPath} failed: ${e.message}`)));
    socket.on('close', () => this.failAll(unavailable(`pmond at ${socketPath} closed the connection`)));
  }

  /** Connect, or UNAVAILABLE with a one-line hint. */
  static connect(socketPath: string, timeoutMs = 5000): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      const timer = setTimeout(() => {
        s.destroy();
        reject(unavailable(`cannot reach pmond at ${socketPath} — timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new Client(s, socketPath));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'EACCES') reject(new PmonError('PERMISSION_DENIED', `cannot reach pmond at ${socketPath}: permission denied`));
        else reject(unavailable(`cannot reach pmond at ${socketPath} — is it running?`));
      });
    });
  }

  /** Call a method; resolves with its validated result or rejects with a PmonError. */
  call<M extends MethodName>(method: M, params: Params<M>, opts: CallOptions = {}): Promise<Result<M>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent });
      // The server enforces its own request cap (max_frame_bytes) and says so.
      this.socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params }, MAX_REPLY_FRAME));
    });
  }

  /** Close the connection. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
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
  }

  private onFrame(f: Record<string, unknown>): void {
    const id = typeof f.id === 'number' ? f.id : -1;
    const p = this.pending.get(id);
    if (!p) {
      // id 0: the server refused the connection or a frame before any request could be matched.
      if (id === 0 && f.ok === false) this.failAll(this.wireError(f.error));
      return;
    }
    if (f.event === 'data') {
      if (typeof f.data === 'string') p.onEvent?.(f.data);
      return;
    }
    this.pending.delete(id);
    if (f.ok === true) {
      const r = METHODS[p.method].result.safeParse(f.result);
      if (r.success) p.resolve(r.data);
      else p.reject(internal(`pmond sent a malformed ${p.method} reply: ${r.error.issues[0]?.message ?? ''}`));
    } else {
      p.reject(this.wireError(f.error));
    }
  }

  private wireError(e: unknown): PmonError {
    const w = e as { code?: unknown; message?: unknown } | undefined;
    const code = ERROR_CODES.includes(w?.code as ErrorCode) ? (w!.code as ErrorCode) : 'INTERNAL';
    return fromWireError({ code, message: typeof w?.message === 'string' ? w.message : 'unknown error' });
  }

  private failAll(e: Error): void {
    this.closedError ??= e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
  }
}
