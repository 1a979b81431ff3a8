/**
 * Class 3 of the hardening issue: no user can starve, squat or blind
 * another. Names are per owner (nobody can take root's "postgres", nor learn
 * that root uses it); every resource a caller can grow has a bound that this
 * suite pushes past: processes per user, command bytes per process (and root's
 * `ls` of a table full of big rows still works: it is paged), connections per
 * uid with a reserve for root, unsent reply bytes per connection, and a CLI
 * deadline when pmond is stopped. Prints pmond's RSS while a client never
 * reads, and root's `ls` time while another user holds every connection it
 * can. Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeFrame, PROTOCOL_VERSION } from '../../internal/protocol';
import { FIXTURES, PMON3, TestDaemon } from '../helpers/daemon';
import { fuseWaiters, mountSilentFuse } from '../helpers/fuse';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let ann: TestUser;
let ben: TestUser;
const figures: Record<string, unknown> = {};

const LIMITS = {
  max_processes_per_user: 3,
  max_connections: 24,
  max_connections_per_uid: 6,
  admin_reserved_connections: 6,
  reply_buffer_pause: 64 * 1024,
  reply_buffer_close: 1024 * 1024,
  max_command_bytes: 200 * 1024,
  client_timeout: 3,
};

before(async () => {
  if (skip) return;
  ann = users.add('bo-ann');
  ben = users.add('bo-ben');
  d = await TestDaemon.start({ config: LIMITS });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  // eslint-disable-next-line no-console
  console.log(`# bounds figures: ${JSON.stringify(figures)}`);
});

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const as = (u: TestUser, args: string[]) => d.run(args, { as: u });

describe('names belong to their owner', { skip }, () => {
  test('a user who takes "postgres" first blocks nobody, and learns nothing of root\'s', async () => {
    const a = await as(ann, ['exec', '/bin/sleep', '--name', 'postgres', '--json', '--', '300']);
    assert.equal(a.code, 0, a.stderr);
    d.seenPids.add(JSON.parse(a.stdout).pid);
    const r = await d.json(['exec', '/bin/sleep', '--name', 'postgres', '--', '300']);
    assert.equal(r.user, 'root');
    // Ben gets his own postgres too; asking for "postgres" means his own.
    const b = await as(ben, ['exec', '/bin/sleep', '--name', 'postgres', '--json', '--', '300']);
    assert.equal(b.code, 0, b.stderr);
    d.seenPids.add(JSON.parse(b.stdout).pid);
    assert.equal(JSON.parse((await as(ben, ['desc', 'postgres', '--json'])).stdout).user, ben.name);
    // Root's plain "postgres" is root's own; another user's is user/name.
    assert.equal((await d.json(['desc', 'postgres'])).user, 'root');
    assert.equal((await d.json(['desc', `${ann.name}/postgres`])).user, ann.name);
    // Ann cannot see root's or ben's, under any spelling: the same answer as for a name nobody has.
    for (const t of ['root/postgres', `${ben.name}/postgres`, 'root/nothing-here']) {
      const x = await as(ann, ['desc', t]);
      assert.equal(x.code, 3, t);
      assert.equal(x.stderr, `pmon3: process "${t}" not found\n`);
    }
    for (const u of [ann, ben]) assert.equal((await as(u, ['del', 'postgres', '-f'])).code, 0);
    await d.json(['del', 'postgres', '-f']);
  });

  test('a name used by several users is ambiguous for root without user/', async () => {
    for (const u of [ann, ben]) {
      const x = await as(u, ['exec', '/bin/sleep', '--name', 'twin', '--json', '--', '300']);
      d.seenPids.add(JSON.parse(x.stdout).pid);
    }
    const r = await d.run(['desc', 'twin']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /names processes of several users .*say which, as user\/name or by id/);
    for (const u of [ann, ben]) await as(u, ['del', 'twin', '-f']);
  });

  test('names made only of digits are refused (they would clash with ids)', async () => {
    const r = await as(ann, ['exec', '/bin/sleep', '--name', '7', '--', '300']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /only digits/);
  });
});

describe('bounds', { skip }, () => {
  test('processes per user: the fourth is refused; root is not bound', async () => {
    for (let i = 0; i < 3; i++) {
      const x = await as(ann, ['exec', '/bin/sleep', '--name', `n${i}`, '--json', '--', '300']);
      assert.equal(x.code, 0, x.stderr);
      d.seenPids.add(JSON.parse(x.stdout).pid);
    }
    const r = await as(ann, ['exec', '/bin/sleep', '--name', 'n3', '--', '300']);
    assert.equal(r.code, 6);
    assert.match(r.stderr, /already has 3 processes, the most max_processes_per_user allows/);
    for (let i = 0; i < 4; i++) await d.json(['exec', '/bin/sleep', '--name', `root-${i}`, '--', '300']);
    await d.json(['drop', '-f']);
  });

  test('command bytes per process are bounded; root\'s ls of a table of big rows is paged and complete', async () => {
    // (Each word under the kernel's 128 KiB per argument, or the CLI itself could not be started.)
    const words = Array.from({ length: 3 }, () => 'x'.repeat(70 * 1024));
    const r = await as(ann, ['exec', '/bin/sleep', '--name', 'huge', '--', '300', ...words]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /at most 204800 \(max_command_bytes\)/);
    // 12 rows of ~190 KiB: 2.3 MiB of table, more than reply_buffer_close (1 MiB) allows in one reply.
    const almost = 'y'.repeat(95 * 1024);
    for (let i = 0; i < 12; i++) await d.json(['exec', '/bin/sleep', '--name', `fat-${i}`, '-e', `BIG=${almost}`, '--', '300', almost]);
    const t0 = Date.now();
    const all = await d.ls();
    figures.lsFatTableMs = Date.now() - t0;
    assert.equal(all.filter((p) => p.name.startsWith('fat-')).length, 12);
    assert.equal(all.find((p) => p.name === 'fat-11').env.BIG.length, almost.length);
    await d.json(['drop', '-f']);
  });

  test('connections: a user holding all she can does not lock root out', async () => {
    const held: net.Socket[] = [];
    const refused: string[] = [];
    // Ann (through a helper process running as her) opens connections until refused.
    const hog = await import('node:child_process').then(({ spawn }) =>
      spawn(
        'setpriv',
        ['--reuid', String(ann.uid), '--regid', String(ann.gid), '--clear-groups', '--', process.execPath, '-e', HOG, d.socket, '40'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    );
    let out = '';
    hog.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('ann to hold her connections', () => out.includes('holding'), 15_000);
      const m = /holding (\d+) refused (\d+): (.*)/.exec(out)!;
      figures.annConnectionsHeld = Number(m[1]);
      assert.equal(Number(m[1]), LIMITS.max_connections_per_uid);
      refused.push(m[3]!);
      assert.match(m[3]!, /max_connections_per_uid/);
      const t0 = Date.now();
      const list = await d.ls();
      figures.rootLsWhileHeldMs = Date.now() - t0;
      assert.ok(Array.isArray(list));
      // Ben too still gets in (one uid cannot take the others' share).
      assert.equal((await as(ben, ['ls'])).code, 0);
    } finally {
      hog.kill('SIGKILL');
      for (const s of held) s.destroy();
    }
  });

  test('a client that never reads its replies: paused, then closed; pmond\'s memory stays bounded', async () => {
    const rss0 = rssKiB(d.pid);
    for (let i = 0; i < 8; i++) await d.json(['exec', '/bin/sleep', '--name', `pad-${i}`, '-e', `PAD=${'p'.repeat(60 * 1024)}`, '--', '300']);
    const s = net.connect(d.socket);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause(); // never read
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    let sent = 0;
    const frame = (id: number): Buffer => encodeFrame({ v: PROTOCOL_VERSION, id, method: 'list', params: {} });
    // Ask for ~500 KiB replies as fast as the socket takes requests, for up to 3 s.
    const deadline = Date.now() + 3000;
    let id = 1;
    while (Date.now() < deadline && !s.destroyed) {
      if (!s.write(frame(id++))) await new Promise((r) => setTimeout(r, 5));
      sent++;
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const rss1 = rssKiB(d.pid);
    figures.requestsSentByNonReader = sent;
    figures.pmondRssKiB = { before: rss0, whileNotRead: rss1 };
    assert.ok(rss1 - rss0 < 64 * 1024, `RSS grew ${rss1 - rss0} KiB`);
    // It is either paused (no more reading) or closed; in both cases root is served.
    assert.equal((await d.run(['ls'])).code, 0);
    s.destroy();
    await closed;
    await d.json(['drop', '-f']);
  });

  test('a stopped pmond: the CLI gives up after client_timeout with one line and exit 7', async () => {
    process.kill(d.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const r = await d.run(['ls']);
      figures.cliGaveUpAfterMs = Date.now() - t0;
      assert.equal(r.code, 7);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /said nothing for 3 s \(is it stopped or hung\?\)|timed out/);
    } finally {
      process.kill(d.pid, 'SIGCONT');
    }
    assert.equal((await d.run(['ls'])).code, 0);
  });
});

/** Run as the hog user: open connections to argv[1] (at most argv[2]) until refused; report; hold. */
const HOG = `
const net = require('net');
const [sock, max] = [process.argv[1], Number(process.argv[2])];
const held = [];
let refused = 0, why = '';
function one(i) {
  if (i >= max) return report();
  const s = net.connect(sock);
  let buf = Buffer.alloc(0);
  s.on('data', (b) => { buf = Buffer.concat([buf, b]); if (buf.length >= 4) { refused++; try { why = JSON.parse(buf.subarray(4).toString()).error.message; } catch {} } });
  s.on('error', () => {});
  s.once('connect', () => { held.push(s); setTimeout(() => one(i + 1), 30); });
}
function report() {
  setTimeout(() => {
    const open = held.filter((s) => !s.destroyed && s.readable && !s.readableEnded).length;
    process.stdout.write('holding ' + open + ' refused ' + refused + ': ' + why + '\\n');
  }, 300);
}
one(0);
setInterval(() => {}, 1000);
`;
void path;

