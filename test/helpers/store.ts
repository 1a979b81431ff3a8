/** For tests of the store: a recording logger, realistic rows, and looks at the file from outside. */
import * as fs from 'node:fs';
import SQLite from 'better-sqlite3';
import type { Logger } from '../../internal/logger/logger';
import { NEVER_RAN, type NewProcessRow, type ProcessRow } from '../../internal/store/schema';

export interface Line {
  level: string;
  msg: string;
}

/** A Logger that keeps its lines. */
export function recordingLogger(): Logger & { lines: Line[]; at(level: string): string[] } {
  const lines: Line[] = [];
  const put = (level: string) => (msg: string) => void lines.push({ level, msg });
  return {
    lines,
    at: (level) => lines.filter((l) => l.level === level).map((l) => l.msg),
    error: put('error'),
    warn: put('warn'),
    info: put('info'),
    debug: put('debug'),
    close: async () => {},
  };
}

/** One app id per `${uid}/${name}`, so that rows of one owner and name are instance 0 of one app (as pmond makes them). */
const appIds = new Map<string, number>();
function appIdOf(uid: number, name: string): number {
  const k = `${uid}/${name}`;
  let id = appIds.get(k);
  if (id === undefined) appIds.set(k, (id = appIds.size + 1));
  return id;
}

/** A row as the supervisor inserts it: instance 0 of its owner's app of that name. */
export function newRow(name: string, over: Partial<NewProcessRow> = {}): NewProcessRow {
  return {
    app_id: appIdOf(over.uid ?? 0, name),
    name,
    process_file: '/usr/bin/node',
    args: JSON.stringify(['server.js', '--port', '8080']),
    env: JSON.stringify({ NODE_ENV: 'production', PATH: '/usr/local/bin:/usr/bin:/bin' }),
    cwd: '/srv/app',
    user: 'root',
    uid: 0,
    gid: 0,
    status: 'queued',
    desired: 'running',
    auto_restart: 1,
    log: `/var/log/pmond/${name}.log`,
    ...NEVER_RAN,
    ...over,
  };
}

/**
 * The file change counter of an SQLite database (header offset 24): in a
 * rollback journal mode it goes up by one per committed write transaction.
 */
export function commits(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 24);
    return b.readUInt32BE(0);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every row of data.db, read by a connection of its own (read-only). */
export function rowsOnDisk(file: string): ProcessRow[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM processes ORDER BY id').all() as ProcessRow[];
  } finally {
    db.close();
  }
}

/** Record every unhandled rejection and uncaught exception until stop(). */
export function watchUnhandled(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onRejection = (e: unknown): void => void errors.push(e);
  const onException = (e: unknown): void => void errors.push(e);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    errors,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
