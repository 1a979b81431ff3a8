/**
 * Time and order on the real Supervisor over fakes (test/helpers/fakes.ts), the fake clock moved
 * by the test: cron runs (overlap skip, queue, allow; the next run persisted; catch_up after a
 * pmond started again; never twice), repeat timers and their start guard, once apps, startsecs
 * and startretries, pre_start, and Meproc's after.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppSpecWire } from '../../internal/protocol/methods';
import type { Caller } from '../../internal/supervisor/supervisor';
import { FakeClock, fakeSupervisor } from '../helpers/fakes';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const root: Caller = { uid: 0, gid: 0, pid: 1, admin: true };
const T0 = Date.parse('2024-01-01T00:00:00Z');

const app = (name: string, over: Partial<AppSpecWire> = {}): AppSpecWire => ({
  name,
  file: `/opt/${name}`,
  args: [],
  env: {},
  cwd: '/',
  groups: [],
  instances: 1,
  dependencies: [],
  autostart: true,
  restart: 'always',
  source: `/etc/apps.yaml:1`,
  ...over,
});

async function setup(apps: AppSpecWire[], parts: Parameters<typeof fakeSupervisor>[2] = {}, wait = true) {
  const f = fakeSupervisor(tempDir('pmtask-'), {}, parts);
  await f.sup.boot();
  const applied = apps.length ? f.sup.apply(root, { apps, files: [], prune: false, dry_run: false }) : Promise.resolve();
  if (wait) await applied;
  const rows = async (name: string) => (await f.store.all()).filter((r) => r.name === name);
  const status = async (name: string) => (await rows(name)).map((r) => r.status).join(',');
  const runs = (name: string) => f.spawner.children.filter((c) => c.req.env.PMON3_PROCESS_NAME === name && c.req.env.PMON3_HOOK === undefined);
  const alive = (name: string) => runs(name).filter((c) => c.alive);
  /** Move the fake clock by ms in steps (each lets the promise chains it starts settle). */
  const advance = async (ms: number, step = ms) => {
    let done = 0;
    do {
      const by = Math.min(step, ms - done);
      f.clock.advance(by);
      done += by;
      await new Promise((r) => setTimeout(r, 5));
    } while (done < ms);
  };
  return { ...f, rows, status, runs, alive, advance };
}

const cron = (name: string, expr: string, over: Partial<NonNullable<AppSpecWire['task']>> = {}, spec: Partial<AppSpecWire> = {}) =>
  app(name, { ...spec, task: { type: 'cron', cron: expr, ...over } });

test('cron: armed, not run, until its time; the next run is persisted before the run starts; a run still going skips the next', async () => {
  const f = await setup([cron('job', '*/10 * * * * *')]);
  assert.equal(await f.status('job'), 'scheduled');
  assert.equal(f.runs('job').length, 0);
  const appRow = async () => (await f.store.apps()).find((a) => a.name === 'job')!;
  assert.equal((await appRow()).next_run_at, T0 + 10_000);
  await f.advance(9_999);
  assert.equal(f.runs('job').length, 0);
  await f.advance(1);
  await waitFor('the first run', () => f.runs('job').length === 1);
  assert.equal((await appRow()).next_run_at, T0 + 20_000, 'moved on by the time the run started');
  assert.equal(await f.status('job'), 'running');
  await f.advance(10_000); // 00:00:20: the first run still runs
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(f.runs('job').length, 1, 'overlap skip: no second run');
  assert.ok(f.logger.lines.some((l) => l.msg.includes('skipped: the last run still runs')));
  f.runs('job')[0]!.exit({ code: 0, signal: null });
  await waitFor('scheduled again', async () => (await f.status('job')) === 'scheduled');
  assert.match((await f.rows('job'))[0]!.reason!, /^run ended: exited with code 0/);
  await f.advance(10_000);
  await waitFor('the next run', () => f.runs('job').length === 2);
  // stop disarms: no run comes and next_run_at is cleared.
  f.runs('job')[1]!.exit({ code: 0, signal: null });
  await waitFor('scheduled', async () => (await f.status('job')) === 'scheduled');
  await f.sup.stop(root, 'job', false);
  await waitFor('disarmed', async () => (await appRow()).next_run_at === null);
  await f.advance(60_000, 10_000);
  assert.equal(f.runs('job').length, 2);
  await f.sup.shutdown(false);
});