describe('a spawn that hangs blocks nobody else', { skip }, () => {
  test('a --log that is a FIFO is refused at once', async () => {
    const dir = tempDir('pmf-');
    try {
      fs.chmodSync(dir, 0o755);
      fs.chownSync(dir, ann.uid, ann.gid);
      const fifo = path.join(dir, 'log.fifo');
      require('node:child_process').execFileSync('setpriv', ['--reuid', String(ann.uid), '--regid', String(ann.gid), '--clear-groups', '--', 'mkfifo', fifo]);
      const t0 = Date.now();
      const r = await as(ann, ['exec', '/bin/sleep', '--name', 'fifo-log', '-l', fifo, '--', '300']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /No such device or address|not a regular file/);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cwd on a file system that never answers: killed after 10 s; meanwhile others start at once', async () => {
    const fuse = mountSilentFuse();
    const mnt = fuse.dir;
    try {
      const t0 = Date.now();
      const hung = as(ann, ['exec', '/bin/sleep', '--name', 'hung', '--cwd', mnt, '--', '300']);
      // Once ann's program hangs in chdir (a clone of the exec server that has not exec'd: two
      // "pmon3-exec --server" children of pmond), ben starts his.
      const servers = (): number =>
        fs
          .readFileSync(`/proc/${d.pid}/task/${d.pid}/children`, 'utf8')
          .trim()
          .split(' ')
          .filter((c) => c && (fs.existsSync(`/proc/${c}/cmdline`) ? fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('pmon3-exec\0--server') : false)).length;
      await waitFor('ann\'s program to hang', () => servers() >= 2);
      const t1 = Date.now();
      const b = await as(ben, ['exec', '/bin/sleep', '--name', 'meanwhile', '--json', '--', '300']);
      assert.equal(b.code, 0, b.stderr);
      d.seenPids.add(JSON.parse(b.stdout).pid);
      const waited = Date.now() - t1;
      figures.spawnWhileAnotherHangsMs = waited;
      assert.ok(waited < 3000, `ben waited ${waited} ms`);
      const r = await hung;
      figures.hungSpawnGaveUpAfterMs = Date.now() - t0;
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /did not start within 10 s|said nothing for/);
      assert.equal((await as(ben, ['del', 'meanwhile', '-f'])).code, 0);
    } finally {
      fuse.close();
    }
  });
});

