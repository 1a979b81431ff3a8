/**
 * Rolling reload (`reload NAME`, `upgrade NAME`): an app's running instances replaced by new
 * ones without a moment with fewer of them serving. An app's `upgrader` runs first (as its
 * user); anything but exit 0 in time and nothing is replaced.
 *
 * Per batch of at most `max_surge` instances: a new instance is started beside each old one
 * (a surge row: instance -(i+1), shown as NAME:i+, with PMON3_INSTANCE=i and the old one's log),
 * not restarted by policy (the reload decides); once every new one of the batch is ready (its
 * app's `ready:` check, else running for its startsecs), the old ones are stopped gracefully
 * (stop_signal, stop_timeout) and the new ones take their places. A new one that fails (exits,
 * or is not ready in time) stops the reload: the batch's new ones are stopped and removed, the
 * old ones serve on, and the caller is told in one line (a rollback).
 *
 * pmond killed in the middle: boot (recover) finishes what it finds, each surge row alone: its
 * old instance still there → the surge goes (rolled back); the old one gone → the surge takes
 * its place if it runs, else it goes.
 */
import type { AppDefinition } from '../apps/model';
import { parseDefinition } from '../apps/model';
import { failedPrecondition, invalidArgument } from '../protocol/errors';
import { NEVER_RAN, type ProcessRow } from '../store/schema';
import { runAppHook } from './app-hooks';
import type { Caller, Core } from './deps';
import type { Lifecycle } from './lifecycle';
import type { Loggers } from './loggers';
import type { Terminator } from './terminate';

/** A surge row's instance: the old instance's index i as -(i+1). */
export const surgeOf = (instance: number): number => -(instance + 1);
/** The index a surge row stands in for. */
export const standsFor = (instance: number): number => (instance < 0 ? -instance - 1 : instance);

/** An upgrader without upgrader_timeout has this long. */
const DEFAULT_UPGRADER_MS = 60_000;
/** How often a reload looks at its new instances. */
const POLL_MS = 50;
/** Beyond a ready check's own timeout, how long a new instance may take to be running. */
const GRACE_MS = 5_000;

export interface RollingResult {
  replaced: number;
  ms: number;
  rows: ProcessRow[];
}

export class Rolling {
  /** Apps a reload is under way for: scale, apply and a second reload wait their turn (refused). */
  private readonly busy = new Set<number>();

  constructor(
    private readonly c: Core,
    private readonly life: Lifecycle,
    private readonly term: Terminator,
    private readonly select: (caller: Caller, target: string) => Promise<ProcessRow[]>,
    private readonly loggers: Loggers,
  ) {}

  /** Whether app id is being reloaded. */
  reloading(appId: number): boolean {
    return this.busy.has(appId);
  }

