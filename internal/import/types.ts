/**
 * Import from other process managers (issue 13): each format's reader turns that manager's
 * configuration into entries of our apps file (internal/apps/file.ts keys, exactly as a user
 * would write them) and warnings. Nothing is dropped silently: a field with no equivalent, or
 * whose meaning differs, is a warning naming file, line and field (and, for a capability pmon3
 * gains later, the key it will become). Pure apart from reading files through `read`, which the
 * CLI gives as the caller (pmond never reads a user's file); a reader never executes anything.
 */

/** One app as our apps file spells it (see README "Apps"); durations in seconds or "500ms"/"2s". */
export interface AppEntry {
  name: string;
  exec?: string;
  script?: string;
  interpreter?: string;
  args?: string[] | string;
  cwd?: string;
  env?: Record<string, string>;
  env_file?: string;
  user?: string;
  group?: string;
  groups?: string[];
  instances?: number;
  dependencies?: string[];
  autostart?: boolean;
  restart?: 'always' | 'on-failure' | 'never';
  restart_delay?: number | string;
  startsecs?: number | string;
  startretries?: number;
  stop_signal?: string;
  stop_timeout?: number | string;
  log?: string;
  log_dir?: string;
  /** Issue 14's tasks: the kind, schedules, timers, order and hooks (internal/apps/task.ts rules). */
  type?: 'daemon' | 'once' | 'cron';
  cron?: string;
  timezone?: string;
  overlap?: 'skip' | 'queue' | 'allow';
  catch_up?: 'none' | 'once';
  cron_restart?: string;
  repeat?: { action: 'restart' | 'start' | 'stop' | 'trystart'; every: number | string };
  after?: string[];
  exec_stop?: string[] | string;
  pre_start?: string[] | string;
  post_start?: string[] | string;
  pre_stop?: string[] | string;
  post_stop?: string[] | string;
  hook_timeout?: number | string;
  save_log_on_crash?: boolean;
  crash_log_kib?: number;
  /** RSS above which an instance is restarted ("512M" or bytes), and how many checks in a row (one a second). */
  max_memory?: number | string;
  max_memory_checks?: number;
  /** Resource limits: a number, "unlimited", or [soft, hard]. */
  rlimits?: Record<string, number | string | [number | string, number | string]>;
  /** Listening sockets: "HOST:PORT", or with a name (LISTEN_FDNAMES) and a backlog. */
  sockets?: Array<string | { listen: string; name?: string; backlog?: number }>;
  /** Readiness and liveness (README "Ready, alive, healthy"); Firestarter's ack. */
  ready?: string;
  ack?: 'timer' | 'manual' | 'none';
  ack_timeout?: number | string;
  live_check_timeout?: number | string;
  /** PM2's watch (true: the cwd), ignore_watch, watch_delay; its `time` (timestamps). */
  watch?: boolean | string[];
  ignore_watch?: string[];
  watch_delay?: number | string;
  timestamps?: boolean;
  /** Rotation: {size, keep, every, compress, max_total}, or Firestarter's size:/time: string. */
  rotate?: string | { size?: number | string; keep?: number; every?: string; compress?: boolean; max_total?: number | string };
  error_log?: string;
  /** Firestarter's upgrader: run before a rolling reload. */
  upgrader?: string[];
  upgrader_timeout?: number | string;
}

/** Something the reader could not carry over as it was. */
export interface ImportWarning {
  file: string;
  /** 1-based, or undefined when the format gives no position. */
  line?: number;
  /** The field as the source spells it (`apps[0].watch`, `program:web.stopasgroup`). */
  field: string;
  /** What happened to it: "no equivalent; ignored", "mapped to restart: on-failure (...)", "becomes rotation when pmon3 has it". */
  message: string;
}

export interface ImportResult {
  /** The format read (FORMATS). */
  format: ImportFormat;
  apps: AppEntry[];
  warnings: ImportWarning[];
  /** Every file read (includes, sub-projects), for the report. */
  files: string[];
  /** Where each app is defined (parallel to apps): its source file and the line of its key. */
  sources?: ImportSource[];
}

/** Where an imported app came from. */
export interface ImportSource {
  file: string;
  /** 1-based, or undefined when the format gives no position. */
  line?: number;
}

export const FORMATS = ['pm2', 'pm2-dump', 'supervisord', 'pmon3-go', 'pmon3-go-db', 'fib-runner', 'supervisor-rs', 'firestarter', 'meproc'] as const;
export type ImportFormat = (typeof FORMATS)[number];

/** How a reader reads a file (as the caller); throws as fs does. */
export type ReadFile = (path: string) => string;

export interface ImportOptions {
  read: ReadFile;
  /** PM2: which env_<name> set to take (`--env production`). */
  env?: string;
  /** The importing caller's environment (the CLI's own): PM2's dump tells its app's variables from the session's, supervisord expands %(ENV_X)s. */
  environ?: Readonly<Record<string, string | undefined>>;
  /** Directory listing, for includes with globs and supervisor-rs loadpaths (as the caller). */
  list: (dir: string) => string[];
}

/** An import error: one line, file:line: what was expected (INVALID_ARGUMENT via the caller). */
export function where(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

export function formatWarning(w: ImportWarning): string {
  return `${where(w.file, w.line)}: ${w.field}: ${w.message}`;
}
