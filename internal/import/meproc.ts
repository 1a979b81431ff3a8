/**
 * Meproc (MelonCTech/Meproc): tasks as JSON, as POSTed to its /proc API (one task or a list;
 * also the `data.tasks` of its GET /proc answer). Meanings from its source (controllers/proc.m,
 * coroutines/task.m, Melang's sys.exec):
 *   - cmd runs through `/bin/sh -c`: a command without shell syntax becomes exec and args (our
 *     splitting gives the words sh would); one with shell syntax stays `/bin/sh -c CMD`, warned.
 *   - type: once runs once (never restarted): our type once. daemon is started again whenever it
 *     exits (after `interval` ms, default 3000, which it also waits before the first start): a
 *     daemon with restart: always and that restart_delay. cron runs at its `cron` schedule
 *     (default every minute) and is not started otherwise: our type cron with that cron.
 *     coroutine runs a Melang script inside Meproc: not imported, warned.
 *   - replica: that many processes of the task (name:0, name:1...): our instances.
 *   - deps: a task waits while a task it depends on is running (it starts once they have
 *     finished): our after, which means exactly that (not dependencies, started once they are up).
 *   - group is looked up as a user name (getpwnam), and that user's primary group taken.
 */
import { parseCron } from '../schedule/cron';
import { splitArgs } from '../words';
import { type AppEntry, type ImportOptions, type ImportResult } from './types';
import { appName, compact, fail, Fields, inOrder, isMapping, type KeyPath, parseSource, type Source } from './located';

const TYPES = ['once', 'daemon', 'cron', 'coroutine'] as const;
/** What Meproc adds to a task it runs (GET /proc shows them): not configuration. */
const RUNTIME = ['start_time', 'last_time', 'run_flag', 'running'];
const DEFAULT_INTERVAL_MS = 3000;
/** Meproc's cron when a cron task gives none: every minute. */
const DEFAULT_CRON = '* * * * *';

/** The tasks of the data and the key path of each. */
function tasksOf(src: Source): Array<{ at: KeyPath; raw: unknown; label: string }> {
  const d = src.data;
  if (Array.isArray(d)) return d.map((raw, i) => ({ at: [i], raw, label: `[${i}]` }));
  if (isMapping(d) && isMapping(d.data) && isMapping(d.data.tasks)) {
    return Object.entries(d.data.tasks).map(([k, raw]) => ({ at: ['data', 'tasks', k], raw, label: `data.tasks.${k}` }));
  }
  if (isMapping(d)) return [{ at: [], raw: d, label: '' }];
  fail(src, [], 'expected a Meproc task ({"name", "cmd", "type", ...}) or a list of tasks');
}

const looksLikeTask = (t: unknown): boolean => isMapping(t) && typeof t.name === 'string' && typeof t.cmd === 'string' && typeof t.type === 'string';

export function detectMeproc(text: string, file: string): boolean {
  try {
    const src = parseSource(text, file, 'json');
    const tasks = tasksOf(src);
    return tasks.length > 0 && tasks.every((t) => looksLikeTask(t.raw));
  } catch {
    return false;
  }
}

export function importMeproc(file: string, opts: ImportOptions): ImportResult {
  const src = parseSource(opts.read(file), file, 'json');
  const apps: AppEntry[] = [];
  for (const t of tasksOf(src)) {
    const app = task(Fields.of(src, t.at, t.raw, t.label));
    if (app) apps.push(app);
  }
  return { format: 'meproc', apps, warnings: inOrder(src.warnings, [file]), files: [file] };
}

function task(f: Fields): AppEntry | undefined {
  const name = f.str('name');
  if (!name) f.fail('name', 'the task name (a non-empty string)');
  appName(f.src, [...f.at, 'name'], f.field('name'), name);
  const cmd = f.str('cmd');
  if (!cmd) f.fail('cmd', 'the command (a non-empty string)');
  const type = f.str('type') as (typeof TYPES)[number] | undefined;
  if (type === undefined || !TYPES.includes(type)) f.fail('type', 'once, daemon, cron or coroutine');
  const replica = f.int('replica');
  if (replica !== undefined && replica <= 0) f.fail('replica', 'a positive whole number (Meproc refuses others)');
  const interval = f.int('interval');
  if (interval !== undefined && interval <= 0) f.fail('interval', 'a positive whole number of milliseconds (Meproc refuses others)');
  const cron = f.str('cron');
  if (cron !== undefined && type !== 'cron') f.fail('cron', "type 'cron' with a cron (Meproc refuses a cron for another type)");
  const user = f.str('user');
  const group = f.str('group');
  const deps = f.strList('deps');
  for (const k of RUNTIME) f.warnTaken(k, "Meproc's runtime state of the task; not imported");
  f.rest();
  if (type === 'coroutine') {
    f.warn('type', 'a coroutine task runs a Melang script inside Meproc; no equivalent: the task is not imported');
    return undefined;
  }
  const run = command(f, cmd);
  if (interval !== undefined && type !== 'daemon') f.warn('interval', `used by daemon tasks only (the delay before each start); ignored for a ${type} task`);
  if (cron !== undefined) {
    try {
      parseCron(cron);
    } catch (e) {
      f.fail('cron', `a cron schedule pmon3 reads (${(e as Error).message})`);
    }
  }
  if (group !== undefined) f.warn('group', `Meproc takes the primary group of the user named ${JSON.stringify(group)}; imported as group ${JSON.stringify(group)}`);
  const after = deps?.filter((d) => d !== name);
  if (after && deps && after.length < deps.length) f.warn('deps', `names ${name} itself, which a pmon3 app cannot come after; dropped from after`);
  const ms = interval ?? DEFAULT_INTERVAL_MS;
  return compact<AppEntry>({
    name,
    ...run,
    user,
    group,
    instances: replica !== undefined && replica > 1 ? replica : undefined,
    // A once or cron app is never restarted by policy: no restart key.
    type: type === 'daemon' ? undefined : type,
    cron: type === 'cron' ? (cron ?? DEFAULT_CRON) : undefined,
    after: after?.length ? after : undefined,
    restart: type === 'daemon' ? 'always' : undefined,
    restart_delay: type === 'daemon' ? (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`) : undefined,
  });
}

/** sh's words when the command has no shell syntax (quotes and backslashes split as sh does); else sh -c. */
function command(f: Fields, cmd: string): Pick<AppEntry, 'exec' | 'args'> {
  // Anything sh would expand, redirect, chain, glob or substitute.
  if (!/[$`|&;<>(){}*?[\]~#!\n]|^\s*\w+=/.test(cmd)) {
    let words: string[] | undefined;
    try {
      words = splitArgs(cmd);
    } catch {
      words = undefined;
    }
    if (words && words.length) return { exec: words[0], ...(words.length > 1 ? { args: words.slice(1) } : {}) };
  }
  f.warn('cmd', 'uses shell syntax: run as /bin/sh -c CMD as Meproc does (pmon3 itself runs no shell)');
  return { exec: '/bin/sh', args: ['-c', cmd] };
}
