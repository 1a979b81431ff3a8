/**
 * next_run_at: a cron app's next run (epoch ms), written before that run's time comes and moved
 * on before the run starts, so a pmond killed and started again neither loses a run (it knows
 * one was due) nor doubles one (the time already moved past it). Null: no schedule armed.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').addColumn('next_run_at', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').dropColumn('next_run_at').execute();
}
