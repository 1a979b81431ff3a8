/**
 * PM2 ecosystem files (JSON or YAML: `apps: [...]`, a list of apps, or one app) into our apps
 * file's entries. A JavaScript ecosystem file is refused, never run: the user exports it as JSON.
 *
 * PM2's meaning, from its source (lib/API/schema.json, lib/Common.js prepareAppConf,
 * lib/God/ForkMode.js):
 * - `script` resolves against `cwd`, which (when relative, or absent) is where `pm2 start` ran;
 *   we take that to be the file's directory, as is the custom (our relative paths resolve there).
 * - The interpreter comes from the extension (.js node, .sh bash, .py python, ...) unless
 *   `interpreter` is given; `none` runs the script itself. `node_args`/`interpreter_args` go
 *   between the interpreter and the script.
 * - Durations are milliseconds (numbers, or strings such as "10s").
 * - `env` is merged with the selected `env_<name>` set over it (`--env name`).
 * - `cron_restart` (also spelled `cron`) restarts the app at those times, running or not: our
 *   cron_restart, in the local timezone as PM2's (PM2 has no timezone per app, none is written);
 *   0 or "0" is PM2's "no cron restart" (silent). A pattern pmon3's cron does not read (PM2's
 *   croner takes a few more forms) is warned and ignored.
 * Every key is mapped, or is a warning naming file, line and key. A key at PM2's default that is
 * also pmon3's behaviour (watch: false, exec_mode: fork, autorestart: true, ...) is silent.
 * The mapper (pm2App) is shared with the dump reader (pm2-dump.ts).
 */
import * as path from 'node:path';
import { load, type Locate } from '../apps/file';
import { parseCron } from '../schedule/cron';
import { invalidArgument } from '../protocol/errors';
import { ENV_NAME_RE, NAME_RE } from '../protocol/methods';
import type { AppEntry, ImportOptions, ImportResult, ImportSource, ImportWarning } from './types';

/** PM2's aliases (schema.json `alias`), to the key used here. */
const ALIASES: Readonly<Record<string, string>> = {
  exec: 'script',
  interpreter: 'exec_interpreter',
  interpreterArgs: 'node_args',
  interpreter_args: 'node_args',
  out: 'out_file',
  output: 'out_file',
  out_log: 'out_file',
  error: 'error_file',
  err: 'error_file',
  err_file: 'error_file',
  err_log: 'error_file',
  log: 'log_file',
  cron: 'cron_restart',
  combine_logs: 'merge_logs',
  user: 'uid',
};

/** PM2's interpreter by extension (lib/API/interpreter.json). */
const PM2_INTERPRETERS: Readonly<Record<string, string>> = {
  '.sh': 'bash', '.py': 'python', '.rb': 'ruby', '.php': 'php', '.pl': 'perl', '.js': 'node',
  '.cjs': 'node', '.mjs': 'node', '.coffee': 'coffee', '.ls': 'lsc', '.ts': 'bun', '.tsx': 'bun',
};

/** Keys with no equivalent whose message says more than "no equivalent". */
const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  log_date_format: 'no equivalent (timestamps: true writes RFC 3339 UTC with milliseconds); ignored',
  merge_logs: 'no equivalent (pmon3 names each instance\'s log itself); ignored',
  stop_exit_codes: 'no equivalent (restart: on-failure restarts on any failure); ignored',
  wait_ready: 'no equivalent (readiness is startsecs); ignored',
  listen_timeout: 'no equivalent (readiness is startsecs); ignored',
};

/** PM2 defaults that are pmon3's behaviour too: such a key is silent. */
const SILENT_DEFAULTS: Readonly<Record<string, unknown>> = {
  watch: false,
  autorestart: true,
  autostart: true,
  treekill: true,
  merge_logs: false,
  time: false,
  wait_ready: false,
  exp_backoff_restart_delay: 0,
  restart_delay: 0,
};

/** How the mapper reports: the source's spelling of a key, its line, and warnings. */
export interface Pm2Context {
  file: string;
  /** The field as the source spells it: `apps[0].watch`. */
  field: (key: string) => string;
  line: (key?: string) => number | undefined;
  warnings: ImportWarning[];
  /** The selected env_<name> set, when the file has one (--env). */
  envName?: string;
}

const warn = (c: Pm2Context, key: string, message: string): void => {
  c.warnings.push({ file: c.file, line: c.line(key), field: c.field(key), message });
};

