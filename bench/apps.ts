/**
 * The apps workload: programs from a file, as operators keep them (issue 12's figures).
 *
 * - `apps.start.N` (N = 100): the file defines N `sleep` programs; timed from the call that
 *   starts them (pmon3 `apply -f`, supervisorctl `start all` of programs `update` loaded
 *   beforehand, untimed; pm2 `start ecosystem.json`) until N of them have exec'd (the daemon's
 *   children in /proc, polled every millisecond).
 * - `apps.unchanged.M` (M = 1000): the same file of M programs, all running, converged on again
 *   (pmon3 `apply -f`, supervisorctl `update`); timed for the call; the programs restarted
 *   (pids that changed) are counted and must be 0. PM2 has no such call (`startOrReload`
 *   reloads every app): an empty cell.
 * - `apps.change1.M`: one program's environment changed in the file, converged on; timed from
 *   the call until that program runs with a new pid; every other pid must be unchanged.
 */
import { nowMs, run, sleepSync, type Cmd } from './lib/proc';
import { missing } from './lib/stats';
import type { Manager, ProgramSpec } from './managers/manager';
import { countPrograms, type Ctx, daemons, pollUntil, SLEEP } from './workloads';

const spec = (prefix: string, i: number, env?: Record<string, string>): ProgramSpec => ({ name: `${prefix}-${i}`, file: SLEEP, args: ['3600'], ...(env ? { env } : {}) });

const countSleeps = (dpid: number): number => countPrograms(dpid, SLEEP);

async function mustRun(cmd: Cmd, what: string): Promise<void> {
  const r = await run(cmd);
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
}

export async function appsWorkload(ctx: Ctx): Promise<void> {
  const n = 100;
  const m = ctx.knobs.quick ? 300 : 1000;
  const reps = ctx.knobs.quick ? 2 : 3;
  for (let rep = 0; rep < reps; rep++) {
    for (const mgr of daemons(ctx)) {
      const fa = mgr.fileApps;
      if (!fa) continue;
      try {
        await mgr.clear();
        await fa.writeApps(Array.from({ length: n }, (_, i) => spec(`ap${rep}`, i)), false);
        const dpid = mgr.daemonPid();
        const t0 = nowMs();
        await mustRun(fa.startCmd(), `${mgr.name} start from file`);
        if (!pollUntil(() => countSleeps(dpid) >= n, 120_000)) throw new Error(`fewer than ${n} running after 120 s`);
        const s = (nowMs() - t0) / 1000;
        ctx.results.add(`apps.start.${n}`, mgr.name, s);
        ctx.log(`  ${mgr.name}: ${n} from a file, run ${rep + 1}/${reps}: ${s.toFixed(2)} s`);
      } catch (e) {
        ctx.log(`  ${mgr.name} apps.start: ${(e as Error).message}`);
        ctx.results.set(`apps.start.${n}`, mgr.name, missing('failed'));
      } finally {
        await mgr.clear().catch(() => undefined);
      }
    }
  }
  for (const mgr of daemons(ctx)) {
    const fa = mgr.fileApps;
    if (!fa) continue;
    const converge = fa.convergeCmd();
    if (!converge) {
      ctx.results.set(`apps.unchanged.${m}`, mgr.name, missing('no converge (startOrReload reloads every app)'));
      ctx.results.set(`apps.change1.${m}`, mgr.name, missing('no converge'));
      continue;
    }
    await bigFile(ctx, mgr, m, converge, reps).catch((e: Error) => {
      ctx.log(`  ${mgr.name} apps.${m}: ${e.message}`);
      ctx.results.set(`apps.unchanged.${m}`, mgr.name, missing('failed'));
    });
  }
}

async function bigFile(ctx: Ctx, mgr: Manager, m: number, converge: Cmd, reps: number): Promise<void> {
  const fa = mgr.fileApps!;
  const specs = Array.from({ length: m }, (_, i) => spec('big', i, { V: '0' }));
  try {
    await mgr.clear();
    await fa.writeApps(specs, true);
    const t0 = nowMs();
    await mustRun(converge, `${mgr.name} load ${m}`);
    const dpid = mgr.daemonPid();
    if (!pollUntil(() => countSleeps(dpid) >= m, 300_000)) throw new Error(`fewer than ${m} running after 300 s`);
    ctx.log(`  ${mgr.name}: ${m} from a file running (${((nowMs() - t0) / 1000).toFixed(1)} s, untimed)`);
    for (let rep = 0; rep < reps; rep++) {
      const before = await mgr.pids();
      const t1 = nowMs();
      await mustRun(converge, `${mgr.name} converge unchanged`);
      const s = (nowMs() - t1) / 1000;
      const after = await mgr.pids();
      const restarted = [...before].filter(([k, p]) => after.get(k) !== p).length;
      ctx.results.add(`apps.unchanged.${m}`, mgr.name, s);
      ctx.log(`  ${mgr.name}: unchanged ${m}, run ${rep + 1}/${reps}: ${s.toFixed(3)} s, ${restarted} restarted`);
      if (restarted) ctx.results.set(`apps.unchanged.${m}`, mgr.name, missing(`restarted ${restarted}`));
    }
    for (let rep = 0; rep < reps; rep++) {
      const target = `big-${(rep * 37) % m}`;
      const before = await mgr.pids();
      const changed = specs.map((s) => (s.name === target ? { ...s, env: { V: String(rep + 1) } } : s));
      await fa.writeApps(changed, true);
      const t1 = nowMs();
      await mustRun(converge, `${mgr.name} converge one changed`);
      let after = await mgr.pids();
      while (after.get(target) === undefined || after.get(target) === before.get(target)) {
        if (nowMs() - t1 > 60_000) throw new Error(`${target} not restarted after 60 s`);
        sleepSync(2);
        after = await mgr.pids();
      }
      const s = (nowMs() - t1) / 1000;
      const others = [...before].filter(([k, p]) => k !== target && after.get(k) !== p).length;
      ctx.results.add(`apps.change1.${m}`, mgr.name, s);
      ctx.log(`  ${mgr.name}: one of ${m} changed, run ${rep + 1}/${reps}: ${s.toFixed(3)} s, ${others} others restarted`);
      if (others) ctx.results.set(`apps.change1.${m}`, mgr.name, missing(`restarted ${others} others`));
      specs.splice(0, specs.length, ...changed);
    }
  } finally {
    await mgr.clear().catch(() => undefined);
  }
}
