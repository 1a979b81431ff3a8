/**
 * The log reader (pmon3-exec --read, started by LogReaders) on its own, with
 * real processes: it runs as the identity asked for, opens, stats, reads and
 * closes; errors of a file come back as Node-style codes; reads are bounded;
 * it is gone once ended; a caller's readers are bounded; a reader that does
 * not answer within its deadline is killed and says so (a silent FUSE mount:
 * root only, skipped visibly otherwise).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execHelperPath, loadNative } from '../../internal/native';
import { LogReaders, MAX_PER_UID, READ_MAX } from '../../internal/server/log-reader';
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
