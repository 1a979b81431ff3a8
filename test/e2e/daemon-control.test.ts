/**
 * `pmon3 daemon start|status|stop` (internal/daemon/control.ts), its handlers called directly:
 * as root against a temp PMON3_CONF, and as a throwaway user with no config at all, where the
 * per-user defaults decide: the socket in $XDG_RUNTIME_DIR/pmon3 (made 0700) or, without one,
 * in ~/.local/state/pmon3, the same for pmond and a plain pmon3, and nothing under a HOME that
 * is someone else's (no warning either).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { daemonStart, daemonStatus, daemonStop } from '../../internal/daemon/control';
import { VERSION } from '../../internal/version';
import { PMON3, ROOT } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive } from '../helpers/wait';

const started = new Set<number>();
const users = new TestUsers();
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* stopped */
    }
  }
  users.cleanup();
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, cwd = '/'): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('as root with a config of its own', () => {
  const dir = tempDir('pmdc-');
  const conf = path.join(dir, 'c.yaml');
  const sock = path.join(dir, 's.sock');
  fs.writeFileSync(conf, `data_dir: ${dir}/data\nlogs_dir: ${dir}/logs\nsocket_path: ${sock}\nstop_timeout: 3\n`);
  const ctx = { env: { ...process.env, PMON3_CONF: conf } };

  test('status, start, start again, status, stop, stop again', async () => {
    const before = await daemonStatus(ctx);
    assert.deepEqual(before.value, {
      running: false,
      pid: null,
      version: null,
      socket: sock,
      data_dir: `${dir}/data`,
      logs_dir: `${dir}/logs`,
      config: conf,
    });
    assert.equal(before.text, `pmond not running (socket ${sock}, data_dir ${dir}/data)`);

    const s = await daemonStart({ json: false }, ctx);
    const pid = s.value.pid!;
    started.add(pid);
    assert.match(s.text, new RegExp(`^pmond ${esc(VERSION)} started \\(pid ${pid}\\), socket ${esc(sock)}$`));
    assert.equal(s.value.running, true);
    assert.ok(pidAlive(pid));
    // Detached: a session of its own, so a terminal's hangup or ^C does not reach it.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), pid, 'its own session');

    await assert.rejects(daemonStart({ json: true }, ctx), (e: any) => e.code === 'FAILED_PRECONDITION' && e.message === `pmond ${VERSION} is already running (pid ${pid}), socket ${sock}`);

    const st = await daemonStatus(ctx);
    assert.deepEqual({ running: st.value.running, pid: st.value.pid, version: st.value.version }, { running: true, pid, version: VERSION });
    assert.equal(st.text, `pmond ${VERSION} running (pid ${pid}), socket ${sock}, data_dir ${dir}/data`);
    assert.equal((await run(PMON3, ['ls'], ctx.env)).code, 0, 'pmon3 reaches it');

    const stop = await daemonStop(ctx);
    assert.equal(stop.text, `pmond ${VERSION} stopped (pid ${pid})`);
    assert.deepEqual({ running: stop.value.running, pid: stop.value.pid }, { running: false, pid });
    assert.equal(pidAlive(pid), false, 'pmond has exited');
    assert.equal(fs.existsSync(sock), false, 'its socket is gone');
    started.delete(pid);

    await assert.rejects(daemonStop(ctx), (e: any) => e.code === 'FAILED_PRECONDITION' && e.message === `pmond is not running (socket ${sock})`);
    assert.equal((await daemonStatus(ctx)).value.running, false);
  });

  test('a pmond that exits at start: its one-line error and its exit status\'s code, nothing left running', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, `data_dir: ${file}/data\nlogs_dir: ${dir}/logs2\nsocket_path: ${dir}/s2.sock\n`);
    await assert.rejects(daemonStart({ json: false }, { env: { ...process.env, PMON3_CONF: bad } }), (e: any) => {
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal(e.message, `pmond exited at start with status 2: data_dir ${file}/data: ENOTDIR`);
      return true;
    });
    assert.equal(fs.existsSync(`${dir}/s2.sock`), false);
  });

  test('foreground: pmond runs attached; its exit status is the error\'s code', async () => {
    const file = path.join(dir, 'b-file');
    fs.writeFileSync(file, '');
    const bad = path.join(dir, 'fg.yaml');
    fs.writeFileSync(bad, `data_dir: ${file}/data\nlogs_dir: ${dir}/logs3\nsocket_path: ${dir}/s4.sock\n`);
    await assert.rejects(daemonStart({ json: false, foreground: true }, { env: { ...process.env, PMON3_CONF: bad } }), {
      code: 'INVALID_ARGUMENT',
      message: 'pmond exited with status 2',
    });
  });

  test('a configuration pmon3 cannot read is the same error pmond would give, before anything starts', async () => {
    const bad = path.join(dir, 'typo.yaml');
    fs.writeFileSync(bad, `socket_path: ${dir}/s3.sock\nstop_timout: 3\n`);
    await assert.rejects(daemonStart({ json: false }, { env: { ...process.env, PMON3_CONF: bad } }), {
      code: 'INVALID_ARGUMENT',
      message: `config ${bad}: unknown key "stop_timout"`,
    });
  });
});