  async reload(caller: Caller, target: string): Promise<RollingResult> {
    const { store, clock } = this.c;
    const rows = await this.select(caller, target);
    const ids = [...new Set(rows.map((r) => r.app_id))];
    if (ids.length !== 1 || target.startsWith('@') || target === 'all') throw invalidArgument(`reload: "${target}" must name one app (NAME or USER/NAME); reload alone reads pmond's apps files again`);
    const app = (await store.getApp(ids[0]!))!;
    const def = parseDefinition(app.spec);
    if ((def.task?.type ?? 'daemon') !== 'daemon') throw failedPrecondition(`reload: ${app.name} is a ${def.task?.type} app; only daemons are reloaded (restart runs it again)`);
    if (this.busy.has(app.id)) throw failedPrecondition(`reload: ${app.name} is being reloaded already`);
    this.busy.add(app.id);
    const t0 = clock.now();
    try {
      const olds = (await store.instancesOf(app.id)).filter((r) => r.instance >= 0 && r.desired === 'running' && (r.status === 'running' || r.status === 'starting'));
      if (olds.length === 0) throw failedPrecondition(`reload: ${app.name} has no running instance to replace (start it)`);
      const upgrader = def.task?.upgrader;
      if (upgrader) {
        // Firestarter's upgrader (a migration, a build): as the app's user, with its env and cwd; anything but exit 0 in time replaces nothing.
        const ms = def.task?.upgrader_timeout_ms ?? DEFAULT_UPGRADER_MS;
        const r = await runAppHook(this.c, olds[0]!, 'upgrader', upgrader, ms, null);
        if (!r.ok) throw failedPrecondition(`reload: ${app.name}: not reloaded: ${r.why}; nothing was replaced`);
      }
      const surge = Math.max(1, def.task?.max_surge ?? 1);
      let replaced = 0;
      for (let i = 0; i < olds.length; i += surge) {
        const batch = olds.slice(i, i + surge);
        const fresh = await Promise.all(batch.map((o) => this.startBeside(o)));
        const why = await this.awaitAll(fresh, def);
        if (why !== true) {
          for (const f of fresh) await this.discard(f.id, 'rolled back');
          this.c.logger.warn(`${app.name}: reload rolled back: ${why}`);
          throw failedPrecondition(`reload: ${app.name}: rolled back at instance ${batch[0]!.instance}: ${why}; the old instances serve on (${replaced} of ${olds.length} replaced)`);
        }
        for (let k = 0; k < batch.length; k++) await this.swap(batch[k]!, fresh[k]!);
        replaced += batch.length;
      }
      this.c.logger.info(`${app.name}: reloaded: ${replaced} instances replaced in ${clock.now() - t0} ms`);
      return { replaced, ms: clock.now() - t0, rows: await store.instancesOf(app.id) };
    } finally {
      this.busy.delete(app.id);
    }
  }

  /** A new instance beside old: its executed fields, its log, its index; started. */
  private async startBeside(old: ProcessRow): Promise<ProcessRow> {
    const { store, units } = this.c;
    const gone = (await store.instancesOf(old.app_id)).find((r) => r.instance === surgeOf(old.instance));
    if (gone) await this.discard(gone.id, 'left over');
    const row = await store.insert({ ...pick(old), instance: surgeOf(old.instance), status: 'queued', desired: 'running', ...NEVER_RAN });
    units.rt(row.id).noRestart = true;
    // In logger mode it writes into the old one's pipes: one logger for the one log.
    this.loggers.share(row.id, old.id);
    return units.locked(row.id, async () => {
      const cur = await units.mustGet(row.id);
      return this.life.startLocked(cur, { countRestart: false, hook: 'start' }).catch(async () => units.mustGet(row.id));
    });
  }

  /** true once every row is running (ready); else why not, as soon as one has failed or is out of time. */
  private async awaitAll(rows: ProcessRow[], def: AppDefinition): Promise<true | string> {
    const { store, clock } = this.c;
    const t = def.task;
    const readyMs = t?.ready !== undefined && t.ready !== 'none' ? (t.ready_timeout_ms ?? 60_000) : (def.startsecs_ms ?? 0);
    const deadline = clock.now() + readyMs + GRACE_MS;
    for (;;) {
      let all = true;
      for (const r of rows) {
        const cur = await store.get(r.id);
        if (!cur) return `new instance ${r.id} was removed`;
        if (cur.status === 'running') continue;
        all = false;
        if (cur.status !== 'starting' && cur.status !== 'init' && cur.status !== 'queued') {
          return `new instance ${cur.name}:${standsFor(cur.instance)}+ is ${cur.status}${cur.reason ? ` (${cur.reason})` : ''}`;
        }
      }
      if (all) return true;
      if (clock.now() > deadline) return `new instances not running within ${Math.round((readyMs + GRACE_MS) / 1000)} s`;
      await new Promise<void>((res) => clock.setTimeout(res, POLL_MS));
    }
  }

