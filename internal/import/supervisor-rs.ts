/**
 * supervisor-rs (ccqpein/supervisor-rs): a server.yaml naming `loadpaths`, directories of one
 * YAML file per child. Meanings from its source (src/server.rs, src/child.rs, src/child/*.rs):
 *   - a child is every *.yml|*.yaml file in a loadpath, named by its file name up to the first
 *     dot (a name in two loadpaths: the first wins, as find_config_by_name does);
 *   - mode (default quiet) decides what starts with the server: full every child, quiet none,
 *     half those in `startup` (names not found are skipped): our autostart per child;
 *   - command is split at its first space into the program and the rest, the rest on single
 *     spaces (no quoting, no shell); it runs in the directory of its file;
 *   - output: [{stdout: PATH, mode: create|append}, {stderr: PATH, ...}], files the server opens
 *     (relative to its own working directory); without it the child writes to the server's;
 *   - an exited child is never restarted: restart: never. repeat {action, seconds} runs the
 *     client command `action NAME` (default restart) seconds after a start, while the same
 *     process runs: our repeat {action, every: seconds}, which pmon3 runs on the instance it was
 *     armed for, as supervisor-rs does (actions restart, start, stop, trystart; another is warned
 *     and dropped);
 *   - hooks [{prehook: "start other"}, {posthook: ...}] run client commands before a start and
 *     after a stop. A prehook `start|trystart|restart other` (the hook chains of its README)
 *     becomes dependencies: [other]: other is up before this child starts. If other would not
 *     start with the server (mode), it is imported with autostart as this child is (supervisor-rs
 *     starts it through the hook); restart other is warned (pmon3 does not restart a running
 *     dependency). Other hooks (a posthook, another command) have no per-app equivalent: warned.
 * Given a server.yaml, its loadpaths are listed and read through opts; given one child's file,
 * just that child.
 */
import * as path from 'node:path';
import { type AppEntry, type ImportOptions, type ImportResult, type ImportWarning } from './types';
import { appName, compact, fail, Fields, inOrder, isMapping, parseSource, type Source, warn } from './located';
import { goArgs } from './pmon3-go';
import { nameSchema } from '../protocol/methods';

const SERVER_KEYS = ['loadpaths', 'mode', 'startup', 'encrypt', 'pub_keys_path', 'listener_addr', 'ipv6'];
const CHILD_KEYS = ['command', 'output', 'repeat', 'hooks'];
const REPEAT_ACTIONS = ['restart', 'start', 'stop', 'trystart'] as const;
type RepeatAction = (typeof REPEAT_ACTIONS)[number];
/** A prehook that became a dependency, where it was (for warnings about it later). */
interface DepHook {
  dep: string;
  verb: string;
  src: Source;
  at: Array<string | number>;
  field: string;
}
const isChildFile = (f: string): boolean => ['.yml', '.yaml'].includes(path.extname(f));
/** The child name of a file: its name up to the first dot. */
const childName = (f: string): string => path.basename(f).split('.')[0]!;

export function detectSupervisorRs(text: string, file: string): boolean {
  try {
    const { data } = parseSource(text, file, 'yaml');
    if (!isMapping(data)) return false;
    const keys = Object.keys(data);
    if (Array.isArray(data.loadpaths)) return keys.every((k) => SERVER_KEYS.includes(k));
    return typeof data.command === 'string' && keys.every((k) => CHILD_KEYS.includes(k));
  } catch {
    return false;
  }
}

export function importSupervisorRs(file: string, opts: ImportOptions): ImportResult {
  const src = parseSource(opts.read(file), file, 'yaml');
  if (!isMapping(src.data)) fail(src, [], 'expected a supervisor-rs server.yaml (loadpaths: [...]) or a child\'s yaml (command: ...)');
  if (!('loadpaths' in src.data) && 'command' in src.data) {
    const { app } = child(src, file, undefined);
    return { format: 'supervisor-rs', apps: [app], warnings: inOrder(src.warnings, [file]), files: [file] };
  }
  return server(src, file, opts);
}

