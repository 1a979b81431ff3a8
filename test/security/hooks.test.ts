/**
 * The hook queue is shared by every user's processes. The attack: one user
 * sends 1100 `restart` requests as fast as pmond takes them, each firing the
 * restart hook. Before: the 1000-slot queue filled with her hooks, root's own
 * were dropped ("queue full"), each drop wrote a line to pmond.log, and a
 * SIGTERM waited for her 1000 queued hooks. Now: she fills her share only,
 * root's hook runs next, drops are summed up, and pmond stops at once
 * (dropping what is queued). Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let flo: TestUser;
let dir: string;
let ran: string;
const figures: Record<string, unknown> = {};

before(async () => {
  if (skip) return;
  flo = users.add('pmon3-hk-flo');
  dir = fs.mkdtempSync('/tmp/pmk-');
  fs.chmodSync(dir, 0o755);
  ran = path.join(dir, 'ran.txt');
  fs.writeFileSync(ran, '');
  // Each hook says whose process it is about, then keeps its slot for a while.
  const hook = path.join(dir, 'on-restart.js');
  fs.writeFileSync(hook, `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(ran)}, JSON.parse(process.argv[2]).name + '\\n');\nsetTimeout(() => {}, 300);\n`, { mode: 0o755 });
  d = await TestDaemon.start({
    config: { on_process_restart_exec: hook, hook_concurrency: 1, hook_timeout: 5, stop_timeout: 1, handle_interrupts: false },
  });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** As the user: `count` restart requests of `target`, 30 in flight on each of 4 connections; prints "done OK FAILED". */
const FLOOD = `
const net = require('net');
const { encodeFrame, FrameDecoder, PROTOCOL_VERSION } = require(process.argv[1] + '/dist/internal/protocol');
const [sock, target, count] = [process.argv[2], process.argv[3], Number(process.argv[4])];
let sent = 0, ok = 0, failed = 0, open = 4;
for (let c = 0; c < 4; c++) {
  const s = net.connect(sock);
  const dec = new FrameDecoder(64 << 20);
  let inFlight = 0, id = 0;
  const more = () => {
    while (inFlight < 30 && sent < count) {
      sent++; inFlight++;
      s.write(encodeFrame({ v: PROTOCOL_VERSION, id: ++id, method: 'restart', params: { target, count: true } }));
    }
    if (inFlight === 0) { s.end(); if (--open === 0) process.stdout.write('done ' + ok + ' ' + failed + '\\n'); }
  };
  s.on('connect', more);
  s.on('error', () => {});
  s.on('data', (b) => {
    for (const f of dec.push(b)) {
      if (f.event) continue;
      inFlight--;
      if (f.ok) ok++; else { failed++; if (failed === 1) process.stderr.write(JSON.stringify(f.error) + '\\n'); }
    }
    more();
  });
}
`;

describe('one user\'s restart flood and the hook queue', { skip }, () => {
  test('1100 restarts by one user: root\'s hook still runs at once, pmond.log grows by a few lines, SIGTERM ends pmond at once', async () => {
    const mine = await d.run(['exec', '/bin/sleep', '--name', 'flood', '--json', '--', '300'], { as: flo });
    assert.equal(mine.code, 0, mine.stderr);
    await d.json(['exec', '/bin/sleep', '--name', 'root-app', '--', '300']);
    const logFile = path.join(d.logs, 'pmond.log');
    const hookLines = (): number => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('hook')).length;
    const before = hookLines();
    const [cmd, argv] = asUserArgv(flo, [process.execPath, '-e', FLOOD, ROOT, d.socket, 'flood', '1100']);
    const flooder = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    flooder.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      // Once her hooks are being dropped, her share of the queue is full: root restarts his process.
      await waitFor('her hooks to be dropped', () => hookLines() > before, 60_000);
      const t0 = Date.now();
      const r = await d.run(['restart', 'root-app']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor('root\'s hook to run', () => fs.readFileSync(ran, 'utf8').includes('root-app\n'), 5000);
      figures.rootHookAfterMs = Date.now() - t0;
      await waitFor('the flood to end', () => /done \d+ \d+/.test(out), 120_000);
    } finally {
      flooder.kill('SIGKILL');
    }
    const [, ok] = /done (\d+) (\d+)/.exec(out)!;
    figures.floodRestartsAnswered = Number(ok);
    assert.ok(Number(ok) >= 1000, `her restarts were served (${out.trim()})`);
    const added = hookLines() - before;
    figures.hookLogLines = added;
    assert.ok(added <= 3, `pmond.log grew by ${added} hook lines`);
    // Her share (a tenth of 1000) is still queued behind 300 ms hooks: a SIGTERM does not wait for it.
    const t1 = Date.now();
    await d.terminate();
    figures.stopMs = Date.now() - t1;
    assert.equal(pidAlive(d.pid), false);
    assert.ok((figures.stopMs as number) < 8000, `pmond took ${figures.stopMs} ms to stop`);
    assert.match(fs.readFileSync(logFile, 'utf8'), /shutting down: \d+ queued hooks dropped/);
    // eslint-disable-next-line no-console
    console.log(`# hook flood figures: ${JSON.stringify(figures)}`);
    await d.launch();
  });
});

describe('what other users see of a hook', { skip }, () => {
  test('hook_payload: stdin: the JSON reaches the hook on stdin, and nothing of it is in its /proc/PID/cmdline', async () => {
    const got = path.join(dir, 'stdin.json');
    const pids = path.join(dir, 'stdin-hook.pid');
    const hook = path.join(dir, 'on-start-stdin.js');
    fs.writeFileSync(
      hook,
      `#!${process.execPath}\nconst fs = require('fs');\nfs.writeFileSync(${JSON.stringify(pids)}, String(process.pid));\n` +
        `let t = ''; process.stdin.on('data', (b) => (t += b)); process.stdin.on('end', () => fs.writeFileSync(${JSON.stringify(got)}, t));\nsetTimeout(() => {}, 3000);\n`,
      { mode: 0o755 },
    );
    const s = await TestDaemon.start({ config: { on_process_start_exec: hook, hook_payload: 'stdin' } });
    try {
      const r = await s.run(['exec', '/bin/sleep', '--name', 'secret-name', '-e', 'DB_PASSWORD_NAME=x', '--json', '--', '300', 'TOPSECRET-ARG'], { as: flo });
      assert.equal(r.code, 0, r.stderr);
      s.seenPids.add(JSON.parse(r.stdout).pid);
      await waitFor('the hook to get its JSON', () => fs.existsSync(got) && fs.readFileSync(got, 'utf8').length > 0);
      const payload = JSON.parse(fs.readFileSync(got, 'utf8'));
      assert.equal(payload.name, 'secret-name');
      assert.deepEqual(payload.args, ['300', 'TOPSECRET-ARG']);
      // Another user reads the running hook's cmdline (world-readable, whoever runs the hook).
      const pid = Number(fs.readFileSync(pids, 'utf8'));
      const seen = execFileSync(...asUserArgv(users.add('pmon3-hk-spy'), ['cat', `/proc/${pid}/cmdline`]), { encoding: 'utf8' });
      assert.ok(seen.includes('on-start-stdin.js'), `the spy sees the hook (${JSON.stringify(seen)})`);
      for (const secret of ['secret-name', 'TOPSECRET', 'DB_PASSWORD_NAME']) assert.equal(seen.includes(secret), false, `${secret} is not in its cmdline`);
    } finally {
      await s.stop();
    }
  });
});
