/**
 * The supervisor: owns every managed process's lifecycle. It depends only on
 * interfaces (Store, Spawner, HookRunner, UserResolver, Clock, Os, Logger) wired
 * together in internal/daemon/daemon.ts. Every operation on one process runs under
 * that process's lock; every status change goes through Units.setStatus and so
 * through the transition table.
 *
 * This file is the facade the server and the daemon see; the work is done by:
 * - units.ts: per-process runtime and rows; setStatus, the single authority over status;
 * - lifecycle.ts: start, watch, and the restart policy on an exit;
 * - terminate.ts: stop (signal, deadline, SIGKILL), leftovers;
 * - boot.ts: reconcile the table with the OS at start (crash safety), poll adopted processes;
 * - exec.ts, commands.ts: the commands; logs.ts: log paths; views.ts: what replies show;
 * - apps.ts: declarative apps (apply, groups, scale, dgraph), through its AppsHost.
 *
 * Security rules (see README "Security model"): nothing here touches a path
 * the user named; the exec helper does, as the user (internal/process/spawner).
 */
import { stdinPath, writeStdin } from './stdin';
import * as fs from 'node:fs';
import { appType, commandBytes } from '../apps/model';
import type { MarkedScan } from '../process/procfs';
import type { Action, ExecParams, Health, Params, ProcessSummary, ProcessTableRow, ProcessView, Result } from '../protocol/methods';
import type { ProcessRow } from '../store/schema';
import { failedPrecondition, notFound, PmonError, permissionDenied } from '../protocol/errors';
import { Apps } from './apps';
import { Boot } from './boot';
import { Commands, stoppedBy } from './commands';
import type { Caller, Core, SupervisorDeps } from './deps';
import { Exec } from './exec';
import { Checks } from './checks';
import { Lifecycle } from './lifecycle';
import { Loggers, wantsLogger } from './loggers';
import { Watchers } from './watchers';
import { Rolling } from './rolling';
import { Logs } from './logs';
import { systemOs } from './os';
import { crashFiles } from './crash';
import { Tasks } from './tasks';
import { Terminator } from './terminate';
import { Units, type StatusChange } from './units';
import { AppFacts, summary, views } from './views';

export type { Caller, SupervisorConfig, SupervisorDeps } from './deps';
export type { StatusChange } from './units';
export { hookPayload } from './views';
export { commandBytes };

export class Supervisor {
  private readonly c: Core;
  private readonly boots: Boot;
  private readonly cmds: Commands;
  private readonly execs: Exec;
  /** apply, groups, dgraph: declarative apps, acting through this supervisor's locks and lifecycle. */
  private readonly apps: Apps;
  private readonly rolling: Rolling;
  private readonly loggers: Loggers;
  private readonly watchers: Watchers;
  /** cron runs, cron_restart, repeat, after, run: time and order (tasks.ts). */
  private readonly tasks: Tasks;