function server(src: Source, file: string, opts: ImportOptions): ImportResult {
  const f: Fields = new Fields(src, [], src.data as Record<string, unknown>, '');
  const loadpaths = f.strList('loadpaths') ?? [];
  const mode = f.str('mode') ?? 'quiet';
  // supervisor-rs takes any other mode as quiet.
  if (!['full', 'quiet', 'half'].includes(mode)) f.warn('mode', `not full, quiet or half: supervisor-rs takes it as quiet (no child starts with it)`);
  const startup = f.strList('startup');
  if (startup === undefined && mode === 'half') f.fail('mode', 'a startup list with half mode (supervisor-rs does not start without one)');
  if (startup !== undefined && mode !== 'half') f.warn('startup', `used in half mode only; mode is ${mode}: ignored`);
  f.warnTaken('encrypt', "supervisor-rs's signed client commands; pmon3's clients are local and known by their uid; ignored");
  f.warnTaken('pub_keys_path', "supervisor-rs's client keys; pmon3's clients are local and known by their uid; ignored");
  f.warnTaken('listener_addr', "supervisor-rs's TCP address; pmon3 is controlled through pmond's unix socket; ignored");
  f.warnTaken('ipv6', "supervisor-rs's TCP address; pmon3 is controlled through pmond's unix socket; ignored");
  f.rest('not a key of supervisor-rs\'s server config; ignored');

  const files = [file];
  const warnings: ImportWarning[] = src.warnings;
  const apps: AppEntry[] = [];
  const seen = new Map<string, string>();
  const depHooks = new Map<AppEntry, DepHook[]>();
  const base = path.dirname(file);
  loadpaths.forEach((lp, i) => {
    if (!path.isAbsolute(lp)) warn(src, ['loadpaths', i], `loadpaths[${i}]`, "relative to supervisor-rs-server's working directory there; to this file's directory here");
    const dir = path.isAbsolute(lp) ? lp : path.join(base, lp);
    let names: string[];
    try {
      names = opts.list(dir);
    } catch (e) {
      fail(src, ['loadpaths', i], `loadpaths[${i}]: ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (supervisor-rs does not start then)`);
    }
    for (const n of [...names].filter(isChildFile).sort()) {
      const cf = path.join(dir, n);
      const name = childName(n);
      const first = seen.get(name);
      if (first !== undefined) {
        warnings.push({ file: cf, field: 'command', message: `child ${name} is also ${first}: supervisor-rs runs the first; not imported` });
        continue;
      }
      seen.set(name, cf);
      files.push(cf);
      const csrc = parseSource(opts.read(cf), cf, 'yaml');
      csrc.warnings = warnings;
      if (!isMapping(csrc.data)) fail(csrc, [], "expected a child's yaml (command: ...)");
      const autostart = mode === 'full' ? undefined : mode === 'half' && (startup ?? []).includes(name) ? undefined : false;
      const c = child(csrc, cf, autostart);
      apps.push(c.app);
      depHooks.set(c.app, c.hooks);
    }
  });
  // A prehook naming no child: supervisor-rs's command finds nothing to start; apply would refuse it.
  for (const app of apps) {
    const hs = depHooks.get(app) ?? [];
    const missing = hs.filter((h) => !seen.has(h.dep));
    if (missing.length === 0) continue;
    for (const h of missing) warn(h.src, h.at, h.field, `no child ${h.dep} in the loadpaths: nothing for supervisor-rs to start; dropped from dependencies`);
    const keep = [...new Set(hs.filter((h) => seen.has(h.dep)).map((h) => h.dep))];
    if (keep.length) app.dependencies = keep;
    else delete app.dependencies;
    depHooks.set(app, hs.filter((h) => seen.has(h.dep)));
  }
  // A prehook starts its dependency with this child: one that would not start with the server
  // does when this child does (to a fixpoint: a chain of hooks).
  for (let changed = true; changed; ) {
    changed = false;
    for (const app of apps) {
      if (app.autostart === false) continue;
      for (const h of depHooks.get(app) ?? []) {
        const dep = apps.find((a) => a.name === h.dep);
        if (!dep || dep.autostart !== false) continue;
        delete dep.autostart;
        changed = true;
        warn(h.src, h.at, h.field, `${h.dep} does not start with the server (mode ${mode}) but this hook starts it with ${app.name}: imported with autostart`);
      }
    }
  }
  if (mode === 'half') {
    for (const [i, n] of (startup ?? []).entries()) if (!seen.has(n)) warn(src, ['startup', i], `startup[${i}]`, `no child ${n} in the loadpaths: supervisor-rs skips it`);
  }
  return { format: 'supervisor-rs', apps, warnings: inOrder(warnings, files), files };
}

