/**
 * The processes table, as in the Go pmon3, with what crash safety needs:
 * the pid's /proc start time, the desired state, persisted counters.
 * Later waves (groups, dependencies, instances, schedules) add tables and
 * columns in new migrations; nothing here assumes they are absent.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('processes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull().unique())
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
    .addColumn('created_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
    .addColumn('updated_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
    .execute();
  await db.schema.createIndex('processes_uid').on('processes').column('uid').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('processes').execute();
}
