/**
 * `make bench`: pmon3 side by side with PM2 and supervisord, on this machine,
 * in one run. Installs the peers if missing (PM2 into bench/.peers with npm,
 * supervisord from Debian's `supervisor` when root), runs every manager with
 * private state in a temp dir and Unix sockets only, stops everything it
 * started by pid (also on failure or Ctrl-C), and prints one markdown table,
 * also written to bench/results/latest.md (raw samples in latest.json).
 *
 * Environment: BENCH_QUICK=1 (small and short, for development),
 * BENCH_CPU_WINDOW_S (default 30, quick 10), BENCH_MANAGERS=pmon3,pm2,supervisord,
 * BENCH_WORKLOADS=cli,commands,restart,spawn,flood,flood-rotate,start,apps,cron,reload,http,footprint,scale (default: all).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFileLimit, nowMs, run } from './lib/proc';
import type { Manager } from './managers/manager';
import { Pm2, PM2_BIN } from './managers/pm2';
import { Pmon3, Pmon3Oclif, ROOT } from './managers/pmon3';
import { Supervisord, SUPERVISORCTL, SUPERVISORD } from './managers/supervisord';
import { table } from './report';
import {
  clearAll,
  cliRoundTrips,
  commandLatency,
  cpuWindow,
  daemons,
  logFlood,
  populate,
  restartLatency,
  Results,
  rss,
  sequentialStarts,
  spawnCost,
  type Ctx,
  type Knobs,
} from './workloads';
import { appsWorkload } from './apps';
import { CRON_N, cronWorkload } from './cron';
import { reloadWorkload } from './reload';
import { httpKnobs, httpWorkload } from './http';
import { floodRotate, FLOOD_ROTATE_KEEP, FLOOD_ROTATE_MIB } from './flood-rotate';

function knobs(): Knobs {
  const quick = process.env.BENCH_QUICK === '1';
  const window = Number(process.env.BENCH_CPU_WINDOW_S || (quick ? 10 : 30));
  return quick
    ? {
        quick,
        cliReps: 5,
        n: 100,
        cmdReps: 5,
        cmdN: 10,
        startReps: 3,
        startN: 20,
        restartKills: 7,
        bigN: 300,
        cpuWindowS: window,
        cronWindowS: quick ? 30 : 60,
        floodBytes: 200 * 1024 * 1024,
        floodReps: 5,
        floodRotateReps: 1,
        rssSamples: 3,
        rssGapMs: 200,
        settleMs: 1000,
      }
    : {
        quick,
        cliReps: 15,
        n: 100,
        cmdReps: 15,
        cmdN: 10,
        startReps: 5,
        startN: 100,
        restartKills: 20,
        bigN: 1000,
        cpuWindowS: window,
        cronWindowS: quick ? 30 : 60,
        floodBytes: 200 * 1024 * 1024,
        floodReps: 9,
        floodRotateReps: 3,
        rssSamples: 5,
        rssGapMs: 1000,
        settleMs: 3000,
      };
}

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** PM2 into bench/.peers (npm), supervisord from apt when root; returns what is available. */
async function ensurePeers(want: Set<string>): Promise<{ pm2?: string; supervisord?: string }> {
  const out: { pm2?: string; supervisord?: string } = {};
  if (want.has('pm2')) {
    const peers = path.join(ROOT, 'bench', '.peers');
    if (!fs.existsSync(PM2_BIN)) {
      log('installing PM2 into bench/.peers (npm)');
      fs.mkdirSync(peers, { recursive: true });
      if (!fs.existsSync(path.join(peers, 'package.json'))) {
        fs.writeFileSync(path.join(peers, 'package.json'), '{ "name": "pmon3-bench-peers", "private": true }\n');
      }
      const r = await run({ file: 'npm', args: ['install', '--no-audit', '--no-fund', '--prefix', peers, 'pm2@7.0.4'] }, 600_000);
      if (r.code !== 0) log(`npm install pm2 failed: ${r.stderr.trim().slice(0, 300)}`);
    }
    if (fs.existsSync(PM2_BIN)) {
      out.pm2 = (JSON.parse(fs.readFileSync(path.join(path.dirname(PM2_BIN), '..', 'package.json'), 'utf8')) as { version: string }).version;
    }
  }
  if (want.has('supervisord')) {
    if (!fs.existsSync(SUPERVISORD) && process.getuid?.() === 0) {
      log('installing supervisor (apt-get); its system service is not started (POLICYRCD)');
      const policy = path.join(os.tmpdir(), `pmb-policy-rc.d-${process.pid}`);
      fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
      const env = { DEBIAN_FRONTEND: 'noninteractive', POLICYRCD: policy };
      let r = await run({ file: 'apt-get', args: ['install', '-y', '--no-install-recommends', 'supervisor'], env }, 600_000);
      if (r.code !== 0) {
        await run({ file: 'apt-get', args: ['update'], env }, 600_000);
        r = await run({ file: 'apt-get', args: ['install', '-y', '--no-install-recommends', 'supervisor'], env }, 600_000);
      }
      fs.rmSync(policy, { force: true });
      if (r.code !== 0) log(`apt-get install supervisor failed: ${r.stderr.trim().slice(0, 300)}`);
    }
    if (fs.existsSync(SUPERVISORD) && fs.existsSync(SUPERVISORCTL)) {
      out.supervisord = execFileSync(SUPERVISORD, ['--version'], { encoding: 'utf8' }).trim();
    }
  }
  return out;
}

