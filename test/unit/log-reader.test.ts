/**
 * The log reader (pmon3-exec --read, started by LogReaders) on its own, with
 * real processes: it runs as the identity asked for, opens, stats, reads and
 * closes; errors of a file come back as Node-style codes; reads are bounded;
 * it is gone once ended; a caller's readers are bounded; a reader that does
 * not answer within its deadline is killed and says so (a silent FUSE mount:
 * root only, skipped visibly otherwise). `list` (the "L" request of `log -a`):
 * the candidates for a log's rotated copies, lstat'ed and never opened (a FIFO
 * does not hang it), bounded to LIST_MAX; rotatedCopies picks and orders them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execHelperPath, loadNative } from '../../internal/native';
import { rotatedCopies } from '../../internal/server/log-all';
import { LIST_MAX, type ListedEntry, LogReaders, MAX_PER_UID, READ_MAX } from '../../internal/server/log-reader';
import { ROOT } from '../helpers/daemon';
import { mountSilentFuse } from '../helpers/fuse';
import { isRoot } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const native = loadNative(ROOT);
const me = { uid: process.getuid!(), gid: process.getgid!(), groups: [process.getgid!()] };
const caller = { uid: me.uid, admin: false };
let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmr-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const readers = (deadlineMs?: number): LogReaders => new LogReaders(execHelperPath(ROOT), (b) => native.memfd(b), deadlineMs);

/** The readers this process started that are still there (our children running pmon3-exec --read). */
function readerPids(): number[] {
  return fs
    .readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .trim()
    .split(' ')
    .filter((c) => c && fs.existsSync(`/proc/${c}/cmdline`) && fs.readFileSync(`/proc/${c}/cmdline`, 'utf8') === 'pmon3-exec\0--read\0')
    .map(Number);
}

describe('log reader', () => {
  test('opens, stats, reads at an offset and closes; runs as the identity asked for', async () => {
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, 'hello\nworld\n');
    const r = readers();
    const files = await r.start(me, caller);
    try {
      const [pid] = readerPids();
      assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`Uid:\\t${me.uid}\\t`));
      const f = await files.open(file);
      assert.equal(f.size, 12);
      assert.equal(f.ino, fs.statSync(file).ino);
      assert.equal(f.uid, me.uid);
      assert.equal(f.mode & 0o170000, 0o100000);
      assert.equal((await files.read(f.fd, 6, 100)).toString(), 'world\n');
      assert.equal((await files.read(f.fd, 12, 100)).length, 0);
      fs.appendFileSync(file, 'more\n');
      assert.equal((await files.stat(f.fd)).size, 17);
      await files.close(f.fd);
      await assert.rejects(files.stat(f.fd), { code: 'EBADF' });
    } finally {
      files.end();
    }
    await waitFor('the reader to be gone', () => readerPids().length === 0 && r.running(me.uid) === 0);
  });

  test('errors of the file come back as codes; a FIFO opens at once (and is reported as one); reads are bounded', async () => {
    const files = await readers().start(me, caller);
    try {
      await assert.rejects(files.open(path.join(dir, 'nope')), { code: 'ENOENT' });
      fs.symlinkSync('/etc/passwd', path.join(dir, 'link'));
      await assert.rejects(files.open(path.join(dir, 'link')), { code: 'ELOOP' });
      await assert.rejects(files.open(path.join(dir, 'link', 'x')), { code: 'ENOTDIR' });
      execFileSync('mkfifo', [path.join(dir, 'fifo')]);
      const fifo = await files.open(path.join(dir, 'fifo'));
      assert.equal(fifo.mode & 0o170000, 0o010000);
      await files.close(fifo.fd);
      const big = path.join(dir, 'big.log');
      fs.writeFileSync(big, Buffer.alloc(READ_MAX + 10, 120));
      const f = await files.open(big);
      assert.equal((await files.read(f.fd, 0, READ_MAX * 4)).length, READ_MAX);
      // Its own stdio is not the caller's to close.
      await assert.rejects(files.close(1), { code: 'EBADF' });
    } finally {
      files.end();
    }
  });

  test('a caller may have at most MAX_PER_UID readers at once; an admin is not bound', async () => {
    const r = readers();
    const all = [];
    try {
      for (let i = 0; i < MAX_PER_UID; i++) all.push(await r.start(me, caller));
      await assert.rejects(r.start(me, caller), { code: 'UNAVAILABLE', message: /log readers running/ });
      all.push(await r.start(me, { uid: me.uid, admin: true }));
    } finally {
      for (const f of all) f.end();
    }
    await waitFor('every reader to be gone', () => r.running(me.uid) === 0);
    (await r.start(me, caller)).end();
  });

  test('a file system that does not answer: the request fails at its deadline and the reader is killed', { skip: isRoot() ? false : 'needs root to mount FUSE' }, async () => {
    const fuse = mountSilentFuse();
    try {
      const r = readers(500);
      const files = await r.start(me, caller);
      const [pid] = readerPids();
      const t0 = Date.now();
      await assert.rejects(files.open(path.join(fuse.dir, 'app.log')), { code: 'UNAVAILABLE', message: 'the file system did not answer within 0.5 s' });
      assert.ok(Date.now() - t0 < 3000);
      await assert.rejects(files.stat(3), { code: 'UNAVAILABLE' }, 'a killed reader answers nothing more');
      await waitFor('the killed reader to be gone', () => !pidAlive(pid!) && r.running(me.uid) === 0);
    } finally {
      fuse.close();
    }
  });
});

