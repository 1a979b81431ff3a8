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
 *   arrives for a process no longer watched (stopped, replaced) is ignored.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pidusage from 'pidusage';
import type { Config } from '../config/config';
import type { HookEvent, HookRunner } from '../hooks/hooks';
import type { Logger } from '../logger/logger';
import { decideRestart } from '../process/restart-policy';
import { GroupWatch } from '../process/group-watch';
import { findByEnv, isSameProcess, readStartTime, signalGroup } from '../process/procfs';
import { checkExecutable, type ExitInfo, type Spawner, type Watched } from '../process/spawner';
import { isActive, transition, type SupervisorEvent } from '../process/status';
import type { UserInfo, UserResolver } from '../process/users';
import { failedPrecondition, invalidArgument, notFound, permissionDenied, PmonError } from '../protocol/errors';
import { nameSchema, type ExecParams, type ProcessView, type Status } from '../protocol/methods';
import type { ProcessRow, ProcessPatch } from '../store/schema';
import type { Store } from '../store/store';
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

/** How long to wait for a process group to empty after SIGKILL. */
const KILL_GRACE_MS = 3000;

export class Supervisor {
  private readonly rts = new Map<number, Runtime>();
  private readonly groups = new GroupWatch();
  /** Watched processes that are not our children (re-adopted): their exit must be polled. */
  private readonly adopted = new WeakSet<Watched>();
  private monitor?: { cancel(): void };
  private closed = false;

  constructor(private readonly d: SupervisorDeps) {}

  // ---------------------------------------------------------------- boot

  /**
   * Reconcile every row with the OS: re-adopt what still runs (same pid and
   * start time), bring back what should run, leave stopped what was stopped.
   */
  async boot(): Promise<void> {
    for (const row of await this.d.store.all()) {
      await this.rt(row.id).lock.run(() => this.reconcile(row));
    }
    this.scheduleMonitor();
  }

  private async reconcile(row: ProcessRow): Promise<void> {
    const alive = row.pid !== null && row.pid_start_time !== null && isSameProcess(row.pid, row.pid_start_time);
    if (alive) {
      const w = this.adopt(row.id, row.pid!, row.pid_start_time!);
      if (row.desired === 'stopped') {
        this.d.logger.info(`${row.name}: was being stopped when pmond went down; stopping pid ${row.pid}`);
        await this.stopLocked(row, { force: false, event: 'stop', desired: 'stopped' });
        return;
      }
      if (row.status !== 'running') await this.update(row, { status: transition(row.status, 'adopt', row.name) });
      this.d.logger.info(`${row.name}: re-adopted pid ${w.pid}`);
      return;
    }
    if (row.status === 'init' && row.spawn_token) {
      // pmond died between spawning and recording the pid: find the child by its token.
      const found = this.findSpawned(row.spawn_token);
      if (found) {
        this.adopt(row.id, found.pid, found.startTime);
        const cur = await this.update(row, { pid: found.pid, pid_start_time: found.startTime, started_at: new Date().toISOString() });
        if (row.desired === 'stopped') {
          await this.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped' });
          return;
        }
        await this.update(cur, { status: transition(cur.status, 'adopt', cur.name) });
        this.d.logger.info(`${row.name}: found unrecorded child pid ${found.pid} by its spawn token; re-adopted`);
        return;
      }
    }
    if (row.pid !== null) {
      this.d.logger.info(`${row.name}: pid ${row.pid} is gone (or now belongs to another program)`);
    }
    if (row.desired === 'running') {
      // It should run. If it was running (or about to be restarted), it was lost while pmond
      // was away: that is a restart. A row caught mid-spawn ('init') never ran: start it afresh.
      const wasRunning = row.status === 'running' || row.status === 'backoff' || row.status === 'restarting';
      const status: Status = row.status === 'running' ? 'restarting' : row.status === 'init' ? 'queued' : row.status;
      let cur = await this.update(row, { pid: null, pid_start_time: null, status });
      if (!cur.auto_restart && wasRunning) {
        cur = await this.update(cur, { status: 'failed', desired: 'stopped', stopped_at: new Date().toISOString() });
        this.fireHook('failure', cur);
        return;
      }
      await this.startLocked(cur, { countRestart: wasRunning, hook: wasRunning ? 'restart' : 'start' }).catch((e) =>
        this.d.logger.error(`${row.name}: could not be started at boot: ${(e as Error).message}`),
      );
      return;
    }
    if (isActive(row.status) || row.pid !== null) {
      await this.update(row, { status: 'stopped', pid: null, pid_start_time: null });
    }
  }

