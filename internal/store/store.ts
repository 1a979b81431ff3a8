/**
 * The process table: every row in memory, written behind to SQLite.
 *
 * Reads are served from memory. A write changes memory at once and marks the
 * row dirty; one flush per tick (setImmediate) writes every dirty row in one
 * transaction, so a burst of changes costs one commit. When the disk cannot
 * be written (full, I/O error, read-only, locked), the rows stay dirty in
 * memory, health() says so, and the flush is retried every retryMs: pmond
 * keeps supervising, and nothing is dropped without a log line.
 *
 * The store only stores: it knows nothing of processes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteAdapter, SqliteDialect, type DialectAdapter, type Migration, type MigrationProvider } from 'kysely';
import { MIGRATIONS } from '../../db/migrations';
import type { Logger } from '../logger/logger';
import { alreadyExists, failedPrecondition, internal, notFound, PmonError } from '../protocol/errors';
import { MAX_PROCESS_ID, type AppPatch, type AppRow, type Database, type GroupRow, type NewAppRow, type NewProcessRow, type ProcessPatch, type ProcessRow } from './schema';

/** The least time between two flushes (scheduleFlush). */
const FLUSH_GAP_MS = 10;

/** The most groups one owner may have. */
export const MAX_GROUPS_PER_OWNER = 256;

/** Whether what is in memory is on disk. */
export interface StoreHealth {
  /** false while writes to the database fail (some rows then live only in memory). */
  ok: boolean;
  /** ISO time writes started failing, or null. */
  since: string | null;
  /** The last write error in one line, e.g. "SQLITE_FULL: database or disk is full", or null. */
  error: string | null;
  /** Rows (changed or deleted) whose latest state is only in memory. */
  pending: number;
}

/** What the supervisor needs from storage. */
export interface Store {
  /** Every row, by id (from memory). */
  all(): Promise<ProcessRow[]>;
  /**
   * Every row by id, the stored objects themselves: no copies, for reading only (a listing of
   * 1000 processes would otherwise copy 1000 rows for each page). The store never changes a
   * stored row in place (an update stores a new object), so what this returns stays as it was.
   */
  readAll(): readonly Readonly<ProcessRow>[];
  /** One row by id, or undefined. */
  get(id: number): Promise<ProcessRow | undefined>;
  /** The lowest-indexed instance of owner uid's app named name, or undefined. */
  getByName(uid: number, name: string): Promise<ProcessRow | undefined>;
  /** Every owner's instances named name (their app's name), by id. */
  findByName(name: string): Promise<ProcessRow[]>;
  /** Insert a row; ALREADY_EXISTS if its app already has an instance of that index. */
  insert(row: NewProcessRow): Promise<ProcessRow>;
  /** Update fields of a row (updated_at is set here); NOT_FOUND if no such id; returns the new row. */
  update(id: number, patch: ProcessPatch): Promise<ProcessRow>;
  /** Delete a row (nothing if there is none). */
  remove(id: number): Promise<void>;
  /** Whether row id's latest state (or its deletion) is on disk. */
  saved(id: number): boolean;
  /**
   * A number that changes whenever a row or an app changes, or comes to be on disk: what was
   * made from rows and apps at one generation (a listing's reply) is the same at that generation.
   */
  generation(): number;
  /** Every app, by id (from memory). */
  apps(): Promise<AppRow[]>;
  /** One app by id, or undefined. */
  getApp(id: number): Promise<AppRow | undefined>;
  /** App id's stored object itself (no copy, for reading only, as readAll), or undefined. */
  readApp(id: number): Readonly<AppRow> | undefined;
  /** The app of owner uid named name, or undefined (app names are unique per owner). */
  getAppByName(uid: number, name: string): Promise<AppRow | undefined>;
  /** Insert an app; ALREADY_EXISTS if its owner already has one of that name. */
  insertApp(row: NewAppRow): Promise<AppRow>;
  /** Update fields of an app (updated_at is set here); NOT_FOUND if no such id. */
  updateApp(id: number, patch: AppPatch): Promise<AppRow>;
  /** Delete an app (nothing if there is none); its instances are the caller's to remove. */
  removeApp(id: number): Promise<void>;
  /** The instances of app id, by instance index. */
  instancesOf(appId: number): Promise<ProcessRow[]>;
  /** Whether app id's latest state (or its deletion) is on disk. */
  appSaved(id: number): boolean;
  /** Every group, by id. */
  groups(): GroupRow[];
  /**
   * Make group name of owner uid, written at once (a group is not worth keeping in memory):
   * ALREADY_EXISTS if the owner has it, FAILED_PRECONDITION past MAX_GROUPS_PER_OWNER or
   * when the database cannot be written.
   */
  insertGroup(uid: number, name: string): GroupRow;
  /** Remove a group (nothing if there is none), written at once; its members' `groups` are the caller's to change. */
  removeGroup(id: number): void;
  /**
   * Never hand out ids up to `id` (live processes still carry them, though no row does). An id
   * past MAX_PROCESS_ID (or not an integer) reserves nothing: pmond never handed it out.
   */
  reserveIdsThrough(id: number): void;
  health(): StoreHealth;
  /** Resolves once every change made so far has been attempted (committed, or kept in memory after a failed write). Never rejects. */
  settled(): Promise<void>;
  /** PRAGMA integrity_check result ('ok' when healthy). */
  integrityCheck(): Promise<string>;
  /** A last flush attempt, then close; logs what could not be written. */
  close(): Promise<void>;
}