/** PM2 milliseconds (a number, "1500", "10s", "2m") → ms, or undefined if it is none of these. */
export function pm2Ms(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
}

/** ms → our duration: whole seconds as a number, else "Nms". */
export function duration(ms: number): number | string {
  return ms % 1000 === 0 ? ms / 1000 : `${Math.round(ms)}ms`;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** PM2's env values: strings, numbers, booleans; an object is JSON-stringified, as PM2 does. */
export function pm2Env(c: Pm2Context, key: string, v: unknown, into: Record<string, string>): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'object' || Array.isArray(v)) {
    warn(c, key, 'not a map of variables; ignored');
    return;
  }
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!ENV_NAME_RE.test(k)) {
      warn(c, key, `variable "${k.slice(0, 60)}": a name of letters, digits and _ only; ignored`);
      continue;
    }
    if (val === undefined || val === null) continue;
    into[k] = typeof val === 'object' ? JSON.stringify(val) : String(val);
  }
}

/**
 * One PM2 app (an ecosystem entry, or a dump entry put in the same words) as our entry. `raw`'s
 * keys are PM2's (aliases allowed); a key the mapper does not know is "no equivalent; ignored".
 * `instances` is given by the dump (its entries are one per instance).
 */
export function pm2App(raw: Record<string, unknown>, c: Pm2Context, index: number): AppEntry {
  // Canonical key → the key as written (for messages).
  const spelled = new Map<string, string>();
  const v: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(raw)) {
    const canon = ALIASES[k] ?? k;
    if (spelled.has(canon)) warn(c, k, `same as ${spelled.get(canon)}; this one ignored`);
    else {
      spelled.set(canon, k);
      v[canon] = val;
    }
  }
  const as = (k: string): string => spelled.get(k) ?? k;
  const w = (k: string, m: string): void => warn(c, as(k), m);
  const done = new Set<string>();
  const take = (k: string): unknown => {
    done.add(k);
    return v[k];
  };

  // The script and how it runs.
  const script = str(take('script'));
  if (script === undefined) throw invalidArgument(`${c.file}${c.line() ? `:${c.line()}` : ''}: ${c.field('script')}: missing (PM2 needs a script)`);
  const cwd = str(take('cwd'));
  let name = str(take('name'));
  if (name === undefined) {
    // PM2's default: the script's file name without its extension.
    const base = path.basename(script);
    name = base.replace(/\.[^.]*$/, '') || base;
  }
  if (!NAME_RE.test(name) || name.length > 64) {
    const fixed = (name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '') || `app${index}`).slice(0, 64);
    w('name', `"${name}" is not a pmon3 name (letters, digits, . _ -); renamed ${fixed}`);
    name = fixed;
  }
  const app: AppEntry = { name };

  const argsOf = (k: string): string[] | string | undefined => {
    const a = take(k);
    if (a === undefined || a === null || a === '') return undefined;
    if (typeof a === 'string') return a;
    if (Array.isArray(a)) return a.map(String);
    w(k, 'not a string or a list; ignored');
    return undefined;
  };
  const args = argsOf('args');
  const nodeArgs = argsOf('node_args');
  const nodeList = nodeArgs === undefined ? [] : typeof nodeArgs === 'string' ? nodeArgs.split(/\s+/).filter(Boolean) : nodeArgs;
  const interpreter = str(take('exec_interpreter'));
  const ext = path.extname(script).toLowerCase();
  // In PM2 a relative script is relative to cwd; ours to the file's directory.
  const scriptPath = cwd !== undefined && !path.isAbsolute(script) && (script.includes('/') || ext !== '') ? path.join(cwd, script) : script;
  if (interpreter === 'none') {
    app.exec = scriptPath;
  } else if (nodeList.length) {
    // Our apps file has no interpreter arguments: the interpreter becomes exec, its arguments and
    // the script the first args. The script stays relative to cwd (PM2's meaning).
    const interp = interpreter ?? PM2_INTERPRETERS[ext] ?? 'node';
    const rest = args === undefined ? [] : typeof args === 'string' ? null : args;
    app.exec = interp;
    if (rest === null) {
      // A string of args: kept a string, appended after the quoted script.
      app.args = [...nodeList, script].map(shellQuote).join(' ') + ' ' + (args as string);
    } else app.args = [...nodeList, script, ...rest];
    w('node_args', `mapped to exec: ${interp} with args ${JSON.stringify(nodeList)} before the script (pmon3 has no interpreter arguments)`);
  } else if (!script.includes('/') && ext === '' && interpreter === undefined) {
    app.exec = script;
    w('script', `"${script}" is a bare name: pmon3 looks it up in PATH (PM2 first tried ${cwd ?? '.'}/${script}); write ./${script} if that is meant`);
  } else {
    app.script = scriptPath;
    if (interpreter !== undefined) app.interpreter = interpreter;
  }
  if (args !== undefined && app.args === undefined) app.args = args;
  if (cwd !== undefined) app.cwd = cwd;

  // Environment: env, then the selected set over it.
  const env: Record<string, string> = {};
  pm2Env(c, as('env'), take('env'), env);
  for (const k of Object.keys(v)) {
    if (!k.startsWith('env_')) continue;
    done.add(k);
    if (c.envName !== undefined && k === `env_${c.envName}`) pm2Env(c, as(k), v[k], env);
    else w(k, `env set not selected (import --env ${k.slice(4)} takes it over env); ignored`);
  }
  if (c.envName !== undefined && !(`env_${c.envName}` in v)) w('env', `no env_${c.envName} set here: env alone taken`);
  if (Object.keys(env).length) app.env = env;

  // Instances.
  const inst = take('instances');
  if (inst !== undefined) {
    const n = typeof inst === 'string' && /^-?\d+$/.test(inst) ? Number(inst) : inst;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1) {
      if (n > 1) app.instances = Math.min(n, 1000);
    } else if (n === 'max' || n === 0 || (typeof n === 'number' && Number.isInteger(n) && n < 0)) {
      const meant = n === 'max' || n === 0 ? 'one per CPU' : `one per CPU less ${-(n as number)}`;
      w('instances', `PM2 ran ${meant} (${JSON.stringify(inst)}); mapped to 1: set instances: N to the count you want`);
    } else w('instances', `${JSON.stringify(inst)}: not a count; ignored`);
  }
  const mode = take('exec_mode');
  if (mode !== undefined && mode !== 'fork' && mode !== 'fork_mode') {
    if (mode === 'cluster' || mode === 'cluster_mode') {
      w('exec_mode', 'cluster: pmon3 runs the instances as separate processes, with no shared port balancing by node\'s cluster module; for one port shared by all, give the app sockets: and have it listen on fd 3 (LISTEN_FDS), else each instance listens on its own port (PMON3_INSTANCE)');
    } else w('exec_mode', `${JSON.stringify(mode)}: unknown mode; ignored`);
  }

  // Restart policy.
  const bool = (k: string, set: (b: boolean) => void): void => {
    const b = take(k);
    if (b === undefined) return;
    if (typeof b === 'boolean') set(b);
    else w(k, `${JSON.stringify(b)}: not true or false; ignored`);
  };
  bool('autorestart', (b) => {
    if (!b) app.restart = 'never';
  });
  bool('autostart', (b) => {
    if (!b) app.autostart = false;
  });
  const ms = (k: string, set: (ms: number) => void): void => {
    const raw = take(k);
    if (raw === undefined) return;
    const n = pm2Ms(raw);
    if (n === undefined) w(k, `${JSON.stringify(raw)}: not milliseconds; ignored`);
    else set(n);
  };
  const maxRestarts = take('max_restarts');
  if (maxRestarts !== undefined) {
    if (typeof maxRestarts === 'number' && Number.isInteger(maxRestarts) && maxRestarts >= 0) app.startretries = Math.min(maxRestarts, 1_000_000);
    else w('max_restarts', `${JSON.stringify(maxRestarts)}: not a count; ignored`);
  }
  ms('min_uptime', (n) => {
    app.startsecs = duration(n);
  });
  ms('restart_delay', (n) => {
    if (n > 0) app.restart_delay = duration(n);
  });
  ms('exp_backoff_restart_delay', (n) => {
    if (n > 0) w('exp_backoff_restart_delay', `pmon3's own backoff doubles from restart_backoff_initial (pmond's config) up to restart_backoff_max; ${n} ms ignored`);
  });
  ms('kill_timeout', (n) => {
    app.stop_timeout = duration(n);
  });

  // Restarts at cron times (PM2's local time, as ours).
  const cron = take('cron_restart');
  if (cron !== undefined && cron !== null && cron !== 0 && cron !== '0') {
    if (typeof cron !== 'string') w('cron_restart', `${JSON.stringify(cron)}: not a cron pattern; ignored`);
    else {
      try {
        parseCron(cron);
        app.cron_restart = cron;
      } catch (e) {
        w('cron_restart', `${(e as Error).message}: not a pattern pmon3's cron reads; ignored`);
      }
    }
  }

  // max_memory_restart: our max_memory (checked every second, 3 in a row; PM2 looks every 30 s).
  const mem = take('max_memory_restart');
  if (mem !== undefined && mem !== null && mem !== '') {
    const text = typeof mem === 'string' ? mem.trim().toUpperCase().replace(/B$/, '') : mem;
    if ((typeof text === 'number' && Number.isInteger(text) && text >= 1 << 20) || (typeof text === 'string' && /^\d+(\.\d+)?[KMGT]?$/.test(text) && /[MGT]$/.test(text))) app.max_memory = text;
    else w('max_memory_restart', `${JSON.stringify(mem)}: not a size of 1M or more; ignored`);
  }

  // watch (true: the cwd; paths are the cwd's), ignore_watch, watch_delay: ours, same names.
  const watch = take('watch');
  if (watch === true) app.watch = true;
  else if (typeof watch === 'string' && watch !== '') app.watch = [watch];
  else if (Array.isArray(watch) && watch.length > 0 && watch.every((x) => typeof x === 'string' && x !== '')) app.watch = watch as string[];
  else if (watch !== undefined && watch !== false) w('watch', `${JSON.stringify(watch)}: not true or paths; ignored`);
  if (Array.isArray(app.watch) && cwd !== undefined) app.watch = app.watch.map((p) => (path.isAbsolute(p) ? p : path.join(cwd, p)));
  const ignoreWatch = take('ignore_watch');
  if (ignoreWatch !== undefined) {
    const list = typeof ignoreWatch === 'string' ? [ignoreWatch] : Array.isArray(ignoreWatch) && ignoreWatch.every((x) => typeof x === 'string') ? (ignoreWatch as string[]) : undefined;
    if (!list) w('ignore_watch', `${JSON.stringify(ignoreWatch)}: not globs; ignored`);
    else if (app.watch === undefined) w('ignore_watch', 'without watch nothing is watched; ignored');
    else app.ignore_watch = list;
  }
  ms('watch_delay', (n) => {
    if (app.watch === undefined) w('watch_delay', 'without watch nothing is watched; ignored');
    else app.watch_delay = duration(n);
  });
  if (take('watch_options') !== undefined) w('watch_options', "chokidar's options: pmon3's watcher takes none (it uses inotify); ignored");
  // time: a timestamp before every line (our logger writes it).
  const time = take('time');
  if (time === true) app.timestamps = true;
  else if (time !== undefined && time !== false) w('time', `${JSON.stringify(time)}: not true or false; ignored`);

  // Logs: pmon3 writes one log per process (stdout and stderr together), as PM2's log_file.
  const logs = (['log_file', 'out_file', 'error_file'] as const).map((k) => [k, take(k)] as const);
  const log = logs.map(([, p]) => p).find((p): p is string => typeof p === 'string' && p !== '');
  if (log !== undefined) app.log = cwd !== undefined && !path.isAbsolute(log) ? path.join(cwd, log) : log;
  for (const [k, p] of logs) {
    if (p === undefined || p === log || p === false) continue;
    if (typeof p !== 'string') w(k, `${JSON.stringify(p)}: not a path; ignored`);
    else w(k, `pmon3 writes one log per process, stdout and stderr together, to ${app.log}; ${p} ignored`);
  }

  // Identity.
  const uid = str(take('uid'));
  if (uid !== undefined) app.user = uid;
  const gid = str(take('gid'));
  if (gid !== undefined) app.group = gid;

  // Everything else: no equivalent, never silently.
  for (const [k, val] of Object.entries(v)) {
    if (done.has(k)) continue;
    if (k in SILENT_DEFAULTS && SILENT_DEFAULTS[k] === val) continue;
    w(k, NO_EQUIVALENT[k] ?? 'no equivalent; ignored');
  }
  return app;
}

