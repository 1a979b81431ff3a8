/**
 * sshd-style StrictModes for a root pmond: a file that decides what root
 * runs (the config, a hook script) must belong to root and be writable by
 * nobody else, and so must the directory holding it. Otherwise any user
 * who can write it could make root run anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { permissionDenied } from '../protocol/errors';

/** Throw PERMISSION_DENIED naming `file` if someone other than root could change it. */
export function assertRootOnly(what: string, file: string): void {
  for (const p of [file, path.dirname(file)]) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue; // a missing file is reported where it is used
    }
    // In a sticky directory (like /tmp) others cannot rename or delete root's file.
    const sticky = p !== file && st.isDirectory() && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0) throw permissionDenied(`${what} ${p} is owned by uid ${st.uid}, not root; refusing to trust it`);
    if ((st.mode & 0o022) !== 0 && !sticky) {
      throw permissionDenied(`${what} ${p} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}); refusing to trust it`);
    }
  }
}
