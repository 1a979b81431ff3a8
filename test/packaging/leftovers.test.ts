/**
 * The check `make test` ends with (test/leftovers.ts), against a root and a user prefix of its
 * own: it names a file under the root, processes of the run (by marker, cwd, parent, user) and a
 * prefixed user, removes them and exits 1; it leaves alone a pmond-like child that is not the
 * run's; on a clean root it prints nothing, removes the root and exits 0.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../helpers/daemon';
import { isRoot } from '../helpers/users';
import { tempDir, testName } from '../helpers/tmp';
import { pidAlive, waitFor } from '../helpers/wait';
import { run } from './util';

const CHECK = path.join(ROOT, 'dist', 'test', 'leftovers.js');
const spawned: number[] = [];
after(() => {
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A sleep started as told, detached (its own group), remembered for after(). */
function sleeper(opts: { cwd?: string; env?: NodeJS.ProcessEnv }): number {
  const p = spawn('/bin/sleep', ['300'], { cwd: opts.cwd ?? '/', env: opts.env ?? {}, stdio: 'ignore', detached: true });
  p.unref();
  spawned.push(p.pid!);
  return p.pid!;
}

test('leftovers under the root, of the run, and its users are named, removed, and fail the check', async (t) => {
  const root = tempDir('lo-', 0o755);
  const prefix = `${testName('lo')}-`;
  fs.writeFileSync(path.join(root, 'forgotten.txt'), 'x');
  const byCwd = sleeper({ cwd: root });
  const byMarker = sleeper({ env: { PMON3_TEST_ROOT: root } });
  // A pmond-like parent of the run and its child with a clean environment but for the spawn token.
  const parent = spawn('/bin/sh', ['-c', 'env -i PMON3_SPAWN_TOKEN=t1 /bin/sleep 300 & wait'], {
    env: { PMON3_TEST_ROOT: root, PATH: '/usr/bin:/bin' },
    stdio: 'ignore',
    detached: true,
  });
  parent.unref();
  spawned.push(parent.pid!);
  const child = await waitFor('the child of the parent', () => {
    const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent.pid)], { encoding: 'utf8' }).trim();
    return out ? Number(out) : undefined;
  }).catch(() => 0);
  spawned.push(child);
  // Someone else's pmond child: the token, nothing of this run.
  const stranger = sleeper({ env: { PMON3_SPAWN_TOKEN: 't2' } });
  const user = isRoot() ? `${prefix}u` : undefined;
  if (user) execFileSync('useradd', ['--no-create-home', user]);

  const r = await run(process.execPath, [CHECK, root, prefix]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^leftovers: make test left \\d+ thing\\(s\\) behind \\(root ${root}, users ${prefix}\\*\\), now removed:`));
  assert.match(r.stderr, new RegExp(`file +${path.join(root, 'forgotten.txt')} `));
  assert.match(r.stderr, new RegExp(`process +${byCwd} +\\(cwd ${root}`));
  assert.match(r.stderr, new RegExp(`process +${byMarker} +\\(PMON3_TEST_ROOT`));
  assert.match(r.stderr, new RegExp(`process +${parent.pid} +\\(PMON3_TEST_ROOT`));
  assert.ok(child > 0, 'the child was seen');
  assert.match(r.stderr, new RegExp(`process +${child} +\\(child of ${parent.pid} \\(PMON3_SPAWN_TOKEN\\)`));
  assert.doesNotMatch(r.stderr, new RegExp(`process +${stranger} `), 'not the run\'s');
  if (user) assert.match(r.stderr, new RegExp(`user +${user} `));
  else t.diagnostic('not root: no user planted, that part is not checked');

  for (const pid of [byCwd, byMarker, parent.pid!, child]) await waitFor(`pid ${pid} killed`, () => !pidAlive(pid), 5000);
  assert.ok(pidAlive(stranger), 'the stranger is left alone');
  assert.equal(fs.existsSync(root), false, 'the root is removed');
  if (user) assert.throws(() => execFileSync('id', ['-u', user], { stdio: 'ignore' }), 'the user is removed');
});

test('a clean run: nothing printed, the root removed, exit 0', async () => {
  const root = tempDir('lo-', 0o755);
  const r = await run(process.execPath, [CHECK, root, `${testName('lo')}-`]);
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: '', stderr: '' });
  assert.equal(fs.existsSync(root), false);
});

test('bad arguments: usage, exit 2', async () => {
  const r = await run(process.execPath, [CHECK, 'relative', 'Bad']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^usage: leftovers\.js ROOT PREFIX/);
});
