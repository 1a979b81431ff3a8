/**
 * A process's life: start it (spawn, with a cgroup while cgroups work), watch it, and when it
 * ends on its own apply the restart policy (decideRestart: the app's own policy, else the
 * config's): restart now, after a delay, or give up.
 *
 * A process is watched by exactly one Watched at a time; an exit that arrives for a process no
 * longer watched (stopped, replaced) is ignored: whoever replaced it owns that exit.
 */
import { randomUUID } from 'node:crypto';
import type { HookEvent } from '../hooks/hooks';
import { type AppDefinition, appType } from '../apps/model';
import { rlimitWords } from '../apps/rlimits';
import { listenEnv } from '../apps/sockets';
import { decideRestart, isFailure } from '../process/restart-policy';
import { failedPrecondition } from '../protocol/errors';
import { CgroupJoinError, type ExitInfo, type SpawnRequest, type Watched } from '../process/spawner';
import type { SupervisorEvent } from '../process/status';
import type { ProcessRow } from '../store/schema';
import { DEFAULT_HOOK_TIMEOUT_MS, runAppHook } from './app-hooks';
import { isoNow } from './clock';
import type { Core } from './deps';
import { saveCrash } from './crash';
import type { Checks } from './checks';
import { type Loggers, wantsLogger } from './loggers';
import type { Watchers } from './watchers';
import { processEnv } from './env';
import { stdinFifo } from './stdin';
import { logTarget } from './logs';
import type { Terminator } from './terminate';
import type { Patch } from './units';
import { fireHook } from './views';

export class Lifecycle {
  constructor(
    private readonly c: Core,
    private readonly term: Terminator,
    private readonly health: Checks,
    private readonly loggers: Loggers,
    private readonly watchers: Watchers,
  ) {}