function machine(): string {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

/** 6: `ls --json` and `ls` with bigN processes (and the dist/ path of the same pmond). */
async function scale(ctx: Ctx, m: Manager): Promise<void> {
  const views = ctx.managers.filter((v) => v === m || v.cliVariantOf === m.name);
  for (let i = 0; i < Math.max(5, Math.ceil(ctx.knobs.cliReps / 2)); i++) {
    for (const v of views) {
      for (const json of [true, false]) {
        const cmd = v.listCmd(json) ?? (json ? v.listCmd(false) : undefined); // supervisord: status for both
        if (!cmd) continue;
        const r = await run(cmd);
        const row = `scale.${json ? 'json' : 'ls'}.${ctx.knobs.bigN}`;
        if (r.code === 0 || (v.name === 'supervisord' && r.code === 3)) ctx.results.add(row, v.name, r.ms / 1000);
        else ctx.log(`  ${v.name} ${row}: exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
      }
    }
  }
}

async function main(): Promise<void> {
  const k = knobs();
  const started = nowMs();
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const wantManagers = new Set((process.env.BENCH_MANAGERS || 'pmon3,pm2,supervisord').split(',').map((s) => s.trim().toLowerCase()));
  const workloads = new Set((process.env.BENCH_WORKLOADS || 'cli,commands,restart,spawn,flood,flood-rotate,start,apps,cron,reload,http,footprint,scale').split(',').map((s) => s.trim()));
  log(`pmon3 bench (${k.quick ? 'quick' : 'full'}): ${machine()}`);
  log(`open files limit: ${ensureFileLimit(8192)}`);
  const versions = await ensurePeers(wantManagers);

  // Short paths: PM2 and supervisord put Unix sockets in here (107-byte limit).
  const dir = fs.mkdtempSync('/tmp/pmb-');
  const managers: Manager[] = [];
  if (wantManagers.has('pmon3')) {
    const p = new Pmon3(path.join(dir, 'p'));
    managers.push(p, new Pmon3Oclif(p));
  }
  if (wantManagers.has('pm2') && versions.pm2) managers.push(new Pm2(path.join(dir, 'm')));
  if (wantManagers.has('supervisord') && versions.supervisord) managers.push(new Supervisord(path.join(dir, 's')));
  const results = new Results();
  const owned: Manager[] = [];
  const ctx: Ctx = { knobs: k, managers, results, dir, log, own: (m) => void owned.push(m) };

  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      log('stopping every manager and every process it ran');
      for (const m of [...managers, ...owned]) await m.shutdown().catch((e: unknown) => log(`  ${m.name}: shutdown: ${(e as Error).message}`));
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  let failure: unknown;
  try {
    for (const m of managers) {
      await m.start();
      log(`${m.name}: daemon pid ${m.daemonPid()}`);
    }
    const phase = (name: string): void => log(`-- ${name} (${((nowMs() - started) / 1000).toFixed(0)} s)`);
    // A failing step is reported and the run goes on with the next one.
    const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
      phase(name);
      try {
        await fn();
      } catch (e) {
        failure ??= e;
        log(`  ${name} failed: ${(e as Error).stack ?? String(e)}`);
      }
    };
    if (workloads.has('cli')) await step('CLI round trips, 0 processes', () => cliRoundTrips(ctx, '0', true));
    if (workloads.has('commands')) await step(`every CLI command, ${k.cmdN} processes, ${k.cmdReps} rounds`, () => commandLatency(ctx));
    if (workloads.has('footprint')) await step('RSS, 0 processes', () => rss(ctx, 'rss.0'));
    if (workloads.has('restart')) await step('restart latency', () => restartLatency(ctx));
    if (workloads.has('spawn')) await step('exec helper cost', () => spawnCost(ctx));
    if (workloads.has('flood')) await step('log flood', () => logFlood(ctx));
    if (workloads.has('flood-rotate')) {
      await step(`log flood rotated every ${FLOOD_ROTATE_MIB} MiB, ${FLOOD_ROTATE_KEEP} kept (pmon3 logger mode, supervisord's own rotation)`, () => floodRotate(ctx));
    }
    if (workloads.has('start')) await step(`${k.startN} sequential CLI starts × ${k.startReps}`, () => sequentialStarts(ctx));
    if (workloads.has('apps')) await step('programs from a file: start 100, converge an unchanged and a changed file', () => appsWorkload(ctx));
    if (workloads.has('cron')) {
      await step(`${CRON_N} cron apps: armed and idle ${k.cpuWindowS} s, then each run once a minute for ${k.cronWindowS} s`, () => cronWorkload(ctx));
    }
    if (workloads.has('reload')) await step('rolling reload of a node HTTP app under autocannon load', () => reloadWorkload(ctx));
    if (workloads.has('http')) {
      await step(`pmond's HTTP door with ${httpKnobs(k.quick).n} processes: the listing under load, RSS with the door on and off, the dashboard's first render`, () => httpWorkload(ctx));
    }
    if (workloads.has('cli') || workloads.has('footprint')) {
      await step(`${k.n} processes in every manager`, async () => {
        try {
          await populate(ctx, k.n);
          if (workloads.has('cli')) await cliRoundTrips(ctx, String(k.n), true);
          if (workloads.has('footprint')) {
            await rss(ctx, `rss.${k.n}`);
            phase(`CPU window ${k.cpuWindowS} s, ${k.n} processes each, all daemons at once`);
            await cpuWindow(ctx, `cpu.${k.n}`);
          }
        } finally {
          await clearAll(ctx);
        }
      });
    }
    if (workloads.has('footprint') || workloads.has('scale') || workloads.has('restart')) {
      for (const m of daemons(ctx)) {
        await step(`${k.bigN} processes in ${m.name}`, async () => {
          try {
            await populate(ctx, k.bigN, [m]);
            if (workloads.has('footprint')) {
              await rss(ctx, `rss.${k.bigN}`, [m]);
              await cpuWindow(ctx, `cpu.${k.bigN}`, [m]);
            }
            if (workloads.has('restart')) await restartLatency(ctx, [m], `.${k.bigN}`);
            if (workloads.has('scale')) await scale(ctx, m);
          } finally {
            await clearAll(ctx, [m]);
          }
        });
      }
    }
  } catch (e) {
    failure = e;
    log(`bench failed: ${(e as Error).stack ?? String(e)}`);
  } finally {
    await stopAll();
  }

  const seconds = (nowMs() - started) / 1000;
  const md = [
    `Measured ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine()}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} at start, ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at end.`,
    `Peers: PM2 ${versions.pm2 ?? 'not available'}, ${versions.supervisord ? `supervisord ${versions.supervisord}` : 'supervisord not available'}. ` +
      `${k.quick ? 'Quick run (BENCH_QUICK=1)' : 'Full run'}: ${seconds.toFixed(0)} s.`,
    '',
    table(results, k),
    '',
    'Median (min–max) of whole processes timed with process.hrtime; every manager measured in the same run, interleaved, on a shared 2-core machine (noisy: compare columns, not runs). ' +
      `CLI rows: ${k.cliReps} runs per phase (the floor in both phases); command rows: ${k.cmdReps} rounds with ${k.cmdN} processes managed, ` +
      'each cell also as the median of its time over pmon3\'s own `ls` in the same round ("× ls"), and a cell that exited non-zero once shows "failed (exit N)"; ' +
      `sequential starts: ${k.startReps} runs; restart: one sample per kill; ` +
      `RSS: ${k.rssSamples} samples of VmRSS; CPU: utime+stime of the daemon process from /proc/PID/stat (10 ms ticks) over one window, ` +
      `all daemons in the same window for ${k.n} processes, one at a time for ${k.bigN}; log flood: ${k.floodReps} runs, rotated log flood: ${k.floodRotateReps}; ` +
      'reload: one steady run per mode, then median (min–max) over the reload windows (the worst is the max; failed: median and worst), latencies from every answer autocannon got. ' +
      'supervisord has no JSON listing (its `status` is shown there) and no command that starts an ad-hoc program (a program file plus `supervisorctl update NAME` is timed). ' +
      '"pmon3" runs `bin/pmon3` as a user would (the start-up snapshot when it matches the node in PATH; the launcher unsets NODE_EXTRA_CA_CERTS, which node otherwise parses at every start). ' +
      '"pmon3 from dist/ (no snapshot)" is the same pmond through `node bin/pmon3.js` with the environment as is: the CLI without its start-up snapshot (as with NODE_OPTIONS set or another node).',
    '',
  ].join('\n');
  process.stdout.write(`${md}\n`);
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  fs.writeFileSync(
    path.join(outDir, 'latest.json'),
    `${JSON.stringify({ at: startedAt.toISOString(), machine: machine(), versions, knobs: k, rows: Object.fromEntries([...results.rows].map(([r, cols]) => [r, Object.fromEntries(cols)])) }, null, 1)}\n`,
  );
  if (failure) process.exitCode = 1;
}

void main();
