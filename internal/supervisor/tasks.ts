/**
 * Time and order (issue 14): cron runs, cron_restart, repeat timers, Meproc's `after`, `run`,
 * and the cpu/memory samples save_log_on_crash keeps. Everything is driven from the store (the
 * apps' definitions and next_run_at) and from status changes (Units.subscribe), so a pmond
 * started again arms exactly what the table says.
 *
 * Cron runs:
 * - A cron app's schedule is armed while one of its instances is desired running (`scheduled`
 *   between runs). Its next run time is persisted (apps.next_run_at) and moved on, and written
 *   to disk (store.settled), before the run starts: a pmond killed after that never runs that
 *   time again, one killed before it finds the time still due.
 * - Armed again (boot, a start): a persisted time still ahead is kept; one that passed while
 *   pmond was away is missed: catch_up once runs one run at once, none (the default) goes on
 *   to the next time. A time that passed less than RESTART_GRACE_MS ago is not missed (a pmond
 *   restarted by systemd in a second has not been away).
 * - overlap: skip (default) leaves an instance whose last run still runs alone; queue runs it
 *   once more right after (one queued run at most); allow starts the run on an instance at
 *   rest, so up to `instances` runs at once, and skips only when every instance is busy.
 * - Timers go through armAt: a time weeks away is reached in steps, never a setTimeout past
 *   2^31-1 ms (which Node fires at once).
 */
import { type AppDefinition, appType, readDefinition } from '../apps/model';
import { failedPrecondition } from '../protocol/errors';
import { type CronSchedule, MAX_MISSED, parseCron, planAfterDowntime, type ZoneCache } from '../schedule/cron';
import { armAt, TimerGroups } from '../schedule/timer';
import type { AppRow, ProcessRow } from '../store/schema';
import type { Commands } from './commands';
import type { Core } from './deps';
import type { Lifecycle } from './lifecycle';
import type { Terminator } from './terminate';
import type { StatusChange } from './units';

/** A persisted run time that passed less than this long ago is run, not missed. */
export const RESTART_GRACE_MS = 3000;

/** How often save_log_on_crash apps' processes are sampled, and how many samples are kept. */
const SAMPLE_EVERY_MS = 5000;
/** How often the RSS of instances of apps with max_memory is looked at (PM2 looks every 30 s: late). */
const MEMORY_CHECK_MS = 1000;
/** Checks in a row over max_memory before a restart, unless the app says (a moment's peak is no leak). */
const MEMORY_CHECKS = 3;
const SAMPLES_KEPT = 12;

/** Statuses in which an instance is busy for `after`: about to run, or running. */
const BUSY = new Set(['queued', 'init', 'starting', 'running', 'restarting', 'backoff']);

type Timer = { cancel(): void };

export class Tasks {
  /** app id → its armed cron run (the expression it was armed with, to re-arm on a change). */
  private readonly crons = new Map<number, { timer: Timer; key: string; at: number; schedule: CronSchedule; following: number | null }>();
  /** app id → its armed cron_restart. */
  private readonly cronRestarts = new Map<number, { timer: Timer; key: string }>();
  /** row id → its repeat timer, for the start (spawn token) it was armed for. */
  private readonly repeats = new Map<number, { timer: Timer; token: string }>();
  /** Rows with a queued run (overlap: queue), and the time it is for. */
  private readonly queuedRuns = new Map<number, number>();
  /** Rows waiting for their `after` apps. */
  private readonly waitingAfter = new Set<number>();
  /** A look at them under way. */
  private afterCheck?: Promise<void>;
  private afterAgain = false;
  /** Apps whose processes are sampled (save_log_on_crash). */
  private sampled = new Set<number>();
  private sampler?: Timer;
  /** Apps with max_memory: the limit and the checks in a row over it that restart an instance. */
  private memLimits = new Map<number, { bytes: number; checks: number }>();
  private memTimer?: Timer;
  /** The last run each app claimed (claims file) when pmond started: those times are used up. */
  private claimed = new Map<number, number>();
  /** Timezone formatters, made once (parseCron). */
  private readonly zones: ZoneCache = new Map();
  /** Cron runs' timers, one per time: the runs due at one instant are asked for in one turn. */
  private readonly due: TimerGroups;
  private unsubscribe?: () => void;
  private closed = false;