  /**
   * Spawn the row's process. The caller holds the lock. `quiet` (a new exec,
   * whose row is removed again if it cannot start): no failure hook. `env`: pmond's words for
   * this run (a cron run's PMON3_SCHEDULED_AT), after the app's own env.
   */
  async startLocked(row: ProcessRow, opts: { countRestart: boolean; hook: HookEvent; quiet?: boolean; env?: Record<string, string> }): Promise<ProcessRow> {
    const { units, cgroups, logger, clock } = this.c;
    const rt = units.rt(row.id);
    rt.backoff?.cancel();
    rt.backoff = undefined;
    rt.up?.cancel();
    rt.up = undefined;
    const token = randomUUID();
    // Recorded before the spawn, so a pmond killed right after it can still find the child.
    let cur = await units.setStatus(row, 'start', { desired: 'running', spawn_token: token });
    const def = await units.definitionOf(cur);
    const task = def?.task;
    const hookMs = task?.hook_timeout_ms ?? DEFAULT_HOOK_TIMEOUT_MS;
    if (task?.pre_start) {
      const r = await runAppHook(this.c, cur, 'pre_start', task.pre_start, hookMs, null);
      if (!r.ok) {
        cur = await units.setStatus(cur, 'spawn_failed', { desired: 'stopped', reason: `pre_start: ${r.why}`, stopped_at: isoNow(this.c.clock) });
        if (!opts.quiet) fireHook(this.c.hooks, 'failure', cur);
        throw failedPrecondition(`${cur.name}: not started: pre_start failed (${r.why})`);
      }
    }
    let w: Watched;
    try {
      const user = await this.c.users.user(cur.uid);
      const sockets = await this.socketsFor(cur, def?.sockets ?? []);
      const cgroup = cgroups.prepare(cur.id, token);
      if (task?.memory_max_bytes !== undefined || task?.cpu_max !== undefined || task?.pids_max !== undefined) {
        // Written before the program is cloned into it; where it cannot be, it starts anyway and pmond.log says so.
        for (const why of cgroups.limit(cgroup, { memory_max: task.memory_max_bytes, cpu_max: task.cpu_max, pids_max: task.pids_max })) logger.warn(`${cur.name}: ${why}`);
      }
      w = await this.spawn({
        file: cur.process_file,
        args: JSON.parse(cur.args) as string[],
        env: { ...processEnv(cur, user, this.c.daemonId), ...opts.env, ...listenEnv(def?.sockets ?? []), ...this.health.env(cur, def), PMON3_SPAWN_TOKEN: token },
        ...(sockets.length ? { sockets } : {}),
        ...(def?.rlimits ? { rlimits: rlimitWords(def.rlimits) } : {}),
        ...(task?.stdin ? { stdin: stdinFifo(this.c.config.data_dir, cur.id) } : {}),
        cwd: cur.cwd,
        uid: cur.uid,
        gid: cur.gid,
        groups: [...new Set([cur.gid, ...user.groups])],
        log: wantsLogger(def) ? await this.loggers.target(cur, def) : logTarget(this.c.config.logs_dir, cur.log),
        cgroup,
      });
    } catch (e) {
      cur = await units.setStatus(cur, 'spawn_failed', {
        desired: 'stopped',
        pid: null,
        pid_start_time: null,
        pid_boot_id: null,
        stopped_at: isoNow(this.c.clock),
        reason: `could not start: ${(e as Error).message}`.slice(0, 500),
      });
      logger.warn(`${cur.name}: start failed: ${(e as Error).message}`);
      if (!opts.quiet) fireHook(this.c.hooks, 'failure', cur);
      throw e;
    }
    // With a ready check it is `starting` until ready; else with startsecs until it has stayed up
    // that long (supervisord's rule).
    const ready = task?.ready !== undefined && task.ready !== 'none' ? task.ready : undefined;
    const startsecs = ready ? 0 : (def?.startsecs_ms ?? 0);
    cur = await units.setStatus(cur, startsecs > 0 || ready ? 'spawned_wait' : 'spawned', {
      pid: w.pid,
      pid_start_time: w.startTime,
      pid_boot_id: this.c.bootId,
      cgroup: w.cgroup,
      started_at: isoNow(this.c.clock),
      restarts: cur.restarts + (opts.countRestart ? 1 : 0),
    });
    this.watch(cur.id, w);
    this.health.track(cur.id, w, cur.uid, def);
    logger.info(`${cur.name}: started pid ${w.pid}`);
    void this.watchers.ensure(cur, def).catch((e: Error) => logger.warn(`${cur.name}: its watcher could not start: ${e.message}`));
    fireHook(this.c.hooks, opts.hook, cur);
    const postStart = task?.post_start;
    const afterUp = (r: ProcessRow): void => {
      this.health.live(r.id, w, def);
      if (postStart) void runAppHook(this.c, r, 'post_start', postStart, hookMs);
    };
    if (ready) {
      // Not ready in time is a failed start: killed, and the restart policy decides (never a success).
      const wait = this.health.awaitReady(cur.id, w, ready, task?.ready_timeout_ms);
      rt.up = { cancel: () => wait.cancel() };
      void wait.done
        .then((r) =>
          rt.lock.run(async () => {
            const now = await units.get(cur.id);
            if (!now || rt.watched !== w || now.status !== 'starting' || units.closed || r === 'cancelled') return;
            rt.up = undefined;
            if (r === true) {
              afterUp(await units.setStatus(now, 'up'));
              return;
            }
            rt.failReason = `ready: ${r}`;
            logger.warn(`${now.name}: pid ${w.pid}: ${rt.failReason}; killing it`);
            this.term.killLeftovers(w);
          }),
        )
        .catch((e: unknown) => logger.error(`process ${cur.id}: its ready check failed: ${(e as Error)?.stack ?? String(e)}`));
    } else if (startsecs > 0) {
      rt.up = clock.setTimeout(() => {
        void rt.lock
          .run(async () => {
            const now = await units.get(cur.id);
            if (!now || rt.watched !== w || now.status !== 'starting' || units.closed) return;
            afterUp(await units.setStatus(now, 'up'));
          })
          .catch((e: unknown) => logger.error(`process ${cur.id}: marking it up failed: ${(e as Error)?.stack ?? String(e)}`));
      }, startsecs);
    } else {
      afterUp(cur);
    }
    return cur;
  }

  /** A process found alive at boot is watched again: its notify messages and liveness checks resume. */
  async resume(row: ProcessRow, w: Watched): Promise<void> {
    const def = await this.c.units.definitionOf(row);
    this.health.track(row.id, w, row.uid, def);
    this.health.live(row.id, w, def);
    void this.watchers.ensure(row, def).catch((e: Error) => this.c.logger.warn(`${row.name}: its watcher could not start: ${e.message}`));
  }

