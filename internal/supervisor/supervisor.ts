/**
 * The supervisor: owns every managed process's lifecycle. It depends only on
 * interfaces (Store, Spawner, HookRunner, UserResolver, Clock, Logger) wired
 * together in cmd/pmond/main.ts. Every operation on one process runs under
 * that process's lock; every status change goes through the transition table.
 *
 * Crash-safety rules (see README "Crash safety"):
 * - children run in their own session, so they outlive pmond;
 * - `desired` records what the user asked for; a restarted pmond brings back
 *   what should run and re-adopts what still runs (pid AND /proc start time);
 * - a process is watched by exactly one Watched at a time; an exit that
 *   arrives for a process no longer watched (stopped, replaced) is ignored;
 * - a pid is trusted only in the boot it was recorded in, with its /proc
 *   start time; a live child is also found by the markers in its environment
 *   (PMON3_DAEMON_ID, PMON3_PROCESS_ID, its uid) when its row lags behind.
 *
 * Security rules (see README "Security model"): nothing here touches a path
 * the user named; the exec helper does, as the user (internal/process/spawner).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pidusage from 'pidusage';
import type { Config } from '../config/config';
import type { HookEvent, HookRunner } from '../hooks/hooks';
import type { Logger } from '../logger/logger';
import { type AppDefinition, commandBytes, definitionJson, parseDefinition, specHash } from '../apps/model';
import { parseSelector, resolveSelector } from '../apps/select';
import { Apps } from './apps';
import { decideRestart, isFailure } from '../process/restart-policy';
import type { Cgroups } from '../process/cgroups';
import { GroupWatch } from '../process/group-watch';
import { isSameProcess, type Marked, type MarkedScan, signalGroup } from '../process/procfs';
import { CgroupJoinError, type ExitInfo, type LogTarget, type SpawnRequest, type Spawner, type Watched } from '../process/spawner';
import { isActive, transition, type SupervisorEvent } from '../process/status';
import type { UserInfo, UserResolver } from '../process/users';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, permissionDenied, PmonError } from '../protocol/errors';
import { type Action, nameSchema, type ExecParams, type Health, type Params, type ProcessSummary, type ProcessView, type Result, type Status } from '../protocol/methods';
import type { AppRow, ProcessRow, ProcessPatch } from '../store/schema';
import { MAX_GROUPS_PER_OWNER, type Store } from '../store/store';
import type { Clock } from './clock';
import { Lock } from './lock';

/** Who is asking, as the kernel told the server. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** root, or a member of admin_group: may act on every process. */
  admin: boolean;
}

export type SupervisorConfig = Pick<
  Config,
  | 'logs_dir'
  | 'stop_timeout'
  | 'stop_signal'
  | 'restart_backoff_initial'
  | 'restart_backoff_max'
  | 'restart_stable_after'
  | 'process_monitor_interval'
  | 'flap_detection'
  | 'data_dir'
  | 'max_processes_per_user'
  | 'max_command_bytes'
>;

export interface SupervisorDeps {
  store: Store;
  spawner: Spawner;
  hooks: HookRunner;
  users: UserResolver;
  clock: Clock;
  logger: Logger;
  config: SupervisorConfig;
  /** uid pmond runs as. An unprivileged pmond can only run processes as itself. */
  daemonUid: number;
  /** This pmond's mark (one per data_dir), given to every child as PMON3_DAEMON_ID. */
  daemonId: string;
  /** This boot's id: pids recorded in another boot are never adopted nor signalled. */
  bootId: string;
  cgroups: Cgroups;
}

/** In-memory state of one process, beside its row. */
interface Runtime {
  lock: Lock;
  /** The process being watched, if any. */
  watched?: Watched;
  /** For a re-adopted process: resolves its `exited` when polling finds it gone. */
  adoptedGone?: (info: ExitInfo) => void;
  /** Pending delayed restart. */
  backoff?: { cancel(): void };
}

/** Files a user's directory in logs_dir may hold per process they may own (a log and its rotated copies). */
const LOG_FILES_PER_PROCESS = 16;

/** Unaccounted-for marked processes named one by one in pmond.log at start; the rest are summed up. */
const STRAYS_LOGGED = 20;

/** How long to wait for a process group to empty after SIGKILL. */
const KILL_GRACE_MS = 3000;

export class Supervisor {
  private readonly rts = new Map<number, Runtime>();
  private readonly groups = new GroupWatch();
  /** Watched processes that are not our children (re-adopted): their exit must be polled. */
  private readonly adopted = new WeakSet<Watched>();
  private monitor?: { cancel(): void };
  private closed = false;

  /** apply, groups, dgraph: declarative apps, acting through this supervisor's locks and lifecycle. */
  private readonly apps: Apps;

  constructor(private readonly d: SupervisorDeps) {
    this.apps = new Apps({
      store: d.store,
      users: d.users,
      clock: d.clock,
      logger: d.logger,
      config: d.config,
      daemonUid: d.daemonUid,
      host: {
        find: (caller, target) => this.find(caller, target),
        select: (caller, target) => this.select(caller, target),
        locked: (id, fn) => this.rt(id).lock.run(fn),
        deleteRow: (id, force) => this.deleteRow(id, force).then(() => undefined),
        restartLocked: (id, count) => this.restartLocked(id, count),
        stopForRestartLocked: async (id) => this.stopLocked(await this.mustGet(id), { force: false, event: 'restart', desired: 'running' }),
        startLocked: (row) => this.startLocked(row, { countRestart: false, hook: 'start' }),
        targetUser: (caller, spec) => this.targetUser(caller, spec),
        logFor: (name, user, p) => this.logFor(name, user, p),
      },
    });
  }

  apply(caller: Caller, p: Params<'apply'>): Promise<Result<'apply'>> {
    return this.apps.apply(caller, p);
  }

  group(caller: Caller, p: Params<'group'>): Promise<Result<'group'>> {
    return this.apps.group(caller, p);
  }

  /** restart with the Go pmon3's flags (Apps.restartWith): the view of the first instance. */
  async restartWith(caller: Caller, target: string, count: boolean, changes: NonNullable<Params<'restart'>['changes']>): Promise<ProcessView> {
    const rows = await this.apps.restartWith(caller, target, count, changes);
    return (await this.views(rows.slice(0, 1)))[0]!;
  }

  /** init: every stopped or failed process the caller owns (config_only: of apps from files), dependencies first. */
  async init(caller: Caller, configOnly: boolean): Promise<ProcessSummary[]> {
    return (await this.views(await this.apps.init(caller, configOnly))).map(summary);
  }

