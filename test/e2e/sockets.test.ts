/**
 * Listening sockets against a real pmond (issue 15, sockets): bound by pmond's exec server,
 * shared by an app's instances as fds 3... with LISTEN_FDS, LISTEN_PID (each instance's own
 * pid) and LISTEN_FDNAMES; an app without sockets gets none of them, not even when its env
 * names them; pmond killed with SIGKILL under load: not one connection refused, and the next
 * pmond gives the same sockets to a new instance (taken back from a running one, no
 * EADDRINUSE); del and a changed address release the port; bad addresses and a port below
 * 1024 asked by a user who is not an admin are refused in one line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const SERVE = path.join(FIXTURES, 'sockets', 'serve.js');
const users = new TestUsers();
let d: TestDaemon;
let dir: string;
let u: TestUser | undefined;
/** web's IPv4 port (the first test's app, used by the second). */
let webPort = 0;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmsk-', 0o755);
  if (isRoot()) u = users.add('sk-dave');
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

/** A TCP port free on 127.0.0.1 (and on ::1) right now. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (await canListen(port, '::1')) return port;
  }
}

/** Whether this process could listen on host:port now (nobody holds it). */
function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

interface View {
  pid: number;
  listen_pid: string | null;
  listen_fds: string | null;
  listen_fdnames: string | null;
  fds: number[];
  fd: number;
}

/** One GET, a fresh connection each time (no keep-alive): the body as JSON, or the error code. */
function get(port: number, host = '127.0.0.1'): Promise<View | { error: string }> {
  return getFrom({ host, port });
}

function getFrom(where: { host: string; port: number } | { socketPath: string }): Promise<View | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ ...where, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as View);
        } catch {
          resolve({ error: `bad body ${body.slice(0, 80)}` });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

const ok = (v: View | { error: string }): v is View => !('error' in v);

/** Requests until every pid in `want` answered on port (or the deadline). */
async function seenPids(port: number, want: number[], host = '127.0.0.1'): Promise<Set<number>> {
  const seen = new Set<number>();
  await waitFor(`answers from ${want.join(', ')} on ${host}:${port}`, async () => {
    const v = await get(port, host);
    if (ok(v)) seen.add(v.pid);
    return want.every((p) => seen.has(p));
  }, 15_000, 0);
  return seen;
}

const pidsOf = async (app: string): Promise<number[]> => (await d.ls()).filter((p) => p.name.startsWith(`${app}:`) || p.name === app).map((p) => p.pid as number);

test('instances share the sockets as fds 3 and 4 with LISTEN_FDS, their own LISTEN_PID and LISTEN_FDNAMES; an app without sockets sees none', async () => {
  const [p4, p6] = [await freePort(), await freePort()];
  webPort = p4;
  const file = write(
    'web.yaml',
    `apps:
  - name: web
    exec: ${process.execPath}
    args: [${SERVE}]
    instances: 2
    sockets: ["127.0.0.1:${p4}", {listen: "[::1]:${p6}", name: "v6"}]
  - name: plain
    exec: ${process.execPath}
    args: [${SERVE}, show]
    env: {LISTEN_FDS: "2", LISTEN_PID: "1", LISTEN_FDNAMES: "x:y"}
`,
  );
  await d.json(['apply', '-f', file]);
  await d.waitProc('web:1', 'running', (p) => p.status === 'running');
  const pids = await pidsOf('web');
  assert.equal(pids.length, 2);
  await seenPids(p4, pids);
  await seenPids(p6, pids, '::1');
  for (let i = 0; i < 6; i++) {
    const v = await get(p4);
    assert.ok(ok(v), JSON.stringify(v));
    assert.equal(v.listen_pid, String(v.pid), 'LISTEN_PID is the instance itself');
    assert.equal(v.listen_fds, '2');
    assert.equal(v.listen_fdnames, 'web:v6');
    assert.equal(v.fd, 3);
  }
  const v6 = await get(p6, '::1');
  assert.ok(ok(v6) && v6.fd === 4, JSON.stringify(v6));
  // The app without sockets: none of the variables (its own env's are dropped), no socket fd.
  await waitFor('plain says what it has', () => fs.existsSync(path.join(d.logs, 'plain.log')) && fs.readFileSync(path.join(d.logs, 'plain.log'), 'utf8').includes('"fds"'));
  const shown = JSON.parse(fs.readFileSync(path.join(d.logs, 'plain.log'), 'utf8').trim().split('\n').pop()!) as View;
  assert.equal(shown.listen_fds, null);
  assert.equal(shown.listen_pid, null);
  assert.equal(shown.listen_fdnames, null);
  const plainPid = (await d.get('plain')).pid as number;
  const sockets = fs.readdirSync(`/proc/${plainPid}/fd`).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/${plainPid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  });
  assert.deepEqual(sockets, [], 'no socket of web (nor any other) leaks into plain');
  // Every fd of plain's is node's own (pipes, eventfds, epoll) or 0-2: nothing of the exec server's.
  await d.json(['del', 'plain']);
});

