/**
 * Every pmon3 command against a real pmond and real child processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, PMON3, TestDaemon } from '../helpers/daemon';
import { pidAlive, waitFor } from '../helpers/wait';

let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
});

const readLog = (name: string): string => {
  try {
    return fs.readFileSync(path.join(d.logs, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
};

describe('exec, ls, desc', () => {
  test('exec starts a process; ls and desc report it', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'sleeper', '-a', '300']);
    assert.equal(p.name, 'sleeper');
    assert.equal(p.status, 'running');
    assert.ok(pidAlive(p.pid), 'pid is alive');
    assert.deepEqual(p.args, ['300']);
    assert.equal(p.restarts, 0);
    assert.equal(p.user, 'root');
    const list = await d.ls();
    const row = list.find((x: any) => x.name === 'sleeper');
    for (const k of ['id', 'name', 'pid', 'status', 'restarts', 'user', 'log', 'cpu', 'memory']) assert.ok(k in row, `ls --json has ${k}`);
    assert.equal(row.pid, p.pid);
    assert.equal(typeof row.memory, 'number');
    const byId = await d.json(['desc', String(p.id)]);
    const byName = await d.json(['show', 'sleeper']);
    assert.equal(byId.pid, p.pid);
    assert.equal(byName.id, p.id);
    assert.equal(byName.log, path.join(d.logs, 'sleeper.log'));
    // its own session and process group
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(f[2]), p.pid, 'pgid = pid');
    assert.equal(Number(f[3]), p.pid, 'sid = pid');
  });

  test('human ls is a table with the documented columns', async () => {
    const r = await d.run(['ls']);
    assert.equal(r.code, 0);
    for (const h of ['ID', 'Name', 'PID', 'Restarts', 'Status', 'User', 'CPU', 'Mem', 'Uptime']) assert.ok(r.stdout.includes(h), h);
    assert.match(r.stdout, /sleeper/);
    assert.equal((await d.run(['list'])).stdout.split('\n')[1], r.stdout.split('\n')[1]);
  });

  test('a relative binary resolves against the caller\'s cwd; default name is its file name without the extension', async () => {
    const p = await d.json(['run', './echo-args.js'], { cwd: FIXTURES });
    assert.equal(p.name, 'echo-args');
    assert.equal(p.process_file, path.join(FIXTURES, 'echo-args.js'));
    assert.equal(p.cwd, FIXTURES);
    await d.json(['del', 'echo-args']);
  });
});

describe('arguments and environment', () => {
  test('--args and -- args reach the child exactly, nothing is executed', async () => {
    const marker = path.join(d.dir, 'pwned');
    await d.json([
      'exec', path.join(FIXTURES, 'echo-args.js'), '--name', 'quoting',
      '-a', `one 'two three' "four \\"five\\"" $(touch ${marker}) \`touch ${marker}\` back\\\\slash`,
      '-e', `SHOW_ENV=FOO,BAR,EMPTY FOO="a b" BAR='$(touch ${marker})' EMPTY=`,
      '--', '--flag', 'x y', `'single'`, '$HOME',
    ]);
    const line = await waitFor('echo-args output', () => readLog('quoting').split('\n').find((l) => l.startsWith('{')));
    const out = JSON.parse(line);
    assert.deepEqual(out.argv, [
      'one', 'two three', 'four "five"', '$(touch', `${marker})`, '`touch', `${marker}\``, 'back\\slash',
      '--flag', 'x y', "'single'", '$HOME',
    ]);
    assert.deepEqual(out.env, { FOO: 'a b', BAR: `$(touch ${marker})`, EMPTY: '', PMON3_PROCESS_NAME: 'quoting' });
    assert.equal(fs.existsSync(marker), false, 'no shell ran');
    await d.json(['del', 'quoting']);
  });

  test('repeated words after -- keep their order (snapshot and dist/ paths)', async () => {
    for (const [name, env] of [['order-dist', { PMON3_NO_SNAPSHOT: '1' }], ['order-snapshot', {}]] as const) {
      const p = await d.json(['exec', path.join(FIXTURES, 'echo-args.js'), '--name', name, '-a', 'a', '--', 'b', 'a', 'b', '--flag', '--', '-h'], { env });
      assert.deepEqual(p.args, ['a', 'b', 'a', 'b', '--flag', '--', '-h'], name);
      await d.json(['del', name]);
    }
  });

  test('--cwd sets the working directory', async () => {
    await d.json(['exec', path.join(FIXTURES, 'echo-args.js'), '--name', 'cwd', '--cwd', '/tmp']);
    const line = await waitFor('output', () => readLog('cwd').split('\n').find((l) => l.startsWith('{')));
    assert.equal(JSON.parse(line).cwd, '/tmp');
    await d.json(['del', 'cwd']);
  });
});

describe('logs', () => {
  test('stdout and stderr land in the log file; log -n shows the tail', async () => {
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'logger', '-n', '-a', '0 0']);
    await d.waitProc('logger', 'stopped', (p) => p.status === 'stopped');
    const text = readLog('logger');
    assert.match(text, /^out pid \d+$/m);
    assert.match(text, /^err pid \d+$/m);
    const r = await d.json(['log', 'logger', '-n', '1']);
    assert.equal(r.text.trim().split('\n').length, 1);
    const human = await d.run(['log', 'logger']);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /out pid/);
  });

  test('--log and --log-dir choose where the log goes', async () => {
    const file = path.join(d.dir, 'custom', 'my.log');
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'customlog', '-n', '-l', file, '-a', '0 0']);
    await waitFor('custom log', () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('out pid'));
    const dir = path.join(d.dir, 'logdir');
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'dirlog', '-n', '-d', dir, '-a', '0 0']);
    await waitFor('log in log dir', () => fs.existsSync(path.join(dir, 'dirlog.log')) && fs.readFileSync(path.join(dir, 'dirlog.log'), 'utf8').includes('err pid'));
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), '640');
  });

  test('logf follows the log until interrupted', async () => {
    await d.json(['exec', path.join(FIXTURES, 'counter.sh'), '--name', 'counter']);
    const child = spawn(PMON3, ['logf', 'counter', '-n', '0'], { env: { ...process.env, PMON3_CONF: d.conf } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const first = Number(await waitFor('a first followed line', () => /line (\d+)/.exec(out)?.[1]));
      await waitFor('later lines', () => {
        const all = [...out.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
        return all.length > 20 && all.every((n, i) => n === first + i);
      });
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    await d.json(['del', 'counter']);
  });
});

describe('restart policy', () => {
  test('a crashing process is restarted and counted; last exit code kept', async () => {
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'crasher', '-a', '3 0.1']);
    const p = await d.waitProc('crasher', 'restarted 3 times', (x) => x.restarts >= 3);
    assert.equal(p.last_exit_code, 3);
    const pids = new Set<number>();
    await waitFor('several distinct pids', async () => {
      const x = await d.get('crasher');
      if (x.pid) pids.add(x.pid);
      return pids.size >= 2;
    });
    await d.json(['stop', 'crasher']);
    const s = await d.get('crasher');
    assert.equal(s.status, 'stopped');
    assert.equal(s.pid, null);
  });

  test('killed by a signal: restarted, with the signal recorded', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'victim', '-a', '300']);
    process.kill(p.pid, 'SIGKILL');
    const q = await d.waitProc('victim', 'restarted', (x) => x.restarts === 1 && x.status === 'running' && x.pid !== p.pid);
    assert.equal(q.last_signal, 'SIGKILL');
    d.seenPids.add(q.pid);
  });

  test('--no-autorestart: failed after a non-zero exit, stopped after exit 0', async () => {
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'once-bad', '-n', '-a', '2 0.05']);
    const bad = await d.waitProc('once-bad', 'failed', (x) => x.status === 'failed');
    assert.equal(bad.restarts, 0);
    assert.equal(bad.last_exit_code, 2);
    await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'once-good', '--no-autorestart', '-a', '0 0.05']);
    const good = await d.waitProc('once-good', 'stopped', (x) => x.status === 'stopped');
    assert.equal(good.last_exit_code, 0);
  });

  test('restart counts as a restart, start does not; reset clears counters', async () => {
    const a = await d.json(['restart', 'victim']);
    assert.equal(a.restarts, 2);
    assert.equal(a.status, 'running');
    d.seenPids.add(a.pid);
    await d.json(['stop', 'victim']);
    const b = await d.json(['start', 'victim']);
    assert.equal(b.restarts, 2);
    assert.equal(b.status, 'running');
    d.seenPids.add(b.pid);
    const r = await d.json(['reset', 'victim']);
    assert.equal(r[0].restarts, 0);
    const all = await d.json(['reset']);
    assert.ok(all.every((x: any) => x.restarts === 0));
  });
});

describe('stop, del, kill, init, drop', () => {
  test('stop ends the whole process tree', async () => {
    await d.json(['exec', path.join(FIXTURES, 'tree.sh'), '--name', 'tree']);
    const grand = await waitFor('two grandchildren', () => {
      const g = [...readLog('tree').matchAll(/grandchild (\d+)/g)].map((m) => Number(m[1]));
      return g.length === 2 ? g : undefined;
    });
    grand.forEach((g) => d.seenPids.add(g));
    assert.ok(grand.every(pidAlive));
    const s = await d.json(['stop', 'tree']);
    assert.equal(s.status, 'stopped');
    assert.deepEqual(grand.filter(pidAlive), [], 'no grandchild survives');
  });

  test('a process that ignores SIGTERM is killed after stop_timeout; -f kills at once', async () => {
    const p = await d.json(['exec', path.join(FIXTURES, 'stubborn.sh'), '--name', 'stubborn']);
    await waitFor('ready', () => readLog('stubborn').includes('ready'));
    const s = await d.json(['stop', 'stubborn']);
    assert.equal(s.status, 'stopped');
    assert.equal(pidAlive(p.pid), false);
    const q = await d.json(['start', 'stubborn']);
    await waitFor('ready twice', () => readLog('stubborn').split('ready').length > 2);
    const t0 = Date.now();
    await d.json(['stop', 'stubborn', '-f']);
    assert.equal(pidAlive(q.pid), false);
    assert.ok(Date.now() - t0 < 3000 + 2000, 'force did not wait for stop_timeout');
  });

  test('del stops and deletes; unknown ids are NOT_FOUND afterwards', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'doomed', '-a', '300']);
    const r = await d.json(['delete', 'doomed']);
    assert.equal(r.name, 'doomed');
    assert.equal(pidAlive(p.pid), false);
    const again = await d.run(['desc', 'doomed']);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /not found/);
    const q = await d.json(['exec', path.join(FIXTURES, 'stubborn.sh'), '--name', 'doomed2']);
    await d.json(['del', 'doomed2', '-f']);
    assert.equal(pidAlive(q.pid), false);
  });

  test('kill stops all, init starts the stopped ones, drop deletes all', async () => {
    const before = await d.ls();
    const running = before.filter((x: any) => x.status === 'running');
    assert.ok(running.length >= 1);
    const killed = await d.json(['kill']);
    assert.ok(killed.length >= running.length);
    assert.ok((await d.ls()).every((x: any) => x.status === 'stopped' || x.status === 'failed'));
    running.forEach((x: any) => assert.equal(pidAlive(x.pid), false));
    const started = await d.json(['init']);
    assert.equal(started.length, before.length);
    const now = await d.ls();
    assert.ok(now.filter((x: any) => x.auto_restart).every((x: any) => x.pid !== null || x.status !== 'stopped'));
    now.forEach((x: any) => x.pid && d.seenPids.add(x.pid));
    const dropped = await d.json(['drop', '-f']);
    assert.equal(dropped.length, before.length);
    assert.deepEqual(await d.ls(), []);
    now.filter((x: any) => x.pid).forEach((x: any) => assert.equal(pidAlive(x.pid), false, `${x.name} gone`));
  });

  test('version reports both sides', async () => {
    const v = await d.json(['version']);
    assert.match(v.pmon3, /^\d+\.\d+\.\d+/);
    assert.equal(v.pmond, v.pmon3);
  });
});
