/**
 * PM2's saved process list (`pm2 save` → ~/.pm2/dump.pm2) into our apps file's entries.
 *
 * The format, from PM2's source (lib/God/ActionMethods.js dumpProcessList): a JSON array (one
 * line, JSON.stringify) of each process's pm2_env, one element per instance (pm_id and
 * instances deleted). An element holds the app's resolved configuration under PM2's internal
 * names (pm_exec_path, pm_cwd, exec_interpreter, pm_out_log_path, ...), its runtime state
 * (status, pm_uptime, restart_time, axm_*, ...), and, copied to the top by God.executeApp,
 * every variable of its env. Elements of one name are one app with that many instances.
 *
 * Its `env` is the whole environment of the shell `pm2 start` ran in, plus the app's own
 * variables, plus PM2's (Common.prepareAppConf, God.prepare). We keep the app's own, by this
 * rule (PM2 keeps nothing that tells them apart):
 *  1. PM2's own are dropped: pm_*, PM2_*, the instance variable (NODE_APP_INSTANCE or
 *     instance_var), unique_id, current_conf, axm_*, km_link, vizion_running.
 *  2. The login session's are dropped: variables that describe the shell or terminal, not the
 *     app (PWD, OLDPWD, SHLVL, _, TERM, SSH_*, XDG_*, DISPLAY, ...), and HOME, USER, LOGNAME,
 *     SHELL, which pmon3 sets from the account the app runs as.
 *  3. A variable equal, name and value, to one of the importing caller's environment
 *     (opts.environ) is dropped: it came from the same login, and is not the app's.
 * What remains is kept (NODE_ENV, PORT, DATABASE_URL, ... but also PATH or LANG when they
 * differ from the caller's). One warning per app gives the count dropped and the names.
 * Runtime state and the keys PM2 filled with its defaults are not configuration: skipped
 * silently; any other key is mapped (pm2.ts's mapper) or warned.
 */
import { load } from '../apps/file';
import { invalidArgument } from '../protocol/errors';
import { byLine, type Pm2Context, pm2App, readAs } from './pm2';
import type { AppEntry, ImportOptions, ImportResult, ImportSource, ImportWarning } from './types';

/** The dump's options: the caller's environment, for rule 3 of the env filter. */
export interface Pm2DumpOptions extends ImportOptions {
  /** The importing caller's environment (the CLI passes process.env); absent: rule 3 is off. */
  environ?: Readonly<Record<string, string | undefined>>;
}

/** The dump's names → the ecosystem's (the mapper's words). */
const RENAME: Readonly<Record<string, string>> = {
  pm_exec_path: 'script',
  pm_cwd: 'cwd',
  pm_out_log_path: 'out_file',
  pm_err_log_path: 'error_file',
  pm_log_path: 'log_file',
};

/** Runtime state and PM2's bookkeeping: not configuration. */
const STATE = new Set([
  'status', 'pm_uptime', 'restart_time', 'unstable_restarts', 'created_at', 'pm_id', 'pm_pid_path', 'version', 'versioning',
  'node_version', 'exit_code', 'unique_id', 'vizion_running', 'prev_restart_delay', 'km_link', 'username', 'instances',
  'NODE_APP_INSTANCE', 'pmx_module', 'env_diff', 'updateEnv', 'current_conf', 'cwd', 'pm_exec_path_md5', 'axm_actions',
  'axm_monitor', 'axm_options', 'axm_dynamic', 'restart_delay_varying', 'started_inside', 'ProcessContainerFork',
]);

/** Keys PM2 fills with its defaults (schema.json), silent at that value. */
const PM2_DEFAULTS: Readonly<Record<string, unknown>> = {
  vizion: true, autostart: true, autorestart: true, instance_var: 'NODE_APP_INSTANCE', pmx: true, automation: true,
  treekill: true, windowsHide: true, kill_retry_time: 100, namespace: 'default', exec_mode: 'fork_mode', watch: false,
  merge_logs: true, source_map_support: true, disable_source_map_support: false, disable_trace: true, trace: false,
  force: false, append_env_to_name: false, wait_ready: false, shutdown_with_message: false, exp_backoff_restart_delay: 0,
  restart_delay: 0, filter_env: [], node_args: [], ignore_watch: [], args: [], time: false, disable_logs: false,
};

const SESSION = new Set(['PWD', 'OLDPWD', 'SHLVL', '_', 'TERM', 'COLORTERM', 'DISPLAY', 'LS_COLORS', 'MAIL', 'DBUS_SESSION_BUS_ADDRESS', 'TMUX', 'TMUX_PANE', 'STY', 'WINDOWID', 'LESSOPEN', 'LESSCLOSE', 'MOTD_SHOWN', 'HOME', 'USER', 'LOGNAME', 'SHELL']);
const SESSION_RE = /^(SSH_|XDG_|SUDO_|TERM_|VTE_|GPG_|WAYLAND_)/;
const PM2_VAR_RE = /^(pm_|PM2_|axm_)/;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Whether text is a PM2 dump: a JSON array of objects with pm_exec_path. */
export function detectPm2Dump(text: string, _file: string): boolean {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return false;
  }
  return Array.isArray(data) && data.length > 0 && data.every((e) => e && typeof e === 'object' && 'pm_exec_path' in e);
}