test('cron overlap queue runs once more right after; allow runs beside it on an idle instance, up to instances', async () => {
  const f = await setup([cron('q', '*/10 * * * * *', { overlap: 'queue' }), cron('a', '*/10 * * * * *', { overlap: 'allow' }, { instances: 2 })]);
  await f.advance(10_000);
  await waitFor('first runs', () => f.runs('q').length === 1 && f.runs('a').length === 1);
  await f.advance(10_000);
  await waitFor('allow: a second run beside the first', () => f.alive('a').length === 2);
  assert.equal(f.runs('q').length, 1, 'queue: nothing beside it');
  await f.advance(10_000); // both a instances busy: skipped; q: still one queued at most
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(f.runs('a').length, 2);
  assert.ok(f.logger.lines.some((l) => l.msg.includes('all 2 instances still run (overlap allow)')));
  f.runs('q')[0]!.exit({ code: 0, signal: null });
  await waitFor('the queued run, at once', () => f.runs('q').length === 2);
  f.runs('q')[1]!.exit({ code: 0, signal: null });
  await waitFor('scheduled', async () => (await f.status('q')) === 'scheduled');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(f.runs('q').length, 2, 'one queued run, not one per firing missed');
  await f.sup.shutdown(false);
});

test('a pmond started again: a time still ahead is kept, one just due runs once, missed ones follow catch_up, none runs twice', async () => {
  const store = (await setup([])).store;
  const clock1 = new FakeClock(T0);
  const f1 = await setup([cron('none', '0 * * * *'), cron('once', '0 * * * *', { catch_up: 'once' }), cron('due', '*/10 * * * * *')], { store, clock: clock1 });
  const next = async (n: string) => (await store.apps()).find((a) => a.name === n)!.next_run_at;
  assert.equal(await next('none'), T0 + 3_600_000);
  assert.equal(await next('due'), T0 + 10_000);
  await f1.sup.shutdown(false);

  // Started again 1 s after `due`'s time (a quick restart: not away): it runs that time, once.
  const f2 = await setup([], { store, clock: new FakeClock(T0 + 11_000) });
  await waitFor('the due run', async () => {
    await f2.advance(0); // the timer of a time already come fires on the next tick of the (fake) clock
    return f2.runs('due').length === 1;
  });
  assert.equal(await next('due'), T0 + 20_000);
  assert.equal(f2.runs('none').length + f2.runs('once').length, 0, 'their time is still ahead');
  f2.runs('due')[0]!.exit({ code: 0, signal: null });
  await waitFor('scheduled', async () => (await f2.status('due')) === 'scheduled');
  await f2.sup.shutdown(false);

  // Started again at the same moment (its time moved on before the run): nothing runs twice.
  const f3 = await setup([], { store, clock: new FakeClock(T0 + 11_500) });
  await f3.advance(0);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(f3.runs('due').length, 0);
  await f3.sup.shutdown(false);

  // Away for three hours: catch_up once runs one run now, none goes on to the next hour.
  const f4 = await setup([], { store, clock: new FakeClock(T0 + 3 * 3_600_000 + 60_000) });
  await waitFor('the catch-up run', async () => {
    await f4.advance(0);
    return f4.runs('once').length === 1;
  });
  assert.equal(f4.runs('none').length, 0);
  assert.equal(await next('none'), T0 + 4 * 3_600_000);
  assert.ok(f4.logger.lines.some((l) => l.msg.includes('none: 3 runs missed while pmond was away (catch_up none)')));
  await f4.sup.shutdown(false);
});

