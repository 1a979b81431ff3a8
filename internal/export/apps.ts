/**
 * `export --format apps`: the caller's apps as our apps file, so that `apply -f` of it on a fresh
 * pmond makes the same table (test/e2e/export.test.ts compares the two). Pure.
 * A log pmond chose (the default under logs_dir) is left out, so the new pmond chooses again.
 */
import { stringify } from 'yaml';
import type { AppEntry } from '../import/types';
import type { AppView } from '../protocol/methods';

/** ms as an apps-file duration: seconds when whole, else "Nms". */
const duration = (ms: number): number | string => (ms % 1000 === 0 ? ms / 1000 : `${ms}ms`);

export function appEntries(apps: readonly AppView[]): AppEntry[] {
  return apps.map((a) => {
    const s = a.spec;
    return {
      name: a.name,
      exec: s.file,
      args: s.args,
      cwd: s.cwd,
      ...(Object.keys(s.env).length ? { env: s.env } : {}),
      user: a.user,
      ...(a.user_gid !== null && a.gid !== a.user_gid ? { group: String(a.gid) } : {}),
      ...(a.groups.length ? { groups: a.groups } : {}),
      ...(a.instances !== 1 ? { instances: a.instances } : {}),
      ...(a.dependencies.length ? { dependencies: a.dependencies } : {}),
      ...(s.autostart ? {} : { autostart: false }),
      restart: s.restart,
      ...(s.restart_delay_ms !== undefined ? { restart_delay: duration(s.restart_delay_ms) } : {}),
      ...(s.startsecs_ms !== undefined ? { startsecs: duration(s.startsecs_ms) } : {}),
      ...(s.startretries !== undefined ? { startretries: s.startretries } : {}),
      ...(s.stop_signal !== undefined ? { stop_signal: s.stop_signal } : {}),
      ...(s.stop_timeout_ms !== undefined ? { stop_timeout: duration(s.stop_timeout_ms) } : {}),
      ...(s.log_dir !== undefined ? { log_dir: s.log_dir } : s.log !== undefined ? { log: s.log } : {}),
      ...taskKeys(s.task),
      ...(s.rlimits && Object.keys(s.rlimits).length
        ? { rlimits: Object.fromEntries(Object.entries(s.rlimits).map(([k, v]) => { const w = (n: number): number | string => (n === -1 ? 'unlimited' : n); return [k, v.soft === v.hard ? w(v.soft) : [w(v.soft), w(v.hard)]]; })) }
        : {}),
      // A name equal to the app's is the default: written as the bare address.
      ...(s.sockets?.length ? { sockets: s.sockets.map((x) => (x.name === a.name && x.backlog === undefined && x.mode === undefined ? x.listen : { listen: x.listen, ...(x.name !== undefined ? { name: x.name } : {}), ...(x.backlog !== undefined ? { backlog: x.backlog } : {}), ...(x.mode !== undefined ? { mode: x.mode } : {}) })) } : {}),
    };
  });
}

/** A stored task as the apps file's keys (internal/apps/file.ts taskOf, the other way). */
function taskKeys(t: AppView['spec']['task']): Partial<AppEntry> {
  if (!t) return {};
  const out: Record<string, unknown> = {};
  if (t.type !== undefined && !(t.type === 'cron' && t.cron !== undefined)) out.type = t.type;
  for (const k of ['cron', 'timezone', 'overlap', 'catch_up', 'cron_restart', 'after', 'exec_stop', 'pre_start', 'post_start', 'pre_stop', 'post_stop', 'save_log_on_crash', 'crash_log_kib'] as const) {
    if (t[k] !== undefined) out[k] = t[k];
  }
  if (t.repeat) out.repeat = { action: t.repeat.action, every: duration(t.repeat.every_ms) };
  if (t.hook_timeout_ms !== undefined) out.hook_timeout = duration(t.hook_timeout_ms);
  if (t.max_memory_bytes !== undefined) out.max_memory = t.max_memory_bytes % (1 << 20) === 0 ? `${t.max_memory_bytes / (1 << 20)}M` : t.max_memory_bytes;
  if (t.max_memory_checks !== undefined) out.max_memory_checks = t.max_memory_checks;
  if (t.memory_max_bytes !== undefined) out.memory_max = t.memory_max_bytes % (1 << 20) === 0 ? `${t.memory_max_bytes / (1 << 20)}M` : t.memory_max_bytes;
  if (t.cpu_max !== undefined) out.cpu_max = t.cpu_max;
  if (t.pids_max !== undefined) out.pids_max = t.pids_max;
  if (t.upgrader !== undefined) out.upgrader = t.upgrader;
  if (t.watch !== undefined) out.watch = t.watch;
  if (t.watch_ignore !== undefined) out.ignore_watch = t.watch_ignore;
  if (t.watch_delay_ms !== undefined) out.watch_delay = `${t.watch_delay_ms}ms`;
  if (t.auto_upgrade !== undefined) out.auto_upgrade = t.auto_upgrade;
  if (t.log_rotate !== undefined) {
    const r = t.log_rotate;
    out.rotate = {
      ...(r.size_bytes !== undefined ? { size: r.size_bytes } : {}),
      ...(r.keep !== undefined ? { keep: r.keep } : {}),
      ...(r.every_s !== undefined ? { every: `${r.every_s}s` } : {}),
      ...(r.compress !== undefined ? { compress: r.compress } : {}),
      ...(r.max_total_bytes !== undefined ? { max_total: r.max_total_bytes } : {}),
    };
  }
  if (t.log_timestamps !== undefined) out.timestamps = t.log_timestamps;
  if (t.error_log !== undefined) out.error_log = t.error_log;
  if (t.upgrader_timeout_ms !== undefined) out.upgrader_timeout = `${t.upgrader_timeout_ms}ms`;
  if (t.ready !== undefined) out.ready = t.ready;
  if (t.ready_timeout_ms !== undefined) out.ready_timeout = duration(t.ready_timeout_ms);
  if (t.watchdog_ms !== undefined) out.watchdog = duration(t.watchdog_ms);
  if (t.health) {
    const h = t.health;
    out.health = { http: h.http, ...(h.interval_ms !== undefined ? { interval: duration(h.interval_ms) } : {}), ...(h.timeout_ms !== undefined ? { timeout: duration(h.timeout_ms) } : {}), ...(h.failures !== undefined ? { failures: h.failures } : {}) };
  }
  if (t.live_check_ms !== undefined) out.live_check_timeout = duration(t.live_check_ms);
  if (t.max_surge !== undefined) out.max_surge = t.max_surge;
  return out as Partial<AppEntry>;
}

export function appsFileText(apps: readonly AppView[], header: string): string {
  return `# ${header}\n${stringify({ apps: appEntries(apps) }, { lineWidth: 0 })}`;
}
