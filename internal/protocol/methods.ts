/**
 * The one table of methods pmond serves: each method's params and result
 * schemas. The client validates results with it, the server validates params
 * with it, and TypeScript derives both sides' types from it.
 */
import * as z from 'zod';

/**
 * Version of the framed protocol. pmond takes requests of any version from MIN_PROTOCOL_VERSION
 * up (a newer client included): what a peer can do is negotiated, not read off the version.
 * `ping` lists pmond's capabilities (every method it serves, and FEATURES); a client asks for
 * one before it uses it, and says in one line that this pmond lacks it. Replies are read
 * tolerantly: fields a newer pmond adds are dropped, a status it adds is shown as it is.
 * 2: list is paged ({processes, next}), ping reports health, `alive` events, per-owner names.
 * 3: ping lists capabilities; requests of newer versions are taken.
 */
export const PROTOCOL_VERSION = 3;
/** The oldest request version pmond still takes. */
export const MIN_PROTOCOL_VERSION = 2;
/**
 * What this build can do beyond its methods' names (a method's new parameter, a new behaviour),
 * as `ping` reports it. A pmond of protocol 2 reports nothing: V2_CAPABILITIES is what it had.
 */
export const FEATURES = ['admin-door', 'log.all', 'selectors', 'apps', 'tasks', 'sockets', 'stats', 'events', 'input'] as const;

/** The statuses a process can be in, exactly as they appear in --json. */
/**
 * starting: up, not yet for its startsecs; completed: a `once` app that exited 0; scheduled: a
 * `cron` app between runs (its schedule armed).
 */
export const STATUSES = ['queued', 'init', 'starting', 'running', 'stopped', 'failed', 'backoff', 'restarting', 'completed', 'scheduled'] as const;
export type Status = (typeof STATUSES)[number];

const noNul = (s: string): boolean => !s.includes('\0');

/** Process names: safe as file names and in logs, no shell metacharacters. */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const MAX_NAME = 64;
export const nameSchema = z
  .string()
  .min(1, 'name must not be empty')
  .max(MAX_NAME, `name must be at most ${MAX_NAME} characters`)
  .regex(NAME_RE, 'name may hold only letters, digits, ".", "_" and "-", and must not start with "." or "-"')
  .refine((s) => !s.includes('..'), 'name must not contain ".."')
  .refine((s) => !/^\d+$/.test(s), 'name must not be only digits (that is how ids are written)')
  .refine((s) => !RESERVED_NAMES.includes(s), 'name must not be "all" (it selects every process)');

/** Words that select processes and so cannot be names. */
export const RESERVED_NAMES: readonly string[] = ['all'];

/** The most processes one `logs --follow` follows at once (each is a file watch in pmond). */
export const MAX_FOLLOWED_LOGS = 256;

