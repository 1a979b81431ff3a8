/**
 * Instances' stdin for apps with `stdin: true`: a FIFO per instance in pmond's own
 * data_dir/stdin (0700), made and opened read-write by the exec helper as the child's fd 0
 * (exec.c, pmon3-exec/5), so the child never sees EOF while pmond restarts; `input` writes into
 * it without blocking. Only the instance's owner may write, never root on someone's behalf.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { failedPrecondition, unavailable } from '../protocol/errors';

/** The FIFO of process id (its directory made, 0700). */
export function stdinFifo(dataDir: string, id: number): string {
  const dir = path.join(dataDir, 'stdin');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, String(id));
}

/** The FIFO of process id, without making anything. */
export function stdinPath(dataDir: string, id: number): string {
  return path.join(dataDir, 'stdin', String(id));
}

/**
 * Write data into fifo now: all of it, or what fits and UNAVAILABLE naming how much went.
 * Refuses anything that is not pmond's own FIFO with one link (nobody else can put one there:
 * the directory is pmond's, 0700).
 */
export function writeStdin(fifo: string, data: Buffer): number {
  let fd: number;
  try {
    fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw failedPrecondition(code === 'ENXIO' || code === 'ENOENT' ? 'its stdin is not open (it is not running)' : `its stdin: ${code}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFIFO() || st.uid !== (process.getuid?.() ?? 0) || st.nlink !== 1) throw failedPrecondition('its stdin is not pmond\'s FIFO');
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(fd, data, off, data.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') throw unavailable(`its stdin is full (it reads slower than you write): ${off} of ${data.length} bytes went`);
        throw e;
      }
    }
    return off;
  } finally {
    fs.closeSync(fd);
  }
}

/** When its row goes. */
export function removeStdin(dataDir: string, id: number): void {
  fs.rmSync(stdinPath(dataDir, id), { force: true });
}
