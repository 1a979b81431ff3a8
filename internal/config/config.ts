/**
 * Configuration shared by pmond and pmon3: one YAML file named by PMON3_CONF,
 * or the default path for the caller (system paths for root, XDG paths for
 * everyone else). A missing file means defaults; an unknown key, a wrong type
 * or an unreadable file is an error naming the key or the file.
 *
 * pmond and pmon3 resolve the per-user paths the same way (resolveConfigEnv), so a
 * user's plain `pmon3` finds the plain `pmond` they started, with no config and no
 * environment variable needed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { invalidArgument } from '../protocol/errors';
import { fromGoConfig, GoKeyError } from './go-keys';

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const hookPath = z.string().refine((s) => s === '' || s.startsWith('/'), 'must be an absolute path or empty');
const absDir = z.string().min(1).refine((s) => s.startsWith('/'), 'must be an absolute path');
const mode = z
  .union([z.number().int(), z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal mode such as "0660"')])
  .transform((v) => (typeof v === 'number' ? v : parseInt(v, 8)))
  .refine((v) => v >= 0 && v <= 0o7777, 'must be an octal mode such as "0660"');

export const HTTP_ROLES = ['admin', 'operator', 'viewer'] as const;
export type HttpRole = (typeof HTTP_ROLES)[number];

/** One key the HTTP door takes: an Ed25519 public key (or a TLS client certificate's SHA-256), bound to a Unix user and a role. */
const httpKeySchema = z
  .object({
    /** How pmond.log names it. */
    name: z.string().min(1).max(64).regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" and "-"'),
    /** `pmon3-ed25519 BASE64URL`, as `pmon3 key gen` prints it. */
    public_key: z.string().max(128).optional(),
    /** A TLS client certificate's SHA-256 fingerprint (hex, colons allowed), for mTLS instead of signatures. */
    cert_sha256: z.string().regex(/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/, 'must be a SHA-256 fingerprint in hex').optional(),
    /** The Unix user whose processes it acts on, with that user's rights on the Unix socket. */
    user: z.string().min(1).max(64).regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/, 'not a valid user name'),
    /** viewer: reads; operator: also start, stop, restart, scale, reload; admin: everything its user may do. */
    role: z.enum(HTTP_ROLES),
    /** Requests per second (a burst of twice as many); the door's `rate` when absent. */
    rate: z.number().min(0.1).max(100_000).optional(),
  })
  .strict()
  .refine((k) => !!k.public_key !== !!k.cert_sha256, 'needs exactly one of public_key and cert_sha256');

const httpSchema = z
  .object({
    /** '' (off, the default), HOST:PORT (127.0.0.1:8606, [::1]:8606, 0.0.0.0:8606), or an absolute Unix socket path. */
    listen: z
      .string()
      .max(107)
      .refine((s) => s === '' || s.startsWith('/') || /^(\[[0-9A-Fa-f:.]+\]|[0-9.]+|localhost):\d{1,5}$/.test(s), 'must be "", HOST:PORT or an absolute path'),
    /** TLS for a TCP listen: certificate and key files (PEM, root's), and client_ca to ask for client certificates. */
    tls: z.object({ cert: absDir, key: absDir, client_ca: z.union([z.literal(''), absDir]).optional() }).strict().optional(),
    keys: z.array(httpKeySchema).max(256),
    /** Open HTTP connections at most (past it, new ones are closed at once). */
    max_connections: z.number().int().min(1).max(10_000),
    /** The largest request body, in bytes. */
    max_body: z.number().int().min(1024).max(64 * 1024 * 1024),
    /** How far a signed request's timestamp may be from pmond's clock, in seconds (its nonce is kept that long). */
    max_skew: z.number().int().min(1).max(600),
    /** Requests per second per key (a burst of twice as many), unless the key says otherwise. */
    rate: z.number().min(0.1).max(100_000),
    /** Seconds a dashboard login token lasts. */
    token_ttl: z.number().int().min(30).max(86_400),
    /** The most events each stream (/v1/events, a followed log) may have unsent before it is closed. */
    stream_buffer: z.number().int().min(16 * 1024).max(64 * 1024 * 1024),
  })
  .strict();