  constructor(d: SupervisorDeps) {
    this.c = { ...d, os: d.os ?? systemOs(), units: new Units(d.store, d.logger), facts: new AppFacts() };
    const term = new Terminator(this.c);
    const units0 = this.c.units;
    // A failed liveness check restarts the instance it found, if that one is still the one watched.
    const health = new Checks(
      this.c,
      {
        restart: (id, w, reason) => {
          void units0
            .locked(id, async () => {
              if (units0.peek(id)?.watched !== w || units0.closed) return;
              this.c.logger.warn(`process ${id}: pid ${w.pid}: ${reason}; restarting it`);
              await this.cmds.restartLocked(id, true, reason);
            })
            .catch((e: unknown) => this.c.logger.warn(`process ${id}: restart after a failed check: ${(e as Error)?.message ?? String(e)}`));
        },
      },
      d.notify,
      d.liveDir,
      d.ackSocket,
    );
    this.loggers = new Loggers(this.c, d.logPipes, d.loggerBin ?? 'pmon3-log');
    this.watchers = new Watchers(this.c, d.watchAgent?.script, d.watchAgent?.socket);
    const life = new Lifecycle(this.c, term, health, this.loggers, this.watchers);
    const logs = new Logs(d.config, d.daemonUid, d.logger);
    this.boots = new Boot(this.c, life, term, this.loggers);
    // A process gone for good (stopped, failed, done, deleted): its logger's pipe is let go, and
    // the logger ends once it has written what is left.
    this.c.units.subscribe((ch) => {
      if (ch.to !== 'stopped' && ch.to !== 'failed' && ch.to !== 'completed') return;
      void this.c.store.get(ch.id).then(async (r) => {
        if (!r || r.desired === 'stopped') void this.loggers.release(ch.id);
        // An app's watcher goes once none of its instances is meant to run (or is left): the
        // changed row's app; a row already deleted names none, so then every watched app.
        for (const appId of r ? (this.watchers.apps().includes(r.app_id) ? [r.app_id] : []) : this.watchers.apps()) {
          if (!(await this.c.store.instancesOf(appId)).some((x) => x.desired === 'running')) this.watchers.stop(appId);
        }
      });
    });
    this.cmds = new Commands(this.c, life, term, logs);
    this.execs = new Exec(this.c, life, logs);
    this.tasks = new Tasks(this.c, life, this.cmds, term);
    this.c.after = this.tasks;
    const units = this.c.units;
    this.rolling = new Rolling(this.c, life, term, (caller, target) => this.cmds.select(caller, target), this.loggers);
    const startOrArm = async (row: ProcessRow): Promise<ProcessRow> =>
      appType(await units.definitionOf(row)) === 'cron' ? units.setStatus(row, 'arm', { desired: 'running' }) : life.startLocked(row, { countRestart: false, hook: 'start' });
    this.apps = new Apps({
      store: d.store,
      users: d.users,
      clock: d.clock,
      logger: d.logger,
      config: d.config,
      daemonUid: d.daemonUid,
      host: {
        find: (caller, target) => this.cmds.find(caller, target),
        select: (caller, target) => this.cmds.select(caller, target),
        locked: (id, fn) => units.locked(id, fn),
        deleteRow: (id, force) => this.cmds.deleteRow(id, force).then(() => undefined),
        restartLocked: (id, count) => this.cmds.restartLocked(id, count),
        stopForRestartLocked: async (id) => term.stopLocked(await units.mustGet(id), { force: false, event: 'restart', desired: 'running' }),
        startLocked: startOrArm,
        startAfter: (rows) => this.tasks.startAfter(rows),
        setStatus: (row, event, patch) => units.setStatus(row, event, patch),
        targetUser: (caller, spec) => this.execs.targetUser(caller, spec),
        logFor: (name, user, p) => logs.logFor(name, user, p),
        reloading: (appId) => this.rolling.reloading(appId),
        ownLimits: () => {
          try {
            return fs.readFileSync('/proc/self/limits', 'utf8');
          } catch {
            return '';
          }
        },
      },
    });
  }

  /** Bytes for the stdin of target (its owner only; an app with stdin: true; running). */
  async input(caller: Caller, target: string, data: string): Promise<{ written: number }> {
    const row = await this.cmds.find(caller, target);
    if (row.uid !== caller.uid) throw permissionDenied(`only its owner (uid ${row.uid}) may write to the stdin of ${row.name}`);
    if (!(await this.c.units.definitionOf(row))?.task?.stdin) throw failedPrecondition(`${row.name} has no stdin to write to (its app needs stdin: true)`);
    if (row.pid === null) throw failedPrecondition(`${row.name} is not running`);
    return { written: writeStdin(stdinPath(this.c.config.data_dir, row.id), Buffer.from(data, 'utf8')) };
  }

  /** Be told of every status change once it is stored; returns the unsubscribe. */
  subscribe(fn: (c: StatusChange) => void): () => void {
    return this.c.units.subscribe(fn);
  }

  async apply(caller: Caller, p: Params<'apply'>): Promise<Result<'apply'>> {
    const out = await this.apps.apply(caller, p);
    if (!p.dry_run) await this.tasks.syncAll();
    return out;
  }

  /** run: each process the selector names started now (a cron app's run out of schedule, a once app again); one that runs is a per-process FAILED_PRECONDITION. */
  run(caller: Caller, target: string): Promise<ProcessSummary[]> {
    return this.each(caller, target, (id) => this.tasks.runNow(id));
  }

  /** trystart: each process the selector names restarted if it runs, else started. */
  tryStart(caller: Caller, target: string): Promise<ProcessSummary[]> {
    return this.each(caller, target, (id) => this.c.units.locked(id, () => this.cmds.tryStartLocked(id)));
  }

