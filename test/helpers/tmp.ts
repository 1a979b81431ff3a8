/**
 * Where tests put their files and how they name their users, so that `make test` can prove
 * it left nothing behind (test/leftovers.ts). The Makefile's test targets export:
 *   PMON3_TEST_ROOT         one directory (mktemp -d, 0755) that every temp dir of the run goes under;
 *   PMON3_TEST_USER_PREFIX  the prefix of every user and group tests create ("pmt" + 4 hex + "-",
 *                           new for each run, so two runs at once never share a user).
 * A test file run by hand, without them, uses os.tmpdir() and "pmt-".
 *
 * Every temp dir made here is also removed when the test file's process exits, whatever its
 * suites' after() hooks did or did not get to (a failed before(), a throw half-way through).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The directory every temp dir of this run goes under. */
export function testRoot(): string {
  const root = process.env.PMON3_TEST_ROOT;
  return root && path.isAbsolute(root) ? root : os.tmpdir();
}

/** The prefix of every user and group the tests create. */
export function userPrefix(): string {
  const p = process.env.PMON3_TEST_USER_PREFIX;
  return p && /^[a-z][a-z0-9]*-$/.test(p) ? p : 'pmt-';
}

/** A user or group name for this run: the prefix, then `short` (e.g. "su-alice"). */
export function testName(short: string): string {
  return `${userPrefix()}${short}`;
}

const made = new Set<string>();
let hooked = false;

/** Remove every temp dir made by tempDir() that is still there (a mount point is left alone). */
function removeAll(): void {
  for (const dir of made) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* busy (a mount still there): test/leftovers.ts names it */
    }
  }
  made.clear();
}

/**
 * A fresh directory under testRoot(), named prefix + 6 random characters (short: Unix socket
 * paths under it must stay within 107 bytes). mode 0700 as mkdtemp makes it, unless told
 * (0755 where test users must reach what is inside). Removed at exit at the latest.
 */
export function tempDir(prefix: string, mode = 0o700): string {
  const dir = fs.mkdtempSync(path.join(testRoot(), prefix));
  fs.chmodSync(dir, mode);
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAll);
  }
  return dir;
}

/** Remove a dir made by tempDir() now (what after() hooks call). */
export function removeTempDir(dir: string | undefined): void {
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}