  /** The live process started with this spawn token, if any. */
  private findSpawned(token: string): { pid: number; startTime: number } | null {
    for (const pid of findByEnv('PMON3_SPAWN_TOKEN', token)) {
      const startTime = readStartTime(pid);
      if (startTime !== null) return { pid, startTime };
    }
    return null;
  }

  /** Watch a process pmond did not spawn (found alive at boot). */
  private adopt(id: number, pid: number, startTime: number): Watched {
    const rt = this.rt(id);
    let resolve!: (i: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolve = r));
    const w: Watched = { pid, startTime, exited };
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

  /** Every process the caller may see, with cpu and memory. */
  async list(caller: Caller): Promise<ProcessView[]> {
    const rows = (await this.d.store.all()).filter((r) => this.mayAct(caller, r));
    return this.views(rows);
  }

  /** One process by id or name. */
  async describe(caller: Caller, target: string): Promise<ProcessView> {
    const row = await this.find(caller, target);
    return (await this.views([row]))[0]!;
  }

  /** Find a row by id or name, NOT_FOUND if absent or not the caller's to see. */
  async find(caller: Caller, target: string): Promise<ProcessRow> {
    let row: ProcessRow | undefined;
    if (/^\d+$/.test(target)) row = await this.d.store.get(Number(target));
    row ??= await this.d.store.getByName(target);
    // Another user's process is reported exactly like a missing one.
    if (!row || !this.mayAct(caller, row)) throw notFound(`process "${target}" not found`);
    return row;
  }

  // ------------------------------------------------------------ commands

