/**
 * Rolling reload against a real pmond (issue 15): an HTTP app of 4 instances on one shared
 * port, under continuous load from 4 request loops on 127.0.0.1 (a fresh connection per
 * request, bounded by the test's own time): `reload web` replaces every instance with not one
 * failed request; a version that never gets ready is a rollback (exit 6, one line, the old
 * instances serve on, no failed request); scale and apply wait for a reload (refused); pmond
 * killed with SIGKILL in the middle of one: the next one rolls it back, no request fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { freePort } from '../helpers/net';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const APP = path.join(FIXTURES, 'health', 'rolling.js');
let d: TestDaemon;
let dir: string;
let port = 0;
let mode = '';

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmrl-', 0o755);
  mode = path.join(dir, 'mode');
});
after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});


interface Answer {
  pid: number;
  instance: string;
  version: string;
}

function get(): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Answer);
        } catch {
          resolve({ error: `bad body ${body.slice(0, 80)}` });
        }
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

/** 4 request loops until stopped: how many answered, which failed, the pids seen. */
function load(): { stop(): Promise<{ done: number; failures: string[]; pids: Set<number> }>; done(): number } {
  let stopping = false;
  let done = 0;
  const failures: string[] = [];
  const pids = new Set<number>();
  const loops = [0, 1, 2, 3].map(async () => {
    while (!stopping) {
      const a = await get();
      if ('error' in a) failures.push(`${a.error} at ${new Date().toISOString()}`);
      else {
        done++;
        pids.add(a.pid);
      }
    }
  });
  return {
    done: () => done,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      return { done, failures, pids };
    },
  };
}

const instances = async (): Promise<any[]> => (await d.ls()).filter((p) => p.name.startsWith('web:'));

test('reload web under load: every instance replaced, not one request failed', async () => {
  port = await freePort();
  fs.writeFileSync(mode, 'ok');
  const file = path.join(dir, 'web.yaml');
  fs.writeFileSync(
    file,
    `apps:
  - name: web
    exec: ${process.execPath}
    args: [${APP}]
    env: {MODE_FILE: ${JSON.stringify(mode)}}
    instances: 4
    sockets: ["127.0.0.1:${port}"]
    ready: notify
    ready_timeout: 3s
    max_surge: 2
    stop_timeout: 5s
`,
  );
  await d.json(['apply', '-f', file]);
  await waitFor('4 running', async () => (await instances()).filter((p) => p.status === 'running').length === 4, 20_000);
  const before = new Map((await instances()).map((p) => [p.name, p.pid]));
  const l = load();
  await waitFor('load running', () => l.done() > 50, 10_000);
  const t0 = Date.now();
  const r = await d.json<{ replaced: number; ms: number; processes: any[] }>(['reload', 'web']);
  const wall = Date.now() - t0;
  await waitFor('answers after the reload', async () => l.done() > 50, 5000);
  const res = await l.stop();
  if (res.failures.length) console.log(fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').split('\n').slice(-40).join('\n'));
  assert.deepEqual(res.failures, [], `${res.failures.length} of ${res.done + res.failures.length} requests failed`);
  assert.equal(r.replaced, 4);
  const now = await instances();
  assert.deepEqual(now.map((p) => p.name).sort(), ['web:0', 'web:1', 'web:2', 'web:3']);
  for (const p of now) {
    assert.equal(p.status, 'running');
    assert.notEqual(p.pid, before.get(p.name), `${p.name} is a new process`);
  }
  // Each new instance is the instance it replaced, to its program too; the old ones are gone.
  const seen = new Map<number, Answer>();
  await waitFor('every new pid answers', async () => {
    const a = await get();
    if (!('error' in a)) seen.set(a.pid, a);
    return now.every((p) => seen.has(p.pid));
  }, 15_000, 0);
  for (const p of now) assert.equal(seen.get(p.pid)!.instance, p.name.split(':')[1]);
  for (const pid of before.values()) assert.equal(fs.existsSync(`/proc/${pid}`), false, `old pid ${pid} is gone`);
  console.log(`# reload of 4 instances (max_surge 2): ${r.ms} ms in pmond, ${wall} ms for the CLI; ${res.done} requests, 0 failed`);
});

test('a version that never gets ready: rolled back, exit 6 in one line, the old instances serve on, no request failed', async () => {
  const before = new Map((await instances()).map((p) => [p.name, p.pid]));
  fs.writeFileSync(mode, 'never');
  const l = load();
  await waitFor('load running', () => l.done() > 50, 10_000);
  const r = await d.run(['upgrade', 'web']);
  const res = await l.stop();
  assert.equal(r.code, 6, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /web: rolled back at instance 0: new instance web:0\+ is failed \(ready: not ready within 3 s \(ready: notify\)\); the old instances serve on \(0 of 4 replaced\)/);
  assert.deepEqual(res.failures, [], `${res.failures.length} of ${res.done + res.failures.length} requests failed`);
  const now = await instances();
  assert.deepEqual(new Map(now.map((p) => [p.name, p.pid])), before, 'the same four, no new one left');
  assert.ok(now.every((p) => p.status === 'running'));
  assert.ok(!(await d.ls()).some((p) => p.name.endsWith('+')));
  for (const pid of res.pids) assert.ok([...before.values()].includes(pid), `only old pids answered (${pid})`);
});

test("the upgrader runs first, as the app: anything but exit 0 and nothing is replaced", async () => {
  fs.writeFileSync(mode, 'ok');
  const file = path.join(dir, 'web.yaml');
  const upg = path.join(dir, 'upgrader.sh');
  fs.writeFileSync(upg, '#!/bin/sh\necho "upgrader for instance $PMON3_INSTANCE of $PMON3_PROCESS_NAME"\nexit "$(cat "$1")"\n');
  fs.chmodSync(upg, 0o755);
  const code = path.join(dir, 'upgrader-exit');
  fs.writeFileSync(code, '3');
  const base = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, `${base}    upgrader: [${upg}, ${code}]\n    upgrader_timeout: 5s\n`);
  await d.json(['apply', '-f', file]);
  const before = new Map((await instances()).map((p) => [p.name, p.pid]));
  const r = await d.run(['reload', 'web']);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /^pmon3: reload: web: not reloaded: upgrader exited with code 3; nothing was replaced\n$/);
  assert.deepEqual(new Map((await instances()).map((p) => [p.name, p.pid])), before);
  fs.writeFileSync(code, '0');
  const ok = await d.json<{ replaced: number }>(['reload', 'web']);
  assert.equal(ok.replaced, 4);
  fs.writeFileSync(file, base);
  await d.json(['apply', '-f', file]);
});

