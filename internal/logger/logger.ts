/**
 * pmond's own log: logs_dir/pmond.log (0600) and stderr, one line each:
 * `2024-01-01T00:00:00.000Z info: message {"meta":1}`.
 * The rest of the daemon sees only the small Logger interface.
 *
 * Logging never throws and never kills pmond: when pmond.log cannot be
 * written (ENOSPC, EIO, logs_dir removed) pmond says so once on stderr, goes
 * on logging to stderr, and tries the file again at most once a minute. A
 * pmond.log removed from under pmond is created again at the next line.
 *
 * Why not winston (the library this replaced): its File transport drops
 * lines written to a full disk without a word to anyone (tried: a pmond.log
 * on /dev/full logged nothing, emitted no error), and never recreates a
 * removed file; what pmond needs is the failure said out loud and the file
 * back, which is the ~200 lines below.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { printable } from '../text';

/** What the daemon logs through. */
export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
  /** Flush and close. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  /** Where stderr lines go (tests); default process.stderr. */
  stderr?: (text: string) => void;
  /** How long after a failed write the file is tried again, in ms (default 60000). */
  retryMs?: number;
}

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
type Level = keyof typeof LEVELS;

/** "CODE: message" in one line. */
const describe = (e: unknown): string => {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
  return typeof code === 'string' && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
};

let stderrGuarded = false;
/** A write to stderr that cannot throw, and stderr errors (EPIPE: journald gone) that cannot kill pmond. */
function writeStderr(text: string): void {
  if (!stderrGuarded) {
    stderrGuarded = true;
    process.stderr.on('error', () => undefined);
  }
  try {
    process.stderr.write(text);
  } catch {
    /* nowhere left to say it */
  }
}

/** pmond.log, written in order, one write at a time; failures are reported, never thrown. */
class LogFile {
  private fd: number | null = null;
  private queue: string[] = [];
  private writing = false;
  /** Set while the file cannot be written: since when, why, and when to try again. */
  private broken: { error: string; retryAt: number } | null = null;
  private idle: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly file: string,
    private readonly say: (text: string) => void,
    private readonly retryMs: number,
  ) {
    try {
      this.open();
    } catch (e) {
      this.fail(e);
    }
  }

  append(line: string): void {
    if (this.closed) return;
    if (this.broken) {
      if (Date.now() < this.broken.retryAt) return;
      this.broken.retryAt = Date.now() + this.retryMs;
    }
    this.queue.push(line);
    this.pump();
  }

  /** Resolves when every queued line is written or dropped, or after ms. */
  drained(ms: number): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      this.idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Close the file for good: later lines go to stderr only. */
  close(): void {
    this.closed = true;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* closed already */
    }
    this.fd = null;
  }

  private open(): void {
    this.closeFd();
    const fd = fs.openSync(this.file, 'a', 0o600);
    this.fd = fd;
    try {
      // fchmod, not chmod: never change the mode of what a symlink points at.
      if (fs.fstatSync(fd).isFile()) fs.fchmodSync(fd, 0o600);
    } catch {
      /* the mode stays as it was */
    }
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const buf = Buffer.from(this.queue.join(''));
    this.queue = [];
    const done = (err: unknown): void => {
      this.writing = false;
      if (err) this.fail(err);
      else this.ok();
      if (this.queue.length && !this.broken) this.pump();
      else {
        this.queue = [];
        const idle = this.idle;
        this.idle = [];
        for (const f of idle) f();
      }
    };
    try {
      // pmond.log removed (nlink 0) or never opened: (re)create it.
      if (this.fd === null || fs.fstatSync(this.fd).nlink === 0) this.open();
      this.writeAll(this.fd!, buf, 0, done);
    } catch (e) {
      done(e);
    }
  }

  private writeAll(fd: number, buf: Buffer, off: number, done: (err: unknown) => void): void {
    fs.write(fd, buf, off, buf.length - off, null, (err, n) => {
      if (err) return done(err);
      if (off + n < buf.length) return this.writeAll(fd, buf, off + n, done);
      done(null);
    });
  }

  private fail(e: unknown): void {
    const error = describe(e);
    if (!this.broken) this.say(`pmond: ${this.file} cannot be written (${error}); pmond logs to stderr only until it can\n`);
    this.broken = { error, retryAt: Date.now() + this.retryMs };
    this.closeFd();
  }

  private ok(): void {
    if (!this.broken) return;
    const was = this.broken.error;
    this.broken = null;
    const line = `${new Date().toISOString()} info: ${this.file} writable again (was: ${was})\n`;
    this.say(line);
    this.queue.push(line);
  }
}

/** Meta as JSON, or a note if it cannot be (a cycle, a BigInt). */
function metaText(meta?: Record<string, unknown>): string {
  if (!meta || Object.keys(meta).length === 0) return '';
  try {
    return ` ${JSON.stringify(meta)}`;
  } catch (e) {
    return ` [meta not shown: ${describe(e)}]`;
  }
}

export function createLogger(logsDir: string, level: string, opts: LoggerOptions = {}): Logger {
  const say = opts.stderr ?? writeStderr;
  const max = LEVELS[level as Level] ?? LEVELS.info;
  const file = new LogFile(path.join(logsDir, 'pmond.log'), say, opts.retryMs ?? 60_000);
  const at =
    (lvl: Level) =>
    (msg: string, meta?: Record<string, unknown>): void => {
      if (LEVELS[lvl] > max) return;
      try {
        // Messages carry names, paths and errors users chose: no control character reaches a terminal.
        const line = `${new Date().toISOString()} ${lvl}: ${printable(`${String(msg)}${metaText(meta)}`)}\n`;
        say(line);
        file.append(line);
      } catch {
        /* logging never throws */
      }
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    close: async () => {
      await file.drained(500);
      file.close();
    },
  };
}