describe('a log that hangs blocks nobody else', { skip }, () => {
  test('log on a file system that never answers: fails in one line at its deadline; meanwhile ls answers, a crashing process is restarted, other logs are read', async () => {
    const fuse = mountSilentFuse();
    const play = fs.mkdtempSync('/tmp/pmh-');
    try {
      fs.chmodSync(play, 0o755);
      fs.chownSync(play, ann.uid, ann.gid);
      const dir = path.join(play, 'h');
      fs.mkdirSync(dir);
      fs.chownSync(dir, ann.uid, ann.gid);
      const a = await as(ann, ['exec', '/bin/sleep', '--name', 'hung-log', '-l', path.join(dir, 'app.log'), '--json', '--', '300']);
      assert.equal(a.code, 0, a.stderr);
      d.seenPids.add(JSON.parse(a.stdout).pid);
      const b = await as(ben, ['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'ben-log', '-n', '-a', '0 300', '--json']);
      assert.equal(b.code, 0, b.stderr);
      d.seenPids.add(JSON.parse(b.stdout).pid);
      await waitFor('ben\'s log written', async () => (await as(ben, ['log', 'ben-log'])).stdout.includes('out pid'));
      const crasher = await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'crasher', '-a', '1 0.1']);
      // ann swaps her log's directory for the silent mount and asks for her log.
      fs.renameSync(dir, `${dir}.old`);
      fs.symlinkSync(fuse.dir, dir);
      fs.lchownSync(dir, ann.uid, ann.gid);
      const t0 = Date.now();
      const hung = as(ann, ['log', 'hung-log']);
      await waitFor('ann\'s log to wait on the mount', () => fuseWaiters().length > 0);
      const restartsAt = (await d.json(['desc', 'crasher'])).restarts as number;
      const t1 = Date.now();
      assert.equal((await d.run(['ls'])).code, 0);
      figures.lsWhileALogHangsMs = Date.now() - t1;
      assert.ok(figures.lsWhileALogHangsMs as number < 3000, `root's ls took ${figures.lsWhileALogHangsMs} ms`);
      const other = await as(ben, ['log', 'ben-log']);
      assert.equal(other.code, 0, other.stderr);
      assert.match(other.stdout, /out pid/);
      await d.waitProc('crasher', 'restarted while ann\'s log hangs', (p) => p.restarts >= restartsAt + 2, 8000);
      assert.ok(Date.now() - t0 < 10_000, 'all that while ann\'s log was pending');
      const r = await hung;
      figures.hungLogGaveUpAfterMs = Date.now() - t0;
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stderr, `pmon3: log ${path.join(dir, 'app.log')}: the file system did not answer within 10 s\n`);
      assert.ok((figures.hungLogGaveUpAfterMs as number) < 14_000, `gave up after ${figures.hungLogGaveUpAfterMs} ms`);
      await waitFor('nothing to wait on the mount any more', () => fuseWaiters().length === 0);
      await d.json(['del', String(crasher.id), '-f']);
      assert.equal((await as(ann, ['del', 'hung-log', '-f'])).code, 0);
      assert.equal((await as(ben, ['del', 'ben-log', '-f'])).code, 0);
    } finally {
      fuse.close();
      fs.rmSync(play, { recursive: true, force: true });
    }
  });
});

