/**
 * The commands on existing processes: which rows a selector names (the caller's alone, unless
 * they are an admin), and stop, restart, delete, reset on them, one by one or `all`, and the
 * stop of everything at shutdown. Every operation on a row runs under that row's lock.
 */
import { removeStdin } from './stdin';
import { appType, stringList } from '../apps/model';
import { dependencyLevels } from '../apps/graph';
import { parseSelector, resolveSelector } from '../apps/select';
import { isActive } from '../process/status';
import { invalidArgument, notFound, PmonError } from '../protocol/errors';
import type { Action, ProcessSummary, ProcessTableRow, ProcessView } from '../protocol/methods';
import type { ProcessRow } from '../store/schema';
import { interruptHooks } from './app-hooks';
import type { Caller, Core } from './deps';
import type { Lifecycle } from './lifecycle';
import type { Logs } from './logs';
import type { Terminator } from './terminate';
import { groupsOf, summary, tableRows, views } from './views';

export class Commands {
  constructor(
    private readonly c: Core,
    private readonly life: Lifecycle,
    private readonly term: Terminator,
    private readonly logs: Logs,
  ) {}

  /**
   * The processes the caller may see with an id above `after`, with cpu and
   * memory, as many as fit in about `maxBytes` of JSON; `next` is where the
   * next page starts, or null. Paging keeps every reply bounded, however
   * large the table grows.
   */
  async list(caller: Caller, after = 0, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ processes: ProcessView[]; next: number | null }> {
    // A view's JSON is about its stored strings plus ~700 bytes of fixed fields.
    const p = this.page(caller, after, maxBytes, (r) => 700 + r.name.length + r.process_file.length + r.args.length + r.env.length + r.cwd.length + r.log.length);
    return { processes: await views(this.c, p.rows), next: p.next };
  }

  /** As list, each process as a table shows it (tableRows). */
  async table(caller: Caller, after = 0, maxBytes = Number.MAX_SAFE_INTEGER): Promise<{ processes: ProcessTableRow[]; next: number | null }> {
    // A table row's JSON: ~450 bytes of fixed fields, the name twice, its user, reason and groups.
    const p = this.page(caller, after, maxBytes, (r) => 450 + 2 * r.name.length + r.user.length + (r.reason?.length ?? 0) + (this.c.store.readApp(r.app_id)?.groups.length ?? 0));
    return { processes: await tableRows(this.c, p.rows), next: p.next };
  }

  /** The rows the caller may see above `after` that fit in maxBytes by size (at least one), and where the next page starts. */
  private page(caller: Caller, after: number, maxBytes: number, size: (r: Readonly<ProcessRow>) => number): { rows: Readonly<ProcessRow>[]; next: number | null } {
    const rows = this.c.store.readAll().filter((r) => r.id > after && mayAct(caller, r));
    const page: Readonly<ProcessRow>[] = [];
    let bytes = 0;
    for (const r of rows) {
      const n = size(r);
      if (page.length > 0 && bytes + n > maxBytes) break;
      page.push(r);
      bytes += n;
    }
    return { rows: page, next: page.length < rows.length ? page[page.length - 1]!.id : null };
  }

  /**
   * The rows a selector names (internal/apps/select.ts: an id, a name, name:N, user/name, @group,
   * all), among those the caller may see, in id order. Another user's process is reported exactly
   * like a missing one.
   */
  async select(caller: Caller, target: string): Promise<ProcessRow[]> {
    const { store } = this.c;
    const sel = parseSelector(target);
    // Each app's groups parsed once, however many instances it has.
    const groups = new Map((await store.apps()).map((a) => [a.id, groupsOf(a)]));
    const rows = (await store.all()).filter((r) => mayAct(caller, r));
    const items = rows.map((r) => ({ id: r.id, uid: r.uid, user: r.user, app: r.name, instance: r.instance, groups: groups.get(r.app_id) ?? [], row: r }));
    const found = resolveSelector(sel, items, caller).map((x) => x.row);
    if (sel.kind === 'group' && found.length === 0 && !store.groups().some((g) => g.name === sel.group && (caller.admin || g.uid === caller.uid))) {
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

  /** Every process the caller may see (its own; root and admin_group: all), by id. */
  async visible(caller: Caller): Promise<ProcessRow[]> {
    return (await this.c.store.all()).filter((r) => mayAct(caller, r));
  }

  /** Stop one row under its lock; force = SIGKILL at once. */
  stopRow(id: number, force: boolean, reason?: string): Promise<ProcessRow> {
    interruptHooks(this.c, id);
    return this.c.units.locked(id, async () => {
      const cur = await this.c.units.mustGet(id);
      return this.term.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true, ...(reason !== undefined ? { reason } : {}) });
    });
  }

