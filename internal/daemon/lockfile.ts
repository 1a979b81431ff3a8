/**
 * One pmond per data_dir: an exclusive SQLite lock on data_dir/pmond.lock,
 * held for the daemon's life and released by the kernel when it dies (even
 * by SIGKILL), so two daemons can never manage the same table.
 */
import * as path from 'node:path';
import SQLite from 'better-sqlite3';
import { failedPrecondition } from '../protocol/errors';

export function acquireDaemonLock(dataDir: string): { release(): void } {
  const file = path.join(dataDir, 'pmond.lock');
  const db = new SQLite(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder VALUES (?)').run(process.pid);
  } catch {
    db.close();
    throw failedPrecondition(`another pmond is already running on data_dir ${dataDir} (${file} is locked)`);
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