  constructor(
    private readonly c: Core,
    private readonly life: Lifecycle,
    private readonly cmds: Commands,
    private readonly term: Terminator,
  ) {
    this.due = new TimerGroups(c.clock);
  }

  /** Arm every app's timers (after boot) and follow status changes from now on. */
  async start(): Promise<void> {
    this.claimed = this.c.runClaims?.load() ?? new Map();
    this.unsubscribe = this.c.units.subscribe((ch) => this.onChange(ch));
    await this.syncAll();
    for (const r of await this.c.store.all()) if (r.pid !== null && r.spawn_token) await this.armRepeat(r.id);
    this.scheduleSample();
  }

  /** Stop every timer (shutdown). */
  stop(): void {
    this.closed = true;
    this.c.runClaims?.close();
    this.unsubscribe?.();
    for (const x of this.crons.values()) x.timer.cancel();
    for (const x of this.cronRestarts.values()) x.timer.cancel();
    for (const x of this.repeats.values()) x.timer.cancel();
    this.crons.clear();
    this.cronRestarts.clear();
    this.repeats.clear();
    this.sampler?.cancel();
    this.memTimer?.cancel();
  }

  /** Every app's timers as its definition and instances say (after an apply, a delete, a start). */
  async syncAll(): Promise<void> {
    const apps = await this.c.store.apps();
    const ids = new Set(apps.map((a) => a.id));
    for (const id of [...this.crons.keys()]) if (!ids.has(id)) this.disarm(this.crons, id);
    for (const id of [...this.cronRestarts.keys()]) if (!ids.has(id)) this.disarm(this.cronRestarts, id);
    const sampled = new Set<number>();
    const limits = new Map<number, { bytes: number; checks: number }>();
    for (const a of apps) {
      const def = readDefinition(a.spec);
      if (def?.task?.save_log_on_crash) sampled.add(a.id);
      if (def?.task?.max_memory_bytes) limits.set(a.id, { bytes: def.task.max_memory_bytes, checks: def.task.max_memory_checks ?? MEMORY_CHECKS });
      await this.sync(a, def);
    }
    this.sampled = sampled;
    this.memLimits = limits;
    if (limits.size > 0 && !this.memTimer) this.scheduleMemory();
  }

  /** Runs now (`pmon3 run`): a cron app's run out of schedule, a once app again, a daemon that is not running. */
  async runNow(id: number): Promise<ProcessRow> {
    return this.c.units.locked(id, async () => {
      const cur = await this.c.units.mustGet(id);
      if (this.c.units.rt(id).watched || BUSY.has(cur.status)) {
        throw failedPrecondition(`${cur.name}: already ${cur.status}${cur.started_at ? ` (since ${cur.started_at})` : ''}; restart it, or wait for it to end`);
      }
      const def = await this.c.units.definitionOf(cur);
      const row = appType(def) === 'cron' && cur.status !== 'scheduled' ? await this.c.units.setStatus(cur, 'arm', { desired: 'running' }) : cur;
      return this.life.startLocked(row, { countRestart: false, hook: 'start' });
    });
  }

  /**
   * Start rows (queued, of an app with `after`) once no instance of their `after` apps (same
   * owner) is busy: running, or about to. An app that is not running (never ran, stopped,
   * completed) does not hold them back. Returns at once; they are looked at again on every
   * status change (no polling), until started, stopped or gone.
   */
  startAfter(rows: readonly ProcessRow[]): void {
    for (const r of rows) this.waitingAfter.add(r.id);
    this.checkAfter();
  }

  /** Look at the rows waiting for their `after` apps, once, soon (a burst of changes is one look). */
  private checkAfter(): void {
    if (this.waitingAfter.size === 0 || this.closed) return;
    if (this.afterCheck) {
      this.afterAgain = true; // a change during a look: one more look after it
      return;
    }
    this.afterCheck = Promise.resolve()
      .then(async () => {
        for (const id of [...this.waitingAfter]) {
          const r = await this.c.store.get(id);
          if (!r || r.desired !== 'running' || (r.status !== 'queued' && r.status !== 'restarting')) {
            this.waitingAfter.delete(id);
            continue;
          }
          const app = await this.c.store.getApp(r.app_id);
          const after = app ? (readDefinition(app.spec)?.task?.after ?? []) : [];
          if (await this.busyOf(r.uid, after)) continue;
          this.waitingAfter.delete(id);
          await this.c.units.locked(id, async () => {
            const cur = await this.c.store.get(id);
            if (!cur || cur.desired !== 'running' || (cur.status !== 'queued' && cur.status !== 'restarting')) return;
            await this.life.startLocked(cur, { countRestart: false, hook: 'start' }).catch((e: Error) => this.c.logger.warn(`${cur.name}: ${e.message}`));
          });
        }
      })
      .catch((e: unknown) => this.c.logger.error(`after: ${(e as Error)?.stack ?? String(e)}`))
      .finally(() => {
        this.afterCheck = undefined;
        if (this.afterAgain) {
          this.afterAgain = false;
          this.checkAfter();
        }
      });
  }

