/**
 * Real test users for tests that need root: created with groupadd/useradd
 * (argv, no shell) if missing. Tests call isRoot() and skip visibly otherwise.
 * Every name gets this run's prefix (helpers/tmp.ts testName), so that `make test`
 * can tell its users from anyone else's and check none is left.
 */
import { execFileSync } from 'node:child_process';
import { testName } from './tmp';

export const isRoot = (): boolean => process.getuid?.() === 0;

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  groups: number[];
}

function gidOf(group: string): number | null {
  try {
    return Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
  } catch {
    return null;
  }
}

/** Whether user name exists. */
function exists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Try cond every 50 ms until it holds or ms pass (synchronously: also usable in an exit handler). */
function waitSync(ms: number, cond: () => boolean): boolean {
  const deadline = Date.now() + ms;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    if (cond()) return true;
    if (Date.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 50);
  }
}

/** Ensure a user exists with the given supplementary groups; returns its ids. */
export function ensureUser(name: string, supplementary: string[] = []): TestUser {
  for (const g of supplementary) if (gidOf(g) === null) execFileSync('groupadd', [g]);
  if (!exists(name)) {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', ...(supplementary.length ? ['-G', supplementary.join(',')] : []), name]);
  }
  if (supplementary.length) execFileSync('usermod', ['-a', '-G', supplementary.join(','), name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
  const groups = execFileSync('id', ['-G', name], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  return { name, uid, gid, groups };
}

/**
 * argv that runs `cmd` as user u with uid, gid and supplementary groups
 * (setpriv --init-groups), the way a login shell would have them.
 */
export function asUserArgv(u: TestUser, cmd: string[]): [string, string[]] {
  return ['setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--init-groups', '--', ...cmd]];
}

/** Every TestUsers that may still hold users, cleaned up at exit whatever the suites' after() did. */
const pending = new Set<TestUsers>();
process.once('exit', () => {
  for (const u of [...pending]) u.cleanup();
});

/**
 * Users (and groups) a suite creates for itself and removes in its `after`:
 * names unique to the suite ("su-alice"), given this run's prefix ("pmt1a2b-su-alice"),
 * so suites and runs at once never share (or delete) each other's.
 */
export class TestUsers {
  private readonly users: string[] = [];
  private readonly groups: string[] = [];

  /**
   * Create user testName(short) (with these supplementary groups, testName'd and created too)
   * unless it exists; removed by cleanup() even if it existed (a name with the prefix is a
   * test's, e.g. one left by a killed run).
   */
  add(short: string, supplementary: string[] = []): TestUser {
    pending.add(this);
    const groups = supplementary.map(testName);
    for (const g of groups) {
      if (gidOf(g) === null) execFileSync('groupadd', [g]);
      if (!this.groups.includes(g)) this.groups.push(g);
    }
    const name = testName(short);
    if (!this.users.includes(name)) this.users.push(name);
    return ensureUser(name, groups);
  }

  /** A group's name for this run (as add() names them). */
  group(short: string): string {
    return testName(short);
  }

  /** Kill what the users still run, remove them with their homes, remove the groups. */
  cleanup(): void {
    pending.delete(this);
    for (const u of this.users.splice(0)) {
      // userdel refuses a user who still runs something, and SIGKILLed processes take a moment to
      // go: kill, then try until the user is gone (a deadline, synchronous: this also runs at exit).
      waitSync(5000, () => {
        try {
          execFileSync('pkill', ['-KILL', '-u', u], { stdio: 'ignore' });
        } catch {
          /* nothing running (or no such user) */
        }
        try {
          execFileSync('userdel', ['--remove', u], { stdio: 'ignore' });
        } catch {
          /* still running something, or already gone */
        }
        return !exists(u);
      });
    }
    for (const g of this.groups.splice(0)) {
      try {
        execFileSync('groupdel', [g], { stdio: 'ignore' });
      } catch {
        /* still somebody's primary group, or gone */
      }
    }
  }
}
