/**
 * Hooks never hurt the daemon: a hanging hook is killed after hook_timeout,
 * a missing or failing one is logged, a restart storm forks a bounded number;
 * and a process that exits at once forever costs bounded restarts.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { cpuSeconds, zombieChildren } from '../helpers/os';
import { pidAlive, waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

let d: TestDaemon;
let dir: string;
let startOut: string;
let hangPids: string;
let stopBg: string;

before(async () => {
  dir = tempDir('pmh-');
  fs.chmodSync(dir, 0o755);
  startOut = path.join(dir, 'start.jsonl');
  hangPids = path.join(dir, 'hang.pids');
  const node = process.execPath;
  fs.writeFileSync(path.join(dir, 'on-start.js'), `#!${node}\nrequire('fs').appendFileSync(${JSON.stringify(startOut)}, process.argv[2] + '\\n');\n`, { mode: 0o755 });
  // The restart hook hangs: it must be killed after hook_timeout, and never more than hook_concurrency run at once.
  fs.writeFileSync(
    path.join(dir, 'on-restart.js'),
    `#!${node}\nrequire('fs').appendFileSync(${JSON.stringify(hangPids)}, process.pid + '\\n');\nsetInterval(() => {}, 1000);\n`,
    { mode: 0o755 },
  );
  // The stop hook also leaves a sleep behind in its group: it must not outlive hook_timeout.
  stopBg = path.join(dir, 'stop-bg.pids');
  fs.writeFileSync(path.join(dir, 'on-stop.sh'), `#!/bin/sh\nsleep 300 &\necho $! >> ${stopBg}\necho failing >&2\nexit 3\n`, { mode: 0o755 });
  d = await TestDaemon.start({
    dir,
    config: {
      on_process_start_exec: path.join(dir, 'on-start.js'),
      on_process_restart_exec: path.join(dir, 'on-restart.js'),
      on_process_stop_exec: path.join(dir, 'on-stop.sh'),
      on_process_failure_exec: path.join(dir, 'missing-hook'),
      hook_timeout: 1,
      hook_concurrency: 2,
      restart_backoff_initial: 20,
      restart_backoff_max: 200,
    },
  });
});
after(async () => {
  await d?.stop();
  for (const p of fs.existsSync(stopBg) ? fs.readFileSync(stopBg, 'utf8').split('\n').filter(Boolean).map(Number) : []) {
    if (pidAlive(p)) process.kill(p, 'SIGKILL');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const pmondLog = (): string => fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');
const running = (pids: string[]): string[] => pids.filter((p) => fs.existsSync(`/proc/${p}`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8')));

test('the start hook gets the process JSON as $1', async () => {
  const p = await d.json(['exec', '/bin/sleep', '--name', 'hooked', '-a', '300']);
  const j = await waitFor('start hook', () =>
    fs.existsSync(startOut) && fs.readFileSync(startOut, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((x) => x.name === 'hooked'),
  );
  assert.equal(j.pid, p.pid);
  assert.equal(j.status, 'running');
});

test('a failing stop hook and a missing failure hook are logged and change nothing', async () => {
  const s = await d.json(['stop', 'hooked']);
  assert.equal(s.status, 'stopped');
  await waitFor('stop hook failure logged', () => /hook stop failed: exit 3/.test(pmondLog()));
  // What it left in its group (its own session, not pmond's) is killed at hook_timeout, and that is logged.
  const bg = Number(await waitFor('the stop hook\'s background sleep', () => fs.existsSync(stopBg) && fs.readFileSync(stopBg, 'utf8').trim()));
  const session = (pid: number): string | undefined => {
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return st.slice(st.lastIndexOf(')') + 2).split(' ')[3];
    } catch {
      return undefined; // already gone
    }
  };
  const bgSession = session(bg);
  if (bgSession !== undefined) assert.notEqual(bgSession, session(d.pid), 'the hook runs in a session of its own');
  await waitFor('the background sleep killed at hook_timeout', () => !pidAlive(bg), 5000);
  await waitFor('the group kill logged', () => /hook stop failed: group killed after 1000 ms with 1 members left/.test(pmondLog()));
  await d.json(['exec', '/bin/false', '--name', 'fails-once', '-n']);
  await d.waitProc('fails-once', 'failed', (x) => x.status === 'failed');
  await waitFor('missing hook logged', () => /hook failure failed: ENOENT/.test(pmondLog()));
  assert.equal((await d.json(['version'])).pmond !== null, true);
});

test('a restart storm: hooks are bounded and hanging ones are killed; restarts slow down', async () => {
  const cpu0 = cpuSeconds(d.pid);
  await d.json(['exec', '/bin/false', '--name', 'storm']);
  const p = await d.waitProc('storm', 'restarted 10 times', (x) => x.restarts >= 10, 30_000);
  // With backoff doubling to a 200 ms cap, restarts stay slow: far fewer than a tight loop would do.
  assert.ok(p.restarts < 200, `bounded restarts: ${p.restarts}`);
  // Never more than hook_concurrency hooks alive at once.
  const seen = fs.readFileSync(hangPids, 'utf8').trim().split('\n');
  assert.ok(running(seen).length <= 2, `at most 2 hooks running, saw ${running(seen).length}`);
  await waitFor('a hanging hook killed after hook_timeout', () => /hook restart failed: killed after 1000 ms/.test(pmondLog()));
  // Other commands stay quick to answer during the storm.
  const ls = await d.run(['ls']);
  assert.equal(ls.code, 0);
  await d.json(['del', 'storm']);
  await waitFor('all hanging hooks gone', () => running(fs.readFileSync(hangPids, 'utf8').trim().split('\n')).length === 0, 15_000);
  await waitFor('no zombies under pmond', () => zombieChildren(d.pid).length === 0);
  console.log(`# storm figures: ${JSON.stringify({ restarts: p.restarts, hooksStarted: seen.length, daemonCpuSeconds: +(cpuSeconds(d.pid) - cpu0).toFixed(2) })}`);
});
