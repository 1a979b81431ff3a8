/** Row types of the SQLite database, as kysely sees them. */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { Status } from '../protocol/methods';

/**
 * The largest process id pmond hands out or reserves (2^31 - 1): far beyond any table, small
 * enough for every consumer (the wire's integers, cgroup names, PMON3_PROCESS_ID markers).
 */
export const MAX_PROCESS_ID = 2 ** 31 - 1;

export interface ProcessesTable {
  id: Generated<number>;
  /** Unique per owner: UNIQUE(uid, name). */
  name: string;
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

export interface Database {
  processes: ProcessesTable;
}

export type ProcessRow = Selectable<ProcessesTable>;
export type NewProcessRow = Insertable<ProcessesTable>;
export type ProcessPatch = Updateable<ProcessesTable>;
