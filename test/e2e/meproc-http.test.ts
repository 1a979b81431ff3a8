/**
 * Meproc's HTTP endpoints (internal/http/meproc.ts) on a real pmond's HTTP door: the requests of
 * Meproc's README as curl sends them (plus the signature), their {code, msg, data} replies and
 * their effect as `pmon3 --json ls` shows it; the start and restart verbs of both Meproc
 * versions; GET /proc/output; bad input refused in one line with nothing applied; the door's
 * authentication is not bypassed (unsigned: 403) and a viewer key reads but changes nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { authorization, parsePrivate, signChallenge } from '../../internal/protocol/keys';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { freePort } from '../helpers/net';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

type Key = ReturnType<typeof parsePrivate>;
interface Reply {
  status: number;
  body: any;
}

const users = new TestUsers();
let d: TestDaemon;
let dir: string;
let port: number;
let ops: Key;
let viewer: Key;

/** A key made by `pmon3 key gen FILE`, as its owner would. */
function genKey(name: string): { key: Key; public_key: string } {
  const file = path.join(dir, `${name}.key`);
  const out = JSON.parse(execFileSync(PMON3, ['key', 'gen', file, '--json'], { encoding: 'utf8' })) as { public_key: string };
  return { key: parsePrivate(fs.readFileSync(file, 'utf8')), public_key: out.public_key };
}

