/**
 * A pmond run by a plain user serves only that user; without the SO_PEERCRED
 * addon a root pmond admits only root; a root pmond refuses a config or hook
 * that someone else could change; socket mode and group follow the config.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../internal/client/client';
import { PROTOCOL_VERSION } from '../../internal/protocol';
import { TestDaemon } from '../helpers/daemon';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and switch to them';
const users = new TestUsers();
const daemons: TestDaemon[] = [];
const dirs: string[] = [];
let alice: TestUser;
let bob: TestUser;

before(() => {
  if (skip) return;
  alice = users.add('dm-alice', ['dm-devs']);
  bob = users.add('dm-bob');
});
after(async () => {
  for (const d of daemons) await d.stop();
  // Every dir start() made, also those of daemons that refused to start.
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  users.cleanup();
});

/** One request over a raw socket, sent by user u (no CLI, so no client-side check); the reply's text. */
function rawAs(u: TestUser, sock: string, req: unknown): Promise<string> {
  const body = JSON.stringify(req);
  const script = `const s=require('net').connect(process.argv[1]);const b=Buffer.from(process.argv[2]);const h=Buffer.alloc(4);h.writeUInt32BE(b.length);` +
    `s.on('connect',()=>s.write(Buffer.concat([h,b])));let o=Buffer.alloc(0);s.on('data',(d)=>{o=Buffer.concat([o,d]);if(o.length>=4&&o.length>=4+o.readUInt32BE(0)){process.stdout.write(o.subarray(4,4+o.readUInt32BE(0)));process.exit(0)}});`;
  return new Promise((resolve) => {
    execFile('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', '--', process.execPath, '-e', script, sock, body], { timeout: 10_000 }, (_e, out) => resolve(String(out)));
  });
}

async function start(opts: ConstructorParameters<typeof TestDaemon>[1] & { owner?: TestUser } = {}): Promise<TestDaemon> {
  const dir = tempDir('pmm-');
  dirs.push(dir);
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
    // Bob's CLI refuses to talk to a pmond that is neither root's nor his...
    const other = await d.run(['ls'], { as: bob });
    assert.equal(other.code, 5);
    assert.match(other.stderr, new RegExp(`is served by uid ${alice.uid}, neither root nor you \\(uid ${bob.uid}\\); not sending anything`));
    // ...and the pmond refuses bob anyway (a client that skips the check gets nowhere).
    const raw = await rawAs(bob, d.socket, { v: PROTOCOL_VERSION, id: 1, method: 'list', params: {} });
    assert.match(raw, /this pmond belongs to uid \d+; uid \d+ may not use it/);
    // Root's CLI does not send requests to a user's pmond either; the pmond itself would serve root.
    assert.match((await d.run(['ls'])).stderr, /neither root nor you \(uid 0\)/);
    const c = await Client.connect(d.socket);
    try {
      assert.equal((await c.listAll()).length, 1, 'root may still look');
    } finally {
      c.close();
    }
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
    const dir = tempDir('pmk-');
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
    const d = await start({ config: { socket_mode: '0660', socket_group: users.group('dm-devs') } });
    const st = fs.statSync(d.socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, Number(require('node:child_process').execFileSync('getent', ['group', users.group('dm-devs')], { encoding: 'utf8' }).split(':')[2]));
    assert.equal((await d.run(['ls'], { as: alice })).code, 0, 'alice is in dm-devs');
    const r = await d.run(['ls'], { as: bob });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /cannot reach pmond at .*: permission denied/);
  });
});