  /** The exec server's keys for row's app's sockets: held already, else taken from a running instance, else bound. */
  private async socketsFor(row: ProcessRow, sockets: NonNullable<AppDefinition['sockets']>): Promise<string[]> {
    const holder = this.c.sockets;
    if (!holder) {
      if (sockets.length) throw failedPrecondition(`${row.name}: listening sockets need pmond's exec server (Linux 5.3 or later)`);
      return [];
    }
    // The start path of every app: one with no sockets costs a map lookup (and a release if it had some).
    if (sockets.length === 0) {
      if (holder.holds(row.app_id)) await holder.release(row.app_id);
      return [];
    }
    // Running instances hold the sockets as fds 3...: after a pmond killed with SIGKILL, one of them gives them back.
    const holders = (await this.c.store.instancesOf(row.app_id)).filter((r) => r.id !== row.id && r.pid !== null && r.pid_boot_id === this.c.bootId).map((r) => r.pid!);
    return holder.keysFor(row.app_id, sockets, holders, { uid: row.uid, gid: row.gid });
  }

  /** Spawn; if the helper cannot join the cgroup, stop using cgroups (said once in pmond.log) and spawn without. */
  private async spawn(req: SpawnRequest): Promise<Watched> {
    try {
      return await this.c.spawner.spawn(req);
    } catch (e) {
      if (!(e instanceof CgroupJoinError)) throw e;
      this.c.logger.warn(`cgroups: ${e.message}; from now on processes are stopped by process group only`);
      this.c.cgroups.disable(e.message);
      return this.c.spawner.spawn({ ...req, cgroup: null });
    }
  }

  /** Make w the one process watched for id: its exit goes to the restart policy. */
  watch(id: number, w: Watched): void {
    this.c.units.rt(id).watched = w;
    // Whoever owns the exit, the process's checks end with it.
    void w.exited.finally(() => this.health.untrack(w)).catch(() => undefined);
    void w.exited
      .then((info) => this.onExit(id, w, info))
      .catch((e: unknown) => this.c.logger.error(`process ${id}: handling its exit failed: ${(e as Error)?.stack ?? String(e)}`));
  }

