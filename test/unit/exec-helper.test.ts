/**
 * The exec helper on its own, in both modes, with real processes: the exec
 * server (what pmond uses: programs made as this process's children, reaped
 * by the native reaper) and the one-shot helper (the fallback without pidfd).
 * Each: the program's pid is the one reported, its environment is exactly the
 * one asked for, failures come back in a shell's words, a failed program is
 * reaped, and a server that dies is started again.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execHelperPath, loadNative } from '../../internal/native';
import { ExecServer } from '../../internal/process/exec-server';
import { readStartTime } from '../../internal/process/procfs';
import { NativeReaper } from '../../internal/process/reaper';
import { HelperSpawner, type SpawnRequest } from '../../internal/process/spawner';
import { ROOT } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const native = loadNative(ROOT);
const helper = execHelperPath(ROOT);
let dir: string;
let server: ExecServer;
let modes: Array<[string, HelperSpawner]>;
const started: number[] = [];

before(() => {
  dir = tempDir('pmu-');
  server = new ExecServer(helper);
  modes = [
    ['exec server', new HelperSpawner(helper, (b) => native.memfd(b), { exec: server, reaper: new NativeReaper(native) })],
    ['one-shot', new HelperSpawner(helper, (b) => native.memfd(b))],
  ];
});
after(() => {
  server.close();
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const me = { uid: process.getuid!(), gid: process.getgid!() };
const req = (over: Partial<SpawnRequest>): SpawnRequest => ({
  file: '/bin/sh',
  args: ['-c', 'exit 0'],
  env: { PATH: '/usr/bin:/bin' },
  cwd: dir,
  ...me,
  groups: [me.gid],
  log: { kind: 'user', path: path.join(dir, 'out.log') },
  cgroup: null,
  ...over,
});

describe('both modes', () => {
  for (const i of [0, 1]) {
    test(`runs the program with exactly the environment asked for, as the reported pid (mode ${i})`, async () => {
      const [name, sp] = modes[i]!;
      const log = path.join(dir, `env-${i}.log`);
      const w = await sp.spawn(req({ args: ['-c', 'echo "pid $$"; env | sort; exec sleep 300'], env: { PATH: '/usr/bin:/bin', ONLY: 'this' }, log: { kind: 'user', path: log } }));
      started.push(w.pid);
      assert.equal(w.startTime, readStartTime(w.pid), name);
      const text = await waitFor('its output', () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('ONLY') ? fs.readFileSync(log, 'utf8') : ''));
      assert.match(text, new RegExp(`^pid ${w.pid}$`, 'm'), `${name}: the pid pmond gets is the program's`);
      const vars = text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]!);
      // sh adds PWD (and may add SHLVL/_); nothing of this process's environment arrives.
      assert.deepEqual(vars.filter((v) => !['PWD', 'SHLVL', '_'].includes(v)).sort(), ['ONLY', 'PATH']);
      process.kill(w.pid, 'SIGKILL');
      assert.deepEqual(await w.exited, { code: null, signal: 'SIGKILL' });
    });

    test(`an exit code comes back; failures are in a shell's words and leave no zombie (mode ${i})`, async () => {
      const [name, sp] = modes[i]!;
      const w = await sp.spawn(req({ args: ['-c', 'exit 7'] }));
      assert.deepEqual(await w.exited, { code: 7, signal: null }, name);
      const cases: Array<[Partial<SpawnRequest>, RegExp]> = [
        [{ file: '/no/such/binary' }, /^\/no\/such\/binary: No such file or directory$/],
        [{ file: 'no-such-command-xyz' }, /^no-such-command-xyz: command not found$/],
        [{ file: dir }, /: Is a directory$/],
        [{ cwd: '/no/such/dir' }, /^cd: \/no\/such\/dir: No such file or directory$/],
        [{ file: 'sleep', args: ['0'] }, /^$/], // a bare name found in PATH runs
      ];
      for (const [over, re] of cases) {
        try {
          const ok = await sp.spawn(req(over));
          await ok.exited;
          assert.match('', re, `${name}: ${JSON.stringify(over)} ran`);
        } catch (e) {
          assert.match((e as Error).message, re, `${name}: ${JSON.stringify(over)}`);
        }
      }
      // Every program made and failed was reaped: no zombie child of this process is left.
      const zombies = fs
        .readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
        .trim()
        .split(' ')
        .filter(Boolean)
        .filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
          } catch {
            return false;
          }
        });
      assert.deepEqual(zombies, [], name);
    });
  }
});

describe('the exec server', () => {
  test('a server that dies is started again at the next request', async () => {
    const sp = modes[0]![1];
    const first = await sp.spawn(req({ args: ['-c', 'exit 0'] }));
    await first.exited;
    const serverPid = Number(
      fs
        .readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
        .trim()
        .split(' ')
        .find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('pmon3-exec\0--server')) ?? 0,
    );
    assert.ok(serverPid > 0, 'the server runs as our child');
    process.kill(serverPid, 'SIGKILL');
    await waitFor('the server to be gone', () => !fs.existsSync(`/proc/${serverPid}/cmdline`) || fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').includes(') Z'));
    // The next request may meet the dying server first; then one more goes to a new one.
    let w;
    try {
      w = await sp.spawn(req({ args: ['-c', 'exit 3'] }));
    } catch {
      w = await sp.spawn(req({ args: ['-c', 'exit 3'] }));
    }
    assert.deepEqual(await w.exited, { code: 3, signal: null });
  });
});

describe('listening sockets (exec server)', () => {
  const port = (): Promise<number> =>
    new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
  const why = (r: { ok: boolean; message?: string }): string => (r.ok ? 'ok' : (r.message ?? ''));

  test('bind, pass as fds 3 with LISTEN_PID set by the program itself; a second bind of a held port fails; close frees it', async () => {
    const p = await port();
    assert.equal(why(await server.control(['bind', 'k1', '4', '127.0.0.1', String(p), '16'])), 'ok');
    // Held (listening): nobody else gets it.
    assert.match(why(await server.control(['bind', 'k2', '4', '127.0.0.1', String(p), '16'])), /Address already in use/);
    const sp = modes[0]![1];
    const log = path.join(dir, 'sock.log');
    const w = await sp.spawn(req({ args: ['-c', 'echo "pid $$ $LISTEN_PID"; ls -l /proc/$$/fd/3; exec sleep 300'], log: { kind: 'user', path: log }, sockets: ['k1'] }));
    started.push(w.pid);
    const text = await waitFor('its output', () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('socket:') ? fs.readFileSync(log, 'utf8') : ''));
    assert.match(text, new RegExp(`^pid ${w.pid} ${w.pid}$`, 'm'));
    // A key the server does not hold: refused, nothing started.
    await assert.rejects(sp.spawn(req({ sockets: ['nope'] })), /listening sockets cannot be given/);
    // The one-shot helper has no sockets to give.
    await assert.rejects(modes[1]![1].spawn(req({ sockets: ['k1'] })), /listening sockets cannot be given/);
    // Taken back from the program (what a new pmond does); the wrong address is refused.
    assert.match(why(await server.control(['take', 'k3', String(w.pid), '3', '4', '127.0.0.1', String(p + 1)])), /Socket operation on non-socket/);
    assert.match(why(await server.control(['take', 'k3', String(w.pid), '9', '4', '127.0.0.1', String(p)])), /Bad file descriptor/);
    assert.equal(why(await server.control(['take', 'k3', String(w.pid), '3', '4', '127.0.0.1', String(p)])), 'ok');
    for (const k of ['k1', 'k3']) assert.equal(why(await server.control(['close', k])), 'ok');
    process.kill(w.pid, 'SIGKILL');
    await w.exited;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    assert.ok(free, 'closed everywhere: the port is free');
  });

  test('malformed socket requests are refused, the server goes on', async () => {
    for (const f of [[], ['bind'], ['bind', 'k', '5', '127.0.0.1', '80', '1'], ['bind', 'k', '4', 'x', '80', '1'], ['bind', 'k', '4', '127.0.0.1', '70000', '1'], ['take', 'k', '0', '3', '4', '127.0.0.1', '80'], ['frob', 'k'], ['bind', 'k'.repeat(100), '4', '127.0.0.1', '0', '1']]) {
      const r = await server.control(f);
      assert.equal(r.ok, false, JSON.stringify(f));
    }
    assert.throws(() => server.control(['bind', 'a\0b']), /NUL/);
    const w = await modes[0]![1].spawn(req({}));
    assert.deepEqual(await w.exited, { code: 0, signal: null });
  });
});
