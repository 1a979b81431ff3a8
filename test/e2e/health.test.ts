/**
 * Readiness and liveness against a real pmond (issue 15, ready/ack/alive): `starting` until
 * ready (http, tcp, delay, notify), a readiness timeout is a failed start with its reason and
 * never a success; a dependent starts only once its dependency is ready; sd_notify messages
 * count only from the instance or its descendants (a stranger's READY=1 is ignored); watchdog,
 * WATCHDOG=trigger, an HTTP health check and Firestarter's live check restart with their
 * reasons; Firestarter's ack: manual is READY=1, and output on the log is no ack.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { freePort } from '../helpers/net';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const WEB = path.join(FIXTURES, 'health', 'web.js');
const NOTIFY = path.join(FIXTURES, 'health', 'notify.py');
const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const users = new TestUsers();
let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmhl-', 0o755);
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


const delAll = async (...names: string[]): Promise<void> => {
  for (const n of names) await d.json(['del', n]);
};

/** name's log: in logs_dir, or in its user's directory there. */
const logOf = (name: string): string => {
  const dirs = [d.logs, ...fs.readdirSync(d.logs, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d.logs, e.name))];
  for (const x of dirs) {
    try {
      return fs.readFileSync(path.join(x, `${name}.log`), 'utf8');
    } catch {
      /* not here */
    }
  }
  return '';
};

test('ready: http and tcp: starting until the check passes, then running; a dependent starts only after', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const file = write(
    'ready.yaml',
    `apps:
  - name: hweb
    exec: ${process.execPath}
    args: [${WEB}]
    env: {PORT: "${p1}", READY_AFTER_MS: "1500"}
    ready: "http:/ready"
  - name: tweb
    exec: ${process.execPath}
    args: [${WEB}]
    env: {PORT: "${p2}", READY_AFTER_MS: "1000"}
    ready: tcp
  - name: after-hweb
    exec: /bin/sleep
    args: ["600"]
    dependencies: [hweb]
`,
  );
  const applied = d.json(['apply', '-f', file]);
  const s = await d.waitProc('hweb', 'starting', (p) => p.status === 'starting', 10_000);
  assert.equal((await d.get('after-hweb'))?.status === 'running', false, 'the dependent waits for hweb to be ready');
  await applied;
  const h = await d.waitProc('hweb', 'running', (p) => p.status === 'running');
  assert.equal(h.pid, s.pid, 'the same process, now ready');
  assert.ok(logOf('hweb').includes('listening'), 'it was ready only once it listened');
  const dep = await d.waitProc('after-hweb', 'running', (p) => p.status === 'running');
  assert.ok(Date.parse(dep.started_at) >= Date.parse(h.started_at) + 1000, `after-hweb started ${dep.started_at}, hweb ${h.started_at}`);
  await d.waitProc('tweb', 'running', (p) => p.status === 'running');
  assert.ok(logOf('tweb').includes('listening'));
  await delAll('hweb', 'tweb', 'after-hweb');
});

test('a readiness timeout is a failed start with its reason, never a success; the restart policy decides', async () => {
  const file = write(
    'slow.yaml',
    `apps:
  - name: never
    exec: /bin/sleep
    args: ["600"]
    ready: "delay:30s"
    ready_timeout: 1s
    restart: never
  - name: never2
    exec: /bin/sleep
    args: ["600"]
    ready: tcp
    ready_timeout: 1s
    startretries: 1
`,
  );
  await d.json(['apply', '-f', file]);
  const n = await d.waitProc('never', 'failed', (p) => p.status === 'failed' || p.status === 'stopped', 10_000);
  assert.equal(n.status, 'failed');
  assert.match(n.reason ?? '', /^ready: not ready within 1 s \(ready: delay:30s\)/);
  const n2 = await d.waitProc('never2', 'given up', (p) => p.status === 'failed', 20_000);
  assert.match(n2.reason ?? '', /ready: not ready within 1 s \(ready: tcp\)/);
  assert.ok(n2.restarts >= 1, 'it was restarted by policy first');
  await delAll('never', 'never2');
});