  async scale(caller: Caller, p: Params<'scale'>): Promise<ProcessSummary[]> {
    return (await this.views(await this.apps.scale(caller, p))).map(summary);
  }

  dgraph(caller: Caller, configOnly: boolean): Promise<Result<'dgraph'>> {
    return this.apps.dgraph(caller, configOnly);
  }

  // ---------------------------------------------------------------- boot

  /**
   * Reconcile every row with the OS: re-adopt what still runs (same pid and
   * start time, this boot; or found by its markers), bring back what should
   * run, leave stopped what was stopped. `scan` holds the live processes
   * carrying this pmond's PMON3_DAEMON_ID (procfs.scanMarked), found before
   * the table was opened; those no row accounts for are reported, never touched.
   *
   * Markers are claims any user can make for their own processes (the daemon id
   * is in their children's environment), so a marked process obtains only what
   * its uid could have anyway: adoption by a row of its own uid and name, and
   * never a signal otherwise. Only the ids of unaccounted-for processes of root
   * or of pmond's own user are kept from being handed out again; another user's
   * marker reserves nothing (else it could push the ids to their end). What is
   * logged about them is bounded: a line each for the first STRAYS_LOGGED, then
   * one summary.
   */
  async boot(scan: MarkedScan = { marked: [], malformed: [] }): Promise<void> {
    const marked = scan.marked;
    const rows = await this.d.store.all();
    const byRow = new Map<number, Marked[]>();
    for (const m of marked) byRow.set(m.processId, [...(byRow.get(m.processId) ?? []), m]);
    for (const row of rows) {
      // Only a process running as the row's user can be that row's (no other user can forge one);
      // its name too must match (a lost table's ids may have been handed out again).
      const all = byRow.get(row.id) ?? [];
      const mine = all.filter((m) => m.uid === row.uid && m.name === row.name);
      const others = all.filter((m) => !mine.includes(m));
      if (others.length) byRow.set(row.id, others);
      else byRow.delete(row.id);
      await this.rt(row.id).lock.run(() => this.reconcile(row, mine));
    }
    // New rows must not take the ids the unaccounted-for processes of trusted users carry.
    const strays = [...byRow.values()].flat();
    const trusted = strays.filter((m) => m.uid === 0 || m.uid === this.d.daemonUid);
    if (trusted.length) this.d.store.reserveIdsThrough(Math.max(...trusted.map((m) => m.processId)));
    for (const m of strays.slice(0, STRAYS_LOGGED)) {
      this.d.logger.warn(
        `pid ${m.pid} (${m.name}, uid ${m.uid}) was started by this pmond as process ${m.processId}, which its table does not hold; left running, not managed`,
      );
    }
    if (strays.length > STRAYS_LOGGED) {
      const uids = [...new Set(strays.slice(STRAYS_LOGGED).map((m) => m.uid))].slice(0, 20).join(', ');
      this.d.logger.warn(`${strays.length - STRAYS_LOGGED} more processes carry this pmond's markers without a row (uids ${uids}); left running, not managed`);
    }
    if (scan.malformed.length) {
      const uids = [...new Set(scan.malformed.map((m) => m.uid))].slice(0, 20).join(', ');
      const pids = scan.malformed.slice(0, 10).map((m) => m.pid).join(', ');
      this.d.logger.warn(
        `${scan.malformed.length} processes carry this pmond's PMON3_DAEMON_ID with a PMON3_PROCESS_ID it never writes (forged; pids ${pids}${scan.malformed.length > 10 ? ', ...' : ''}; uids ${uids}); ignored`,
      );
    }
    this.scheduleMonitor();
  }

  private async reconcile(row: ProcessRow, marked: Marked[]): Promise<void> {
    // A pid from another boot names nothing now: never adopt it, never signal it.
    const thisBoot = row.pid_boot_id === null || row.pid_boot_id === this.d.bootId;
    if (!thisBoot && row.pid !== null) this.d.logger.info(`${row.name}: pid ${row.pid} was recorded before a reboot; ignoring it`);
    let found: { pid: number; startTime: number } | undefined;
    if (thisBoot && row.pid !== null && row.pid_start_time !== null && isSameProcess(row.pid, row.pid_start_time)) {
      found = { pid: row.pid, startTime: row.pid_start_time };
    } else if (marked.length) {
      // Its row lags behind (pmond died between spawning it and recording it, or could not write): its markers tell.
      const pick = marked.find((m) => m.token !== null && m.token === row.spawn_token) ?? marked[0]!;
      for (const m of marked) if (m !== pick) this.d.logger.error(`${row.name}: pid ${m.pid} is a second live copy (not adopted; stop it by hand)`);
      this.d.logger.info(`${row.name}: found its live child pid ${pick.pid} by its markers; re-adopted`);
      found = pick;
    }
    if (found) {
      const cgroup = row.cgroup !== null && this.d.cgroups.contains(row.cgroup, found.pid) ? row.cgroup : null;
      const w = this.adopt(row.id, found.pid, found.startTime, cgroup);
      let cur = row;
      if (row.pid !== found.pid || row.pid_boot_id !== this.d.bootId) {
        cur = await this.update(row, { pid: found.pid, pid_start_time: found.startTime, pid_boot_id: this.d.bootId, started_at: row.started_at ?? this.iso() });
      }
      if (cur.desired === 'stopped') {
        this.d.logger.info(`${cur.name}: was being stopped when pmond went down; stopping pid ${w.pid}`);
        await this.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped' });
        return;
      }
      if (cur.status !== 'running') await this.update(cur, { status: transition(cur.status, 'adopt', cur.name) });
      this.d.logger.info(`${cur.name}: re-adopted pid ${w.pid}`);
      return;
    }
    if (row.pid !== null && thisBoot) {
      this.d.logger.info(`${row.name}: pid ${row.pid} is gone (or now belongs to another program)`);
    }
    if (row.desired === 'running') {
      // It should run. If it was running (or about to be restarted), it was lost while pmond
      // was away: that is a restart. A row caught mid-spawn ('init') never ran: start it afresh.
      const wasRunning = row.status === 'running' || row.status === 'backoff' || row.status === 'restarting';
      const status: Status = row.status === 'running' ? 'restarting' : row.status === 'init' ? 'queued' : row.status;
      let cur = await this.update(row, { pid: null, pid_start_time: null, pid_boot_id: null, status });
      if (!cur.auto_restart && wasRunning) {
        cur = await this.update(cur, { status: 'failed', desired: 'stopped', stopped_at: this.iso() });
        this.fireHook('failure', cur);
        return;
      }
      await this.startLocked(cur, { countRestart: wasRunning, hook: wasRunning ? 'restart' : 'start' }).catch((e) =>
        this.d.logger.error(`${row.name}: could not be started at boot: ${(e as Error).message}`),
      );
      return;
    }
    if (isActive(row.status) || row.pid !== null) {
      await this.update(row, { status: 'stopped', pid: null, pid_start_time: null, pid_boot_id: null });
    }
  }

