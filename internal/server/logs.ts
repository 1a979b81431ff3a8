/**
 * Reading process logs for `log` and `logf`. pmond may run as root and the
 * log path was chosen by a user, so the file is opened without following a
 * symlink and must belong to the process's user.
 */
import * as fs from 'node:fs';
import { invalidArgument, notFound, permissionDenied } from '../protocol/errors';

/** Open a log for reading; PERMISSION_DENIED unless owned by ownerUid (or allowAny). */
export function openLog(file: string, ownerUid: number, allowAny: boolean): { fd: number; size: number; ino: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`log ${file} does not exist (yet)`);
    if (code === 'ELOOP') throw permissionDenied(`log ${file} is a symbolic link; refusing to follow it`);
    throw invalidArgument(`log ${file}: ${code ?? (e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile() || (!allowAny && st.uid !== ownerUid)) {
    fs.closeSync(fd);
    throw permissionDenied(`log ${file} is not a regular file owned by the process's user`);
  }
  return { fd, size: st.size, ino: st.ino };
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
  start: { fd: number; size: number; ino: number },
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
        try {
          const onDisk = fs.statSync(file);
          if (onDisk.ino !== ino) {
            // Rotated away: drain the old file, then continue with the new one.
            while (!stopped) {
              const n = fs.readSync(fd, buf, 0, buf.length, offset);
              if (n <= 0) break;
              offset += n;
              await send(buf.subarray(0, n).toString('utf8'));
            }
            const next = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
            fs.closeSync(fd);
            fd = next;
            ino = onDisk.ino;
            offset = 0;
            st = fs.fstatSync(fd);
          }
        } catch {
          // The path is briefly missing during rotation; keep reading the old fd.
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