test('ready: notify: READY=1 from the instance or a child counts, a stranger\'s does not; ack: manual is notify, output is no ack', async () => {
  const file = write(
    'notify.yaml',
    `apps:
  - name: nready
    exec: ${PY}
    args: [${NOTIFY}, ready, "0.5"]
    ready: notify
  - name: nchild
    exec: ${PY}
    args: [${NOTIFY}, child, "0.3"]
    ack: manual
  - name: nnever
    exec: ${PY}
    args: [${NOTIFY}, never]
    ack: manual
    ack_timeout: 4s
    restart: never
`,
  );
  await d.json(['apply', '-f', file]);
  await d.waitProc('nready', 'running', (p) => p.status === 'running');
  assert.ok(logOf('nready').includes('sent STATUS=warming up|READY=1'));
  await d.waitProc('nchild', 'running', (p) => p.status === 'running');
  // A stranger (this test, another pid) says READY=1 for nnever: ignored. It prints lines too: no ack.
  const nn = await d.waitProc('nnever', 'starting', (p) => p.status === 'starting');
  await waitFor('nnever has printed', () => logOf('nnever').includes('mode never'));
  execFileSync(PY, ['-c', `import socket;s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM);s.sendto(b"READY=1",${JSON.stringify(`${d.socket}.notify`)})`]);
  const failed = await d.waitProc('nnever', 'failed', (p) => p.status === 'failed', 15_000);
  assert.equal(failed.pid === nn.pid || failed.pid === null || failed.pid === 0, true);
  assert.match(failed.reason ?? '', /not ready within 4 s \(ready: notify\)/);
  await delAll('nready', 'nchild', 'nnever');
});

test('watchdog: no WATCHDOG=1 in time restarts with its reason; WATCHDOG=trigger too; STOPPING=1 turns it off', async () => {
  const quiet = path.join(dir, 'quiet');
  const file = write(
    'dog.yaml',
    `apps:
  - name: dog
    exec: ${PY}
    args: [${NOTIFY}, ready, "0", ${quiet}]
    ready: notify
    watchdog: 2s
  - name: trig
    exec: ${PY}
    args: [${NOTIFY}, trigger]
    ready: notify
    watchdog: 30s
  - name: bye
    exec: ${PY}
    args: [${NOTIFY}, stopping]
    ready: notify
    watchdog: 1s
`,
  );
  await d.json(['apply', '-f', file]);
  const first = await d.waitProc('dog', 'running', (p) => p.status === 'running');
  assert.ok(logOf('dog').includes('watchdog_usec 2000000'), 'WATCHDOG_USEC is given');
  // Fed every 2/3 s (a watchdog of 2 s: a loaded 2-core machine can stall a process past 1 s): still the same process 4 s later.
  await waitFor('pings', () => (logOf('dog').match(/sent WATCHDOG=1/g) ?? []).length >= 6, 15_000);
  assert.equal((await d.get('dog')).pid, first.pid);
  fs.writeFileSync(quiet, '');
  // Not waiting for 'running': with the pings off, each new instance is restarted by the watchdog again a second later.
  const second = await d.waitProc('dog', 'restarted by the watchdog', (p) => p.restarts >= 1 && p.pid !== first.pid, 15_000).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(await d.get('dog'))} ${fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').split('\n').filter((l) => l.includes('dog')).slice(-6).join(' | ')} LOG ${logOf('dog').slice(-300)}`);
  });
  assert.match(second.reason ?? '', /^watchdog: no WATCHDOG=1 for 2 s/);
  const t = await d.waitProc('trig', 'restarted by WATCHDOG=trigger', (p) => p.restarts >= 1, 15_000);
  assert.match(t.reason ?? '', /WATCHDOG=trigger/);
  const b = await d.waitProc('bye', 'running', (p) => p.status === 'running');
  await waitFor('time for a watchdog to fire', async () => Date.now() - Date.parse(b.started_at) > 3000, 10_000, 200);
  assert.equal((await d.get('bye')).pid, b.pid, 'STOPPING=1: no watchdog restart');
  await delAll('dog', 'trig', 'bye');
});

