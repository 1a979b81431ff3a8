/**
 * A pmond run by a plain user serves only that user; without the SO_PEERCRED
 * addon a root pmond admits only root; a root pmond refuses a config or hook
 * that someone else could change; socket mode and group follow the config.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { ensureUser, isRoot, type TestUser } from '../helpers/users';

const skip = isRoot() ? false : 'needs root to create users and switch to them';
const daemons: TestDaemon[] = [];
let alice: TestUser;
let bob: TestUser;

before(() => {
  if (skip) return;
  alice = ensureUser('pmon3-alice', ['pmon3-devs']);
  bob = ensureUser('pmon3-bob');
});
after(async () => {
  for (const d of daemons) await d.stop();
});

async function start(opts: ConstructorParameters<typeof TestDaemon>[1] & { owner?: TestUser } = {}): Promise<TestDaemon> {
  const dir = fs.mkdtempSync('/tmp/pmm-');
  fs.chmodSync(dir, 0o755);
  if (opts.owner) fs.chownSync(dir, opts.owner.uid, opts.owner.gid);
  const d = await TestDaemon.start({ ...opts, dir, ...(opts.owner ? { uid: opts.owner.uid, gid: opts.owner.gid } : {}) });
  daemons.push(d);
  return d;
}

describe('an unprivileged pmond', { skip }, () => {
  test('serves its own user, runs processes only as that user, refuses everybody else', async () => {
    const d = await start({ owner: alice });
    const p = await d.json(['exec', '/bin/sleep', '--name', 'mine', '-a', '300'], { as: alice });
    assert.equal(p.uid, alice.uid);
    const r = await d.run(['exec', '/bin/sleep', '--name', 'theirs', '-u', bob.name, '-a', '1'], { as: alice });
    assert.equal(r.code, 6, r.stderr); // FAILED_PRECONDITION: an unprivileged pmond cannot switch users at all
    assert.match(r.stderr, /can only run processes as itself/);
    const other = await d.run(['ls'], { as: bob });
    assert.equal(other.code, 5);
    assert.match(other.stderr, /this pmond belongs to uid \d+; uid \d+ may not use it/);
    assert.equal((await d.ls()).length, 1, 'root may still look');
    await d.json(['del', 'mine'], { as: alice });
  });
});

describe('without kernel identity (PMON3_NO_PEERCRED=1)', { skip }, () => {
  test('a root pmond makes its socket 0600: only root gets in', async () => {
    const prev = process.env.PMON3_NO_PEERCRED;
    process.env.PMON3_NO_PEERCRED = '1';
    let d: TestDaemon;
    try {
      d = await start();
    } finally {
      if (prev === undefined) delete process.env.PMON3_NO_PEERCRED;
      else process.env.PMON3_NO_PEERCRED = prev;
    }
    assert.equal(fs.statSync(d.socket).mode & 0o777, 0o600);
    const r = await d.run(['ls'], { as: alice });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /permission denied/);
    assert.equal((await d.run(['ls'])).code, 0);
  });
});

describe('StrictModes for a root pmond', { skip }, () => {
  test('a config file others can write is refused, naming it', async () => {
    const d = await start();
    await d.terminate();
    fs.chmodSync(d.conf, 0o666);
    await assert.rejects(d.launch(), (e: Error) => e.message.includes(`config ${d.conf} is writable by group or others`));
    fs.chmodSync(d.conf, 0o644);
    fs.chownSync(d.conf, alice.uid, alice.gid);
    await assert.rejects(d.launch(), (e: Error) => e.message.includes(`config ${d.conf} is owned by uid ${alice.uid}`));
    fs.chownSync(d.conf, 0, 0);
    await d.launch();
  });

  test('a hook script a user owns is refused at start, naming it', async () => {
    const dir = fs.mkdtempSync('/tmp/pmk-');
    const hook = path.join(dir, 'hook.sh');
    fs.writeFileSync(hook, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.chownSync(hook, alice.uid, alice.gid);
    await assert.rejects(start({ config: { on_process_restart_exec: hook } }), (e: Error) =>
      e.message.includes(`hook on_process_restart_exec ${hook} is owned by uid ${alice.uid}`),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('socket mode and group from the config', { skip }, () => {
  test('socket_mode 0660 with socket_group: group members connect, others cannot', async () => {
    const d = await start({ config: { socket_mode: '0660', socket_group: 'pmon3-devs' } });
    const st = fs.statSync(d.socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, Number(require('node:child_process').execFileSync('getent', ['group', 'pmon3-devs'], { encoding: 'utf8' }).split(':')[2]));
    assert.equal((await d.run(['ls'], { as: alice })).code, 0, 'alice is in pmon3-devs');
    const r = await d.run(['ls'], { as: bob });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /cannot reach pmond at .*: permission denied/);
  });
});
