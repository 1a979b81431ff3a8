/**
 * Every migration, listed explicitly (no directory scan), in order. Add new
 * ones at the end with the next number.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_init';
import * as m0002 from './0002_spawn_token';
import * as m0003 from './0003_owner_names';
import * as m0004 from './0004_apps';
import * as m0005 from './0005_groups';
import * as m0006 from './0006_next_run';

export const MIGRATIONS: Record<string, Migration> = {
  '0001_init': m0001,
  '0002_spawn_token': m0002,
  '0003_owner_names': m0003,
  '0004_apps': m0004,
  '0005_groups': m0005,
  '0006_next_run': m0006,
};