test('health: N failed GETs in a row restart with the reason; live check: an untouched FIRESTARTER_WATCH_FILE restarts', async () => {
  const port = await freePort();
  const sick = path.join(dir, 'sick');
  const toucher = write('touch.sh', '#!/bin/sh\necho "file $FIRESTARTER_WATCH_FILE"\nwhile [ ! -e "$1" ]; do touch "$FIRESTARTER_WATCH_FILE"; sleep 0.2; done\nexec sleep 600\n');
  fs.chmodSync(toucher, 0o755);
  const stale = path.join(dir, 'stale');
  const file = write(
    'health.yaml',
    `apps:
  - name: hc
    exec: ${process.execPath}
    args: [${WEB}]
    env: {PORT: "${port}", HEALTH_FAIL: ${JSON.stringify(sick)}}
    ready: "http:/health"
    health: {http: "http://127.0.0.1:${port}/health", interval: 300ms, timeout: 200ms, failures: 3}
  - name: lc
    exec: ${toucher}
    args: [${stale}]
    live_check_timeout: 1s
`,
  );
  await d.json(['apply', '-f', file]);
  const first = await d.waitProc('hc', 'running', (p) => p.status === 'running');
  fs.writeFileSync(sick, '');
  const second = await d.waitProc('hc', 'restarted by its health check', (p) => p.restarts >= 1 && p.pid !== first.pid, 15_000);
  assert.match(second.reason ?? '', /^health: GET \/health failed 3 times in a row \(last: status 500\)/);
  fs.rmSync(sick);
  const lc = await d.waitProc('lc', 'running', (p) => p.status === 'running');
  await waitFor('lc said its file', () => /file \/.+\.live\/\d+/.test(logOf('lc')));
  const watch = /file (\S+)/.exec(logOf('lc'))![1]!;
  assert.equal(fs.statSync(watch).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(watch)).mode & 0o777, 0o711);
  await waitFor('touched for 2.5 s', async () => Date.now() - Date.parse(lc.started_at) > 2500, 10_000, 200);
  assert.equal((await d.get('lc')).pid, lc.pid, 'touched: not restarted');
  fs.writeFileSync(stale, '');
  const lc2 = await d.waitProc('lc', 'restarted by the live check', (p) => p.restarts >= 1 && p.pid !== lc.pid, 15_000);
  assert.match(lc2.reason ?? '', /^live check: FIRESTARTER_WATCH_FILE not touched for 1 s/);
  await delAll('hc', 'lc');
});

