/**
 * Processes' log files as the supervisor sees them: where a new process's log goes, who opens
 * it, how many files a user's directory in logs_dir may hold, and what goes when a process does.
 * Nothing here opens a log: the spawner does (pmond in logs_dir, the helper as the user elsewhere).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../logger/logger';
import type { LogTarget } from '../process/spawner';
import type { UserInfo } from '../process/users';
import { failedPrecondition, invalidArgument } from '../protocol/errors';
import type { ProcessRow } from '../store/schema';
import type { SupervisorConfig } from './deps';

/** Files a user's directory in logs_dir may hold per process they may own (a log and its rotated copies). */
const LOG_FILES_PER_PROCESS = 16;

/** How the log is opened: in pmond's logs_dir by pmond (it made the path), anywhere else by the helper as the user. */
export function logTarget(logsDir: string, log: string): LogTarget {
  return log.startsWith(`${path.resolve(logsDir)}/`) ? { kind: 'daemon', path: log } : { kind: 'user', path: log };
}

export class Logs {
  constructor(
    private readonly config: SupervisorConfig,
    private readonly daemonUid: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The log file of a new process. pmond's own logs_dir and data_dir are
   * pmond's: a path the user names may not point into them. By default the
   * log is `<logs_dir>/<name>.log` for pmond's own user, and
   * `<logs_dir>/<user>/<name>.log` for everyone else (names are unique per owner).
   */
  logFor(name: string, user: UserInfo, p: { log?: string; log_dir?: string }): string {
    const logsDir = path.resolve(this.config.logs_dir);
    const own = [logsDir, path.resolve(this.config.data_dir)];
    const chosen = p.log ?? (p.log_dir !== undefined ? path.join(p.log_dir, `${name}.log`) : undefined);
    if (chosen !== undefined) {
      const abs = path.resolve(chosen);
      const inside = own.find((dir) => abs === dir || abs.startsWith(`${dir}/`));
      if (inside) throw invalidArgument(`log ${abs} is inside pmond's own directory ${inside}; only pmond creates logs there (leave out --log)`);
      return abs;
    }
    const sub = user.uid === this.daemonUid ? '' : safeDirName(user);
    const file = path.join(logsDir, sub, `${name}.log`);
    if (file === path.join(logsDir, 'pmond.log')) throw invalidArgument(`log ${file} is pmond's own log; choose another --name or a --log`);
    return file;
  }

  /**
   * A user's directory in logs_dir holds files they cannot remove (pmond's directory): at most
   * LOG_FILES_PER_PROCESS per process they may own. pmond removes a process's logs when it is
   * deleted, so only leftovers (older pmonds, a crash in between) can reach the bound.
   */
  async assertLogRoom(log: string): Promise<void> {
    if (logTarget(this.config.logs_dir, log).kind !== 'daemon') return;
    const dir = path.dirname(log);
    if (dir === path.resolve(this.config.logs_dir)) return; // pmond's own user's: root's to tidy
    let n: number;
    try {
      n = (await fs.promises.readdir(dir)).length;
    } catch {
      return; // not made yet
    }
    const max = this.config.max_processes_per_user * LOG_FILES_PER_PROCESS;
    if (n >= max) throw failedPrecondition(`${dir} holds ${n} files, the most allowed (${LOG_FILES_PER_PROCESS} per process of max_processes_per_user); ask root to remove old logs`);
  }

  /**
   * Remove the logs pmond made for a process in logs_dir: `<name>.log` and the copies rotation
   * leaves beside it (`<name>.log.1`, `.2.gz`, `-20240101`, ...), those that belong to the
   * process's user (pmond hands its logs over; rotated copies keep the owner; a file planted by
   * someone else is not this process's). Called while the row still exists, so no new process of
   * that name can have made its log yet. A log the user chose elsewhere is theirs, and stays.
   */
  async removeLogs(row: ProcessRow): Promise<void> {
    // A log elsewhere is the user's and stays; its crash files (crash.ts) are pmond's, in the user's directory here.
    const ours = logTarget(this.config.logs_dir, row.log).kind === 'daemon';
    const logsDir = path.resolve(this.config.logs_dir);
    const dir = ours ? path.dirname(row.log) : row.uid === this.daemonUid ? logsDir : path.join(logsDir, safeDirName({ name: row.user, uid: row.uid }));
    const base = ours ? path.basename(row.log) : `${row.name}.log`;
    const own = path.join(logsDir, 'pmond.log');
    const esc = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const crash = '\\.crash-\\d{8}T\\d{9}Z(?:-\\d+)?';
    // Its rotated copies, and its crash files (`<name>.log.crash-STAMP[-N]`).
    const mine = new RegExp(ours ? `^${esc}(?:(?:[.-]\\d+)*(?:\\.(?:gz|bz2|xz|zst|lz4|lzo|Z))?|${crash})$` : `^${esc}${crash}$`);
    let entries: string[];
    try {
      entries = await fs.promises.readdir(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const file = path.join(dir, e);
      if (!mine.test(e) || file === own) continue;
      try {
        const st = await fs.promises.lstat(file);
        if (st.isFile() && st.uid === row.uid) await fs.promises.unlink(file);
      } catch (err) {
        this.logger.warn(`${row.name}: cannot remove its log ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }
}

/** The directory under logs_dir for a user's logs: the user name when it is a safe file name, else the uid. */
export function safeDirName(user: Pick<UserInfo, 'name' | 'uid'>): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(user.name) && !user.name.includes('..') && user.name !== 'pmond.log' ? user.name : String(user.uid);
}