  /**
   * (Re)start a row (the caller holds its lock); count: whether it counts as a restart. A cron
   * app is not run by a start: its schedule is armed (a run under way is stopped by a restart);
   * `run` runs it now. `reason`: why a running one was stopped (max_memory's), kept as its reason.
   */
  async restartLocked(id: number, count: boolean, reason?: string): Promise<ProcessRow> {
    let cur = await this.c.units.mustGet(id);
    const cron = appType(await this.c.units.definitionOf(cur)) === 'cron';
    if (cron && !count && cur.status === 'scheduled') return cur;
    if (this.c.units.rt(id).watched || cur.status === 'backoff') {
      cur = await this.term.stopLocked(cur, { force: false, event: 'restart', desired: 'running', ...(reason !== undefined ? { reason } : {}) });
    }
    if (cron) return this.c.units.setStatus(cur, 'arm', { desired: 'running' });
    return this.life.startLocked(cur, { countRestart: count, hook: count ? 'restart' : 'start' });
  }

  /** trystart: restart if it runs, else start. */
  async tryStartLocked(id: number): Promise<ProcessRow> {
    const cur = await this.c.units.mustGet(id);
    const up = !!this.c.units.rt(id).watched || cur.status === 'backoff';
    return this.restartLocked(id, up);
  }

  /** Stop (if needed) and delete one row, under its lock. */
  async deleteRow(id: number, force: boolean): Promise<ProcessRow> {
    const { units } = this.c;
    interruptHooks(this.c, id);
    const out = await units.locked(id, async () => this.deleteLocked(await units.mustGet(id), force));
    units.drop(id);
    return out;
  }

