/**
 * The real Supervisor driven through its interfaces with fakes (test/helpers/fakes.ts): no
 * process, no database, no waiting on timers — the fake clock moves when the test says.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { definitionJson, parseDefinition, type AppDefinition } from '../../internal/apps/model';
import type { ExecParams } from '../../internal/protocol/methods';
import type { NewProcessRow } from '../../internal/store/schema';
import type { Caller } from '../../internal/supervisor/supervisor';
import { type FakeStore, fakeSupervisor } from '../helpers/fakes';
import { newRow } from '../helpers/store';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const root: Caller = { uid: 0, gid: 0, pid: 1, admin: true };
const exec = (name: string, over: Partial<ExecParams> = {}): ExecParams => ({ file: `/opt/${name}`, args: ['--serve'], env: { MODE: 'test' }, cwd: '/', auto_restart: true, name, ...over });

const setup = () => fakeSupervisor(tempDir('pmsup-'));

test('exec: the row runs its child (markers in its environment) and the start hook fires', async () => {
  const f = setup();
  const v = await f.sup.exec(root, exec('web'));
  const child = f.spawner.last('web')!;
  assert.equal(v.status, 'running');
  assert.equal(v.pid, child.w.pid);
  assert.deepEqual(child.req.args, ['--serve']);
  assert.equal(child.req.env.MODE, 'test');
  assert.equal(child.req.env.PMON3_PROCESS_ID, String(v.id));
  assert.equal(child.req.env.PMON3_DAEMON_ID, 'test-daemon');
  assert.equal(child.req.log?.path, path.join(f.config.logs_dir, 'web.log'));
  assert.deepEqual(f.hooks.of('web'), ['start']);
  const row = (await f.store.get(v.id))!;
  assert.equal(row.pid_boot_id, 'test-boot');
  assert.equal(row.spawn_token, child.req.env.PMON3_SPAWN_TOKEN);
  await f.sup.shutdown(false);
});

test('an exit restarts at once, quick repeated failures back off on the clock, a start that fails is failed', async () => {
  const f = setup();
  const v = await f.sup.exec(root, exec('web'));
  const statusOf = async () => (await f.store.get(v.id))!.status;
  f.spawner.last('web')!.exit({ code: 1, signal: null });
  await waitFor('the restart', () => f.spawner.children.length === 2);
  await waitFor('running again', async () => (await statusOf()) === 'running');
  assert.deepEqual(f.hooks.of('web'), ['start', 'restart']);

  // It failed again at once (the fake clock has not moved: no uptime): backoff, no spawn yet.
  f.spawner.last('web')!.exit({ code: 1, signal: null });
  await waitFor('backoff', async () => (await statusOf()) === 'backoff');
  assert.equal(f.spawner.children.length, 2);
  assert.deepEqual(f.hooks.of('web'), ['start', 'restart', 'backoff']);
  const row = (await f.store.get(v.id))!;
  assert.equal(row.consecutive_failures, 2);
  assert.equal(row.last_exit_code, 1);
  assert.equal(row.pid, null);
  f.clock.advance(99); // restart_backoff_initial is 100
  assert.equal(f.spawner.children.length, 2);
  f.clock.advance(1);
  await waitFor('the delayed restart', async () => (await statusOf()) === 'running');
  assert.equal(f.spawner.children.length, 3);
  assert.equal((await f.store.get(v.id))!.restarts, 2);

  // The next start fails (binary gone): failed, not desired, and the failure hook.
  f.spawner.failures.push(new Error('no such file'));
  f.spawner.last('web')!.exit({ code: 1, signal: null });
  await waitFor('backoff again', async () => (await statusOf()) === 'backoff');
  f.clock.advance(200);
  await waitFor('failed', async () => (await statusOf()) === 'failed');
  assert.equal((await f.store.get(v.id))!.desired, 'stopped');
  assert.equal(f.hooks.of('web').at(-1), 'failure');
  // One backoff event on entering backoff (the Go pmon3's rule), not one at each delayed restart.
  assert.deepEqual(f.hooks.of('web'), ['start', 'restart', 'backoff', 'restart', 'failure']);
  await f.sup.shutdown(false);
});

test('without auto restart an exit is given up: failed and the failure hook; exit 0 is stopped', async () => {
  const f = setup();
  const bad = await f.sup.exec(root, exec('bad', { auto_restart: false }));
  const good = await f.sup.exec(root, exec('good', { auto_restart: false }));
  f.spawner.last('bad')!.exit({ code: 2, signal: null });
  f.spawner.last('good')!.exit({ code: 0, signal: null });
  await waitFor('bad failed', async () => (await f.store.get(bad.id))!.status === 'failed');
  await waitFor('good stopped', async () => (await f.store.get(good.id))!.status === 'stopped');
  assert.equal((await f.store.get(bad.id))!.desired, 'stopped');
  assert.equal((await f.store.get(bad.id))!.last_exit_code, 2);
  assert.deepEqual(f.hooks.of('bad'), ['start', 'failure']);
  assert.deepEqual(f.hooks.of('good'), ['start']);
  assert.equal(f.spawner.children.length, 2);
  assert.equal(f.clock.pending(), 0, 'no restart is scheduled');
  await f.sup.shutdown(false);
});

test('stop: the stop signal to its group, stopped, the stop hook; its exit is not the restart policy\'s', async () => {
  const f = setup();
  const v = await f.sup.exec(root, exec('web'));
  const child = f.spawner.last('web')!;
  const out = await f.sup.stop(root, 'web', false);
  assert.equal(out.status, 'stopped');
  assert.equal(out.pid, null);
  assert.equal(out.last_signal, 'SIGTERM');
  assert.deepEqual(child.signals, ['SIGTERM']);
  assert.deepEqual(f.os.sent.filter((s) => s.pgid === child.w.pid).map((s) => s.signal), ['SIGTERM']);
  assert.deepEqual(f.hooks.of('web'), ['start', 'stop']);
  const row = (await f.store.get(v.id))!;
  assert.equal(row.desired, 'stopped');
  assert.equal(f.spawner.children.length, 1, 'not restarted');
  assert.equal(f.clock.pending(), 0, 'no restart is scheduled');
  await f.sup.shutdown(false);
});

test("an app's own policy: restart on-failure restarts a crash and leaves an exit 0 stopped", async () => {
  const f = setup();
  const v = await f.sup.exec(root, exec('job'));
  const app = (await f.store.getApp((await f.store.get(v.id))!.app_id))!;
  await f.store.updateApp(app.id, { spec: definitionJson({ ...parseDefinition(app.spec), restart: 'on-failure' }) });
  f.spawner.last('job')!.exit({ code: 3, signal: null });
  await waitFor('restarted after a failure', () => f.spawner.children.length === 2);
  await waitFor('running', async () => (await f.store.get(v.id))!.status === 'running');
  f.spawner.last('job')!.exit({ code: 0, signal: null });
  await waitFor('stopped after exit 0', async () => (await f.store.get(v.id))!.status === 'stopped');
  assert.equal((await f.store.get(v.id))!.desired, 'stopped');
  assert.equal(f.spawner.children.length, 2);
  assert.deepEqual(f.hooks.of('job'), ['start', 'restart']);
  await f.sup.shutdown(false);
});

/** An app of root's named name (with its dependencies) and its instance 0, as a table from an earlier pmond. */
async function seed(store: FakeStore, name: string, dependencies: string[], row: Partial<NewProcessRow> = {}) {
  const def: AppDefinition = { file: `/opt/${name}`, args: [], env: {}, cwd: '/', restart: 'always', autostart: true };
  const app = await store.insertApp({ name, uid: 0, user: 'root', gid: 0, spec: definitionJson(def), spec_hash: 'h', dependencies: JSON.stringify(dependencies) });
  return store.insert(newRow(name, { app_id: app.id, process_file: def.file, cwd: '/', ...row }));
}