/** Every key, its type and meaning; defaults are filled in by defaultsFor(). */
const fileSchema = z
  .object({
    /** error, warn, info or debug (PMON3_DEBUG overrides it: true or debug, info, warn, error). */
    log_level: z.enum(LOG_LEVELS),
    /** Directory of the SQLite database data.db. */
    data_dir: absDir,
    /** Directory of process logs and pmond.log. */
    logs_dir: absDir,
    /** Path of pmond's Unix socket. */
    socket_path: absDir,
    /** Mode of the socket file (who may connect; the daemon authorizes each request). */
    socket_mode: mode,
    /** Group of the socket file, empty for the daemon's own. */
    socket_group: z.string(),
    /** Members of this group may act on every process, as root can. Empty: nobody but root. */
    admin_group: z.string(),
    /** Milliseconds between liveness checks of processes pmond did not spawn itself (re-adopted ones). */
    process_monitor_interval: z.number().int().min(10).max(3_600_000),
    /** On SIGTERM/SIGINT, stop every child (true) or leave them running for re-adoption (false). */
    handle_interrupts: z.boolean(),
    /** Seconds between the stop signal and SIGKILL. */
    stop_timeout: z.number().min(0).max(3600),
    /** Signal sent to a process group to stop it. */
    stop_signal: z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']),
    /** First restart delay after an unstable run, in milliseconds (doubles each time). */
    restart_backoff_initial: z.number().int().min(0).max(3_600_000),
    /** Cap of the restart delay, in milliseconds. */
    restart_backoff_max: z.number().int().min(0).max(86_400_000),
    /** A run this many milliseconds long counts as stable and resets the backoff. */
    restart_stable_after: z.number().int().min(0).max(86_400_000),
    /**
     * The Go pmon3's flap detection: after threshold_restarted quick restarts, wait threshold_countdown
     * monitor intervals; threshold_decrement monitor intervals without a restart forgive one restart
     * (0: none). See decideRestart in internal/process/restart-policy.ts.
     */
    flap_detection: z
      .object({
        is_enabled: z.boolean(),
        threshold_restarted: z.number().int().min(1).max(1_000_000),
        threshold_countdown: z.number().int().min(1).max(1_000_000),
        threshold_decrement: z.number().int().min(0).max(1_000_000),
      })
      .strict(),
    /** Hook run after a process is restarted by pmond. */
    on_process_restart_exec: hookPath,
    /** Hook run when a process fails and will not be restarted. */
    on_process_failure_exec: hookPath,
    /** Hook run when a process enters backoff. */
    on_process_backoff_exec: hookPath,
    /** Hook run when a process is started. */
    on_process_start_exec: hookPath,
    /** Hook run when a process is stopped on request. */
    on_process_stop_exec: hookPath,
    /** Seconds a hook may run before it is killed. */
    hook_timeout: z.number().min(0.1).max(3600),
    /** Most hooks running at once; further ones wait in a bounded queue. */
    hook_concurrency: z.number().int().min(1).max(64),
    /**
     * How a hook gets the process JSON: as $1 (argv: readable by every local user in
     * /proc/PID/cmdline while the hook runs) or on its stdin (stdin: no argument).
     */
    hook_payload: z.enum(['argv', 'stdin']),
    /** Largest request or reply frame, in bytes. */
    max_frame_bytes: z.number().int().min(1024).max(64 * 1024 * 1024),
    /** Most client connections at once. */
    max_connections: z.number().int().min(1).max(65536),
    /** Seconds a connection may stay silent before pmond closes it. */
    idle_timeout: z.number().min(0.1).max(86400),
    /** Connections one uid may hold at once (root and admin_group members excepted). */
    max_connections_per_uid: z.number().int().min(1).max(65536),
    /** Of max_connections, this many are kept for root and admin_group members. */
    admin_reserved_connections: z.number().int().min(0).max(65536),
    /** Unsent reply bytes on one connection past which pmond stops reading its requests until it drains. */
    reply_buffer_pause: z.number().int().min(4096).max(1024 * 1024 * 1024),
    /** Unsent reply bytes on one connection past which pmond closes it. */
    reply_buffer_close: z.number().int().min(65536).max(1024 * 1024 * 1024),
    /** Processes one user may own (root and admin_group members may exceed it). */
    max_processes_per_user: z.number().int().min(1).max(1_000_000),
    /** Bytes of binary path, arguments and environment of one process, together (NULs included). */
    max_command_bytes: z.number().int().min(1024).max(2 * 1024 * 1024),
    /** Run each process in a cgroup v2 of its own where cgroup v2 is usable (see README "Stopping"). */
    cgroups: z.boolean(),
    /** Seconds the CLI waits for pmond to say anything before it gives up (exit 7); above pmond's 2 s `alive` beat. */
    client_timeout: z.number().min(3).max(86400),
    /**
     * Apps files and directories (every *.yaml, *.yml, *.json, *.toml in one) pmond applies at
     * boot and on `reload`, as itself: each must be owned by root or pmond's user and writable by
     * no one else (README "Apps files").
     */
    apps: z.array(absDir).max(256),
    /** The Go pmon3's process config file (JSON, YAML or TOML; PMON3_PROCESS_CONF overrides), applied as apps are; '' for none. */
    process_config_file: z.union([z.literal(''), absDir]),
    /** Which apps of `apps` start at boot: all (each as its autostart says), none, or those in apps_listed. */
    apps_start: z.enum(['all', 'none', 'listed']),
    apps_listed: z.array(z.string().min(1).max(64)).max(1024),
    /** Seconds between samples of every instance's CPU and memory for `stat`, the dashboard's sparklines (kept in memory). */
    stats_interval: z.number().int().min(1).max(3600),
    /** The HTTP API and dashboard (README "HTTP API"); off while listen is ''. */
    http: httpSchema,
  })
  .strict();

