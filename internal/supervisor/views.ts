/** What the supervisor shows of its rows: views (with cpu and memory), summaries, hook payloads. */
import { appType, readDefinition, stringList } from '../apps/model';
import type { HookEvent, HookRunner } from '../hooks/hooks';
import type { ProcessSummary, ProcessTableRow, ProcessView, Status } from '../protocol/methods';
import type { AppRow, ProcessRow } from '../store/schema';
import type { Core } from './deps';
import type { Usage } from './os';

/** What AppFacts.of tells of an app. */
export interface AppFactsOf {
  type: 'daemon' | 'once' | 'cron';
  groups: string[];
}

/**
 * What a view shows of an app, worked out once per stored app object: its kind (from the JSON
 * spec) and its groups (a JSON column). The store replaces an app's object when it changes, so a
 * reading kept for an object never goes stale; a WeakMap lets a deleted app's reading go with it.
 * One per Supervisor (in its Core), so 1000 listed instances do not parse 1000 specs each time.
 */
export class AppFacts {
  private readonly memo = new WeakMap<object, { type: 'daemon' | 'once' | 'cron'; groups: readonly string[] }>();

  /** app's kind and groups (groups a fresh array each time: a caller may keep or change it). */
  of(app: Readonly<AppRow>): AppFactsOf {
    let f = this.memo.get(app);
    if (!f) {
      f = { type: appType(readDefinition(app.spec)), groups: groupsOf(app) };
      this.memo.set(app, f);
    }
    return { type: f.type, groups: [...f.groups] };
  }
}

/** The usage of rows' pids (pids that just exited have none). */
async function usageOf(c: Pick<Core, 'os'>, rows: readonly Readonly<ProcessRow>[]): Promise<Record<number, Usage>> {
  const pids: number[] = [];
  for (const r of rows) if (r.pid !== null) pids.push(r.pid);
  if (!pids.length) return {};
  try {
    return await c.os.usage(pids);
  } catch {
    return {}; // a pid may have just exited; the next ls will tell
  }
}

/** make(row, its usage, now, its app and the app's facts) for each row, with one usage reading for all. */
async function eachRow<T>(
  c: Pick<Core, 'os' | 'clock' | 'store' | 'facts'>,
  rows: readonly Readonly<ProcessRow>[],
  make: (r: Readonly<ProcessRow>, u: Usage | undefined, now: number, app: Readonly<AppRow> | undefined, facts: AppFactsOf | undefined) => T,
): Promise<T[]> {
  const usage = await usageOf(c, rows);
  const now = c.clock.now();
  const out = new Array<T>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const app = c.store.readApp(r.app_id);
    out[i] = make(r, r.pid !== null ? usage[r.pid] : undefined, now, app, app && c.facts.of(app));
  }
  return out;
}

/** rows as views: with their usage (pids that just exited have none), saved flag and app. */
export function views(c: Pick<Core, 'os' | 'clock' | 'store' | 'facts'>, rows: readonly Readonly<ProcessRow>[]): Promise<ProcessView[]> {
  return eachRow(c, rows, (r, u, now, app, facts) => toView(r, u, now, c.store.saved(r.id), app, facts));
}

/**
 * rows as a table shows them (protocol processRow): the fields of a view that a table uses, made
 * straight from the rows (no arguments or environment parsed).
 */
export function tableRows(c: Pick<Core, 'os' | 'clock' | 'store' | 'facts'>, rows: readonly Readonly<ProcessRow>[]): Promise<ProcessTableRow[]> {
  return eachRow(c, rows, (r, u, now, app, facts) => ({
    // A table's order: who, its state and why, its usage, its times.
    id: r.id,
    name: shownName(r, app),
    app: r.name,
    instance: r.instance,
    user: r.user,
    uid: r.uid,
    status: r.status as Status,
    reason: r.reason,
    pid: r.pid,
    restarts: r.restarts,
    last_exit_code: r.last_exit_code,
    last_signal: r.last_signal,
    cpu: shownCpu(u),
    memory: u ? u.memory : null,
    started_at: r.started_at,
    uptime_ms: uptimeMs(r, now),
    // Absent without an app (undefined is left out of the JSON); not spread: 1000 rows, no JIT.
    type: facts?.type,
    groups: facts?.groups,
    next_run_at: app ? nextRunAt(app) : undefined,
    saved: c.store.saved(r.id),
  }));
}

/** How a row is named in a view: an app of several instances shows each as name:N, one instance as the name; a reload's new instance beside instance i is name:i+ (rolling.ts). */
function shownName(r: Readonly<ProcessRow>, app: Readonly<AppRow> | undefined): string {
  const several = app ? app.instances > 1 || r.instance !== 0 : r.instance !== 0;
  return r.instance < 0 ? `${r.name}:${-r.instance - 1}+` : several ? `${r.name}:${r.instance}` : r.name;
}

/** A cron app's next run as ISO time, or null. */
function nextRunAt(app: Readonly<AppRow>): string | null {
  return app.next_run_at === null ? null : new Date(app.next_run_at).toISOString();
}

/** cpu as shown: one decimal, null without a reading. */
function shownCpu(u: Usage | undefined): number | null {
  return u ? Math.round(u.cpu * 10) / 10 : null;
}

/** ms since a running (or starting) row started, else null. */
function uptimeMs(r: Readonly<ProcessRow>, now: number): number | null {
  return (r.status === 'running' || r.status === 'starting') && r.started_at ? Math.max(0, now - Date.parse(r.started_at)) : null;
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

/** One row as a view; app and its facts (AppFacts.of) when it has one. */
function toView(r: Readonly<ProcessRow>, u: Usage | undefined, now: number, saved: boolean, app: Readonly<AppRow> | undefined, facts: AppFactsOf | undefined): ProcessView {
  const v: ProcessView = {
    id: r.id,
    name: shownName(r, app),
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
    cpu: shownCpu(u),
    memory: u ? u.memory : null,
    uptime_ms: uptimeMs(r, now),
    last_exit_code: r.last_exit_code,
    last_signal: r.last_signal,
    started_at: r.started_at,
    created_at: r.created_at,
    updated_at: r.updated_at,
    cgroup: r.cgroup,
    saved,
    app: r.name,
    instance: r.instance,
  };
  // Assigned, not spread: a listing makes 1000 of these, and pmond runs without an optimizing JIT.
  if (app && facts) {
    v.source = app.source;
    v.groups = facts.groups;
    v.type = facts.type;
    v.next_run_at = nextRunAt(app);
  }
  v.reason = r.reason;
  return v;
}

/** An app's groups (its JSON column), [] if unreadable or there is no app. */
export function groupsOf(app: Readonly<AppRow> | undefined): string[] {
  return app ? stringList(app.groups) : [];
}

/** The part of a view a reply about many processes carries (protocol processSummary). */
export function summary(v: ProcessView): ProcessSummary {
  const { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved } = v;
  return { id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved };
}