test('boot: a row desired running is started, one lost while running restarted, a live one re-adopted, a stopped one left', async () => {
  const f = setup();
  const queued = await seed(f.store, 'fresh', [], { status: 'queued' });
  const lost = await seed(f.store, 'lost', [], { status: 'running', pid: 4242, pid_start_time: 1, pid_boot_id: 'test-boot', started_at: new Date(0).toISOString() });
  const live = await f.spawner.spawn({ file: '/opt/live', args: [], env: {}, cwd: '/', uid: 0, gid: 0, groups: [0], log: { kind: 'daemon', path: '/dev/null' }, cgroup: null });
  const kept = await seed(f.store, 'live', [], { status: 'running', pid: live.pid, pid_start_time: live.startTime, pid_boot_id: 'test-boot' });
  const off = await seed(f.store, 'off', [], { status: 'stopped', desired: 'stopped' });
  await f.sup.boot();
  assert.equal((await f.store.get(queued.id))!.status, 'running');
  assert.equal((await f.store.get(lost.id))!.status, 'running');
  assert.equal((await f.store.get(lost.id))!.restarts, 1);
  assert.equal((await f.store.get(kept.id))!.pid, live.pid);
  assert.equal((await f.store.get(off.id))!.status, 'stopped');
  assert.deepEqual(f.spawner.children.map((c) => c.req.file), ['/opt/live', '/opt/fresh', '/opt/lost']);
  assert.deepEqual(f.hooks.of('fresh'), ['start']);
  assert.deepEqual(f.hooks.of('lost'), ['restart']);
  assert.deepEqual(f.hooks.of('live'), []);
  // The adopted process is polled on the clock: gone, it is restarted.
  f.spawner.byPid(live.pid)!.alive = false;
  f.clock.advance(f.config.process_monitor_interval);
  await waitFor('the adopted one restarted', async () => (await f.store.get(kept.id))!.pid !== live.pid && (await f.store.get(kept.id))!.status === 'running');
  await f.sup.shutdown(false);
});