  /** Whether an instance of the owner's apps named `after` is busy (its name, or null). */
  private async busyOf(uid: number, after: readonly string[]): Promise<string | null> {
    for (const name of after) {
      const app = await this.c.store.getAppByName(uid, name);
      if (!app) continue;
      for (const r of await this.c.store.instancesOf(app.id)) {
        if (r.desired === 'running' && (BUSY.has(r.status) || this.waitingAfter.has(r.id))) return name;
      }
    }
    return null;
  }

  /** One app's cron run and cron_restart timers as its definition and instances say. */
  private async sync(app: AppRow, def: AppDefinition | undefined): Promise<void> {
    const task = def?.task;
    const type = appType(def);
    const rows = await this.c.store.instancesOf(app.id);
    const armed = rows.some((r) => r.desired === 'running');
    // Cron runs.
    if (type === 'cron' && task?.cron && armed) {
      const key = `${task.cron}\u0000${task.timezone ?? ''}`;
      if (this.crons.get(app.id)?.key !== key) await this.armCron(app, key, task.cron, task.timezone, task.catch_up ?? 'none');
    } else {
      this.disarm(this.crons, app.id);
      if (app.next_run_at !== null) await this.c.store.updateApp(app.id, { next_run_at: null });
    }
    // cron_restart.
    if (type === 'daemon' && task?.cron_restart) {
      const key = `${task.cron_restart}\u0000${task.timezone ?? ''}`;
      if (this.cronRestarts.get(app.id)?.key !== key) this.armCronRestart(app.id, key, task.cron_restart, task.timezone);
    } else {
      this.disarm(this.cronRestarts, app.id);
    }
  }

  private disarm(m: Map<number, { timer: Timer }>, id: number): void {
    m.get(id)?.timer.cancel();
    m.delete(id);
  }

  /** Arm app's cron run: the persisted time if it is ahead, else as catch_up says. Nothing is awaited before it is in `crons`. */
  private async armCron(app: AppRow, key: string, expr: string, tz: string | undefined, catchUp: 'none' | 'once'): Promise<void> {
    this.disarm(this.crons, app.id);
    const { clock, logger, store } = this.c;
    const now = clock.now();
    let s;
    try {
      s = parseCron(expr, tz, this.zones);
    } catch (e) {
      logger.warn(`${app.name}: not scheduled: ${(e as Error).message}`);
      return;
    }
    // A run claimed for the stored time (or later) started before the database heard: go on after it.
    const claim = this.claimed.get(app.id);
    this.claimed.delete(app.id);
    const persisted = claim !== undefined && app.next_run_at !== null && claim >= app.next_run_at ? s.next(claim) : app.next_run_at;
    let next: number | null;
    if (persisted !== null && persisted <= now && now - persisted < RESTART_GRACE_MS) {
      next = persisted; // due just now: run it, pmond was not away
    } else {
      const plan = planAfterDowntime(s, persisted, now, catchUp);
      next = plan.runNow ? now : plan.next;
      if (plan.missed > 0) {
        logger.info(`${app.name}: ${plan.missed >= MAX_MISSED ? `${MAX_MISSED} or more` : plan.missed} runs missed while pmond was away (catch_up ${catchUp}); ${plan.runNow ? 'one run now' : `next at ${next === null ? 'never' : new Date(next).toISOString()}`}`);
      }
    }
    if (next === null) return;
    const at = next;
    // Armed (in the map) before anything is awaited: a second sync at the same moment sees it and arms no second timer.
    this.setCron(app.id, app.name, key, s, at);
    if (next !== persisted) await store.updateApp(app.id, { next_run_at: next });
  }

