/**
 * Files the CLI writes for its user (export -d, import -o). The CLI may run as root, in a
 * directory another user can write (/tmp): it never writes through a symbolic link (O_NOFOLLOW:
 * a planted link to /etc/shadow is an error, not a write), never into a file another user owns,
 * and never into a directory another user owns or anyone else may write, so nobody can choose
 * where root's bytes land.
 */
import * as fs from 'node:fs';
import { permissionDenied } from '../protocol/errors';

const uid = (): number => process.getuid?.() ?? 0;

/** A directory of the caller's (made 0755 if missing): owned by them or root, writable by nobody else unless sticky. */
export function ownDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw permissionDenied(`${dir} is not a directory (a symbolic link?); give a directory of yours`);
  if (st.uid !== uid() && st.uid !== 0) throw permissionDenied(`${dir} is owned by uid ${st.uid}; give a directory of yours`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) throw permissionDenied(`${dir} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}); give a directory only you can write`);
  return dir;
}

/** Write text to file (created 0644, or replaced if it is the caller's own regular file). */
export function writeOwnFile(file: string, text: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw permissionDenied(`${file} is a symbolic link; not writing through it`);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw permissionDenied(`${file} is not a regular file; not writing to it`);
    if (st.uid !== uid()) throw permissionDenied(`${file} belongs to uid ${st.uid}; not writing to it`);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}


/**
 * For root: the files among these another user owns. Their apps run as root unless they name a
 * user, so apply and import say so (one line each) before anything is applied.
 */
export function othersFiles(files: readonly string[]): Array<{ file: string; uid: number }> {
  if (uid() !== 0) return [];
  const out: Array<{ file: string; uid: number }> = [];
  for (const f of new Set(files)) {
    try {
      const st = fs.statSync(f);
      if (st.uid !== 0) out.push({ file: f, uid: st.uid });
    } catch {
      /* reported where it is read */
    }
  }
  return out;
}