/** The resolved configuration. */
export type Config = z.infer<typeof fileSchema> & {
  /** Path the configuration was read from (it may not exist). */
  config_path: string;
  /** Lines pmond logs at start: Go pmon3 keys that do not apply, both spellings of a key set, a config file not read. */
  notices: string[];
};

/** Environment the defaults depend on (injectable for tests). */
export interface ConfigEnv {
  /** The caller's uid: 0 gets the system paths. */
  uid: number;
  /** The caller's own home directory (resolveConfigEnv checks it is theirs). */
  home: string;
  /** PMON3_CONF, PMON3_DEBUG and the XDG base directories that may be used. */
  env: NodeJS.ProcessEnv;
  /** Where root's configuration files are looked for: `/etc` unless a test says otherwise. */
  etcDir?: string;
}

/** What resolveConfigEnv looks at on the system (injectable for tests). */
export interface ConfigProbe {
  /** Owner uid of directory p; null if p does not exist; undefined if it is no directory or cannot be looked at. */
  dirOwner(p: string): number | null | undefined;
  /** The home directory of uid in the passwd database, or null without an entry. */
  passwdHome(uid: number): string | null;
}

/** The real system: stat(2) and the passwd entry (getpwuid_r through os.userInfo). */
export const systemProbe: ConfigProbe = {
  dirOwner(p) {
    try {
      const st = fs.statSync(p);
      return st.isDirectory() ? st.uid : undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
    }
  },
  passwdHome(uid) {
    if (uid !== (process.getuid?.() ?? 0)) return null; // only the caller's own entry is ever asked for
    try {
      return os.userInfo().homedir || null; // getpwuid_r: the passwd entry, never $HOME
    } catch {
      return null; // a uid with no passwd entry (a container's --user 12345)
    }
  },
};

/**
 * The environment the per-user defaults are resolved from, with what is someone else's
 * left out. `runuser`, `setpriv` or `sudo` without -H start a program as another user
 * with the caller's HOME (and XDG variables) still set: paths under root's home for
 * nobody are unreadable (an EACCES on every start) and paths under another user's home
 * would be shared with them. So, for a non-root caller:
 * - home is $HOME only when it is a directory the caller owns, else the passwd entry's
 *   home (what a login would have set; $HOME as given when there is no entry);
 * - XDG_CONFIG_HOME and XDG_STATE_HOME are used when absolute and either missing (they
 *   are made) or the caller's own directory;
 * - XDG_RUNTIME_DIR is used when it is the caller's own directory (the XDG rule), else
 *   /run/user/<uid> when that is (logind makes it at login; `su` and cron leave the
 *   variable unset), else there is none and the socket goes into the state directory.
 * Root's defaults are the system paths and depend on none of this.
 */
