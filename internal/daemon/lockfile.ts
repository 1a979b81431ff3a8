/**
 * One pmond per data_dir: an exclusive SQLite lock on data_dir/pmond.lock,
 * held for the daemon's life and released by the kernel when it dies (even
 * by SIGKILL), so two daemons can never manage the same table.
 *
 * Taking the lock writes nothing: BEGIN EXCLUSIVE on a rollback-journal
 * database only takes the file's POSIX locks (the journal is opened at the
 * first page written, and nothing is). Only the first pmond on a data_dir
 * writes pmond.lock's one page; from then on pmond can start on a full disk.
 * Only a lock really held by another process says "another pmond"; any
 * other failure names its cause, a full disk as a full disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import SQLite from 'better-sqlite3';
import { failedPrecondition, PmonError } from '../protocol/errors';

const codeOf = (e: unknown): string => String((e as { code?: unknown } | null)?.code ?? '');

/** "CODE: message" in one line. */
function describe(e: unknown): string {
  const code = codeOf(e);
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
  return code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

/** The error for a lock that could not be taken for a reason other than another pmond. */
function cannotLock(dataDir: string, file: string, e: unknown): PmonError {
  const code = codeOf(e);
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return failedPrecondition(`data_dir ${dataDir} is full (${describe(e)}): cannot take the lock ${file}`);
  }
  if (code === 'EROFS' || code === 'SQLITE_READONLY') {
    return failedPrecondition(`data_dir ${dataDir} is read-only (${describe(e)}): cannot take the lock ${file}`);
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return failedPrecondition(`${file} is not a pmond lock file (${describe(e)}); remove it if no pmond runs on data_dir ${dataDir}`);
  }
  return failedPrecondition(`cannot take the lock ${file} on data_dir ${dataDir} (${describe(e)})`);
}

/** Who holds a POSIX lock on file, from /proc/locks (best effort: null if unknown). */
function lockHolder(file: string): number | null {
  try {
    const st = fs.statSync(file);
    // /proc/locks: "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 1073741824 1073742335", MAJOR:MINOR in hex.
    const dev = BigInt(st.dev); // glibc's dev_t: major in bits 8-19 and 32-63, minor in bits 0-7 and 20-31
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & 0xfff00n));
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '->') f.splice(1, 1); // a waiter
      const [maj, min, ino] = (f[5] ?? '').split(':');
      if (f[1] !== 'POSIX' || Number(ino) !== st.ino || parseInt(maj ?? '', 16) !== major || parseInt(min ?? '', 16) !== minor) continue;
      const pid = Number(f[4]);
      if (pid > 0 && pid !== process.pid) return pid;
    }
  } catch {
    /* no /proc, or the file is gone */
  }
  return null;
}

export function acquireDaemonLock(dataDir: string): { release(): void } {
  const file = path.join(dataDir, 'pmond.lock');
  // Create it ourselves: SQLite would only say "unable to open database file" (ENOSPC, EACCES, EROFS...).
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600));
  } catch (e) {
    throw cannotLock(dataDir, file, e);
  }
  let db: SQLite.Database;
  try {
    db = new SQLite(file, { timeout: 0, fileMustExist: true });
  } catch (e) {
    throw cannotLock(dataDir, file, e);
  }
  try {
    // An empty file is an empty database, whose first write transaction writes page 1: write it
    // once, now, so that BEGIN EXCLUSIVE writes nothing from then on (a full disk included).
    if (fs.statSync(file).size === 0) db.pragma('user_version = 1');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    const code = codeOf(e);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      const pid = lockHolder(file);
      throw failedPrecondition(`another pmond${pid ? ` (pid ${pid})` : ''} is already running on data_dir ${dataDir} (${file} is locked)`);
    }
    throw cannotLock(dataDir, file, e);
  }
  return {
    release: () => {
      try {
        db.exec('ROLLBACK');
      } catch {
        /* nothing to roll back */
      }
      db.close();
    },
  };
}
