/**
 * fib-runner (fibjs/fib-runner): runner.json, `apps: [...]`. Meanings from its source
 * (lib/config.js, lib/app.js):
 *   - an app with `runner: DIR` is a sub-project: DIR/runner.json (DIR relative to the
 *     declaring file's directory), loaded the same way, recursively; its apps are named
 *     `parent.child` (and `parent.child.grandchild`). The other keys of a runner entry are not
 *     read. A missing sub-project runner.json is an empty one (fib-runner writes it).
 *   - cwd defaults to the declaring file's directory, and is relative to it; written absolute
 *     here, since the import may be saved elsewhere. exec runs by spawn (a relative path from
 *     cwd, a bare name from PATH), script by fibjs (fork, relative to cwd). exec wins over script.
 *   - on each exit the count of retries goes up (it is reset only by a start command); it gives
 *     up when autorestart is false or startretries > 0 and the count reaches startretries, else
 *     restarts after startsecs seconds. So startsecs (default 1) is our restart_delay, and
 *     startretries (default 3; 0 or less: forever, our -1) our startretries; both are written
 *     even when absent, as fib-runner's defaults differ from ours.
 *   - autorestart (default true) false is restart: never; signal is our stop_signal; arg our
 *     args; uid/gid (passed to spawn) our user/group as ids.
 *   - savelog (default false) true: when the process exits without being stopped, fib-runner
 *     writes the output it keeps in memory (its last 2000 chunks) and CPU and RSS charts to
 *     log_NAME_TIME.txt in its own working directory. Our save_log_on_crash: true (a crash file
 *     of the log's tail, how it ended and the CPU/memory samples, in pmon3's log directory, shown by
 *     `log --crash`); pmon3
 *     writes one on a failed exit, so a clean exit 0 leaves none. A savelog that is not true or
 *     false is warned and ignored; false is the default on both sides.
 */
import * as path from 'node:path';
import { type AppEntry, type ImportOptions, type ImportResult, type ImportWarning } from './types';
import { appName, compact, envOf, fail, Fields, inOrder, isMapping, parseSource, warn } from './located';

const DEFAULT_STARTSECS = 1;
const DEFAULT_STARTRETRIES = 3;
/** Keys fib-runner uses only on the main runner.json (control interface, keys for remote admin). */
const TOP: Readonly<Record<string, string>> = {
  name: "the runner's own name; ignored",
  description: "the runner's own description; ignored",
  listen: "fib-runner's control address; pmon3 is controlled through pmond's unix socket; ignored",
  key: "fib-runner's keys for remote admin; no equivalent in pmon3; ignored",
};
/** fib-runner's own keys: where our apps files spell them differently, so a file with them is fib-runner's. */
const FIB_ONLY = ['arg', 'runner', 'autorestart', 'savelog', 'signal', 'description'];

export function detectFibRunner(text: string, file: string): boolean {
  try {
    const { data } = parseSource(text, file, 'json');
    if (!isMapping(data) || !Array.isArray(data.apps)) return false;
    if (path.basename(file) === 'runner.json' || 'listen' in data || 'key' in data) return true;
    return data.apps.some((a) => isMapping(a) && FIB_ONLY.some((k) => k in a));
  } catch {
    return false;
  }
}

export function importFibRunner(file: string, opts: ImportOptions): ImportResult {
  const files: string[] = [];
  const warnings: ImportWarning[] = [];
  const apps = project(file, opts.read(file), opts, '', files, warnings, []);
  return { format: 'fib-runner', apps, warnings: inOrder(warnings, files), files };
}