export interface StoreOptions {
  logger: Logger;
  /** How often a failed flush is tried again, in ms (default 2000). */
  retryMs?: number;
}

/*
 * Journal mode PERSIST with synchronous = FULL, not WAL. In WAL mode a
 * committed transaction lives in data.db-wal until a checkpoint: lose that
 * side file (deleted, or data.db copied or restored alone) and committed rows
 * are gone. With a rollback journal a commit is in data.db itself once it
 * returns; the journal only holds the old pages of a transaction under way.
 * FULL fsyncs the journal before data.db is touched and data.db before the
 * commit point, so a power cut keeps every committed row. The commit point of
 * PERSIST (the journal header zeroed and fsynced) needs no directory fsync,
 * unlike DELETE (which needs synchronous = EXTRA for that); PERSIST was also
 * the fastest rollback mode here (ms per commit, 1 row / 50 rows: PERSIST
 * 1.19 / 1.73, TRUNCATE 1.38 / 2.29, DELETE 1.42 / 2.06, DELETE+EXTRA 1.68 /
 * 2.26; WAL+FULL 0.48 / 0.81 for comparison), and the journal it keeps
 * between commits lets small updates through on a full disk. Readers (pmond
 * --check) do not need write access. An existing WAL database is converted
 * at open (the mode change checkpoints it).
 */
const JOURNAL_MODE = 'persist';
/** How long a commit waits for a reader (pmond --check) before it fails as SQLITE_BUSY and is retried later. */
const BUSY_MS = 500;
/** A persisted journal keeps at most this many bytes between commits. */
const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;
/** At most one "cannot be written" warning per this many ms while writes fail. */
const WARN_EVERY_MS = 60_000;

/**
 * Every column the flush writes, in the table's order: all of ProcessRow, no
 * more (a column added to schema.ts and not here is a compile error).
 */
const COLUMN_SET: Record<keyof ProcessRow, true> = {
  id: true,
  name: true,
  process_file: true,
  args: true,
  env: true,
  cwd: true,
  user: true,
  uid: true,
  gid: true,
  status: true,
  desired: true,
  pid: true,
  pid_start_time: true,
  restarts: true,
  consecutive_failures: true,
  auto_restart: true,
  log: true,
  last_exit_code: true,
  last_signal: true,
  started_at: true,
  stopped_at: true,
  created_at: true,
  updated_at: true,
  spawn_token: true,
  pid_boot_id: true,
  cgroup: true,
  app_id: true,
  instance: true,
  spec_hash: true,
  reason: true,
};
const COLUMNS = Object.keys(COLUMN_SET) as Array<keyof ProcessRow>;
/** Columns that may hold null (all others are NOT NULL in the table). */
const NULLABLE = new Set<keyof ProcessRow>([
  'pid',
  'pid_start_time',
  'pid_boot_id',
  'last_exit_code',
  'last_signal',
  'started_at',
  'stopped_at',
  'spawn_token',
  'cgroup',
  'spec_hash',
  'reason',
]);
/** What insert() fills in for a column it was not given (the table's defaults). */
const DEFAULTS: Partial<ProcessRow> = {
  args: '[]',
  env: '{}',
  desired: 'running',
  pid: null,
  pid_start_time: null,
  pid_boot_id: null,
  restarts: 0,
  consecutive_failures: 0,
  auto_restart: 1,
  last_exit_code: null,
  last_signal: null,
  started_at: null,
  stopped_at: null,
  spawn_token: null,
  cgroup: null,
  instance: 0,
  spec_hash: null,
  reason: null,
};

/** Every column of apps, in the table's order (as COLUMN_SET for processes). */
const APP_COLUMN_SET: Record<keyof AppRow, true> = {
  id: true,
  name: true,
  uid: true,
  user: true,
  gid: true,
  spec: true,
  spec_hash: true,
  groups: true,
  dependencies: true,
  instances: true,
  source: true,
  next_run_at: true,
  created_at: true,
  updated_at: true,
};
const APP_COLUMNS = Object.keys(APP_COLUMN_SET) as Array<keyof AppRow>;
const APP_DEFAULTS: Partial<AppRow> = { groups: '[]', dependencies: '[]', instances: 1, source: 'exec', next_run_at: null };
const APP_NULLABLE = new Set<keyof AppRow>(['next_run_at']);

const now = (): string => new Date().toISOString();

/** An error in one line: "SQLITE_FULL: database or disk is full", "ENOSPC: no space left on device, open ...". */
export function describeError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
  return typeof code === 'string' && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