/** The app's own variables of a dump's env (the rule above), and what was dropped, by reason. */
export function appEnvOf(env: Record<string, unknown>, instanceVar: string, environ: Pm2DumpOptions['environ']): { env: Record<string, unknown>; dropped: { pm2: string[]; session: string[]; inherited: string[] } } {
  const out: Record<string, unknown> = {};
  const dropped = { pm2: [] as string[], session: [] as string[], inherited: [] as string[] };
  for (const [k, v] of Object.entries(env)) {
    if (PM2_VAR_RE.test(k) || k === instanceVar || k === 'NODE_APP_INSTANCE' || STATE.has(k) || k === 'unique_id') dropped.pm2.push(k);
    else if (SESSION.has(k) || SESSION_RE.test(k)) dropped.session.push(k);
    else if (environ && environ[k] !== undefined && environ[k] === String(v)) dropped.inherited.push(k);
    else out[k] = v;
  }
  return { env: out, dropped };
}

/** A PM2 dump as our apps (one app per name, its instances counted). */
export function importPm2Dump(file: string, opts: Pm2DumpOptions): ImportResult {
  const text = readAs(opts, file);
  const { data, locate } = load(text, file, 'json');
  if (!Array.isArray(data)) throw invalidArgument(`${file}:1: a PM2 dump is a JSON list of processes`);
  const warnings: ImportWarning[] = [];
  // Elements by name, in first-seen order.
  const byName = new Map<string, number[]>();
  data.forEach((e, i) => {
    if (!e || typeof e !== 'object' || Array.isArray(e) || typeof (e as { name?: unknown }).name !== 'string') {
      throw invalidArgument(`${file}:${locate([i]) ?? 1}: [${i}]: a process with a name expected`);
    }
    const name = (e as { name: string }).name;
    byName.set(name, [...(byName.get(name) ?? []), i]);
  });
  const apps: AppEntry[] = [];
  const sources: ImportSource[] = [];
  for (const [, idx] of byName) {
    // The instance PM2 numbered lowest stands for the app.
    const instanceVar = (e: Record<string, unknown>): string => (typeof e.instance_var === 'string' ? e.instance_var : 'NODE_APP_INSTANCE');
    const ordered = idx.map((i) => [i, data[i] as Record<string, unknown>] as const).sort((a, b) => Number(a[1][instanceVar(a[1])] ?? 0) - Number(b[1][instanceVar(b[1])] ?? 0));
    const [i, e] = ordered[0]!;
    const at = [i];
    const envRaw = e.env && typeof e.env === 'object' && !Array.isArray(e.env) ? (e.env as Record<string, unknown>) : {};
    const ctx: Pm2Context = {
      file,
      field: (k) => `[${i}].${k}`,
      line: (k) => (k === undefined ? locate(at) : (locate([...at, k]) ?? locate(at))),
      warnings,
    };
    // The element in the ecosystem's words: configuration only.
    const eco: Record<string, unknown> = {};
    const spelled: Record<string, string> = {};
    for (const [k, v] of Object.entries(e)) {
      if (k === 'env' || STATE.has(k) || k.startsWith('axm_') || k.startsWith('env_')) continue;
      // Top-level copies of env's variables (God.executeApp extends pm2_env with env).
      if (k in envRaw && same(envRaw[k], v) && !(k in RENAME) && k !== 'name') continue;
      if (k === 'instance_var' || (k in PM2_DEFAULTS && same(PM2_DEFAULTS[k], v))) continue;
      const canon = RENAME[k] ?? k;
      if (canon === 'exec_mode' && v === 'fork_mode') continue;
      eco[canon] = v;
      spelled[canon] = k;
    }
    const { env, dropped } = appEnvOf(envRaw, instanceVar(e), opts.environ);
    if (Object.keys(env).length) eco.env = env;
    if (ordered.length > 1) eco.instances = ordered.length;
    // PM2 wrote each instance's log as NAME-out-ID.log (without merge_logs): the app's is unnumbered.
    if (ordered.length > 1) {
      for (const k of ['out_file', 'error_file', 'log_file']) {
        const p = eco[k];
        if (typeof p !== 'string' || !/-\d+\.log$/.test(p)) continue;
        eco[k] = p.replace(/-\d+\.log$/, '.log');
        warnings.push({ file, line: ctx.line(spelled[k]), field: ctx.field(spelled[k]!), message: `PM2 numbered each instance's log; taken as ${String(eco[k])} (pmon3 names each instance's log itself)` });
      }
    }
    const mapped = pm2App(eco, { ...ctx, field: (k) => ctx.field(spelled[k] ?? k), line: (k) => ctx.line(k === undefined ? undefined : (spelled[k] ?? k)) }, i);
    const n = dropped.pm2.length + dropped.session.length + dropped.inherited.length;
    if (n) {
      const part = (what: string, ks: string[]): string[] => (ks.length ? [`${ks.length} ${what} (${ks.slice(0, 12).join(', ')}${ks.length > 12 ? ', ...' : ''})`] : []);
      warnings.push({
        file,
        line: ctx.line('env'),
        field: ctx.field('env'),
        message: `${n} variables dropped as not the app's own: ${[...part("PM2's", dropped.pm2), ...part("the login session's", dropped.session), ...part('equal to your environment', dropped.inherited)].join('; ')}`,
      });
    }
    apps.push(mapped);
    sources.push({ file, line: locate(at) });
  }
  return { format: 'pm2-dump', apps, warnings: byLine(warnings), files: [file], sources };
}
