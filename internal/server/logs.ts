/**
 * Reading process logs for `log` and `logf`. pmond may run as root and the
 * log path was chosen by a user, so every open — the first, and each one
 * `logf` does after a rotation — goes through an Opener that opens with the
 * rights of the process's user (native openAs) and without following a
 * symlink in the last component; after every open an fstat: a regular file
 * owned by the process's user, or nothing is read. An error says what the
 * user's own shell would have said, so it tells nothing about paths they
 * cannot see.
 */
import * as fs from 'node:fs';
import { invalidArgument, notFound, permissionDenied } from '../protocol/errors';

/** Opens a file for reading with the rights of the process's user; throws Node-style errno errors. */
export type Opener = (file: string) => number;

/** An open log: its fd, size and inode at open. */
export interface OpenLog {
  fd: number;
  size: number;
  ino: number;
}

/** Open a log for reading as its process's user; PERMISSION_DENIED unless a regular file owned by ownerUid. */
export function openLog(file: string, open: Opener, ownerUid: number): OpenLog {
  let fd: number;
  try {
    fd = open(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`log ${file}: No such file or directory`);
    if (code === 'ELOOP') throw permissionDenied(`log ${file} is a symbolic link; refusing to follow it`);
    if (code === 'EACCES' || code === 'EPERM') throw permissionDenied(`log ${file}: Permission denied`);
    if (code === 'ENOTDIR') throw invalidArgument(`log ${file}: Not a directory`);
    throw invalidArgument(`log ${file}: ${code ?? (e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.uid !== ownerUid) {
    fs.closeSync(fd);
    throw permissionDenied(`log ${file} is not a regular file owned by the process's user`);
  }
  return { fd, size: st.size, ino: st.ino };
}

/** openLog, or null when it cannot be opened (yet) or fails its checks. */
function tryOpen(file: string, open: Opener, ownerUid: number): OpenLog | null {
  try {
    return openLog(file, open, ownerUid);
  } catch {
    return null;
  }
}

/**
 * The last `lines` lines of the open file (ending at `size`), at most
 * maxBytes of them (older text is cut, never the newest).
 */
export function tail(fd: number, size: number, lines: number, maxBytes: number): string {
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
    const buf = Buffer.allocUnsafe(len);
    fs.readSync(fd, buf, 0, len, pos);
    parts.unshift(buf);
    total += len;
    for (let i = 0; i < len; i++) if (buf[i] === 10) newlines++;
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
 * (rename-and-create rotation) of the file.
 */
export function follow(
  file: string,
  start: OpenLog,
  open: Opener,
  ownerUid: number,
  send: (text: string) => Promise<void>,
  chunkBytes: number,
): { stop(): void } {
  let { fd, size: offset, ino } = start;
  let stopped = false;
  let busy = false;
  let again = false;
  const buf = Buffer.allocUnsafe(chunkBytes);

  const pump = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        let st = fs.fstatSync(fd);
        // Has the path been rotated to a new file? Asked by opening it as the user, with the same
        // checks as the first open: a path swapped to lead elsewhere opens nothing, and the old fd
        // goes on being read. (The path is briefly missing during rotation, too.)
        const next = tryOpen(file, open, ownerUid);
        if (next && next.ino !== ino) {
          // Rotated away: drain the old file, then continue with the new one.
          while (!stopped) {
            const n = fs.readSync(fd, buf, 0, buf.length, offset);
            if (n <= 0) break;
            offset += n;
            await send(buf.subarray(0, n).toString('utf8'));
          }
          if (stopped) {
            fs.closeSync(next.fd);
            return;
          }
          fs.closeSync(fd);
          ({ fd, ino } = next);
          offset = 0;
          st = fs.fstatSync(fd);
        } else if (next) {
          fs.closeSync(next.fd);
        }
        if (st.size < offset) offset = 0; // truncated (copytruncate)
        while (!stopped && offset < st.size) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, st.size - offset), offset);
          if (n <= 0) break;
          offset += n;
          await send(buf.subarray(0, n).toString('utf8'));
        }
      } while (again && !stopped);
    } catch {
      // The next tick retries.
    } finally {
      busy = false;
    }
  };

  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(file, { persistent: false }, () => void pump());
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined;
  }
  // inotify misses writes through other mounts and renames; a slow poll backs it up.
  const timer = setInterval(() => void pump(), 250);
  timer.unref();
  void pump();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    },
  };
}
