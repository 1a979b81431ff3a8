/**
 * The rules a task (an app's kind, schedule, timers, hooks) follows beyond its schema, checked
 * where an apps file is read (the CLI, with the file's line) and again where pmond takes it
 * (apply): a wire message is not trusted to have come from our CLI. Pure.
 */
import { parseCron, type ZoneCache } from '../schedule/cron';
import type { SocketSpec, TaskSpec } from '../protocol/methods';
import { parseHttpTarget, parseReady, sharedSocketProblem } from './ready';

/** What is wrong with a task, by the key to blame; undefined if nothing. */
/** `zones`: formatters kept across calls (an apply of many apps). */
/** `sockets`: the app's (a check on a shared port cannot tell instances apart). */
export function checkTask(name: string, t: TaskSpec, zones?: ZoneCache, sockets?: readonly SocketSpec[]): { key: keyof TaskSpec; message: string } | undefined {
  const type = t.type ?? 'daemon';
  if (type === 'cron' && t.cron === undefined) return { key: 'type', message: 'type cron needs a cron schedule (cron: "*/5 * * * *")' };
  if (t.cron !== undefined && type !== 'cron') return { key: 'cron', message: `cron is the schedule of a type cron app, not of a ${type} (a daemon restarted on a schedule: cron_restart)` };
  for (const k of ['overlap', 'catch_up'] as const) {
    if (t[k] !== undefined && type !== 'cron') return { key: k, message: `${k} applies to type cron only` };
  }
  if (t.cron_restart !== undefined && type !== 'daemon') return { key: 'cron_restart', message: `cron_restart restarts a daemon; a ${type} app has none to restart` };
  if (t.repeat !== undefined && type === 'cron') return { key: 'repeat', message: 'a cron app has its schedule; repeat is for daemon and once apps' };
  if (t.timezone !== undefined && t.cron === undefined && t.cron_restart === undefined) return { key: 'timezone', message: 'timezone goes with cron or cron_restart' };
  for (const k of ['cron', 'cron_restart'] as const) {
    const expr = t[k];
    if (expr === undefined) continue;
    try {
      parseCron(expr, t.timezone, zones);
    } catch (e) {
      return { key: k, message: (e as Error).message };
    }
  }
  if (t.after?.includes(name)) return { key: 'after', message: `${name} cannot come after itself` };
  if (t.crash_log_kib !== undefined && t.save_log_on_crash !== true) return { key: 'crash_log_kib', message: 'crash_log_kib goes with save_log_on_crash: true' };
  if (t.max_memory_checks !== undefined && t.max_memory_bytes === undefined) return { key: 'max_memory_checks', message: 'max_memory_checks goes with max_memory' };
  if (t.max_memory_bytes !== undefined && t.max_memory_bytes < 1 << 20) return { key: 'max_memory_bytes', message: 'at least 1M' };
  return checkHealth(t, type, sockets);
}

/** ready, health, watchdog, live check and max_surge: for daemons, with a target that names the instance. */
function checkHealth(t: TaskSpec, type: string, sockets: readonly SocketSpec[] | undefined): { key: keyof TaskSpec; message: string } | undefined {
  if (t.upgrader_timeout_ms !== undefined && t.upgrader === undefined) return { key: 'upgrader_timeout_ms', message: 'upgrader_timeout goes with upgrader' };
  if ((t.watch_ignore !== undefined || t.watch_delay_ms !== undefined) && t.watch === undefined && !t.auto_upgrade) return { key: 'watch_ignore', message: 'ignore_watch and watch_delay go with watch' };
  for (const p of t.watch ?? []) if (!p.startsWith('/')) return { key: 'watch', message: `${JSON.stringify(p.slice(0, 60))}: an absolute path` };
  for (const k of ['ready', 'ready_timeout_ms', 'watchdog_ms', 'health', 'live_check_ms', 'max_surge', 'upgrader', 'watch', 'auto_upgrade'] as const) {
    if (t[k] !== undefined && type !== 'daemon') return { key: k, message: `applies to daemons (kept running), not to a ${type} app` };
  }
  if (t.ready !== undefined) {
    let r;
    try {
      r = parseReady(t.ready);
    } catch (e) {
      return { key: 'ready', message: (e as Error).message };
    }
    const shared = r.kind === 'tcp' || r.kind === 'http' ? sharedSocketProblem(`ready: ${r.kind}`, r, sockets) : undefined;
    if (shared) return { key: 'ready', message: shared };
  }
  if (t.ready_timeout_ms !== undefined && (t.ready === undefined || t.ready === 'none')) return { key: 'ready_timeout_ms', message: 'ready_timeout goes with a ready check (ready: notify, tcp, http:/PATH or delay:)' };
  if (t.health) {
    let h;
    try {
      h = parseHttpTarget(t.health.http);
    } catch (e) {
      return { key: 'health', message: `http: ${(e as Error).message}` };
    }
    const shared = sharedSocketProblem('health', h, sockets);
    if (shared) return { key: 'health', message: shared };
    if ((t.health.timeout_ms ?? 2000) > (t.health.interval_ms ?? 10_000)) return { key: 'health', message: 'timeout is longer than interval' };
  }
  return undefined;
}
