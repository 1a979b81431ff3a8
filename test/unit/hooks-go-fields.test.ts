/**
 * The hook JSON carries the Go pmon3's field names beside ours: the shape of the payload, and
 * goFieldsRunner handing hooks on in order, with or without the process's facts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goFieldsRunner, withGoFields, type GoFacts } from '../../internal/hooks/go-fields';
import type { HookEvent, HookRunner } from '../../internal/hooks/hooks';
import { hookPayload } from '../../internal/supervisor/supervisor';
import type { ProcessRow } from '../../internal/store/schema';

const row = {
  id: 7,
  name: 'web',
  app_id: 3,
  instance: 0,
  spec_hash: null,
  reason: null,
  process_file: '/usr/bin/web',
  args: JSON.stringify(['-p', '80']),
  env: JSON.stringify({ SECRET: 'hunter2', A: '1' }),
  cwd: '/',
  user: 'alice',
  uid: 1000,
  gid: 1000,
  status: 'running',
  desired: 'running',
  pid: 4242,
  pid_start_time: 1,
  pid_boot_id: 'b',
  restarts: 2,
  consecutive_failures: 0,
  auto_restart: 1,
  log: '/var/log/pmond/web.log',
  last_exit_code: null,
  last_signal: null,
  started_at: '2024-05-03T05:44:25.114Z',
  stopped_at: null,
  spawn_token: null,
  cgroup: null,
  created_at: '2024-05-03T05:44:25.000Z',
  updated_at: '2024-05-03T06:09:18.712Z',
} as unknown as ProcessRow;

const facts: GoFacts = { auto_restart: true, dependencies: ['db', 'cache'], groups: ['front'] };

test('the payload has every Go field name, ours kept as they were', () => {
  const ours = hookPayload(row);
  const p = withGoFields(ours, facts);
  // Every field the Go pmon3's model.Process gives a hook (json tags), except env_vars (values).
  for (const k of ['id', 'name', 'pid', 'log', 'process_file', 'args', 'status', 'auto_restart', 'uid', 'gid', 'username', 'created_at', 'updated_at', 'cpu_usage', 'memory_usage', 'dependencies', 'Groups']) {
    assert.ok(k in p, `${k} is missing`);
  }
  for (const [k, v] of Object.entries(ours)) assert.deepEqual(p[k], v, `ours: ${k}`);
  assert.equal(p.username, 'alice');
  assert.equal(p.auto_restart, true);
  assert.equal(p.dependencies, 'db cache');
  assert.deepEqual(p.Groups, [{ name: 'front' }]);
  assert.equal(p.cpu_usage, '');
  assert.equal(p.memory_usage, '');
  // Where the types differ ours stays: the status name, the argv array.
  assert.equal(p.status, 'running');
  assert.deepEqual(p.args, ['-p', '80']);
  // Environment values never reach a hook.
  assert.ok(!('env_vars' in p));
  assert.ok(!JSON.stringify(p).includes('hunter2'));
  assert.deepEqual(p.env_names, ['SECRET', 'A']);
});

test('without facts: what the payload alone gives', () => {
  const p = withGoFields(hookPayload({ ...row, auto_restart: 0 } as ProcessRow), undefined);
  assert.equal(p.username, 'alice');
  assert.ok(!('auto_restart' in p) && !('Groups' in p) && !('dependencies' in p));
  assert.deepEqual(withGoFields(hookPayload(row), { auto_restart: false, dependencies: [], groups: [] }).dependencies, '');
});

test('goFieldsRunner: hooks handed on in the order fired, a failed lookup still fires, idle waits for both', async () => {
  const fired: Array<[HookEvent, Record<string, unknown>]> = [];
  let innerIdle = 0;
  let closed = false;
  const inner: HookRunner = {
    fire: (e, p) => void fired.push([e, p]),
    idle: async () => void innerIdle++,
    close: () => void (closed = true),
  };
  const slow = (id: number): Promise<GoFacts | undefined> =>
    new Promise((resolve, reject) => {
      if (id === 2) reject(new Error('gone'));
      else setImmediate(() => resolve(id === 1 ? facts : undefined));
    });
  const r = goFieldsRunner(inner, slow);
  r.fire('restart', { id: 1, user: 'a' });
  r.fire('backoff', { id: 2, user: 'b' });
  r.fire('stop', { id: 3, user: 'c' });
  await r.idle();
  assert.equal(innerIdle, 1);
  assert.deepEqual(fired.map(([e, p]) => [e, p.id, p.username, p.auto_restart]), [
    ['restart', 1, 'a', true],
    ['backoff', 2, 'b', undefined],
    ['stop', 3, 'c', undefined],
  ]);
  r.close();
  assert.equal(closed, true);
});
