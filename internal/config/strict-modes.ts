/**
 * sshd-style StrictModes for a root pmond: a file that decides what root runs (the config, a
 * hook script, an apps file) must belong to root and be writable by nobody else, and so must
 * every directory above it, up to /: whoever can write any of them can swap what is below (rename
 * a directory away and put their own in its place). A symbolic link is followed and both the path
 * as given and the real path are checked, so a link cannot lead out of root's tree either.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { permissionDenied } from '../protocol/errors';

/** p and every directory above it, p first. */
function withAncestors(p: string): string[] {
  const out = [p];
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.dirname(d)) return out;
  }
}

/** Throw PERMISSION_DENIED naming the first path (file or directory) someone other than root could change. */
export function assertRootOnly(what: string, file: string): void {
  const given = path.resolve(file);
  let real = given;
  try {
    real = fs.realpathSync(given);
  } catch {
    /* a missing file is reported where it is used; its directories are still checked */
  }
  const seen = new Set<string>();
  for (const p of [...withAncestors(given), ...withAncestors(real)]) {
    if (seen.has(p)) continue;
    seen.add(p);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue;
    }
    // In a sticky directory (like /tmp) others cannot rename or delete root's entries.
    const sticky = p !== given && p !== real && st.isDirectory() && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0) throw permissionDenied(`${what} ${p} is owned by uid ${st.uid}, not root; refusing to trust it`);
    if ((st.mode & 0o022) !== 0 && !sticky) {
      throw permissionDenied(`${what} ${p} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}); refusing to trust it`);
    }
  }
}