const codeOf = (e: unknown): string => String((e as { code?: unknown } | null)?.code ?? '');
const isFull = (e: unknown): boolean => codeOf(e) === 'SQLITE_FULL' || codeOf(e) === 'ENOSPC';

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** SQLite has transactional DDL: every pending migration runs in one transaction, so a failed one changes nothing. */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
class MigratingSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }
}

/** Why a database cannot be used, in one line naming it; pmond never replaces it. */
function refuse(file: string, what: string): never {
  throw failedPrecondition(`database ${file} ${what}; pmond will not replace it: restore a backup or move it aside`);
}

/** PRAGMA quick_check of an open database: refuse a corrupt or foreign file with one line. */
function quickCheck(db: SQLite.Database, file: string): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'SQLITE_NOTADB') refuse(file, `is not an SQLite database (${describeError(e)})`);
    if (code.startsWith('SQLITE_CORRUPT')) refuse(file, `is corrupt (quick_check: ${describeError(e)})`);
    throw failedPrecondition(`database ${file} cannot be read (${describeError(e)})`);
  }
  if (problems.length === 1 && problems[0] === 'ok') return;
  // One problem a line, without the "*** in database main ***" headings.
  problems = problems.flatMap((p) => p.split('\n')).filter((p) => p.trim() && !p.startsWith('***'));
  const shown = problems.slice(0, 3).join('; ');
  const more = problems.length > 3 ? ` and ${problems.length - 3} more` : '';
  refuse(file, `is corrupt (quick_check: ${shown.length > 300 ? `${shown.slice(0, 297)}...` : shown}${more})`);
}

/** Names of tables in the database. */
function tables(db: SQLite.Database): Set<string> {
  return new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
}

/** Run the pending migrations (all in one transaction); none pending means no write at all. */
async function migrate(sqlite: SQLite.Database, file: string, dataDir: string, verb: 'created' | 'migrated'): Promise<void> {
  const done = tables(sqlite).has('kysely_migration')
    ? new Set(sqlite.prepare('SELECT name FROM kysely_migration').pluck().all() as string[])
    : new Set<string>();
  const unknown = [...done].filter((n) => !(n in MIGRATIONS));
  if (unknown.length) {
    throw failedPrecondition(`database ${file} was made by a newer pmond (migration ${unknown.join(', ')} unknown to this one); pmond will not change it`);
  }
  if (Object.keys(MIGRATIONS).every((n) => done.has(n))) return;
  const db = new Kysely<Database>({ dialect: new MigratingSqliteDialect({ database: sqlite }) });
  // Not destroyed: that would close the better-sqlite3 connection the store goes on using.
  const { error, results } = await new Migrator({ db, provider: new StaticProvider() }).migrateToLatest();
  if (!error) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
  if (isFull(error)) {
    throw failedPrecondition(`database ${file} cannot be ${verb === 'migrated' ? `migrated (${failed})` : verb}: data_dir ${dataDir} is full (${describeError(error)})`);
  }
  throw internal(`database ${file}: migration ${failed} failed: ${describeError(error)}`);
}

/** Open an SQLite file; when SQLite says only "unable to open database file", ask the OS why. */
function openFile(file: string, dataDir: string, create: boolean): SQLite.Database {
  try {
    return new SQLite(file, { timeout: BUSY_MS, fileMustExist: !create });
  } catch (e) {
    let cause: unknown = e;
    try {
      fs.closeSync(fs.openSync(file, create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY, 0o600));
    } catch (os) {
      cause = os;
    }
    const why = describeError(cause);
    throw failedPrecondition(`database ${file} cannot be ${create ? 'created' : 'opened'}: ${isFull(cause) ? `data_dir ${dataDir} is full (${why})` : why}`);
  }
}

const unlinkQuiet = (f: string): void => fs.rmSync(f, { force: true });

/**
 * Make data_dir/data.db: built and migrated as data.db.new, then linked into
 * place. A data.db is thus never a half-made file, and an empty or short one
 * is always damage (refused), never "a new database".
 */
