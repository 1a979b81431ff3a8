/**
 * Groups as the Go pmon3 has them: named, with an id, made by `group create` (or by naming one
 * in `exec -g` or an apps file) and removed by `group del`. Names are unique per owner: a user's
 * group "web" and root's are two groups. Membership stays on the app (apps.groups, a JSON list
 * of names); every name an app already lists gets its row here, so no member is without a group.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('groups')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('uid', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
    .addUniqueConstraint('groups_uid_name', ['uid', 'name'])
    .execute();
  await sql`INSERT OR IGNORE INTO groups (name, uid)
    SELECT DISTINCT j.value, a.uid FROM apps a, json_each(a.groups) j WHERE json_valid(a.groups) AND j.type = 'text'
    ORDER BY a.uid, j.value`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('groups').execute();
}
