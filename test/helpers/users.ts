/**
 * Real test users for tests that need root: created with groupadd/useradd
 * (argv, no shell) if missing. Tests call isRoot() and skip visibly otherwise.
 */
import { execFileSync } from 'node:child_process';

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

/** Ensure a user exists with the given supplementary groups; returns its ids. */
export function ensureUser(name: string, supplementary: string[] = []): TestUser {
  for (const g of supplementary) if (gidOf(g) === null) execFileSync('groupadd', [g]);
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
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

/**
 * Users (and groups) a suite creates for itself and removes in its `after`:
 * names unique to the suite, so suites running at once never share (or delete) each other's.
 */
export class TestUsers {
  private readonly users: string[] = [];
  private readonly groups: string[] = [];

  /** Create user `name` (with these supplementary groups, created too) unless it exists; removed by cleanup(). */
  add(name: string, supplementary: string[] = []): TestUser {
    for (const g of supplementary) {
      if (gidOf(g) === null) {
        execFileSync('groupadd', [g]);
        this.groups.push(g);
      }
    }
    try {
      execFileSync('id', ['-u', name], { stdio: 'ignore' });
    } catch {
      this.users.push(name);
    }
    return ensureUser(name, supplementary);
  }

  /** Kill what the users still run, remove them with their homes, remove the groups. */
  cleanup(): void {
    for (const u of this.users.splice(0)) {
      try {
        execFileSync('pkill', ['-KILL', '-u', u], { stdio: 'ignore' });
      } catch {
        /* nothing running */
      }
      try {
        execFileSync('userdel', ['--remove', u], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
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
