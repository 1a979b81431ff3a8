/**
 * `log -a` and `logf -a`: a log's rotated copies (what logrotate or pmond left
 * beside it: app.log.1, app.log.2.gz, app.log-20261201), oldest first, before
 * the current log. As for every log (logs.ts), pmond touches no path itself:
 * the log reader, running as the process's user, lists the log's directory
 * (lstat only, nothing opened: exec.c read_list) and opens each copy; pmond
 * picks the copies by name, reads only regular files of the process's user
 * (a symlink, FIFO, device, directory or another user's file is reported as
 * skipped, with why), and checks that what it opened is what was listed (a
 * directory swapped between the two opens nothing else). A .gz copy is
 * decompressed here, streaming, at most MAX_COPY_TEXT of text (a gzip bomb
 * stops there with a note); nothing is ever written.
 */
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import { type LogFilesInfo, MAX_COPY_TEXT } from '../protocol/methods';
import { PmonError } from '../protocol/errors';
import { LIST_MAX, type ListedEntry, type LogFiles } from './log-reader';

const S_IFMT = 0o170000;
const KINDS: Record<number, string> = {
  0o100000: 'a regular file',
  0o040000: 'a directory',
  0o120000: 'a symbolic link',
  0o010000: 'a FIFO',
  0o020000: 'a character device',
  0o060000: 'a block device',
  0o140000: 'a socket',
};

/**
 * What follows the log's name in a rotated copy's: ".N" (logrotate's default, N up to 6
 * digits) or "-DATE" (dateext: -YYYYMMDD, -YYYY-MM-DD, optionally -HH... or -EPOCH), then
 * ".gz" if compressed. Anything else beside the log (app.log.swp, app.log-old) is not a copy.
 */
const COPY_RE = /^(?:\.(\d{1,6})|-(\d{4}-?\d{2}-?\d{2}(?:[-_]?\d{1,12})?))(\.gz)?$/;

/** A rotated copy to read. */
export interface Copy {
  /** Absolute path (the log's directory + the listed name). */
  file: string;
  /** The listed entry. */
  entry: ListedEntry;
  gz: boolean;
}

/** Why an entry is not read, or null when it is a regular file of ownerUid. */
function refusal(e: ListedEntry, ownerUid: number): string | null {
  if (e.errno !== 0) return `cannot be looked at (errno ${e.errno})`;
  const kind = e.mode & S_IFMT;
  if (kind !== 0o100000) return `${KINDS[kind] ?? 'not a regular file'}, not read`;
  if (e.uid !== ownerUid) return `owned by uid ${e.uid}, not by the process's user; not read`;
  return null;
}

/**
 * The rotated copies of `log` among a listing of its directory, oldest first, and the
 * candidates refused. Oldest first: dated copies by date ascending, then numbered ones by
 * number descending (app.log.3 is older than app.log.1); equal keys by name. Pure.
 */
export function rotatedCopies(log: string, entries: readonly ListedEntry[], ownerUid: number): { copies: Copy[]; skipped: LogFilesInfo['skipped'] } {
  const dir = path.dirname(log);
  const base = path.basename(log);
  const copies: Array<Copy & { dated?: string; n?: number }> = [];
  const skipped: LogFilesInfo['skipped'] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith(base)) continue;
    const m = COPY_RE.exec(entry.name.slice(base.length));
    if (!m) continue;
    const file = path.join(dir, entry.name);
    const why = refusal(entry, ownerUid);
    if (why) {
      skipped.push({ name: file, why });
      continue;
    }
    copies.push({ file, entry, gz: m[3] !== undefined, ...(m[1] !== undefined ? { n: Number(m[1]) } : { dated: m[2]!.replace(/\D/g, '') }) });
  }
  copies.sort((a, b) => {
    if (a.dated !== undefined && b.dated !== undefined) {
      const c = a.dated.length - b.dated.length || (a.dated < b.dated ? -1 : a.dated > b.dated ? 1 : 0);
      if (c) return c;
    } else if (a.dated !== undefined) return -1;
    else if (b.dated !== undefined) return 1;
    else if (a.n !== b.n) return b.n! - a.n!;
    return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
  });
  skipped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { copies: copies.map(({ file, entry, gz }) => ({ file, entry, gz })), skipped };
}

