/**
 * User and group look-ups through getent (so NSS sources such as LDAP work),
 * always with an argv, never a shell.
 */
import { execFile } from 'node:child_process';
import { notFound } from '../protocol/errors';

/** A user as the passwd database knows it. */
export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /**
   * Supplementary group ids, as initgroups(3) gives them (`getent initgroups`, NSS-aware): the
   * groups setpriv --init-groups gives the child, so "may it execute this binary" is asked with them.
   */
  groups: number[];
}

/** Resolves users and groups; an interface so tests and later waves can swap it. */
export interface UserResolver {
  /** By name or numeric uid; NOT_FOUND if there is no such user. */
  user(spec: string | number): Promise<UserInfo>;
  /** Gid of a group by name, or null. */
  groupId(name: string): Promise<number | null>;
}

function getent(db: 'passwd' | 'group' | 'initgroups', key: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('getent', [db, key], { timeout: 5000 }, (err, stdout) => resolve(err ? null : stdout.split('\n')[0] ?? null));
  });
}

export class GetentUserResolver implements UserResolver {
  private cache = new Map<string, { at: number; info: UserInfo }>();

  async user(spec: string | number): Promise<UserInfo> {
    const key = String(spec);
    const hit = this.cache.get(key);
    if (hit) {
      // Served from the cache, refreshed in the background when old: a restart never waits
      // for a getent fork (about 2 ms) on its hot path.
      if (Date.now() - hit.at > 30_000) {
        hit.at = Date.now();
        this.lookup(key).catch(() => this.cache.delete(key));
      }
      return hit.info;
    }
    return this.lookup(key);
  }

  private async lookup(key: string): Promise<UserInfo> {
    const line = await getent('passwd', key);
    const f = line?.split(':');
    if (!f || f.length < 7) throw notFound(`user "${key}" does not exist`);
    // "alice           1001 1002": the name, then the supplementary gids (none, or no such database: []).
    const groups = ((await getent('initgroups', f[0]!)) ?? '').trim().split(/\s+/).slice(1).map(Number).filter(Number.isInteger);
    const info: UserInfo = { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]!, groups };
    this.cache.set(key, { at: Date.now(), info });
    return info;
  }

  async groupId(name: string): Promise<number | null> {
    const f = (await getent('group', name))?.split(':');
    return f && f.length >= 3 ? Number(f[2]) : null;
  }

  /** The user names the group database lists as members of a group (not those who have it as primary group). */
  async groupMembers(name: string): Promise<string[]> {
    const f = (await getent('group', name))?.split(':');
    return f && f.length >= 4 ? f[3]!.split(',').filter(Boolean) : [];
  }
}