  /** Time `at` of app's schedule has come: move next_run_at on (on disk), arm it, then run. */
  private async fireCron(appId: number, key: string, at: number): Promise<void> {
    const { store, clock, units } = this.c;
    if (this.closed || units.closed) return;
    const app = await store.getApp(appId);
    const def = app && readDefinition(app.spec);
    const task = def?.task;
    if (!app || !task?.cron || appType(def) !== 'cron') {
      this.crons.delete(appId);
      return;
    }
    // The schedule parsed when armed, and the time after this one worked out then (croner's
    // next() costs about a millisecond of pmond's one thread: kept off the way to the spawn).
    const armed = this.crons.get(appId);
    const sameKey = armed?.key === key;
    const s = sameKey ? armed.schedule : parseCron(task.cron, task.timezone, this.zones);
    const nextTime = (): number | null => {
      const now = clock.now();
      return sameKey && armed.at === at && armed.following !== null && armed.following > now ? armed.following : s.next(Math.max(at, now));
    };
    // Write-ahead: this time is used up before its run starts — claimed in the claims file (one
    // write, no fsync: it survives pmond's death), else in the database, on disk (its fsync).
    const claimed = this.c.runClaims?.claim(appId, at) ?? false;
    let next: number | null = null;
    if (!claimed) {
      next = nextTime();
      await store.updateApp(appId, { next_run_at: next });
      await store.settled();
    }
    const runs = this.dispatch(app, task, at);
    if (claimed) {
      // Once every run due now has been asked for (this turn's timers and their promises): the next time.
      await new Promise<void>((r) => setImmediate(r));
      next = nextTime();
      await store.updateApp(appId, { next_run_at: next });
    }
    if (next !== null) this.setCron(appId, app.name, key, s, next);
    else this.crons.delete(appId);
    await runs;
  }

  /** The runs of app for time `at`, as its overlap says. */
  private async dispatch(app: AppRow, task: NonNullable<AppDefinition['task']>, at: number): Promise<void> {
    const { store, clock, logger, units } = this.c;
    const overlap = task.overlap ?? 'skip';
    const rows = (await store.instancesOf(app.id)).filter((r) => r.desired === 'running');
    let started = false;
    for (const r of rows) {
      if (overlap === 'allow' && started) break;
      await units.locked(r.id, async () => {
        const cur = await store.get(r.id);
        if (!cur || cur.desired !== 'running') return;
        if (cur.status !== 'scheduled') {
          if (overlap === 'queue' && BUSY.has(cur.status)) this.queuedRuns.set(cur.id, this.queuedRuns.get(cur.id) ?? at);
          else if (overlap !== 'allow') logger.info(`${cur.name}: run of ${new Date(at).toISOString()} skipped: the last run still runs (overlap ${overlap})`);
          return;
        }
        started = true;
        // The run knows the time it is for (the period it covers) and when pmond asked for it (its lateness, pmond's part of it).
        await this.life
          .startLocked(cur, { countRestart: false, hook: 'start', env: { PMON3_SCHEDULED_AT: new Date(at).toISOString(), PMON3_FIRED_AT: new Date(clock.now()).toISOString() } })
          .catch((e: Error) => logger.warn(`${cur.name}: cron run not started: ${e.message}`));
      });
    }
    if (overlap === 'allow' && !started) logger.info(`${app.name}: run of ${new Date(at).toISOString()} skipped: all ${rows.length} instances still run (overlap allow)`);
  }

  /** app's cron armed for time at (the one after it worked out now, off the firing's path). */
  private setCron(appId: number, name: string, key: string, schedule: CronSchedule, at: number): void {
    const timer = this.due.at(at, () => void this.fireCron(appId, key, at).catch((e: unknown) => this.c.logger.error(`${name}: cron run failed: ${(e as Error)?.stack ?? String(e)}`)));
    const entry = { key, at, timer, schedule, following: null as number | null };
    this.crons.set(appId, entry);
    // The time after it, worked out soon, while nothing is due (not when `at` comes).
    setImmediate(() => {
      if (this.crons.get(appId) === entry) entry.following = schedule.next(at);
    });
  }