/** Where the text goes, and whether the client is still there to get it. */
export interface TextSink {
  send(text: string): Promise<void>;
  /** True once the client went away: reading stops. */
  gone(): boolean;
}

const CHUNK = 256 * 1024;

/** A bound in words: "32 MiB" (or "N bytes" when tests shrink it). */
export const bound = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);

/** Whether an error means the reader can answer no more (it is rethrown, not noted). */
const readerFailed = (e: unknown): boolean => e instanceof PmonError && (e.code === 'UNAVAILABLE' || e.code === 'INTERNAL');

/**
 * Send a plain file's text from `start` to `end` (its size when opened), in chunks, whole
 * UTF-8 characters per chunk. Returns the bytes sent.
 */
export async function sendPlain(files: LogFiles, fd: number, start: number, end: number, sink: TextSink, chunk = CHUNK): Promise<number> {
  const dec = new StringDecoder('utf8');
  let pos = start;
  while (pos < end && !sink.gone()) {
    const buf = await files.read(fd, pos, Math.min(chunk, end - pos));
    if (buf.length === 0) break; // truncated meanwhile
    pos += buf.length;
    const text = dec.write(buf);
    if (text) await sink.send(text);
  }
  const rest = dec.end();
  if (rest && !sink.gone()) await sink.send(rest);
  return pos - start;
}

/** How a .gz copy ended: read whole, stopped at the bound, or not gzip after some text. */
export type GunzipEnd = { kind: 'whole' } | { kind: 'bound'; what: 'text' | 'compressed' } | { kind: 'corrupt'; message: string };

/**
 * Compressed data is fed to zlib in pieces this size: zlib drops the output of the write in
 * which it finds damage, so damage costs at most the text of one piece.
 */
const GZ_PIECE = 16 * 1024;

/**
 * Decompress a .gz copy (bytes 0..size of fd, read through the reader) and send its text,
 * streaming: at most maxText bytes of text and maxIn bytes read, whatever the file claims.
 * The text is queued here, not in the zlib stream: a stream that fails drops what it buffered.
 */