test('repeat: the action on the start it was armed for; a start since then disarms the old timer', async () => {
  const f = await setup([app('web', { task: { repeat: { action: 'restart', every_ms: 30_000 } } })]);
  await waitFor('running', () => f.runs('web').length === 1);
  await f.advance(30_000);
  await waitFor('restarted by repeat', () => f.runs('web').length === 2);
  // A user restart at 40 s: the timer armed at 30 s (due at 60 s) is for a start that is gone.
  await f.advance(10_000);
  await f.sup.restart(root, 'web', true);
  assert.equal(f.runs('web').length, 3);
  await f.advance(20_000); // 60 s
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(f.runs('web').length, 3, 'the stale timer did nothing');
  await f.advance(10_000); // 70 s: 30 s after the user's restart
  await waitFor('the new timer', () => f.runs('web').length === 4);
  await f.sup.shutdown(false);
});

test('once: exit 0 is completed, non-zero failed, neither restarted; startsecs: starting until up; startretries: failed with its reason', async () => {
  const f = await setup([
    app('ok', { task: { type: 'once' } }),
    app('bad', { task: { type: 'once' } }),
    app('slow', { startsecs_ms: 5_000 }),
    app('flaky', { startretries: 2, startsecs_ms: 1_000 }),
  ]);
  await waitFor('all started', () => f.runs('ok').length && f.runs('bad').length && f.runs('slow').length && f.runs('flaky').length);
  f.runs('ok')[0]!.exit({ code: 0, signal: null });
  f.runs('bad')[0]!.exit({ code: 4, signal: null });
  await waitFor('completed', async () => (await f.status('ok')) === 'completed');
  await waitFor('failed', async () => (await f.status('bad')) === 'failed');
  assert.equal((await f.rows('ok'))[0]!.reason, 'completed (exit code 0)');
  assert.equal((await f.rows('bad'))[0]!.reason, 'exited with code 4');
  assert.equal(f.runs('ok').length + f.runs('bad').length, 2);
  assert.equal(await f.status('slow'), 'starting');
  await f.advance(4_999);
  assert.equal(await f.status('slow'), 'starting');
  await f.advance(1);
  await waitFor('up', async () => (await f.status('slow')) === 'running');
  // flaky: three quick failures (startretries 2 = two retries) and it is failed, saying why.
  for (let i = 1; i <= 3; i++) {
    // The backoff between them is on the fake clock: moved 50 ms at a time until the next start (far less than its startsecs).
    await waitFor(`start ${i}`, async () => {
      if (f.alive('flaky').length === 0) await f.advance(50);
      return f.alive('flaky').length === 1;
    });
    f.alive('flaky')[0]!.exit({ code: 1, signal: null });
  }
  await waitFor('failed', async () => (await f.status('flaky')) === 'failed');
  assert.match((await f.rows('flaky'))[0]!.reason!, /^startretries exceeded: 3 failed starts in a row \(last: exited with code 1\)/);
  await f.sup.shutdown(false);
});

test('pre_start: run as the app, an argv reaching it exactly; a failing one stops the start, failed with reason pre_start', async () => {
  const hostile = `$(touch /tmp/x) ';' "q" \`id\``;
  const f = await setup([app('web', { user: 'root', task: { pre_start: ['/bin/check', hostile] } })], {}, false);
  const hook = await waitFor('the pre_start hook', () => f.spawner.children.find((c) => c.req.env.PMON3_HOOK === 'pre_start'));
  assert.equal(hook.req.file, '/bin/check');
  assert.deepEqual(hook.req.args, [hostile]);
  assert.equal(hook.req.uid, 0);
  assert.equal(hook.req.env.PMON3_PROCESS_ID, undefined, 'no marker boot would adopt it by');
  assert.equal(f.runs('web').length, 0, 'the app waits for it');
  hook.exit({ code: 2, signal: null });
  await waitFor('failed', async () => (await f.status('web')) === 'failed');
  assert.equal((await f.rows('web'))[0]!.reason, 'pre_start: pre_start exited with code 2');
  assert.equal(f.runs('web').length, 0);
  await f.sup.shutdown(false);
});