  private armCronRestart(appId: number, key: string, expr: string, tz: string | undefined): void {
    this.disarm(this.cronRestarts, appId);
    const { clock, logger } = this.c;
    let s;
    try {
      s = parseCron(expr, tz, this.zones);
    } catch (e) {
      logger.warn(`app ${appId}: cron_restart not armed: ${(e as Error).message}`);
      return;
    }
    const next = s.next(clock.now());
    if (next === null) return;
    const timer = armAt(clock, next, () => {
      this.cronRestarts.delete(appId);
      void this.fireCronRestart(appId)
        .catch((e: unknown) => logger.error(`app ${appId}: cron_restart failed: ${(e as Error)?.stack ?? String(e)}`))
        .finally(() => {
          if (!this.closed && !this.cronRestarts.has(appId)) this.armCronRestart(appId, key, expr, tz);
        });
    });
    this.cronRestarts.set(appId, { key, timer });
  }

  /** cron_restart: every instance restarted, a running one and one that ended on its own alike; one a user stopped stays stopped. */
  private async fireCronRestart(appId: number): Promise<void> {
    const { store, units, logger } = this.c;
    for (const r of await store.instancesOf(appId)) {
      await units.locked(r.id, async () => {
        const cur = await store.get(r.id);
        if (!cur || units.closed) return;
        if (cur.desired === 'stopped' && (cur.reason ?? '').startsWith('stopped by')) return;
        logger.info(`${cur.name}: cron_restart`);
        await this.cmds.restartLocked(cur.id, true).catch((e: Error) => logger.warn(`${cur.name}: cron_restart: ${e.message}`));
      });
    }
  }

  /** A status change: queued runs, repeat timers and newly armed schedules follow it. */
  private onChange(ch: StatusChange): void {
    if (this.closed) return;
    if (this.waitingAfter.size > 0 && !this.waitingAfter.has(ch.id)) this.checkAfter();
    const work = async (): Promise<void> => {
      if (ch.event === 'spawned' || ch.event === 'spawned_wait') await this.armRepeat(ch.id);
      const queuedAt = ch.event === 'exit_scheduled' ? this.queuedRuns.get(ch.id) : undefined;
      if (queuedAt !== undefined) {
        this.queuedRuns.delete(ch.id);
        await this.c.units.locked(ch.id, async () => {
          const cur = await this.c.store.get(ch.id);
          if (cur && cur.status === 'scheduled' && cur.desired === 'running') {
            await this.life.startLocked(cur, { countRestart: false, hook: 'start', env: { PMON3_SCHEDULED_AT: new Date(queuedAt).toISOString() } });
          }
        });
      }
      if (ch.event === 'arm' || (ch.to === 'stopped' && ch.from === 'scheduled')) {
        const row = await this.c.store.get(ch.id);
        const app = row && (await this.c.store.getApp(row.app_id));
        if (app) await this.sync(app, readDefinition(app.spec));
      }
    };
    void work().catch((e: unknown) => this.c.logger.error(`${ch.name}: timers after ${ch.event}: ${(e as Error)?.stack ?? String(e)}`));
  }

  /** Arm row id's repeat timer for its current start (spawn token), if its app has one. */
  private async armRepeat(id: number): Promise<void> {
    const row = await this.c.store.get(id);
    if (!row?.spawn_token) return;
    const app = await this.c.store.getApp(row.app_id);
    const repeat = app && readDefinition(app.spec)?.task?.repeat;
    const prev = this.repeats.get(id);
    if (prev?.token === row.spawn_token) return;
    prev?.timer.cancel();
    this.repeats.delete(id);
    if (!repeat) return;
    const token = row.spawn_token;
    const arm = (): void => {
      const timer = armAt(this.c.clock, this.c.clock.now() + repeat.every_ms, () => {
        void this.fireRepeat(id, token, repeat.action)
          .then((again) => {
            if (again && !this.closed && this.repeats.get(id)?.token === token) arm();
          })
          .catch((e: unknown) => this.c.logger.error(`${row.name}: repeat ${repeat.action} failed: ${(e as Error)?.stack ?? String(e)}`));
      });
      this.repeats.set(id, { timer, token });
    };
    arm();
  }