export async function sendGunzipped(
  files: LogFiles,
  fd: number,
  size: number,
  sink: TextSink,
  maxText = MAX_COPY_TEXT,
  maxIn = MAX_COPY_TEXT,
  chunk = CHUNK,
): Promise<GunzipEnd> {
  const gunzip = zlib.createGunzip({ chunkSize: Math.max(1024, Math.min(64 * 1024, chunk)) });
  const queue: Buffer[] = [];
  let done = false;
  let failure: Error | undefined;
  let readerError: unknown;
  let stopFeeding = false;
  let stoppedIn = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  gunzip.on('data', (b: Buffer) => {
    queue.push(b);
    if (queue.length >= 4) gunzip.pause();
    poke();
  });
  gunzip.on('end', () => {
    done = true;
    poke();
  });
  gunzip.on('error', (e) => {
    failure ??= e;
    done = true;
    poke();
  });
  const feed = (async () => {
    let pos = 0;
    const end = Math.min(size, maxIn);
    while (pos < end && !stopFeeding) {
      const buf = await files.read(fd, pos, Math.min(CHUNK, end - pos));
      if (buf.length === 0) break;
      pos += buf.length;
      for (let i = 0; i < buf.length && !stopFeeding; i += GZ_PIECE) {
        if (!gunzip.write(buf.subarray(i, i + GZ_PIECE))) {
          await new Promise<void>((r) => {
            const go = (): void => {
              gunzip.off('drain', go);
              gunzip.off('close', go);
              r();
            };
            gunzip.on('drain', go);
            gunzip.on('close', go);
          });
        }
      }
    }
    stoppedIn = size > maxIn && pos >= maxIn;
    if (!stopFeeding) gunzip.end();
  })().catch((e: unknown) => {
    readerError = e;
    done = true;
    poke();
  });

  const dec = new StringDecoder('utf8');
  let sent = 0;
  let end: GunzipEnd | undefined;
  try {
    while (!sink.gone()) {
      const out = queue.shift();
      if (out) {
        const piece = out.length > maxText - sent ? out.subarray(0, maxText - sent) : out;
        sent += piece.length;
        const text = dec.write(piece);
        if (text) await sink.send(text);
        if (sent >= maxText) {
          end = { kind: 'bound', what: 'text' };
          break;
        }
        if (queue.length < 2) gunzip.resume();
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    stopFeeding = true;
    gunzip.destroy();
    await feed;
  }
  const rest = dec.end();
  if (rest && !sink.gone()) await sink.send(rest);
  if (readerError !== undefined) throw readerError;
  if (end) return end;
  if (stoppedIn) return { kind: 'bound', what: 'compressed' };
  if (failure) return { kind: 'corrupt', message: failure.message };
  return { kind: 'whole' };
}

/** An open error of a copy, as a reason. */
function openWhy(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'gone before it could be opened';
  if (code === 'ELOOP') return 'a symbolic link, not read';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied';
  return `cannot be opened (${code ?? (e as Error).message})`;
}

/**
 * List the log's directory and send every rotated copy's text, oldest first (each at most
 * MAX_COPY_TEXT; a plain copy keeps its newest text, a .gz copy its first). What was read,
 * skipped and cut is returned; a reader that fails (a file system that did not answer) throws.
 */
export async function sendCopies(
  log: string,
  files: LogFiles,
  ownerUid: number,
  sink: TextSink,
  maxText = MAX_COPY_TEXT,
  chunk = CHUNK,
): Promise<LogFilesInfo> {
  const info: LogFilesInfo = { files: [], skipped: [], notes: [] };
  let listing;
  try {
    listing = await files.list(log);
  } catch (e) {
    if (readerFailed(e)) throw e;
    info.notes.push(`cannot list ${path.dirname(log)} for rotated copies (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return info;
  }
  if (listing.more) info.notes.push(`${path.dirname(log)} has more than ${LIST_MAX} names starting with ${path.basename(log)}: only ${LIST_MAX} of them were looked at`);
  const { copies, skipped } = rotatedCopies(log, listing.entries, ownerUid);
  info.skipped.push(...skipped);
  for (const c of copies) {
    if (sink.gone()) break;
    let f;
    try {
      f = await files.open(c.file);
    } catch (e) {
      if (readerFailed(e)) throw e;
      info.skipped.push({ name: c.file, why: openWhy(e) });
      continue;
    }
    try {
      if ((f.mode & S_IFMT) !== 0o100000 || f.uid !== ownerUid || f.ino !== c.entry.ino) {
        info.skipped.push({ name: c.file, why: 'changed between listing and opening (not the regular file of the process\'s user that was listed), not read' });
        continue;
      }
      info.files.push(c.file);
      try {
        if (c.gz) {
          const end = await sendGunzipped(files, f.fd, f.size, sink, maxText, maxText, chunk);
          if (end.kind === 'bound' && end.what === 'text') info.notes.push(`${c.file}: stopped after ${bound(maxText)} of decompressed text (the most read of one copy)`);
          if (end.kind === 'bound' && end.what === 'compressed') info.notes.push(`${c.file}: stopped after ${bound(maxText)} of compressed data (the most read of one copy)`);
          if (end.kind === 'corrupt') info.notes.push(`${c.file}: damaged gzip (${end.message}); the text before the damage was shown, up to ${GZ_PIECE / 1024} KiB of compressed data before it may be missing`);
        } else {
          const start = Math.max(0, f.size - maxText);
          await sendPlain(files, f.fd, start, f.size, sink, chunk);
          if (start > 0) info.notes.push(`${c.file}: only its last ${bound(maxText)} shown (the most read of one copy)`);
        }
      } catch (e) {
        if (readerFailed(e)) throw e;
        info.notes.push(`${c.file}: reading stopped (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    } finally {
      await files.close(f.fd).catch(() => undefined);
    }
  }
  return info;
}
