/**
 * Attacks as unprivileged users against a root pmond. Identity comes from
 * the kernel (SO_PEERCRED); authorization is the daemon's. Needs root to
 * create users; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, ROOT, TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and switch to them';
const users = new TestUsers();
let d: TestDaemon;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let bobProc: any;
let playground: string;

before(async () => {
  if (skip) return;
  alice = users.add('su-alice', ['su-devs']);
  bob = users.add('su-bob');
  carol = users.add('su-carol', ['su-admins']);
  d = await TestDaemon.start({ config: { admin_group: users.group('su-admins') } });
  playground = tempDir('pms-');
  fs.chownSync(playground, alice.uid, alice.gid);
  bobProc = await d.json(['exec', '/bin/sleep', '--name', 'bobs-app', '-a', '300'], { as: bob });
});
after(async () => {
  await d?.stop();
  if (playground) fs.rmSync(playground, { recursive: true, force: true });
  users.cleanup();
});

async function denied(args: string[], u: TestUser, code: number, pattern: RegExp): Promise<void> {
  const r = await d.run(args, { as: u });
  assert.equal(r.code, code, `${u.name} ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

describe('identity and exec', { skip }, () => {
  test('exec --user root is refused for a plain user', async () => {
    await denied(['exec', '/bin/sleep', '--name', 'rootkit', '-u', 'root', '-a', '1'], alice, 5, /uid \d+ may not run processes as user "root"/);
    await denied(['exec', '/bin/sleep', '--name', 'as-bob', '-u', bob.name, '-a', '1'], alice, 5, new RegExp(`may not run processes as user "${bob.name}"`));
    assert.equal((await d.ls()).some((p: any) => p.name === 'rootkit' || p.name === 'as-bob'), false);
  });

  test('exec as yourself runs with your uid, gid and supplementary groups; the log is yours', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'echo-args.js'), '--name', 'alices-app'], { as: alice });
    assert.equal(p.user, alice.name);
    const log = path.join(d.logs, alice.name, 'alices-app.log');
    const out = JSON.parse(await waitFor('output', () => fs.readFileSync(log, 'utf8').split('\n').find((l) => l.startsWith('{'))));
    assert.equal(out.uid, alice.uid);
    assert.equal(out.gid, alice.gid);
    assert.deepEqual([...out.groups].sort(), [...alice.groups].sort());
    const st = fs.statSync(log);
    assert.equal(st.uid, alice.uid);
    assert.equal(st.mode & 0o777, 0o640);
  });
});

describe('other users\' processes are invisible and untouchable', { skip }, () => {
  test('ls shows only your own', async () => {
    const mine = await d.json(['ls'], { as: alice });
    assert.deepEqual(mine.map((p: any) => p.name), ['alices-app']);
    const bobs = await d.json(['ls'], { as: bob });
    assert.deepEqual(bobs.map((p: any) => p.name), ['bobs-app']);
    assert.equal((await d.ls()).length, 2, 'root sees both');
  });

  test("the table method (GET /v1/processes' listing) over the socket shows only your own, as ls does", async () => {
    // A client in a process of hers: the caller is what the kernel says (SO_PEERCRED).
    const script = path.join(tempDir('pms-js-', 0o755), 'table.js');
    fs.writeFileSync(
      script,
      `const { Client } = require(${JSON.stringify(path.join(ROOT, 'dist', 'internal', 'client', 'client.js'))});
Client.connect(process.argv[2]).then(async (c) => { const r = await c.call('table', {}); c.close(); process.stdout.write(JSON.stringify(r)); });
`,
    );
    fs.chmodSync(script, 0o644);
    for (const [u, want] of [[alice, ['alices-app']], [bob, ['bobs-app']]] as const) {
      const [f, a] = asUserArgv(u, [process.execPath, script, d.socket]);
      const out = JSON.parse(execFileSync(f, a, { encoding: 'utf8' }));
      assert.deepEqual(out.processes.map((p: any) => p.name), want, `${u.name}'s table`);
      assert.equal(out.processes[0].env, undefined, 'a table row carries no environment');
    }
  });

  for (const args of [['desc'], ['stop'], ['stop', '-f'], ['restart'], ['start'], ['del'], ['del', '-f'], ['log'], ['logf'], ['logs'], ['logs', '-f'], ['reset']]) {
    test(`${args.join(' ')} on another user's process: not found, nothing changes`, async () => {
      for (const target of ['bobs-app', String(bobProc.id)]) {
        await denied([args[0]!, target, ...args.slice(1)], alice, 3, /not found/);
      }
      const b = await d.get('bobs-app');
      assert.equal(b.pid, bobProc.pid);
      assert.equal(b.restarts, 0);
      assert.ok(pidAlive(bobProc.pid));
    });
  }

  test('all, and logs without a target, reach only your own', async () => {
    for (const [cmd, status] of [['stop', 'stopped'], ['start', 'running'], ['restart', 'running']] as const) {
      const r = await d.json([cmd, 'all'], { as: alice });
      assert.deepEqual(r.map((p: any) => [p.name, p.status]), [['alices-app', status]], cmd);
      for (const p of r) if (p.pid) d.seenPids.add(p.pid);
    }
    assert.deepEqual((await d.json(['reset', 'all'], { as: alice })).map((p: any) => p.name), ['alices-app']);
    const logs = await d.run(['logs', '-n', '5'], { as: alice });
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(/bobs-app/.test(logs.stdout + logs.stderr), false, "nothing of bob's");
    const b = await d.get('bobs-app');
    assert.deepEqual([b.pid, b.restarts], [bobProc.pid, 0], "bob's process untouched");
    assert.ok(pidAlive(bobProc.pid));
  });

  test('kill, drop and init act only on your own', async () => {
    const k = await d.json(['kill', '-f'], { as: alice });
    assert.deepEqual(k.map((p: any) => p.name), ['alices-app']);
    assert.ok(pidAlive(bobProc.pid), "bob's process survives alice's kill");
    const i = await d.json(['init'], { as: alice });
    assert.deepEqual(i.map((p: any) => p.name), ['alices-app']);
    const dr = await d.json(['drop', '-f'], { as: alice });
    assert.deepEqual(dr.map((p: any) => p.name), ['alices-app']);
    assert.equal((await d.get('bobs-app')).pid, bobProc.pid, "bob's process survives alice's drop");
  });

  test('a member of admin_group acts on everyone\'s processes, as root does', async () => {
    const all = await d.json(['ls'], { as: carol });
    assert.ok(all.some((p: any) => p.name === 'bobs-app'));
    const r = await d.json(['restart', 'bobs-app'], { as: carol });
    assert.equal(r.restarts, 1);
    d.seenPids.add(r.pid);
    bobProc = r;
    const p = await d.json(['exec', '/bin/sleep', '--name', 'carol-for-bob', '-u', bob.name, '-a', '300'], { as: carol });
    assert.equal(p.user, bob.name);
    await d.json(['del', 'carol-for-bob'], { as: carol });
  });

  test('the admin door is admin_group\'s too: 0660 root:admin_group; a member connects, anyone else is refused by the kernel', async () => {
    const { execFileSync } = await import('node:child_process');
    const admin = `${d.socket}.admin`;
    const st = fs.lstatSync(admin);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, Number(execFileSync('getent', ['group', users.group('su-admins')], { encoding: 'utf8' }).split(':')[2]));
    const probe = `require('net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const tryAs = (u: TestUser): string => {
      const [cmd, argv] = asUserArgv(u, [process.execPath, '-e', probe, admin]);
      return execFileSync(cmd, argv, { encoding: 'utf8' }).trim();
    };
    assert.equal(tryAs(carol), 'connected');
    assert.equal(tryAs(alice), 'EACCES');
    assert.equal(tryAs(bob), 'EACCES');
  });
});

describe('log files cannot be turned against root', { skip }, () => {
  test('--log into a root-owned place is refused and nothing is written there', async () => {
    for (const target of ['/etc/pmon3-pwned.log', '/root/pmon3-pwned.log', '/etc/passwd']) {
      const before = fs.existsSync(target) ? fs.readFileSync(target) : null;
      await denied(['exec', '/bin/sleep', '--name', 'evil', '-l', target, '-a', '1'], alice, 2, /Permission denied/);
      const now = fs.existsSync(target) ? fs.readFileSync(target) : null;
      assert.deepEqual(now, before, `${target} untouched`);
    }
  });

  test('a planted symlink (file or directory) does not redirect root\'s writes', async () => {
    const link = path.join(playground, 'app.log');
    fs.symlinkSync('/etc/pmon3-symlinked.log', link);
    fs.lchownSync(link, alice.uid, alice.gid);
    await denied(['exec', '/bin/sleep', '--name', 'evil', '-l', link, '-a', '1'], alice, 2, /symbolic link/);
    const dirLink = path.join(playground, 'etc');
    fs.symlinkSync('/etc', dirLink);
    fs.lchownSync(dirLink, alice.uid, alice.gid);
    await denied(['exec', '/bin/sleep', '--name', 'evil', '-l', path.join(dirLink, 'pmon3-through-dir.log'), '-a', '1'], alice, 2, /Permission denied/);
    assert.equal(fs.existsSync('/etc/pmon3-symlinked.log'), false);
    assert.equal(fs.existsSync('/etc/pmon3-through-dir.log'), false);
  });

  test('a log swapped for a symlink to a secret cannot be read through pmond', async () => {
    const log = path.join(playground, 'real.log');
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'swapper', '-n', '-l', log, '-a', '0 0'], { as: alice });
    await waitFor('log written', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('out pid'));
    assert.equal(fs.statSync(log).uid, alice.uid, 'created with the user\'s rights');
    const ok = await d.json(['log', 'swapper'], { as: alice });
    assert.match(ok.text, /out pid/);
    fs.unlinkSync(log);
    fs.symlinkSync('/etc/shadow', log);
    await denied(['log', 'swapper'], alice, 5, /symbolic link/);
    // a hard link (or any file not owned by the process's user) is refused too
    fs.unlinkSync(log);
    fs.writeFileSync(log, 'root secret\n');
    await denied(['log', 'swapper'], alice, 5, /not a regular file owned by the process's user/);
    await d.json(['del', 'swapper'], { as: alice });
  });
});

describe('files', { skip }, () => {
  test('database, pmond.log and the socket have the documented modes', () => {
    assert.equal(fs.statSync(path.join(d.data, 'data.db')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(d.data).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(d.logs, 'pmond.log')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(d.socket).mode & 0o777, 0o666);
  });
});