test("after (Meproc's seed): sleep2 after sleep1, sleep3 after both, two replicas each: starts and exits in that order", async () => {
  const f = await setup([
    app('sleep1', { instances: 2, task: { type: 'once' } }),
    app('sleep2', { instances: 2, task: { type: 'once', after: ['sleep1'] } }),
    app('sleep3', { instances: 2, task: { type: 'once', after: ['sleep1', 'sleep2'] } }),
  ]);
  const order: string[] = [];
  const seen = new Set<unknown>();
  const note = () => {
    for (const c of f.spawner.children) if (!seen.has(c)) {
      seen.add(c);
      order.push(`start ${c.req.env.PMON3_PROCESS_NAME}`);
    }
  };
  for (const n of ['sleep1', 'sleep2', 'sleep3']) {
    await waitFor(`${n} runs`, async () => {
      await f.advance(100);
      note();
      return f.alive(n).length === 2;
    });
    for (const other of ['sleep1', 'sleep2', 'sleep3']) if (other !== n) assert.equal(f.alive(other).length, 0, `${other} while ${n} runs`);
    for (const c of f.alive(n)) c.exit({ code: 0, signal: null });
    order.push(`exit ${n}`, `exit ${n}`);
    await waitFor(`${n} completed`, async () => (await f.status(n)) === 'completed,completed');
  }
  assert.deepEqual(order, ['start sleep1', 'start sleep1', 'exit sleep1', 'exit sleep1', 'start sleep2', 'start sleep2', 'exit sleep2', 'exit sleep2', 'start sleep3', 'start sleep3', 'exit sleep3', 'exit sleep3']);
  await f.sup.shutdown(false);
});

test('cron_restart restarts a running daemon and one that ended on its own on schedule; one a user stopped stays stopped', async () => {
  const f = await setup([
    app('web', { task: { cron_restart: '*/30 * * * * *' } }),
    app('job', { restart: 'never', task: { cron_restart: '*/30 * * * * *' } }),
    app('off', { task: { cron_restart: '*/30 * * * * *' } }),
  ]);
  await waitFor('all run', () => f.runs('web').length === 1 && f.runs('job').length === 1 && f.runs('off').length === 1);
  f.runs('job')[0]!.exit({ code: 0, signal: null }); // PM2's pain: an app that exited was never cron-restarted
  await waitFor('job stopped', async () => (await f.status('job')) === 'stopped');
  await f.sup.stop(root, 'off', false);
  await f.advance(30_000);
  await waitFor('restarted', () => f.runs('web').length === 2 && f.runs('job').length === 2);
  assert.equal(f.runs('off').length, 1);
  assert.equal(await f.status('off'), 'stopped');
  assert.equal((await f.rows('web'))[0]!.restarts, 1);
  await f.sup.shutdown(false);
});

test("a stop does not wait for the app's pre_start; one post_stop at a time however fast it crashes", async () => {
  const f = await setup([app('gate', { task: { pre_start: ['/bin/slow-check'], hook_timeout_ms: 3_600_000 } })], {}, false);
  const hook = await waitFor('pre_start runs', () => f.spawner.children.find((c) => c.req.env.PMON3_HOOK === 'pre_start' && c.alive));
  const stopped = await f.sup.stop(root, 'gate', false); // the hook holds the lock: the stop kills it
  assert.equal(stopped.status, 'stopped');
  assert.equal(hook.alive, false);
  assert.equal(f.runs('gate').length, 0, 'never started');

  const g = await setup([app('crashy', { task: { post_stop: ['/bin/long-report'] } })]);
  for (let i = 0; i < 5; i++) {
    await waitFor(`run ${i}`, async () => {
      if (g.alive('crashy').length === 0) await g.advance(50);
      return g.alive('crashy').length === 1;
    });
    g.alive('crashy')[0]!.exit({ code: 1, signal: null });
  }
  await waitFor('a post_stop', () => g.spawner.children.some((c) => c.req.env.PMON3_HOOK === 'post_stop'));
  await new Promise((r) => setTimeout(r, 50));
  const posts = g.spawner.children.filter((c) => c.req.env.PMON3_HOOK === 'post_stop');
  assert.equal(posts.filter((c) => c.alive).length, 1, 'one running');
  assert.equal(posts.length, 1, 'the others were not run while it ran');
  assert.ok(g.logger.lines.some((l) => l.msg.includes('post_stop not run: the last one still runs')));
  for (const c of posts) c.exit({ code: 0, signal: null });
  await f.sup.shutdown(false);
  await g.sup.shutdown(false);
});
