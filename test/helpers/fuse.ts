/**
 * A file system that never answers: a FUSE mount whose daemon never reads
 * /dev/fuse. Every access to it waits (killably: the request is never taken)
 * until the connection is aborted. Needs root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { tempDir } from './tmp';
import * as fs from 'node:fs';

export interface SilentMount {
  /** The mount point. */
  dir: string;
  /** Abort the connection (whatever still waits gets ENOTCONN), unmount, remove the mount point. */
  close(): void;
}

/** Mount a silent FUSE file system on a fresh directory under /tmp; throws if it cannot be mounted. */
export function mountSilentFuse(): SilentMount {
  const dir = tempDir('pmf-');
  const fuse = fs.openSync('/dev/fuse', 'r+');
  // mount(8) -i (no mount.fuse helper); the kernel takes the /dev/fuse fd as fd 3 of mount itself.
  const r = spawnSync('mount', ['-i', '-t', 'fuse', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0,allow_other', 'pmon3-hang', dir], {
    stdio: ['ignore', 'ignore', 'pipe', fuse],
  });
  const close = (): void => {
    fs.closeSync(fuse); // aborts the connection: anything still waiting gets ENOTCONN
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (r.status !== 0) {
    close();
    throw new Error(`mount the silent FUSE file system: ${String(r.stderr).trim()}`);
  }
  return { dir, close };
}

/** Tasks (pid/tid) waiting in the kernel for a FUSE file system to answer, from /proc wchan. */
export function fuseWaiters(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        if (/^(fuse_|request_wait_answer)/.test(fs.readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8'))) out.push(`${pid}/${tid}`);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}
