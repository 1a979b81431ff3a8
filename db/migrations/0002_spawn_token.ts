/**
 * spawn_token: a random token written to the row before each spawn and
 * given to the child as PMON3_SPAWN_TOKEN. If pmond dies between spawning a
 * child and recording its pid, the next pmond finds the child by this token
 * in /proc/PID/environ instead of starting a second copy.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('processes').addColumn('spawn_token', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('processes').dropColumn('spawn_token').execute();
}
