/**
 * Logger mode: an instance whose app asks for rotation or timestamps writes into a pipe, and
 * one pmon3-log per instance (internal/native/log.c) writes the files: rotation at line
 * boundaries, retention, compression, a cap on the total, timestamps. The plain mode (the
 * instance's fds 1 and 2 are the file) stays the default.
 *
 * Who holds what (internal/process/log-pipes.ts): the exec server holds both ends of the pipe
 * while pmond runs; the instance has the write end as fds 1 and 2, the logger the read end as
 * fd 0. A logger that dies is started again on the same pipe (nothing in it is lost; the
 * instance blocks only once 1 MiB is waiting); an instance restarted writes into the same pipe
 * and the same logger; pmond killed with SIGKILL leaves instance and logger connected, and the
 * next pmond takes both ends back. A logger ends only at EOF, after its instance (and whatever
 * of it holds the write end) is gone and the pipe released: every line is written.
 *
 * The logger of a log in pmond's logs_dir runs as pmond's user (only it may create files
 * there) and gives the files to the instance's user (--owner); any other log's runs as the
 * instance's user. It is in a process group and no cgroup of its own: stopping or killing the
 * instance's group and cgroup does not reach it.
 */
import * as path from 'node:path';
import type { AppDefinition } from '../apps/model';
import type { LogPipeSource } from '../process/log-pipes';
import { failedPrecondition } from '../protocol/errors';
import type { Marked } from '../process/procfs';
import { ensureLogDir, type LogTarget, type Watched } from '../process/spawner';
import type { ProcessRow } from '../store/schema';
import type { Core } from './deps';
import { logTarget } from './logs';

/** A logger that died is started again after this long (at most once per this). */
const RESPAWN_MS = 500;
const MAX_RESPAWN_MS = 30_000;

/** Whether instances of def write through a logger. */
export function wantsLogger(def: AppDefinition | undefined): boolean {
  return def?.task?.log_rotate !== undefined || def?.task?.log_timestamps === true;
}

interface Run {
  w: Watched;
  /** Loggers of this process that ended in a row soon after they started (the respawn backs off). */
  quick?: number;
  /** Stop respawning: the instance's pipe was released. */
  done?: boolean;
}

export class Loggers {
  private readonly runs = new Map<number, Run>();
  private readonly quickOf = new Map<number, number>();

  constructor(
    private readonly c: Core,
    private readonly pipes: LogPipeSource | undefined,
    private readonly bin: string,
  ) {}

  /** Where row's new process writes: its pipe, with its logger running. */
  async target(row: ProcessRow, def: AppDefinition | undefined): Promise<LogTarget> {
    if (!this.pipes) throw failedPrecondition(`${row.name}: rotate: and timestamps: need the exec server (Linux 5.3 or later); this pmond starts processes with the one-shot helper`);
    const key = await this.pipes.keyFor(row.id);
    const run = this.runs.get(row.id);
    if (!run || run.done) await this.start(row, def, key);
    return { kind: 'pipe', path: key };
  }

  /** pmond found row's program and logger alive (boot): the logger is watched again and the pipe taken back. */
  async adopt(row: ProcessRow, program: Watched, logger: Marked): Promise<void> {
    if (!this.pipes) return;
    const w = this.poll(logger.pid, logger.startTime);
    this.runs.set(row.id, { w });
    this.watch(row, w);
    await this.pipes.keyFor(row.id, { logger: logger.pid, program: program.pid });
    this.c.logger.info(`${row.name}: re-adopted its logger pid ${logger.pid}`);
  }

  /** row's process is gone for good (stopped, failed, deleted): its logger ends once it has written everything. */
  async release(id: number): Promise<void> {
    const run = this.runs.get(id);
    if (run) run.done = true;
    this.runs.delete(id);
    this.quickOf.delete(id);
    await this.pipes?.release(id);
  }

  /** SIGHUP to row's logger: it rotates at the next line boundary. false if it has none. */
  rotate(id: number): boolean {
    const run = this.runs.get(id);
    if (!run || run.done) return false;
    try {
      process.kill(run.w.pid, 'SIGHUP');
      return true;
    } catch {
      return false;
    }
  }

  /** The pid of row's logger, if one runs. */
  pidOf(id: number): number | undefined {
    return this.runs.get(id)?.w.pid;
  }

