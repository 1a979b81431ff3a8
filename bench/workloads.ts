/**
 * The workloads, each a function over the managers. They record figures in
 * Results by row id and column; report.ts turns them into the table.
 * Managers are always measured in the same run, interleaved where the
 * workload allows, because the machine is shared and noisy.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { figure, missing, type Figure } from './lib/stats';
import {
  alive,
  children,
  cmdline,
  cpuSeconds,
  killReadyFile,
  readyPid,
  killRef,
  nowMs,
  ref,
  rssBytes,
  run,
  sleep,
  sleepSync,
  waitFor,
  type Cmd,
  type ProcRef,
} from './lib/proc';
import { COMMANDS, type Command, type Manager, type ProgramSpec } from './managers/manager';
import { ROOT } from './managers/pmon3';

export const SLEEP = '/usr/bin/sleep';
export const FIXTURES = path.join(ROOT, 'bench', 'fixtures');
export const IDLE_JS = path.join(FIXTURES, 'idle.js');
export const FLOOD_JS = path.join(FIXTURES, 'flood.js');
export const LINES_SH = path.join(FIXTURES, 'lines.sh');
export const CRON_SH = path.join(FIXTURES, 'cron-run.sh');
/** The column of measurements that involve no manager. */
export const FLOOR = 'floor';

/** How big and how long; BENCH_QUICK shrinks every knob. */
export interface Knobs {
  quick: boolean;
  /** Repeats of each CLI call. */
  cliReps: number;
  /** The "100 processes" of the CLI and footprint workloads. */
  n: number;
  /** Runs of the sequential-start workload, and its size. */
  startReps: number;
  startN: number;
  /** Kills per restart series. */
  restartKills: number;
  /** Rounds of the commands workload, and how many processes are managed meanwhile. */
  cmdReps: number;
  cmdN: number;
  /** The "1000 processes" of the footprint and scale workloads. */
  bigN: number;
  /** CPU measurement window, seconds. */
  cpuWindowS: number;
  /** How long the cron workload collects the runs of its 1000 apps firing once a minute, seconds. */
  cronWindowS: number;
  /** Log flood size in bytes, and runs. */
  floodBytes: number;
  floodReps: number;
  /** Runs of the rotated flood (flood-rotate) per column. */
  floodRotateReps: number;
  /** Samples of RSS, and the pause before the first. */
  rssSamples: number;
  rssGapMs: number;
  settleMs: number;
}

/** Every figure of the run: row id → column → figure. */
export class Results {
  readonly rows = new Map<string, Map<string, Figure>>();

  set(row: string, column: string, f: Figure): void {
    let r = this.rows.get(row);
    if (!r) this.rows.set(row, (r = new Map()));
    r.set(column, f);
  }

  add(row: string, column: string, sample: number): void {
    const f = this.rows.get(row)?.get(column);
    if (f) f.samples.push(sample);
    else this.set(row, column, figure([sample]));
  }

  get(row: string, column: string): Figure | undefined {
    return this.rows.get(row)?.get(column);
  }
}

/** Everything a workload needs. */
export interface Ctx {
  knobs: Knobs;
  /** Every column, including CLI-only variants (pmon3 from dist/). */
  managers: Manager[];
  results: Results;
  /** Scratch directory for logs and fixture files. */
  dir: string;
  log(msg: string): void;
  /** A manager a workload started itself (not a column of its own): shut down with the others at the end, also on Ctrl-C. */
  own(m: Manager): void;
}

/** Managers that own a daemon (daemon workloads skip CLI-only variants). */
export function daemons(ctx: Ctx): Manager[] {
  return ctx.managers.filter((m) => !m.cliVariantOf);
}

function sleepSpec(name: string): ProgramSpec {
  return { name, file: SLEEP, args: ['3600'] };
}

/**
 * Run cmd, record its wall time in seconds and return it (undefined if it failed). A failure
 * is noted instead of a number, for the whole run: a cell that failed once records no more times.
 * By default supervisorctl's exit 3 (status while some program is not RUNNING) is not a failure.
 */
async function timeCmd(
  ctx: Ctx,
  row: string,
  column: string,
  cmd: Cmd,
  ok: (code: number | null) => boolean = (code) => code === 0 || (column === 'supervisord' && code === 3),
): Promise<number | undefined> {
  const r = await run(cmd);
  if (!ok(r.code)) {
    ctx.log(`  ${column} ${row}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}`);
    ctx.results.set(row, column, missing(`failed (exit ${r.code})`));
    return undefined;
  }
  if (!ctx.results.get(row, column)?.note?.startsWith('failed')) ctx.results.add(row, column, r.ms / 1000);
  return r.ms / 1000;
}