  /**
   * A repeat timer fired: the action, only if the row's last start is still the one it was
   * armed for (supervisor-rs's pid guard; a start since then armed its own timer). Returns
   * whether to go on with this timer (the action started nothing new).
   */
  private async fireRepeat(id: number, token: string, action: 'restart' | 'start' | 'stop' | 'trystart'): Promise<boolean> {
    const { units } = this.c;
    if (units.closed) return false;
    return units.locked(id, async () => {
      const cur = await this.c.store.get(id);
      if (!cur || cur.spawn_token !== token) {
        if (this.repeats.get(id)?.token === token) this.repeats.delete(id);
        return false;
      }
      const running = !!units.rt(id).watched;
      switch (action) {
        case 'restart':
          if (!running) return true;
          await this.cmds.restartLocked(id, true);
          return false;
        case 'start':
          if (running || BUSY.has(cur.status)) return true;
          await this.cmds.restartLocked(id, false);
          return false;
        case 'trystart':
          await this.cmds.tryStartLocked(id);
          return false;
        case 'stop':
          if (running) await this.term.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped', hook: true, reason: 'stopped by its repeat timer' });
          return false;
      }
    });
  }

  /** Look at the RSS of max_memory apps' instances every MEMORY_CHECK_MS while there are any. */
  private scheduleMemory(): void {
    this.memTimer = undefined;
    if (this.closed || this.memLimits.size === 0) return;
    this.memTimer = this.c.clock.setTimeout(() => {
      void this.checkMemory()
        .catch((e: unknown) => this.c.logger.error(`max_memory check failed: ${(e as Error)?.stack ?? String(e)}`))
        .finally(() => this.scheduleMemory());
    }, MEMORY_CHECK_MS);
  }

  /** An instance over its app's max_memory for that many checks in a row is restarted, reason `memory: ...`. */
  private async checkMemory(): Promise<void> {
    const { store, os, units, logger } = this.c;
    // Only the limited apps' rows (by the app index), not a copy of every row each second.
    const rows: ProcessRow[] = [];
    for (const appId of this.memLimits.keys()) for (const r of await store.instancesOf(appId)) if (r.pid !== null && units.peek(r.id)?.watched) rows.push(r);
    if (rows.length === 0) return;
    const usage = await os.usage(rows.map((r) => r.pid!)).catch(() => ({}) as Record<number, { cpu: number; memory: number }>);
    for (const r of rows) {
      const limit = this.memLimits.get(r.app_id)!;
      const u = usage[r.pid!];
      const rt = units.rt(r.id);
      if (!u || u.memory <= limit.bytes) {
        rt.memoryOver = 0;
        continue;
      }
      rt.memoryOver = (rt.memoryOver ?? 0) + 1;
      if (rt.memoryOver < limit.checks) continue;
      rt.memoryOver = 0;
      const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
      const reason = `memory: RSS ${mib(u.memory)} over max_memory ${mib(limit.bytes)} for ${limit.checks} checks in a row`;
      logger.warn(`${r.name}: pid ${r.pid} ${reason}; restarting it`);
      await units
        .locked(r.id, async () => {
          const cur = await store.get(r.id);
          // Only the process that was measured (not one a restart in between started).
          if (!cur || cur.pid !== r.pid || !units.peek(r.id)?.watched) return;
          await this.cmds.restartLocked(r.id, true, reason);
        })
        .catch((e: Error) => logger.warn(`${r.name}: restart for memory failed: ${e.message}`));
    }
  }

  /** Sample the processes of save_log_on_crash apps (their crash files carry the samples). */
  private scheduleSample(): void {
    if (this.closed) return;
    this.sampler = this.c.clock.setTimeout(() => {
      void this.sample()
        .catch(() => undefined)
        .finally(() => this.scheduleSample());
    }, SAMPLE_EVERY_MS);
  }

  private async sample(): Promise<void> {
    if (this.sampled.size === 0) return;
    const rows = (await this.c.store.all()).filter((r) => r.pid !== null && this.sampled.has(r.app_id));
    if (rows.length === 0) return;
    const usage = await this.c.os.usage(rows.map((r) => r.pid!)).catch(() => ({}) as Record<number, { cpu: number; memory: number }>);
    const at = new Date(this.c.clock.now()).toISOString();
    for (const r of rows) {
      const u = usage[r.pid!];
      if (!u) continue;
      const rt = this.c.units.rt(r.id);
      rt.samples = [...(rt.samples ?? []), { at, cpu: u.cpu, memory: u.memory }].slice(-SAMPLES_KEPT);
    }
  }
}
