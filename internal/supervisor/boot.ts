/**
 * pmond's start: every row reconciled with the OS, and re-adopted processes polled.
 *
 * Crash-safety rules (see README "Crash safety"):
 * - children run in their own session, so they outlive pmond;
 * - `desired` records what the user asked for; a restarted pmond brings back
 *   what should run and re-adopts what still runs (pid AND /proc start time);
 * - a pid is trusted only in the boot it was recorded in, with its /proc
 *   start time; a live child is also found by the markers in its environment
 *   (PMON3_DAEMON_ID, PMON3_PROCESS_ID, its uid) when its row lags behind.
 */
import { stringList } from '../apps/model';
import { startOrder } from '../apps/graph';
import type { Marked, MarkedScan } from '../process/procfs';
import type { ExitInfo, Watched } from '../process/spawner';
import { appType } from '../apps/model';
import { isActive } from '../process/status';
import type { AppRow, ProcessRow } from '../store/schema';
import { isoNow } from './clock';
import type { Core } from './deps';
import type { Lifecycle } from './lifecycle';
import type { Loggers } from './loggers';
import type { Terminator } from './terminate';
import { fireHook } from './views';

/** Unaccounted-for marked processes named one by one in pmond.log at start; the rest are summed up. */
const STRAYS_LOGGED = 20;

export class Boot {
  private monitor?: { cancel(): void };

  constructor(
    private readonly c: Core,
    private readonly life: Lifecycle,
    private readonly term: Terminator,
    private readonly loggers: Loggers,
  ) {}

  /**
   * Reconcile every row with the OS: re-adopt what still runs (same pid and
   * start time, this boot; or found by its markers), bring back what should
   * run, leave stopped what was stopped. `scan` holds the live processes
   * carrying this pmond's PMON3_DAEMON_ID (procfs.scanMarked), found before
   * the table was opened; those no row accounts for are reported, never touched.
   * Rows are taken in bootOrder: an app's after those of the apps it depends on.
   *
   * Markers are claims any user can make for their own processes (the daemon id
   * is in their children's environment), so a marked process obtains only what
   * its uid could have anyway: adoption by a row of its own uid and name, and
   * never a signal otherwise. Only the ids of unaccounted-for processes of root
   * or of pmond's own user are kept from being handed out again; another user's
   * marker reserves nothing (else it could push the ids to their end). What is
   * logged about them is bounded: a line each for the first STRAYS_LOGGED, then
   * one summary.
   */
  async boot(scan: MarkedScan = { marked: [], malformed: [] }): Promise<void> {
    const { store, logger, units } = this.c;
    const marked = scan.marked;
    const rows = bootOrder(await store.all(), await store.apps(), (m) => logger.warn(m));
    const byRow = new Map<number, Marked[]>();
    for (const m of marked) byRow.set(m.processId, [...(byRow.get(m.processId) ?? []), m]);
    for (const row of rows) {
      // Only a process running as the row's user can be that row's (no other user can forge one);
      // its name too must match (a lost table's ids may have been handed out again).
      const all = byRow.get(row.id) ?? [];
      // Its logger (PMON3_LOGGER) is no copy of the program: it runs as the uid its log needs.
      const loggers = all.filter((m) => m.logger && m.uid === this.loggers.expectedUid(row, m.logger) && m.name === row.name);
      const mine = all.filter((m) => !m.logger && m.uid === row.uid && m.name === row.name);
      const others = all.filter((m) => !mine.includes(m) && !loggers.includes(m));
      if (others.length) byRow.set(row.id, others);
      else byRow.delete(row.id);
      await units.locked(row.id, () => this.reconcile(row, mine, loggers));
    }
    // New rows must not take the ids the unaccounted-for processes of trusted users carry.
    const strays = [...byRow.values()].flat();
    const trusted = strays.filter((m) => m.uid === 0 || m.uid === this.c.daemonUid);
    if (trusted.length) store.reserveIdsThrough(Math.max(...trusted.map((m) => m.processId)));
    for (const m of strays.slice(0, STRAYS_LOGGED)) {
      logger.warn(`pid ${m.pid} (${m.name}, uid ${m.uid}) was started by this pmond as process ${m.processId}, which its table does not hold; left running, not managed`);
    }
    if (strays.length > STRAYS_LOGGED) {
      const uids = [...new Set(strays.slice(STRAYS_LOGGED).map((m) => m.uid))].slice(0, 20).join(', ');
      logger.warn(`${strays.length - STRAYS_LOGGED} more processes carry this pmond's markers without a row (uids ${uids}); left running, not managed`);
    }
    if (scan.malformed.length) {
      const uids = [...new Set(scan.malformed.map((m) => m.uid))].slice(0, 20).join(', ');
      const pids = scan.malformed.slice(0, 10).map((m) => m.pid).join(', ');
      logger.warn(
        `${scan.malformed.length} processes carry this pmond's PMON3_DAEMON_ID with a PMON3_PROCESS_ID it never writes (forged; pids ${pids}${scan.malformed.length > 10 ? ', ...' : ''}; uids ${uids}); ignored`,
      );
    }
    this.scheduleMonitor();
  }

