/**
 * Names unique per owner, and where a pid and its process live:
 * - UNIQUE(name) becomes UNIQUE(uid, name), so that two users may each have
 *   an "api". SQLite cannot drop a constraint, so the table is rebuilt (new
 *   table, copy, drop, rename), keeping every column, row, id, the
 *   processes_uid index and the AUTOINCREMENT sequence (ids of deleted rows
 *   are never handed out again).
 * - pid_boot_id: the boot_id (/proc/sys/kernel/random/boot_id) pid was
 *   recorded in; cgroup: the cgroup directory the process was placed in.
 * The store runs every pending migration in one transaction: a failure (a
 * full disk) leaves the old table as it was.
 */
import { type Kysely, sql } from 'kysely';

/** The columns 0001 + 0002 made, in order: copied as they are. */
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
];

const nowDefault = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** The processes table as 0001 made it, under another name: UNIQUE(uid, name) and the two new columns if perOwner, else UNIQUE(name). */
async function createTable(db: Kysely<unknown>, table: string, perOwner: boolean): Promise<void> {
  let t = db.schema
    .createTable(table)
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => (perOwner ? c.notNull() : c.notNull().unique()))
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
    .addColumn('spawn_token', 'text');
  if (perOwner) {
    t = t.addColumn('pid_boot_id', 'text').addColumn('cgroup', 'text').addUniqueConstraint('processes_uid_name', ['uid', 'name']);
  }
  await t.execute();
}

/** Replace processes by a copy made by createTable(perOwner), keeping rows, ids, the index and the sequence. */
async function rebuild(db: Kysely<unknown>, perOwner: boolean): Promise<void> {
  const seq = await sql<{ seq: number }>`SELECT seq FROM sqlite_sequence WHERE name = 'processes'`.execute(db);
  const lastId = seq.rows[0]?.seq ?? 0;
  await createTable(db, 'processes_new', perOwner);
  const cols = sql.join(OLD_COLUMNS.map((c) => sql.ref(c)));
  await sql`INSERT INTO processes_new (${cols}) SELECT ${cols} FROM processes ORDER BY id`.execute(db);
  await db.schema.dropTable('processes').execute();
  await db.schema.alterTable('processes_new').renameTo('processes').execute();
  await db.schema.createIndex('processes_uid').on('processes').column('uid').execute();
  // Dropping the old table dropped its sequence; the copy's is the highest id copied: keep the larger.
  await sql`UPDATE sqlite_sequence SET seq = ${lastId} WHERE name = 'processes' AND seq < ${lastId}`.execute(db);
  await sql`INSERT INTO sqlite_sequence (name, seq) SELECT 'processes', ${lastId} WHERE ${lastId} > 0 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'processes')`.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, true);
}

/** Back to UNIQUE(name) without the two columns: fails if two owners use one name. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await rebuild(db, false);
}