describe('log reader: list (the L request of log -a)', () => {
  test('names the log\'s basename + "." or "-" + more, lstat\'ed: files, symlinks, FIFOs and directories as they are; nothing opened', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'l-'));
    const log = path.join(sub, 'app.log');
    fs.writeFileSync(log, 'now\n');
    fs.writeFileSync(`${log}.1`, 'one\n');
    fs.writeFileSync(`${log}.2.gz`, 'xx');
    fs.writeFileSync(`${log}-20261201`, 'dated\n');
    fs.symlinkSync('/etc/shadow', `${log}.3`);
    execFileSync('mkfifo', [`${log}.4`]);
    fs.mkdirSync(`${log}.5`);
    fs.writeFileSync(path.join(sub, 'app.logx'), 'not a copy');
    fs.writeFileSync(path.join(sub, 'other.log.1'), 'not a copy');
    fs.writeFileSync(`${log}.`, 'no suffix');
    const files = await readers(3000).start(me, caller);
    try {
      const t0 = Date.now();
      const { entries, more } = await files.list(log);
      assert.ok(Date.now() - t0 < 2000, 'a FIFO among them does not hold it');
      assert.equal(more, false);
      const byName = new Map(entries.map((e) => [e.name, e]));
      assert.deepEqual([...byName.keys()].sort(), ['app.log-20261201', 'app.log.1', 'app.log.2.gz', 'app.log.3', 'app.log.4', 'app.log.5']);
      const one = byName.get('app.log.1')!;
      const st = fs.lstatSync(`${log}.1`);
      assert.deepEqual(one, { name: 'app.log.1', errno: 0, mode: st.mode, uid: st.uid, size: 4, ino: st.ino });
      assert.equal(byName.get('app.log.3')!.mode & 0o170000, 0o120000, 'the symlink itself');
      assert.equal(byName.get('app.log.4')!.mode & 0o170000, 0o010000);
      assert.equal(byName.get('app.log.5')!.mode & 0o170000, 0o040000);
      // The reader answers on: the FIFO was never opened.
      assert.equal((await files.open(log)).size, 4);
      await assert.rejects(files.list(path.join(sub, 'nope', 'app.log')), { code: 'ENOENT' });
      await assert.rejects(files.list(path.join(log, 'x')), { code: 'ENOTDIR' });
      await assert.rejects(files.list('app.log'), { code: 'EINVAL' });
    } finally {
      files.end();
    }
  });

  test('a directory the identity may not read is refused as its shell would be (EACCES); names with odd characters survive', { skip: isRoot() ? false : 'needs root to drop to another uid' }, async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'm-'));
    fs.chmodSync(sub, 0o700);
    const log = path.join(sub, 'app.log');
    fs.writeFileSync(`${log}.1`, 'x');
    fs.writeFileSync(`${log}.1 \n.gz`, 'x');
    const nobody = { uid: 65534, gid: 65534, groups: [65534] };
    const asNobody = await readers(3000).start(nobody, caller);
    try {
      await assert.rejects(asNobody.list(log), { code: 'EACCES' });
    } finally {
      asNobody.end();
    }
    const files = await readers(3000).start(me, caller);
    try {
      assert.deepEqual((await files.list(log)).entries.map((e) => e.name).sort(), ['app.log.1', 'app.log.1 \n.gz']);
    } finally {
      files.end();
    }
  });

  test(`at most LIST_MAX (${LIST_MAX}) entries, and it says there were more`, async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'n-'));
    const log = path.join(sub, 'a.log');
    for (let i = 0; i < LIST_MAX + 5; i++) fs.writeFileSync(`${log}.${i}`, '');
    const files = await readers(5000).start(me, caller);
    try {
      const l = await files.list(log);
      assert.equal(l.entries.length, LIST_MAX);
      assert.equal(l.more, true);
    } finally {
      files.end();
    }
  });
});

describe('rotatedCopies: which listed entries are copies, in which order', () => {
  const e = (name: string, over: Partial<ListedEntry> = {}): ListedEntry => ({ name, errno: 0, mode: 0o100640, uid: 1000, size: 1, ino: 1, ...over });
  test('oldest first: dated by date, then numbered by number descending; only copy-shaped names; refusals with why', () => {
    const r = rotatedCopies('/l/app.log', [
      e('app.log.1'),
      e('app.log.10.gz'),
      e('app.log.2.gz'),
      e('app.log-20261202.gz'),
      e('app.log-20261130'),
      e('app.log.swp'),
      e('app.log-old'),
      e('app.log.3', { mode: 0o120777 }),
      e('app.log.4', { mode: 0o010644 }),
      e('app.log.5', { uid: 0 }),
      e('app.log.6', { mode: 0o020666 }),
      e('app.log.7', { errno: 13, mode: 0 }),
      e('app.log.8', { mode: 0o040755 }),
    ], 1000);
    assert.deepEqual(r.copies.map((c) => [c.file, c.gz]), [
      ['/l/app.log-20261130', false],
      ['/l/app.log-20261202.gz', true],
      ['/l/app.log.10.gz', true],
      ['/l/app.log.2.gz', true],
      ['/l/app.log.1', false],
    ]);
    assert.deepEqual(r.skipped, [
      { name: '/l/app.log.3', why: 'a symbolic link, not read' },
      { name: '/l/app.log.4', why: 'a FIFO, not read' },
      { name: '/l/app.log.5', why: "owned by uid 0, not by the process's user; not read" },
      { name: '/l/app.log.6', why: 'a character device, not read' },
      { name: '/l/app.log.7', why: 'cannot be looked at (errno 13)' },
      { name: '/l/app.log.8', why: 'a directory, not read' },
    ]);
  });
});