  /** No more polling (shutdown). */
  stopMonitor(): void {
    this.monitor?.cancel();
  }

  private async reconcile(row: ProcessRow, marked: Marked[], ownLoggers: Marked[] = []): Promise<void> {
    const { units, logger, bootId, os } = this.c;
    // A pid from another boot names nothing now: never adopt it, never signal it.
    const thisBoot = row.pid_boot_id === null || row.pid_boot_id === bootId;
    if (!thisBoot && row.pid !== null) logger.info(`${row.name}: pid ${row.pid} was recorded before a reboot; ignoring it`);
    let found: { pid: number; startTime: number } | undefined;
    if (thisBoot && row.pid !== null && row.pid_start_time !== null && os.isSameProcess(row.pid, row.pid_start_time)) {
      found = { pid: row.pid, startTime: row.pid_start_time };
    } else if (marked.length) {
      // Its row lags behind (pmond died between spawning it and recording it, or could not write): its markers tell.
      const pick = marked.find((m) => m.token !== null && m.token === row.spawn_token) ?? marked[0]!;
      for (const m of marked) if (m !== pick) logger.error(`${row.name}: pid ${m.pid} is a second live copy (not adopted; stop it by hand)`);
      logger.info(`${row.name}: found its live child pid ${pick.pid} by its markers; re-adopted`);
      found = pick;
    }
    if (found) {
      const cgroup = row.cgroup !== null && this.c.cgroups.contains(row.cgroup, found.pid) ? row.cgroup : null;
      const w = this.adopt(row.id, found.pid, found.startTime, cgroup);
      let cur = row;
      if (row.pid !== found.pid || row.pid_boot_id !== bootId) {
        cur = await units.update(row, { pid: found.pid, pid_start_time: found.startTime, pid_boot_id: bootId, started_at: row.started_at ?? isoNow(this.c.clock) });
      }
      if (cur.desired === 'stopped') {
        logger.info(`${cur.name}: was being stopped when pmond went down; stopping pid ${w.pid}`);
        await this.term.stopLocked(cur, { force: false, event: 'stop', desired: 'stopped' });
        return;
      }
      if (cur.status !== 'running') cur = await units.setStatus(cur, 'adopt');
      for (const l of ownLoggers) await this.loggers.adopt(cur, w, l).catch((e: Error) => this.c.logger.warn(`${cur.name}: its logger: ${e.message}`));
      await this.life.resume(cur, w);
      logger.info(`${cur.name}: re-adopted pid ${w.pid}`);
      return;
    }
    if (row.pid !== null && thisBoot) {
      logger.info(`${row.name}: pid ${row.pid} is gone (or now belongs to another program)`);
    }
    const gone = { pid: null, pid_start_time: null, pid_boot_id: null };
    const def = await units.definitionOf(row);
    const type = appType(def);
    const live = row.status === 'running' || row.status === 'starting';
    if (row.instance < 0) {
      // A reload's new instance, gone with the pmond that ran the reload: rolling.ts's recover decides.
      if (isActive(row.status) || row.pid !== null) await units.setStatus(row, 'stop', gone);
      return;
    }
    if (row.desired === 'running' && type === 'cron' && row.status !== 'init') {
      // A run that ended while pmond was away is over, not lost: the schedule (tasks.ts) goes on from here.
      if (live) await units.setStatus(row, 'exit_scheduled', { ...gone, reason: 'run ended while pmond was away' });
      else if (row.status !== 'scheduled') await units.setStatus(row, 'arm', gone);
      else if (row.pid !== null) await units.update(row, gone);
      return;
    }
    if (row.desired === 'running' && type === 'cron' && row.status === 'init') {
      // Caught starting a run: its time was used up before the spawn (tasks.ts), and the run may
      // have happened (its child gone by now) though the table never heard. Run at most once:
      // armed again, not run again. (A child still alive was found by its markers above.)
      const cur = await units.setStatus(row, 'lost', gone);
      await units.setStatus(cur, 'arm', { reason: 'a run was starting when pmond went down; not run again' });
      return;
    }
    if (row.desired === 'running' && type === 'once' && live) {
      // Not restarted by policy; how it ended pmond cannot know.
      await units.setStatus(row, 'exit_clean', { ...gone, desired: 'stopped', reason: 'ended while pmond was away: its exit status is unknown' });
      return;
    }
    if (row.desired === 'running') {
      // It should run. If it was running (or about to be restarted), it was lost while pmond
      // was away: that is a restart. A row caught mid-spawn ('init') never ran: start it afresh.
      const wasRunning = live || row.status === 'backoff' || row.status === 'restarting';
      let cur = live || row.status === 'init' ? await units.setStatus(row, 'lost', gone) : await units.update(row, gone);
      if (!cur.auto_restart && wasRunning) {
        cur = await units.setStatus(cur, 'give_up', { desired: 'stopped', stopped_at: isoNow(this.c.clock) });
        fireHook(this.c.hooks, 'failure', cur);
        return;
      }
      if ((def?.task?.after?.length ?? 0) > 0 && this.c.after && (cur.status === 'queued' || cur.status === 'restarting')) {
        this.c.after.startAfter([cur]);
        return;
      }
      await this.life
        .startLocked(cur, { countRestart: wasRunning, hook: wasRunning ? 'restart' : 'start' })
        .catch((e) => logger.error(`${row.name}: could not be started at boot: ${(e as Error).message}`));
      return;
    }
    if (isActive(row.status) || row.pid !== null) await units.setStatus(row, 'stop', gone);
  }

