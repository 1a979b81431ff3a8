/**
 * Log readers: every file pmond reads for `log` and `logf` is opened, stat'ed
 * and read by `pmon3-exec --read` (internal/native/exec.c), a small process
 * that runs AS the process's user, started through the exec helper's one-shot
 * mode (groups, gid, uid and every capability dropped and checked first). One
 * reader per request. pmond itself never touches a path a user named:
 *
 * - the reader can open only what the user could: no fsuid half-measure that
 *   keeps root's capabilities (CAP_SYS_PTRACE opens another user's
 *   /proc/PID/cwd), and no terminal becomes pmond's;
 * - a file system that never answers (a FUSE mount the user runs) holds only
 *   the reader: each request has a deadline (DEADLINE_MS); a reader that misses
 *   it is killed and the request fails with one line. A reader stuck in the
 *   kernel beyond SIGKILL (a FUSE daemon that took the request and never
 *   answers) stays until the file system answers, holding nothing of pmond's;
 *   such readers count against their caller's bound (MAX_PER_UID), so they
 *   cannot pile up.
 *
 * The reader is the user's process, so what it sends is not trusted: replies
 * are framed, bounded and parsed strictly; anything else ends the reader.
 */
import type { ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import { failedPrecondition, internal, PmonError, unavailable } from '../protocol/errors';
import { encodeSpec, readStatus, spawned, startOneShot } from '../process/spawner';

/** A file the reader opened: its fd (in the reader) and fstat fields. */
export interface ReaderFile {
  fd: number;
  mode: number;
  uid: number;
  size: number;
  ino: number;
}

/** An entry of a log's directory that may be one of its rotated copies (lstat'ed, never opened). */
export interface ListedEntry {
  /** Its name in the log's directory (never holds "/" or NUL). */
  name: string;
  /** lstat's fields; all 0 when lstat failed (then `errno` says why). */
  mode: number;
  uid: number;
  size: number;
  ino: number;
  /** 0, or the errno of its lstat (the name was listed but could not be looked at). */
  errno: number;
}

/** What `list` found: the candidates, and whether there were more than the reader reports (LIST_MAX). */
export interface Listing {
  entries: ListedEntry[];
  more: boolean;
}

/** A user's view of files, one request at a time. Errors of the file carry `code` (ENOENT...); a reader that fails is a PmonError. */
export interface LogFiles {
  /** open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) and fstat it. */
  open(file: string): Promise<ReaderFile>;
  /** fstat of an open fd. */
  stat(fd: number): Promise<{ size: number; ino: number }>;
  /** At most `length` bytes (at most READ_MAX) at `offset`; empty at the end. */
  read(fd: number, offset: number, length: number): Promise<Buffer>;
  close(fd: number): Promise<void>;
  /**
   * The entries of file's directory named file's basename + "." or "-" + more: the candidates
   * for its rotated copies, lstat'ed (AT_SYMLINK_NOFOLLOW), none opened. At most LIST_MAX.
   */
  list(file: string): Promise<Listing>;
  /** Done: the reader exits, closing whatever it had open. */
  end(): void;
}

/** Who the reader runs as: the process's user. */
export interface ReaderIdentity {
  uid: number;
  gid: number;
  groups: number[];
}

/** Starts readers. */
export interface LogReaderFactory {
  /** A reader running as `who`, counted against `caller` (admins are not bound). */
  start(who: ReaderIdentity, caller: { uid: number; admin: boolean }): Promise<LogFiles>;
}

/** How long one request (or the reader's start) may take before the reader is killed. */
export const DEADLINE_MS = 10_000;
/** Readers a non-admin caller may have at once, stuck ones included. */
export const MAX_PER_UID = 32;
/** Largest read the reader answers (exec.c READ_MAX). */
export const READ_MAX = 1024 * 1024;

/** The most entries one `list` reports (exec.c LIST_MAX). */
export const LIST_MAX = 1000;

/** errno number → name (ENOENT...), as Node's fs errors carry it. */
const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));

/** An error of the file itself, shaped like Node's fs errors. */
function fileError(errno: number): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? 'EIO';
  const e = new Error(code) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = errno;
  return e;
}