  /** old stopped gracefully and removed, fresh in its place (its index, restarted by policy from now on). */
  private async swap(old: ProcessRow, fresh: ProcessRow): Promise<void> {
    const { units } = this.c;
    await units.locked(old.id, async () => {
      const cur = await units.get(old.id);
      if (cur) {
        await this.term.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped', reason: 'replaced by reload' });
        await this.forget(cur);
      }
    });
    await units.locked(fresh.id, async () => {
      const cur = await units.get(fresh.id);
      if (!cur) return;
      units.rt(fresh.id).noRestart = undefined;
      await units.update(cur, { instance: old.instance });
    });
  }

  /** Stop (force) and remove a new instance; its log is the old one's and stays. */
  private async discard(id: number, why: string): Promise<void> {
    const { units } = this.c;
    await units.locked(id, async () => {
      const cur = await units.get(id);
      if (!cur) return;
      const stopped = await this.term.stopLocked(cur, { force: true, event: 'stop', desired: 'stopped', reason: why });
      await this.forget(stopped);
    });
  }

  /** A row gone from the table and the runtime (never its app, never its log: the other instance keeps both). */
  private async forget(row: ProcessRow): Promise<void> {
    const { store, units, cgroups } = this.c;
    await store.remove(row.id);
    units.drop(row.id);
    if (row.cgroup) cgroups.retire(row.cgroup);
  }

  /**
   * At boot, after adoption: each surge row a killed pmond left. Its old instance still meant to
   * run: the reload had not got that far, the new one goes (rolled back). The old one gone or
   * being stopped (replaced): the new one takes its place if it runs; if it does not either, the
   * old one (or a new instance i) is started.
   */
  async recover(): Promise<void> {
    const { store, units, logger } = this.c;
    for (const r of (await store.all()).filter((x) => x.instance < 0)) {
      const i = standsFor(r.instance);
      const old = (await store.instancesOf(r.app_id)).find((x) => x.instance === i);
      const running = !!units.peek(r.id)?.watched;
      if (old && old.desired === 'running') {
        logger.warn(`${r.name}: a reload was cut off: new instance ${r.name}:${i}+ removed, the old one serves on`);
        await this.discard(r.id, 'reload cut off');
      } else if (running) {
        logger.warn(`${r.name}: a reload was cut off as instance ${i} was replaced: the new one (pid ${r.pid}) takes its place`);
        if (old) {
          await units.locked(old.id, async () => {
            const cur = await units.get(old.id);
            if (cur) await this.forget(await this.term.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped', reason: 'replaced by reload' }));
          });
        }
        await units.locked(r.id, async () => {
          const cur = await units.get(r.id);
          if (cur) await units.update(cur, { instance: i });
        });
      } else {
        logger.warn(`${r.name}: a reload was cut off and its new instance ${r.name}:${i}+ is gone; instance ${i} is started again`);
        await this.discard(r.id, 'reload cut off');
        const back = old ?? (await store.insert({ ...pick(r), instance: i, status: 'queued', desired: 'running', ...NEVER_RAN }));
        await units.locked(back.id, async () => {
          const cur = await units.mustGet(back.id);
          await this.life.startLocked(cur, { countRestart: false, hook: 'start' }).catch((e: Error) => logger.warn(`${cur.name}:${i}: ${e.message}`));
        });
      }
    }
  }
}

type Insertable = Parameters<Core['store']['insert']>[0];

/** What a row executes and where it logs: what a new instance of it copies. */
function pick(r: ProcessRow): Omit<Insertable, 'instance' | 'status' | 'desired' | keyof typeof NEVER_RAN> {
  return {
    app_id: r.app_id,
    spec_hash: r.spec_hash,
    name: r.name,
    process_file: r.process_file,
    args: r.args,
    env: r.env,
    cwd: r.cwd,
    user: r.user,
    uid: r.uid,
    gid: r.gid,
    log: r.log,
    auto_restart: r.auto_restart,
  };
}