// ------------------------------------------------------------ 1 and 6: CLI round trips

/**
 * `ls` and `ls --json` (PM2: `ls`, `jlist`; supervisord: `status`, no JSON)
 * with the programs currently managed, round-robin over managers so noise
 * hits every column alike; `node -e 0` as the floor in the same rounds.
 */
export async function cliRoundTrips(ctx: Ctx, suffix: string, withFloor: boolean, reps = ctx.knobs.cliReps): Promise<void> {
  for (let i = 0; i < reps; i++) {
    if (withFloor) {
      // Per phase: a machine busier with 3 × N processes slows every CLI, the floor too.
      await timeCmd(ctx, `cli.floor.${suffix}`, FLOOR, { file: process.execPath, args: ['-e', '0'] });
      // node parses NODE_EXTRA_CA_CERTS at every start; bin/pmon3 unsets it, so show node without it too.
      if (process.env.NODE_EXTRA_CA_CERTS) {
        await timeCmd(ctx, `cli.floor.clean.${suffix}`, FLOOR, { file: process.execPath, args: ['-e', '0'], env: { NODE_EXTRA_CA_CERTS: undefined } });
      }
    }
    for (const m of ctx.managers) {
      for (const json of [false, true]) {
        const cmd = m.listCmd(json);
        if (cmd) await timeCmd(ctx, `cli.${json ? 'json' : 'ls'}.${suffix}`, m.name, cmd);
        else ctx.results.set(`cli.${json ? 'json' : 'ls'}.${suffix}`, m.name, missing('no JSON'));
      }
    }
  }
}

// ------------------------------------------------------------ 2: N sequential CLI starts

/** Start N `sleep` programs by N sequential CLI calls; time until all N have exec'd (seen in /proc). */
export async function sequentialStarts(ctx: Ctx): Promise<void> {
  const { startReps } = ctx.knobs;
  for (let rep = 0; rep < startReps; rep++) {
    for (const m of ctx.managers) {
      if (!m.cliStart) {
        ctx.results.set('start.cli', m.name, missing('no CLI start'));
        continue;
      }
      await guard(ctx, 'start.cli', m.name, () => startSeries(ctx, m, rep));
    }
  }
}