function child(src: Source, file: string, autostart: false | undefined): { app: AppEntry; hooks: DepHook[] } {
  const name = childName(file);
  const f: Fields = new Fields(src, [], src.data as Record<string, unknown>, '');
  appName(src, ['command'], `child ${name} (its file name)`, name);
  const command = f.str('command');
  if (!command) f.fail('command', 'the command to run');
  // splitn(2, ' '), then the rest on single spaces.
  const sp = command.indexOf(' ');
  const prog = sp < 0 ? command : command.slice(0, sp);
  const rest = sp < 0 ? undefined : command.slice(sp + 1);
  if (!prog) f.fail('command', 'a program first (supervisor-rs splits at the first space)');
  const cwd = path.resolve(path.dirname(file));
  const log = output(f);
  const rep = repeat(f, name);
  const deps = hooks(f, name);
  f.rest("not a key of supervisor-rs's child config; ignored");
  const app = compact<AppEntry>({
    name,
    exec: prog.includes('/') ? path.resolve(cwd, prog) : prog,
    args: goArgs(rest),
    cwd,
    dependencies: deps.length ? [...new Set(deps.map((d) => d.dep))] : undefined,
    autostart,
    restart: 'never',
    log,
    repeat: rep,
  });
  return { app, hooks: deps };
}

/** The log of output: stdout's path (or stderr's); what differs a warning. */
function output(f: Fields): string | undefined {
  const raw = f.take('output');
  if (raw === undefined || raw === null) return undefined;
  const bad = (why: string): undefined => {
    f.warn('output', `${why}: supervisor-rs ignores the whole output list then; ignored`);
    return undefined;
  };
  if (!Array.isArray(raw)) return bad('not a list');
  const got: Partial<Record<'stdout' | 'stderr', { path: string; mode: string; i: number }>> = {};
  for (const [i, e] of raw.entries()) {
    if (!isMapping(e)) return bad(`output[${i}] is not a mapping`);
    const illegal = Object.keys(e).find((k) => !['stdout', 'stderr', 'mode'].includes(k));
    if (illegal) return bad(`output[${i}].${illegal} is not stdout, stderr or mode`);
    for (const s of ['stdout', 'stderr'] as const) {
      if (!(s in e)) continue;
      if (typeof e[s] !== 'string') return bad(`output[${i}].${s} has no path`);
      got[s] = { path: e[s], mode: e.mode === 'append' ? 'append' : 'create', i };
    }
  }
  for (const s of ['stdout', 'stderr'] as const) {
    const o = got[s];
    if (!o) continue;
    const at = [...f.at, 'output', o.i, s];
    if (o.mode === 'create') warn(f.src, at, `output[${o.i}].${s}`, 'mode create truncates the file at each start; pmon3 appends to its log');
    if (!path.isAbsolute(o.path)) warn(f.src, at, `output[${o.i}].${s}`, "relative to supervisor-rs-server's working directory there; to the apps file's directory here");
  }
  const { stdout: out, stderr: err } = got;
  if (err && out && err.path !== out.path) {
    warn(f.src, [...f.at, 'output', err.i, 'stderr'], `output[${err.i}].stderr`, `pmon3 writes stderr to the same log as stdout (${out.path}); ${err.path} is not written`);
  }
  if (err && !out) warn(f.src, [...f.at, 'output', err.i, 'stderr'], `output[${err.i}].stderr`, "stdout went to supervisor-rs-server's own; pmon3 writes it to this log too");
  return (out ?? err)?.path;
}

