/**
 * Reading process logs for `log` and `logf`. The log path was chosen by a
 * user, so pmond never touches it: every open — the first, and each one
 * `logf` does to notice a rotation — every fstat and every read is done by a
 * log reader running as the process's user (log-reader.ts), with a deadline.
 * After every open: a regular file owned by the process's user, or nothing is
 * read. An error says what the user's own shell would have said, so it tells
 * nothing about paths they cannot see. `logf` polls (no inotify watch: that
 * would be root's, on the user's path, and inotify_add_watch itself waits for
 * the file system).
 */
import { invalidArgument, notFound, permissionDenied, PmonError } from '../protocol/errors';
import type { LogFiles } from './log-reader';

/** An open log: its fd (in the reader), size and inode at open. */
export interface OpenLog {
  fd: number;
  size: number;
  ino: number;
}

/** How often `logf` looks for new text, a truncation or a rotation. */
export const FOLLOW_POLL_MS = 250;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** Open a log for reading as its process's user; PERMISSION_DENIED unless a regular file owned by ownerUid. */
export async function openLog(file: string, files: LogFiles, ownerUid: number): Promise<OpenLog> {
  let f;
  try {
    f = await files.open(file);
  } catch (e) {
    if (e instanceof PmonError) throw new PmonError(e.code, `log ${file}: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`log ${file}: No such file or directory`);
    if (code === 'ELOOP') throw permissionDenied(`log ${file} is a symbolic link; refusing to follow it`);
    if (code === 'EACCES' || code === 'EPERM') throw permissionDenied(`log ${file}: Permission denied`);
    if (code === 'ENOTDIR') throw invalidArgument(`log ${file}: Not a directory`);
    throw invalidArgument(`log ${file}: ${code ?? (e as Error).message}`);
  }
  if ((f.mode & S_IFMT) !== S_IFREG || f.uid !== ownerUid) {
    await files.close(f.fd).catch(() => undefined);
    throw permissionDenied(`log ${file} is not a regular file owned by the process's user`);
  }
  return { fd: f.fd, size: f.size, ino: f.ino };
}

/** openLog, or null when it cannot be opened (yet) or fails its checks; a reader that failed still throws. */
async function tryOpen(file: string, files: LogFiles, ownerUid: number): Promise<OpenLog | null> {
  try {
    return await openLog(file, files, ownerUid);
  } catch (e) {
    if (e instanceof PmonError && (e.code === 'UNAVAILABLE' || e.code === 'INTERNAL')) throw e;
    return null;
  }
}

/**
 * The last `lines` lines of the open file (ending at `size`), at most
 * maxBytes of them (older text is cut, never the newest).
 */
export async function tail(files: LogFiles, fd: number, size: number, lines: number, maxBytes: number): Promise<string> {
  if (lines === 0 || size === 0) return '';
  const chunk = 64 * 1024;
  const parts: Buffer[] = [];
  let pos = size;
  let newlines = 0;
  let total = 0;
  // A trailing newline ends the last line; it does not start a new one.
  const want = lines + 1;
  while (pos > 0 && newlines < want && total < maxBytes) {
    const len = Math.min(chunk, pos);
    pos -= len;
    const buf = await files.read(fd, pos, len);
    parts.unshift(buf);
    total += buf.length;
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) newlines++;
    if (buf.length < len) break; // truncated meanwhile
  }
  let all = Buffer.concat(parts);
  let end = all.length;
  if (all[end - 1] === 10) end--;
  let count = 0;
  let start = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (all[i] === 10 && ++count === lines) {
      start = i + 1;
      break;
    }
  }
  all = all.subarray(start);
  if (all.length > maxBytes) all = all.subarray(all.length - maxBytes);
  return all.toString('utf8');
}

/**
 * Follow a log from offset, calling send for every appended chunk, until
 * stop() is called. Handles truncation (copytruncate) and replacement
 * (rename-and-create rotation) of the file. `failed` rejects when the reader
 * can answer no more (a file system that did not answer in time): following
 * is over then.
 */
export function follow(
  file: string,
  start: OpenLog,
  files: LogFiles,
  ownerUid: number,
  send: (text: string) => Promise<void>,
  chunkBytes: number,
): { stop(): void; failed: Promise<never> } {
  let { fd, size: offset, ino } = start;
  let stopped = false;
  let busy = false;
  let rejectFailed!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined); // the caller may have stopped listening

  const drain = async (upTo: number): Promise<void> => {
    while (!stopped && offset < upTo) {
      const buf = await files.read(fd, offset, Math.min(chunkBytes, upTo - offset));
      if (buf.length === 0) break;
      offset += buf.length;
      await send(buf.toString('utf8'));
    }
  };

  const pump = async (): Promise<void> => {
    if (busy || stopped) return;
    busy = true;
    try {
      let st = await files.stat(fd);
      // Has the path been rotated to a new file? Asked by opening it as the user, with the same
      // checks as the first open: a path swapped to lead elsewhere opens nothing, and the old fd
      // goes on being read. (The path is briefly missing during rotation, too.)
      const next = await tryOpen(file, files, ownerUid);
      if (next && next.ino !== ino) {
        // Rotated away: drain the old file, then continue with the new one.
        await drain(Number.MAX_SAFE_INTEGER);
        if (stopped) return;
        await files.close(fd).catch(() => undefined);
        ({ fd, ino } = next);
        offset = 0;
        st = await files.stat(fd);
      } else if (next) {
        await files.close(next.fd).catch(() => undefined);
      }
      if (st.size < offset) offset = 0; // truncated (copytruncate)
      await drain(st.size);
    } catch (e) {
      if (e instanceof PmonError && (e.code === 'UNAVAILABLE' || e.code === 'INTERNAL')) {
        stopped = true;
        clearInterval(timer);
        rejectFailed(new PmonError(e.code, e.message.startsWith('log ') ? e.message : `log ${file}: ${e.message}`));
      }
      // Anything else (the file briefly gone, an I/O error): the next tick retries.
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void pump(), FOLLOW_POLL_MS);
  timer.unref();
  void pump();
  return {
    failed,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
