/**
 * The rules a task (an app's kind, schedule, timers, hooks) follows beyond its schema, checked
 * where an apps file is read (the CLI, with the file's line) and again where pmond takes it
 * (apply): a wire message is not trusted to have come from our CLI. Pure.
 */
import { parseCron, type ZoneCache } from '../schedule/cron';
import type { TaskSpec } from '../protocol/methods';

/** What is wrong with a task, by the key to blame; undefined if nothing. */
/** `zones`: formatters kept across calls (an apply of many apps). */
export function checkTask(name: string, t: TaskSpec, zones?: ZoneCache): { key: keyof TaskSpec; message: string } | undefined {
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
  return undefined;
}
