/** Row types of the SQLite database, as kysely sees them. */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Status } from '../protocol/methods';

/**
 * The largest process id pmond hands out or reserves (2^31 - 1): far beyond any table, small
 * enough for every consumer (the wire's integers, cgroup names, PMON3_PROCESS_ID markers).
 */
export const MAX_PROCESS_ID = 2 ** 31 - 1;

/**
 * An app: what the user asked for (a definition), made by `exec` or read from
 * an apps file. Its instances are rows of `processes` (app_id, instance).
 */
export interface AppsTable {
  id: Generated<number>;
  /** Unique per owner: UNIQUE(uid, name). */
  name: string;
  /** The owner: the user its instances run as. */
  uid: number;
  user: string;
  gid: number;
  /** JSON AppDefinition (internal/apps/model.ts): what to run and with which policy. */
  spec: string;
  /** specHash() of what is executed (binary, args, cwd, env, uid, gid): an instance started from another hash runs an older definition. */
  spec_hash: string;
  /** JSON array of group names. */
  groups: Generated<string>;
  /** JSON array of app names (same owner) that must be up before this one starts. */
  dependencies: Generated<string>;
  /** How many instances should exist (1..MAX_INSTANCES). */
  instances: Generated<number>;
  /** Where it was defined: 'exec', 'migrated', or `file:PATH:LINE`. */
  source: Generated<string>;
  /** A cron app's next run, epoch ms (internal/supervisor/tasks.ts), or null: none armed. */
  next_run_at: Generated<number | null>;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

/**
 * One instance of an app: what is running. It keeps a copy of the definition
 * it was last started with (process_file ... auto_restart, spec_hash), so that
 * what runs and what is wanted can differ, and be seen to differ.
 */
export interface ProcessesTable {
  id: Generated<number>;
  /** Its app's name (UNIQUE(app_id, instance)); shown as name:N when the app has several instances. */
  name: string;
  /** The app it is an instance of. */
  app_id: number;
  /** Its index, 0 .. instances-1 (PMON3_INSTANCE). */
  instance: Generated<number>;
  /** The spec_hash of the definition it was last started with, or null (never started). */
  spec_hash: string | null;
  /** Why it is in its status, in a few words (e.g. "exited with code 1", "stopped by uid 0"), or null. */
  reason: string | null;
  process_file: string;
  /** JSON array of strings. */
  args: string;
  /** JSON object of string → string. */
  env: string;
  cwd: string;
  user: string;
  uid: number;
  gid: number;
  status: Status;
  /** What the user asked for: 'running' or 'stopped'. Decides what a restarted pmond does. */
  desired: 'running' | 'stopped';
  pid: number | null;
  /** /proc/PID/stat start time (clock ticks since boot) of pid. */
  pid_start_time: number | null;
  /** /proc/sys/kernel/random/boot_id of the boot pid was recorded in (a pid from another boot names nothing). */
  pid_boot_id: string | null;
  restarts: number;
  consecutive_failures: number;
  auto_restart: number;
  log: string;
  last_exit_code: number | null;
  last_signal: string | null;
  started_at: string | null;
  stopped_at: string | null;
  /** Token given to the last spawned child (PMON3_SPAWN_TOKEN), to find it if pmond died before recording its pid. */
  spawn_token: Generated<string | null>;
  /** The cgroup directory the process was placed in, or null (not placed in one). */
  cgroup: string | null;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

/** A group (the Go pmon3's `group create`): its members are the apps whose `groups` name it. */
export interface GroupsTable {
  id: Generated<number>;
  /** Unique per owner: UNIQUE(uid, name). */
  name: string;
  uid: number;
  created_at: Generated<string>;
}

export interface Database {
  groups: GroupsTable;
  apps: AppsTable;
  processes: ProcessesTable;
}

export type AppRow = Selectable<AppsTable>;
export type NewAppRow = Insertable<AppsTable>;
export type AppPatch = Updateable<AppsTable>;

export type ProcessRow = Selectable<ProcessesTable>;
export type NewProcessRow = Insertable<ProcessesTable>;
export type ProcessPatch = Updateable<ProcessesTable>;

export type GroupRow = Selectable<GroupsTable>;

/** What a process that never ran has: no restarts, no pid, no exit, no times. */
export const NEVER_RAN = {
  restarts: 0,
  consecutive_failures: 0,
  pid: null,
  pid_start_time: null,
  last_exit_code: null,
  last_signal: null,
  started_at: null,
  stopped_at: null,
} as const satisfies Partial<NewProcessRow>;