  /** fn on each row a selector names; NOT_FOUND if none, a failure of one process in its summary (the first alone: thrown). */
  private async each(caller: Caller, target: string, fn: (id: number) => Promise<ProcessRow>): Promise<ProcessSummary[]> {
    const rows = await this.cmds.select(caller, target);
    if (rows.length === 0) throw notFound(`process "${target}" not found`);
    const out: ProcessSummary[] = [];
    for (const r of rows) {
      try {
        out.push(summary((await views(this.c, [await fn(r.id)]))[0]!));
      } catch (e) {
        if (!(e instanceof PmonError) || rows.length === 1) throw e;
        const cur = await this.c.store.get(r.id);
        if (cur) out.push({ ...summary((await views(this.c, [cur]))[0]!), error: e.message, error_code: e.code });
      }
    }
    return out;
  }

  /** Processes the caller may see, per status, and their apps' count (info). */
  async counts(caller: Caller): Promise<{ counts: Record<string, number>; apps: number }> {
    const rows = await this.cmds.visible(caller);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return { counts, apps: new Set(rows.map((r) => r.app_id)).size };
  }

  group(caller: Caller, p: Params<'group'>): Promise<Result<'group'>> {
    return this.apps.group(caller, p);
  }

  /** restart with the Go pmon3's flags (Apps.restartWith): the view of the first instance. */
  async restartWith(caller: Caller, target: string, count: boolean, changes: NonNullable<Params<'restart'>['changes']>): Promise<ProcessView> {
    const rows = await this.apps.restartWith(caller, target, count, changes);
    return (await views(this.c, rows.slice(0, 1)))[0]!;
  }

  /** init: every stopped or failed process the caller owns (config_only: of apps from files), dependencies first. */
  async init(caller: Caller, configOnly: boolean): Promise<ProcessSummary[]> {
    return (await views(this.c, await this.apps.init(caller, configOnly))).map(summary);
  }

  /** log rotate: each selected process with a logger rotates (SIGHUP to it); the others are said why not. */
  async rotateLogs(caller: Caller, target: string | undefined): Promise<Result<'log_rotate'>> {
    const rows = target === undefined ? await this.cmds.visible(caller) : await this.cmds.select(caller, target);
    if (target !== undefined && rows.length === 0) throw notFound(`process "${target}" not found`);
    const views0 = await views(this.c, rows);
    const rotated: string[] = [];
    const skipped: Array<{ name: string; why: string }> = [];
    for (const [i, r] of rows.entries()) {
      const name = views0[i]!.name;
      if (this.loggers.rotate(r.id)) rotated.push(name);
      else if (target !== undefined) skipped.push({ name, why: wantsLogger(await this.c.units.definitionOf(r)) ? 'its logger is not running' : 'it writes its log directly (no rotate: or timestamps: in its app); rotate it with logrotate (copytruncate)' });
    }
    if (target !== undefined && rotated.length === 0 && skipped.length === 1) throw failedPrecondition(`log rotate: ${skipped[0]!.name}: ${skipped[0]!.why}`);
    return { rotated, skipped };
  }

  /** upgrade (reload NAME): one app's running instances replaced one batch at a time (rolling.ts). */
  async upgrade(caller: Caller, target: string): Promise<Result<'upgrade'>> {
    const r = await this.rolling.reload(caller, target);
    return { replaced: r.replaced, ms: r.ms, processes: (await views(this.c, r.rows)).map(summary) };
  }

  async scale(caller: Caller, p: Params<'scale'>): Promise<ProcessSummary[]> {
    return (await views(this.c, await this.apps.scale(caller, p))).map(summary);
  }

  listApps(caller: Caller): Promise<Result<'apps'>> {
    return this.apps.list(caller);
  }

  dgraph(caller: Caller, configOnly: boolean): Promise<Result<'dgraph'>> {
    return this.apps.dgraph(caller, configOnly);
  }

  /** row's crash files (save_log_on_crash), newest first. */
  crashFiles(row: ProcessRow): Promise<string[]> {
    return crashFiles(this.c, row);
  }

  /** Reconcile every row with the OS at start (boot.ts). */
  async boot(scan?: MarkedScan): Promise<void> {
    await this.boots.boot(scan);
    await this.rolling.recover();
    await this.tasks.start();
  }

  /** A page of the processes the caller may see (commands.ts list). */
  list(caller: Caller, after = 0, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ processes: ProcessView[]; next: number | null }> {
    return this.cmds.list(caller, after, maxBytes);
  }