test('bad ready settings are refused in one line, nothing applied', async () => {
  const cases: Array<[string, RegExp]> = [
    ['ready: "http://10.0.0.1:80/"', /this machine only/],
    ['ready: "tcp:70000"', /port 70000/],
    ['ready: "sometimes"', /is not notify, tcp/],
    ['ready: "delay:forever"', /not a duration/],
    ['ready_timeout: 5s', /ready_timeout goes with a ready check/],
    ['ack: manual\n    ready: notify', /ack and ready say the same thing/],
    ['ready: tcp\n    sockets: ["127.0.0.1:1"]', /every instance holds the shared sockets/],
    ['health: {http: "/h", interval: 1s, timeout: 5s}', /timeout is longer than interval/],
    ['health: {http: "/h$(id)\\n"}', /printable/],
  ];
  for (const [extra, re] of cases) {
    const f = write('bad.yaml', `apps:\n  - name: bad\n    exec: /bin/sleep\n    args: ["1"]\n    ${extra}\n`);
    const r = await d.run(['apply', '-f', f]);
    assert.notEqual(r.code, 0, extra);
    assert.match(r.stderr, re, extra);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal((await d.ls()).some((p) => p.name === 'bad'), false);
});

test('pmond killed with SIGKILL: the next one listens on the notify socket again and the watchdog goes on', async () => {
  const quiet = path.join(dir, 'quiet2');
  const file = write('dog2.yaml', `apps:\n  - name: dog2\n    exec: ${PY}\n    args: [${NOTIFY}, ready, "0", ${quiet}]\n    ready: notify\n    watchdog: 1500ms\n`);
  await d.json(['apply', '-f', file]);
  const first = await d.waitProc('dog2', 'running', (p) => p.status === 'running');
  await d.crash();
  await d.launch();
  const pings = (): number => (logOf('dog2').match(/\nsent WATCHDOG=1/g) ?? []).length;
  const before = pings();
  await waitFor('pings reach the new pmond', () => pings() >= before + 9, 15_000);
  const now = await d.get('dog2');
  assert.equal(now.pid, first.pid, 'adopted and fed: not restarted');
  assert.equal(now.status, 'running');
  fs.writeFileSync(quiet, '');
  const second = await d.waitProc('dog2', 'restarted by the new pmond\'s watchdog', (p) => p.pid !== first.pid && p.restarts >= 1, 15_000);
  assert.match(second.reason ?? '', /^watchdog: no WATCHDOG=1 for 1500 ms/);
  await delAll('dog2');
});

test('as another user: READY=1 reaches a root pmond, the live-check file is the user\'s own', { skip: !isRoot() && 'needs root (test users)' }, async () => {
  const u = users.add('hl-erin');
  const toucher = write('touch2.sh', '#!/bin/sh\necho "file $FIRESTARTER_WATCH_FILE"\nwhile :; do touch "$FIRESTARTER_WATCH_FILE"; sleep 0.2; done\n');
  fs.chmodSync(toucher, 0o755);
  const file = write(
    'user.yaml',
    `apps:\n  - name: un\n    exec: ${PY}\n    args: [${NOTIFY}, ready, "0.2"]\n    ready: notify\n  - name: ul\n    exec: ${toucher}\n    live_check_timeout: 1s\n`,
  );
  await d.json(['apply', '-f', file], { as: u });
  const un = await d.waitProc('un', 'running', (p) => p.status === 'running');
  assert.equal(un.username ?? un.user, u.name);
  const ul = await d.waitProc('ul', 'running', (p) => p.status === 'running');
  await waitFor('ul said its file', () => /file \//.test(logOf('ul')));
  const watch = /file (\S+)/.exec(logOf('ul'))![1]!;
  assert.equal(fs.statSync(watch).uid, u.uid);
  await waitFor('touched for 2.5 s', async () => Date.now() - Date.parse(ul.started_at) > 2500, 10_000, 200);
  assert.equal((await d.get('ul')).pid, ul.pid, 'the user could touch it');
  await d.json(['del', 'un'], { as: u });
  await d.json(['del', 'ul'], { as: u });
});

test('the stop signal reaches a program once (process group and cgroup are not both signalled): a second SIGTERM is "quit now" to many', async () => {
  const prog = write('term-once.js', "process.on('SIGTERM', () => { console.log('term'); setTimeout(() => process.exit(0), 300); }); console.log('up'); setInterval(() => {}, 1000);\n");
  await d.json(['exec', process.execPath, '--name', 'once', '--', prog]);
  await d.waitProc('once', 'running', (p) => p.status === 'running');
  await waitFor('it is up', () => logOf('once').includes('up'));
  await d.json(['stop', 'once']);
  assert.equal((logOf('once').match(/^term$/gm) ?? []).length, 1, logOf('once'));
  await delAll('once');
});

test("a health or ready URL on a port the instance does not listen on: no request is sent there (root's pmond is no user's loopback client)", async () => {
  let hits = 0;
  const victim = http.createServer((_q, r) => {
    hits++;
    r.end('admin');
  });
  await new Promise<void>((r) => victim.listen(0, '127.0.0.1', () => r()));
  const vport = (victim.address() as net.AddressInfo).port;
  try {
    const file = write(
      'ssrf.yaml',
      `apps:\n  - name: ssrf\n    exec: /bin/sleep\n    args: ["600"]\n    ready: "http://127.0.0.1:${vport}/shutdown"\n    ready_timeout: 1500ms\n    restart: never\n`,
    );
    await d.json(['apply', '-f', file]);
    const p = await d.waitProc('ssrf', 'failed', (x) => x.status === 'failed', 10_000);
    assert.match(p.reason ?? '', /not ready within/);
    assert.equal(hits, 0, 'the other service got no request');
    await delAll('ssrf');
    // The same port on another address of the instance's ([::1]): still not the 127.0.0.1 service.
    const v6 = write('v6.js', `require('http').createServer((q, r) => r.end('v6')).listen(${vport}, '::1'); setInterval(() => {}, 1e9);\n`);
    const file2 = write('ssrf6.yaml', `apps:\n  - name: ssrf6\n    exec: ${process.execPath}\n    args: [${v6}]\n    ready: "http://127.0.0.1:${vport}/from-v6"\n    ready_timeout: 1500ms\n    restart: never\n`);
    await d.json(['apply', '-f', file2]);
    const p6 = await d.waitProc('ssrf6', 'failed', (x) => x.status === 'failed', 10_000);
    assert.match(p6.reason ?? '', /not ready within/);
    assert.equal(hits, 0, 'no request to the 127.0.0.1 service from a [::1] listener');
    await delAll('ssrf6');
    // Its own network namespace, listening on "127.0.0.1:PORT" there: pmond's 127.0.0.1 is another.
    if (fs.existsSync('/usr/bin/unshare')) {
      const v4 = write('v4.js', `require('http').createServer((q, r) => r.end('ns')).listen(${vport}, '127.0.0.1'); setInterval(() => {}, 1e9);\n`);
      const file3 = write('ssrfns.yaml', `apps:\n  - name: ssrfns\n    exec: /usr/bin/unshare\n    args: ["-rn", "/bin/sh", "-c", "ip link set lo up 2>/dev/null; exec ${process.execPath} ${v4}"]\n    ready: "http://127.0.0.1:${vport}/from-netns"\n    ready_timeout: 1500ms\n    restart: never\n`);
      await d.json(['apply', '-f', file3]);
      const pn = await d.waitProc('ssrfns', 'failed', (x) => x.status === 'failed', 10_000);
      assert.match(pn.reason ?? '', /not ready within/);
      assert.equal(hits, 0, 'no request to the host 127.0.0.1 service from another network namespace');
      await delAll('ssrfns');
    }
  } finally {
    victim.close();
  }
});

test('a flood of notify datagrams from a user with no instance is dropped cheaply: an instance still gets ready, pmond answers', { skip: !isRoot() && 'needs root (test users)' }, async () => {
  const u = users.add('hl-flood');
  const flood = execFile('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', PY, '-c',
    `import socket,time\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\nend=time.time()+4\nn=0\nwhile time.time()<end:\n  try:\n    s.sendto(b"READY=1\\nWATCHDOG=trigger",${JSON.stringify(`${d.socket}.notify`)}); n+=1\n  except OSError:\n    time.sleep(0.001)\nprint(n)`]);
  let sent = '';
  flood.stdout!.on('data', (b: Buffer) => (sent += b.toString()));
  const done = new Promise<void>((r) => flood.once('exit', () => r()));
  const file = write('fl.yaml', `apps:\n  - name: fl\n    exec: ${PY}\n    args: [${NOTIFY}, ready, "1"]\n    ready: notify\n`);
  await d.json(['apply', '-f', file]);
  const p = await d.waitProc('fl', 'running', (x) => x.status === 'running', 15_000);
  assert.equal(p.restarts, 0, 'no WATCHDOG=trigger of the flood counted');
  await done;
  console.log(`# notify flood: ${sent.trim()} datagrams in 4 s from a user with no instance`);
  assert.ok(Number(sent) > 1000, `the flood ran (${sent.trim()})`);
  await delAll('fl');
});

test("Firestarter's manual ack: a worker:ack line on $FIRESTARTER_SOCK_PATH from the instance is READY=1; a stranger's is not", async () => {
  const file = write(
    'fsack.yaml',
    `apps:\n  - name: fsa\n    exec: ${PY}\n    args: [${NOTIFY}, fsack, "0.3"]\n    ack: manual\n  - name: fsb\n    exec: ${PY}\n    args: [${NOTIFY}, never]\n    ack: manual\n    ack_timeout: 3s\n    restart: never\n`,
  );
  await d.json(['apply', '-f', file]);
  await d.waitProc('fsa', 'running', (p) => p.status === 'running');
  assert.ok(logOf('fsa').includes('sent worker:ack'));
  await d.waitProc('fsb', 'starting', (p) => p.status === 'starting');
  execFileSync(PY, ['-c', `import socket;c=socket.socket(socket.AF_UNIX);c.connect(${JSON.stringify(`${d.socket}.ack`)});c.sendall(b'{"command":"worker:ack"}\\n');c.close()`]);
  const b = await d.waitProc('fsb', 'failed', (p) => p.status === 'failed', 10_000);
  assert.match(b.reason ?? '', /not ready within 3 s/);
  await delAll('fsa', 'fsb');
});

test('a lingering TCP socket sent as an fd to the notify socket does not stall it: an instance still gets ready', async () => {
  const sender = execFile(PY, ['-c', `
import array, socket, struct, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096); c.connect(srv.getsockname())
peer, _ = srv.accept(); peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c.setblocking(False)
try:
    while True: c.send(b'x' * 65536)
except BlockingIOError:
    pass
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 3600))
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.sendmsg([b'STATUS=hi'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [c.fileno()]))], 0, ${JSON.stringify(`${d.socket}.notify`)})
c.close()
print('sent', flush=True)
time.sleep(60)
`]);
  let out = '';
  sender.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await waitFor('the fd was sent', () => out.includes('sent'), 10_000);
    const file = write('linger.yaml', `apps:\n  - name: lg\n    exec: ${PY}\n    args: [${NOTIFY}, ready, "0.5"]\n    ready: notify\n    ready_timeout: 8s\n`);
    await d.json(['apply', '-f', file]);
    const p = await d.waitProc('lg', 'running', (x) => x.status === 'running', 15_000);
    assert.equal(p.restarts, 0);
    await delAll('lg');
  } finally {
    sender.kill('SIGKILL');
  }
});

