/**
 * PM2's watch and Firestarter's auto_upgrade against a real pmond: a change under a watched
 * directory restarts the app once the paths are quiet (debounced: a burst is one restart), an
 * ignored file does not; an app with shared sockets whose binary changes is reloaded instance by
 * instance (auto_upgrade); the watcher runs as the app's user; bad watch settings are refused.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { freePort } from '../helpers/net';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const ROLLING = path.join(FIXTURES, 'health', 'rolling.js');
const users = new TestUsers();
let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmwt-', 0o755);
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});


const pmondLog = (): string => fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');

test('watch: a burst of changes is one restart after the quiet time; an ignored file is none', async () => {
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'lib'), { recursive: true });
  const f = path.join(dir, 'w.yaml');
  fs.writeFileSync(f, `apps:\n  - name: w\n    exec: /bin/sleep\n    args: ["600"]\n    cwd: ${src}\n    watch: true\n    ignore_watch: ["*.tmp", "cache/**"]\n    watch_delay: 300ms\n`);
  await d.json(['apply', '-f', f]);
  const first = await d.waitProc('w', 'running', (p) => p.status === 'running');
  await waitFor('the watcher is up', () => /w: watching 1 path \(pid \d+\)/.test(pmondLog()));
  const watcher = Number(/w: watching 1 path \(pid (\d+)\)/.exec(pmondLog())![1]);
  await waitFor('the watcher watches', () => fs.readdirSync(`/proc/${watcher}/fd`).some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${watcher}/fd/${fd}`).includes('inotify');
    } catch {
      return false;
    }
  }), 10_000);
  fs.writeFileSync(path.join(src, 'scratch.tmp'), 'x');
  fs.mkdirSync(path.join(src, 'cache'));
  fs.writeFileSync(path.join(src, 'cache', 'blob'), 'x');
  await waitFor('time for a restart to have come', async () => Date.now() - Date.parse(first.started_at) > 1500, 10_000, 100);
  assert.equal((await d.get('w')).pid, first.pid, 'ignored files restart nothing');
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, 'lib', `m${i}.js`), String(i));
  const second = await d.waitProc('w', 'restarted', (p) => p.pid !== first.pid && p.status === 'running', 15_000);
  await waitFor('time for a second restart to have come', async () => Date.now() - Date.parse(second.started_at) > 1200, 10_000, 100);
  const now = await d.get('w');
  assert.equal(now.pid, second.pid, 'five changes in a burst: one restart');
  assert.equal(now.restarts, 1);
  await d.json(['del', 'w']);
  await waitFor('the watcher ends with the app', () => !fs.existsSync(`/proc/${watcher}`), 10_000);
});

test('auto_upgrade: the binary of an app with shared sockets changes, its instances are reloaded one by one', async () => {
  const port = await freePort();
  const mode = path.join(dir, 'mode');
  fs.writeFileSync(mode, 'ok');
  const bin = path.join(dir, 'web-bin');
  fs.writeFileSync(bin, `#!/bin/sh\n# v1\nexec ${process.execPath} ${ROLLING}\n`);
  fs.chmodSync(bin, 0o755);
  const f = path.join(dir, 'au.yaml');
  fs.writeFileSync(f, `apps:\n  - name: au\n    exec: ${bin}\n    env: {MODE_FILE: ${JSON.stringify(mode)}}\n    instances: 2\n    sockets: ["127.0.0.1:${port}"]\n    ready: notify\n    auto_upgrade: true\n    watch_delay: 200ms\n`);
  await d.json(['apply', '-f', f]);
  await waitFor('2 running', async () => (await d.ls()).filter((p) => p.name.startsWith('au:') && p.status === 'running').length === 2, 20_000);
  await waitFor('the watcher is up', () => /au: watching 1 path \(pid \d+\); a change reloads it/.test(pmondLog()));
  const before = (await d.ls()).filter((p) => p.name.startsWith('au:')).map((p) => p.pid);
  // A deploy: the new binary written beside and renamed over the old one.
  fs.writeFileSync(`${bin}.new`, `#!/bin/sh\n# v2\nexec ${process.execPath} ${ROLLING}\n`);
  fs.chmodSync(`${bin}.new`, 0o755);
  fs.renameSync(`${bin}.new`, bin);
  await waitFor('reloaded', () => /au: reloaded: 2 instances replaced/.test(pmondLog()), 20_000);
  const after = (await d.ls()).filter((p) => p.name.startsWith('au:'));
  assert.deepEqual(after.map((p) => p.name).sort(), ['au:0', 'au:1']);
  for (const p of after) assert.ok(!before.includes(p.pid), 'new processes');
  await d.json(['del', 'au']);
});

test("the watcher runs as the app's user", { skip: !isRoot() && 'needs root (test users)' }, async () => {
  const u = users.add('wt-gus');
  const wd = tempDir('pmwu-', 0o755);
  fs.chownSync(wd, u.uid, u.gid);
  const f = path.join(wd, 'u.yaml');
  fs.writeFileSync(f, `apps:\n  - name: uw\n    exec: /bin/sleep\n    args: ["600"]\n    cwd: ${wd}\n    watch: ["${wd}"]\n`);
  await d.json(['apply', '-f', f], { as: u });
  await d.waitProc('uw', 'running', (p) => p.status === 'running');
  await waitFor('the watcher is up', () => /uw: watching 1 path \(pid \d+\)/.test(pmondLog()));
  const pid = Number(/uw: watching 1 path \(pid (\d+)\)/.exec(pmondLog())![1]);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  assert.equal(uid, u.uid);
  await d.json(['del', 'uw'], { as: u });
  fs.rmSync(wd, { recursive: true, force: true });
});

test('bad watch settings are refused in one line', async () => {
  for (const [extra, re] of [['ignore_watch: ["*.tmp"]', /go with watch/], ['watch: 3', /watch/], ['watch: [""]', /watch/]] as const) {
    const f = path.join(dir, 'bw.yaml');
    fs.writeFileSync(f, `apps:\n  - name: bw\n    exec: /bin/sleep\n    ${extra}\n`);
    const r = await d.run(['apply', '-f', f]);
    assert.notEqual(r.code, 0, extra);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
