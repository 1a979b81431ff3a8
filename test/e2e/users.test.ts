/**
 * Spawning as another user: uid, gid AND supplementary groups (setpriv
 * --init-groups), log owned by that user, pid is the program's own.
 * Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { ensureUser, isRoot, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const skip = isRoot() ? false : 'needs root to create users and switch to them';
let d: TestDaemon;
let u: TestUser;

before(async () => {
  if (skip) return;
  u = ensureUser('pmon3-alice', ['pmon3-devs', 'pmon3-ops']);
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
});

test('exec --user runs with the user\'s uid, gid and supplementary groups', { skip }, async () => {
  const p = await d.json(['exec', path.join(FIXTURES, 'echo-args.js'), '--name', 'as-alice', '-u', u.name, '--cwd', '/tmp']);
  assert.equal(p.user, u.name);
  assert.equal(p.uid, u.uid);
  const log = path.join(d.logs, 'as-alice.log');
  const line = await waitFor('output', () => fs.readFileSync(log, 'utf8').split('\n').find((l) => l.startsWith('{')));
  const out = JSON.parse(line);
  assert.equal(out.uid, u.uid);
  assert.equal(out.gid, u.gid);
  assert.deepEqual([...out.groups].sort(), [...u.groups].sort(), 'supplementary groups kept');
  // setpriv execs in place: the recorded pid is the program itself.
  assert.match(fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8'), /echo-args\.js/);
  const st = fs.statSync(log);
  assert.equal(st.uid, u.uid, 'log owned by the user');
  assert.equal(st.mode & 0o777, 0o640);
  // and the environment is the user's, not root's
  const status = fs.readFileSync(`/proc/${p.pid}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+${u.uid}\\s+${u.uid}\\s+${u.uid}\\s+${u.uid}`, 'm'));
  await d.json(['del', 'as-alice']);
});

test('exec --user by numeric uid', { skip }, async () => {
  const p = await d.json(['exec', '/bin/sleep', '--name', 'by-uid', '-u', String(u.uid), '-a', '100']);
  assert.equal(p.user, u.name);
  await d.json(['del', 'by-uid']);
});
