/**
 * Class 6 of the hardening issue, as a real user: stop and exit cleanup
 * reach every descendant. Where cgroup v2 is usable each process runs in a
 * cgroup of its own and the cgroup is killed, so a descendant the user made
 * leave the process group and session with setsid() is gone too. Without
 * cgroups (config `cgroups: false`, or none usable) pmond says so, and stops
 * by process group. Skips visibly without root or cgroup v2.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cgroup2Mount } from '../../internal/process/cgroups';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const mount = cgroup2Mount();
const skip = !isRoot() ? 'needs root to create cgroups' : !mount ? 'no cgroup2 file system is mounted here' : false;
const users = new TestUsers();
let d: TestDaemon;
let oscar: TestUser;
const escaped: number[] = [];

before(async () => {
  if (skip) return;
  oscar = users.add('es-oscar');
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
  users.cleanup();
  for (const pid of escaped) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
});

/** The pid the fixture's escaped descendant printed in the log of `name`. */
async function escapedPid(log: string): Promise<number> {
  const pid = await waitFor('the escaped pid', () => Number(/escaped (\d+)/.exec(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')?.[1]) || 0);
  escaped.push(pid);
  return pid;
}

describe('cgroup v2', { skip }, () => {
  test('each process has a cgroup of its own; pmon3 version and desc say so', async () => {
    const v = JSON.parse((await d.run(['version', '--json'])).stdout);
    assert.match(v.health.cgroups, /^cgroup v2 \(/);
    const p = await d.json(['exec', '/bin/sleep', '--name', 'caged', '--', '300']);
    assert.ok(p.cgroup, 'desc shows its cgroup');
    assert.ok(fs.readFileSync(path.join(p.cgroup, 'cgroup.procs'), 'utf8').split('\n').includes(String(p.pid)));
    await d.json(['del', 'caged', '-f']);
    await waitFor('its cgroup to be removed with it', () => !fs.existsSync(p.cgroup));
  });

  test('stop kills a descendant that left the process group and session', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'escape.sh'), '--name', 'escaper'], { as: oscar });
    assert.equal(p.user, oscar.name);
    const pid = await escapedPid(p.log);
    assert.ok(pidAlive(pid));
    // Moving itself out of its cgroup needs write access to another cgroup's cgroup.procs: he has none.
    await d.json(['stop', 'escaper'], { as: oscar });
    assert.equal(pidAlive(pid), false, 'the setsid()\'d descendant is gone after stop');
    await d.json(['del', 'escaper'], { as: oscar });
  });

  test('when the main process exits, what it left behind goes with it', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'escape.sh'), '--name', 'leaver', '-n', '--', 'exit'], { as: oscar });
    const pid = await escapedPid(p.log);
    await d.waitProc('leaver', 'to stop', (x) => x.status === 'stopped');
    await waitFor('the leftover to be killed', () => !pidAlive(pid));
    await d.json(['del', 'leaver'], { as: oscar });
  });
});

describe('without cgroups', { skip }, () => {
  test('cgroups: false: pmond says it stops by process group, and desc shows no cgroup', async () => {
    const plain = await TestDaemon.start({ config: { cgroups: false } });
    try {
      const v = JSON.parse((await plain.run(['version', '--json'])).stdout);
      assert.match(v.health.cgroups, /^process groups \(turned off by the config key cgroups: false\)/);
      const p = await plain.json(['exec', '/bin/sleep', '--name', 'loose', '--', '300']);
      assert.equal(p.cgroup, null);
      assert.match(fs.readFileSync(path.join(plain.logs, 'pmond.log'), 'utf8'), /cgroups: not used \(turned off/);
    } finally {
      await plain.stop();
      fs.rmSync(plain.dir, { recursive: true, force: true });
    }
  });
});
