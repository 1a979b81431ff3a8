/**
 * Stopping: the stop signal to a process's group and cgroup, stop_timeout for all of it to go,
 * then SIGKILL. Every wait has a deadline (wall clock, Os.now) and an escalation.
 */
import type { ExitInfo, Watched } from '../process/spawner';
import type { ProcessRow } from '../store/schema';
import { DEFAULT_HOOK_TIMEOUT_MS, runAppHook } from './app-hooks';
import { isoNow } from './clock';
import type { Core } from './deps';
import { fireHook } from './views';

/** How long to wait for a process group to empty after SIGKILL. */
const KILL_GRACE_MS = 3000;

/** How often a stop looks whether what it waits for is gone (cgroup empty, adopted pid gone). */
const POLL_MS = 10;

export class Terminator {
  constructor(private readonly c: Core) {}

  /**
   * Stop the watched process: stop signal to its group, wait stop_timeout
   * for the group to empty, then SIGKILL the group. The caller holds the lock.
   */
  async stopLocked(
    row: ProcessRow,
    opts: { force: boolean; event: 'stop' | 'restart'; desired: 'running' | 'stopped'; hook?: boolean; reason?: string },
  ): Promise<ProcessRow> {
    const { units, config, os } = this.c;
    const rt = units.rt(row.id);
    rt.backoff?.cancel();
    rt.backoff = undefined;
    rt.inBackoff = false;
    rt.up?.cancel();
    rt.up = undefined;
    const w = rt.watched;
    // Record the intent first: if pmond dies mid-stop, the next one finishes it.
    let cur = await units.update(row, { desired: opts.desired === 'stopped' ? 'stopped' : row.desired });
    let info: ExitInfo | undefined;
    const def = w ? await units.definitionOf(row) : undefined;
    const task = def?.task;
    const hookMs = task?.hook_timeout_ms ?? DEFAULT_HOOK_TIMEOUT_MS;
    if (w) {
      rt.watched = undefined; // from here on, this exit is ours, not the restart policy's
      const signal = opts.force ? 'SIGKILL' : ((def?.stop_signal as NodeJS.Signals | undefined) ?? config.stop_signal);
      const timeoutMs = def?.stop_timeout_ms ?? config.stop_timeout * 1000;
      const deadline = os.now() + timeoutMs;
      // pre_stop runs while the process still does (a force stop skips it, and exec_stop).
      if (task?.pre_stop && !opts.force) await runAppHook(this.c, cur, 'pre_stop', task.pre_stop, Math.min(hookMs, timeoutMs), w.pid);
      if (task?.exec_stop && !opts.force) {
        // Firestarter's and systemd's ExecStop: the command asks it to go; the signal follows only if it has not by the deadline.
        const hook = runAppHook(this.c, cur, 'exec_stop', task.exec_stop, Math.max(100, Math.min(hookMs, deadline - os.now())), w.pid);
        const gone = await this.raceDeadline(this.exitOf(w), deadline);
        if (!gone) this.c.logger.warn(`${cur.name}: exec_stop did not stop pid ${w.pid} within ${timeoutMs} ms; ${signal} follows`);
        await hook;
      }
      info = await this.terminate(w, signal, Math.max(0, deadline - os.now()));
      rt.adoptedGone = undefined;
    }
    cur = await units.setStatus(cur, opts.event, {
      desired: opts.desired,
      pid: null,
      pid_start_time: null,
      pid_boot_id: null,
      stopped_at: isoNow(this.c.clock),
      ...(info ? { last_exit_code: info.code, last_signal: info.signal } : {}),
      ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    });
    if (w) this.c.logger.info(`${cur.name}: stopped pid ${w.pid}`);
    if (opts.hook) fireHook(this.c.hooks, 'stop', cur);
    if (w && task?.post_stop) void runAppHook(this.c, cur, 'post_stop', task.post_stop, hookMs, null);
    return cur;
  }

  /**
   * Stop a process tree: the stop signal to its process group and to every
   * process in its cgroup, stop_timeout for all of them to go, then SIGKILL
   * (cgroup.kill where there is a cgroup: even a setsid()'d descendant goes).
   */
  async terminate(w: Watched, signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo> {
    const { os, cgroups } = this.c;
    const deadline = os.now() + timeoutMs;
    const gone = this.exitOf(w);
    os.signalGroup(w.pid, signal);
    // Each process once: the group's members are not signalled again through the cgroup.
    if (w.cgroup) cgroups.signal(w.cgroup, signal, w.pid);
    // First the main process (an event for our children), then whatever is left of its tree.
    let info = await this.raceDeadline(gone, deadline);
    const empty = info !== undefined && (await this.waitGone(w, deadline));
    if (!empty) {
      this.killLeftovers(w);
      info ??= await this.raceDeadline(gone, os.now() + KILL_GRACE_MS);
      await this.waitGone(w, os.now() + KILL_GRACE_MS);
    }
    if (w.cgroup) cgroups.retire(w.cgroup);
    return info ?? { code: null, signal: 'SIGKILL' };
  }

  /** SIGKILL whatever is left of w's process group and cgroup, and remove the cgroup once it is empty. */
  killLeftovers(w: Watched): void {
    this.c.os.signalGroup(w.pid, 'SIGKILL');
    if (w.cgroup) {
      this.c.cgroups.kill(w.cgroup);
      this.c.cgroups.retire(w.cgroup);
    }
  }

  /** Resolves true once w's cgroup (or, without one, its process group) is empty; false at the deadline. */
  waitGone(w: Watched, deadline: number): Promise<boolean> {
    const { os, cgroups } = this.c;
    const dir = w.cgroup;
    if (!dir) return os.waitGroupEmpty(w.pid, deadline);
    return new Promise((resolve) => {
      const tick = (): void => {
        if (cgroups.isEmpty(dir)) resolve(true);
        else if (os.now() >= deadline) resolve(false);
        else os.after(POLL_MS, tick, true);
      };
      tick();
    });
  }

  /**
   * The exit of w: its own promise for a child; for an adopted process,
   * polling of pid + start time (it is not our child, so no event comes).
   */
  exitOf(w: Watched): Promise<ExitInfo> {
    if (!this.c.units.adopted.has(w)) return w.exited;
    const { os } = this.c;
    const poll = new Promise<ExitInfo>((resolve) => {
      const tick = (): void => {
        if (!os.isSameProcess(w.pid, w.startTime)) resolve({ code: null, signal: null });
        else os.after(POLL_MS, tick, true);
      };
      os.after(POLL_MS, tick, true);
    });
    return Promise.race([w.exited, poll]);
  }

  /** p's value, or undefined once the wall clock passes deadline. */
  private async raceDeadline<T>(p: Promise<T>, deadline: number): Promise<T | undefined> {
    const ms = Math.max(0, deadline - this.c.os.now());
    let t: { cancel(): void } | undefined;
    const timeout = new Promise<undefined>((r) => {
      t = this.c.os.after(ms, () => r(undefined));
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      t?.cancel();
    }
  }
}
