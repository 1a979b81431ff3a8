/**
 * Time and order against a real pmond: a 6-field cron every second fires within 100 ms of each
 * second and never overlaps a slow run; pmond killed with SIGKILL between runs neither loses nor
 * doubles one; once apps complete or fail with their reason; Meproc's after orders starts and
 * exits; per-app hooks run as the app's user with a hostile argument reaching them exactly;
 * exec_stop; save_log_on_crash with desc and log --crash; run, trystart and info.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const STAMP = path.join(FIXTURES, 'tasks', 'stamp.sh');
const users = new TestUsers();
let d: TestDaemon;
let dir: string;
let u: TestUser | undefined;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmtk-', 0o755);
  if (isRoot()) u = users.add('tk-carol');
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const logOf = (name: string): string => {
  try {
    return fs.readFileSync(path.join(d.logs, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
};
/** The "start" lines of a stamp.sh app's log: scheduled time (ms) and start time (ms). */
const starts = (name: string): Array<{ at: number; start: number }> =>
  logOf(name)
    .split('\n')
    .filter((l) => l.startsWith(`${name} start `))
    .map((l) => {
      const [, , at, ns] = l.split(' ');
      return { at: Date.parse(at!), start: Number(BigInt(ns!) / 1_000_000n) };
    });
const ends = (name: string): number[] =>
  logOf(name)
    .split('\n')
    .filter((l) => l.startsWith(`${name} end `))
    .map((l) => Number(BigInt(l.split(' ')[2]!) / 1_000_000n));

test('a 6-field cron every second fires within 100 ms of each second; a slow run is never overlapped', async () => {
  const file = write(
    'cron.yaml',
    `apps:
  - name: tick
    exec: ${STAMP}
    cron: "* * * * * *"
  - name: slow
    exec: ${STAMP}
    args: ["2.5"]
    cron: "* * * * * *"
`,
  );
  await d.json(['apply', '-f', file]);
  await waitFor('five ticks', () => starts('tick').length >= 5, 15_000);
  await waitFor('two slow runs ended', () => ends('slow').length >= 2, 15_000);
  await d.json(['stop', 'tick']);
  await d.json(['stop', 'slow']);
  const ticks = starts('tick');
  for (const t of ticks) assert.equal(t.at % 1000, 0, 'scheduled on the second');
  // When pmond started each run (its log's "tick: started pid", the spawn done): within 100 ms of
  // the second. The program's own first line comes later by a shell's start, under load more.
  const spawned = fs
    .readFileSync(path.join(d.logs, 'pmond.log'), 'utf8')
    .split('\n')
    .filter((l) => / tick: started pid /.test(l))
    .map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
  assert.ok(spawned.length >= ticks.length - 1, `${spawned.length} spawns logged for ${ticks.length} ticks`);
  const late = spawned.map((t) => t % 1000).sort((a, b) => a - b);
  for (const ms of late) assert.ok(ms < 100, `a tick was spawned ${ms} ms after its second: ${late.join(' ')}`);
  const own = ticks.map((t) => t.start - t.at).sort((a, b) => a - b);
  // eslint-disable-next-line no-console
  console.log(`# cron figures: ${ticks.length} ticks; spawned ms after the second: median ${late[late.length >> 1]} max ${late.at(-1)}; first line of the program: median ${own[own.length >> 1]} max ${own.at(-1)}`);
  // Every second between the first and the last tick ran once.
  const seconds = ticks.map((t) => t.at / 1000);
  assert.deepEqual(seconds, seconds.map((_, i) => seconds[0]! + i), 'no second lost, none twice');
  // slow: each run starts after the one before it ended (overlap skip).
  const s = starts('slow');
  const e = ends('slow');
  for (let i = 1; i < s.length; i++) assert.ok(s[i]!.start >= e[i - 1]!, `slow run ${i} began before run ${i - 1} ended`);
  const desc = await d.json(['desc', 'tick']);
  assert.equal(desc.type, 'cron');
  assert.equal(desc.status, 'stopped');
  assert.match(desc.reason, /^stopped by uid \d+$/);
});