describe('as a user with no config file', { skip: isRoot() ? false : 'needs root to make a throwaway user' }, () => {
  let u: TestUser;
  let home: string;
  let runtime: string;
  let script: string;

  before(() => {
    u = users.add('dc-nina');
    home = `/home/${u.name}`;
    runtime = tempDir('pmdc-run-', 0o755);
    fs.chownSync(runtime, u.uid, u.gid);
    fs.chmodSync(runtime, 0o700);
    // The handlers, called in a process of hers (they act as the caller: her uid, her defaults).
    script = path.join(tempDir('pmdc-js-', 0o755), 'call.js');
    fs.writeFileSync(
      script,
      `const c = require(${JSON.stringify(path.join(ROOT, 'dist', 'internal', 'daemon', 'control.js'))});
const fn = { start: () => c.daemonStart({ json: true }), status: () => c.daemonStatus(), stop: () => c.daemonStop() }[process.argv[2]];
fn().then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stdout.write(JSON.stringify({ error: { code: e.code, message: e.message } })); process.exitCode = 1; });
`,
    );
  });

  /** Call a handler as her, with exactly this environment. */
  async function call(fn: 'start' | 'status' | 'stop', env: NodeJS.ProcessEnv): Promise<any> {
    const [f, a] = asUserArgv(u, [process.execPath, script, fn]);
    const r = await run(f, a, env);
    assert.equal(r.stderr, '', `${fn}: nothing on stderr`);
    const v = JSON.parse(r.stdout);
    if (v.value?.pid) started.add(v.value.pid);
    return v;
  }

  /** A plain pmon3 as her, with exactly this environment. */
  function pmon3(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
    const [f, a] = asUserArgv(u, [PMON3, ...args]);
    return run(f, a, env);
  }

  test('with XDG_RUNTIME_DIR: the socket in $XDG_RUNTIME_DIR/pmon3 (0700), data in ~/.local/state; pmon3 finds it', async () => {
    const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime };
    const sock = `${runtime}/pmon3/pmon3.sock`;
    const s = await call('start', env);
    assert.equal(s.text, `pmond ${VERSION} started (pid ${s.value.pid}), socket ${sock}`);
    assert.deepEqual(
      { socket: s.value.socket, data_dir: s.value.data_dir, logs_dir: s.value.logs_dir, config: s.value.config },
      { socket: sock, data_dir: `${home}/.local/state/pmon3`, logs_dir: `${home}/.local/state/pmon3/logs`, config: `${home}/.config/pmon3/config.yaml` },
    );
    assert.equal(fs.existsSync(s.value.config), false, 'no config file at all');
    const dirStat = fs.statSync(path.dirname(sock));
    assert.deepEqual({ mode: dirStat.mode & 0o777, uid: dirStat.uid }, { mode: 0o700, uid: u.uid }, 'the socket dir is hers alone');
    assert.equal(fs.statSync(`${home}/.local/state/pmon3`).mode & 0o777, 0o700);

    const ls = await pmon3(['ls', '--json'], env);
    assert.deepEqual({ code: ls.code, stdout: ls.stdout.trim(), stderr: ls.stderr }, { code: 0, stdout: '[]', stderr: '' });
    // Someone else's HOME (root's, as `setpriv` and `runuser -m` keep it): no warning, same pmond.
    const other = await pmon3(['ls', '--json'], { ...env, HOME: '/root' });
    assert.deepEqual({ code: other.code, stderr: other.stderr }, { code: 0, stderr: '' });
    assert.equal((await call('status', { ...env, HOME: '/root' })).value.pid, s.value.pid);

    const stop = await call('stop', env);
    assert.equal(stop.text, `pmond ${VERSION} stopped (pid ${s.value.pid})`);
    assert.equal(fs.existsSync(sock), false);
    assert.equal(pidAlive(s.value.pid), false);
    assert.deepEqual((await call('status', env)).value.running, false);
  });

  test('with no environment at all (and with root\'s HOME): the state dir holds the socket; both find it', async () => {
    const sock = `${home}/.local/state/pmon3/pmon3.sock`;
    // pmond started with HOME=/root: her passwd home is used, nothing is tried under /root.
    const s = await call('start', { HOME: '/root' });
    assert.equal(s.value.socket, sock);
    const ls = await pmon3(['ls'], {});
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stderr, '');
    const st = await call('status', {});
    assert.deepEqual({ running: st.value.running, pid: st.value.pid }, { running: true, pid: s.value.pid });
    const log = fs.readFileSync(`${home}/.local/state/pmon3/logs/pmond.log`, 'utf8');
    assert.doesNotMatch(log, /\/root|^\S+ (warn|error):/m, 'pmond said nothing of a HOME that is not hers');
    await call('stop', {});
    assert.equal(pidAlive(s.value.pid), false);
  });

  test('start as her while her pmond runs: FAILED_PRECONDITION; stop when none runs: FAILED_PRECONDITION', async () => {
    const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: runtime };
    const s = await call('start', env);
    const again = await call('start', env);
    assert.equal(again.error.code, 'FAILED_PRECONDITION');
    assert.match(again.error.message, new RegExp(`already running \\(pid ${s.value.pid}\\)`));
    await call('stop', env);
    const none = await call('stop', env);
    assert.equal(none.error.code, 'FAILED_PRECONDITION');
  });
});
