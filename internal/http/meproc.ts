/**
 * Meproc's HTTP API (MelonCTech/Meproc, controllers/proc.m) on pmond's HTTP door, so scripts
 * written for Meproc keep working. Every request has been authenticated and is role-checked by
 * the door's `call` like any other: this layer only translates.
 *
 *   GET    /proc                  {running: [{command, pid, alias}], tasks: {NAME: task}}
 *   POST   /proc  (JSON task)     create and start it (Meproc's import, internal/import/meproc.ts)
 *   PUT    /proc?name=NAME        restart every instance (a cron task: also run it now, as Meproc's
 *                                 Stop-then-Start does)
 *   DELETE /proc?name=NAME        stop and delete it: Meproc's "stop" forgets the task
 *                                 (Tasks[name] = nil: no longer listed, PUT refused, POST of the
 *                                 same name taken again), which is pmon3's delete, not its stop
 *   GET    /proc/output?name=NAME {"NAME:0": BASE64, ...}: the last 100 lines of each instance's log
 *                                 (one log for all of a task's instances: each shows it)
 *
 * Meproc 1.0.0 before its commit 3d9cc25 (2023-11-14) started with PUT and restarted with POST;
 * both are taken: a POST or PUT with a body is a start, one with ?name= (and no body) a restart.
 *
 * Replies are Meproc's {code, msg, data}: code 200 and msg "OK", or the HTTP status of the error
 * (HTTP_STATUS, the door's own mapping) as both status and code, and the error's one line as msg.
 * Differences: a task runs in its user's home directory (Meproc gives none: its own cwd); deps
 * naming a task that does not exist are dropped with a warning (Meproc ignores them until it
 * exists), and deps are per user (pmon3's after); a name is one pmon3 takes (letters, digits,
 * . _ -), plain for the caller's own task or the only one of that name, USER/NAME for another
 * user's (root and admin_group see others', and GET /proc lists them so); the instances of a
 * task share one log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toWire } from '../apps/wire';
import { checkedApps } from '../import/emit';
import { importMeproc } from '../import/meproc';
import type { ImportWarning } from '../import/types';
import { alreadyExists, HTTP_STATUS, invalidArgument, notFound, PmonError, toWireError } from '../protocol/errors';
import { nameSchema, type AppSpecWire, type ProcessView, type Result } from '../protocol/methods';
import type { DoorReply, DoorRequest } from './door';

export interface MeprocDeps {
  /** A user's home directory (by name or uid); NOT_FOUND when there is no such user. */
  home(user: string | number): Promise<string>;
}

/** A task as Meproc's GET /proc shows it (its POSTed fields, then its runtime ones). */
interface MeprocTask {
  name: string;
  cmd: string;
  type: string;
  replica: number;
  interval: number;
  deps: string[];
  user: string;
  group?: string;
  cron?: string;
  /** Instances running now. */
  running: number;
  /** Seconds since the epoch of the latest start (Meproc's start_time and last_time), 0 if none. */
  start_time: number;
  last_time: number;
  /** Waiting to start (for its deps). */
  run_flag: boolean;
}

/** The name errors of an import say the task is called (stripped from its messages). */
const LABEL = 'task';
const LOG_LINES = 100;
/** Meproc's interval when a task gives none. */
const DEFAULT_INTERVAL_MS = 3000;
const UP = new Set(['starting', 'running', 'restarting']);
const USER_RE = /^[A-Za-z_][A-Za-z0-9._-]{0,31}\$?$/;

/** The door's extra handler: null for anything but /proc and /proc/output. */
export function meprocEndpoints(d: MeprocDeps): (r: DoorRequest) => Promise<DoorReply | null> {
  return async (r) => {
    const p = r.url.pathname;
    if (p !== '/proc' && p !== '/proc/output') return null;
    try {
      if (p === '/proc/output') {
        if (r.verb !== 'GET') throw invalidArgument(`${r.verb} is not a method of /proc/output (GET)`);
        return ok(await output(r, nameArg(r.url)));
      }
      switch (r.verb) {
        case 'GET':
          return ok(await list(r));
        case 'POST':
        case 'PUT':
          if (r.url.searchParams.has('name')) {
            if (r.raw.length) throw invalidArgument('give a task in the body (start) or ?name= (restart), not both');
            await restart(r, nameArg(r.url));
            return ok();
          }
          return ok(await start(r, d));
        case 'DELETE':
          await remove(r, nameArg(r.url));
          return ok();
        default:
          throw invalidArgument(`${r.verb} is not a method of /proc (GET, POST, PUT, DELETE)`);
      }
    } catch (e) {
      return failure(e);
    }
  };
}

function ok(data?: unknown): DoorReply {
  return { status: 200, body: data === undefined ? { code: 200, msg: 'OK' } : { code: 200, msg: 'OK', data } };
}