test('pmond killed with SIGKILL under load: no connection refused; the next pmond gives the same sockets to a new instance', async () => {
  const port = webPort;
  assert.ok(port > 0, 'the first test made web');
  let stop = false;
  let done = 0;
  const failures: string[] = [];
  const load = (async () => {
    while (!stop) {
      const v = await get(port);
      if (ok(v)) done++;
      else failures.push(v.error);
    }
  })();
  await waitFor('load running', () => done > 20);
  await d.crash();
  const during = done;
  await waitFor('served with pmond down', () => done > during + 50);
  await d.launch();
  await d.json(['scale', 'web', '3']);
  const p = await d.waitProc('web:2', 'running', (x) => x.status === 'running');
  await seenPids(port, [p.pid as number]);
  stop = true;
  await load;
  assert.deepEqual(failures, [], `${failures.length} of ${done + failures.length} requests failed`);
  assert.ok(!fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').includes('EADDRINUSE'));
  const v = await get(port);
  assert.ok(ok(v));
});

test('del releases the port; a changed address restarts the instances on the new one and releases the old', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const mk = (port: number): string =>
    write(
      'mv.yaml',
      `apps:
  - name: mv
    exec: ${process.execPath}
    args: [${SERVE}]
    sockets: ["127.0.0.1:${port}"]
`,
    );
  await d.json(['apply', '-f', mk(a)]);
  const p1 = await d.waitProc('mv', 'running', (x) => x.status === 'running');
  await seenPids(a, [p1.pid]);
  assert.equal(await canListen(a), false);
  await d.json(['apply', '-f', mk(b)]);
  const p2 = await d.waitProc('mv', 'restarted', (x) => x.status === 'running' && x.pid !== p1.pid);
  await seenPids(b, [p2.pid]);
  await waitFor('the old port free', () => canListen(a));
  await d.json(['del', 'mv']);
  await waitFor('the new port free', () => canListen(b));
});