/** The apps of one runner.json, names prefixed by `prefix` (sub-projects). */
function project(file: string, text: string, opts: ImportOptions, prefix: string, files: string[], warnings: ImportWarning[], stack: string[]): AppEntry[] {
  const abs = path.resolve(file);
  files.push(file);
  const src = parseSource(text, file, 'json');
  src.warnings = warnings;
  if (!isMapping(src.data)) fail(src, [], 'expected a runner.json ({ "apps": [...] })');
  const top = src.data;
  for (const k of Object.keys(top)) {
    if (k === 'apps') continue;
    warn(src, [k], k, TOP[k] ?? 'not a key of runner.json; ignored');
  }
  if (top.apps === undefined) return [];
  if (!Array.isArray(top.apps)) fail(src, ['apps'], 'apps: expected a list of apps');
  const base = path.dirname(abs);
  const out: AppEntry[] = [];
  top.apps.forEach((raw, i) => {
    const f = Fields.of(src, ['apps', i], raw, `apps[${i}]`);
    const name = f.str('name');
    if (!name) f.fail('name', 'a name');
    const full = `${prefix}${name}`;
    appName(src, ['apps', i, 'name'], f.field('name'), full);
    const runner = f.str('runner');
    if (runner !== undefined) {
      f.rest('ignored by fib-runner on a sub-project (runner) entry');
      // Spelled as the caller spelled the declaring file (relative stays relative).
      const sub = path.join(path.isAbsolute(runner) ? runner : path.join(path.dirname(file), runner), 'runner.json');
      if ([...stack, abs].includes(path.resolve(sub))) fail(src, ['apps', i, 'runner'], `${f.field('runner')}: expected a sub-project, not a cycle (${[...stack, abs, path.resolve(sub)].join(' -> ')})`);
      let text: string;
      try {
        text = opts.read(sub);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail(src, ['apps', i, 'runner'], `${f.field('runner')}: ${sub}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        f.warn('runner', `${sub} does not exist: fib-runner makes it empty, so no apps`);
        return;
      }
      out.push(...project(sub, text, opts, `${full}.`, files, warnings, [...stack, abs]));
      return;
    }
    out.push(app(f, full, base));
  });
  return out;
}

function app(f: Fields, name: string, base: string): AppEntry {
  const exec = f.str('exec') || undefined;
  const script = f.str('script') || undefined;
  if (!exec && !script) f.fail('exec', 'exec, script or runner');
  if (exec && script) f.warn('script', 'exec is given: fib-runner ignores script; ignored');
  const cwdRaw = f.str('cwd');
  const cwd = cwdRaw ? path.resolve(base, cwdRaw) : base;
  const arg = f.take('arg');
  if (arg !== undefined && (!Array.isArray(arg) || !arg.every((a) => typeof a === 'string' || typeof a === 'number'))) f.fail('arg', 'a list of arguments');
  const envRaw = f.take('env');
  if (envRaw !== undefined && !isMapping(envRaw)) f.fail('env', 'a mapping of variables');
  const env = envRaw === undefined ? undefined : envOf(Object.entries(envRaw).map(([k, v]) => `${k}=${String(v)}`), (word, why) => f.warn('env', `${JSON.stringify(word)}: ${why}; ignored`));
  const startsecs = f.num('startsecs');
  if (startsecs !== undefined && startsecs < 0) f.fail('startsecs', 'seconds (0 or more)');
  const startretries = f.int('startretries');
  const autorestart = f.bool('autorestart');
  const uid = f.int('uid');
  const gid = f.int('gid');
  if (startretries !== undefined && startretries > 0) f.warn('startretries', 'fib-runner counts every exit since the last start, pmon3 failures in a row: mapped to startretries');
  const savelog = f.take('savelog');
  if (savelog !== undefined && savelog !== null && typeof savelog !== 'boolean') {
    f.warn('savelog', `${JSON.stringify(savelog)} is not true or false (fib-runner saves the log when it is truthy); ignored`);
  }
  f.warnTaken('description', 'no equivalent in pmon3; ignored');
  f.warnTaken('instances', 'not used by fib-runner (one process per app); ignored');
  const signal = f.str('signal');
  const autostart = f.bool('autostart');
  f.rest();
  // A relative exec or script runs from cwd (a bare exec name is looked up in PATH).
  const fromCwd = (p: string): string => path.resolve(cwd, p);
  return compact<AppEntry>({
    name,
    ...(exec ? { exec: exec.includes('/') ? fromCwd(exec) : exec } : { script: fromCwd(script!), interpreter: 'fibjs' }),
    args: Array.isArray(arg) && arg.length ? arg.map(String) : undefined,
    cwd,
    env,
    user: uid === undefined ? undefined : String(uid),
    group: gid === undefined ? undefined : String(gid),
    autostart,
    restart: autorestart === false ? 'never' : undefined,
    restart_delay: startsecs ?? DEFAULT_STARTSECS,
    startretries: startretries === undefined ? DEFAULT_STARTRETRIES : startretries <= 0 ? -1 : startretries,
    stop_signal: signal,
    save_log_on_crash: savelog === true ? true : undefined,
  });
}