/** As the user: connect and close at once, `conc` at a time, until killed; prints "flooding" once going. */
const CONNECT_FLOOD = `
const net = require('net');
const [sock, conc] = [process.argv[1], Number(process.argv[2])];
let n = 0;
function one() {
  const s = net.connect(sock);
  s.on('connect', () => { s.destroy(); if (++n === 1000) process.stdout.write('flooding\\n'); setImmediate(one); });
  s.on('error', () => setImmediate(one));
}
for (let i = 0; i < conc; i++) one();
`;

describe('the admin door', { skip }, () => {
  test('a root pmond\'s admin socket is root\'s alone: mode 0600, a user\'s connect is refused by the kernel, their pmon3 uses the main socket', async () => {
    const { execFileSync } = await import('node:child_process');
    const admin = `${d.socket}.admin`;
    const st = fs.lstatSync(admin);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
    const probe = `require('net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
    const out = execFileSync('setpriv', ['--reuid', String(ben.uid), '--regid', String(ben.gid), '--clear-groups', '--', process.execPath, '-e', probe, admin], { encoding: 'utf8' });
    assert.equal(out.trim(), 'EACCES');
    const r = await as(ben, ['ls', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('a connect-and-close flood', { skip }, () => {
  test('fills no backlog root needs: root\'s ls gets through while a user floods and pmond is busy', async () => {
    const { execFileSync, spawn } = await import('node:child_process');
    const flooders = [1, 2, 3].map(() =>
      spawn('setpriv', ['--reuid', String(ben.uid), '--regid', String(ben.gid), '--clear-groups', '--', process.execPath, '-e', CONNECT_FLOOD, d.socket, '64'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    let out = '';
    for (const f of flooders) f.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('the flood to run', () => out.includes('flooding'), 20_000);
      // Recv-Q (connections waiting to be accepted) and Send-Q (the backlog) of pmond's listening socket.
      const backlog = (): [number, number] => {
        const f = execFileSync('ss', ['-xlH', 'src', d.socket], { encoding: 'utf8' }).trim().split(/\s+/);
        return [Number(f[2]), Number(f[3])];
      };
      figures.listenBacklog = backlog()[1];
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        // pmond busy for a moment (a long request, a GC pause): the flood fills its listen backlog meanwhile.
        process.kill(d.pid, 'SIGSTOP');
        await waitFor('the flood to fill pmond\'s listen backlog', () => backlog()[0] >= backlog()[1], 20_000);
        const t0 = Date.now();
        const child = spawn(PMON3, ['ls'], { env: { ...process.env, PMON3_CONF: d.conf }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
        const ls = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        // pmond stays busy until root's ls is connecting (its socket exists), or has already given
        // up. The flood fills the main socket's backlog; root's ls comes in by the admin door.
        const connecting = (): boolean => {
          try {
            return fs.readdirSync(`/proc/${child.pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith('socket:'));
          } catch {
            return true; // gone: it has given up (or finished)
          }
        };
        await waitFor("root's ls to be connecting", connecting, 20_000);
        process.kill(d.pid, 'SIGCONT');
        const code = await ls;
        times.push(Date.now() - t0);
        assert.equal(code, 0, `ls ${i}: ${stderr}`);
      }
      figures.lsDuringConnectFloodMs = times;
    } finally {
      process.kill(d.pid, 'SIGCONT');
      for (const f of flooders) f.kill('SIGKILL');
    }
  });
});