  /** Watch a process pmond did not spawn (found alive at boot). */
  private adopt(id: number, pid: number, startTime: number, cgroup: string | null): Watched {
    const rt = this.c.units.rt(id);
    let resolve!: (i: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolve = r));
    const w: Watched = { pid, startTime, cgroup, exited };
    this.c.units.adopted.add(w);
    rt.adoptedGone = resolve;
    this.life.watch(id, w);
    return w;
  }

  /** Poll re-adopted processes (not our children, so no exit event). */
  private scheduleMonitor(): void {
    const { units, os } = this.c;
    if (units.closed) return;
    this.monitor = this.c.clock.setTimeout(() => {
      for (const rt of units.runtimes()) {
        const w = rt.watched;
        if (w && rt.adoptedGone && !os.isSameProcess(w.pid, w.startTime)) {
          const gone = rt.adoptedGone;
          rt.adoptedGone = undefined;
          gone({ code: null, signal: null });
        }
      }
      this.scheduleMonitor();
    }, this.c.config.process_monitor_interval);
  }
}

/**
 * rows in the order boot takes them: by id, except that an app's rows come after those of the
 * apps it depends on (the same owner's; its `dependencies` column, in startOrder), which are
 * taken just before it. A dependency on an app that is gone is left out; an owner whose apps
 * make a cycle (no apply accepts one) keeps id order, said in pmond.log.
 */
export function bootOrder(rows: readonly ProcessRow[], apps: readonly AppRow[], warn: (m: string) => void): ProcessRow[] {
  const depsOf = new Map<number, number[]>(); // app id -> the app ids it depends on, in start order
  for (const uid of new Set(apps.map((a) => a.uid))) {
    const mine = new Map(apps.filter((a) => a.uid === uid).map((a) => [a.name, a]));
    const nodes = [...mine.values()].map((a) => ({ id: a.id, name: a.name, dependencies: stringList(a.dependencies).filter((d) => mine.has(d)) }));
    if (!nodes.some((n) => n.dependencies.length)) continue;
    let order: string[];
    try {
      order = startOrder(nodes);
    } catch (e) {
      warn(`apps of uid ${uid}: ${(e as Error).message}; started in id order`);
      continue;
    }
    const pos = new Map(order.map((n, i) => [n, i]));
    for (const n of nodes) {
      if (n.dependencies.length) depsOf.set(n.id, n.dependencies.sort((x, y) => pos.get(x)! - pos.get(y)!).map((d) => mine.get(d)!.id));
    }
  }
  const rowsOf = new Map<number, ProcessRow[]>();
  for (const r of rows) rowsOf.set(r.app_id, [...(rowsOf.get(r.app_id) ?? []), r]);
  const out: ProcessRow[] = [];
  const taken = new Set<number>();
  const visited = new Set<number>();
  const take = (r: ProcessRow): void => {
    if (!taken.has(r.id)) {
      taken.add(r.id);
      out.push(r);
    }
  };
  // Every row of app id and, first, of everything it depends on.
  const takeApp = (id: number): void => {
    if (visited.has(id)) return;
    visited.add(id);
    for (const d of depsOf.get(id) ?? []) takeApp(d);
    for (const r of rowsOf.get(id) ?? []) take(r);
  };
  for (const r of rows) {
    for (const d of depsOf.get(r.app_id) ?? []) takeApp(d);
    take(r);
  }
  return out;
}