  /** Create a process and start it. Nothing is left behind if it cannot start. */
  async exec(caller: Caller, p: ExecParams): Promise<ProcessView> {
    const name = p.name ?? path.basename(p.file);
    const parsed = nameSchema.safeParse(name);
    if (!parsed.success) {
      throw invalidArgument(`name "${name.slice(0, 80)}": ${parsed.error.issues[0]!.message}${p.name ? '' : ' (use --name)'}`);
    }
    const user = await this.targetUser(caller, p.user);
    checkExecutable(p.file, user.uid, [user.gid, ...user.groups]);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p.cwd);
    } catch {
      st = undefined;
    }
    if (!st?.isDirectory()) throw invalidArgument(`cwd ${p.cwd} is not a directory`);
    if (await this.d.store.getByName(name)) throw new PmonError('ALREADY_EXISTS', `process "${name}" already exists`);
    const log = p.log ?? path.join(p.log_dir ?? this.d.config.logs_dir, `${name}.log`);
    const row = await this.d.store.insert({
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
    const rt = this.rt(row.id);
    return rt.lock.run(async () => {
      try {
        const started = await this.startLocked(row, { countRestart: false, hook: 'start' });
        return (await this.views([started]))[0]!;
      } catch (e) {
        await this.d.store.remove(row.id);
        this.rts.delete(row.id);
        throw e;
      }
    });
  }

  /** Stop one process; force = SIGKILL at once. */
  async stop(caller: Caller, target: string, force: boolean): Promise<ProcessView> {
    const row = await this.find(caller, target);
    const out = await this.rt(row.id).lock.run(async () => {
      const cur = await this.mustGet(row.id);
      return this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
    });
    return (await this.views([out]))[0]!;
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
    const rt = this.rt(row.id);
    const out = await rt.lock.run(async () => {
      let cur = await this.mustGet(row.id);
      if (rt.watched || isActive(cur.status)) cur = await this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
      await this.d.store.remove(cur.id);
      return cur;
    });
    this.rts.delete(row.id);
    return (await this.views([out]))[0]!;
  }

  /** Stop every process the caller owns. */
  async killAll(caller: Caller, force: boolean): Promise<ProcessView[]> {
    return this.forAll(caller, (r) => isActive(r.status) || !!this.rts.get(r.id)?.watched, async (cur) =>
      this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true }),
    );
  }

  /** Start every stopped or failed process the caller owns. */
  async initAll(caller: Caller): Promise<ProcessView[]> {
    return this.forAll(caller, (r) => r.status === 'stopped' || r.status === 'failed', async (cur) =>
      cur.status === 'stopped' || cur.status === 'failed' ? this.startLocked(cur, { countRestart: false, hook: 'start' }) : cur,
    );
  }

  /** Stop and delete every process the caller owns. */
  async dropAll(caller: Caller, force: boolean): Promise<ProcessView[]> {
    const done = await this.forAll(caller, () => true, async (cur) => {
      const rt = this.rt(cur.id);
      if (rt.watched || isActive(cur.status)) cur = await this.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
      await this.d.store.remove(cur.id);
      return cur;
    });
    for (const v of done) this.rts.delete(v.id);
    return done;
  }

  /** Reset restart counters of one process or every one the caller owns. */
  async reset(caller: Caller, target?: string): Promise<ProcessView[]> {
    if (target !== undefined) {
      const row = await this.find(caller, target);
      const out = await this.rt(row.id).lock.run(async () => this.update(await this.mustGet(row.id), { restarts: 0, consecutive_failures: 0 }));
      return this.views([out]);
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
  ): Promise<ProcessView[]> {
    const rows = (await this.d.store.all()).filter((r) => this.mayAct(caller, r) && pick(r));
    const out = await Promise.all(
      rows.map((r) =>
        this.rt(r.id).lock.run(async () => {
          const cur = await this.d.store.get(r.id);
          return cur ? fn(cur) : undefined;
        }),
      ),
    );
    return this.views(out.filter((r): r is ProcessRow => r !== undefined));
  }

  private rt(id: number): Runtime {
    let rt = this.rts.get(id);
    if (!rt) {
      rt = { lock: new Lock() };
      this.rts.set(id, rt);
    }
    return rt;
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

  /** Spawn the row's process. The caller holds the lock. */
  private async startLocked(
    row: ProcessRow,
    opts: { countRestart: boolean; hook: HookEvent },
  ): Promise<ProcessRow> {
    const rt = this.rt(row.id);
    rt.backoff?.cancel();
    rt.backoff = undefined;
    const token = randomUUID();
    // Recorded before the spawn, so a pmond killed right after it can still find the child.
    let cur = await this.update(row, { status: transition(row.status, 'start', row.name), desired: 'running', spawn_token: token });
    let user: UserInfo;
    let w: Watched;
    try {
      user = await this.d.users.user(cur.uid);
      checkExecutable(cur.process_file, cur.uid, [cur.gid, ...user.groups]);
      w = await this.d.spawner.spawn({
        file: cur.process_file,
        args: JSON.parse(cur.args) as string[],
        env: { ...this.childEnv(cur, user), PMON3_SPAWN_TOKEN: token },
        cwd: cur.cwd,
        uid: cur.uid,
        gid: cur.gid,
        logPath: cur.log,
        // Only pmond's own logs_dir is root-controlled; any other directory is the user's business.
        logInDaemonDir: path.dirname(cur.log) === path.resolve(this.d.config.logs_dir),
      });
    } catch (e) {
      cur = await this.update(cur, {
        status: transition(cur.status, 'spawn_failed', cur.name),
        desired: 'stopped',
        pid: null,
        pid_start_time: null,
        stopped_at: new Date().toISOString(),
      });
      this.d.logger.warn(`${cur.name}: start failed: ${(e as Error).message}`);
      this.fireHook('failure', cur);
      throw e;
    }
    cur = await this.update(cur, {
      status: transition(cur.status, 'spawned', cur.name),
      pid: w.pid,
      pid_start_time: w.startTime,
      started_at: new Date(this.d.clock.now()).toISOString(),
      restarts: cur.restarts + (opts.countRestart ? 1 : 0),
    });
    this.watch(cur.id, w);
    this.d.logger.info(`${cur.name}: started pid ${w.pid}`);
    this.fireHook(opts.hook, cur);
    return cur;
  }

  private watch(id: number, w: Watched): void {
    this.rt(id).watched = w;
    void w.exited.then((info) => this.onExit(id, w, info));
  }

  /** A watched process ended on its own: apply the restart policy. */
  private async onExit(id: number, w: Watched, info: ExitInfo): Promise<void> {
    const rt = this.rts.get(id);
    if (!rt) return;
    await rt.lock.run(async () => {
      if (rt.watched !== w || this.closed) return; // a stop or restart owns this exit
      rt.watched = undefined;
      rt.adoptedGone = undefined;
      // No orphaned grandchildren: whatever is left of its group goes with it. (No /proc scan
      // first: this is the restart hot path, and an empty group just answers ESRCH.)
      signalGroup(w.pid, 'SIGKILL');
      const row = await this.d.store.get(id);
      if (!row) return;
      const uptimeMs = row.started_at ? this.d.clock.now() - Date.parse(row.started_at) : 0;
      const d = decideRestart(
        {
          autoRestart: row.auto_restart === 1,
          exitCode: info.code,
          signal: info.signal,
          uptimeMs,
          consecutiveFailures: row.consecutive_failures,
        },
        {
          initialDelayMs: this.d.config.restart_backoff_initial,
          maxDelayMs: this.d.config.restart_backoff_max,
          stableAfterMs: this.d.config.restart_stable_after,
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
        void rt.lock.run(async () => {
          const now = await this.d.store.get(id);
          if (!now || now.status !== 'backoff' || this.closed) return;
          await this.startLocked(now, { countRestart: true, hook: 'restart' }).catch(() => undefined);
        });
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
      info = await this.terminate(w, opts.force ? 'SIGKILL' : this.d.config.stop_signal);
      rt.adoptedGone = undefined;
    }
    const status = transition(cur.status, opts.event, cur.name);
    cur = await this.update(cur, {
      status,
      desired: opts.desired,
      pid: null,
      pid_start_time: null,
      stopped_at: new Date(this.d.clock.now()).toISOString(),
      ...(info ? { last_exit_code: info.code, last_signal: info.signal } : {}),
    });
    if (w) this.d.logger.info(`${cur.name}: stopped pid ${w.pid}`);
    if (opts.hook) this.fireHook('stop', cur);
    return cur;
  }

  /** Signal a process group, escalate to SIGKILL, wait until it is empty. */
  private async terminate(w: Watched, signal: NodeJS.Signals): Promise<ExitInfo> {
    const pgid = w.pid;
    const deadline = this.d.clock.now() + this.d.config.stop_timeout * 1000;
    const gone = this.exitOf(w);
    signalGroup(pgid, signal);
    // First the main process (an event for our children), then whatever is left of its group.
    let info = await raceDeadline(gone, deadline);
    const empty = info !== undefined && (await this.groups.waitEmpty(pgid, deadline));
    if (!empty) {
      signalGroup(pgid, 'SIGKILL');
      info ??= await raceDeadline(gone, this.d.clock.now() + KILL_GRACE_MS);
      await this.groups.waitEmpty(pgid, this.d.clock.now() + KILL_GRACE_MS);
    }
    return info ?? { code: null, signal: 'SIGKILL' };
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
    return { ...base, ...(JSON.parse(row.env) as Record<string, string>), PMON3_PROCESS_ID: String(row.id), PMON3_PROCESS_NAME: row.name };
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
    return rows.map((r) => toView(r, r.pid !== null ? usage[r.pid] : undefined, now));
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

export function toView(r: ProcessRow, u: { cpu: number; memory: number } | undefined, now: number): ProcessView {
  return {
    id: r.id,
    name: r.name,
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
  };
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
