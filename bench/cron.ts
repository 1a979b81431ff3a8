/**
 * The cron workload: 1000 programs run on a schedule (issue 14's figures).
 *
 * - `cron.idle.1000`: 1000 cron apps due once a year ("0 0 0 1 1 *"), armed (pmon3 `apply -f`
 *   until all 1000 are `scheduled`; PM2 `start` of an ecosystem file with `cron_restart` and
 *   `autorestart: false`, until all 1000 are `stopped` after the run PM2 does at start), then
 *   the daemon's CPU over one CPU window (cpuWindow, as the footprint rows).
 * - `cron.idle.next.1000`: the window right after that one (settle and window again): what is left
 *   once the one-off work after the apply (pmond: a major GC about 8 s later) is over.
 * - `cron.fire.1000`: 1000 cron apps, app i due every minute at second i mod 60 (about 17 a
 *   second), each run `fixtures/cron-run.sh`: it appends its name, its start (`date +%s%N`, its
 *   first act) and PMON3_SCHEDULED_AT to one shared file. Armed as above, then every run due in
 *   a window of cronWindowS whole seconds (starting 2 s after all are armed) is collected, 3 s
 *   after the window for the late ones: lateness = start − the time it was due (pmon3: its
 *   PMON3_SCHEDULED_AT, which must be the app's second; PM2 says none: the app's last due
 *   second at or before start + 1 s, so a run up to 1 s early counts as early). Each app must
 *   run exactly once per due time in the window: missing and doubled runs are counted.
 *   The floor: the same fixture spawned by the bench itself, told the time of its spawn.
 * - `cron.fired.1000`: pmond's own firing delay in that window: PMON3_FIRED_AT (when it asked the
 *   exec helper for the run) − the time it was due. The rest of a run's lateness is the exec
 *   helper starting ~17 programs one after the other, and the fixture's shell.
 * - `cron.fire.cpu.1000`: the daemon's CPU over that window.
 * supervisord has no cron: "no cron".
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpuSeconds, nowMs, run, sleep, type Cmd } from './lib/proc';
import { figure, median, missing, quantile } from './lib/stats';
import type { CronSpec, Manager } from './managers/manager';
import { cpuWindow, CRON_SH, type Ctx, daemons, FLOOR, guard } from './workloads';

export const CRON_N = 1000;
export const CRON_IDLE_ROW = `cron.idle.${CRON_N}`;
/** The CPU window right after it: one-off work after the apply (a major GC of its garbage) is over by then. */
export const CRON_IDLE_NEXT_ROW = `cron.idle.next.${CRON_N}`;
/** pmond's own part: PMON3_FIRED_AT (it asked the exec helper for the run) − the time it was due. */
export const CRON_FIRED_ROW = `cron.fired.${CRON_N}`;
export const CRON_FIRE_ROW = `cron.fire.${CRON_N}`;
export const CRON_FIRE_CPU_ROW = `cron.fire.cpu.${CRON_N}`;
/** Due once a year, at midnight of 1 January: armed, never run in the window. */
const YEARLY = '0 0 0 1 1 *';
/** Runs are collected from this long after all are armed… */
const LEAD_MS = 2000;
/** …until the window's end, and this long after it for the late ones. */
const GRACE_MS = 3000;