export function resolveConfigEnv(uid: number, env: NodeJS.ProcessEnv, probe: ConfigProbe = systemProbe): ConfigEnv {
  if (uid === 0) return { uid, home: env.HOME || probe.passwdHome(uid) || '/root', env };
  const own = (p: string | undefined): p is string => !!p && path.isAbsolute(p) && probe.dirOwner(p) === uid;
  const home = own(env.HOME) ? env.HOME : (probe.passwdHome(uid) ?? env.HOME ?? '/');
  const vetted: NodeJS.ProcessEnv = { ...env };
  for (const key of ['XDG_CONFIG_HOME', 'XDG_STATE_HOME'] as const) {
    const v = env[key];
    if (v !== undefined && !(path.isAbsolute(v) && (probe.dirOwner(v) === null || own(v)))) delete vetted[key];
  }
  if (!own(env.XDG_RUNTIME_DIR)) {
    const logind = `/run/user/${uid}`;
    if (own(logind)) vetted.XDG_RUNTIME_DIR = logind;
    else delete vetted.XDG_RUNTIME_DIR;
  }
  return { uid, home, env: vetted };
}

/** The ConfigEnv of this process (pmond or pmon3). */
export function currentConfigEnv(): ConfigEnv {
  return resolveConfigEnv(process.getuid?.() ?? 0, process.env);
}

/**
 * Where the configuration file is looked for, first one first: PMON3_CONF alone if set; for root
 * ours, then the Go pmon3's default (`/etc/pmon3/config/config.yml`); else the per-user file.
 * The Go default is root's only: a user's pmond must not take root's data and logs directories.
 */
export function configPathsFor(ce: ConfigEnv): string[] {
  if (ce.env.PMON3_CONF) return [path.resolve(ce.env.PMON3_CONF)];
  const etc = ce.etcDir ?? '/etc';
  if (ce.uid === 0) return [path.join(etc, 'pmond', 'config', 'config.yaml'), path.join(etc, 'pmon3', 'config', 'config.yml')];
  const base = ce.env.XDG_CONFIG_HOME || path.join(ce.home, '.config');
  return [path.join(base, 'pmon3', 'config.yaml')];
}

/** Where the configuration file is looked for first (the path pmon3 names when none exists). */
export function configPathFor(ce: ConfigEnv): string {
  return configPathsFor(ce)[0]!;
}

/**
 * The embedded defaults: system paths for root, per-user paths otherwise (ce as
 * resolveConfigEnv makes it): data and logs in $XDG_STATE_HOME/pmon3 (else
 * ~/.local/state/pmon3), the socket in $XDG_RUNTIME_DIR/pmon3/ (a directory pmond
 * makes 0700) or, without a runtime directory, in the state directory (0700 too).
 */
export function defaultsFor(ce: ConfigEnv): z.input<typeof fileSchema> {
  let data_dir: string;
  let logs_dir: string;
  let socket_path: string;
  if (ce.uid === 0) {
    data_dir = '/var/lib/pmon3';
    logs_dir = '/var/log/pmond';
    socket_path = '/var/run/pmon3/pmon3.sock';
  } else {
    const state = path.join(ce.env.XDG_STATE_HOME || path.join(ce.home, '.local', 'state'), 'pmon3');
    data_dir = state;
    logs_dir = path.join(state, 'logs');
    socket_path = ce.env.XDG_RUNTIME_DIR
      ? path.join(ce.env.XDG_RUNTIME_DIR, 'pmon3', 'pmon3.sock')
      : path.join(state, 'pmon3.sock');
  }
  return {
    log_level: 'info',
    data_dir,
    logs_dir,
    socket_path,
    socket_mode: '0666',
    socket_group: '',
    admin_group: '',
    process_monitor_interval: 500,
    handle_interrupts: true,
    stop_timeout: 10,
    stop_signal: 'SIGTERM',
    restart_backoff_initial: 100,
    restart_backoff_max: 30_000,
    restart_stable_after: 10_000,
    flap_detection: { is_enabled: false, threshold_restarted: 5, threshold_countdown: 120, threshold_decrement: 60 },
    on_process_restart_exec: '',
    on_process_failure_exec: '',
    on_process_backoff_exec: '',
    on_process_start_exec: '',
    on_process_stop_exec: '',
    hook_timeout: 30,
    hook_concurrency: 4,
    hook_payload: 'argv',
    max_frame_bytes: 1024 * 1024,
    max_connections: 256,
    idle_timeout: 60,
    max_connections_per_uid: 16,
    admin_reserved_connections: 16,
    reply_buffer_pause: 256 * 1024,
    reply_buffer_close: 4 * 1024 * 1024,
    max_processes_per_user: 256,
    max_command_bytes: 256 * 1024,
    cgroups: true,
    client_timeout: 10,
    apps: [],
    process_config_file: '',
    apps_start: 'all',
    apps_listed: [],
    stats_interval: 10,
    http: HTTP_DEFAULTS,
  };
}

