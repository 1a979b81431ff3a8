/**
 * The rotated log flood (`flood-rotate`): the flood workload's program (fixtures/flood.js,
 * floodBytes of 100-byte lines on SIGUSR1) with its log rotated every 10 MiB, 30 kept.
 * pmon3: an apps file entry with `rotate: {size: 10M, keep: 30}` and `apply -f`, so pmond runs
 * one pmon3-log for the instance (logger mode); supervisord: `stdout_logfile_maxbytes=10MB`,
 * `stdout_logfile_backups=30` (supervisord reads the pipe and writes the files itself). PM2 would
 * need its pm2-logrotate module, which the bench does not install. Timed from the signal until
 * LOG + LOG.1 + LOG.2 + ... hold every byte; the floor is the flood row's `cmd > file`.
 * Also: peak RSS of the process writing the files (pmon3-log; supervisord itself) sampled every
 * 20 ms, the daemon's CPU over the window, the logger's CPU over it (both from schedstat, in ns).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, cpuSeconds, killReadyFile, killRef, readyPid, nowMs, ref, rssBytes, run, runOk, sleep, sleepSync, waitFor, type ProcRef } from './lib/proc';
import { missing } from './lib/stats';
import type { Manager, ProgramSpec } from './managers/manager';
import { daemons, FIXTURES, FLOOD_JS, FLOOR, type Ctx } from './workloads';


export const FLOOD_ROTATE_MIB = 10;
export const FLOOD_ROTATE_KEEP = 30;
export const frRow = {
  wall: 'flood-rotate.wall',
  /** The second floor: the same program through a pipe, `cmd | cat > file` (what a pipe reader costs at least). */
  pipeFloor: 'flood-rotate.wall.pipe',
  /** fixtures/channel-floor.c over a pipe: splice(2) into files cut every 10 MiB, nothing else (pmon3-log's mechanism, none of its work). */
  spliceFloor: 'flood-rotate.wall.splice',
  /** fixtures/channel-floor.c over a socketpair: splice into a private pipe, then into the files. */
  socketFloor: 'flood-rotate.wall.socket',
  cpu: 'flood-rotate.cpu',
  /** The daemon's CPU as % of the window, per run (the target's figure). */
  cpuPct: 'flood-rotate.cpu.pct',
  rss: 'flood-rotate.rss',
  loggerCpu: 'flood-rotate.logger.cpu',
  /**
   * Per run: 0 if LOG and LOG.N held exactly floodBytes/100 lines, each file ending at a line
   * boundary; 2 if the lines are all there but a file ends mid-line (rotated by bytes); 1 otherwise.
   */
  check: 'flood-rotate.check',
} as const;

/** The floors: `cmd > file`, `cmd | cat > file`, and channel-floor over a pipe and over a socketpair. */
type Floor = 'file' | 'cat' | 'splice' | 'socket';
const FLOOR_ROW: Record<Floor, string> = { file: frRow.wall, cat: frRow.pipeFloor, splice: frRow.spliceFloor, socket: frRow.socketFloor };
const FLOOR_NAME: Record<Floor, string> = { file: 'floor', cat: 'floor (pipe)', splice: 'floor (splice)', socket: 'floor (socket)' };

/** fixtures/channel-floor.c built into dir with cc -O2, or null (and why) when it cannot be. */
async function buildChannelFloor(dir: string): Promise<{ bin: string } | { why: string }> {
  const bin = path.join(dir, 'channel-floor');
  const r = await run({ file: 'cc', args: ['-O2', '-o', bin, path.join(FIXTURES, 'channel-floor.c')] }, 60_000).catch((e: Error) => ({ code: 127, stderr: e.message }));
  return r.code === 0 ? { bin } : { why: `not measured: cc could not build fixtures/channel-floor.c (${String(r.stderr).trim().split('\n')[0]?.slice(0, 120)})` };
}