  /** The caller holds the lock. An app whose last instance goes goes with it. */
  private async deleteLocked(row: ProcessRow, force: boolean): Promise<ProcessRow> {
    const { store, units, cgroups } = this.c;
    let cur = row;
    if (units.rt(cur.id).watched || isActive(cur.status) || cur.status === 'scheduled') cur = await this.term.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true });
    await this.logs.removeLogs(cur);
    await store.remove(cur.id);
    removeStdin(this.c.config.data_dir, cur.id);
    // An app whose last instance is gone goes with it.
    if ((await store.instancesOf(cur.app_id)).length === 0) {
      await store.removeApp(cur.app_id);
      await this.c.sockets?.release(cur.app_id);
    }
    if (cur.cgroup) cgroups.retire(cur.cgroup);
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
      // Dependents stop (and go) before what they depend on; starts go the other way.
      const levels = await this.levels(rows);
      const down = action === 'stop' || action === 'delete';
      const ordered = [...rows].sort((a, b) => (down ? levels(b) - levels(a) : levels(a) - levels(b)) || a.id - b.id);
      for (const r of ordered) {
        try {
          out.push(...(await this.actRow(caller, action, r, force)));
        } catch (e) {
          if (!(e instanceof PmonError)) throw e;
          const cur = await this.c.store.get(r.id);
          if (cur) out.push({ ...summary((await views(this.c, [cur]))[0]!), error: e.message, error_code: e.code });
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
        out = await this.stopRow(row.id, force, stoppedBy(caller));
        break;
      case 'start':
      case 'restart':
        out = await this.c.units.locked(row.id, () => this.restartLocked(row.id, action === 'restart'));
        break;
      case 'delete':
        out = await this.deleteRow(row.id, force);
        break;
      case 'reset':
        return this.reset(caller, String(row.id));
    }
    return (await views(this.c, [out])).map(summary);
  }

  /** Stop every process the caller owns: dependents first (deepest level first, each level at once). */
  killAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    // A scheduled cron app is disarmed too.
    const pick = (r: ProcessRow): boolean => isActive(r.status) || r.status === 'scheduled' || !!this.c.units.peek(r.id)?.watched;
    return this.forAllDown(caller, pick, (cur) => this.term.stopLocked(cur, { force, event: 'stop', desired: 'stopped', hook: true, reason: stoppedBy(caller) }));
  }

  /** forAll level by level, the deepest dependents first (each level at once); summaries by id. */
  private async forAllDown(caller: Caller, pick: (r: ProcessRow) => boolean, fn: (cur: ProcessRow) => Promise<ProcessRow>): Promise<ProcessSummary[]> {
    const rows = (await this.c.store.all()).filter((r) => mayAct(caller, r) && pick(r));
    for (const r of rows) interruptHooks(this.c, r.id);
    const levels = await this.levels(rows);
    const depths = [...new Set(rows.map(levels))].sort((a, b) => b - a);
    const out: ProcessSummary[] = [];
    for (const depth of depths) {
      const ids = new Set(rows.filter((r) => levels(r) === depth).map((r) => r.id));
      out.push(...(await this.forAll(caller, (r) => ids.has(r.id) && pick(r), fn)));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Each row's app's dependency depth (internal/apps/graph.ts dependencyLevels), per owner. */
  private async levels(rows: readonly ProcessRow[]): Promise<(r: ProcessRow) => number> {
    const owners = new Set(rows.map((r) => r.uid));
    const apps = (await this.c.store.apps()).filter((a) => owners.has(a.uid));
    const level = dependencyLevels(apps.map((a) => ({ name: `${a.uid}/${a.name}`, dependencies: stringList(a.dependencies).map((d) => `${a.uid}/${d}`) })));
    const byApp = new Map(apps.map((a) => [a.id, level.get(`${a.uid}/${a.name}`) ?? 0]));
    return (r) => byApp.get(r.app_id) ?? 0;
  }

  /** Start every stopped or failed process the caller owns. */
  initAll(caller: Caller): Promise<ProcessSummary[]> {
    return this.forAll(caller, (r) => r.status === 'stopped' || r.status === 'failed', async (cur) =>
      cur.status === 'stopped' || cur.status === 'failed' ? this.restartLocked(cur.id, false) : cur,
    );
  }

  /** Stop and delete every process the caller owns. */
  async dropAll(caller: Caller, force: boolean): Promise<ProcessSummary[]> {
    const done = await this.forAllDown(caller, () => true, (cur) => this.deleteLocked(cur, force));
    for (const v of done) this.c.units.drop(v.id);
    return done;
  }

  /** Reset restart counters of one process or every one the caller owns. */
  async reset(caller: Caller, target?: string): Promise<ProcessSummary[]> {
    const { units } = this.c;
    if (target !== undefined) {
      const row = await this.find(caller, target);
      const out = await units.locked(row.id, async () => units.update(await units.mustGet(row.id), { restarts: 0, consecutive_failures: 0 }));
      return (await views(this.c, [out])).map(summary);
    }
    return this.forAll(caller, () => true, (cur) => units.update(cur, { restarts: 0, consecutive_failures: 0 }));
  }

  /**
   * On daemon shutdown: with stopChildren (handle_interrupts) stop every
   * child but keep it desired-running, so the next pmond brings it back;
   * otherwise leave every child running for re-adoption. (The caller has set units.closed.)
   */
  async shutdown(stopChildren: boolean): Promise<void> {
    const { units } = this.c;
    const rows = await this.c.store.all();
    for (const r of rows) interruptHooks(this.c, r.id);
    await Promise.all(
      rows.map((r) =>
        units.locked(r.id, async () => {
          const rt = units.rt(r.id);
          rt.backoff?.cancel();
          if (!stopChildren || !rt.watched) {
            rt.watched = undefined;
            return;
          }
          const cur = await units.mustGet(r.id);
          await this.term.stopLocked(cur, { force: false, event: 'stop', desired: 'running' });
        }),
      ),
    );
  }

  /** fn on every row the caller may act on that pick chooses, each under its lock (a row gone by then is skipped). */
  private async forAll(caller: Caller, pick: (r: ProcessRow) => boolean, fn: (cur: ProcessRow) => Promise<ProcessRow>): Promise<ProcessSummary[]> {
    const rows = (await this.c.store.all()).filter((r) => mayAct(caller, r) && pick(r));
    const out = await Promise.all(
      rows.map((r) =>
        this.c.units.locked(r.id, async () => {
          const cur = await this.c.store.get(r.id);
          return cur ? fn(cur) : undefined;
        }),
      ),
    );
    return (await views(this.c, out.filter((r): r is ProcessRow => r !== undefined))).map(summary);
  }
}

/** The reason a stop the caller asked for records. */
export function stoppedBy(caller: Caller): string {
  return `stopped by uid ${caller.uid}`;
}

/** Whether caller may see and act on row: theirs, or they are an admin. */
function mayAct(caller: Caller, row: ProcessRow): boolean {
  return caller.admin || row.uid === caller.uid;
}