  /** As list, each process as a table shows it. */
  table(caller: Caller, after = 0, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ processes: ProcessTableRow[]; next: number | null }> {
    return this.cmds.table(caller, after, maxBytes);
  }

  /** One process by id or name. */
  async describe(caller: Caller, target: string): Promise<ProcessView> {
    const row = await this.cmds.find(caller, target);
    const crash = await crashFiles(this.c, row);
    return { ...(await views(this.c, [row]))[0]!, ...(crash.length ? { crash_files: crash } : {}) };
  }

  /** The rows a selector names, among those the caller may see, in id order. */
  select(caller: Caller, target: string): Promise<ProcessRow[]> {
    return this.cmds.select(caller, target);
  }

  /** The one row a selector names; INVALID_ARGUMENT if it names several. */
  find(caller: Caller, target: string): Promise<ProcessRow> {
    return this.cmds.find(caller, target);
  }

  /** The user a row's files are touched as: its uid, gid and supplementary groups. */
  async identity(row: ProcessRow): Promise<{ uid: number; gid: number; groups: number[] }> {
    const user = await this.c.users.user(row.uid);
    return { uid: row.uid, gid: row.gid, groups: [...new Set([row.gid, ...user.groups])] };
  }

  /** Resolves once every change made so far is written, or known to be kept in memory only. */
  settled(): Promise<void> {
    return this.c.store.settled();
  }

  /** pmond's health, for ping. */
  health(): Health {
    const store = this.c.store.health();
    const cg = this.c.cgroups.state;
    return { ok: store.ok, store, cgroups: cg.usable ? `cgroup v2 (${cg.base})` : `process groups (${cg.why})` };
  }

  /** Create a process and start it. Nothing is left behind if it cannot start. */
  exec(caller: Caller, p: ExecParams): Promise<ProcessView> {
    return this.execs.exec(caller, p);
  }

  /** Stop one process; force = SIGKILL at once. */
  async stop(caller: Caller, target: string, force: boolean): Promise<ProcessView> {
    const row = await this.cmds.find(caller, target);
    return (await views(this.c, [await this.cmds.stopRow(row.id, force, stoppedBy(caller))]))[0]!;
  }

  /** (Re)start one process; count: whether it counts as a restart. */
  async restart(caller: Caller, target: string, count: boolean): Promise<ProcessView> {
    const row = await this.cmds.find(caller, target);
    const out = await this.c.units.locked(row.id, () => this.cmds.restartLocked(row.id, count));
    return (await views(this.c, [out]))[0]!;
  }

  /** Stop (if needed) and delete one process. */
  async delete(caller: Caller, target: string, force: boolean): Promise<ProcessView> {
    const row = await this.cmds.find(caller, target);
    return (await views(this.c, [await this.cmds.deleteRow(row.id, force)]))[0]!;
  }

  /** One action on every process the targets select (commands.ts act). */
  act(caller: Caller, action: Action, targets: readonly string[], force: boolean): Promise<ProcessSummary[]> {
    return this.cmds.act(caller, action, targets, force);
  }

  /** Every process the caller may see (its own; root and admin_group: all), by id. */
  visible(caller: Caller): Promise<ProcessRow[]> {
    return this.cmds.visible(caller);
  }

  /** Stop every process the caller owns. */
  killAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    return this.cmds.killAll(caller, force);
  }

  /** Start every stopped or failed process the caller owns. */
  initAll(caller: Caller): Promise<ProcessSummary[]> {
    return this.cmds.initAll(caller);
  }

  /** Stop and delete every process the caller owns. */
  dropAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    return this.cmds.dropAll(caller, force);
  }

  /** Reset restart counters of one process or every one the caller owns. */
  reset(caller: Caller, target?: string): Promise<ProcessSummary[]> {
    return this.cmds.reset(caller, target);
  }

  /**
   * On daemon shutdown: no exit is acted on from now on, adopted processes are no longer polled;
   * with stopChildren (handle_interrupts) every child is stopped but kept desired-running, so the
   * next pmond brings it back; otherwise every child is left running for re-adoption.
   */
  async shutdown(stopChildren: boolean): Promise<void> {
    this.c.units.closed = true;
    this.boots.stopMonitor();
    this.tasks.stop();
    await this.cmds.shutdown(stopChildren);
  }
}
