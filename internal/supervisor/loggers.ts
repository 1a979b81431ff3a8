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
  return def?.task?.log_rotate !== undefined || def?.task?.log_timestamps === true || def?.task?.error_log !== undefined;
}

/** A logger's stream: stdout (with stderr, unless the app has error_log), or stderr alone. */
type Stream = 'out' | 'err';

interface Run {
  w: Watched;
  /** Stop respawning: the instance's pipe was released. */
  done?: boolean;
}

/** The exec server's key of process id's pipe of stream. */
const keyOf = (id: number, stream: Stream): string => (stream === 'out' ? `l${id}` : `l${id}e`);

export class Loggers {
  /** By keyOf. */
  private readonly runs = new Map<string, Run>();
  /** Rows writing into another row's pipes (share). */
  private readonly alias = new Map<number, number>();
  /** Rows whose pipes are still their own and in use (target was asked for them). */
  private readonly own = new Set<number>();
  /** Loggers of a key that ended in a row soon after they started (the respawn backs off). */
  private readonly quickOf = new Map<string, number>();

  constructor(
    private readonly c: Core,
    private readonly pipes: LogPipeSource | undefined,
    private readonly bin: string,
  ) {}

  /** Where row's new process writes: its pipe (and its stderr's), with their loggers running. */
  async target(row: ProcessRow, def: AppDefinition | undefined): Promise<LogTarget> {
    if (!this.pipes) throw failedPrecondition(`${row.name}: rotate:, timestamps: and error_log: need the exec server (Linux 5.3 or later); this pmond starts processes with the one-shot helper`);
    const streams: Stream[] = def?.task?.error_log !== undefined ? ['out', 'err'] : ['out'];
    if (!this.alias.has(row.id)) this.own.add(row.id);
    for (const st of streams) {
      const key = await this.pipes.keyFor(keyOf(this.pipeOf(row.id), st));
      const run = this.runs.get(key);
      if (!run || run.done) await this.start(row, def, st, key);
    }
    return { kind: 'pipe', path: streams.map((st) => keyOf(this.pipeOf(row.id), st)).join(',') };
  }

  /** pmond found row's program and a logger of it alive (boot): watched again, its pipe taken back. */
  async adopt(row: ProcessRow, program: Watched, logger: Marked): Promise<void> {
    if (!this.pipes || !logger.logger) return;
    const st = logger.logger;
    const key = keyOf(row.id, st);
    const w = this.poll(logger.pid, logger.startTime);
    this.runs.set(key, { w });
    this.watch(row, st, key, w);
    await this.pipes.keyFor(key, { logger: logger.pid, program: program.pid, fd: st === 'out' ? 1 : 2 });
    this.c.logger.info(`${row.name}: re-adopted its ${st === 'out' ? '' : 'stderr '}logger pid ${logger.pid}`);
  }

  /**
   * A reload's new instance (rolling.ts) writes into the pipes of the instance it replaces, so
   * one logger goes on writing the one log: two would rotate the same files at once.
   */
  share(newId: number, oldId: number): void {
    this.alias.set(newId, this.pipeOf(oldId));
  }

  /** The row whose pipes row id writes into (its own, or the one it replaced). */
  private pipeOf(id: number): number {
    return this.alias.get(id) ?? id;
  }

  /** row's process is gone for good (stopped, failed, deleted): its loggers end once they have written everything. */
  async release(id: number): Promise<void> {
    const owner = this.pipeOf(id);
    this.alias.delete(id);
    if (owner === id) this.own.delete(id);
    // Pipes another row still writes into (a reload's new instance, or the one it replaces) stay.
    if (this.own.has(owner) || [...this.alias.values()].includes(owner)) return;
    for (const st of ['out', 'err'] as const) {
      const key = keyOf(owner, st);
      const run = this.runs.get(key);
      if (run) run.done = true;
      this.runs.delete(key);
      this.quickOf.delete(key);
      await this.pipes?.release(key);
    }
  }

