/**
 * The Go pmon3's database (data.db: SQLite through gorm). Tables as gorm names them from
 * model/modal.go: `processes` (Process: log, name, process_file, args, env_vars, username,
 * memory_usage, cpu_usage, dependencies, status, id, pid, uid, gid, auto_restart, created_at,
 * updated_at), `groups` (Group with gorm.Model: id, name, created_at, updated_at, deleted_at)
 * and the many2many join table `process_groups` (process_id, group_id). Opened read-only; the
 * reader gets a path, not text. Each row is run by the Go pmond as pmon3-go.ts says (args on
 * single spaces, env_vars on whitespace, in its file's directory); `dependencies` is one string
 * of names separated by spaces; a process whose status is stopped (3) is not restarted by the Go
 * pmond's monitor: autostart false. Runtime state (pid, usage, timestamps) is not imported.
 */
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

/**
 * better-sqlite3, loaded when a data.db is read (only then), from the tree the CLI runs from:
 * never bundled into the CLI's start-up snapshot (a native module cannot be), and the snapshot
 * sets process.argv[1] to the tree's bin/pmon3.js.
 */
function sqlite(): typeof Database {
  return createRequire(process.argv[1] ?? __filename)('better-sqlite3') as typeof Database;
}
import { invalidArgument } from '../protocol/errors';
import { type AppEntry, type ImportOptions, type ImportResult, type ImportWarning } from './types';
import { compact } from './located';
import { goArgs, goCwd, goEnv } from './pmon3-go';

const HEADER = 'SQLite format 3\u0000';
/** The columns that tell the Go schema from ours (which has env, user, cwd). */
const GO_COLUMNS = ['name', 'process_file', 'args', 'env_vars', 'username', 'dependencies', 'auto_restart', 'status', 'log'];
/** model.ProcessStatus: iota from queued. */
const STATUS_STOPPED = 3;
/** Columns read into the entry. */
const MAPPED = new Set([...GO_COLUMNS]);
/** Columns of runtime state, and why they are not imported. */
const STATE: Readonly<Record<string, string>> = {
  id: 'the Go pmond\'s row id; not imported (pmon3 keys apps by name)',
  pid: 'runtime state of the Go pmond; not imported',
  uid: 'derived from username at each start by the Go pmond; not imported (user is)',
  gid: 'derived from username at each start by the Go pmond; not imported (user is)',
  memory_usage: 'runtime state of the Go pmond; not imported',
  cpu_usage: 'runtime state of the Go pmond; not imported',
  created_at: 'runtime state of the Go pmond; not imported',
  updated_at: 'runtime state of the Go pmond; not imported',
};

interface Row {
  id: number;
  name: string | null;
  process_file: string | null;
  args: string | null;
  env_vars: string | null;
  username: string | null;
  log: string | null;
  dependencies: string | null;
  auto_restart: number | string | null;
  status: number | null;
}

function columns(db: Database.Database, table: string): string[] {
  return (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((c) => c.name);
}

/** `head` is the file's start as read (at least its first 16 bytes); a match opens it read-only to check the schema. */
export function detectPmon3GoDb(head: string, file: string): boolean {
  if (!head.startsWith(HEADER)) return false;
  try {
    const db = new (sqlite())(file, { readonly: true, fileMustExist: true });
    try {
      const cols = new Set(columns(db, 'processes'));
      return GO_COLUMNS.every((c) => cols.has(c));
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

export function importPmon3GoDb(file: string, _opts: ImportOptions): ImportResult {
  let db: Database.Database;
  try {
    db = new (sqlite())(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw invalidArgument(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return read(db, file);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'INVALID_ARGUMENT') throw e;
    // Not a database, or locked beyond reading: one line, as any malformed input.
    throw invalidArgument(`${file}: expected the Go pmon3's data.db (SQLite): ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

function read(db: Database.Database, file: string): ImportResult {
  const cols = columns(db, 'processes');
  const missing = GO_COLUMNS.filter((c) => !cols.includes(c));
  if (missing.length) throw invalidArgument(`${file}: expected the Go pmon3's processes table (no column ${missing.join(', ')})`);
  const warnings: ImportWarning[] = [];
  const rows = db.prepare(`SELECT ${['id', ...GO_COLUMNS].join(', ')} FROM processes ORDER BY id`).all() as Row[];
  const groupsOf = groupReader(db);
  for (const c of cols) {
    if (MAPPED.has(c)) continue;
    warnings.push({ file, field: `processes.${c}`, message: STATE[c] ?? 'not a column of the Go pmon3 this reader knows; ignored' });
  }
  const apps = rows.map((r): AppEntry => {
    const label = `processes[${r.name ?? `id=${r.id}`}]`;
    if (!r.name) throw invalidArgument(`${file}: processes row id=${r.id}: expected a name`);
    if (!r.process_file) throw invalidArgument(`${file}: ${label}.process_file: expected the file to run`);
    const deps = (r.dependencies ?? '').split(' ').filter((d) => d !== '');
    const groups = groupsOf(r.id);
    if (!r.username) warnings.push({ file, field: `${label}.username`, message: 'empty: the Go pmond ran it as its own user; here it runs as whoever applies the file' });
    return compact<AppEntry>({
      name: r.name,
      exec: r.process_file,
      args: goArgs(r.args ?? undefined),
      cwd: goCwd(r.process_file),
      env: r.env_vars ? goEnv(r.env_vars, (word, why) => warnings.push({ file, field: `${label}.env_vars`, message: `${JSON.stringify(word)}: ${why}; ignored` })) : undefined,
      user: r.username || undefined,
      groups: groups.length ? groups : undefined,
      dependencies: deps.length ? deps : undefined,
      autostart: r.status === STATUS_STOPPED ? false : undefined,
      // gorm's bool: 1/0 (a text true/false if another driver wrote it).
      restart: r.auto_restart === 0 || r.auto_restart === '0' || r.auto_restart === 'false' ? 'never' : undefined,
      log: r.log || undefined,
    });
  });
  return { format: 'pmon3-go-db', apps, warnings, files: [file] };
}

/** The group names of a process id, from process_groups (absent in Go versions before groups). */
function groupReader(db: Database.Database): (id: number) => string[] {
  const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>).map((t) => t.name));
  if (!tables.has('process_groups') || !tables.has('groups')) return () => [];
  // gorm.Model soft-deletes; the Go pmon3 deletes groups unscoped, but a soft-deleted row is gone all the same.
  const live = columns(db, 'groups').includes('deleted_at') ? 'AND g.deleted_at IS NULL' : '';
  const q = db.prepare(`SELECT g.name FROM process_groups pg JOIN groups g ON g.id = pg.group_id WHERE pg.process_id = ? ${live} ORDER BY g.id`);
  return (id) => (q.all(id) as Array<{ name: string }>).map((g) => g.name);
}