test('pmond killed with SIGKILL between runs: the schedule goes on, no run lost, none doubled', async () => {
  const file = write(
    'kill.yaml',
    `apps:
  - name: every2
    exec: ${STAMP}
    cron: "*/2 * * * * *"
`,
  );
  await d.json(['apply', '-f', file]);
  await waitFor('two runs', () => starts('every2').length >= 2, 15_000);
  for (let k = 0; k < 2; k++) {
    // Right after a run ended: the next is about 2 s away.
    const n = starts('every2').length;
    await waitFor('a run ended', () => ends('every2').length >= n, 10_000);
    process.kill(d.pid, 'SIGKILL');
    await waitFor('pmond gone', () => {
      try {
        process.kill(d.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    await d.launch();
    await waitFor('two more runs', () => starts('every2').length >= n + 2, 20_000);
  }
  await d.json(['stop', 'every2']);
  const at = starts('every2').map((t) => t.at / 1000);
  assert.deepEqual(at, at.map((_, i) => at[0]! + 2 * i), `every even second once: ${at.join(' ')}\n${logOf('every2')}\n${fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').split('\n').filter((l) => /every2|listening|shutting/.test(l)).slice(-40).join('\n')}`);
});

test('once: exit 0 is completed, non-zero failed with its reason, neither restarted; run runs it again', async () => {
  const file = write(
    'once.yaml',
    `apps:
  - name: ok-once
    type: once
    exec: /bin/sh
    args: ["-c", "echo done"]
  - name: bad-once
    type: once
    exec: /bin/sh
    args: ["-c", "exit 7"]
`,
  );
  await d.json(['apply', '-f', file]);
  const ok = await d.waitProc('ok-once', 'completed', (p) => p.status === 'completed');
  const bad = await d.waitProc('bad-once', 'failed', (p) => p.status === 'failed');
  assert.equal(ok.reason, 'completed (exit code 0)');
  assert.equal(bad.reason, 'exited with code 7');
  assert.equal(ok.restarts + bad.restarts, 0);
  const ran = await d.json(['run', 'ok-once']);
  assert.equal(ran[0].name, 'ok-once');
  await waitFor('a second run', () => logOf('ok-once').split('done').length - 1 === 2);
  await d.waitProc('ok-once', 'completed again', (p) => p.status === 'completed');
  const info = await d.json(['info']);
  assert.ok(info.counts.completed >= 1 && info.counts.failed >= 1, JSON.stringify(info.counts));
  assert.equal(info.data_dir, d.data);
  const r = await d.run(['run', 'no-such-app-name-here']);
  assert.notEqual(r.code, 0, 'not a process: run is exec, and there is no such binary');
  assert.match(r.stderr, /command not found/);
});

test("Meproc's seed example: sleep2 after sleep1, sleep3 after sleep1 and sleep2, two replicas each", async () => {
  const app = (n: string, afterList: string) => `  - name: ${n}
    type: once
    instances: 2
    exec: ${STAMP}
    args: ["0.4"]
${afterList ? `    after: [${afterList}]\n` : ''}`;
  const file = write('meproc.yaml', `apps:\n${app('sleep1', '')}${app('sleep2', 'sleep1')}${app('sleep3', 'sleep1, sleep2')}`);
  await d.json(['apply', '-f', file]);
  for (const n of ['sleep1', 'sleep2', 'sleep3']) await waitFor(`${n} completed`, async () => (await d.ls()).filter((p) => p.app === n && p.status === 'completed').length === 2, 20_000);
  const events = ['sleep1', 'sleep2', 'sleep3']
    .flatMap((n) => [...starts(n).map((s) => ({ n, what: 'start', t: s.start })), ...ends(n).map((t) => ({ n, what: 'end', t }))])
    .sort((a, b) => a.t - b.t)
    .map((e) => `${e.what} ${e.n}`);
  assert.deepEqual(events, ['start sleep1', 'start sleep1', 'end sleep1', 'end sleep1', 'start sleep2', 'start sleep2', 'end sleep2', 'end sleep2', 'start sleep3', 'start sleep3', 'end sleep3', 'end sleep3']);
});

test('hooks run as the app\'s user, a hostile argument reaching them exactly; exec_stop stops it; a failing pre_start fails the start', { skip: isRoot() ? false : 'needs root to run apps as another user' }, async () => {
  const out = path.join(dir, 'hook-out');
  fs.mkdirSync(out, { mode: 0o777 });
  fs.chmodSync(out, 0o777);
  const hostile = `$(touch ${dir}/pwned) ; rm -rf / "q" 'q' \`id\` \\n`;
  const rec = (which: string) => JSON.stringify(['/bin/sh', '-c', `id -u > ${out}/${which}.uid; printf %s "$1" > ${out}/${which}.arg; echo "$PMON3_HOOK $PMON3_REASON" > ${out}/${which}.env`, 'sh', hostile]);
  const file = write(
    'hooks.yaml',
    `apps:
  - name: hooked
    user: ${u!.name}
    exec: /bin/sleep
    args: ["1000"]
    pre_start: ${rec('pre_start')}
    post_start: ${rec('post_start')}
    pre_stop: ${rec('pre_stop')}
    post_stop: ${rec('post_stop')}
    exec_stop: ["/bin/sh", "-c", "echo stop $MAINPID > ${out}/exec_stop; kill $MAINPID"]
  - name: gated
    exec: /bin/sleep
    args: ["1000"]
    pre_start: ["/bin/false"]
`,
  );
  await d.json(['apply', '-f', file]);
  const p = await d.waitProc('hooked', 'running', (x) => x.status === 'running');
  await waitFor('post_start', () => fs.existsSync(`${out}/post_start.arg`));
  await d.json(['stop', 'hooked']);
  await waitFor('post_stop', () => fs.existsSync(`${out}/post_stop.arg`));
  for (const w of ['pre_start', 'post_start', 'pre_stop', 'post_stop']) {
    assert.equal(fs.readFileSync(`${out}/${w}.uid`, 'utf8').trim(), String(u!.uid), `${w} ran as the app's user`);
    assert.equal(fs.readFileSync(`${out}/${w}.arg`, 'utf8'), hostile, `${w} got the argument exactly`);
  }
  assert.match(fs.readFileSync(`${out}/post_stop.env`, 'utf8'), /^post_stop stopped by uid 0/);
  assert.equal(fs.readFileSync(`${out}/exec_stop`, 'utf8').trim(), `stop ${p.pid}`);
  assert.equal(fs.existsSync(`${dir}/pwned`), false, 'nothing was run by a shell on pmond\'s side');
  const desc = await d.json(['desc', 'hooked']);
  assert.equal(desc.status, 'stopped');
  assert.equal(desc.last_signal, 'SIGTERM', 'ended by exec_stop\'s kill, before any stop signal of pmond');
  const gated = await d.waitProc('gated', 'failed', (x) => x.status === 'failed');
  assert.match(gated.reason, /^pre_start: pre_start exited with code 1/);
  assert.equal(gated.pid, null);
});

test('save_log_on_crash keeps the end of the output of an abnormal exit; desc lists it, log --crash shows it; trystart', async () => {
  const file = write(
    'crash.yaml',
    `apps:
  - name: crasher
    type: once
    exec: /bin/sh
    args: ["-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; exit 5"]
    save_log_on_crash: true
    crash_log_kib: 4
`,
  );
  await d.json(['apply', '-f', file]);
  await d.waitProc('crasher', 'failed', (p) => p.status === 'failed');
  const desc = await waitFor('a crash file', async () => {
    const v = await d.json(['desc', 'crasher']);
    return v.crash_files?.length ? v : null;
  });
  assert.match(desc.crash_files[0], /crasher\.log\.crash-\d{8}T\d{9}Z$/);
  const shown = await waitFor('the trailer', async () => {
    const r = await d.json(['log', 'crasher', '--crash', '-n', '1000']);
    return r.text.includes('--- pmon3:') ? r : null;
  });
  assert.equal(shown.path, desc.crash_files[0]);
  assert.ok(shown.text.includes('line-2999'), 'the last line');
  assert.ok(!shown.text.includes('line-100\n'), 'only the end (4 KiB)');
  assert.match(shown.text, /exited with code 5/);
  const none = await d.run(['log', 'ok-once', '--crash']);
  assert.equal(none.code, 3, none.stderr);
  assert.match(none.stderr, /no crash file/);
  // trystart: not running, so started; running, so restarted.
  const t1 = await d.json(['trystart', 'crasher']);
  assert.equal(t1[0].name, 'crasher');
  await d.json(['del', 'crasher']);
  assert.equal(fs.readdirSync(d.logs).filter((f) => f.startsWith('crasher.log')).length, 0, 'its log and crash files went with it');
});

test('attack: a crash file of a log the user swapped for a link to /etc/shadow holds nothing of it (read as the user)', { skip: isRoot() ? false : 'needs root' }, async () => {
  const home = path.join(dir, 'carol-logs');
  fs.mkdirSync(home, { mode: 0o755 });
  fs.chownSync(home, u!.uid, u!.gid);
  const log = path.join(home, 'swap.log');
  const file = write(
    'swap.yaml',
    `apps:
  - name: swap
    type: once
    user: ${u!.name}
    log: ${log}
    exec: /bin/sh
    args: ["-c", "echo before; mv ${log} ${log}.old; ln -s /etc/shadow ${log}; exit 9"]
    save_log_on_crash: true
`,
  );
  await d.json(['apply', '-f', file]);
  await d.waitProc('swap', 'failed', (p) => p.status === 'failed');
  const crash = await waitFor('its crash file', async () => {
    const v = await d.json(['desc', 'swap']);
    const f = v.crash_files?.[0] as string | undefined;
    return f && fs.readFileSync(f, 'utf8').includes('--- pmon3:') ? f : null;
  });
  assert.ok(crash.startsWith(path.join(d.logs, u!.name) + '/'), 'in pmond\'s own directory for the user, not next to the swapped log');
  const text = fs.readFileSync(crash, 'utf8');
  assert.ok(!text.includes('root:'), 'nothing of /etc/shadow');
  assert.equal(fs.statSync(crash).uid, u!.uid, "handed to the user, as the user's log is");
  assert.ok(!fs.lstatSync(log).isFile(), 'the link is still there: it was read through as the user, and refused');
  await d.json(['del', 'swap']);
});