  /** A watched process ended on its own: apply the restart policy. */
  private async onExit(id: number, w: Watched, info: ExitInfo): Promise<void> {
    const { units, config, clock, logger } = this.c;
    const rt = units.peek(id);
    if (!rt) return;
    await rt.lock.run(async () => {
      if (rt.watched !== w || units.closed) return; // a stop or restart owns this exit
      rt.watched = undefined;
      rt.adoptedGone = undefined;
      rt.up?.cancel();
      rt.up = undefined;
      // Killed by a failed check: that is how it ended, whatever the signal says.
      const killedFor = rt.failReason;
      rt.failReason = undefined;
      // No orphaned descendants: whatever is left of its group and cgroup goes with it. (No /proc
      // scan first: this is the restart hot path, and an empty group just answers ESRCH.)
      this.term.killLeftovers(w);
      const row = await units.get(id);
      if (!row) return;
      // Killed for not getting ready: a failed start however long it took (startretries counts it).
      const uptimeMs = killedFor === undefined && row.started_at ? clock.now() - Date.parse(row.started_at) : 0;
      // The app's own policy (an apps file's restart, restart_delay, startsecs, startretries), else the config's.
      const def = await units.definitionOf(row);
      const type = appType(def);
      const ended0: Patch = {
        pid: null,
        pid_start_time: null,
        pid_boot_id: null,
        last_exit_code: info.code,
        last_signal: info.signal,
        stopped_at: isoNow(clock),
      };
      const unknown = info.code === null && info.signal === null;
      const failure = !unknown && isFailure({ exitCode: info.code, signal: info.signal });
      if (failure && def?.task?.save_log_on_crash && !rt.savingCrash) {
        // One at a time: a crash loop keeps the crashes it can, it does not pile up readers.
        rt.savingCrash = true;
        void saveCrash(this.c, row, info, def.task.crash_log_kib ?? 64, rt.samples ?? []).finally(() => (rt.savingCrash = false));
      }
      const postStop = def?.task?.post_stop;
      const after = (r: ProcessRow): void => {
        if (postStop) void runAppHook(this.c, r, 'post_stop', postStop, def?.task?.hook_timeout_ms ?? DEFAULT_HOOK_TIMEOUT_MS, null);
      };
      if (type === 'once' || type === 'cron') {
        // Never restarted by policy: a once app is done, a cron app waits for its next run.
        logger.info(`${row.name}: pid ${w.pid} exited (code ${info.code}, signal ${info.signal})`);
        const why = endOf(info);
        let cur: ProcessRow;
        if (type === 'cron') {
          cur = await units.setStatus(row, 'exit_scheduled', { ...ended0, reason: `run ended: ${why}` });
        } else if (unknown) {
          cur = await units.setStatus(row, 'exit_clean', { ...ended0, desired: 'stopped', reason: why });
        } else {
          cur = await units.setStatus(row, failure ? 'exit_failed' : 'exit_completed', { ...ended0, desired: 'stopped', reason: failure ? why : 'completed (exit code 0)' });
        }
        if (failure) fireHook(this.c.hooks, 'failure', cur);
        after(cur);
        return;
      }
      if (rt.noRestart) {
        // A reload's new instance: the reload decides what comes next (rolling.ts), not the policy.
        const cur = await units.setStatus(row, 'exit_failed', { ...ended0, desired: 'stopped', reason: killedFor ?? endOf(info) });
        after(cur);
        return;
      }
      const d = decideRestart(
        {
          autoRestart: row.auto_restart === 1 && (def?.restart !== 'on-failure' || isFailure({ exitCode: info.code, signal: info.signal })),
          exitCode: info.code,
          signal: info.signal,
          uptimeMs,
          consecutiveFailures: row.consecutive_failures,
        },
        {
          initialDelayMs: def?.restart_delay_ms ?? config.restart_backoff_initial,
          maxDelayMs: Math.max(config.restart_backoff_max, def?.restart_delay_ms ?? 0),
          stableAfterMs: def?.startsecs_ms ?? config.restart_stable_after,
          ...(def?.startretries !== undefined && def.startretries >= 0 ? { maxFailures: def.startretries + 1 } : {}),
          ...(def?.restart_delay_ms !== undefined ? { minDelayMs: def.restart_delay_ms } : {}),
          flap: config.flap_detection.is_enabled
            ? {
                threshold: config.flap_detection.threshold_restarted,
                delayMs: config.flap_detection.threshold_countdown * config.process_monitor_interval,
                decrementMs: config.flap_detection.threshold_decrement * config.process_monitor_interval,
              }
            : undefined,
        },
      );
      const retriesOut = d.action === 'give_up' && d.status === 'failed' && row.auto_restart === 1 && failure;
      const ended: Patch = {
        ...ended0,
        consecutive_failures: d.failures,
        reason: retriesOut ? `startretries exceeded: ${d.failures} failed starts in a row (last: ${killedFor ?? endOf(info)})` : (killedFor ?? endOf(info)),
      };
      logger.info(`${row.name}: pid ${w.pid} exited (code ${info.code}, signal ${info.signal}); ${d.action}`);
      if (d.action === 'give_up' || d.delayMs === 0) rt.inBackoff = false;
      if (d.action === 'give_up') {
        const event: SupervisorEvent = d.status === 'failed' ? 'exit_failed' : 'exit_clean';
        const cur = await units.setStatus(row, event, { ...ended, desired: 'stopped' });
        if (d.status === 'failed') fireHook(this.c.hooks, 'failure', cur);
        after(cur);
        return;
      }
      if (d.delayMs === 0) {
        const cur = await units.setStatus(row, 'exit_restart', ended);
        after(cur);
        await this.startLocked(cur, { countRestart: true, hook: 'restart' }).catch(() => undefined);
        return;
      }
      const cur = await units.setStatus(row, 'exit_backoff', ended);
      after(cur);
      if (!rt.inBackoff) fireHook(this.c.hooks, 'backoff', cur);
      rt.inBackoff = true;
      rt.backoff = clock.setTimeout(() => {
        void rt.lock
          .run(async () => {
            const now = await units.get(id);
            if (!now || now.status !== 'backoff' || units.closed) return;
            await this.startLocked(now, { countRestart: true, hook: 'restart' }).catch(() => undefined);
          })
          .catch((e: unknown) => logger.error(`process ${id}: delayed restart failed: ${(e as Error)?.stack ?? String(e)}`));
      }, d.delayMs);
    });
  }
}

/** How a run ended, in a few words (a row's reason). */
export function endOf(info: ExitInfo): string {
  if (info.code !== null) return `exited with code ${info.code}`;
  if (info.signal !== null) return `killed by ${info.signal}`;
  return 'ended while not pmond\'s child (re-adopted): its exit status is unknown';
}
