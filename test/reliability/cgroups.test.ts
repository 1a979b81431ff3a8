/**
 * Stop and exit cleanup reach every descendant: where cgroup v2 is usable,
 * each process runs in a cgroup of its own and the cgroup is killed, so even
 * a descendant that called setsid() (leaving the process group) is gone.
 * Without cgroups (config `cgroups: false`, or none usable) pmond says so,
 * and stops by process group. Skips visibly without root or cgroup v2.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cgroup2Mount } from '../../internal/process/cgroups';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { isRoot } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const mount = cgroup2Mount();
const skip = !isRoot() ? 'needs root to create cgroups' : !mount ? 'no cgroup2 file system is mounted here' : false;
let d: TestDaemon;
const escaped: number[] = [];

before(async () => {
  if (skip) return;
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
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
    assert.equal(fs.existsSync(p.cgroup), false, 'removed with the process');
  });

  test('stop kills a descendant that left the process group and session', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'escape.sh'), '--name', 'escaper']);
    const pid = await escapedPid(p.log);
    assert.ok(pidAlive(pid));
    await d.json(['stop', 'escaper']);
    assert.equal(pidAlive(pid), false, 'the setsid()\'d descendant is gone after stop');
    await d.json(['del', 'escaper']);
  });

  test('when the main process exits, what it left behind goes with it', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'escape.sh'), '--name', 'leaver', '-n', '--', 'exit']);
    const pid = await escapedPid(p.log);
    await d.waitProc('leaver', 'to stop', (x) => x.status === 'stopped');
    await waitFor('the leftover to be killed', () => !pidAlive(pid));
    await d.json(['del', 'leaver']);
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
