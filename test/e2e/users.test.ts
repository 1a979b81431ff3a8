/**
 * Spawning as another user: uid, gid AND supplementary groups (setpriv
 * --init-groups), log owned by that user, pid is the program's own.
 * Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and switch to them';
const users = new TestUsers();
let d: TestDaemon;
let u: TestUser;

before(async () => {
  if (skip) return;
  u = users.add('eu-alice', ['eu-devs', 'eu-ops']);
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
  users.cleanup();
});

test('exec --user runs with the user\'s uid, gid and supplementary groups', { skip }, async () => {
  const p = await d.json(['exec', path.join(FIXTURES, 'echo-args.js'), '--name', 'as-alice', '-u', u.name, '--cwd', '/tmp']);
  assert.equal(p.user, u.name);
  assert.equal(p.uid, u.uid);
  const log = path.join(d.logs, u.name, 'as-alice.log');
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

test('a binary executable only through a supplementary group runs; one the user cannot execute is refused', { skip }, async () => {
  const dir = tempDir('pmt-grp-');
  try {
    fs.chmodSync(dir, 0o755);
    const devs = Number(execFileSync('getent', ['group', users.group('eu-devs')], { encoding: 'utf8' }).split(':')[2]);
    const viaGroup = path.join(dir, 'devs-only.sh');
    fs.writeFileSync(viaGroup, '#!/bin/sh\nexec sleep 300\n');
    fs.chownSync(viaGroup, 0, devs);
    fs.chmodSync(viaGroup, 0o750); // alice: not the owner, eu-devs only as a supplementary group
    const p = await d.json(['exec', viaGroup, '--name', 'via-group', '-u', u.name]);
    assert.equal(p.status, 'running');
    const rootOnly = path.join(dir, 'root-only.sh');
    fs.writeFileSync(rootOnly, '#!/bin/sh\nexec sleep 300\n');
    fs.chmodSync(rootOnly, 0o750);
    const r = await d.run(['exec', rootOnly, '--name', 'root-only', '-u', u.name]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `pmon3: ${rootOnly}: Permission denied\n`);
    await d.json(['del', 'via-group', '--force']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('exec --user by numeric uid', { skip }, async () => {
  const p = await d.json(['exec', '/bin/sleep', '--name', 'by-uid', '-u', String(u.uid), '-a', '100']);
  assert.equal(p.user, u.name);
  await d.json(['del', 'by-uid']);
});