  /** Watch a process pmond did not spawn (found alive at boot). */
  private adopt(id: number, pid: number, startTime: number, cgroup: string | null): Watched {
    const rt = this.rt(id);
    let resolve!: (i: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolve = r));
    const w: Watched = { pid, startTime, cgroup, exited };
    this.adopted.add(w);
    rt.adoptedGone = resolve;
    this.watch(id, w);
    return w;
  }

  /** Poll re-adopted processes (not our children, so no exit event). */
  private scheduleMonitor(): void {
    if (this.closed) return;
    this.monitor = this.d.clock.setTimeout(() => {
      for (const rt of this.rts.values()) {
        const w = rt.watched;
        if (w && rt.adoptedGone && !isSameProcess(w.pid, w.startTime)) {
          const gone = rt.adoptedGone;
          rt.adoptedGone = undefined;
          gone({ code: null, signal: null });
        }
      }
      this.scheduleMonitor();
    }, this.d.config.process_monitor_interval);
  }

  // ------------------------------------------------------------ queries

  /**
   * The processes the caller may see with an id above `after`, with cpu and
   * memory, as many as fit in about `maxBytes` of JSON; `next` is where the
   * next page starts, or null. Paging keeps every reply bounded, however
   * large the table grows.
   */
  async list(caller: Caller, after = 0, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ processes: ProcessView[]; next: number | null }> {
    const rows = (await this.d.store.all()).filter((r) => r.id > after && this.mayAct(caller, r));
    const page: ProcessRow[] = [];
    let bytes = 0;
    for (const r of rows) {
      // A row's JSON is about its stored strings plus ~700 bytes of fixed fields.
      const size = 700 + r.name.length + r.process_file.length + r.args.length + r.env.length + r.cwd.length + r.log.length;
      if (page.length > 0 && bytes + size > maxBytes) break;
      page.push(r);
      bytes += size;
    }
    const more = page.length < rows.length;
    return { processes: await this.views(page), next: more ? page[page.length - 1]!.id : null };
  }

  /** One process by id or name. */
  async describe(caller: Caller, target: string): Promise<ProcessView> {
    const row = await this.find(caller, target);
    return (await this.views([row]))[0]!;
  }

  /**
   * The rows a selector names (internal/apps/select.ts: an id, a name, name:N, user/name, @group,
   * all), among those the caller may see, in id order. Another user's process is reported exactly
   * like a missing one.
   */
  async select(caller: Caller, target: string): Promise<ProcessRow[]> {
    const sel = parseSelector(target);
    const apps = new Map((await this.d.store.apps()).map((a) => [a.id, a]));
    const rows = (await this.d.store.all()).filter((r) => this.mayAct(caller, r));
    const items = rows.map((r) => ({ id: r.id, uid: r.uid, user: r.user, app: r.name, instance: r.instance, groups: groupsOf(apps.get(r.app_id)), row: r }));
    const found = resolveSelector(sel, items, caller).map((x) => x.row);
    if (sel.kind === 'group' && found.length === 0 && !this.d.store.groups().some((g) => g.name === sel.group && (caller.admin || g.uid === caller.uid))) {
      throw notFound(`group "${sel.group}" not found`);
    }
    return found;
  }

  /** The one row a selector names; INVALID_ARGUMENT if it names several (say name:N or the id). */
  async find(caller: Caller, target: string): Promise<ProcessRow> {
    const rows = await this.select(caller, target);
    if (rows.length === 0) throw notFound(`process "${target}" not found`);
    if (rows.length > 1) {
      const names = rows.slice(0, 3).map((r) => `${r.name}:${r.instance}`).join(', ');
      throw invalidArgument(`"${target}" names ${rows.length} processes (${names}${rows.length > 3 ? ', ...' : ''}); say which, as name:N or by id`);
    }
    return rows[0]!;
  }

  /** The user a row's files are touched as: its uid, gid and supplementary groups. */
  async identity(row: ProcessRow): Promise<{ uid: number; gid: number; groups: number[] }> {
    const user = await this.d.users.user(row.uid);
    return { uid: row.uid, gid: row.gid, groups: [...new Set([row.gid, ...user.groups])] };
  }

  /** Resolves once every change made so far is written, or known to be kept in memory only. */
  settled(): Promise<void> {
    return this.d.store.settled();
  }

    /** pmond's health, for ping. */
  health(): Health {
    const store = this.d.store.health();
    const cg = this.d.cgroups.state;
    return { ok: store.ok, store, cgroups: cg.usable ? `cgroup v2 (${cg.base})` : `process groups (${cg.why})` };
  }

  // ------------------------------------------------------------ commands

  /** Create a process and start it. Nothing is left behind if it cannot start. */
  async exec(caller: Caller, p: ExecParams): Promise<ProcessView> {
    const name = p.name ?? path.basename(p.file);
    const parsed = nameSchema.safeParse(name);
    if (!parsed.success) {
      throw invalidArgument(`name "${name.slice(0, 80)}": ${parsed.error.issues[0]!.message}${p.name ? '' : ' (use --name)'}`);
    }
    const health = this.d.store.health();
    if (!health.ok) throw failedPrecondition(`pmond cannot write its database (${health.error}); it starts no new process until it can`);
    const user = await this.targetUser(caller, p.user);
    const size = commandBytes(p.file, p.args, p.env);
    if (size > this.d.config.max_command_bytes) {
      throw invalidArgument(`binary, arguments and environment take ${size} bytes; at most ${this.d.config.max_command_bytes} (max_command_bytes)`);
    }
    const all = await this.d.store.all();
    const instances = p.instances ?? 1;
    if (!caller.admin) {
      const owned = all.filter((r) => r.uid === user.uid).length;
      if (owned + instances > this.d.config.max_processes_per_user) {
        throw failedPrecondition(
          instances === 1
            ? `uid ${user.uid} already has ${owned} processes, the most max_processes_per_user allows`
            : `uid ${user.uid} has ${owned} processes; ${instances} more would pass max_processes_per_user (${this.d.config.max_processes_per_user})`,
        );
      }
    }
    const groups = [...new Set(p.groups ?? [])];
    const dependencies = [...new Set(p.dependencies ?? [])];
    const appsOfUser = (await this.d.store.apps()).filter((a) => a.uid === user.uid);
    for (const dep of dependencies) {
      if (dep === name) throw invalidArgument(`${name} cannot depend on itself`);
      if (!appsOfUser.some((a) => a.name === dep)) throw invalidArgument(`${name} depends on ${dep}, which is not defined`);
    }
    const newGroups = groups.filter((g) => !this.d.store.groups().some((x) => x.uid === user.uid && x.name === g));
    const haveGroups = this.d.store.groups().filter((x) => x.uid === user.uid).length;
    if (haveGroups + newGroups.length > MAX_GROUPS_PER_OWNER) {
      throw failedPrecondition(`user "${user.name}" has ${haveGroups} groups; ${newGroups.length} more would pass ${MAX_GROUPS_PER_OWNER}`);
    }
    // Names are unique per owner: nobody can take a name from another user, nor learn that they use it.
    if (all.some((r) => r.uid === user.uid && r.name === name)) {
      throw alreadyExists(user.uid === caller.uid ? `process "${name}" already exists` : `user "${user.name}" already has a process "${name}"`);
    }
    const log = this.logFor(name, user, p);
    if (!caller.admin) await this.assertLogRoom(log);
    const def: AppDefinition = { file: p.file, args: p.args, env: p.env, cwd: p.cwd, log, restart: p.auto_restart ? 'always' : 'never', autostart: true };
    const hash = specHash({ file: p.file, args: p.args, env: p.env, cwd: p.cwd, uid: user.uid, gid: user.gid });
    for (const g of newGroups) this.d.store.insertGroup(user.uid, g);
    const app = await this.d.store.insertApp({
      name,
      uid: user.uid,
      user: user.name,
      gid: user.gid,
      spec: definitionJson(def),
      spec_hash: hash,
      source: 'exec',
      groups: JSON.stringify(groups),
      dependencies: JSON.stringify(dependencies),
      instances,
    });
    let row: ProcessRow;
    try {
      row = await this.insertInstance(app.id, hash, name, p, user, log);
    } catch (e) {
      await this.d.store.removeApp(app.id); // no app without its instance
      throw e;
    }
    const rt = this.rt(row.id);
    return rt.lock.run(async () => {
      try {
        // A new row is on disk before its first program exists: a pmond killed right after the
        // spawn finds the child by its markers, never a child without a row.
        await this.d.store.settled();
        if (!this.d.store.saved(row.id)) throw failedPrecondition(`pmond cannot write its database (${this.d.store.health().error}); not starting "${name}"`);
        const started = await this.startLocked(row, { countRestart: false, hook: 'start', quiet: true });
        // Instance 0 runs: the others join it (one that cannot start stays, failed, as after a crash).
        for (let i = 1; i < instances; i++) {
          const more = await this.insertInstance(app.id, hash, name, p, user, log, i);
          await this.rt(more.id).lock.run(() =>
            this.startLocked(more, { countRestart: false, hook: 'start' }).catch((e: Error) => this.d.logger.warn(`${name}:${i}: ${e.message}`)),
          );
        }
        return (await this.views([started]))[0]!;
      } catch (e) {
        // Nothing left behind: not the row, nor the log made for it (a user could otherwise fill
        // logs_dir with logs of execs that fail).
        await this.removeLogs(row);
        await this.d.store.remove(row.id);
        await this.d.store.removeApp(app.id);
        this.rts.delete(row.id);
        throw e;
      }
    });
  }

  /** The row of a new app's instance 0, as exec makes it. */
  private insertInstance(appId: number, hash: string, name: string, p: ExecParams, user: UserInfo, log: string, instance = 0): Promise<ProcessRow> {
    return this.d.store.insert({
      app_id: appId,
      instance,
      spec_hash: hash,
      name,
      process_file: p.file,
      args: JSON.stringify(p.args),
      env: JSON.stringify(p.env),
      cwd: p.cwd,
      user: user.name,
      uid: user.uid,
      gid: user.gid,
      status: 'queued',
      desired: 'running',
      auto_restart: p.auto_restart ? 1 : 0,
      log,
      restarts: 0,
      consecutive_failures: 0,
      pid: null,
      pid_start_time: null,
      last_exit_code: null,
      last_signal: null,
      started_at: null,
      stopped_at: null,
    });
  }

  /**
   * The log file of a new process. pmond's own logs_dir and data_dir are
   * pmond's: a path the user names may not point into them. By default the
   * log is `<logs_dir>/<name>.log` for pmond's own user, and
   * `<logs_dir>/<user>/<name>.log` for everyone else (names are unique per owner).
   */
  private logFor(name: string, user: UserInfo, p: { log?: string; log_dir?: string }): string {
    const logsDir = path.resolve(this.d.config.logs_dir);
    const own = [logsDir, path.resolve(this.d.config.data_dir)];
    const chosen = p.log ?? (p.log_dir !== undefined ? path.join(p.log_dir, `${name}.log`) : undefined);
    if (chosen !== undefined) {
      const abs = path.resolve(chosen);
      const inside = own.find((dir) => abs === dir || abs.startsWith(`${dir}/`));
      if (inside) throw invalidArgument(`log ${abs} is inside pmond's own directory ${inside}; only pmond creates logs there (leave out --log)`);
      return abs;
    }
    const sub = user.uid === this.d.daemonUid ? '' : safeDirName(user);
    const file = path.join(logsDir, sub, `${name}.log`);
    if (file === path.join(logsDir, 'pmond.log')) throw invalidArgument(`log ${file} is pmond's own log; choose another --name or a --log`);
    return file;
  }

  /**
   * A user's directory in logs_dir holds files they cannot remove (pmond's directory): at most
   * LOG_FILES_PER_PROCESS per process they may own. pmond removes a process's logs when it is
   * deleted, so only leftovers (older pmonds, a crash in between) can reach the bound.
   */
  private async assertLogRoom(log: string): Promise<void> {
    if (this.logTarget(log).kind !== 'daemon') return;
    const dir = path.dirname(log);
    if (dir === path.resolve(this.d.config.logs_dir)) return; // pmond's own user's: root's to tidy
    let n: number;
    try {
      n = (await fs.promises.readdir(dir)).length;
    } catch {
      return; // not made yet
    }
    const max = this.d.config.max_processes_per_user * LOG_FILES_PER_PROCESS;
    if (n >= max) throw failedPrecondition(`${dir} holds ${n} files, the most allowed (${LOG_FILES_PER_PROCESS} per process of max_processes_per_user); ask root to remove old logs`);
  }

  /**
   * Remove the logs pmond made for a process in logs_dir: `<name>.log` and the copies rotation
   * leaves beside it (`<name>.log.1`, `.2.gz`, `-20240101`, ...), those that belong to the
   * process's user (pmond hands its logs over; rotated copies keep the owner; a file planted by
   * someone else is not this process's). Called while the row still exists, so no new process of
   * that name can have made its log yet. A log the user chose elsewhere is theirs, and stays.
   */
  private async removeLogs(row: ProcessRow): Promise<void> {
    if (this.logTarget(row.log).kind !== 'daemon') return;
    const dir = path.dirname(row.log);
    const base = path.basename(row.log);
    const own = path.join(path.resolve(this.d.config.logs_dir), 'pmond.log');
    const mine = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[.-]\\d+)*(?:\\.(?:gz|bz2|xz|zst|lz4|lzo|Z))?$`);
    let entries: string[];
    try {
      entries = await fs.promises.readdir(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const file = path.join(dir, e);
      if (!mine.test(e) || file === own) continue;
      try {
        const st = await fs.promises.lstat(file);
        if (st.isFile() && st.uid === row.uid) await fs.promises.unlink(file);
      } catch (err) {
        this.d.logger.warn(`${row.name}: cannot remove its log ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }

  /** Stop one process; force = SIGKILL at once. */
  async stop(caller: Caller, target: string, force: boolean): Promise<ProcessView> {
    const row = await this.find(caller, target);
    return (await this.views([await this.stopRow(row.id, force)]))[0]!;
  }

  private stopRow(id: number, force: boolean): Promise<ProcessRow> {
    return this.rt(id).lock.run(async () => {
      const cur = await this.mustGet(id);
      return this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
    });
  }

  /** (Re)start one process; count: whether it counts as a restart. */
  async restart(caller: Caller, target: string, count: boolean): Promise<ProcessView> {
    const row = await this.find(caller, target);
    const out = await this.rt(row.id).lock.run(() => this.restartLocked(row.id, count));
    return (await this.views([out]))[0]!;
  }

  private async restartLocked(id: number, count: boolean): Promise<ProcessRow> {
    let cur = await this.mustGet(id);
    if (this.rt(id).watched || cur.status === 'backoff') {
      cur = await this.stopLocked(cur, { force: false, event: 'restart', desired: 'running' });
    }
    return this.startLocked(cur, { countRestart: count, hook: count ? 'restart' : 'start' });
  }

  /** Stop (if needed) and delete one process. */
  async delete(caller: Caller, target: string, force: boolean): Promise<ProcessView> {
    const row = await this.find(caller, target);
    return (await this.views([await this.deleteRow(row.id, force)]))[0]!;
  }

  /** Stop (if needed) and delete one row, under its lock. */
  private async deleteRow(id: number, force: boolean): Promise<ProcessRow> {
    const out = await this.rt(id).lock.run(async () => this.deleteLocked(await this.mustGet(id), force));
    this.rts.delete(id);
    return out;
  }

  /** The caller holds the lock. An app whose last instance goes goes with it. */
  private async deleteLocked(row: ProcessRow, force: boolean): Promise<ProcessRow> {
    let cur = row;
    if (this.rt(cur.id).watched || isActive(cur.status)) cur = await this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
    await this.removeLogs(cur);
    await this.d.store.remove(cur.id);
    await this.removeAppIfEmpty(cur.app_id);
    if (cur.cgroup) this.d.cgroups.retire(cur.cgroup);
    return cur;
  }

  /**
   * One action on every process the targets select (select: an id, a name, name:N, user/name,
   * @group, or `all`: every process the caller may see, root and admin_group: everyone's). Each
   * target in turn; a target naming one process that fails ends the request; of a target naming
   * several (an app's instances, a group), each is tried and a failure is reported in its
   * summary's `error`, the others go on.
   */
  async act(caller: Caller, action: Action, targets: readonly string[], force: boolean): Promise<ProcessSummary[]> {
    const out: ProcessSummary[] = [];
    // Each selector once: `all all all ...` is one pass, not a thousand.
    for (const t of new Set(targets)) {
      if (t === 'all') {
        out.push(...(await this.actAll(caller, action, force)));
        continue;
      }
      const rows = await this.select(caller, t);
      if (rows.length === 1 && !t.startsWith('@')) {
        out.push(...(await this.actRow(caller, action, rows[0]!, force)));
        continue;
      }
      for (const r of rows) {
        try {
          out.push(...(await this.actRow(caller, action, r, force)));
        } catch (e) {
          if (!(e instanceof PmonError)) throw e;
          const cur = await this.d.store.get(r.id);
          if (cur) out.push({ ...summary((await this.views([cur]))[0]!), error: e.message, error_code: e.code });
        }
      }
    }
    return out;
  }

  private actAll(caller: Caller, action: Action, force: boolean): Promise<ProcessSummary[]> {
    switch (action) {
      case 'stop':
        return this.killAll(caller, force);
      case 'start':
        return this.initAll(caller);
      case 'restart':
        return this.forAll(caller, () => true, (cur) => this.restartLocked(cur.id, true));
      case 'delete':
        return this.dropAll(caller, force);
      case 'reset':
        return this.reset(caller);
    }
  }

  private async actRow(caller: Caller, action: Action, row: ProcessRow, force: boolean): Promise<ProcessSummary[]> {
    let out: ProcessRow;
    switch (action) {
      case 'stop':
        out = await this.stopRow(row.id, force);
        break;
      case 'start':
      case 'restart':
        out = await this.rt(row.id).lock.run(() => this.restartLocked(row.id, action === 'restart'));
        break;
      case 'delete':
        out = await this.deleteRow(row.id, force);
        break;
      case 'reset':
        return this.reset(caller, String(row.id));
    }
    return (await this.views([out])).map(summary);
  }

  /** Every process the caller may see (its own; root and admin_group: all), by id. */
  async visible(caller: Caller): Promise<ProcessRow[]> {
    return (await this.d.store.all()).filter((r) => this.mayAct(caller, r));
  }

  /** Stop every process the caller owns. */
  async killAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    return this.forAll(caller, (r) => isActive(r.status) || !!this.rts.get(r.id)?.watched, async (cur) =>
      this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true }),
    );
  }

  /** Start every stopped or failed process the caller owns. */
  async initAll(caller: Caller): Promise<ProcessSummary[]> {
    return this.forAll(caller, (r) => r.status === 'stopped' || r.status === 'failed', async (cur) =>
      cur.status === 'stopped' || cur.status === 'failed' ? this.startLocked(cur, { countRestart: false, hook: 'start' }) : cur,
    );
  }

  /** Stop and delete every process the caller owns. */
  async dropAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    const done = await this.forAll(caller, () => true, (cur) => this.deleteLocked(cur, force));
    for (const v of done) this.rts.delete(v.id);
    return done;
  }

  /** Reset restart counters of one process or every one the caller owns. */
  async reset(caller: Caller, target?: string): Promise<ProcessSummary[]> {
    if (target !== undefined) {
      const row = await this.find(caller, target);
      const out = await this.rt(row.id).lock.run(async () => this.update(await this.mustGet(row.id), { restarts: 0, consecutive_failures: 0 }));
      return (await this.views([out])).map(summary);
    }
    return this.forAll(caller, () => true, (cur) => this.update(cur, { restarts: 0, consecutive_failures: 0 }));
  }

  /**
   * On daemon shutdown: with stopChildren (handle_interrupts) stop every
   * child but keep it desired-running, so the next pmond brings it back;
   * otherwise leave every child running for re-adoption.
   */
  async shutdown(stopChildren: boolean): Promise<void> {
    this.closed = true;
    this.monitor?.cancel();
    const rows = await this.d.store.all();
    await Promise.all(
      rows.map((r) =>
        this.rt(r.id).lock.run(async () => {
          const rt = this.rt(r.id);
          rt.backoff?.cancel();
          if (!stopChildren || !rt.watched) {
            rt.watched = undefined;
            return;
          }
          const cur = await this.mustGet(r.id);
          await this.stopLocked(cur, { force: false, event: 'stop', desired: 'running' });
        }),
      ),
    );
  }

  // ------------------------------------------------------------ internals

  private async forAll(
    caller: Caller,
    pick: (r: ProcessRow) => boolean,
    fn: (cur: ProcessRow) => Promise<ProcessRow>,
  ): Promise<ProcessSummary[]> {
    const rows = (await this.d.store.all()).filter((r) => this.mayAct(caller, r) && pick(r));
    const out = await Promise.all(
      rows.map((r) =>
        this.rt(r.id).lock.run(async () => {
          const cur = await this.d.store.get(r.id);
          return cur ? fn(cur) : undefined;
        }),
      ),
    );
    return (await this.views(out.filter((r): r is ProcessRow => r !== undefined))).map(summary);
  }

  /** An app whose last instance is gone goes with it. */
  private async removeAppIfEmpty(appId: number): Promise<void> {
    if ((await this.d.store.instancesOf(appId)).length === 0) await this.d.store.removeApp(appId);
  }

  private rt(id: number): Runtime {
    let rt = this.rts.get(id);
    if (!rt) {
      rt = { lock: new Lock() };
      this.rts.set(id, rt);
    }
    return rt;
  }

  /** The stored definition of row's app (its own policy), or undefined (no app, unreadable). */
  private async definitionOf(row: ProcessRow): Promise<AppDefinition | undefined> {
    const app = await this.d.store.getApp(row.app_id);
    if (!app) return undefined;
    try {
      return parseDefinition(app.spec);
    } catch {
      return undefined;
    }
  }

  private async mustGet(id: number): Promise<ProcessRow> {
    const row = await this.d.store.get(id);
    if (!row) throw notFound(`process ${id} not found`);
    return row;
  }

  private update(row: ProcessRow, patch: ProcessPatch): Promise<ProcessRow> {
    return this.d.store.update(row.id, patch);
  }

  private mayAct(caller: Caller, row: ProcessRow): boolean {
    return caller.admin || row.uid === caller.uid;
  }

  /** The user a new process runs as, with the authorization rules applied. */
  private async targetUser(caller: Caller, spec: string | undefined): Promise<UserInfo> {
    let user: UserInfo;
    try {
      user = await this.d.users.user(spec ?? caller.uid);
    } catch (e) {
      if (e instanceof PmonError && e.code === 'NOT_FOUND') throw invalidArgument(e.message);
      throw e;
    }
    if (user.uid !== caller.uid && !caller.admin) {
      throw permissionDenied(`uid ${caller.uid} may not run processes as user "${user.name}"`);
    }
    if (this.d.daemonUid !== 0 && user.uid !== this.d.daemonUid) {
      throw failedPrecondition(`pmond runs unprivileged (uid ${this.d.daemonUid}) and can only run processes as itself`);
    }
    return user;
  }

  /**
   * Spawn the row's process. The caller holds the lock. `quiet` (a new exec,
   * whose row is removed again if it cannot start): no failure hook.
   */
  private async startLocked(row: ProcessRow, opts: { countRestart: boolean; hook: HookEvent; quiet?: boolean }): Promise<ProcessRow> {
    const rt = this.rt(row.id);
    rt.backoff?.cancel();
    rt.backoff = undefined;
    const token = randomUUID();
    // Recorded before the spawn, so a pmond killed right after it can still find the child.
    let cur = await this.update(row, { status: transition(row.status, 'start', row.name), desired: 'running', spawn_token: token });
    let w: Watched;
    try {
      const user = await this.d.users.user(cur.uid);
      w = await this.spawn({
        file: cur.process_file,
        args: JSON.parse(cur.args) as string[],
        env: { ...this.childEnv(cur, user), PMON3_SPAWN_TOKEN: token },
        cwd: cur.cwd,
        uid: cur.uid,
        gid: cur.gid,
        groups: [...new Set([cur.gid, ...user.groups])],
        log: this.logTarget(cur.log),
        cgroup: this.d.cgroups.prepare(cur.id, token),
      });
    } catch (e) {
      cur = await this.update(cur, {
        status: transition(cur.status, 'spawn_failed', cur.name),
        desired: 'stopped',
        pid: null,
        pid_start_time: null,
        pid_boot_id: null,
        stopped_at: this.iso(),
      });
      this.d.logger.warn(`${cur.name}: start failed: ${(e as Error).message}`);
      if (!opts.quiet) this.fireHook('failure', cur);
      throw e;
    }
    cur = await this.update(cur, {
      status: transition(cur.status, 'spawned', cur.name),
      pid: w.pid,
      pid_start_time: w.startTime,
      pid_boot_id: this.d.bootId,
      cgroup: w.cgroup,
      started_at: this.iso(),
      restarts: cur.restarts + (opts.countRestart ? 1 : 0),
    });
    this.watch(cur.id, w);
    this.d.logger.info(`${cur.name}: started pid ${w.pid}`);
    this.fireHook(opts.hook, cur);
    return cur;
  }

  /** Spawn; if the helper cannot join the cgroup, stop using cgroups (said once in pmond.log) and spawn without. */
  private async spawn(req: SpawnRequest): Promise<Watched> {
    try {
      return await this.d.spawner.spawn(req);
    } catch (e) {
      if (!(e instanceof CgroupJoinError)) throw e;
      this.d.logger.warn(`cgroups: ${e.message}; from now on processes are stopped by process group only`);
      this.d.cgroups.disable(e.message);
      return this.d.spawner.spawn({ ...req, cgroup: null });
    }
  }

  /** How the log is opened: in pmond's logs_dir by pmond (it made the path), anywhere else by the helper as the user. */
  private logTarget(log: string): LogTarget {
    const logsDir = path.resolve(this.d.config.logs_dir);
    return log.startsWith(`${logsDir}/`) ? { kind: 'daemon', path: log } : { kind: 'user', path: log };
  }

  private watch(id: number, w: Watched): void {
    this.rt(id).watched = w;
    void w.exited
      .then((info) => this.onExit(id, w, info))
      .catch((e: unknown) => this.d.logger.error(`process ${id}: handling its exit failed: ${(e as Error)?.stack ?? String(e)}`));
  }

  /** A watched process ended on its own: apply the restart policy. */
  private async onExit(id: number, w: Watched, info: ExitInfo): Promise<void> {
    const rt = this.rts.get(id);
    if (!rt) return;
    await rt.lock.run(async () => {
      if (rt.watched !== w || this.closed) return; // a stop or restart owns this exit
      rt.watched = undefined;
      rt.adoptedGone = undefined;
      // No orphaned descendants: whatever is left of its group and cgroup goes with it. (No /proc
      // scan first: this is the restart hot path, and an empty group just answers ESRCH.)
      this.killLeftovers(w);
      const row = await this.d.store.get(id);
      if (!row) return;
      const uptimeMs = row.started_at ? this.d.clock.now() - Date.parse(row.started_at) : 0;
      // The app's own policy (an apps file's restart, restart_delay, startsecs, startretries), else the config's.
      const def = await this.definitionOf(row);
      const d = decideRestart(
        {
          autoRestart: row.auto_restart === 1 && (def?.restart !== 'on-failure' || isFailure({ exitCode: info.code, signal: info.signal })),
          exitCode: info.code,
          signal: info.signal,
          uptimeMs,
          consecutiveFailures: row.consecutive_failures,
        },
        {
          initialDelayMs: def?.restart_delay_ms ?? this.d.config.restart_backoff_initial,
          maxDelayMs: Math.max(this.d.config.restart_backoff_max, def?.restart_delay_ms ?? 0),
          stableAfterMs: def?.startsecs_ms ?? this.d.config.restart_stable_after,
          ...(def?.startretries !== undefined && def.startretries >= 0 ? { maxFailures: def.startretries + 1 } : {}),
          ...(def?.restart_delay_ms !== undefined ? { minDelayMs: def.restart_delay_ms } : {}),
          flap: this.d.config.flap_detection.is_enabled
            ? {
                threshold: this.d.config.flap_detection.threshold_restarted,
                delayMs: this.d.config.flap_detection.threshold_countdown * this.d.config.process_monitor_interval,
              }
            : undefined,
        },
      );
      const ended: ProcessPatch = {
        pid: null,
        pid_start_time: null,
        pid_boot_id: null,
        last_exit_code: info.code,
        last_signal: info.signal,
        consecutive_failures: d.failures,
        stopped_at: new Date(this.d.clock.now()).toISOString(),
      };
      this.d.logger.info(`${row.name}: pid ${w.pid} exited (code ${info.code}, signal ${info.signal}); ${d.action}`);
      if (d.action === 'give_up') {
        const event: SupervisorEvent = d.status === 'failed' ? 'exit_failed' : 'exit_clean';
        const cur = await this.update(row, { ...ended, status: transition(row.status, event, row.name), desired: 'stopped' });
        if (d.status === 'failed') this.fireHook('failure', cur);
        return;
      }
      if (d.delayMs === 0) {
        const cur = await this.update(row, { ...ended, status: transition(row.status, 'exit_restart', row.name) });
        await this.startLocked(cur, { countRestart: true, hook: 'restart' }).catch(() => undefined);
        return;
      }
      const cur = await this.update(row, { ...ended, status: transition(row.status, 'exit_backoff', row.name) });
      this.fireHook('backoff', cur);
      rt.backoff = this.d.clock.setTimeout(() => {
        void rt.lock
          .run(async () => {
            const now = await this.d.store.get(id);
            if (!now || now.status !== 'backoff' || this.closed) return;
            await this.startLocked(now, { countRestart: true, hook: 'restart' }).catch(() => undefined);
          })
          .catch((e: unknown) => this.d.logger.error(`process ${id}: delayed restart failed: ${(e as Error)?.stack ?? String(e)}`));
      }, d.delayMs);
    });
  }

  /**
   * Stop the watched process: stop signal to its group, wait stop_timeout
   * for the group to empty, then SIGKILL the group. The caller holds the lock.
   */
  private async stopLocked(
    row: ProcessRow,
    opts: { force: boolean; event: 'stop' | 'restart'; desired: 'running' | 'stopped'; hook?: boolean },
  ): Promise<ProcessRow> {
    const rt = this.rt(row.id);
    rt.backoff?.cancel();
    rt.backoff = undefined;
    const w = rt.watched;
    // Record the intent first: if pmond dies mid-stop, the next one finishes it.
    let cur = await this.update(row, { desired: opts.desired === 'stopped' ? 'stopped' : row.desired });
    let info: ExitInfo | undefined;
    if (w) {
      rt.watched = undefined; // from here on, this exit is ours, not the restart policy's
      const def = await this.definitionOf(row);
      const signal = opts.force ? 'SIGKILL' : ((def?.stop_signal as NodeJS.Signals | undefined) ?? this.d.config.stop_signal);
      info = await this.terminate(w, signal, def?.stop_timeout_ms ?? this.d.config.stop_timeout * 1000);
      rt.adoptedGone = undefined;
    }
    const status = transition(cur.status, opts.event, cur.name);
    cur = await this.update(cur, {
      status,
      desired: opts.desired,
      pid: null,
      pid_start_time: null,
      pid_boot_id: null,
      stopped_at: this.iso(),
      ...(info ? { last_exit_code: info.code, last_signal: info.signal } : {}),
    });
    if (w) this.d.logger.info(`${cur.name}: stopped pid ${w.pid}`);
    if (opts.hook) this.fireHook('stop', cur);
    return cur;
  }

  /**
   * Stop a process tree: the stop signal to its process group and to every
   * process in its cgroup, stop_timeout for all of them to go, then SIGKILL
   * (cgroup.kill where there is a cgroup: even a setsid()'d descendant goes).
   */
  private async terminate(w: Watched, signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo> {
    const deadline = this.d.clock.now() + timeoutMs;
    const gone = this.exitOf(w);
    signalGroup(w.pid, signal);
    if (w.cgroup) this.d.cgroups.signal(w.cgroup, signal);
    // First the main process (an event for our children), then whatever is left of its tree.
    let info = await raceDeadline(gone, deadline);
    const empty = info !== undefined && (await this.waitGone(w, deadline));
    if (!empty) {
      this.killLeftovers(w);
      info ??= await raceDeadline(gone, this.d.clock.now() + KILL_GRACE_MS);
      await this.waitGone(w, this.d.clock.now() + KILL_GRACE_MS);
    }
    if (w.cgroup) this.d.cgroups.retire(w.cgroup);
    return info ?? { code: null, signal: 'SIGKILL' };
  }

  /** SIGKILL whatever is left of w's process group and cgroup, and remove the cgroup once it is empty. */
  private killLeftovers(w: Watched): void {
    signalGroup(w.pid, 'SIGKILL');
    if (w.cgroup) {
      this.d.cgroups.kill(w.cgroup);
      this.d.cgroups.retire(w.cgroup);
    }
  }

  /** Resolves true once w's cgroup (or, without one, its process group) is empty; false at the deadline. */
  private waitGone(w: Watched, deadline: number): Promise<boolean> {
    const dir = w.cgroup;
    if (!dir) return this.groups.waitEmpty(w.pid, deadline);
    return new Promise((resolve) => {
      const tick = (): void => {
        if (this.d.cgroups.isEmpty(dir)) resolve(true);
        else if (Date.now() >= deadline) resolve(false);
        else setTimeout(tick, 10).unref();
      };
      tick();
    });
  }

  /**
   * The exit of w: its own promise for a child; for an adopted process,
   * polling of pid + start time (it is not our child, so no event comes).
   */
  private exitOf(w: Watched): Promise<ExitInfo> {
    if (!this.adopted.has(w)) return w.exited;
    const poll = new Promise<ExitInfo>((resolve) => {
      const tick = (): void => {
        if (!isSameProcess(w.pid, w.startTime)) resolve({ code: null, signal: null });
        else setTimeout(tick, 10).unref();
      };
      setTimeout(tick, 10).unref();
    });
    return Promise.race([w.exited, poll]);
  }

  private childEnv(row: ProcessRow, user: UserInfo): Record<string, string> {
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: user.home,
      USER: user.name,
      LOGNAME: user.name,
      SHELL: user.shell,
    };
    for (const k of ['LANG', 'LC_ALL', 'TZ']) if (process.env[k]) base[k] = process.env[k]!;
    return {
      ...base,
      ...(JSON.parse(row.env) as Record<string, string>),
      PMON3_PROCESS_ID: String(row.id),
      PMON3_PROCESS_NAME: row.name,
      PMON3_INSTANCE: String(row.instance),
      PMON3_DAEMON_ID: this.d.daemonId,
    };
  }

  private iso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  private fireHook(event: HookEvent, row: ProcessRow): void {
    this.d.hooks.fire(event, hookPayload(row));
  }

  private async views(rows: ProcessRow[]): Promise<ProcessView[]> {
    const pids = rows.map((r) => r.pid).filter((p): p is number => p !== null);
    let usage: Record<number, { cpu: number; memory: number }> = {};
    if (pids.length) {
      try {
        usage = (await pidusage(pids)) as unknown as Record<number, { cpu: number; memory: number }>;
      } catch {
        usage = {}; // a pid may have just exited; the next ls will tell
      }
    }
    const now = this.d.clock.now();
    const apps = new Map((await this.d.store.apps()).map((a) => [a.id, a]));
    return rows.map((r) => toView(r, r.pid !== null ? usage[r.pid] : undefined, now, this.d.store.saved(r.id), apps.get(r.app_id)));
  }
}