export class LogReaders implements LogReaderFactory {
  /** Live readers (exit not seen yet) per caller uid. */
  private readonly live = new Map<number, number>();

  /**
   * @param helper path of pmon3-exec
   * @param memfd makes the one-shot helper's spec file (native memfd)
   * @param deadlineMs per request; tests shorten it
   */
  constructor(
    private readonly helper: string,
    private readonly memfd: (data: Buffer) => number,
    private readonly deadlineMs = DEADLINE_MS,
  ) {}

  /** Readers of uid still alive (tests, and the bound). */
  running(uid: number): number {
    return this.live.get(uid) ?? 0;
  }

  async start(who: ReaderIdentity, caller: { uid: number; admin: boolean }): Promise<LogFiles> {
    const mine = this.running(caller.uid);
    if (!caller.admin && mine >= MAX_PER_UID) {
      throw unavailable(`uid ${caller.uid} has ${mine} log readers running, the most allowed (a log on a file system that does not answer keeps its reader until it does)`);
    }
    const spec = encodeSpec({ ...who, file: this.helper, argv0: 'pmon3-exec', args: ['--read'], env: {}, cwd: '/', log: null, cgroup: null });
    const child = startOneShot(this.helper, this.memfd, spec, ['pipe', 'pipe', 'ignore'], 'the log reader');
    await spawned(child, this.helper, 'the log reader');
    this.live.set(caller.uid, this.running(caller.uid) + 1);
    child.once('exit', () => {
      const n = this.running(caller.uid) - 1;
      if (n > 0) this.live.set(caller.uid, n);
      else this.live.delete(caller.uid);
    });
    const reader = new ReaderProcess(child, this.deadlineMs);
    // The helper says why it could not become the reader, or closes fd 4 at its execve.
    let timer: NodeJS.Timeout | undefined;
    const failure = await Promise.race([
      readStatus(child.stdio[4] as NodeJS.ReadableStream),
      reader.gone.then(() => null),
      new Promise<{ stage: string; errno: number; message: string }>((resolve) => {
        timer = setTimeout(() => resolve({ stage: 'start', errno: 0, message: `no answer within ${this.deadlineMs / 1000} s` }), this.deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (failure) {
      reader.end();
      throw failedPrecondition(`cannot start a log reader as uid ${who.uid} (${failure.stage}: ${failure.message || `errno ${failure.errno}`})`);
    }
    return reader;
  }
}

interface Pending {
  resolve: (reply: { head: string; data: Buffer }) => void;
  reject: (e: Error) => void;
}

/** One reader process: requests in order, one at a time, each with its deadline. */
class ReaderProcess implements LogFiles {
  private buffered: Buffer = Buffer.alloc(0);
  private pending?: Pending;
  private chain: Promise<unknown> = Promise.resolve();
  private failed?: PmonError;
  private resolveGone!: () => void;
  /** Resolves once the reader can answer nothing more (ended, killed, or it broke the protocol). */
  readonly gone = new Promise<void>((r) => (this.resolveGone = r));

  constructor(
    private readonly child: ChildProcess,
    private readonly deadlineMs: number,
  ) {
    child.stdout!.on('data', (b: Buffer) => this.onData(b));
    child.stdout!.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    child.stdout!.once('close', () => this.fail(internal('the log reader ended')));
    child.once('exit', () => this.fail(internal('the log reader ended')));
  }

  async open(file: string): Promise<ReaderFile> {
    if (Buffer.byteLength(file) > 4096) throw fileError(os.constants.errno.ENAMETOOLONG);
    const f = this.fields(await this.ask(`O ${file}`), 5);
    return { fd: f[0]!, mode: f[1]!, uid: f[2]!, size: f[3]!, ino: f[4]! };
  }

  async stat(fd: number): Promise<{ size: number; ino: number }> {
    const f = this.fields(await this.ask(`S ${fd}`), 2);
    return { size: f[0]!, ino: f[1]! };
  }

  async read(fd: number, offset: number, length: number): Promise<Buffer> {
    const want = Math.min(length, READ_MAX);
    const r = await this.ask(`R ${fd} ${offset} ${want}`);
    const [n] = this.fields(r, 1);
    if (n !== r.data.length || n! > want) throw this.broken('a read of the wrong size');
    return r.data;
  }

  async close(fd: number): Promise<void> {
    this.fields(await this.ask(`C ${fd}`), 0);
  }

  async list(file: string): Promise<Listing> {
    if (Buffer.byteLength(file) > 4096) throw fileError(os.constants.errno.ENAMETOOLONG);
    const r = await this.ask(`L ${file}`);
    const [count, more] = this.fields(r, 2);
    if (more! > 1 || count! > LIST_MAX) throw this.broken('a listing it cannot have made');
    // Records "ERRNO MODE UID SIZE INO NAME", each NUL-terminated; a name is what readdir gave.
    const entries: ListedEntry[] = [];
    let pos = 0;
    while (pos < r.data.length) {
      const end = r.data.indexOf(0, pos);
      if (end < 0) throw this.broken('an unterminated listing');
      const rec = r.data.subarray(pos, end).toString('utf8');
      pos = end + 1;
      const m = /^(\d{1,5}) (\d{1,10}) (\d{1,10}) (\d{1,20}) (\d{1,20}) ([^/]{1,255})$/.exec(rec);
      if (!m) throw this.broken('a listing record it cannot have made');
      entries.push({ errno: Number(m[1]), mode: Number(m[2]), uid: Number(m[3]), size: Number(m[4]), ino: Number(m[5]), name: m[6]! });
    }
    if (entries.length !== count) throw this.broken('a listing of the wrong length');
    return { entries, more: more === 1 };
  }

  end(): void {
    this.child.stdin!.end();
    this.fail(internal('the log reader was ended'));
  }

  /** One request, after those before it; its reply within the deadline or the reader is killed. */
  private ask(req: string): Promise<{ head: string; data: Buffer }> {
    const run = async (): Promise<{ head: string; data: Buffer }> => {
      if (this.failed) throw this.failed;
      const body = Buffer.from(req);
      const frame = Buffer.allocUnsafe(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      body.copy(frame, 4);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.fail(unavailable(`the file system did not answer within ${this.deadlineMs / 1000} s`));
        }, this.deadlineMs);
        this.pending = {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        this.child.stdin!.write(frame);
      });
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** "ok N N ..." → the numbers (exactly `count` of them); "err ERRNO" → that error of the file. */
  private fields(r: { head: string }, count: number): number[] {
    const words = r.head.trim().split(' ');
    if (words[0] === 'err' && words.length === 2 && /^\d+$/.test(words[1]!)) throw fileError(Number(words[1]));
    if (words[0] !== 'ok' || words.length !== count + 1 || !words.slice(1).every((w) => /^\d{1,20}$/.test(w))) {
      throw this.broken(`an unexpected reply "${r.head.slice(0, 40)}"`);
    }
    return words.slice(1).map(Number);
  }

  private broken(what: string): PmonError {
    const e = internal(`the log reader sent ${what}`);
    this.fail(e);
    return e;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4) {
      const len = this.buffered.readUInt32LE(0);
      if (len > READ_MAX + 256) {
        this.broken('an oversized reply');
        return;
      }
      if (this.buffered.length < 4 + len) return;
      const body = this.buffered.subarray(4, 4 + len);
      this.buffered = this.buffered.subarray(4 + len);
      const p = this.pending;
      this.pending = undefined;
      if (!p) {
        this.broken('a reply nobody asked for');
        return;
      }
      // "ok N\n" + bytes for a read; a header alone otherwise.
      const nl = body.indexOf(10);
      const head = (nl < 0 ? body : body.subarray(0, nl)).toString('latin1');
      p.resolve({ head, data: nl < 0 ? Buffer.alloc(0) : Buffer.from(body.subarray(nl + 1)) });
    }
  }

  /** Nothing more from this reader: kill it (it may be stuck), fail what waits. */
  private fail(e: PmonError): void {
    if (this.failed) return;
    this.failed = e;
    this.child.kill('SIGKILL');
    this.child.stdin!.destroy();
    this.child.stdout!.destroy();
    (this.child.stdio[4] as NodeJS.ReadableStream & { destroy?: () => void })?.destroy?.();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
    this.resolveGone();
  }
}