test('bad sockets are refused in one line, the daemon up, nothing added', async () => {
  const cases: Array<[string, RegExp]> = [
    ['"unix:tmp/x.sock"', /a Unix socket path is absolute/],
    ['"/tmp/../etc/x.sock"', /without empty, \. or \.\. parts/],
    [`"/tmp/${'x'.repeat(120)}"`, /at most 107 bytes/],
    ['{listen: "127.0.0.1:1", mode: "0600"}', /mode is a Unix socket's/],
    ['"127.0.0.1:99999"', /port is 1-65535/],
    ['"example.com:80"', /IPv4 address/],
    ['"127.0.0.1:$(id)"', /socket/],
    ['"[::1:80"', /socket/],
    ['""', /sockets|socket/],
    [`"${'9'.repeat(10_000)}"`, /sockets|socket/],
    ['"127.0.0.1:8080", "127.0.0.1:8080"', /listed twice/],
    ['{listen: "127.0.0.1:8080", name: "a:b"}', /socket name/],
  ];
  for (const [list, why] of cases) {
    const file = write('bad.yaml', `apps:\n  - name: badsock\n    exec: /bin/sleep\n    args: ["60"]\n    sockets: [${list}]\n`);
    const r = await d.run(['apply', '-f', file]);
    assert.notEqual(r.code, 0, list);
    assert.match(r.stderr, why, `${list.slice(0, 40)}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  assert.equal((await d.ls()).filter((p) => p.name === 'badsock').length, 0);
});

test('a port below 1024 only for an admin: a user asking for one is refused', { skip: !isRoot() && 'needs root (a second user)' }, async () => {
  const file = path.join('/tmp', `pmsk-${process.pid}-low.yaml`);
  fs.writeFileSync(file, `apps:\n  - name: low\n    exec: /bin/sleep\n    args: ["60"]\n    sockets: ["127.0.0.1:81"]\n`);
  fs.chmodSync(file, 0o644);
  try {
    const r = await d.run(['apply', '-f', file], { as: u! });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /below 1024: only an admin/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('a user\'s apps hold at most 64 sockets together: the 65th is refused, nothing added', async () => {
  const apps = Array.from({ length: 5 }, (_, i) => `  - name: many${i}\n    exec: /bin/sleep\n    args: ["60"]\n    autostart: false\n    sockets: [${Array.from({ length: 13 }, (_, k) => `"127.0.0.1:${20000 + i * 20 + k}"`).join(', ')}]\n`).join('');
  const r = await d.run(['apply', '-f', write('many.yaml', `apps:\n${apps}`)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\d+ listening sockets; at most 64 per user/);
  assert.equal((await d.ls()).filter((p) => p.name.startsWith('many')).length, 0);
});

/** One GET over a Unix socket: the body as JSON, or the error code. */
const getUnix = (socketPath: string): Promise<View | { error: string }> => getFrom({ socketPath });

test('a Unix socket path: bound as the app\'s user with its mode, shared by the instances, taken back after pmond is killed; a path the user may not create is refused', async (t) => {
  const sockDir = tempDir('pmsu-', 0o755);
  if (u) fs.chownSync(sockDir, u.uid, u.gid);
  const sock = path.join(sockDir, 'web.sock');
  const file = write('unix.yaml', `apps:\n  - name: uweb\n    exec: ${process.execPath}\n    args: [${SERVE}]\n    instances: 2\n    sockets: [{listen: "unix:${sock}", mode: "0660", name: http}]\n`);
  const as = u ? { as: u } : {};
  try {
    await d.json(['apply', '-f', file], as);
    await waitFor('2 running', async () => (await d.ls()).filter((p) => p.name.startsWith('uweb:') && p.status === 'running').length === 2, 20_000).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify((await d.ls()).map((p) => [p.name, p.status, p.reason]))}`);
    });
    const st = fs.lstatSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    if (u) assert.equal(st.uid, u.uid, "bound as the app's user");
    const pids = await pidsOf('uweb');
    const seen = new Set<number>();
    await waitFor('both instances answer on the path', async () => {
      const v = await getUnix(sock);
      if (ok(v)) {
        seen.add(v.pid);
        assert.equal(v.listen_fdnames, 'http');
      }
      return pids.every((p) => seen.has(p));
    }, 15_000, 0);
    await d.crash();
    const during = await getUnix(sock);
    assert.ok(ok(during), 'served with pmond down');
    await d.launch();
    await d.json(['scale', 'uweb', '3'], as);
    const p3 = await d.waitProc('uweb:2', 'running', (x) => x.status === 'running');
    const seen3 = new Set<number>();
    await waitFor('the new instance answers on the same path', async () => {
      const v = await getUnix(sock);
      if (ok(v)) seen3.add(v.pid);
      return seen3.has(p3.pid as number);
    }, 15_000, 0);
    assert.ok(!fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').includes('EADDRINUSE'));
    await d.json(['del', 'uweb'], as);
    if (!u) return t.skip('needs root for the other-user half');
    // A path in a directory the user may not write: the binder, as the user, gets EACCES.
    const rootOnly = tempDir('pmsr-', 0o755);
    fs.writeFileSync(path.join(rootOnly, 'planted'), 'root');
    const bad = write('unix-bad.yaml', `apps:\n  - name: ubad\n    exec: ${process.execPath}\n    args: [${SERVE}]\n    sockets: ["${path.join(rootOnly, 'x.sock')}"]\n`);
    await d.json(['apply', '-f', bad], { as: u });
    const p = await d.waitProc('ubad', 'failed', (x) => x.status === 'failed' || x.status === 'stopped', 15_000);
    assert.match(p.reason ?? '', /Permission denied|EACCES/);
    assert.equal(fs.existsSync(path.join(rootOnly, 'x.sock')), false);
    await d.json(['del', 'ubad'], { as: u });
    // Something that is not the user's socket at the path stays: not replaced, an error.
    const plant = write('unix-plant.yaml', `apps:\n  - name: uplant\n    exec: ${process.execPath}\n    args: [${SERVE}]\n    sockets: ["${path.join(rootOnly, 'planted')}"]\n`);
    await d.json(['apply', '-f', plant]);
    const q = await d.waitProc('uplant', 'failed', (x) => x.status === 'failed' || x.status === 'stopped', 15_000);
    assert.match(q.reason ?? '', /File exists|EEXIST/);
    assert.equal(fs.readFileSync(path.join(rootOnly, 'planted'), 'utf8'), 'root');
    await d.json(['del', 'uplant']);
    fs.rmSync(rootOnly, { recursive: true, force: true });
  } finally {
    fs.rmSync(sockDir, { recursive: true, force: true });
  }
});
