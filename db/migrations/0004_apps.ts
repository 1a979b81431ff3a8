/**
 * Apps and instances: the definition split from what runs.
 * - `apps`: one row per app (name unique per owner), its definition as JSON,
 *   the hash of what it executes, groups, dependencies, instance count and
 *   where it came from.
 * - `processes` becomes the instances table: app_id, instance (index),
 *   spec_hash (of the definition it last started with) and reason. Its
 *   UNIQUE(uid, name) becomes UNIQUE(app_id, instance): the instances of one
 *   app share its name. SQLite cannot change a constraint, so the table is
 *   rebuilt as in 0003, keeping every column, row, id, the uid index and the
 *   AUTOINCREMENT sequence.
 * Every existing row becomes an app of one instance with the row's id as the
 * app's id (source 'migrated'), so nothing is lost and ids keep their meaning.
 * The hash is computed here with its own frozen copy of the rule, so that a
 * later change to internal/apps/model.ts cannot change what this migration did.
 * The store runs every pending migration in one transaction.
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

const nowDefault = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** Columns of processes after 0003, in order: copied as they are. */
const OLD_COLUMNS = [
  'id',
  'name',
  'process_file',
  'args',
  'env',
  'cwd',
  'user',
  'uid',
  'gid',
  'status',
  'desired',
  'pid',
  'pid_start_time',
  'restarts',
  'consecutive_failures',
  'auto_restart',
  'log',
  'last_exit_code',
  'last_signal',
  'started_at',
  'stopped_at',
  'created_at',
  'updated_at',
  'spawn_token',
  'pid_boot_id',
  'cgroup',
];

interface OldRow {
  id: number;
  name: string;
  process_file: string;
  args: string;
  env: string;
  cwd: string;
  user: string;
  uid: number;
  gid: number;
  auto_restart: number;
  log: string;
  created_at: string;
}

/** specHash of internal/apps/model.ts as it was when this migration was written. */
function hash(r: OldRow): string {
  const envObj = JSON.parse(r.env) as Record<string, string>;
  const env = Object.keys(envObj)
    .sort()
    .map((k) => [k, envObj[k]]);
  const text = JSON.stringify([r.process_file, JSON.parse(r.args) as string[], env, r.cwd, r.uid, r.gid]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

async function createProcesses(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('process_file', 'text', (c) => c.notNull())
    .addColumn('args', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('env', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('cwd', 'text', (c) => c.notNull())
    .addColumn('user', 'text', (c) => c.notNull())
    .addColumn('uid', 'integer', (c) => c.notNull())
    .addColumn('gid', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('desired', 'text', (c) => c.notNull().defaultTo('running'))
    .addColumn('pid', 'integer')
    .addColumn('pid_start_time', 'integer')
    .addColumn('restarts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_restart', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('log', 'text', (c) => c.notNull())
    .addColumn('last_exit_code', 'integer')
    .addColumn('last_signal', 'text')
    .addColumn('started_at', 'text')
    .addColumn('stopped_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull().defaultTo(nowDefault))
    .addColumn('updated_at', 'text', (c) => c.notNull().defaultTo(nowDefault))
    .addColumn('spawn_token', 'text')
    .addColumn('pid_boot_id', 'text')
    .addColumn('cgroup', 'text')
    .addColumn('app_id', 'integer', (c) => c.notNull())
    .addColumn('instance', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('spec_hash', 'text')
    .addColumn('reason', 'text')
    .addUniqueConstraint('processes_app_instance', ['app_id', 'instance'])
    .execute();
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apps')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('uid', 'integer', (c) => c.notNull())
    .addColumn('user', 'text', (c) => c.notNull())
    .addColumn('gid', 'integer', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('spec_hash', 'text', (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('dependencies', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('instances', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('exec'))
    .addColumn('created_at', 'text', (c) => c.notNull().defaultTo(nowDefault))
    .addColumn('updated_at', 'text', (c) => c.notNull().defaultTo(nowDefault))
    .addUniqueConstraint('apps_uid_name', ['uid', 'name'])
    .execute();

  const rows = (await sql<OldRow>`SELECT * FROM processes ORDER BY id`.execute(db)).rows;
  for (const r of rows) {
    const spec = {
      file: r.process_file,
      args: JSON.parse(r.args) as string[],
      env: JSON.parse(r.env) as Record<string, string>,
      cwd: r.cwd,
      log: r.log,
      restart: r.auto_restart ? 'always' : 'never',
      autostart: true,
    };
    await sql`INSERT INTO apps (id, name, uid, user, gid, spec, spec_hash, source, created_at, updated_at)
      VALUES (${r.id}, ${r.name}, ${r.uid}, ${r.user}, ${r.gid}, ${JSON.stringify(spec)}, ${hash(r)}, 'migrated', ${r.created_at}, ${r.created_at})`.execute(db);
  }

  const seq = await sql<{ seq: number }>`SELECT seq FROM sqlite_sequence WHERE name = 'processes'`.execute(db);
  const lastId = seq.rows[0]?.seq ?? 0;
  await createProcesses(db, 'processes_new');
  const cols = sql.join(OLD_COLUMNS.map((c) => sql.ref(c)));
  await sql`INSERT INTO processes_new (${cols}, app_id, instance, spec_hash) SELECT ${cols}, id, 0, NULL FROM processes ORDER BY id`.execute(db);
  await sql`UPDATE processes_new SET spec_hash = (SELECT spec_hash FROM apps WHERE apps.id = processes_new.app_id)`.execute(db);
  await db.schema.dropTable('processes').execute();
  await db.schema.alterTable('processes_new').renameTo('processes').execute();
  await db.schema.createIndex('processes_uid').on('processes').column('uid').execute();
  await sql`UPDATE sqlite_sequence SET seq = ${lastId} WHERE name = 'processes' AND seq < ${lastId}`.execute(db);
  await sql`INSERT INTO sqlite_sequence (name, seq) SELECT 'processes', ${lastId} WHERE ${lastId} > 0 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'processes')`.execute(db);
  // App ids continue where process ids are: a migrated app keeps its process's id.
  await sql`INSERT INTO sqlite_sequence (name, seq) SELECT 'apps', ${lastId} WHERE ${lastId} > 0 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'apps')`.execute(db);
  await sql`UPDATE sqlite_sequence SET seq = ${lastId} WHERE name = 'apps' AND seq < ${lastId}`.execute(db);
}

/**
 * Not undone: the instances of one app share a name, which 0003's UNIQUE(uid, name) cannot hold.
 * Going back means restoring a copy of data.db taken before the upgrade.
 */
export async function down(): Promise<void> {
  throw new Error('migration 0004_apps cannot be undone (instances share their app\'s name); restore a backup of data.db');
}