test('the live-check file: grown past 1 MiB, or given another name (a hard link), fails the check at once', async () => {
  const grow = path.join(dir, 'grow-now');
  const link = path.join(dir, 'link-now');
  const prog = write('lc-abuse.sh', `#!/bin/sh\nwhile :; do\n  touch "$FIRESTARTER_WATCH_FILE"\n  if [ -e ${grow} ]; then head -c 2000000 /dev/zero >> "$FIRESTARTER_WATCH_FILE"; rm -f ${grow}; fi\n  if [ -e ${link} ]; then ln "$FIRESTARTER_WATCH_FILE" ${path.join(dir, 'second-name')}; rm -f ${link}; fi\n  sleep 0.1\ndone\n`);
  fs.chmodSync(prog, 0o755);
  const file = write('lc-abuse.yaml', `apps:\n  - name: lca\n    exec: ${prog}\n    live_check_timeout: 5s\n`);
  await d.json(['apply', '-f', file]);
  const first = await d.waitProc('lca', 'running', (p) => p.status === 'running');
  fs.writeFileSync(grow, '');
  const second = await d.waitProc('lca', 'restarted for its size', (p) => p.pid !== first.pid && p.restarts >= 1, 10_000);
  assert.match(second.reason ?? '', /^live check: FIRESTARTER_WATCH_FILE grew to \d+ bytes \(at most 1 MiB\)/);
  await d.waitProc('lca', 'running again', (p) => p.status === 'running' && p.pid === second.pid);
  fs.writeFileSync(link, '');
  const third = await d.waitProc('lca', 'restarted for a second name', (p) => p.pid !== second.pid && p.restarts >= 2, 10_000);
  assert.match(third.reason ?? '', /another name \(a hard link\)/);
  fs.rmSync(path.join(dir, 'second-name'), { force: true });
  await delAll('lca');
});