/** A word quoted for our args string (single quotes when it holds anything but plain characters). */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const JS_RE = /\.(c|m)?js$/i;

/** The refusal of a JavaScript ecosystem file: one line saying how to export it. */
function refuseJs(file: string): never {
  const base = path.basename(file);
  throw invalidArgument(
    `${file}: a JavaScript ecosystem file is never run; export it as JSON: node -e 'import("./${base}").then((m) => console.log(JSON.stringify(m.default, null, 2)))' > ecosystem.json, then import that`,
  );
}

/** The apps of a parsed ecosystem file, and where each is (key path prefix). */
function appsList(data: unknown): { list: unknown[]; base: Array<string | number> } | undefined {
  if (Array.isArray(data)) return { list: data, base: [] };
  if (data && typeof data === 'object') {
    const apps = (data as { apps?: unknown }).apps;
    if (Array.isArray(apps)) return { list: apps, base: ['apps'] };
    if ('script' in data) return { list: [data], base: [] };
  }
  return undefined;
}

/** Keys only our own apps file has: a file with any of them is ours, not PM2's. */
const OURS_ONLY = ['exec', 'restart', 'startsecs', 'startretries', 'stop_signal', 'stop_timeout', 'groups', 'dependencies', 'env_file', 'log_dir'];

/** Whether text looks like a PM2 ecosystem file (a .js/.cjs/.mjs ecosystem file too: refused on import). */
export function detectPm2(text: string, file: string): boolean {
  if (JS_RE.test(file)) return /module\.exports|export\s+default/.test(text) && /\bapps\b/.test(text);
  let data: unknown;
  try {
    data = load(text, file, /\.ya?ml$/i.test(file) ? 'yaml' : 'json').data;
  } catch {
    return false;
  }
  const found = appsList(data);
  if (!found || !found.list.length) return false;
  return found.list.every((a) => a && typeof a === 'object' && 'script' in a && !('pm_exec_path' in a) && !OURS_ONLY.some((k) => k in a));
}

