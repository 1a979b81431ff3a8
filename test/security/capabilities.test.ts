/**
 * Paths as the user means without root's capabilities too. A user's rights
 * are more than an fsuid: a root thread that only switched its fsuid keeps
 * CAP_SYS_PTRACE, which passes the ptrace check that guards /proc/PID/cwd,
 * /root and /fd of another user's process; those magic links jump past every
 * directory on the way, so `log` through a directory swapped for
 * /proc/<bob's pid>/cwd would read inside bob's 0700 home, or tell what is
 * there. And where pmond runs with securebits that keep capabilities across
 * uid changes (SECBIT_NO_SETUID_FIXUP, set by a service manager), neither a
 * switched fsuid nor a setuid() drops any of them. Every answer here must be
 * what the user's own shell would give: the same whether the file exists.
 * Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
const daemons: TestDaemon[] = [];
let eve: TestUser;
let bob: TestUser;
let play: string;
let bobWork: string;
let bobProc: ChildProcess;
let vault: string;
const SECRET = 'BOB-SECRET-51c2';

before(async () => {
  if (skip) return;
  eve = users.add('pmon3-ca-eve');
  bob = users.add('pmon3-ca-bob');
  play = fs.mkdtempSync('/tmp/pmc-');
  fs.chmodSync(play, 0o755);
  fs.chownSync(play, eve.uid, eve.gid);
  // bob's home is his alone; inside it a directory anyone could read if they could get there,
  // holding a file that even belongs to eve (an admin's copy): her shell cannot reach it.
  const home = `/home/${bob.name}`;
  fs.chmodSync(home, 0o700);
  bobWork = path.join(home, 'work');
  fs.mkdirSync(bobWork, { recursive: true, mode: 0o755 });
  fs.chownSync(bobWork, bob.uid, bob.gid);
  fs.writeFileSync(path.join(bobWork, 'app.log'), `${SECRET}\n`, { mode: 0o600 });
  fs.chownSync(path.join(bobWork, 'app.log'), eve.uid, eve.gid);
  const [cmd, argv] = asUserArgv(bob, ['/bin/sleep', '600']);
  bobProc = spawn(cmd, argv, { cwd: bobWork, stdio: 'ignore' });
  await waitFor('bob\'s process to run in his home', () => {
    try {
      return fs.readlinkSync(`/proc/${bobProc.pid}/cwd`) === bobWork && fs.readFileSync(`/proc/${bobProc.pid}/status`, 'utf8').includes(`Uid:\t${bob.uid}`);
    } catch {
      return false;
    }
  });
  vault = fs.mkdtempSync('/tmp/pmv-');
  fs.chmodSync(vault, 0o700);
});
after(async () => {
  bobProc?.kill('SIGKILL');
  for (const d of daemons) await d.stop();
  users.cleanup();
  for (const dir of [play, vault]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function start(opts: ConstructorParameters<typeof TestDaemon>[1] = {}): Promise<TestDaemon> {
  const d = await TestDaemon.start(opts);
  daemons.push(d);
  return d;
}

/** eve's process `name` with its log in play/<name>/app.log; returns the log's directory. */
async function eveProcess(d: TestDaemon, name: string): Promise<string> {
  const dir = path.join(play, name);
  fs.mkdirSync(dir);
  fs.chownSync(dir, eve.uid, eve.gid);
  const r = await d.run(['exec', '/bin/sleep', '--name', name, '-l', path.join(dir, 'app.log'), '--json', '--', '300'], { as: eve });
  assert.equal(r.code, 0, r.stderr);
  d.seenPids.add(JSON.parse(r.stdout).pid);
  fs.renameSync(dir, `${dir}.old`);
  return dir;
}