/** repeat {action, seconds} as our repeat, or undefined (warned) where supervisor-rs ignores it or pmon3 has no such action. */
function repeat(f: Fields, name: string): AppEntry['repeat'] {
  const r = f.take('repeat');
  if (r === undefined || r === null) return undefined;
  // seconds is read as a whole number (a fraction is none); 0 or less, supervisor-rs refuses.
  if (!isMapping(r) || typeof r.seconds !== 'number' || !Number.isInteger(r.seconds) || r.seconds <= 0) {
    f.warn('repeat', 'without seconds > 0: supervisor-rs ignores it; ignored');
    return undefined;
  }
  for (const k of Object.keys(r)) if (k !== 'action' && k !== 'seconds') warn(f.src, [...f.at, 'repeat', k], `repeat.${k}`, "not a key of supervisor-rs's repeat; ignored");
  const action = typeof r.action === 'string' ? r.action : 'restart';
  if (!(REPEAT_ACTIONS as readonly string[]).includes(action)) {
    warn(f.src, [...f.at, 'repeat', 'action' in r ? 'action' : 'seconds'], 'repeat.action', `supervisor-rs runs "${action} ${name}" ${r.seconds} s after each start; pmon3's repeat does ${REPEAT_ACTIONS.join(', ')} only; ignored`);
    return undefined;
  }
  return { action: action as RepeatAction, every: r.seconds };
}

/** The hooks: prehooks starting another child as dependencies, the rest warned. */
function hooks(f: Fields, name: string): DepHook[] {
  const h = f.take('hooks');
  if (h === undefined || h === null) return [];
  const deps: DepHook[] = [];
  const list = Array.isArray(h) ? h : [h];
  list.forEach((e, i) => {
    const at = Array.isArray(h) ? [...f.at, 'hooks', i] : [...f.at, 'hooks'];
    const field = Array.isArray(h) ? `hooks[${i}]` : 'hooks';
    const pairs = isMapping(e) ? Object.entries(e) : [];
    if (pairs.length === 0) warn(f.src, at, field, 'not a prehook or posthook; ignored');
    for (const [k, v] of pairs) {
      const cmd = typeof v === 'string' ? v : JSON.stringify(v);
      // Split on whitespace, as supervisor-rs splits a hook.
      const words = typeof v === 'string' ? v.split(/\s+/).filter((x) => x !== '') : [];
      const verb = words[0] ?? '';
      const other = words[1];
      if (k === 'prehook' && words.length === 2 && other !== undefined && ['start', 'restart', 'trystart'].includes(verb) && other !== name && nameSchema.safeParse(other).success) {
        deps.push({ dep: other, verb, src: f.src, at: [...at, k], field: `${field}.${k}` });
        if (verb === 'restart') warn(f.src, [...at, k], `${field}.${k}`, `"${cmd}": mapped to dependencies: [${other}] (${other} is up before ${name} starts); pmon3 does not restart a running ${other} first`);
        continue;
      }
      if (k !== 'prehook' && k !== 'posthook') warn(f.src, [...at, k], `${field}.${k}`, 'not a prehook or posthook: supervisor-rs runs no such hook; ignored');
      else warn(f.src, [...at, k], `${field}.${k}`, `"${cmd}": a supervisor-rs command ${k === 'prehook' ? 'before each start' : 'after each stop'}; pmon3's own hooks (pre_start, post_stop) run programs, not its commands; ignored`);
    }
  });
  return deps;
}