  /** SIGHUP to row's loggers: they rotate at the next line boundary. false if it has none. */
  rotate(id: number): boolean {
    let any = false;
    for (const st of ['out', 'err'] as const) {
      const run = this.runs.get(keyOf(this.pipeOf(id), st));
      if (!run || run.done) continue;
      // An adopted logger is polled, not reaped: its pid is signalled only while it is still that process.
      if (run.w.startTime > 0 && !this.c.os.isSameProcess(run.w.pid, run.w.startTime)) continue;
      try {
        process.kill(run.w.pid, 'SIGHUP');
        any = true;
      } catch {
        /* gone: restarted soon */
      }
    }
    return any;
  }

  /** The uid a row's logger of stream runs as: pmond's for a log in its logs_dir, else the instance's. */
  expectedUid(row: ProcessRow, stream: Stream = 'out'): number {
    return logTarget(this.c.config.logs_dir, this.fileOf(row, stream)).kind === 'daemon' ? this.c.daemonUid : row.uid;
  }

  private fileOf(row: ProcessRow, stream: Stream, def?: AppDefinition): string {
    if (stream === 'out') return row.log;
    return def?.task?.error_log ?? `${row.log}.err`;
  }

  private async start(row: ProcessRow, def: AppDefinition | undefined, stream: Stream, key: string): Promise<void> {
    const file = this.fileOf(row, stream, def);
    const own = logTarget(this.c.config.logs_dir, file).kind === 'daemon';
    const r = def?.task?.log_rotate;
    const args = [
      '--dir',
      path.dirname(file),
      '--name',
      path.basename(file),
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
    if (own) ensureLogDir(file);
    const user = own ? undefined : await this.c.users.user(row.uid);
    const w = await this.c.spawner.spawn({
      file: this.bin,
      args,
      // Markers: the next pmond finds it by them (PMON3_LOGGER tells it from the program).
      env: { PATH: '/usr/bin:/bin', PMON3_PROCESS_ID: String(row.id), PMON3_PROCESS_NAME: row.name, PMON3_DAEMON_ID: this.c.daemonId, PMON3_LOGGER: stream },
      cwd: '/',
      uid: own ? this.c.daemonUid : row.uid,
      gid: own ? (process.getgid?.() ?? 0) : row.gid,
      groups: own ? [] : [...new Set([row.gid, ...(user?.groups ?? [])])],
      log: { kind: 'pipein', path: key },
      cgroup: null,
    });
    this.runs.set(key, { w });
    this.watch(row, stream, key, w);
  }

  /** When w ends while its pipe is still held: started again (nothing in the pipe is lost). */
  private watch(row: ProcessRow, stream: Stream, key: string, w: Watched): void {
    const born = this.c.clock.now();
    void w.exited.then(async (info) => {
      const run = this.runs.get(key);
      if (!run || run.w !== w || run.done) return;
      this.runs.delete(key);
      // One that cannot run (exit 2: its command line; its one line is on pmond's stderr) is not
      // started twice a second forever: 0.5 s, doubling to 30 s while they end within 5 s.
      const quick = this.c.clock.now() - born < 5000 ? (this.quickOf.get(key) ?? 0) + 1 : 0;
      const delay = Math.min(MAX_RESPAWN_MS, RESPAWN_MS * 2 ** Math.max(0, quick - 1));
      this.quickOf.set(key, quick);
      this.c.logger.warn(`${row.name}: its ${stream === 'out' ? '' : 'stderr '}logger pid ${w.pid} ended (code ${info.code}, signal ${info.signal}); starting another on the same pipe in ${delay} ms`);
      await new Promise<void>((res) => this.c.clock.setTimeout(res, delay));
      // The row it logs for, or the reload's new instance that took over its pipe.
      const heir = [...this.alias.entries()].find(([, o]) => o === this.pipeOf(row.id))?.[0];
      const cur = (await this.c.units.get(row.id)) ?? (heir !== undefined ? await this.c.units.get(heir) : undefined);
      if (!cur || this.runs.has(key) || cur.desired !== 'running' || !this.pipes) return;
      const def = await this.c.units.definitionOf(cur);
      if (!wantsLogger(def) || (stream === 'err' && def?.task?.error_log === undefined)) return;
      const k = await this.pipes.keyFor(key).catch(() => undefined);
      if (k) await this.start(cur, def, stream, k).catch((e: Error) => this.c.logger.error(`${row.name}: its logger could not be started again: ${e.message}`));
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