/** The one place an error becomes Meproc's reply: the door's status, as status and code. */
function failure(e: unknown): DoorReply {
  const w = toWireError(e);
  const status = HTTP_STATUS[w.code];
  return { status, body: { code: status, msg: w.message } };
}

interface TaskRef {
  user?: string;
  name: string;
}

const show = (v: string): string => JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
const labelOf = (t: TaskRef): string => (t.user === undefined ? t.name : `${t.user}/${t.name}`);

/** A task name (NAME, or USER/NAME for another user's); INVALID_ARGUMENT in one short line. */
function taskRef(v: string, other = true): TaskRef {
  const slash = v.indexOf('/');
  const user = other && slash >= 0 ? v.slice(0, slash) : undefined;
  const name = user === undefined ? v : v.slice(slash + 1);
  if (user !== undefined && !USER_RE.test(user)) throw invalidArgument(`name ${show(v)}: ${show(user)} is not a user name`);
  const r = nameSchema.safeParse(name);
  if (!r.success) throw invalidArgument(`name ${show(v)} is not a task name: ${r.error.issues[0]!.message}`);
  return { ...(user !== undefined ? { user } : {}), name };
}

function nameArg(url: URL): TaskRef {
  const all = url.searchParams.getAll('name');
  if (all.length === 0 || all[0] === '') throw invalidArgument('name is required (?name=TASK)');
  if (all.length > 1) throw invalidArgument('name is given more than once');
  return taskRef(all[0]!);
}

async function listAll(r: DoorRequest): Promise<ProcessView[]> {
  const out: ProcessView[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page = (await r.call('list', after ? { after } : {})) as Result<'list'>;
    out.push(...page.processes);
    after = page.next;
  }
  return out;
}

/**
 * The task's instances (not a rolling reload's new ones), by instance; NOT_FOUND if it has none.
 * A plain name is the caller's own task, else the one other user's of that name (root and
 * admin_group see others'; Meproc has one namespace); USER/NAME is that user's.
 */
async function instancesOf(r: DoorRequest, t: TaskRef): Promise<ProcessView[]> {
  const named = (await listAll(r)).filter((v) => v.app === t.name && (v.instance ?? 0) >= 0);
  let rows = t.user !== undefined ? named.filter((v) => v.user === t.user) : named.filter((v) => v.uid === r.caller.uid);
  if (t.user === undefined && rows.length === 0) {
    const owners = new Set(named.map((v) => v.user));
    if (owners.size > 1) throw invalidArgument(`task ${t.name}: ${owners.size} users have one; name it USER/${t.name} (${[...owners].slice(0, 3).join(', ')})`);
    rows = named;
  }
  if (rows.length === 0) throw notFound(`task ${labelOf(t)} does not exist (POST /proc starts one)`);
  return rows.sort((a, b) => (a.instance ?? 0) - (b.instance ?? 0));
}

