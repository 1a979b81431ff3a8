/**
 * fib-runner's savelog, done properly: when an instance of an app with save_log_on_crash ends
 * abnormally, the last N KiB of its log are kept as a crash file, with how it ended and its
 * cpu/memory samples appended.
 *
 * - The log is read as the app's user (`tail -c N -- LOG` through the exec helper, groups, gid
 *   and uid dropped): a log path the user chose (or a directory they swap) is never opened by
 *   root. The crash file is made by the helper in pmond's own directory for that user
 *   (logs_dir, or logs_dir/<user>), O_EXCL and handed to the user, so nobody can point it
 *   elsewhere; pmond then appends its trailer only to a regular, single-link file of that user.
 * - At most MAX_CRASH_FILES per instance: older ones are removed. They count among the files
 *   a user's log directory may hold, and go when the process is deleted (Logs.removeLogs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExitInfo } from '../process/spawner';
import type { ProcessRow } from '../store/schema';
import type { Core } from './deps';
import { safeDirName } from './logs';

/** Crash files kept per instance. */
export const MAX_CRASH_FILES = 3;

/** Where row's crash files go: pmond's own log directory for its user. */
export function crashDir(c: Pick<Core, 'config' | 'daemonUid'>, row: Pick<ProcessRow, 'uid' | 'user'>): string {
  const logsDir = path.resolve(c.config.logs_dir);
  return row.uid === c.daemonUid ? logsDir : path.join(logsDir, safeDirName({ name: row.user, uid: row.uid }));
}

/** The crash files' names of row start so; a stamp (and `-N` for instance N > 0) follows. */
function prefix(row: Pick<ProcessRow, 'name'>): string {
  return `${row.name}.log.crash-`;
}

const STAMP_RE = /^\d{8}T\d{9}Z$/;

/** row's crash files, newest first (absolute paths). */
export async function crashFiles(c: Pick<Core, 'config' | 'daemonUid'>, row: Pick<ProcessRow, 'uid' | 'user' | 'name' | 'instance'>): Promise<string[]> {
  const dir = crashDir(c, row);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const p = prefix(row);
  const suffix = row.instance > 0 ? `-${row.instance}` : '';
  return names
    .filter((n) => n.startsWith(p) && n.endsWith(suffix) && STAMP_RE.test(n.slice(p.length, n.length - suffix.length)))
    .sort()
    .reverse()
    .map((n) => path.join(dir, n));
}

/** Keep the tail of row's log as a crash file; never rejects (a failure is one warn line). */
export async function saveCrash(c: Core, row: ProcessRow, info: ExitInfo, kib: number, samples: ReadonlyArray<{ at: string; cpu: number; memory: number }>): Promise<void> {
  try {
    const stamp = new Date(c.clock.now()).toISOString().replace(/[-:.]/g, '');
    const file = path.join(crashDir(c, row), `${prefix(row)}${stamp}${row.instance > 0 ? `-${row.instance}` : ''}`);
    const user = await c.users.user(row.uid);
    const w = await c.spawner.spawn({
      file: fs.existsSync('/usr/bin/tail') ? '/usr/bin/tail' : 'tail',
      args: ['-c', String(kib * 1024), '--', row.log],
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
      cwd: '/',
      uid: row.uid,
      gid: row.gid,
      groups: [...new Set([row.gid, ...user.groups])],
      log: { kind: 'daemon', path: file },
      cgroup: null,
    });
    let t: { cancel(): void } | undefined;
    await Promise.race([w.exited, new Promise((r) => (t = c.os.after(10_000, () => r(undefined))))]);
    t?.cancel();
    c.os.signalGroup(w.pid, 'SIGKILL');
    const how = info.code !== null ? `exited with code ${info.code}` : `killed by ${info.signal}`;
    const lines = [
      '',
      `--- pmon3: ${row.name} (id ${row.id}, instance ${row.instance}) pid ${row.pid ?? '?'} ${how} at ${new Date(c.clock.now()).toISOString()}; started ${row.started_at ?? '?'}`,
      `--- cpu and memory, last ${samples.length} samples: ${samples.map((s) => `${s.at} ${s.cpu.toFixed(1)}% ${Math.round(s.memory / 1024)} KiB`).join('; ') || 'none taken'}`,
      '',
    ];
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const st = fs.fstatSync(fd);
      if (st.isFile() && st.uid === row.uid && st.nlink === 1) fs.writeSync(fd, lines.join('\n'));
    } finally {
      fs.closeSync(fd);
    }
    c.logger.info(`${row.name}: crash file ${file}`);
    for (const old of (await crashFiles(c, row)).slice(MAX_CRASH_FILES)) {
      const st = await fs.promises.lstat(old).catch(() => undefined);
      if (st?.isFile() && st.uid === row.uid) await fs.promises.unlink(old).catch(() => undefined);
    }
  } catch (e) {
    c.logger.warn(`${row.name}: could not keep a crash file: ${(e as Error).message}`);
  }
}