/** Read a file as the caller; a read error is one line. */
export function readAs(opts: ImportOptions, file: string): string {
  try {
    return opts.read(file);
  } catch (e) {
    throw invalidArgument(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Sort warnings by line (stable), so a report reads top to bottom. */
export function byLine(ws: ImportWarning[]): ImportWarning[] {
  return ws.map((w, i) => [w, i] as const).sort((a, b) => (a[0].line ?? 0) - (b[0].line ?? 0) || a[1] - b[1]).map(([w]) => w);
}

/** A PM2 ecosystem file (JSON or YAML) as our apps; opts.env selects env_<name>. */
export function importPm2(file: string, opts: ImportOptions): ImportResult {
  if (JS_RE.test(file)) refuseJs(file);
  const text = readAs(opts, file);
  const { data, locate } = load(text, file, /\.ya?ml$/i.test(file) ? 'yaml' : 'json');
  const found = appsList(data);
  if (!found) throw invalidArgument(`${file}: no PM2 apps (an ecosystem file holds apps: [...], a list of apps, or one app with script)`);
  const { list, base } = found;
  const warnings: ImportWarning[] = [];
  const loc: Locate = locate;
  if (base.length) {
    for (const k of Object.keys(data as object)) {
      if (k !== 'apps') warnings.push({ file, line: loc([k]), field: k, message: k === 'deploy' ? 'no equivalent (pmon3 does not deploy); ignored' : 'no equivalent; ignored' });
    }
  }
  if (opts.env !== undefined && !list.some((a) => a && typeof a === 'object' && `env_${opts.env}` in a)) {
    throw invalidArgument(`${file}: --env ${opts.env}: no app here has env_${opts.env}`);
  }
  const sources: ImportSource[] = [];
  const apps = list.map((raw, i) => {
    const at = [...base, i];
    const label = at.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('');
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`${file}:${loc(at) ?? 1}: ${label}: an app must be a map`);
    const ctx: Pm2Context = {
      file,
      field: (k) => `${label}.${k}`,
      line: (k) => (k === undefined ? loc(at) : (loc([...at, k]) ?? loc(at))),
      warnings,
      ...(opts.env !== undefined ? { envName: opts.env } : {}),
    };
    sources.push({ file, line: loc(at) });
    return pm2App(raw as Record<string, unknown>, ctx, i);
  });
  const seen = new Map<string, number>();
  apps.forEach((a, i) => {
    const prev = seen.get(a.name);
    if (prev !== undefined) throw invalidArgument(`${file}:${sources[i]!.line ?? 1}: ${a.name}: defined twice (first at line ${sources[prev]!.line ?? 1})`);
    seen.set(a.name, i);
  });
  return { format: 'pm2', apps, warnings: byLine(warnings), files: [file], sources };
}