/** What `act` does to each selected process. */
export const ACTIONS = ['stop', 'start', 'restart', 'delete', 'reset'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * An id (digits), a name (the caller's own process of that name), or `user/name`
 * (another user's, for root and admin_group); resolved by the daemon.
 */
export const targetSchema = z
  .string()
  .min(1, 'id or name must not be empty')
  .max(2 * MAX_NAME + 1, 'id or name is too long')
  .refine(noNul, 'NUL byte');

const absPath = (what: string) =>
  z
    .string()
    .min(1)
    .max(4096, `${what} is longer than 4096 bytes`)
    .refine((s) => s.startsWith('/'), `${what} must be an absolute path`)
    .refine(noNul, `${what} contains a NUL byte`);

export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_ARGS = 1024;
export const MAX_ARG_LEN = 128 * 1024;
export const MAX_ENV = 512;

const argSchema = z.string().max(MAX_ARG_LEN, `an argument is longer than ${MAX_ARG_LEN} bytes`).refine(noNul, 'argument contains a NUL byte');

const envSchema = z
  .record(z.string().max(256).regex(ENV_NAME_RE, 'environment variable names are letters, digits and _'), argSchema)
  .refine((e) => Object.keys(e).length <= MAX_ENV, `at most ${MAX_ENV} environment variables`);

/** A user given by name or numeric uid. */
const userSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/, 'not a valid user name');

/** What `exec` asks for. Paths are absolute: the CLI resolves them against its own cwd. */
export const execParams = z
  .object({
    /** An absolute path, or a bare name that the exec helper looks up in the child's PATH, as the user. */
    file: z
      .string()
      .min(1, 'binary must not be empty')
      .max(4096, 'binary path is longer than 4096 bytes')
      .refine(noNul, 'binary path contains a NUL byte')
      .refine((s) => s.startsWith('/') || !s.includes('/'), 'binary must be an absolute path or a bare name (looked up in PATH)'),
    name: nameSchema.optional(),
    args: z.array(argSchema).max(MAX_ARGS, `at most ${MAX_ARGS} arguments`),
    env: envSchema,
    cwd: absPath('cwd'),
    user: userSchema.optional(),
    log: absPath('log file').optional(),
    log_dir: absPath('log dir').optional(),
    auto_restart: z.boolean(),
    /** Groups its app joins (made as needed), dependencies (apps of the same owner), instances: feature `apps`. */
    groups: z.array(nameSchema).max(64).optional(),
    dependencies: z.array(nameSchema).max(256).optional(),
    instances: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
export type ExecParams = z.infer<typeof execParams>;

const ms = z.number().int().min(0).max(365 * 86_400_000);

/** An argv run as the app's user (a per-app hook, exec_stop), never through a shell. */
export const argvSchema = z
  .array(argSchema)
  .min(1, 'a command needs at least a program')
  .max(256, 'at most 256 words')
  .refine((a) => a[0]!.length > 0 && (a[0]!.startsWith('/') || !a[0]!.includes('/')), 'the program must be an absolute path or a bare name (looked up in PATH)');

/** A cron expression as the wire carries it: parsed (and refused in one line) by internal/schedule/cron.ts. */
const cronText = z
  .string()
  .min(1)
  .max(128, 'a cron expression is at most 128 characters')
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'a cron expression has no control characters');

/** The kinds of app: kept running, run to completion, run on a schedule. */
export const APP_TYPES = ['daemon', 'once', 'cron'] as const;
export type AppType = (typeof APP_TYPES)[number];

/**
 * What an app is beyond what it executes: its kind and schedule, timers, ordering after others
 * and its own hooks (issue 14). Every field optional; none is in the spec hash (a change is
 * taken without a restart). The same object is in the apps file's model, on the wire and in
 * the stored definition.
 */
export const taskSchema = z
  .object({
    type: z.enum(APP_TYPES).optional(),
    /** type cron: when it runs (5 fields, or 6 with seconds first). */
    cron: cronText.optional(),
    /** IANA timezone of cron and cron_restart; absent: pmond's local time. */
    timezone: z.string().min(1).max(64).regex(/^[A-Za-z0-9_+\-/]+$/, 'a timezone name such as Europe/Berlin').optional(),
    /** A run due while the last one still runs: skipped (default), run once after it, or run beside it (up to `instances` at once). */
    overlap: z.enum(['skip', 'queue', 'allow']).optional(),
    /** Runs missed while pmond was down: none (default), or one run at once. */
    catch_up: z.enum(['none', 'once']).optional(),
    /** type daemon: restart it on this schedule (PM2's cron_restart). */
    cron_restart: cronText.optional(),
    /** supervisor-rs's repeat: the action every `every_ms`, only on the instance the timer was armed for. */
    repeat: z
      .object({ action: z.enum(['restart', 'start', 'stop', 'trystart']), every_ms: z.number().int().min(1000).max(365 * 86_400_000) })
      .strict()
      .optional(),
    /** Meproc's after: start once the running instances of these apps (same owner) have finished. */
    after: z.array(nameSchema).max(256).optional(),
    /** Run instead of the stop signal (then the signal after stop_timeout if it is still up). */
    exec_stop: argvSchema.optional(),
    pre_start: argvSchema.optional(),
    post_start: argvSchema.optional(),
    pre_stop: argvSchema.optional(),
    post_stop: argvSchema.optional(),
    /** How long each of the app's hooks (and exec_stop) may run; absent: 30 s. */
    hook_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
    /** Keep the last crash_log_kib KiB of an abnormal exit's output as a crash file beside the log. */
    save_log_on_crash: z.boolean().optional(),
    crash_log_kib: z.number().int().min(1).max(1024).optional(),
    /** Restart an instance whose RSS stays above this many bytes for max_memory_checks checks in a row (one a second), reason `memory`. */
    max_memory_bytes: z.number().int().min(1 << 20).max(2 ** 50).optional(),
    max_memory_checks: z.number().int().min(1).max(3600).optional(),
    /** When an instance counts as ready: notify, tcp[:PORT], http:/PATH, http://127.0.0.1:PORT/PATH, delay:DURATION, none (internal/apps/ready.ts). */
    ready: z.string().min(1).max(1100).optional(),
    /** Not ready within this long: a failed start (killed, restart policy); absent: 60 s. */
    ready_timeout_ms: z.number().int().min(100).max(86_400_000).optional(),
    /** sd_notify's watchdog: no WATCHDOG=1 for this long restarts the instance (WATCHDOG_USEC is set). */
    watchdog_ms: z.number().int().min(100).max(86_400_000).optional(),
    /** An HTTP health check of each running instance; `failures` in a row restart it. */
    health: z
      .object({
        http: z.string().min(1).max(1100),
        interval_ms: z.number().int().min(100).max(86_400_000).optional(),
        timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
        failures: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    /** Firestarter's live check: no touch of $FIRESTARTER_WATCH_FILE for this long restarts the instance. */
    live_check_ms: z.number().int().min(1000).max(86_400_000).optional(),
    /** cgroup v2 limits of each instance's cgroup (memory.max, cpu.max "QUOTA PERIOD", pids.max), where the controllers can be used. */
    memory_max_bytes: z.number().int().min(1 << 20).max(2 ** 50).optional(),
    cpu_max: z.string().regex(/^(max|\d{1,9}) \d{4,7}$/).optional(),
    pids_max: z.number().int().min(1).max(4_194_304).optional(),
    /**
     * Logger mode (pmon3-log per instance, internal/supervisor/loggers.ts): rotation by size and/or
     * time with `keep` old files (gzip-compressed with compress), a cap on all of them, and a
     * timestamp on every line. Absent (and no log_timestamps): output goes straight to the file.
     */
    log_rotate: z
      .object({
        size_bytes: z.number().int().min(4096).max(2 ** 46).optional(),
        keep: z.number().int().min(1).max(1000).optional(),
        every_s: z.number().int().min(1).max(31_536_000).optional(),
        compress: z.boolean().optional(),
        max_total_bytes: z.number().int().min(65536).max(2 ** 50).optional(),
      })
      .strict()
      .optional(),
    log_timestamps: z.boolean().optional(),
    /** stderr to this file (its own logger; absolute, not in pmond's directories); absent: with stdout in the log. */
    error_log: z.string().min(2).max(4096).regex(/^\//).optional(),
    /**
     * PM2's watch: these paths (absolute; a directory recursively) watched by a watcher run as
     * the app's user, which restarts the app (reloads it, with sockets) once they are quiet for
     * watch_delay_ms (default 1 s); watch_ignore: globs. auto_upgrade: its binary is watched too.
     */
    watch: z.array(z.string().min(1).max(4096)).max(64).optional(),
    watch_ignore: z.array(z.string().min(1).max(256)).max(64).optional(),
    watch_delay_ms: z.number().int().min(50).max(3_600_000).optional(),
    auto_upgrade: z.boolean().optional(),
    /** Firestarter's upgrader: run as the app's user before a rolling reload; it must exit 0 within upgrader_timeout_ms (default 60 s) or nothing is replaced. */
    upgrader: argvSchema.optional(),
    upgrader_timeout_ms: z.number().int().min(100).max(3_600_000).optional(),
    /** A rolling reload starts at most this many new instances at once (default 1). */
    max_surge: z.number().int().min(1).max(1000).optional(),
    /** Its stdin is a FIFO of pmond's that its owner writes to (`attach --stdin`, method `input`); else /dev/null. */
    stdin: z.boolean().optional(),
  })
  .strict();
export type TaskSpec = z.infer<typeof taskSchema>;

/**
 * One app of an apps file, as `apply` sends it: read and resolved by the caller (the CLI reads the
 * file as the user who runs it; pmond never opens a path a user names). `file` is what is executed
 * (a script's interpreter, the script first in args); `source` is where it was defined (FILE:LINE).
 */
/** One listening socket of an app (`sockets:`): its address, the name programs see in LISTEN_FDNAMES, the listen backlog. */
export const socketSpec = z
  .object({
    listen: z.string().min(1).max(128),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a socket name is 1-64 letters, digits, _ . -').optional(),
    backlog: z.number().int().min(1).max(65535).optional(),
    /** A Unix socket's mode, octal ("0660"); default 0666 less nothing: the directory decides who reaches it. */
    mode: z.string().regex(/^0?[0-7]{3}$/, 'a mode is octal, e.g. "0660"').optional(),
  })
  .strict();
export type SocketSpec = z.infer<typeof socketSpec>;

/** An app's resource limits: soft and hard, -1 unlimited (internal/apps/rlimits.ts names them). */
export const rlimitsSpec = z.partialRecord(
  z.enum(['cpu', 'fsize', 'data', 'stack', 'core', 'nproc', 'nofile', 'memlock', 'as']),
  z.object({ soft: z.number().int().min(-1).max(2 ** 53 - 1), hard: z.number().int().min(-1).max(2 ** 53 - 1) }).strict(),
);

export const appSpecWire = z
  .object({
    name: nameSchema,
    file: execParams.shape.file,
    args: z.array(argSchema).max(MAX_ARGS, `at most ${MAX_ARGS} arguments`),
    env: envSchema,
    cwd: absPath('cwd'),
    user: userSchema.optional(),
    /** The group it runs as (else the user's primary group): one the user is in, unless an admin asks. */
    group: userSchema.optional(),
    groups: z.array(nameSchema).max(64),
    instances: z.number().int().min(1).max(1000),
    dependencies: z.array(nameSchema).max(256),
    autostart: z.boolean(),
    restart: z.enum(['always', 'on-failure', 'never']),
    restart_delay_ms: ms.optional(),
    startsecs_ms: ms.optional(),
    startretries: z.number().int().min(-1).max(1_000_000).optional(),
    stop_signal: z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']).optional(),
    stop_timeout_ms: ms.optional(),
    log: absPath('log file').optional(),
    log_dir: absPath('log dir').optional(),
    /** Kind, schedule, timers, after, per-app hooks (feature `tasks`). */
    task: taskSchema.optional(),
    /** Listening sockets bound by pmond, given to every instance as fds 3... (feature `sockets`). */
    sockets: z.array(socketSpec).max(16).optional(),
    /** setrlimit(2) for every instance, set by the exec helper before it drops privileges. */
    rlimits: rlimitsSpec.optional(),
    source: z.string().min(1).max(4200).refine(noNul, 'source contains a NUL byte'),
  })
  .strict();
export type AppSpecWire = z.infer<typeof appSpecWire>;

/** One app's line of an `apply` diff (internal/apps/diff.ts). */
export const appChange = z.object({
  name: z.string(),
  user: z.string(),
  kind: z.string().transform((s) => s as 'added' | 'changed' | 'removed' | 'kept' | 'unchanged'),
  fields: z.array(z.string()),
  restart: z.boolean(),
  instances: z.object({ from: z.number().int(), to: z.number().int() }),
});

/** An app as `apps` reports it (export): its stored definition (times in ms), owner, groups, dependencies and instances. */
export const appView = z.object({
  id: z.number().int(),
  name: z.string(),
  user: z.string(),
  uid: z.number().int(),
  gid: z.number().int(),
  /** The user's primary gid: a different gid is the app's own `group`. */
  user_gid: z.number().int().nullable(),
  spec: z.object({
    file: z.string(),
    args: z.array(z.string()),
    env: z.record(z.string(), z.string()),
    cwd: z.string(),
    log: z.string().optional(),
    log_dir: z.string().optional(),
    restart: z.string().transform((s) => s as 'always' | 'on-failure' | 'never'),
    autostart: z.boolean(),
    restart_delay_ms: z.number().optional(),
    startsecs_ms: z.number().optional(),
    startretries: z.number().optional(),
    stop_signal: z.string().optional(),
    stop_timeout_ms: z.number().optional(),
    /** Kind, schedule, timers, hooks (absent: a daemon with none); a newer pmond's extra keys pass. */
    task: taskSchema.partial().passthrough().optional(),
    sockets: z.array(socketSpec.passthrough()).optional(),
    rlimits: z.record(z.string(), z.object({ soft: z.number(), hard: z.number() })).optional(),
  }),
  groups: z.array(z.string()),
  dependencies: z.array(z.string()),
  instances: z.number().int(),
  source: z.string(),
  created_at: z.string(),
  processes: z.array(z.object({ id: z.number().int(), instance: z.number().int(), status: z.string(), pid: z.number().int().nullable(), log: z.string(), auto_restart: z.boolean() })),
});
export type AppView = z.infer<typeof appView>;

/** A group and its members, as `group ls` / `group desc` show it. */
export const groupView = z.object({
  id: z.number().int(),
  name: z.string(),
  user: z.string(),
  uid: z.number().int(),
  /** Apps in it, by name. */
  apps: z.array(z.string()),
});
export type GroupView = z.infer<typeof groupView>;

/** A process as the daemon reports it. */
export const processView = z.object({
  id: z.number().int(),
  name: z.string(),
  /** Any text a newer pmond sends (shown as it is); this build's own are STATUSES. */
  status: z
    .string()
    .min(1)
    .max(64)
    .transform((s) => s as Status),
  pid: z.number().int().nullable(),
  restarts: z.number().int(),
  user: z.string(),
  uid: z.number().int(),
  gid: z.number().int(),
  process_file: z.string(),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: z.string(),
  log: z.string(),
  auto_restart: z.boolean(),
  cpu: z.number().nullable(),
  memory: z.number().nullable(),
  uptime_ms: z.number().nullable(),
  last_exit_code: z.number().int().nullable(),
  last_signal: z.string().nullable(),
  started_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The cgroup it runs in, or null (process group only; see README "Stopping"). */
  cgroup: z.string().nullable(),
  /** false while its latest state is only in pmond's memory (the database cannot be written). */
  saved: z.boolean(),
  /** Its app's name and its index among the app's instances (name is `app:N` when the app has several). */
  app: z.string().optional(),
  instance: z.number().int().optional(),
  /** Where its app came from: `exec`, or `file:PATH:LINE` of an apps file. */
  source: z.string().optional(),
  /** Its app's groups. */
  groups: z.array(z.string()).optional(),
  /** Why it is in its status, or why it last stopped or failed: exit code, signal, startretries, who stopped it, pre_start, a dependency not up. */
  reason: z.string().nullable().optional(),
  /** Its app's kind (absent from an older pmond: daemon). */
  type: z.string().max(16).optional(),
  /** A cron app's next run (ISO time), or null. */
  next_run_at: z.string().nullable().optional(),
  /** Crash files kept for it (save_log_on_crash), newest first. */
  crash_files: z.array(z.string()).optional(),
});
export type ProcessView = z.infer<typeof processView>;

const target = z.object({ target: targetSchema }).strict();
const targetForce = z.object({ target: targetSchema, force: z.boolean() }).strict();
const forceOnly = z.object({ force: z.boolean() }).strict();
const empty = z.object({}).strict();
const views = z.array(processView);

/** The fields of a view every reply about many processes has. */
const summaryFields = processView.pick({
  id: true,
  name: true,
  status: true,
  pid: true,
  restarts: true,
  user: true,
  uid: true,
  cpu: true,
  memory: true,
  uptime_ms: true,
  last_exit_code: true,
  last_signal: true,
  saved: true,
});

/**
 * A process in a reply that may name many: what `ls`'s table shows, without
 * arguments and environment, so that such a reply stays small however big
 * each process's command is.
 */
export const processSummary = summaryFields.extend({
  /** When a selector named several processes and this one's action failed: why (the others went on). */
  error: z.string().optional(),
  /** Its code (ERROR_CODES; any text from a newer pmond). */
  error_code: z.string().optional(),
});
export type ProcessSummary = z.infer<typeof processSummary>;

/**
 * A process as a table shows it (`table`, GET /v1/processes, the dashboard): a summary with its
 * app, start, reason, kind and groups; no command, arguments, environment, directory or log
 * path, so 1000 of them are quick to make and to send.
 */
export const processRow = summaryFields.extend(
  processView.pick({ app: true, instance: true, started_at: true, reason: true, type: true, groups: true, next_run_at: true }).shape,
);
export type ProcessTableRow = z.infer<typeof processRow>;
const summaries = z.array(processSummary);

/** pmond's health: whether its database can be written, and how it stops process trees. */
export const healthSchema = z.object({
  /** false while some change is only in memory. */
  ok: z.boolean(),
  store: z.object({
    ok: z.boolean(),
    since: z.string().nullable(),
    error: z.string().nullable(),
    pending: z.number().int(),
  }),
  /** "cgroup v2 (BASE)" or "process groups (WHY)". */
  cgroups: z.string(),
});
export type Health = z.infer<typeof healthSchema>;

/** The most text `log -a` reads of one file (after decompression, for a .gz copy). */
export const MAX_COPY_TEXT = 32 * 1024 * 1024;

/**
 * What `log -a` read: `files` in the order their text was sent (rotated copies oldest first,
 * the current log last), the copies `skipped` and why (a symlink, a FIFO, another user's
 * file...), and `notes` (a copy cut at MAX_COPY_TEXT, a gzip bomb stopped there, a directory
 * that could not be listed). Paths are absolute.
 */
export const logFilesSchema = z.object({
  files: z.array(z.string()),
  skipped: z.array(z.object({ name: z.string(), why: z.string() })),
  notes: z.array(z.string()),
});
export type LogFilesInfo = z.infer<typeof logFilesSchema>;

/** The method table. Adding a method here types it for client and server. */
export const METHODS = {
  /** Liveness and version. */
  ping: {
    params: empty,
    result: z.object({
      protocol: z.number(),
      version: z.string(),
      pid: z.number(),
      health: healthSchema,
      /** Absent from a pmond of protocol 2 (see V2_CAPABILITIES). */
      capabilities: z.array(z.string().max(64)).max(1024).optional(),
    }),
  },
  /**
   * The processes the caller may see, by id, one page at a time: those with an id above
   * `after`, as many as fit in one reply; `next` is the `after` of the next page, or null.
   */
  list: {
    params: z.object({ after: z.number().int().min(0).optional() }).strict(),
    result: z.object({ processes: views, next: z.number().int().nullable() }),
  },
  /** As list, each process as a table shows it (processRow); in the capabilities of a pmond that has it. */
  table: {
    params: z.object({ after: z.number().int().min(0).optional() }).strict(),
    result: z.object({ processes: z.array(processRow), next: z.number().int().nullable() }),
  },
  /** One process by id or name. */
  describe: { params: target, result: processView },
  /** Create and start a process. */
  exec: { params: execParams, result: processView },
  /** Stop one process (force: SIGKILL at once). */
  stop: { params: targetForce, result: processView },
  /** (Re)start one process; count says whether it counts as a restart. */
  /**
   * (Re)start one process (count: as a restart). With changes (the Go pmon3's restart flags;
   * feature `apps`): its app's args, user, log, log_dir, autorestart or dependencies are changed
   * first, then every instance of it restarts.
   */
  restart: {
    params: z
      .object({
        target: targetSchema,
        count: z.boolean(),
        changes: z
          .object({
            args: z.array(argSchema).max(MAX_ARGS).optional(),
            user: userSchema.optional(),
            log: absPath('log file').optional(),
            log_dir: absPath('log dir').optional(),
            auto_restart: z.literal(false).optional(),
            dependencies: z.array(nameSchema).max(256).optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    result: processView,
  },
  /** Delete one process; a running one only with force (stopped first). */
  delete: { params: targetForce, result: processView },
  /** Stop every process the caller owns. */
  kill: { params: forceOnly, result: summaries },
  /** Start every stopped or failed process the caller owns. */
  /**
   * Start every stopped or failed process the caller owns, apps in dependency order, each app
   * once its dependencies have run for their startsecs; config_only (feature `apps`): only apps
   * from apps files and process config files (the Go pmon3's init -c).
   */
  init: { params: z.object({ config_only: z.boolean().optional() }).strict(), result: summaries },
  /** Stop and delete every process the caller owns. */
  drop: { params: forceOnly, result: summaries },
  /** Reset restart counters of one process, or of all the caller owns. */
  reset: { params: z.object({ target: targetSchema.optional() }).strict(), result: summaries },
  /**
   * The last `lines` lines of a process's log. With follow, the server then
   * streams appended text as `data` events until the client disconnects.
   * With all (`log -a`), the rotated copies beside the log (oldest first), then
   * the current log, each whole up to MAX_COPY_TEXT, are streamed as `data`
   * events (`lines` does not apply; the reply's text is empty), after one
   * `files` event saying what is read, skipped and cut; the reply carries the
   * same. Older pmonds refuse `all`; older clients never send it.
   */
  log: {
    params: z
      .object({ target: targetSchema, lines: z.number().int().min(0).max(100000), follow: z.boolean(), all: z.boolean().optional(), crash: z.boolean().optional() })
      .strict(),
    result: z.object({ path: z.string(), text: z.string() }).merge(logFilesSchema.partial()),
  },
  /**
   * `log rotate [TARGET]`: each process the selector names (none: every one the caller may see)
   * whose log has a logger (rotate:, timestamps:) rotates at its next line boundary.
   */
  log_rotate: {
    params: z.object({ target: targetSchema.optional() }).strict(),
    result: z.object({ rotated: z.array(z.string()), skipped: z.array(z.object({ name: z.string(), why: z.string() })) }),
  },
  /** run (feature tasks): start it now — a cron app's run out of schedule, a once app again; each process the selector names. */
  run: { params: target, result: summaries },
  /** trystart (feature tasks): restart what runs, start what does not; each process the selector names. */
  trystart: { params: target, result: summaries },
  /** info (feature tasks): pmond's version, uptime, paths, processes per status, health. */
  info: {
    params: empty,
    result: z.object({
      version: z.string(),
      pid: z.number().int(),
      uid: z.number().int(),
      started_at: z.string(),
      uptime_ms: z.number(),
      config_path: z.string(),
      socket_path: z.string(),
      data_dir: z.string(),
      logs_dir: z.string(),
      /** Its configured apps files and directories (config apps, process_config_file). */
      apps_paths: z.array(z.string()),
      /** Processes the caller may see, per status. */
      counts: z.record(z.string(), z.number().int()),
      apps: z.number().int(),
      health: healthSchema,
    }),
  },
  /**
   * One action on every process the targets select: ids, names, user/name, or
   * `all` (every process the caller may see). Selectors, so that groups and
   * instances can be added without a method per verb. start (count false) and
   * restart (counted) of a stopped process start it; stop and delete take force.
   */
  act: {
    params: z
      .object({ action: z.enum(ACTIONS), targets: z.array(targetSchema).min(1).max(1000), force: z.boolean() })
      .strict(),
    result: summaries,
  },
  /**
   * The last `lines` lines of several processes' logs (no targets: every process
   * the caller may see), each sent as `data` events carrying `source`; with
   * follow, appended text too until the client disconnects (at most
   * MAX_FOLLOWED_LOGS logs). A log that cannot be read is named in `skipped`.
   */
  logs: {
    params: z
      .object({ targets: z.array(targetSchema).max(1000), lines: z.number().int().min(0).max(100000), follow: z.boolean() })
      .strict(),
    result: z.object({
      processes: z.array(z.object({ id: z.number().int(), name: z.string(), path: z.string() })),
      skipped: z.array(z.object({ id: z.number().int(), name: z.string(), error: z.string() })),
    }),
  },
  /**
   * Converge the caller's apps on those of apps files (read by the caller): add, change (restart
   * only what executes differently), scale; with prune, remove apps an earlier apply took from
   * these files that they no longer define. All or nothing: one bad app changes nothing.
   * dry_run: the diff only.
   */
  apply: {
    params: z
      .object({ apps: z.array(appSpecWire).max(1000), files: z.array(absPath('file')).max(1024), prune: z.boolean(), dry_run: z.boolean() })
      .strict(),
    result: z.object({ changes: z.array(appChange), counts: z.record(z.string(), z.number().int()) }),
  },
  /**
   * Groups (the Go pmon3's `group` commands): create, del, ls, desc, and assign/remove apps
   * (targets) to/from groups. Acting on members is `act` with `@group` targets.
   */
  group: {
    params: z
      .object({
        action: z.enum(['create', 'del', 'ls', 'desc', 'assign', 'remove']),
        groups: z.array(targetSchema).max(64),
        targets: z.array(targetSchema).max(1000),
      })
      .strict(),
    result: z.object({ groups: z.array(groupView) }),
  },
  /** pmond's configured apps files (`apps`), read again by pmond and applied (root and admin_group). */
  reload: {
    params: z.object({ dry_run: z.boolean() }).strict(),
    result: z.object({ changes: z.array(appChange), counts: z.record(z.string(), z.number().int()) }),
  },
  /**
   * A rolling reload of one app (internal/supervisor/rolling.ts): its running instances replaced
   * by new ones, max_surge at a time, each old one stopped only once its new one is ready. A new
   * one that fails: FAILED_PRECONDITION, the new ones stopped, the old ones serve on.
   */
  upgrade: {
    params: z.object({ target: targetSchema }).strict(),
    result: z.object({ replaced: z.number().int(), ms: z.number().int(), processes: summaries }),
  },
  /**
   * Set an app's number of instances (relative: add count, which may be negative): new instances
   * start as the others run; the highest go first. An apps file still says its own number: the
   * next apply of it converges back (declarative).
   */
  scale: {
    params: z.object({ target: targetSchema, count: z.number().int().min(-1000).max(1000), relative: z.boolean() }).strict(),
    result: summaries,
  },
  /** The caller's apps (root and admin_group: everyone's) with their definitions and instances, for export. */
  apps: {
    params: z.object({}).strict(),
    result: z.object({ apps: z.array(appView) }),
  },
  /** The dependency order of the caller's apps (the Go pmon3's `dgraph`); config_only: apps from files only. */
  dgraph: {
    params: z.object({ config_only: z.boolean() }).strict(),
    result: z.object({ queue: z.array(z.string()), graph: z.array(z.string()) }),
  },
  /**
   * CPU and memory history (feature `stats`, internal/stats/history.ts): per process the selectors
   * name (none: every one the caller may see) its last points at one resolution (minutes per
   * point), oldest first, null where nothing was sampled.
   */
  stat: {
    params: z
      .object({
        targets: z.array(targetSchema).max(1000),
        resolution: z.union([z.literal(1), z.literal(5), z.literal(15), z.literal(60), z.literal(240), z.literal(720)]),
      })
      .strict(),
    result: z.object({
      res_minutes: z.number().int(),
      points: z.number().int(),
      interval_ms: z.number().int(),
      series: z.array(z.object({ id: z.number().int(), name: z.string(), cpu: z.array(z.number().nullable()), memory: z.array(z.number().nullable()) })),
    }),
  },
  /**
   * Bytes for a process's stdin (feature `input`): only its owner (not root or admin_group on
   * someone else's behalf), only an app with `stdin: true`. Written without blocking: what does
   * not fit the FIFO now (64 KiB) is refused, UNAVAILABLE, and `written` says how much went.
   */
  input: {
    params: z.object({ target: targetSchema, data: z.string().max(65536) }).strict(),
    result: z.object({ written: z.number().int() }),
  },
  /**
   * State changes as they happen (feature `events`), until the caller goes: each a `data` event
   * holding one JSON line (`{"event": "status"|"start"|"stop"|"restart"|"failure"|"backoff",
   * "time", "process"}`) about a process the caller may see. What `ls --watch` redraws on.
   */
  events: {
    params: empty,
    result: z.object({ ended: z.boolean() }),
  },
} as const;

export type MethodName = keyof typeof METHODS;
export type Params<M extends MethodName> = z.infer<(typeof METHODS)[M]['params']>;
export type Result<M extends MethodName> = z.infer<(typeof METHODS)[M]['result']>;

export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** Every process `list` (or `table`) gives, page after page (page(after) asks for one). */
export async function allPages<T>(page: (after: number) => Promise<{ processes: T[]; next: number | null }>): Promise<T[]> {
  const out: T[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const p: { processes: T[]; next: number | null } = await page(after);
    out.push(...p.processes);
    after = p.next;
  }
  return out;
}

/** Envelope of a request frame. */
export const requestEnvelope = z
  .object({
    v: z.number().int(),
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().max(64),
    params: z.unknown(),
  })
  .strict();

/** A reply frame: exactly one per request, after any events. */
export type Reply =
  | { v: number; id: number; ok: true; result: unknown }
  | { v: number; id: number; ok: false; error: { code: string; message: string } };

/**
 * An event frame, sent before the reply of a request: `data` carries streamed
 * text (log follow); `alive` says every ALIVE_MS that a request is still being
 * worked on, so a client can tell a slow answer from a hung pmond; `files`
 * says, once, what `log -a` reads (clients that do not know it ignore it).
 */
export type EventFrame =
  | { v: number; id: number; event: 'data'; data: string; source?: EventSource }
  | { v: number; id: number; event: 'alive' }
  | ({ v: number; id: number; event: 'files' } & LogFilesInfo);

/** Which process a `data` event's text comes from (logs of several processes). */
export interface EventSource {
  id: number;
  name: string;
  /** Set (with empty data) when that process's log cannot be read: why, in one line. */
  error?: string;
}

/** How often pmond sends `alive` for a request in flight (ms). Clients wait several times this. */
export const ALIVE_MS = 2000;

/** Turn a zod error into one line naming the field. */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid request';
  const path = issue.path.length ? issue.path.join('.') : 'request';
  return `${path}: ${issue.message}`;
}

/** What a pmond of protocol 2 (which lists no capabilities) could do: its methods. */
export const V2_CAPABILITIES: readonly string[] = ['ping', 'list', 'describe', 'exec', 'stop', 'restart', 'delete', 'kill', 'init', 'drop', 'reset', 'log', 'logs', 'act'];

/** This build's capabilities, as its `ping` reports them. */
export function capabilities(): string[] {
  return [...Object.keys(METHODS), ...FEATURES];
}