before(async () => {
  dir = tempDir('pmmp-', 0o755);
  const a = genKey('ops');
  const v = genKey('viewer');
  ops = a.key;
  viewer = v.key;
  port = await freePort();
  d = await TestDaemon.start({
    config: {
      http: {
        listen: `127.0.0.1:${port}`,
        keys: [
          { name: 'ops', public_key: a.public_key, user: 'root', role: 'admin', rate: 1000 },
          { name: 'viewer', public_key: v.public_key, user: 'root', role: 'viewer', rate: 1000 },
        ],
      },
    },
  });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * One request as curl sends it (-d: the body as given, form content type), signed by key (none:
 * unsigned); target is sent byte for byte as signed. The reply's JSON.
 */
function send(key: Key | null, method: string, target: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = authorization(key, method, target, body ?? '');
  if (body !== undefined) h['content-type'] = 'application/x-www-form-urlencoded';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: h }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new Error(`${method} ${target}: ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.end(body);
  });
}

const OK = { code: 200, msg: 'OK' };

/** Every process of user's app `app` in `pmon3 --json ls`, by instance. */
async function instances(app: string, user = 'root'): Promise<any[]> {
  return (await d.ls()).filter((p) => p.app === app && p.user === user).sort((a, b) => a.instance - b.instance);
}

/** What ls shows, to compare before and after a refused request. */
async function snapshot(): Promise<string> {
  return JSON.stringify((await d.ls()).map((p) => [p.id, p.name, p.status === 'running' ? p.pid : p.status]).sort());
}

test("Meproc README's Start process: a task of replica 2 runs as its user, in its home; DELETE stops and forgets it", { skip: !isRoot() && 'needs root (a task of another user)' }, async () => {
  const guest = users.add('mpguest');
  // README: curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2, "user": "guest"}'
  const r = await send(ops, 'POST', '/proc', `{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2, "user": "${guest.name}"}`);
  assert.deepEqual(r, { status: 200, body: OK });
  const rows = await waitFor('sleep1:0 and :1 running', async () => {
    const xs = await instances('sleep1', guest.name);
    return xs.length === 2 && xs.every((p) => p.status === 'running') ? xs : undefined;
  });
  for (const p of rows) {
    assert.equal(p.user, guest.name);
    assert.equal(p.cwd, `/home/${guest.name}`);
    assert.equal(p.type, 'once');
  }
  const list = await send(ops, 'GET', '/proc');
  // The only sleep1 is guest's: named plainly, as the caller's own would be.
  assert.equal(list.body.data.tasks.sleep1.user, guest.name);
  // README: curl -v -XDELETE http://127.1:8606/proc?name=sleep1
  assert.deepEqual(await send(ops, 'DELETE', '/proc?name=sleep1'), { status: 200, body: OK });
  assert.deepEqual(await instances('sleep1', guest.name), []);
  await waitFor('sleep1 pids gone', () => rows.every((p) => !pidAlive(p.pid)));
  const again = await send(ops, 'PUT', '/proc?name=sleep1');
  assert.equal(again.status, 404);
  assert.equal(again.body.code, 404);
  assert.match(again.body.msg, /task sleep1 does not exist/);
});

test("Meproc README's Example: deps wait, GET /proc lists tasks and running, DELETE frees the name, PUT restarts, a cron task waits for its minute and PUT runs it now", async () => {
  // curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2}'
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2}'), { status: 200, body: OK });
  // curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep2", "cmd": "sleep 5", "type": "once", "replica": 2, "deps": ["sleep1"]}'
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "sleep2", "cmd": "sleep 5", "type": "once", "replica": 2, "deps": ["sleep1"]}'), { status: 200, body: OK });
  // curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep3", "cmd": "sleep 5", "type": "once", "replica": 2, "deps": ["sleep1", "sleep2"]}'
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "sleep3", "cmd": "sleep 5", "type": "once", "replica": 2, "deps": ["sleep1", "sleep2"]}'), { status: 200, body: OK });
  const first = await waitFor('sleep1 running', async () => {
    const xs = await instances('sleep1');
    return xs.length === 2 && xs.every((p) => p.status === 'running') ? xs : undefined;
  });
  // While sleep1 runs, sleep2 and sleep3 wait for it (Meproc's deps).
  for (const app of ['sleep2', 'sleep3']) {
    const xs = await instances(app);
    assert.equal(xs.length, 2, app);
    for (const p of xs) assert.equal(p.status, 'queued', `${p.name} waits for its deps`);
  }

  // curl -v http://127.1:8606/proc
  const list = await send(ops, 'GET', '/proc');
  assert.equal(list.status, 200);
  assert.equal(list.body.code, 200);
  assert.equal(list.body.msg, 'OK');
  const { tasks, running } = list.body.data;
  assert.deepEqual(Object.keys(tasks).sort(), ['sleep1', 'sleep2', 'sleep3']);
  assert.deepEqual(
    { ...tasks.sleep1, start_time: 0, last_time: 0 },
    { name: 'sleep1', cmd: 'sleep 5', type: 'once', replica: 2, interval: 3000, deps: [], user: 'root', running: 2, start_time: 0, last_time: 0, run_flag: false },
  );
  assert.ok(Math.abs(tasks.sleep1.start_time - Date.now() / 1000) < 120, 'start_time is seconds since the epoch');
  assert.deepEqual(tasks.sleep3.deps, ['sleep1', 'sleep2']);
  assert.equal(tasks.sleep2.running, 0);
  assert.equal(tasks.sleep2.run_flag, true, 'sleep2 waits to run');
  assert.deepEqual(
    running.map((x: any) => [x.alias, x.pid, x.command]).sort(),
    first.map((p) => [`sleep1:${p.instance}`, p.pid, 'sleep 5']).sort(),
  );

  // curl -v -XDELETE http://127.1:8606/proc?name=sleep1
  assert.deepEqual(await send(ops, 'DELETE', '/proc?name=sleep1'), { status: 200, body: OK });
  assert.deepEqual(await instances('sleep1'), [], 'deleted: no longer listed');
  await waitFor('sleep1 pids gone', () => first.every((p) => !pidAlive(p.pid)));
  // Nothing holds sleep2 back any more (Meproc's deps on a task that is not running).
  await waitFor('sleep2 started', async () => (await instances('sleep2')).every((p) => p.status === 'running' || p.status === 'completed'));

  // curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2}'
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2}'), { status: 200, body: OK });
  const before = await waitFor('the new sleep1 running', async () => {
    const xs = await instances('sleep1');
    return xs.length === 2 && xs.every((p) => p.status === 'running') ? xs : undefined;
  });
  // The same name again while it exists: refused, as Meproc's "Program exists, please stop it at first".
  const twice = await send(ops, 'POST', '/proc', '{"name": "sleep1", "cmd": "sleep 5", "type": "once", "replica": 2}');
  assert.equal(twice.status, 409);
  assert.equal(twice.body.code, 409);
  assert.match(twice.body.msg, /^task sleep1 exists: DELETE \/proc\?name=sleep1 first$/);

  // curl -v -XPUT http://127.1:8606/proc?name=sleep1
  assert.deepEqual(await send(ops, 'PUT', '/proc?name=sleep1'), { status: 200, body: OK });
  await waitFor('both instances of sleep1 restarted', async () => {
    const xs = await instances('sleep1');
    return xs.length === 2 && xs.every((p, i) => p.status === 'running' && p.restarts === before[i].restarts + 1 && p.pid !== before[i].pid);
  });

  // curl -v -XPOST http://127.1:8606/proc -d '{"name": "sleep4", "cmd": "sleep 5", "type": "cron", "cron": "* * * * *", "replica": 2}'
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "sleep4", "cmd": "sleep 5", "type": "cron", "cron": "* * * * *", "replica": 2}'), { status: 200, body: OK });
  const cron = await instances('sleep4');
  assert.equal(cron.length, 2);
  for (const p of cron) {
    assert.equal(p.type, 'cron');
    assert.ok(p.status === 'scheduled' || p.status === 'running', `${p.name} is ${p.status}`);
    assert.ok(p.next_run_at, 'armed for its next minute');
  }
  const tasks2 = (await send(ops, 'GET', '/proc')).body.data.tasks;
  assert.equal(tasks2.sleep4.cron, '* * * * *');
  assert.equal(tasks2.sleep4.type, 'cron');
  // Meproc's restart is Stop then Start, and Start runs a cron task's processes at once.
  assert.deepEqual(await send(ops, 'PUT', '/proc?name=sleep4'), { status: 200, body: OK });
  await waitFor('sleep4 run now', async () => (await instances('sleep4')).every((p) => p.status === 'running'));

  for (const n of ['sleep1', 'sleep2', 'sleep3', 'sleep4']) assert.deepEqual(await send(ops, 'DELETE', `/proc?name=${n}`), { status: 200, body: OK });
  assert.deepEqual((await d.ls()).filter((p) => /^sleep\d$/.test(p.app)), []);
});

test('Meproc 1.0.0 before its commit 3d9cc25: PUT with a task starts it, POST ?name= restarts it', async () => {
  assert.deepEqual(await send(ops, 'PUT', '/proc', '{"name": "old1", "cmd": "sleep 30", "type": "daemon", "interval": 500}'), { status: 200, body: OK });
  const [p] = await waitFor('old1 running', async () => {
    const xs = await instances('old1');
    return xs.length === 1 && xs[0].status === 'running' ? xs : undefined;
  });
  assert.equal(p.auto_restart, true, 'a daemon task is restarted whenever it exits');
  const task = (await send(ops, 'GET', '/proc')).body.data.tasks.old1;
  assert.equal(task.type, 'daemon');
  assert.equal(task.interval, 500);
  assert.deepEqual(await send(ops, 'POST', '/proc?name=old1'), { status: 200, body: OK });
  await waitFor('old1 restarted', async () => {
    const [x] = await instances('old1');
    return x && x.status === 'running' && x.restarts === p.restarts + 1 && x.pid !== p.pid;
  });
  assert.deepEqual(await send(ops, 'DELETE', '/proc?name=old1'), { status: 200, body: OK });
  assert.deepEqual(await instances('old1'), []);
});

test("GET /proc/output: each instance's last lines, base64, as Meproc's web page reads them; a shell command is warned of", async () => {
  const r = await send(ops, 'POST', '/proc', '{"name": "hello", "cmd": "echo hello from meproc; echo second line", "type": "once", "replica": 2}');
  assert.equal(r.status, 200);
  assert.equal(r.body.code, 200);
  assert.match(r.body.data.warnings.join('\n'), /cmd: uses shell syntax: run as \/bin\/sh -c CMD/);
  await waitFor('hello ran', async () => {
    const xs = await instances('hello');
    return xs.length === 2 && xs.every((p) => p.status === 'completed');
  });
  const out = await send(ops, 'GET', '/proc/output?name=hello');
  assert.equal(out.status, 200);
  assert.deepEqual(Object.keys(out.body.data).sort(), ['hello:0', 'hello:1']);
  // The instances write one log: each alias shows both runs' lines (in whatever order they ran).
  for (const v of Object.values(out.body.data)) {
    assert.deepEqual(Buffer.from(v as string, 'base64').toString().split('\n').sort(), ['', 'hello from meproc', 'hello from meproc', 'second line', 'second line']);
  }
  const none = await send(ops, 'GET', '/proc/output?name=nosuch');
  assert.deepEqual(none, { status: 404, body: { code: 404, msg: 'task nosuch does not exist (POST /proc starts one)' } });
  assert.deepEqual(await send(ops, 'DELETE', '/proc?name=hello'), { status: 200, body: OK });
});

test('bad input: one line in msg with the status as code, nothing applied', async () => {
  const seen = await snapshot();
  const cases: Array<[string, string, string | undefined, number, RegExp]> = [
    ['POST', '/proc', undefined, 400, /^JSON body is required/],
    ['POST', '/proc', 'name=x&cmd=sleep', 400, /^the body is not JSON/],
    ['POST', '/proc', '[{"name": "a", "cmd": "sleep 5", "type": "once"}]', 400, /not one Meproc task/],
    ['POST', '/proc', '{"cmd": "sleep 5", "type": "once"}', 400, /^name is required/],
    ['POST', '/proc', '{"name": "../etc", "cmd": "sleep 5", "type": "once"}', 400, /^name "\.\.\/etc" is not a task name/],
    ['POST', '/proc', '{"name": "a\\u0001b", "cmd": "sleep 5", "type": "once"}', 400, /^name "a\\u0001b" is not a task name/],
    ['POST', '/proc', '{"name": "a\\nb", "cmd": "sleep 5", "type": "once"}', 400, /^name "a\\nb" is not a task name/],
    ['POST', '/proc', `{"name": "${'x'.repeat(10000)}", "cmd": "sleep 5", "type": "once"}`, 400, /is not a task name: name must be at most 64 characters$/],
    ['POST', '/proc', '{"name": "all", "cmd": "sleep 5", "type": "once"}', 400, /is not a task name/],
    ['POST', '/proc', '{"name": "42", "cmd": "sleep 5", "type": "once"}', 400, /is not a task name/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "forever"}', 400, /^type: expected once, daemon, cron or coroutine$/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5"}', 400, /^type: expected/],
    ['POST', '/proc', '{"name": "bad", "cmd": "", "type": "once"}', 400, /^cmd: expected/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "once", "replica": 0}', 400, /^replica: expected a positive whole number/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "once", "replica": "2"}', 400, /^replica: expected/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "once", "cron": "* * * * *"}', 400, /^cron: expected type 'cron'/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "cron", "cron": "not a cron"}', 400, /^cron: expected a cron schedule/],
    ['POST', '/proc', '{"name": "bad", "cmd": "/x/y.m", "type": "coroutine"}', 400, /coroutine .* no equivalent/],
    ['POST', '/proc', '{"name": "bad", "cmd": "sleep 5", "type": "once", "user": "pmon3-no-such-user"}', 400, /user "pmon3-no-such-user" does not exist/],
    ['DELETE', '/proc', undefined, 400, /^name is required/],
    ['DELETE', '/proc?name=', undefined, 400, /^name is required/],
    ['DELETE', '/proc?name=..%2F..%2Fetc', undefined, 400, /is not a user name/],
    ['DELETE', '/proc?name=a%01b', undefined, 400, /^name "a\\u0001b" is not a task name/],
    ['DELETE', '/proc?name=all', undefined, 400, /is not a task name/],
    ['DELETE', '/proc?name=7', undefined, 400, /is not a task name/],
    ['DELETE', '/proc?name=@grp', undefined, 400, /is not a task name/],
    ['DELETE', '/proc?name=a&name=b', undefined, 400, /more than once/],
    ['DELETE', `/proc?name=${'y'.repeat(3000)}`, undefined, 400, /at most 64 characters$/],
    ['DELETE', '/proc?name=nosuch', undefined, 404, /^task nosuch does not exist/],
    ['PUT', '/proc?name=nosuch', undefined, 404, /^task nosuch does not exist/],
    ['PUT', '/proc?name=x', '{"name": "x", "cmd": "sleep 5", "type": "once"}', 400, /not both/],
    ['PATCH', '/proc', undefined, 400, /PATCH is not a method of \/proc/],
    ['GET', '/proc/output', undefined, 400, /^name is required/],
    ['POST', '/proc/output?name=x', undefined, 400, /POST is not a method of \/proc\/output/],
  ];
  for (const [method, target, body, status, msg] of cases) {
    const r = await send(ops, method, target, body);
    const what = `${method} ${target.slice(0, 60)} ${body?.slice(0, 60) ?? ''}`;
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'msg'], what);
    assert.equal(r.body.code, status, what);
    assert.match(r.body.msg, msg, what);
    assert.ok(!/[\n\r]/.test(r.body.msg) && r.body.msg.length <= 500, `${what}: one short line: ${r.body.msg.slice(0, 100)}`);
  }
  assert.equal(await snapshot(), seen, 'nothing applied');
});

test('auth is the door\'s: unsigned and badly signed requests are refused 403; a bearer token works; a viewer key may GET but not POST, PUT or DELETE', async () => {
  assert.deepEqual(await send(ops, 'POST', '/proc', '{"name": "keep", "cmd": "sleep 30", "type": "daemon"}'), { status: 200, body: OK });
  await waitFor('keep running', async () => (await instances('keep'))[0]?.status === 'running');
  const seen = await snapshot();
  for (const [method, target, body] of [
    ['GET', '/proc', undefined],
    ['POST', '/proc', '{"name": "unsigned", "cmd": "sleep 5", "type": "once"}'],
    ['PUT', '/proc?name=keep', undefined],
    ['DELETE', '/proc?name=keep', undefined],
    ['GET', '/proc/output?name=keep', undefined],
  ] as const) {
    const r = await send(null, method, target, body);
    assert.equal(r.status, 403, `${method} ${target} unsigned`);
    assert.equal(r.body.error.code, 'PERMISSION_DENIED');
  }
  // Signed for another request: the path and the body are what is signed.
  const forged = await send(null, 'DELETE', '/proc?name=keep', undefined, { authorization: authorization(ops, 'GET', '/proc', '') });
  assert.equal(forged.status, 403);
  assert.match(forged.body.error.message, /bad signature/);

  // The dashboard's login: a signed challenge for a token, then curl -H "Authorization: Bearer ...".
  const ch = await send(null, 'POST', '/v1/auth/challenge');
  const login = await send(null, 'POST', '/v1/auth/login', JSON.stringify({ key: viewer.id, challenge: ch.body.challenge, signature: signChallenge(viewer, ch.body.challenge) }));
  assert.equal(login.status, 200);
  const bearer = { authorization: `Bearer ${login.body.token}` };
  const listed = await send(null, 'GET', '/proc', undefined, bearer);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.data.tasks.keep.running, 1);
  assert.equal((await send(null, 'DELETE', '/proc?name=keep', undefined, bearer)).status, 403);

  const v = await send(viewer, 'GET', '/proc');
  assert.equal(v.status, 200);
  assert.ok('keep' in v.body.data.tasks);
  assert.equal((await send(viewer, 'GET', '/proc/output?name=keep')).status, 200);
  for (const [method, target, body] of [
    ['POST', '/proc', '{"name": "viewed", "cmd": "sleep 5", "type": "once"}'],
    ['PUT', '/proc', '{"name": "viewed", "cmd": "sleep 5", "type": "once"}'],
    ['PUT', '/proc?name=keep', undefined],
    ['POST', '/proc?name=keep', undefined],
    ['DELETE', '/proc?name=keep', undefined],
  ] as const) {
    const r = await send(viewer, method, target, body);
    assert.equal(r.status, 403, `viewer ${method} ${target}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 403);
    assert.match(r.body.msg, /^key viewer \(viewer\) may not call /);
  }
  assert.equal(await snapshot(), seen, 'nothing changed');
  assert.deepEqual(await send(ops, 'DELETE', '/proc?name=keep'), { status: 200, body: OK });
});

test('a Unix-socket listen: the kernel says who calls (curl --unix-socket PATH http://localhost/proc)', async () => {
  const sock = path.join(dir, 'http.sock');
  const u = await TestDaemon.start({ config: { http: { listen: sock, keys: [] } } });
  try {
    const ask = (method: string, target: string, body?: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = http.request({ socketPath: sock, method, path: target, headers: { host: 'localhost' } }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.deepEqual(await ask('POST', '/proc', '{"name": "viasock", "cmd": "sleep 30", "type": "daemon"}'), { status: 200, body: OK });
    await waitFor('viasock running', async () => (await u.ls()).some((p) => p.app === 'viasock' && p.status === 'running'));
    const list = await ask('GET', '/proc');
    assert.equal(list.body.data.tasks.viasock.user, 'root');
    assert.deepEqual(await ask('DELETE', '/proc?name=viasock'), { status: 200, body: OK });
    assert.deepEqual(await u.ls(), []);
  } finally {
    await u.stop();
  }
});