async function mustRun(cmd: Cmd, what: string, timeoutMs: number): Promise<void> {
  const r = await run(cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
}

export async function cronWorkload(ctx: Ctx): Promise<void> {
  const ds = daemons(ctx);
  for (const mgr of ds) {
    if (!mgr.cronApps) {
      for (const row of [CRON_IDLE_ROW, CRON_IDLE_NEXT_ROW, CRON_FIRED_ROW, CRON_FIRE_ROW, CRON_FIRE_CPU_ROW]) ctx.results.set(row, mgr.name, missing('no cron'));
      continue;
    }
    await guard(ctx, CRON_IDLE_ROW, mgr.name, () => idle(ctx, mgr));
  }
  await fixtureFloor(ctx);
  for (const mgr of ds) if (mgr.cronApps) await guard(ctx, CRON_FIRE_ROW, mgr.name, () => fire(ctx, mgr));
}

/** Write specs, arm them, wait until all are armed; returns when (Date.now()) they were. */
async function arm(ctx: Ctx, mgr: Manager, specs: CronSpec[]): Promise<number> {
  const ca = mgr.cronApps!;
  await mgr.clear();
  await ca.writeCron(specs);
  const names = specs.map((s) => s.name);
  const t0 = nowMs();
  await mustRun(ca.armCmd(), `${mgr.name} arm ${specs.length} cron apps`, 600_000);
  const called = nowMs();
  let armed = 0;
  for (;;) {
    armed = await ca.armed(names);
    if (armed >= specs.length) break;
    if (nowMs() - t0 > 600_000) throw new Error(`${armed} of ${specs.length} armed after 600 s`);
    await sleep(250);
  }
  ctx.log(`  ${mgr.name}: ${specs.length} cron apps armed (call ${((called - t0) / 1000).toFixed(1)} s, all armed ${((nowMs() - t0) / 1000).toFixed(1)} s, untimed)`);
  return Date.now();
}

/** 1000 apps due once a year, armed: the daemon's CPU over one window. */
async function idle(ctx: Ctx, mgr: Manager): Promise<void> {
  const specs = Array.from({ length: CRON_N }, (_, i): CronSpec => ({ name: `cy-${i}`, file: '/bin/sh', args: ['-c', 'exit 0'], cron: YEARLY }));
  try {
    await arm(ctx, mgr, specs);
    for (const row of [CRON_IDLE_ROW, CRON_IDLE_NEXT_ROW]) {
      await cpuWindow(ctx, row, [mgr]);
      const f = ctx.results.get(row, mgr.name);
      const v = f?.samples[0];
      ctx.log(
        `  ${mgr.name}: ${CRON_N} cron apps armed, CPU over ${row === CRON_IDLE_ROW ? 'the first' : 'the next'} ${ctx.knobs.cpuWindowS} s: ` +
          `${v === undefined ? f?.note : `${v.toFixed(2)} s = ${((100 * v) / ctx.knobs.cpuWindowS).toFixed(3)} % of a core`}`,
      );
    }
  } finally {
    await mgr.clear().catch(() => undefined);
  }
}

/** One line of the shared record: app name, start in ms (sub-ms), its PMON3_SCHEDULED_AT in ms or undefined. */
interface RunLine {
  name: string;
  startMs: number;
  scheduledMs?: number;
  /** PMON3_FIRED_AT: when pmond asked the exec helper for the run (pmon3 only). */
  firedMs?: number;
}

function readRecord(file: string): RunLine[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: RunLine[] = [];
  for (const line of text.split('\n')) {
    const [name, ns, sched, fired] = line.split(' ');
    if (!name || !ns || !/^\d{10,}$/.test(ns)) continue;
    // ns since the epoch exceeds 2^53: whole ms and the rest apart.
    const startMs = Number(ns.slice(0, -6)) + Number(ns.slice(-6)) / 1e6;
    const s = sched && sched !== '-' ? Date.parse(sched) : NaN;
    const f = fired && fired !== '-' ? Date.parse(fired) : NaN;
    out.push({ name, startMs, ...(Number.isNaN(s) ? {} : { scheduledMs: s }), ...(Number.isNaN(f) ? {} : { firedMs: f }) });
  }
  return out;
}

/** How many runs are due each second: the floor starts that many at once. */
const PER_SECOND = Math.round(CRON_N / 60);

/**
 * The machine's floor for a second's runs: PER_SECOND copies of the fixture started at once by
 * one shell (`&`: a fork each, nothing of a manager's), told the time the bench spawned that
 * shell. On 2 cores ~17 shells and their `date` share the CPU: the later ones start tens of ms
 * late whoever starts them.
 */
async function fixtureFloor(ctx: Ctx): Promise<void> {
  const file = path.join(ctx.dir, 'cron-floor.log');
  const reps = ctx.knobs.quick ? 10 : 30;
  const script = 'i=0; while [ $i -lt "$2" ]; do /bin/sh "$0" "$1" floor & i=$((i+1)); done; wait';
  for (let i = 0; i < reps; i++) {
    const at = Date.now();
    const c = spawn('/bin/sh', ['-c', script, CRON_SH, file, String(PER_SECOND)], { env: { ...process.env, PMON3_SCHEDULED_AT: new Date(at).toISOString() }, stdio: 'ignore' });
    await new Promise((resolve) => c.once('close', resolve));
    await sleep(200);
  }
  const lat = readRecord(file).map((l) => l.startMs - l.scheduledMs!);
  ctx.results.set(CRON_FIRE_ROW, FLOOR, { samples: lat, note: `${lat.length} runs, ${PER_SECOND} at a time` });
  fs.rmSync(file, { force: true });
}

/** 1000 apps due once a minute each, ~17 a second: lateness of every run in the window, missing and doubled runs. */
async function fire(ctx: Ctx, mgr: Manager): Promise<void> {
  const record = path.join(ctx.dir, `cron-${mgr.name.replace(/\W/g, '')}.log`);
  fs.rmSync(record, { force: true });
  const second = new Map<string, number>();
  const specs = Array.from({ length: CRON_N }, (_, i): CronSpec => {
    const name = `cf-${i}`;
    second.set(name, i % 60);
    return { name, file: '/bin/sh', args: [CRON_SH, record, name], cron: `${i % 60} * * * * *` };
  });
  const windowMs = ctx.knobs.cronWindowS * 1000;
  const dlog = mgr.cronApps!.daemonLog?.();
  try {
    const armedAt = await arm(ctx, mgr, specs);
    const tStart = Math.ceil((armedAt + LEAD_MS) / 1000) * 1000;
    const tEnd = tStart + windowMs;
    await sleep(Math.max(0, tStart - Date.now()));
    const logFrom = dlog && fs.existsSync(dlog) ? fs.statSync(dlog).size : 0;
    const dpid = mgr.daemonPid();
    const cpu0 = cpuSeconds(dpid);
    await sleep(Math.max(0, tEnd - Date.now()));
    const cpu1 = cpuSeconds(dpid);
    await sleep(GRACE_MS);
    if (cpu0 !== null && cpu1 !== null) ctx.results.set(CRON_FIRE_CPU_ROW, mgr.name, figure([cpu1 - cpu0]));

    const runs = new Map<string, number>();
    const lateness: number[] = [];
    const fired: number[] = [];
    let wrong = 0;
    for (const l of readRecord(record)) {
      const s = second.get(l.name);
      if (s === undefined) continue;
      // PM2 says no time: the app's last due second at or before start + 1 s.
      const due = l.scheduledMs ?? Math.floor((l.startMs + 1000 - s * 1000) / 60_000) * 60_000 + s * 1000;
      if (due < tStart || due >= tEnd) continue;
      if (l.scheduledMs !== undefined && Math.round(due / 1000) % 60 !== s) wrong++;
      const key = `${l.name}@${due}`;
      runs.set(key, (runs.get(key) ?? 0) + 1);
      lateness.push(l.startMs - due);
      if (l.firedMs !== undefined) fired.push(l.firedMs - due);
    }
    let expected = 0;
    let miss = 0;
    for (const [name, s] of second) {
      const first = Math.ceil((tStart - s * 1000) / 60_000) * 60_000 + s * 1000;
      for (let d = first; d < tEnd; d += 60_000) {
        expected++;
        if (!runs.has(`${name}@${d}`)) miss++;
      }
    }
    const doubled = [...runs.values()].reduce((a, c) => a + Math.max(0, c - 1), 0);
    const unexpected = [...runs.keys()].filter((k) => {
      const [name, d] = k.split('@');
      return (Number(d) - second.get(name!)! * 1000) % 60_000 !== 0;
    }).length;
    const problems = [miss ? `${miss} missing` : '', doubled ? `${doubled} doubled` : '', wrong + unexpected ? `${wrong + unexpected} for another second` : ''].filter(Boolean);
    const note = `${lateness.length} runs of ${expected} due, ${problems.length ? problems.join(', ') : 'none missing or doubled'}`;
    ctx.results.set(CRON_FIRE_ROW, mgr.name, { samples: lateness, note });
    ctx.results.set(`${CRON_FIRE_ROW}.check`, mgr.name, figure([miss, doubled, wrong + unexpected]));
    ctx.results.set(CRON_FIRED_ROW, mgr.name, fired.length ? { samples: fired, note: `${fired.length} runs` } : missing('says no time it fired'));
    const sorted = [...lateness].sort((a, b) => a - b);
    const q = (p: number): string => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(1) : '?');
    ctx.log(
      `  ${mgr.name}: ${CRON_N} cron apps over ${ctx.knobs.cronWindowS} s: ${note}; lateness p50 ${q(50)} p95 ${q(95)} p99 ${q(99)} max ${q(100)} ms; ` +
        `daemon CPU ${cpu0 !== null && cpu1 !== null ? `${(cpu1 - cpu0).toFixed(2)} s` : '?'}`,
    );
    // Where the lateness comes from: the earliest and the latest run of each due second (~17 due at once).
    const bySecond = new Map<number, number[]>();
    for (const l of readRecord(record)) {
      const s = second.get(l.name);
      if (s === undefined) continue;
      const due = l.scheduledMs ?? Math.floor((l.startMs + 1000 - s * 1000) / 60_000) * 60_000 + s * 1000;
      if (due < tStart || due >= tEnd) continue;
      let g = bySecond.get(due);
      if (!g) bySecond.set(due, (g = []));
      g.push(l.startMs - due);
    }
    const firsts = [...bySecond.values()].map((g) => Math.min(...g));
    const lasts = [...bySecond.values()].map((g) => Math.max(...g));
    if (firsts.length) {
      ctx.log(`  ${mgr.name}: per due second (${firsts.length} seconds): earliest run median ${median(firsts).toFixed(1)} ms late, latest median ${median(lasts).toFixed(1)} ms`);
    }
    if (dlog && fs.existsSync(dlog)) {
      // What the daemon said during the window (deduplicated with digits masked), for a late or missing run.
      const said = fs.readFileSync(dlog, 'utf8').slice(logFrom).split('\n').filter(Boolean);
      // pmond stamps its lines to the ms: when it logged each run as started, against its due second.
      const logged: number[] = [];
      for (const line of said) {
        const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) \w+: (cf-\d+): started pid/.exec(line);
        const s = m ? second.get(m[2]!) : undefined;
        if (!m || s === undefined) continue;
        const t = Date.parse(m[1]!);
        logged.push(t - (Math.floor((t + 1000 - s * 1000) / 60_000) * 60_000 + s * 1000));
      }
      if (logged.length) {
        ctx.log(`  ${mgr.name}: its log's "started pid" lines (${logged.length}) vs the due second: p50 ${quantile(logged, 50).toFixed(0)} p99 ${quantile(logged, 99).toFixed(0)} max ${quantile(logged, 100).toFixed(0)} ms`);
      }
      const kinds = new Map<string, { line: string; n: number }>();
      for (const line of said) {
        const k = line.replace(/\d+/g, '#');
        const e = kinds.get(k);
        if (e) e.n++;
        else kinds.set(k, { line, n: 1 });
      }
      ctx.log(`  ${mgr.name}: daemon log over the window: ${said.length} lines${kinds.size ? ', e.g.:' : ''}`);
      for (const { line, n } of [...kinds.values()].slice(0, 12)) ctx.log(`    ${n}× ${line.slice(0, 240)}`);
    }
  } finally {
    await mgr.clear().catch(() => undefined);
    fs.rmSync(record, { force: true });
  }
}