/** LOG and its rotated files LOG.N (no compression): their names in dir. */
function logFiles(dir: string, base: string): string[] {
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.\\d+)?$`);
  return fs.readdirSync(dir).filter((f) => re.test(f));
}

function totalSize(dir: string, base: string): number {
  let sum = 0;
  for (const f of logFiles(dir, base)) {
    try {
      sum += fs.statSync(path.join(dir, f)).size;
    } catch {
      /* renamed meanwhile: the next poll sees it under its new name */
    }
  }
  return sum;
}

/** Lines in LOG and LOG.N, and whether every file ends at a line boundary (read after the timing). */
function countLines(dir: string, base: string): { lines: number; files: number; whole: boolean } {
  let lines = 0;
  let whole = true;
  const files = logFiles(dir, base);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const f of files) {
    const fd = fs.openSync(path.join(dir, f), 'r');
    try {
      let last = 10;
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
        last = buf[n - 1]!;
      }
      if (last !== 10) whole = false;
    } finally {
      fs.closeSync(fd);
    }
  }
  return { lines, files: files.length, whole };
}

/**
 * On-CPU seconds of every thread of pid (the first field of /proc/PID/task/TID/schedstat, in ns),
 * or null if gone. utime+stime counts 10 ms ticks, too coarse for 2 % of a window of 0.2 s; a
 * thread that exits within the window takes its time with it (pmond's threads do not).
 */
export function cpuNsSeconds(pid: number): number | null {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const t of tasks) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* exited meanwhile */
    }
  }
  return ns / 1e9;
}

/** VmHWM (peak RSS over the process's life) in bytes, or null. */
function hwmBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function ppid(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 64; i++) {
    if (p === ancestor) return true;
    p = ppid(p);
  }
  return false;
}

/** pid of the pmon3-log of row id under pmond: PMON3_LOGGER=out and PMON3_PROCESS_ID=id in its environ. */
export function findLogger(rowId: number, pmond: number): number | undefined {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let env: string[];
    try {
      env = fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (env.includes('PMON3_LOGGER=out') && env.includes(`PMON3_PROCESS_ID=${rowId}`) && descendsFrom(Number(d), pmond)) return Number(d);
  }
  return undefined;
}

interface Started {
  /** The log's directory and file name. */
  dir: string;
  base: string;
  /** The process that writes the files: pmon3-log, or supervisord itself. */
  writer?: number;
  /** pmon3-log (reported apart from the daemon). */
  logger?: number;
}

/** Start the flood program under m with rotation; where its log goes and who writes it. */
async function startRotated(ctx: Ctx, m: Manager, spec: ProgramSpec): Promise<Started> {
  if (m.name === 'pmon3') {
    const fa = m.fileApps!;
    await fa.writeApps([spec], true);
    await runOk(fa.startCmd(), 60_000);
    await waitFor(`pmon3 ${spec.name} running`, async () => (await m.pids()).has(spec.name), 30_000, 50);
    const listCmd = m.listCmd(true)!;
    const desc = await runOk({ ...listCmd, args: ['desc', spec.name, '--json'] });
    const row = JSON.parse(desc.stdout) as { id: number; log: string };
    const logger = await waitFor(`pmon3-log of row ${row.id}`, () => findLogger(row.id, m.daemonPid()), 10_000, 20);
    ctx.log(`  pmon3 flood-rotate: row ${row.id}, log ${row.log}, pmon3-log pid ${logger}`);
    return { dir: path.dirname(row.log), base: path.basename(row.log), writer: logger, logger };
  }
  await m.startMany([spec]);
  return { dir: path.dirname(spec.log!), base: path.basename(spec.log!), writer: m.daemonPid() };
}

/**
 * Each run, in a rotating order: pmon3 (logger mode), supervisord (its own rotation) and the
 * floors (`cmd > file`, `cmd | cat > file`, channel-floor over a pipe and over a socketpair);
 * PM2 is noted as not measured. Median over floodRotateReps runs.
 */
export async function floodRotate(ctx: Ctx): Promise<void> {
  const bytes = ctx.knobs.floodBytes;
  const reps = ctx.knobs.floodRotateReps;
  const dir = path.join(ctx.dir, 'flood-rotate');
  fs.mkdirSync(dir, { recursive: true });
  const pm2Note = missing('not measured: needs the pm2-logrotate module (not installed)');
  for (const row of [frRow.wall, frRow.rss, frRow.cpu, frRow.loggerCpu]) ctx.results.set(row, 'PM2', pm2Note);
  const channel = await buildChannelFloor(dir);
  const floors: Floor[] = 'bin' in channel ? ['file', 'cat', 'splice', 'socket'] : ['file', 'cat'];
  if (!('bin' in channel)) for (const row of [frRow.spliceFloor, frRow.socketFloor]) ctx.results.set(row, FLOOR, missing(channel.why));
  const columns: Array<Manager | Floor> = [...daemons(ctx).filter((m) => m.name === 'pmon3' || m.name === 'supervisord'), ...floors];
  for (let rep = 0; rep < reps; rep++) {
    for (const c of [...columns.slice(rep % columns.length), ...columns.slice(0, rep % columns.length)]) {
      await run({ file: 'sync', args: [] });
      const floor = typeof c === 'string' ? c : undefined;
      const m = typeof c === 'string' ? undefined : c;
      const sideFloor = floor !== undefined && floor !== 'file'; // a floor row of its own: not judged, no line check
      const column = m?.name ?? FLOOR;
      const wallRow = floor ? FLOOR_ROW[floor] : frRow.wall;
      const shown = floor ? FLOOR_NAME[floor] : column;
      const tag = `${floor ?? column.replace(/\W/g, '')}-${rep}`;
      const logDir = path.join(dir, tag);
      fs.mkdirSync(logDir, { recursive: true });
      const log = path.join(logDir, 'flood.log');
      const ready = path.join(dir, `${tag}.ready`);
      let floorRef: ProcRef | null = null;
      let loggerRef: ProcRef | null = null;
      try {
        let where: Started;
        if (m) {
          const spec: ProgramSpec = {
            name: `flood-rotate-${rep}`,
            file: FLOOD_JS,
            args: [ready, String(bytes)],
            node: true,
            log,
            rotate: { mib: FLOOD_ROTATE_MIB, keep: FLOOD_ROTATE_KEEP },
          };
          where = await startRotated(ctx, m, spec);
          if (where.logger) loggerRef = ref(where.logger);
        } else {
          // `cmd > file`, or `cmd | cat > file` (bash waits for both; killing the program ends cat at EOF),
          // or channel-floor (it ends at EOF too).
          const argv = [process.execPath, FLOOD_JS, ready, String(bytes)];
          const b =
            floor === 'splice' || floor === 'socket'
              ? spawn((channel as { bin: string }).bin, [floor === 'splice' ? 'pipe' : 'socket', log, String(FLOOD_ROTATE_MIB), ...argv], { stdio: 'ignore' })
              : spawn('bash', ['-c', floor === 'cat' ? 'out=$1; shift; "$@" | cat > "$out"' : 'out=$1; shift; exec "$@" > "$out"', 'bash', log, ...argv], { stdio: 'ignore' });
          floorRef = b.pid ? ref(b.pid) : null;
          where = { dir: logDir, base: 'flood.log' };
        }
        const pid = await waitFor(`${column} flood-rotate child to be ready`, () => readyPid(ready), 30_000, 5);
        const dpid = m?.daemonPid();
        const cpu0 = dpid ? cpuNsSeconds(dpid) : null;
        const lcpu0 = where.logger ? cpuNsSeconds(where.logger) : null;
        const tick0 = dpid ? cpuSeconds(dpid) : null;
        let peak = where.writer ? (rssBytes(where.writer) ?? 0) : 0;
        const t0 = nowMs();
        process.kill(pid, 'SIGUSR1');
        // Poll the files every ms, the writer's VmRSS every 20 ms.
        const deadline = t0 + (column === 'supervisord' ? 300_000 : 120_000);
        let nextRss = t0 + 20;
        let ok = false;
        for (;;) {
          if (totalSize(where.dir, where.base) >= bytes) {
            ok = true;
            break;
          }
          const now = nowMs();
          if (now > deadline) break;
          if (where.writer && now >= nextRss) {
            peak = Math.max(peak, rssBytes(where.writer) ?? 0);
            nextRss = now + 20;
          }
          sleepSync(1);
        }
        const wall = (nowMs() - t0) / 1000;
        const cpu1 = dpid ? cpuNsSeconds(dpid) : null;
        const lcpu1 = where.logger ? cpuNsSeconds(where.logger) : null;
        const tick1 = dpid ? cpuSeconds(dpid) : null;
        if (where.writer) peak = Math.max(peak, rssBytes(where.writer) ?? 0);
        const hwm = where.logger ? hwmBytes(where.logger) : null;
        if (!ok) {
          ctx.results.set(wallRow, column, missing(`logs incomplete after ${((deadline - t0) / 1000).toFixed(0)} s`));
          ctx.log(`  ${shown} flood-rotate ${rep + 1}/${reps}: incomplete, ${totalSize(where.dir, where.base)} of ${bytes} bytes`);
          continue;
        }
        const lines = countLines(where.dir, where.base);
        const want = bytes / 100;
        ctx.results.add(wallRow, column, wall);
        if (cpu0 !== null && cpu1 !== null) {
          ctx.results.add(frRow.cpu, column, cpu1 - cpu0);
          ctx.results.add(frRow.cpuPct, column, (100 * (cpu1 - cpu0)) / wall);
        }
        if (where.writer) ctx.results.add(frRow.rss, column, peak / 1048576);
        if (lcpu0 !== null && lcpu1 !== null) ctx.results.add(frRow.loggerCpu, column, lcpu1 - lcpu0);
        if (!sideFloor) ctx.results.add(frRow.check, column, lines.lines !== want ? 1 : lines.whole ? 0 : 2);
        if (m && !where.logger) ctx.results.set(frRow.loggerCpu, column, missing(`no logger: ${column} writes the files itself (its CPU is the daemon row)`));
        ctx.log(
          `  ${shown} flood-rotate ${rep + 1}/${reps}: ${wall.toFixed(3)} s, ${lines.files} files, ${lines.lines}/${want} lines${lines.whole ? '' : ' (a file ends mid-line)'}` +
            (cpu0 !== null && cpu1 !== null ? `, daemon CPU ${(cpu1 - cpu0).toFixed(4)} s (utime+stime ${tick0 !== null && tick1 !== null ? (tick1 - tick0).toFixed(2) : '?'} s)` : '') +
            (lcpu0 !== null && lcpu1 !== null ? `, logger CPU ${(lcpu1 - lcpu0).toFixed(4)} s` : '') +
            (where.writer ? `, writer peak RSS ${(peak / 1048576).toFixed(2)} MiB` : '') +
            (hwm !== null ? ` (VmHWM ${(hwm / 1048576).toFixed(2)} MiB)` : ''),
        );
      } catch (e) {
        ctx.log(`  ${column} flood-rotate: failed: ${(e as Error).message}`);
        ctx.results.set(wallRow, column, missing('failed'));
      } finally {
        if (m) await m.clear();
        if (floorRef) killRef(floorRef);
        killReadyFile(ready);
        // The logger ends at EOF once its instance is gone for good; never leave one behind.
        if (loggerRef) {
          const deadline = nowMs() + 10_000;
          while (alive(loggerRef.pid) && nowMs() < deadline) await sleep(50);
          if (alive(loggerRef.pid)) {
            ctx.log(`  pmon3-log ${loggerRef.pid} still there 10 s after its app was dropped: killed`);
            killRef(loggerRef);
          }
        }
        fs.rmSync(logDir, { recursive: true, force: true });
        fs.rmSync(ready, { force: true });
      }
    }
  }
}
