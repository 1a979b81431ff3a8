/**
 * The process table in SQLite (better-sqlite3 under kysely), WAL mode,
 * migrated on open. The store only stores: it knows nothing of processes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import { MIGRATIONS } from '../../db/migrations';
import { alreadyExists, internal, notFound } from '../protocol/errors';
import type { Database, NewProcessRow, ProcessPatch, ProcessRow } from './schema';

/** What the supervisor needs from storage. */
export interface Store {
  /** Every row, by id. */
  all(): Promise<ProcessRow[]>;
  /** One row by id, or undefined. */
  get(id: number): Promise<ProcessRow | undefined>;
  /** One row by name, or undefined. */
  getByName(name: string): Promise<ProcessRow | undefined>;
  /** Insert a row; ALREADY_EXISTS if the name is taken. */
  insert(row: NewProcessRow): Promise<ProcessRow>;
  /** Update fields of a row (updated_at is set here); returns the new row. */
  update(id: number, patch: ProcessPatch): Promise<ProcessRow>;
  /** Delete a row. */
  remove(id: number): Promise<void>;
  /** PRAGMA integrity_check result ('ok' when healthy). */
  integrityCheck(): Promise<string>;
  /** Close the database. */
  close(): Promise<void>;
}

const now = (): string => new Date().toISOString();

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Open (creating if needed) data_dir/data.db, mode 0600, and migrate it. */
export async function openStore(dataDir: string): Promise<Store> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'data.db');
  const sqlite = new SQLite(file);
  fs.chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider: new StaticProvider() }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw internal(`database ${file}: migration ${failed} failed: ${(error as Error).message}`);
  }
  return new SqliteStore(db, sqlite);
}

class SqliteStore implements Store {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly sqlite: SQLite.Database,
  ) {}

  all(): Promise<ProcessRow[]> {
    return this.db.selectFrom('processes').selectAll().orderBy('id').execute();
  }

  get(id: number): Promise<ProcessRow | undefined> {
    return this.db.selectFrom('processes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  getByName(name: string): Promise<ProcessRow | undefined> {
    return this.db.selectFrom('processes').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(row: NewProcessRow): Promise<ProcessRow> {
    try {
      const t = now();
      return await this.db
        .insertInto('processes')
        .values({ ...row, created_at: t, updated_at: t })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw alreadyExists(`process "${row.name}" already exists`);
      throw e;
    }
  }

  async update(id: number, patch: ProcessPatch): Promise<ProcessRow> {
    const row = await this.db
      .updateTable('processes')
      .set({ ...patch, updated_at: now() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound(`process ${id} not found`);
    return row;
  }

  async remove(id: number): Promise<void> {
    await this.db.deleteFrom('processes').where('id', '=', id).execute();
  }

  async integrityCheck(): Promise<string> {
    const rows = this.sqlite.pragma('integrity_check') as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