/** A command line as Meproc's cmd reads: what sh -c was given, else the words quoted as sh would need. */
function commandOf(file: string, args: readonly string[]): string {
  if (file === '/bin/sh' && args.length === 2 && args[0] === '-c') return args[1]!;
  return [file, ...args].map((w) => (w !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

async function list(r: DoorRequest): Promise<{ running: Array<{ command: string; pid: number; alias: string }>; tasks: Record<string, MeprocTask> }> {
  const { apps } = (await r.call('apps', {})) as Result<'apps'>;
  const procs = await listAll(r);
  // As instancesOf reads names: the caller's own and the only one of a name plain, others USER/NAME.
  const owners = new Map<string, number>();
  for (const a of apps) owners.set(a.name, (owners.get(a.name) ?? 0) + 1);
  const key = (uid: number, user: string, name: string): string => (uid === r.caller.uid || owners.get(name) === 1 ? name : `${user}/${name}`);
  const tasks: Record<string, MeprocTask> = {};
  for (const a of apps) {
    const mine = procs.filter((v) => v.uid === a.uid && v.app === a.name);
    const started = Math.max(0, ...mine.map((v) => (v.started_at ? Math.floor(Date.parse(v.started_at) / 1000) : 0)));
    const t = a.spec.task;
    const type = t?.type ?? 'daemon';
    tasks[key(a.uid, a.user, a.name)] = {
      name: a.name,
      cmd: commandOf(a.spec.file, a.spec.args),
      type,
      replica: a.instances,
      interval: a.spec.restart_delay_ms ?? DEFAULT_INTERVAL_MS,
      deps: t?.after ?? [],
      user: a.user,
      ...(a.user_gid !== null && a.gid !== a.user_gid ? { group: String(a.gid) } : {}),
      ...(type === 'cron' && t?.cron !== undefined ? { cron: t.cron } : {}),
      running: mine.filter((v) => UP.has(v.status)).length,
      start_time: started,
      last_time: started,
      run_flag: mine.some((v) => v.status === 'queued'),
    };
  }
  const running = procs
    .filter((v) => v.pid !== null && UP.has(v.status) && (v.instance ?? 0) >= 0)
    .map((v) => ({ command: commandOf(v.process_file, v.args), pid: v.pid!, alias: `${key(v.uid, v.user, v.app ?? v.name)}:${v.instance ?? 0}` }));
  return { running, tasks };
}

/** POST /proc: one Meproc task, created and started (a cron task armed); nothing applied on any error. */
async function start(r: DoorRequest, d: MeprocDeps): Promise<{ warnings: string[] } | undefined> {
  if (r.raw.length === 0) throw invalidArgument('JSON body is required (a Meproc task: {"name", "cmd", "type", ...})');
  const text = r.raw.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalidArgument('the body is not JSON (a Meproc task: {"name", "cmd", "type", ...})');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidArgument('the body is not one Meproc task (a JSON object {"name", "cmd", "type", ...})');
  const raw = body as Record<string, unknown>;
  if (typeof raw.name !== 'string' || raw.name === '') throw invalidArgument('name is required (the task name, a string)');
  const ref = taskRef(raw.name, false);
  let result;
  try {
    result = importMeproc(LABEL, { read: () => text, list: () => [] });
  } catch (e) {
    throw e instanceof PmonError ? invalidArgument(e.message.replace(/^task(:\d+)?: /, '')) : e;
  }
  const warnings = result.warnings.map((w: ImportWarning) => `${w.field}: ${w.message}`);
  const entry = result.apps[0];
  if (!entry) throw invalidArgument('type coroutine runs a Melang script inside Meproc: pmon3 has no equivalent (nothing started)');
  const user = entry.user;
  const owns = (a: { uid: number; user: string }): boolean => (user === undefined ? a.uid === r.caller.uid : a.user === user || String(a.uid) === user);
  const { apps } = (await r.call('apps', {})) as Result<'apps'>;
  if (apps.some((a) => a.name === ref.name && owns(a))) throw alreadyExists(`task ${ref.name} exists: DELETE /proc?name=${ref.name} first`);
  if (entry.after) {
    // Meproc: a dep that never ran holds nothing back. pmon3's after must name an app: dropped.
    const gone = entry.after.filter((n) => !apps.some((a) => a.name === n && owns(a)));
    for (const n of gone) warnings.push(`deps: ${n} is no task here; it holds nothing back (as in Meproc) and is not kept`);
    entry.after = entry.after.filter((n) => !gone.includes(n));
    if (entry.after.length === 0) delete entry.after;
  }
  let home: string;
  try {
    home = await d.home(user ?? r.caller.uid);
  } catch (e) {
    throw invalidArgument(`user ${user ?? r.caller.uid}: ${(e as Error).message}`);
  }
  // Its cwd (Meproc gives none): the home, or / when the user has none to enter.
  const cwd = isDir(home) ? home : '/';
  const specs = checkedApps(result, path.join(cwd, LABEL));
  const wire: AppSpecWire[] = specs.map((a) => ({ ...toWire(a), cwd, source: `Meproc POST /proc by ${r.principal.name}` }));
  await r.call('apply', { apps: wire, files: [], prune: false, dry_run: false });
  return warnings.length ? { warnings } : undefined;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** PUT /proc?name=: every instance restarted; a cron task's also run now (Meproc starts it at once). */
async function restart(r: DoorRequest, t: TaskRef): Promise<void> {
  for (const v of await instancesOf(r, t)) {
    await r.call('restart', { target: String(v.id), count: true });
    if (v.type === 'cron') await r.call('run', { target: String(v.id) });
  }
}

/** DELETE /proc?name=: every instance stopped and deleted (the app goes with its last). */
async function remove(r: DoorRequest, t: TaskRef): Promise<void> {
  for (const v of (await instancesOf(r, t)).reverse()) await r.call('delete', { target: String(v.id), force: true });
}

/**
 * GET /proc/output?name=: each instance's log, its last lines, base64 as Meproc sends them; ''
 * for a log not written yet. A task's instances share one log (Meproc keeps one per replica):
 * each alias shows it.
 */
async function output(r: DoorRequest, t: TaskRef): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  const read = new Map<string, string>();
  for (const v of await instancesOf(r, t)) {
    let text = read.get(v.log);
    if (text === undefined) {
      try {
        text = ((await r.call('log', { target: String(v.id), lines: LOG_LINES, follow: false, all: false })) as Result<'log'>).text;
      } catch (e) {
        if (!(e instanceof PmonError) || e.code !== 'NOT_FOUND') throw e;
        text = '';
      }
      read.set(v.log, text);
    }
    data[`${labelOf(t)}:${v.instance ?? 0}`] = Buffer.from(text).toString('base64');
  }
  return data;
}