export const HTTP_DEFAULTS = {
  listen: '',
  keys: [],
  max_connections: 128,
  max_body: 1024 * 1024,
  max_skew: 30,
  rate: 20,
  token_ttl: 900,
  stream_buffer: 1024 * 1024,
};

/**
 * Parse configuration text (YAML) over the defaults. Throws INVALID_ARGUMENT
 * with one line naming the file and the key.
 */
export function parseConfig(text: string, file: string, ce: ConfigEnv): Config {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYaml(text);
  } catch (e) {
    throw invalidArgument(`config ${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`config ${file}: must be a mapping of keys to values`);
  const defaults = defaultsFor(ce);
  let go: ReturnType<typeof fromGoConfig>;
  try {
    go = fromGoConfig(raw as Record<string, unknown>);
  } catch (e) {
    if (e instanceof GoKeyError) throw invalidArgument(`config ${file}: ${e.message}`);
    throw e;
  }
  const given = go.mapped;
  const merged: Record<string, unknown> = { ...defaults, ...given };
  // Nested sections merge key by key, so a file may set just one of them.
  if (given.flap_detection && typeof given.flap_detection === 'object' && !Array.isArray(given.flap_detection)) {
    merged.flap_detection = { ...defaults.flap_detection, ...(given.flap_detection as object) };
  }
  if (given.http && typeof given.http === 'object' && !Array.isArray(given.http)) {
    merged.http = { ...HTTP_DEFAULTS, ...(given.http as object) };
  }
  const res = fileSchema.safeParse(merged);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw invalidArgument(`config ${file}: unknown key "${issue.keys[0]}"`);
    }
    const key = issue.path.join('.');
    const goKey = go.origin[String(issue.path[0])];
    throw invalidArgument(`config ${file}: key "${goKey ? `${goKey}" (${key})` : `${key}"`}: ${issue.message}`);
  }
  const cfg: Config = { ...res.data, config_path: file, notices: go.notices };
  if (cfg.reply_buffer_close <= cfg.reply_buffer_pause) {
    throw invalidArgument(`config ${file}: key "reply_buffer_close" must be larger than reply_buffer_pause`);
  }
  if (cfg.admin_reserved_connections >= cfg.max_connections) {
    throw invalidArgument(`config ${file}: key "admin_reserved_connections" must be smaller than max_connections`);
  }
  const debug = debugLevel(ce.env.PMON3_DEBUG);
  if (debug) cfg.log_level = debug;
  const pc = ce.env.PMON3_PROCESS_CONF;
  if (pc) {
    if (!pc.startsWith('/')) throw invalidArgument(`PMON3_PROCESS_CONF: ${JSON.stringify(pc.slice(0, 200))} must be an absolute path`);
    cfg.process_config_file = pc;
  }
  return cfg;
}

/**
 * The log level PMON3_DEBUG asks for, as in the Go pmon3: `true` is debug, a level name is that
 * level; unset or empty, none. Anything else is an error naming it (the Go pmon3 took it as info).
 */
export function debugLevel(value: string | undefined): Config['log_level'] | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return 'debug';
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as Config['log_level'];
  throw invalidArgument(`PMON3_DEBUG: ${JSON.stringify(value)} is none of true, ${LOG_LEVELS.join(', ')}`);
}

/**
 * Load the configuration for this process (pmond or pmon3): the first of configPathsFor that
 * exists (ours before the Go pmon3's, so ours wins when both do), else defaults. A later file
 * that exists too is not read, and a notice says so.
 */
export function loadConfig(ce: ConfigEnv = currentConfigEnv()): Config {
  const files = configPathsFor(ce);
  for (const [i, file] of files.entries()) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      throw invalidArgument(`config ${file}: cannot be read (${code ?? (e as Error).message})`);
    }
    const cfg = parseConfig(text, file, ce);
    for (const other of files.slice(i + 1)) {
      if (fs.existsSync(other)) cfg.notices.push(`config: ${other} (the Go pmon3's) is not read: ${file} is`);
    }
    return cfg;
  }
  return parseConfig('', files[0]!, ce);
}