async function createDatabase(file: string, dataDir: string): Promise<void> {
  const tmp = `${file}.new`;
  const leftovers = [tmp, `${tmp}-journal`, `${tmp}-wal`, `${tmp}-shm`];
  leftovers.forEach(unlinkQuiet); // of a creation that failed (full disk, crash)
  const db = openFile(tmp, dataDir, true);
  try {
    fs.chmodSync(tmp, 0o600);
    db.pragma(`journal_mode = ${JOURNAL_MODE}`);
    db.pragma('synchronous = FULL');
    await migrate(db, file, dataDir, 'created');
    db.close();
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') throw e;
    }
    leftovers.forEach(unlinkQuiet);
    const dir = fs.openSync(dataDir, 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch (e) {
    if (db.open) db.close();
    leftovers.forEach(unlinkQuiet);
    if (e instanceof PmonError) throw e;
    throw failedPrecondition(`database ${file} cannot be created: ${isFull(e) ? `data_dir ${dataDir} is full (${describeError(e)})` : describeError(e)}`);
  }
}

/**
 * Open data_dir/data.db (made, mode 0600, if there is none): check it
 * (quick_check), migrate it, load every row. A corrupt or empty database,
 * or a file that is not one, is refused (FAILED_PRECONDITION), never
 * replaced. A database that can be read but not written (full disk) opens:
 * the store then keeps changes in memory until it can write them.
 */
export async function openStore(dataDir: string, opts: StoreOptions): Promise<Store> {
  const file = path.join(dataDir, 'data.db');
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw failedPrecondition(`data_dir ${dataDir} cannot be created (${describeError(e)})`);
  }
  if (!fs.existsSync(file)) await createDatabase(file, dataDir);
  else if (fs.statSync(file).size === 0) refuse(file, 'is empty (0 bytes)');
  const sqlite = openFile(file, dataDir, false);
  try {
    try {
      fs.chmodSync(file, 0o600);
    } catch {
      /* a read-only file system: reading is all that may be possible anyway */
    }
    quickCheck(sqlite, file);
    const journal = setJournal(sqlite, file, opts.logger);
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    await migrate(sqlite, file, dataDir, 'migrated');
    const rows = sqlite.prepare('SELECT * FROM processes ORDER BY id').all() as ProcessRow[];
    const apps = sqlite.prepare('SELECT * FROM apps ORDER BY id').all() as AppRow[];
    const seq = (sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'processes'").pluck().get() as number | undefined) ?? 0;
    const appSeq = (sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'apps'").pluck().get() as number | undefined) ?? 0;
    const groups = sqlite.prepare('SELECT * FROM groups ORDER BY id').all() as GroupRow[];
    return new MemoryStore(sqlite, file, rows, seq, apps, appSeq, groups, journal, opts);
  } catch (e) {
    try {
      sqlite.close();
    } catch {
      /* already failing */
    }
    throw e;
  }
}

/** Put the connection in JOURNAL_MODE; false (logged) if it could not be, e.g. a WAL database on a full disk. */
function setJournal(db: SQLite.Database, file: string, logger: Logger): boolean {
  const was = String(db.pragma('journal_mode', { simple: true }));
  if (was === JOURNAL_MODE) return true;
  try {
    const got = String(db.pragma(`journal_mode = ${JOURNAL_MODE}`, { simple: true }));
    if (got === JOURNAL_MODE) return true;
    logger.warn(`database ${file} stays in journal mode ${got} for now (another connection has it open); tried again after each write`);
  } catch (e) {
    logger.warn(`database ${file} stays in journal mode ${was} for now (${describeError(e)}); tried again after each write`);
  }
  return false;
}

/**
 * A full `PRAGMA integrity_check` of data_dir/data.db, read-only (works while
 * a pmond runs): 'ok', or the problems, one per line. After a crash in the
 * middle of a commit the journal is "hot": a read-only connection cannot roll
 * it back (SQLITE_READONLY_ROLLBACK), so the check then opens the file for
 * writing and lets SQLite roll the unfinished commit back first, exactly as
 * pmond does when it starts; nothing else is written.
 */
export function checkDatabase(dataDir: string): { ok: boolean; text: string } {
  const file = path.join(dataDir, 'data.db');
  let db: SQLite.Database | undefined;
  try {
    if (fs.statSync(file).size === 0) return { ok: false, text: `${file}: empty (0 bytes)` };
    db = new SQLite(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    let rows: string[];
    try {
      rows = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_READONLY_ROLLBACK') throw e;
      db.close();
      db = new SQLite(file, { fileMustExist: true, timeout: 5000 });
      rows = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    }
    const ok = rows.length === 1 && rows[0] === 'ok';
    return { ok, text: ok ? 'ok' : `${file}:\n${rows.join('\n')}` };
  } catch (e) {
    return { ok: false, text: `${file}: ${describeError(e)}` };
  } finally {
    try {
      db?.close();
    } catch {
      /* nothing to close */
    }
  }
}

class MemoryStore implements Store {
  /** Every row, by id. */
  private readonly rows = new Map<number, ProcessRow>();
  /** `${app_id}/${instance}` → id. */
  private readonly byInstance = new Map<string, number>();
  /** app id → the ids of its instances (instancesOf without a scan of every row: a cron firing asks it). */
  private readonly byApp = new Map<number, Set<number>>();
  /** Ids whose latest state (a row, or its deletion) is not on disk yet. */
  private readonly dirty = new Set<number>();
  /** Every app, by id. */
  private readonly appRows = new Map<number, AppRow>();
  private readonly groupRows = new Map<number, GroupRow>();
  private readonly groupPut: SQLite.Statement;
  private readonly groupDel: SQLite.Statement;
  /** `${uid}/${name}` → app id. */
  private readonly appByName = new Map<string, number>();
  /** App ids whose latest state is not on disk yet. */
  private readonly appDirty = new Set<number>();
  private nextAppId: number;
  private nextId: number;
  /** The highest id sqlite_sequence holds on disk. */
  private seqOnDisk: number;
  /** sqlite_sequence held what no id can be (1e300, 2^53): written down to nextId - 1 at the next flush. */
  private seqMend = false;
  /** generation(): bumped by every change and every flush that wrote something. */
  private gen = 0;
  /** The flush to come, if one is scheduled (setImmediate, or a timer while flushes are throttled). */
  private immediate?: { cancel(): void };
  /** When the last flush ended (ms, monotonic enough: Date.now). */
  private lastFlush = 0;
  private retryTimer?: NodeJS.Timeout;
  private waiters: Array<() => void> = [];
  private failure: { since: string; error: string; lastWarn: number } | null = null;
  private closed = false;
  private readonly retryMs: number;
  private readonly logger: Logger;
  private readonly del: SQLite.Statement;
  private readonly put: SQLite.Statement;
  private readonly seqUpdate: SQLite.Statement;
  private readonly seqInsert: SQLite.Statement;
  private readonly write: (ids: number[], appIds: number[]) => void;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly file: string,
    rows: ProcessRow[],
    seq: number,
    apps: AppRow[],
    appSeq: number,
    groups: GroupRow[],
    /** Whether the connection is in JOURNAL_MODE (else it is tried again after each write). */
    private journalOk: boolean,
    opts: StoreOptions,
  ) {
    this.logger = opts.logger;
    this.retryMs = opts.retryMs ?? 2000;
    let maxId = 0;
    for (const r of rows) {
      this.rows.set(r.id, r);
      this.byInstance.set(key(r.app_id, r.instance), r.id);
      this.indexApp(r.app_id, r.id, true);
      maxId = Math.max(maxId, r.id);
    }
    let maxApp = Number.isSafeInteger(appSeq) && appSeq >= 0 && appSeq <= MAX_PROCESS_ID ? appSeq : 0;
    for (const a of apps) {
      this.appRows.set(a.id, a);
      this.appByName.set(key(a.uid, a.name), a.id);
      maxApp = Math.max(maxApp, a.id);
    }
    this.nextAppId = maxApp + 1;
    for (const g of groups) this.groupRows.set(g.id, g);
    this.groupPut = sqlite.prepare('INSERT INTO groups (name, uid) VALUES (?, ?) RETURNING *');
    this.groupDel = sqlite.prepare('DELETE FROM groups WHERE id = ?');
    // A sequence past any id pmond hands out was put there by an older pmond that believed a
    // forged marker (its id reserved): taken as it is, every insert would fail for ever.
    if (Number.isSafeInteger(seq) && seq >= 0 && seq <= MAX_PROCESS_ID) {
      maxId = Math.max(maxId, seq);
    } else {
      this.seqMend = true;
      this.logger.warn(`database ${file}: sqlite_sequence holds ${seq}, which no process id can be; ids go on after the highest row (${maxId})`);
    }
    this.nextId = maxId + 1;
    this.seqOnDisk = this.seqMend ? -1 : maxId;
    this.del = sqlite.prepare('DELETE FROM processes WHERE id = ?');
    this.put = sqlite.prepare(`INSERT INTO processes (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
    this.seqUpdate = sqlite.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'processes' AND seq < ?");
    this.seqInsert = sqlite.prepare("INSERT INTO sqlite_sequence (name, seq) SELECT 'processes', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'processes')");
    const seqSet = sqlite.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'processes'");
    const appDel = sqlite.prepare('DELETE FROM apps WHERE id = ?');
    const appPut = sqlite.prepare(`INSERT INTO apps (${APP_COLUMNS.join(', ')}) VALUES (${APP_COLUMNS.map((c) => `@${c}`).join(', ')})`);
    // Every dirty row is deleted first, then the living ones inserted whole: the batch never
    // trips on a UNIQUE constraint halfway (a name freed and taken again, two rows renamed).
    // Apps and their instances go in the same transaction: both or neither.
    this.write = sqlite.transaction((ids: number[], appIds: number[]) => {
      for (const id of ids) this.del.run(id);
      for (const id of appIds) appDel.run(id);
      for (const id of appIds) {
        const a = this.appRows.get(id);
        if (a) appPut.run(a);
      }
      for (const id of ids) {
        const r = this.rows.get(id);
        if (r) this.put.run(r);
      }
      const last = this.nextId - 1;
      if (this.seqMend) seqSet.run(last);
      if (last > this.seqOnDisk) {
        this.seqUpdate.run(last, last);
        this.seqInsert.run(last);
      }
    });
    if (this.seqMend) this.scheduleFlush();
  }

  async all(): Promise<ProcessRow[]> {
    return this.readAll().map((r) => ({ ...r }));
  }

  readAll(): readonly Readonly<ProcessRow>[] {
    return [...this.rows.values()].sort((a, b) => a.id - b.id);
  }

  async get(id: number): Promise<ProcessRow | undefined> {
    const r = this.rows.get(id);
    return r && { ...r };
  }

  async getByName(uid: number, name: string): Promise<ProcessRow | undefined> {
    const app = this.appByName.get(key(uid, name));
    return app === undefined ? undefined : (await this.instancesOf(app))[0];
  }

  async findByName(name: string): Promise<ProcessRow[]> {
    return (await this.all()).filter((r) => r.name === name);
  }

  async insert(row: NewProcessRow): Promise<ProcessRow> {
    this.assertOpen();
    const id = row.id ?? this.nextId;
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_PROCESS_ID) throw failedPrecondition(`no process id is left (the next would be ${id}, past ${MAX_PROCESS_ID})`);
    if (this.rows.has(id)) throw alreadyExists(`process ${id} already exists`);
    if (this.byInstance.has(key(row.app_id, row.instance ?? 0))) throw alreadyExists(`process "${row.name}" instance ${row.instance ?? 0} already exists`);
    const t = now();
    const given: Record<string, unknown> = { ...DEFAULTS, ...defined(row), id, created_at: row.created_at ?? t, updated_at: row.updated_at ?? t };
    // In the table's column order, as a row read from disk.
    const full = {} as Record<string, unknown>;
    for (const c of COLUMNS) full[c] = given[c];
    check(full as ProcessRow, given);
    this.rows.set(id, full as ProcessRow);
    this.byInstance.set(key(row.app_id, row.instance ?? 0), id);
    this.indexApp(row.app_id, id, true);
    this.nextId = Math.max(this.nextId, id + 1);
    this.touch(id);
    return { ...(full as ProcessRow) };
  }

  reserveIdsThrough(id: number): void {
    if (!Number.isSafeInteger(id) || id > MAX_PROCESS_ID || id < this.nextId) return;
    this.nextId = id + 1;
    this.scheduleFlush(); // sqlite_sequence is written with the next flush
  }

  async update(id: number, patch: ProcessPatch): Promise<ProcessRow> {
    this.assertOpen();
    const cur = this.rows.get(id);
    if (!cur) throw notFound(`process ${id} not found`);
    const { id: _ignored, ...rest } = defined(patch);
    const next = { ...cur, ...rest, updated_at: now() } as ProcessRow;
    check(next);
    const oldKey = key(cur.app_id, cur.instance);
    const newKey = key(next.app_id, next.instance);
    if (newKey !== oldKey) {
      if (this.byInstance.has(newKey)) throw alreadyExists(`process "${next.name}" instance ${next.instance} already exists`);
      this.byInstance.delete(oldKey);
      this.byInstance.set(newKey, id);
    }
    if (next.app_id !== cur.app_id) {
      this.indexApp(cur.app_id, id, false);
      this.indexApp(next.app_id, id, true);
    }
    this.rows.set(id, next);
    this.touch(id);
    return { ...next };
  }

  async remove(id: number): Promise<void> {
    this.assertOpen();
    const cur = this.rows.get(id);
    if (!cur) return;
    this.rows.delete(id);
    this.byInstance.delete(key(cur.app_id, cur.instance));
    this.indexApp(cur.app_id, id, false);
    this.touch(id);
  }

  async apps(): Promise<AppRow[]> {
    return [...this.appRows.values()].sort((a, b) => a.id - b.id).map((r) => ({ ...r }));
  }

  async getApp(id: number): Promise<AppRow | undefined> {
    const a = this.appRows.get(id);
    return a && { ...a };
  }

  readApp(id: number): Readonly<AppRow> | undefined {
    return this.appRows.get(id);
  }

  generation(): number {
    return this.gen;
  }

  async getAppByName(uid: number, name: string): Promise<AppRow | undefined> {
    const id = this.appByName.get(key(uid, name));
    return id === undefined ? undefined : this.getApp(id);
  }

  async insertApp(row: NewAppRow): Promise<AppRow> {
    this.assertOpen();
    const id = row.id ?? this.nextAppId;
    if (!Number.isSafeInteger(id) || id < 1 || id > MAX_PROCESS_ID) throw failedPrecondition(`no app id is left (the next would be ${id})`);
    if (this.appRows.has(id)) throw alreadyExists(`app ${id} already exists`);
    if (this.appByName.has(key(row.uid, row.name))) throw alreadyExists(`app "${row.name}" already exists`);
    const t = now();
    const given: Record<string, unknown> = { ...APP_DEFAULTS, ...defined(row), id, created_at: row.created_at ?? t, updated_at: row.updated_at ?? t };
    const full = {} as Record<string, unknown>;
    for (const c of APP_COLUMNS) full[c] = given[c];
    checkApp(full as AppRow, given);
    this.appRows.set(id, full as AppRow);
    this.appByName.set(key(row.uid, row.name), id);
    this.nextAppId = Math.max(this.nextAppId, id + 1);
    this.touchApp(id);
    return { ...(full as AppRow) };
  }

  async updateApp(id: number, patch: AppPatch): Promise<AppRow> {
    this.assertOpen();
    const cur = this.appRows.get(id);
    if (!cur) throw notFound(`app ${id} not found`);
    const { id: _ignored, ...rest } = defined(patch);
    const next = { ...cur, ...rest, updated_at: now() } as AppRow;
    checkApp(next);
    const oldKey = key(cur.uid, cur.name);
    const newKey = key(next.uid, next.name);
    if (newKey !== oldKey) {
      if (this.appByName.has(newKey)) throw alreadyExists(`app "${next.name}" already exists`);
      this.appByName.delete(oldKey);
      this.appByName.set(newKey, id);
    }
    this.appRows.set(id, next);
    this.touchApp(id);
    return { ...next };
  }

  async removeApp(id: number): Promise<void> {
    this.assertOpen();
    const cur = this.appRows.get(id);
    if (!cur) return;
    this.appRows.delete(id);
    this.appByName.delete(key(cur.uid, cur.name));
    this.touchApp(id);
  }

  groups(): GroupRow[] {
    return [...this.groupRows.values()].sort((a, b) => a.id - b.id).map((g) => ({ ...g }));
  }

  insertGroup(uid: number, name: string): GroupRow {
    this.assertOpen();
    const mine = [...this.groupRows.values()].filter((g) => g.uid === uid);
    if (mine.some((g) => g.name === name)) throw alreadyExists(`group "${name}" already exists`);
    if (mine.length >= MAX_GROUPS_PER_OWNER) throw failedPrecondition(`uid ${uid} has ${mine.length} groups, the most one owner may have`);
    let row: GroupRow;
    try {
      row = this.groupPut.get(name, uid) as GroupRow;
    } catch (e) {
      throw failedPrecondition(`group "${name}" cannot be saved: database ${this.file} cannot be written (${describeError(e)})`);
    }
    this.groupRows.set(row.id, row);
    return { ...row };
  }

  removeGroup(id: number): void {
    this.assertOpen();
    const g = this.groupRows.get(id);
    if (!g) return;
    try {
      this.groupDel.run(id);
    } catch (e) {
      throw failedPrecondition(`group "${g.name}" cannot be removed: database ${this.file} cannot be written (${describeError(e)})`);
    }
    this.groupRows.delete(id);
  }

  async instancesOf(appId: number): Promise<ProcessRow[]> {
    const out: ProcessRow[] = [];
    for (const id of this.byApp.get(appId) ?? []) {
      const r = this.rows.get(id);
      if (r) out.push({ ...r });
    }
    return out.sort((a, b) => a.instance - b.instance);
  }

  private indexApp(appId: number, id: number, add: boolean): void {
    let ids = this.byApp.get(appId);
    if (add) {
      if (!ids) this.byApp.set(appId, (ids = new Set()));
      ids.add(id);
    } else if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.byApp.delete(appId);
    }
  }

  appSaved(id: number): boolean {
    return !this.appDirty.has(id);
  }

  saved(id: number): boolean {
    return !this.dirty.has(id);
  }

  health(): StoreHealth {
    const f = this.failure;
    return { ok: f === null, since: f?.since ?? null, error: f?.error ?? null, pending: this.dirty.size + this.appDirty.size };
  }

  settled(): Promise<void> {
    // No flush under way: every change was written, or is kept in memory after a failed write.
    if (this.immediate === undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async integrityCheck(): Promise<string> {
    try {
      const rows = this.sqlite.pragma('integrity_check') as Array<{ integrity_check: string }>;
      return rows.map((r) => r.integrity_check).join('; ');
    } catch (e) {
      return `integrity_check failed: ${describeError(e)}`;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.immediate?.cancel();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.immediate = this.retryTimer = undefined;
    this.closed = true;
    this.flush();
    if (this.appDirty.size) {
      const named = [...this.appDirty].sort((a, b) => a - b).slice(0, 20).map((id) => {
        const a = this.appRows.get(id);
        return a ? `${id} (${a.user}/${a.name})` : `${id} (deleted)`;
      });
      this.log('error', `database ${this.file} cannot be written; the latest definition of ${this.appDirty.size} apps is lost at shutdown: ${named.join(', ')}`);
    }
    if (this.dirty.size) {
      const lost = [...this.dirty].sort((a, b) => a - b);
      const named = lost.slice(0, 20).map((id) => {
        const r = this.rows.get(id);
        return r ? `${id} (${r.user}/${r.name})` : `${id} (deleted)`;
      });
      const more = lost.length > 20 ? ` and ${lost.length - 20} more` : '';
      this.log('error', `database ${this.file} cannot be written (${this.failure?.error ?? 'unknown error'}); the latest state of ${lost.length} rows is lost at shutdown: ${named.join(', ')}${more}`);
    }
    try {
      this.sqlite.close();
    } catch (e) {
      this.log('error', `database ${this.file}: close failed: ${describeError(e)}`);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw internal('the process table is closed (pmond is shutting down)');
  }

  /** App id changed: mark it dirty and make sure a flush comes. */
  private touchApp(id: number): void {
    this.gen++;
    this.appDirty.add(id);
    this.scheduleFlush();
  }

  /** Row id changed: mark it dirty and make sure a flush comes. */
  private touch(id: number): void {
    this.gen++;
    this.dirty.add(id);
    this.scheduleFlush();
  }

  /** A flush at the end of this turn of the event loop, unless one is due already. */
  private scheduleFlush(): void {
    // While writes fail, the retry timer flushes: no failing commit per change.
    if (this.failure || this.immediate || this.closed) return;
    // At most one flush per FLUSH_GAP_MS: each commit's fsyncs block pmond's one thread for
    // milliseconds, so a burst of changes (17 cron runs in one second, a restart storm) is one
    // flush, not one per change. Alone, a change is written at the end of this turn as before.
    const run = (): void => {
      this.immediate = undefined;
      this.flush();
      this.lastFlush = Date.now();
    };
    const wait = this.lastFlush + FLUSH_GAP_MS - Date.now();
    if (wait > 0) {
      const t = setTimeout(run, wait);
      this.immediate = { cancel: () => clearTimeout(t) };
    } else {
      const im = setImmediate(run);
      this.immediate = { cancel: () => clearImmediate(im) };
    }
  }

  /** Write every dirty row in one transaction. Never throws. */
  private flush(): void {
    try {
      if (this.dirty.size === 0 && this.appDirty.size === 0 && this.nextId - 1 <= this.seqOnDisk) {
        this.recovered(0);
        return;
      }
      const ids = [...this.dirty];
      const appIds = [...this.appDirty];
      try {
        this.write(ids, appIds);
      } catch (e) {
        this.failed(e);
        return;
      }
      this.dirty.clear();
      this.appDirty.clear();
      this.gen++; // the rows written are saved now
      if (this.seqMend) this.log('info', `database ${this.file}: sqlite_sequence mended to ${this.nextId - 1}`);
      this.seqMend = false;
      this.seqOnDisk = Math.max(this.seqOnDisk, this.nextId - 1);
      this.recovered(ids.length + appIds.length);
      if (!this.journalOk && setJournal(this.sqlite, this.file, silent)) {
        this.journalOk = true;
        this.log('info', `database ${this.file} now in journal mode ${JOURNAL_MODE}`);
      }
    } catch (e) {
      // Nothing above should throw; if it does, the rows stay dirty and the retry comes.
      this.failed(e);
    } finally {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  private failed(e: unknown): void {
    const error = describeError(e);
    const t = Date.now();
    if (!this.failure) {
      this.failure = { since: new Date(t).toISOString(), error, lastWarn: 0 };
    }
    const f = this.failure;
    f.error = error;
    if (t - f.lastWarn >= WARN_EVERY_MS && !this.closed) {
      f.lastWarn = t;
      this.log(
        'warn',
        `database ${this.file} cannot be written (${error}) since ${f.since}; ${this.dirty.size} rows kept in memory, pmond keeps supervising`,
      );
    }
    if (!this.closed && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, this.retryMs);
      this.retryTimer.unref?.();
    }
  }

  private recovered(saved: number): void {
    if (!this.failure) return;
    const since = this.failure.since;
    this.failure = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.log('info', `database ${this.file} writable again (failing since ${since}); ${saved} rows saved`);
  }

  private log(level: 'error' | 'warn' | 'info', msg: string): void {
    try {
      this.logger[level](msg);
    } catch {
      /* the logger must not make a write fail */
    }
  }
}

/** A logger for retries of the journal mode: the first attempt already said why. */
const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, close: async () => {} };

const key = (a: number, b: string | number): string => `${a}/${b}`;

/** obj without its undefined values (an absent field keeps its value or default). */
function defined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Refuse, at once, a row SQLite could not store: a wrong type or a null in a
 * NOT NULL column would otherwise fail every later flush and hold back every
 * other row with it.
 */
function check(row: ProcessRow, given: object = row): void {
  for (const c of COLUMNS) {
    const v = row[c] as unknown;
    if (v === null || v === undefined) {
      if (!NULLABLE.has(c)) throw internal(`process ${row.id}: ${c} cannot be empty`);
      continue;
    }
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string') {
      throw internal(`process ${row.id}: ${c} cannot hold ${typeof v === 'number' ? String(v) : `a ${typeof v}`}`);
    }
  }
  for (const k of Object.keys(given)) if (!(k in COLUMN_SET)) throw internal(`process ${row.id}: no column ${k}`);
}

/** check() for an app row. */
function checkApp(row: AppRow, given: object = row): void {
  for (const c of APP_COLUMNS) {
    const v = row[c] as unknown;
    if (v === null || v === undefined) {
      if (!APP_NULLABLE.has(c)) throw internal(`app ${row.id}: ${c} cannot be empty`);
      continue;
    }
    if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string') {
      throw internal(`app ${row.id}: ${c} cannot hold ${typeof v === 'number' ? String(v) : `a ${typeof v}`}`);
    }
  }
  for (const k of Object.keys(given)) if (!(k in APP_COLUMN_SET)) throw internal(`app ${row.id}: no column ${k}`);
}