  /** The uid a row's logger runs as: pmond's for a log in its logs_dir, else the instance's. */
  expectedUid(row: ProcessRow): number {
    return logTarget(this.c.config.logs_dir, row.log).kind === 'daemon' ? this.c.daemonUid : row.uid;
  }

  private async start(row: ProcessRow, def: AppDefinition | undefined, key: string): Promise<void> {
    const own = logTarget(this.c.config.logs_dir, row.log).kind === 'daemon';
    const r = def?.task?.log_rotate;
    const args = [
      '--dir',
      path.dirname(row.log),
      '--name',
      path.basename(row.log),
      ...(r?.size_bytes !== undefined ? ['--size', String(r.size_bytes)] : []),
      ...(r?.keep !== undefined ? ['--keep', String(r.keep)] : []),
      ...(r?.every_s !== undefined ? ['--every', String(r.every_s)] : []),
      ...(r?.compress ? ['--compress'] : []),
      ...(r?.max_total_bytes !== undefined ? ['--max-total', String(r.max_total_bytes)] : []),
      ...(def?.task?.log_timestamps ? ['--timestamps'] : []),
      ...(own && row.uid !== this.c.daemonUid ? ['--owner', `${row.uid}:${row.gid}`] : []),
    ];
    // pmond's logs_dir/<user> is pmond's to make (as the helper does for a direct log); a log
    // elsewhere has its missing parents made by the logger, as the user.
    if (own) ensureLogDir(row.log);
    const user = own ? undefined : await this.c.users.user(row.uid);
    const w = await this.c.spawner.spawn({
      file: this.bin,
      args,
      // Markers: the next pmond finds it by them (PMON3_LOGGER tells it from the program).
      env: { PATH: '/usr/bin:/bin', PMON3_PROCESS_ID: String(row.id), PMON3_PROCESS_NAME: row.name, PMON3_DAEMON_ID: this.c.daemonId, PMON3_LOGGER: '1' },
      cwd: '/',
      uid: own ? this.c.daemonUid : row.uid,
      gid: own ? (process.getgid?.() ?? 0) : row.gid,
      groups: own ? [] : [...new Set([row.gid, ...(user?.groups ?? [])])],
      log: { kind: 'pipein', path: key },
      cgroup: null,
    });
    const run: Run = { w, quick: this.quickOf.get(row.id) ?? 0 };
    this.runs.set(row.id, run);
    this.watch(row, w);
  }

  /** When w ends while its pipe is still held: started again (nothing in the pipe is lost). */
  private watch(row: ProcessRow, w: Watched): void {
    const born = this.c.clock.now();
    void w.exited.then(async (info) => {
      const run = this.runs.get(row.id);
      if (!run || run.w !== w || run.done) return;
      this.runs.delete(row.id);
      // One that cannot run (exit 2: its command line; its one line is on pmond's stderr) is not
      // started twice a second forever: 0.5 s, doubling to 30 s while they end within 5 s.
      const quick = this.c.clock.now() - born < 5000 ? (run.quick ?? 0) + 1 : 0;
      const delay = Math.min(MAX_RESPAWN_MS, RESPAWN_MS * 2 ** Math.max(0, quick - 1));
      this.c.logger.warn(`${row.name}: its logger pid ${w.pid} ended (code ${info.code}, signal ${info.signal}); starting another on the same pipe in ${delay} ms`);
      this.quickOf.set(row.id, quick);
      await new Promise<void>((r) => this.c.clock.setTimeout(r, delay));
      const cur = await this.c.units.get(row.id);
      if (!cur || this.runs.has(row.id) || cur.desired !== 'running') return;
      const def = await this.c.units.definitionOf(cur);
      if (!wantsLogger(def)) return;
      await this.target(cur, def).catch((e: Error) => this.c.logger.error(`${row.name}: its logger could not be started again: ${e.message}`));
    });
  }

  /** An adopted logger (not our child): its end seen by polling its pid and start time. */
  private poll(pid: number, startTime: number): Watched {
    const { os } = this.c;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const tick = (): void => {
        if (!os.isSameProcess(pid, startTime)) resolve({ code: null, signal: null });
        else os.after(250, tick, true);
      };
      os.after(250, tick, true);
    });
    return { pid, startTime, cgroup: null, exited };
  }
}
