/** What the supervisor shows of its rows: views (with cpu and memory), summaries, hook payloads. */
import { appType, readDefinition, stringList } from '../apps/model';
import type { HookEvent, HookRunner } from '../hooks/hooks';
import type { ProcessSummary, ProcessView, Status } from '../protocol/methods';
import type { AppRow, ProcessRow } from '../store/schema';
import type { Core } from './deps';
import type { Usage } from './os';

/** rows as views: with their usage (pids that just exited have none), saved flag and app. */
export async function views(c: Pick<Core, 'os' | 'clock' | 'store'>, rows: ProcessRow[]): Promise<ProcessView[]> {
  const pids = rows.map((r) => r.pid).filter((p): p is number => p !== null);
  let usage: Record<number, Usage> = {};
  if (pids.length) {
    try {
      usage = await c.os.usage(pids);
    } catch {
      usage = {}; // a pid may have just exited; the next ls will tell
    }
  }
  const now = c.clock.now();
  const apps = new Map((await c.store.apps()).map((a) => [a.id, a]));
  return rows.map((r) => toView(r, r.pid !== null ? usage[r.pid] : undefined, now, c.store.saved(r.id), apps.get(r.app_id)));
}

/** Fire event's hook about row. */
export function fireHook(hooks: HookRunner, event: HookEvent, row: ProcessRow): void {
  hooks.fire(event, hookPayload(row));
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
    /** Why it is in its status: how it last ended, who stopped it, pre_start, startretries. */
    reason: row.reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toView(r: ProcessRow, u: Usage | undefined, now: number, saved = true, app?: AppRow): ProcessView {
  // An app of several instances shows each as name:N (a selector that names it); one instance as the name.
  const several = app ? app.instances > 1 || r.instance !== 0 : r.instance !== 0;
  return {
    id: r.id,
    // A reload's new instance beside instance i: name:i+ (rolling.ts).
    name: r.instance < 0 ? `${r.name}:${-r.instance - 1}+` : several ? `${r.name}:${r.instance}` : r.name,
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
    uptime_ms: (r.status === 'running' || r.status === 'starting') && r.started_at ? Math.max(0, now - Date.parse(r.started_at)) : null,
    last_exit_code: r.last_exit_code,
    last_signal: r.last_signal,
    started_at: r.started_at,
    created_at: r.created_at,
    updated_at: r.updated_at,
    cgroup: r.cgroup,
    saved,
    app: r.name,
    instance: r.instance,
    ...(app ? { source: app.source, groups: groupsOf(app), type: appType(readDefinition(app.spec)), next_run_at: app.next_run_at === null ? null : new Date(app.next_run_at).toISOString() } : {}),
    reason: r.reason,
  };
}

/** An app's groups (its JSON column), [] if unreadable or there is no app. */
export function groupsOf(app: AppRow | undefined): string[] {
  return app ? stringList(app.groups) : [];
}

/** The part of a view a reply about many processes carries (protocol processSummary). */
export function summary(v: ProcessView): ProcessSummary {
  const { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved } = v;
  return { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved };
}