test('scale waits for a reload (refused while one runs); pmond killed with SIGKILL mid-reload: the next one rolls it back', async () => {
  // Time enough to be caught mid-reload: a ready_timeout of 30 s (no restart: not executed), a version never ready.
  const file = path.join(dir, 'web.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('ready_timeout: 3s', 'ready_timeout: 30s'));
  await d.json(['apply', '-f', file]);
  fs.writeFileSync(mode, 'never');
  const before = new Map((await instances()).map((p) => [p.name, p.pid]));
  const reloading = d.run(['reload', 'web']);
  await d.waitProc('web:0+', 'starting', (p) => p.status === 'starting', 10_000);
  const sc = await d.run(['scale', 'web', '5']);
  assert.equal(sc.code, 6);
  assert.match(sc.stderr, /web is being reloaded/);
  const surgePids = (await d.ls()).filter((p) => p.name.endsWith('+')).map((p) => p.pid as number);
  const l = load();
  await waitFor('load running', () => l.done() > 50, 10_000);
  await d.crash();
  const cut = await reloading;
  assert.notEqual(cut.code, 0);
  await d.launch();
  await waitFor('the surge rows are gone', async () => !(await d.ls()).some((p) => p.name.endsWith('+')), 15_000);
  const res = await l.stop();
  assert.deepEqual(res.failures, [], `${res.failures.length} of ${res.done + res.failures.length} requests failed`);
  assert.deepEqual(new Map((await instances()).map((p) => [p.name, p.pid])), before, 'the old four serve on');
  await waitFor('the new ones were stopped', () => surgePids.every((pid) => !fs.existsSync(`/proc/${pid}`)), 10_000);
  assert.match(fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8'), /a reload was cut off: new instance web:0\+ removed, the old one serves on/);
  await d.json(['del', 'web']);
});

test('reload of an app with a logger: the new instances write into the old ones\' pipes, one logger per log, no line lost', async () => {
  const port = await freePort();
  fs.writeFileSync(mode, 'ok');
  const file = path.join(dir, 'rl.yaml');
  fs.writeFileSync(file, `apps:\n  - name: rl\n    exec: ${process.execPath}\n    args: [${APP}]\n    env: {MODE_FILE: ${JSON.stringify(mode)}}\n    instances: 2\n    sockets: ["127.0.0.1:${port}"]\n    ready: notify\n    rotate: {size: 1M, keep: 3}\n`);
  await d.json(['apply', '-f', file]);
  await waitFor('2 running', async () => (await d.ls()).filter((p) => p.name.startsWith('rl:') && p.status === 'running').length === 2, 20_000);
  const loggers = (): number[] =>
    fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x)).filter((pid) => {
      try {
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
        return env.includes('\0PMON3_LOGGER=out\0') && env.includes('\0PMON3_PROCESS_NAME=rl\0');
      } catch {
        return false;
      }
    }).map(Number);
  await waitFor('two loggers', () => loggers().length === 2, 10_000);
  const before = loggers().sort();
  const r = await d.json<{ replaced: number }>(['reload', 'rl']);
  assert.equal(r.replaced, 2);
  assert.deepEqual(loggers().sort(), before, 'the same two loggers, no third or fourth');
  const log0 = (await d.json(['desc', 'rl:0'])).log as string;
  await waitFor('the new instance 0 said it started, in the same log', () => (fs.readFileSync(log0, 'utf8').match(/^started ok-/gm) ?? []).length >= 2, 10_000);
  await d.json(['del', 'rl']);
  await waitFor('the loggers end with the app', () => loggers().length === 0, 15_000);
});