/** The JSON a hook receives as $1. Environment values stay private: names only. */
export function hookPayload(row: ProcessRow): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    pid: row.pid,
    status: row.status,
    restarts: row.restarts,
    user: row.user,
    uid: row.uid,
    gid: row.gid,
    log: row.log,
    process_file: row.process_file,
    args: JSON.parse(row.args) as string[],
    env_names: Object.keys(JSON.parse(row.env) as Record<string, string>),
    last_exit_code: row.last_exit_code,
    last_signal: row.last_signal,
    started_at: row.started_at,
    stopped_at: row.stopped_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toView(r: ProcessRow, u: { cpu: number; memory: number } | undefined, now: number, saved = true, app?: AppRow): ProcessView {
  // An app of several instances shows each as name:N (a selector that names it); one instance as the name.
  const several = app ? app.instances > 1 || r.instance !== 0 : r.instance !== 0;
  return {
    id: r.id,
    name: several ? `${r.name}:${r.instance}` : r.name,
    status: r.status as Status,
    pid: r.pid,
    restarts: r.restarts,
    user: r.user,
    uid: r.uid,
    gid: r.gid,
    process_file: r.process_file,
    args: JSON.parse(r.args) as string[],
    env: JSON.parse(r.env) as Record<string, string>,
    cwd: r.cwd,
    log: r.log,
    auto_restart: r.auto_restart === 1,
    cpu: u ? Math.round(u.cpu * 10) / 10 : null,
    memory: u ? u.memory : null,
    uptime_ms: r.status === 'running' && r.started_at ? Math.max(0, now - Date.parse(r.started_at)) : null,
    last_exit_code: r.last_exit_code,
    last_signal: r.last_signal,
    started_at: r.started_at,
    created_at: r.created_at,
    updated_at: r.updated_at,
    cgroup: r.cgroup,
    saved,
    app: r.name,
    instance: r.instance,
    ...(app ? { source: app.source, groups: groupsOf(app) } : {}),
    reason: r.reason,
  };
}

/** An app's groups (its JSON column), [] if unreadable or there is no app. */
function groupsOf(app: AppRow | undefined): string[] {
  if (!app) return [];
  try {
    const g = JSON.parse(app.groups) as unknown;
    return Array.isArray(g) ? g.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** The part of a view a reply about many processes carries (protocol processSummary). */
function summary(v: ProcessView): ProcessSummary {
  const { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved } = v;
  return { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved };
}

export { commandBytes };

/** The directory under logs_dir for a user's logs: the user name when it is a safe file name, else the uid. */
function safeDirName(user: UserInfo): string {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(user.name) && !user.name.includes('..') && user.name !== 'pmond.log' ? user.name : String(user.uid);
}

/** p's value, or undefined once the wall clock passes deadline. */
async function raceDeadline<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
  const ms = Math.max(0, deadline - Date.now());
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    t = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}