/** One run of N sequential CLI starts in one manager. */
async function startSeries(ctx: Ctx, m: Manager, rep: number): Promise<void> {
  const { startN: n, startReps } = ctx.knobs;
  const cliStart = m.cliStart!.bind(m);
  await m.clear();
  const dpid = m.daemonPid();
  const t0 = nowMs();
  try {
    for (let i = 0; i < n; i++) {
      const { prepare, cmd } = cliStart(sleepSpec(`w2-${rep}-${i}`));
      prepare?.();
      const r = await run(cmd);
      if (r.code !== 0) throw new Error(`start ${i + 1}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}`);
    }
    if (!pollUntil(() => countPrograms(dpid, SLEEP) >= n, 60_000)) throw new Error(`fewer than ${n} programs running after 60 s`);
    ctx.results.add('start.cli', m.name, (nowMs() - t0) / 1000);
    ctx.log(`  ${m.name}: ${n} CLI starts, run ${rep + 1}/${startReps}: ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await m.clear();
  }
}

/** Live children of the daemon that run file (exec'd, not zombies). */
export function countPrograms(dpid: number, file: string): number {
  let n = 0;
  for (const c of children(dpid)) if (cmdline(c)[0] === file && alive(c)) n++;
  return n;
}

/** Poll cond every millisecond (blocking: nothing else runs meanwhile) until true or ms pass. */
export function pollUntil(cond: () => boolean, ms: number): boolean {
  const deadline = nowMs() + ms;
  while (!cond()) {
    if (nowMs() > deadline) return false;
    sleepSync(1);
  }
  return true;
}

// ------------------------------------------------------------ 3: restart latency

/**
 * SIGKILL the managed child, then poll the daemon's children in /proc every
 * millisecond until a new one runs the program (its cmdline is the
 * program's, so it has exec'd). The child has run 0.7 s before each kill,
 * past every manager's "stable after 0.5 s".
 */
export async function restartLatency(ctx: Ctx, only?: Manager[], suffix = ''): Promise<void> {
  // `sleep 3601`: told apart from any other managed `sleep 3600` by its argument.
  const kinds: Array<{ row: string; spec: ProgramSpec; isIt: (argv: string[]) => boolean }> = [
    { row: `restart.sleep${suffix}`, spec: { name: 'rs-sleep', file: SLEEP, args: ['3601'] }, isIt: (a) => a[0] === SLEEP && a[1] === '3601' },
    {
      row: 'restart.node',
      spec: { name: 'rs-node', file: IDLE_JS, args: [], node: true },
      // PM2 execs node with its ProcessContainerFork.js, which then sets process.title to the script path.
      isIt: (a) => a.join(' ').includes(IDLE_JS) || a.some((w) => w.endsWith('/ProcessContainerFork.js')),
    },
  ];
  for (const m of only ?? daemons(ctx)) {
    for (const k of suffix ? kinds.slice(0, 1) : kinds) {
      await guard(ctx, k.row, m.name, () => restartSeries(ctx, m, k));
    }
  }
}

/** One manager, one kind of program: the kill-and-detect series. */
async function restartSeries(ctx: Ctx, m: Manager, k: { row: string; spec: ProgramSpec; isIt: (argv: string[]) => boolean }): Promise<void> {
  await m.startMany([k.spec]);
  const dpid = m.daemonPid();
  const current = (): number | undefined => children(dpid).find((c) => k.isIt(cmdline(c)));
  let pid = await waitFor(`${m.name} ${k.spec.name} to run`, current, 10_000);
  const seen: ProcRef[] = [];
  try {
    for (let i = 0; i < ctx.knobs.restartKills; i++) {
      await sleep(700);
      const before = new Set(children(dpid));
      const t0 = nowMs();
      process.kill(pid, 'SIGKILL');
      let next: number | undefined;
      const ok = pollUntil(() => {
        next = children(dpid).find((c) => !before.has(c) && k.isIt(cmdline(c)));
        return next !== undefined;
      }, 15_000);
      if (!ok || next === undefined) {
        ctx.log(`  ${m.name} ${k.row}: no restart within 15 s`);
        ctx.results.set(k.row, m.name, missing('no restart'));
        break;
      }
      ctx.results.add(k.row, m.name, nowMs() - t0);
      pid = next;
      const r = ref(pid);
      if (r) seen.push(r);
    }
  } finally {
    await m.remove(k.spec.name);
    for (const r of seen) killRef(r);
  }
  const f = ctx.results.get(k.row, m.name);
  ctx.log(`  ${m.name} ${k.row}: ${f?.samples.map((s) => s.toFixed(1)).join(' ') ?? f?.note}`);
}

/** Run one manager's part of a workload; a failure becomes a note in its cell, and the run goes on. */
export async function guard(ctx: Ctx, row: string, column: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    ctx.log(`  ${column} ${row}: failed: ${(e as Error).message}`);
    ctx.results.set(row, column, missing('failed'));
  }
}

// ------------------------------------------------------------ 4: footprint

/** RSS of each daemon in MiB: after a settle pause, a few samples. */
export async function rss(ctx: Ctx, row: string, only?: Manager[]): Promise<void> {
  const ms = only ?? daemons(ctx);
  await sleep(ctx.knobs.settleMs);
  for (let i = 0; i < ctx.knobs.rssSamples; i++) {
    for (const m of ms) {
      const b = rssBytes(m.daemonPid());
      if (b !== null) ctx.results.add(row, m.name, b / 1024 / 1024);
    }
    await sleep(ctx.knobs.rssGapMs);
  }
}

/** Daemon CPU seconds (utime+stime) over one window, every listed daemon in the same window. */
export async function cpuWindow(ctx: Ctx, row: string, only?: Manager[]): Promise<void> {
  const ms = only ?? daemons(ctx);
  await sleep(ctx.knobs.settleMs);
  const before = ms.map((m) => cpuSeconds(m.daemonPid()));
  await sleep(ctx.knobs.cpuWindowS * 1000);
  ms.forEach((m, i) => {
    const a = before[i];
    const b = cpuSeconds(m.daemonPid());
    if (a !== null && a !== undefined && b !== null) ctx.results.set(row, m.name, figure([b - a]));
    else ctx.results.set(row, m.name, missing('daemon gone'));
  });
}

// ------------------------------------------------------------ 5: log flood

/**
 * A child (bench/fixtures/flood.js) started by the manager writes
 * floodBytes of 100-byte lines to stdout when it gets SIGUSR1. Timed from
 * the signal until the log file holds every byte (stat every ms), with the
 * daemon's CPU over the same window. The floor: the same child started by
 * bash with stdout redirected to a file.
 */
export async function logFlood(ctx: Ctx): Promise<void> {
  const bytes = ctx.knobs.floodBytes;
  const dir = path.join(ctx.dir, 'flood');
  fs.mkdirSync(dir, { recursive: true });
  const columns: Array<Manager | undefined> = [...daemons(ctx), undefined];
  for (let rep = 0; rep < ctx.knobs.floodReps; rep++) {
    // Rotate who goes first, and start every run with no dirty pages left by the one before.
    for (const m of [...columns.slice(rep % columns.length), ...columns.slice(0, rep % columns.length)]) {
      await run({ file: 'sync', args: [] });
      const column = m?.name ?? FLOOR;
      const tag = `${column.replace(/\W/g, '')}-${rep}`;
      const log = path.join(dir, `${tag}.log`);
      const ready = path.join(dir, `${tag}.ready`);
      let floorRef: ProcRef | null = null;
      try {
        if (m) {
          await m.startMany([{ name: `flood-${rep}`, file: FLOOD_JS, args: [ready, String(bytes)], node: true, log }]);
        } else {
          // `cmd > file`: bash only redirects and execs; the command line is fixed, the paths are arguments.
          const b = spawn('bash', ['-c', 'out=$1; shift; exec "$@" > "$out"', 'bash', log, process.execPath, FLOOD_JS, ready, String(bytes)], {
            stdio: 'ignore',
          });
          floorRef = b.pid ? ref(b.pid) : null;
        }
        const pid = await waitFor(`${column} flood child to be ready`, () => readyPid(ready), 30_000, 5);
        const dpid = m?.daemonPid();
        const cpu0 = dpid ? cpuSeconds(dpid) : null;
        const t0 = nowMs();
        process.kill(pid, 'SIGUSR1');
        const ok = pollUntil(() => {
          try {
            return fs.statSync(log).size >= bytes;
          } catch {
            return false;
          }
        }, 120_000);
        const wall = (nowMs() - t0) / 1000;
        const cpu1 = dpid ? cpuSeconds(dpid) : null;
        if (!ok) {
          ctx.results.set('flood.wall', column, missing('log incomplete after 120 s'));
        } else {
          ctx.results.add('flood.wall', column, wall);
          if (cpu0 !== null && cpu1 !== null) ctx.results.add('flood.cpu', column, cpu1 - cpu0);
        }
        ctx.log(`  ${column} flood ${rep + 1}/${ctx.knobs.floodReps}: ${wall.toFixed(3)} s${cpu0 !== null && cpu1 !== null ? `, daemon CPU ${(cpu1 - cpu0).toFixed(2)} s` : ''}`);
      } catch (e) {
        ctx.log(`  ${column} flood: failed: ${(e as Error).message}`);
        ctx.results.set('flood.wall', column, missing('failed'));
      } finally {
        if (m) await m.clear();
        if (floorRef) killRef(floorRef);
        killReadyFile(ready);
        fs.rmSync(log, { force: true });
        fs.rmSync(ready, { force: true });
      }
    }
  }
}

// ------------------------------------------------------------ set-up helpers

/** Start n `sleep` programs in every daemon (bulk path, untimed). */
export async function populate(ctx: Ctx, n: number, only?: Manager[]): Promise<void> {
  for (const m of only ?? daemons(ctx)) {
    const t0 = nowMs();
    const specs = Array.from({ length: n }, (_, i) => sleepSpec(`p${n}-${i}`));
    await m.startMany(specs);
    ctx.log(`  ${m.name}: ${n} programs running (${((nowMs() - t0) / 1000).toFixed(1)} s)`);
  }
}

export async function clearAll(ctx: Ctx, only?: Manager[]): Promise<void> {
  for (const m of only ?? daemons(ctx)) {
    const t0 = nowMs();
    await m.clear();
    ctx.log(`  ${m.name}: cleared (${((nowMs() - t0) / 1000).toFixed(1)} s)`);
  }
}

// ------------------------------------------------------------ 7: the exec helper's cost

/**
 * What starting through pmon3-exec costs over a plain spawn: `sleep` started
 * N times each way, interleaved, from this process, timed until its
 * /proc/PID/cmdline is sleep's (it has exec'd). "pmon3" is HelperSpawner with
 * the exec server and reaper (exactly what pmond runs), the floor is
 * child_process.spawn of the same binary with the same options pmond used
 * before the helper (detached, log fd for stdout and stderr).
 */
export async function spawnCost(ctx: Ctx): Promise<void> {
  const { HelperSpawner } = await import('../internal/process/spawner');
  const { ExecServer } = await import('../internal/process/exec-server');
  const { NativeReaper } = await import('../internal/process/reaper');
  const { execHelperPath, loadNative } = await import('../internal/native');
  const native = loadNative(ROOT);
  const exec = new ExecServer(execHelperPath(ROOT));
  const helper = new HelperSpawner(execHelperPath(ROOT), (b) => native.memfd(b), { exec, reaper: new NativeReaper(native) });
  const log = path.join(ctx.dir, 'spawn-cost.log');
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const isSleep = (pid: number): boolean => cmdline(pid)[0] === SLEEP;
  const reps = ctx.knobs.quick ? 20 : 100;
  for (let i = 0; i < reps; i++) {
    {
      const t0 = nowMs();
      const fd = fs.openSync(log, 'a');
      const c = spawn(SLEEP, ['3600'], { detached: true, stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      pollUntil(() => isSleep(c.pid!), 5000);
      ctx.results.add('spawn.cost', FLOOR, nowMs() - t0);
      c.kill('SIGKILL');
      c.unref();
    }
    {
      const t0 = nowMs();
      const w = await helper.spawn({
        file: SLEEP,
        args: ['3600'],
        env: { PATH: '/usr/bin:/bin' },
        cwd: '/',
        uid,
        gid,
        groups: [gid],
        log: { kind: 'user', path: log },
        cgroup: null,
      });
      pollUntil(() => isSleep(w.pid), 5000);
      ctx.results.add('spawn.cost', 'pmon3', nowMs() - t0);
      process.kill(w.pid, 'SIGKILL');
    }
    await sleep(5);
  }
  exec.close();
  const f = ctx.results.get('spawn.cost', 'pmon3');
  const g = ctx.results.get('spawn.cost', FLOOR);
  ctx.log(`  spawn via pmon3-exec: ${f?.samples.map((s) => s.toFixed(2)).slice(0, 10).join(' ')} …; direct: ${g?.samples.map((s) => s.toFixed(2)).slice(0, 10).join(' ')} …`);
}

// ------------------------------------------------------------ 8: every CLI command

/** The commands workload's target: one of the cmdN programs, the one every command names. */
export const CMD_TARGET = 'cmd-t';

function targetSpec(): ProgramSpec {
  return { name: CMD_TARGET, file: '/bin/sh', args: [LINES_SH, '3600'] };
}

/** Row of one command; `cmd.ratio.*` rows hold the per-round ratios to pmon3's `ls`. */
export function cmdRow(c: Command | 'floor' | 'floor.clean'): string {
  return `cmd.${c}`;
}
export function cmdRatioRow(row: string): string {
  return `cmd.ratio.${row.slice('cmd.'.length)}`;
}

/**
 * Every pmon3 command (and each peer's equivalent, Manager.commandCmd) on one
 * of cmdN managed programs, cmdReps rounds. A round: `node -e 0` (the floor),
 * then every column in turn (the order rotates each round), each running the
 * commands in COMMANDS order: ls, desc, log, stop, start (of the stopped
 * program), restart, reset, del, version, help, --help, exec --help.
 * Untimed after each command: wait until it took effect (stopped, running, a
 * new pid, gone) and after del recreate the program, so every round starts
 * alike. A command that exits non-zero marks its cell failed (with the exit
 * status) for the whole run and is never timed. Each time is also divided by
 * pmon3's own `ls` of the same round (row cmd.ratio.*).
 */
export async function commandLatency(ctx: Ctx): Promise<void> {
  const { cmdReps, cmdN } = ctx.knobs;
  const ds = daemons(ctx);
  for (const m of ds) {
    const t0 = nowMs();
    await m.startMany([targetSpec(), ...Array.from({ length: cmdN - 1 }, (_, i) => sleepSpec(`c${cmdN}-${i}`))]);
    ctx.log(`  ${m.name}: ${cmdN} programs running (${((nowMs() - t0) / 1000).toFixed(1)} s)`);
  }
  try {
    const columns = ctx.managers;
    for (let rep = 0; rep < cmdReps; rep++) {
      /** column → row → seconds, this round. */
      const round = new Map<string, Map<string, number>>();
      const note = (column: string, row: string, s: number | undefined): void => {
        if (s === undefined) return;
        let m = round.get(column);
        if (!m) round.set(column, (m = new Map()));
        m.set(row, s);
      };
      note(FLOOR, cmdRow('floor'), await timeCmd(ctx, cmdRow('floor'), FLOOR, { file: process.execPath, args: ['-e', '0'] }));
      if (process.env.NODE_EXTRA_CA_CERTS) {
        const row = cmdRow('floor.clean');
        note(FLOOR, row, await timeCmd(ctx, row, FLOOR, { file: process.execPath, args: ['-e', '0'], env: { NODE_EXTRA_CA_CERTS: undefined } }));
      }
      for (const m of [...columns.slice(rep % columns.length), ...columns.slice(0, rep % columns.length)]) {
        try {
          await commandRound(ctx, m, (row, s) => note(m.name, row, s));
        } finally {
          await ensureTarget(ctx, m);
        }
      }
      const ls = round.get('pmon3')?.get(cmdRow('ls'));
      if (ls !== undefined) for (const [column, rows] of round) for (const [row, s] of rows) ctx.results.add(cmdRatioRow(row), column, s / ls);
      ctx.log(
        `  commands round ${rep + 1}/${cmdReps}: pmon3 ` +
          COMMANDS.map((c) => `${c} ${round.get('pmon3')?.get(cmdRow(c))?.toFixed(3) ?? '-'}`).join(', '),
      );
    }
  } finally {
    await clearAll(ctx, ds);
  }
}

/** One column's commands in one round; `took` gets the seconds of each that exited 0 (or status's 3). */
async function commandRound(ctx: Ctx, m: Manager, took: (row: string, s: number) => void): Promise<void> {
  const T = CMD_TARGET;
  const running = async (): Promise<number | undefined> => (await m.pids()).get(T);
  for (const c of COMMANDS) {
    const row = cmdRow(c);
    const cmd = m.commandCmd(c, T);
    if (!cmd) continue; // no equivalent: the cell stays empty
    const before = c === 'restart' ? await running() : undefined;
    // supervisorctl status exits 3 while some program is not RUNNING (never here, but it is not a failure).
    const s = await timeCmd(ctx, row, m.name, cmd, (code) => code === 0 || (c === 'ls' && m.name === 'supervisord' && code === 3));
    if (s !== undefined) took(row, s);
    // Untimed: the command took effect, and the target is as the next command expects it.
    try {
      switch (c) {
        case 'stop':
          if (s !== undefined) await waitFor(`${T} to stop`, async () => (await running()) === undefined, 15_000, 50);
          break;
        case 'start':
          if (s !== undefined) await waitFor(`${T} to run`, running, 15_000, 50);
          else await ensureTarget(ctx, m);
          break;
        case 'restart':
          if (s !== undefined) await waitFor(`${T} to run with a new pid`, async () => ((await running()) ?? before) !== before, 15_000, 50);
          break;
        case 'del':
          // Gone, then made again (the next round starts alike); a failed del leaves it to ensureTarget.
          if (s !== undefined) {
            await waitFor(`${T} to be gone`, async () => (await running()) === undefined, 15_000, 50);
            await m.startMany([targetSpec()]);
          }
          break;
        default:
      }
    } catch (e) {
      ctx.log(`  ${m.name} ${row}: exited 0 but ${(e as Error).message}`);
      ctx.results.set(row, m.name, missing('failed (no effect)'));
      await ensureTarget(ctx, m);
    }
  }
}

/** The target runs (untimed): if it does not, remove whatever is left of it and start it again. */
async function ensureTarget(ctx: Ctx, m: Manager): Promise<void> {
  if ((await m.pids()).has(CMD_TARGET)) return;
  ctx.log(`  ${m.name}: ${CMD_TARGET} not running; made again`);
  await m.remove(CMD_TARGET).catch(() => undefined);
  await m.startMany([targetSpec()]);
}
