/** Facts from /proc for reliability checks: who runs, who is a zombie, who carries a marker. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import SQLite from 'better-sqlite3';
import { checkDatabase } from '../../internal/store/store';
import { findByEnv, readStartTime } from '../../internal/process/procfs';

export { readStartTime };

/**
 * Live pids started for process id `id` by the pmond whose logs are in
 * logsDir: the PMON3_PROCESS_ID marker in their environment, and stdout open
 * on a file in that directory (other suites' daemons use the same ids).
 */
export function liveInstances(id: number, logsDir: string): number[] {
  return findByEnv('PMON3_PROCESS_ID', String(id)).filter((pid) => {
    if (readStartTime(pid) === null) return false;
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/1`).startsWith(`${logsDir}/`);
    } catch {
      return false;
    }
  });
}

/** Zombie children of pid. */
export function zombieChildren(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' && Number(f[1]) === pid) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds (user + system) a pid has used. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** PRAGMA integrity_check of a database file, as `pmond --check` runs it (a hot journal is rolled back first). */
export function integrity(file: string): string {
  const r = checkDatabase(path.dirname(file));
  return r.ok ? 'ok' : r.text;
}

/** Run a statement against a stopped daemon's database. */
export function sqlite(file: string, stmt: string, ...params: unknown[]): void {
  const db = new SQLite(file);
  try {
    db.prepare(stmt).run(...params);
  } finally {
    db.close();
  }
}