/** Point eve's log directory at target (a symlink she owns), then ask for `pmon3 log` as eve. */
async function logThrough(d: TestDaemon, name: string, dir: string, target: string): Promise<{ code: number; stdout: string; stderr: string }> {
  fs.rmSync(dir, { force: true });
  fs.symlinkSync(target, dir);
  fs.lchownSync(dir, eve.uid, eve.gid);
  return d.run(['log', name], { as: eve });
}

describe('log through /proc magic links of another user\'s process', { skip }, () => {
  test('/proc/<bob>/cwd and /proc/<bob>/root answer as a path eve cannot see, whether or not the file exists', async () => {
    const d = await start();
    const dir = await eveProcess(d, 'magic');
    const log = path.join(dir, 'app.log');
    const denied = `pmon3: log ${log}: Permission denied\n`;
    // What her shell says: bob's home is closed to her.
    const plain = await logThrough(d, 'magic', dir, bobWork);
    assert.equal(plain.code, 5);
    assert.equal(plain.stderr, denied);
    const answers: Array<[string, { code: number; stdout: string; stderr: string }]> = [];
    for (const exists of [true, false]) {
      if (!exists) fs.renameSync(path.join(bobWork, 'app.log'), path.join(bobWork, 'moved.log'));
      for (const target of [`/proc/${bobProc.pid}/cwd`, `/proc/${bobProc.pid}/root${bobWork}`]) {
        answers.push([`${target} (file ${exists ? 'there' : 'absent'})`, await logThrough(d, 'magic', dir, target)]);
      }
    }
    fs.renameSync(path.join(bobWork, 'moved.log'), path.join(bobWork, 'app.log'));
    for (const [what, a] of answers) {
      assert.equal(a.stdout.includes(SECRET), false, `${what}: the content never reaches eve`);
      assert.equal(a.code, 5, `${what}: ${a.stderr}`);
      assert.equal(a.stderr, denied, what);
    }
    assert.ok(pidAlive(bobProc.pid!));
  });
});

describe('a pmond whose capabilities survive uid changes (securebits no_setuid_fixup)', { skip }, () => {
  test('a --log in a root-only directory and a log read through one are refused as for eve\'s shell', async () => {
    // Securebits are inherited: the exec helper and every program start with them too.
    const d = await start({ wrap: ['setpriv', '--securebits', '+no_setuid_fixup', '--'] });
    assert.match(fs.readFileSync(`/proc/${d.pid}/status`, 'utf8'), /CapEff:\s+0*[1-9a-f]/, 'pmond runs with capabilities');
    // Creating a log where only root may write.
    const planted = path.join(vault, 'planted.log');
    const r = await d.run(['exec', '/bin/sleep', '--name', 'plant', '-l', planted, '--', '300'], { as: eve });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `pmon3: log ${planted}: Permission denied\n`);
    assert.equal(fs.existsSync(planted), false, 'nothing was created in the root-only directory');
    // Her program runs without a capability.
    const ok = await d.run(['exec', '/bin/sleep', '--name', 'capless', '--json', '--', '300'], { as: eve });
    assert.equal(ok.code, 0, ok.stderr);
    const pid = JSON.parse(ok.stdout).pid as number;
    d.seenPids.add(pid);
    for (const set of ['CapPrm', 'CapEff', 'CapAmb']) {
      assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`${set}:\\s+0+\\n`), `${set} of eve's program`);
    }
    // Reading: eve's log directory swapped for the root-only one, which holds a file of hers.
    fs.writeFileSync(path.join(vault, 'app.log'), 'ROOT-ONLY-DIR\n', { mode: 0o600 });
    fs.chownSync(path.join(vault, 'app.log'), eve.uid, eve.gid);
    const dir = await eveProcess(d, 'fixup');
    const a = await logThrough(d, 'fixup', dir, vault);
    assert.equal(a.stdout.includes('ROOT-ONLY-DIR'), false);
    assert.equal(a.code, 5, a.stderr);
    assert.equal(a.stderr, `pmon3: log ${path.join(dir, 'app.log')}: Permission denied\n`);
  });
});