test('boot starts a dependent after what it depends on; the rest in id order', async () => {
  const f = setup();
  await seed(f.store, 'api', ['db']); // id 1
  await seed(f.store, 'solo', []); // id 2
  await seed(f.store, 'web', ['api', 'cache']); // id 3
  await seed(f.store, 'db', []); // id 4
  await seed(f.store, 'cache', []); // id 5
  await seed(f.store, 'other', []); // id 6
  await f.sup.boot();
  assert.deepEqual(
    f.spawner.children.map((c) => c.req.env.PMON3_PROCESS_NAME),
    ['db', 'api', 'solo', 'cache', 'web', 'other'],
  );
  await f.sup.shutdown(false);
});

test('stop all and a group stop dependents before what they depend on; a group start goes the other way', async () => {
  const f = setup();
  await seed(f.store, 'api', ['db']);
  await seed(f.store, 'web', ['api']);
  await seed(f.store, 'db', []);
  await seed(f.store, 'solo', []);
  await f.sup.boot();
  const stops = (): string[] => f.hooks.fired.filter((h) => h.event === 'stop').map((h) => String(h.payload.name));
  const stopped = await f.sup.act(root, 'stop', ['all'], false);
  assert.deepEqual(stopped.map((p) => p.name), ['api', 'web', 'db', 'solo'], 'the reply in id order');
  const order = stops();
  assert.ok(order.indexOf('web') < order.indexOf('api') && order.indexOf('api') < order.indexOf('db'), order.join(' '));
  // The same through a group (@tier), one by one.
  for (const id of [1, 2, 3]) {
    const a = (await f.store.getApp((await f.store.get(id))!.app_id))!;
    await f.store.updateApp(a.id, { groups: JSON.stringify(['tier']) });
  }
  const started = await f.sup.act(root, 'start', ['@tier'], false);
  assert.deepEqual(started.map((p) => p.name), ['db', 'api', 'web']);
  f.hooks.fired.length = 0;
  await f.sup.act(root, 'stop', ['@tier'], false);
  assert.deepEqual(stops(), ['web', 'api', 'db']);
  await f.sup.shutdown(false);
});
