/**
 * A full disk, for real: small tmpfs mounts filled to the last byte (or
 * inode). The store keeps every row in memory while writes fail, says so in
 * health() and the log, and writes them all once there is room; pmond.log
 * on a full disk kills nothing; pmond starts on a full disk when data.db and
 * pmond.lock exist, and says the disk is full when they cannot be made.
 * Needs root (mount); everything is unmounted and removed in after(), even
 * on failure.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '../../internal/client/client';
import { acquireDaemonLock } from '../../internal/daemon/lockfile';
import { createLogger } from '../../internal/logger/logger';
import { PmonError } from '../../internal/protocol/errors';
import { openStore, type Store } from '../../internal/store/store';
import { TestDaemon } from '../helpers/daemon';
import { newRow, recordingLogger, rowsOnDisk, watchUnhandled } from '../helpers/store';
import { pidAlive, waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const run = promisify(execFile);
const skip = process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs';

describe('a full disk', { skip }, () => {
  let base: string;
  const mounts: string[] = [];
  const daemons: TestDaemon[] = [];
  const stores: Store[] = [];

  before(() => {
    base = tempDir('pmdf-');
    fs.chmodSync(base, 0o755);
  });
  after(async () => {
    for (const d of daemons) await d.stop().catch(() => undefined);
    for (const s of stores) await s.close().catch(() => undefined);
    for (const m of mounts.reverse()) {
      try {
        await run('umount', [m]);
      } catch {
        await run('umount', ['-l', m]).catch(() => undefined);
      }
    }
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** A tmpfs of its own (4 MiB unless told) at base/name. */
  async function tmpfs(name: string, options = 'size=4m'): Promise<string> {
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    await run('mount', ['-t', 'tmpfs', '-o', `${options},mode=0755`, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }

  /** Fill dir's file system to the last byte; returns the filler (remove it to make room). */
  function fill(dir: string): string {
    const filler = path.join(dir, 'filler');
    const fd = fs.openSync(filler, 'w');
    try {
      for (const size of [1 << 20, 64 << 10, 4096, 1]) {
        const chunk = Buffer.alloc(size, 0x55);
        try {
          for (;;) fs.writeSync(fd, chunk);
        } catch (e) {
          assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return filler;
  }

  test('store: writes fail (SQLITE_FULL), health degrades, pmond goes on in memory; with room again every row is on disk', async (t) => {
    const mnt = await tmpfs('store');
    const dataDir = path.join(mnt, 'data');
    const file = path.join(dataDir, 'data.db');
    const log = recordingLogger();
    const s = await openStore(dataDir, { logger: log, retryMs: 50 });
    stores.push(s);
    for (let i = 0; i < 20; i++) await s.insert(newRow(`app${i}`));
    await s.settled();
    const watch = watchUnhandled();
    t.after(() => watch.stop());
    const filler = fill(mnt);

    // A row that needs new pages cannot be written.
    const big = await s.insert(newRow('big', { env: JSON.stringify({ BLOB: 'z'.repeat(512 * 1024) }) }));
    await s.settled();
    const h = s.health();
    assert.equal(h.ok, false);
    assert.equal(h.error, 'SQLITE_FULL: database or disk is full');
    assert.ok(h.since);
    assert.equal(s.saved(big.id), false);
    assert.equal(log.at('warn').length, 1);
    assert.match(log.at('warn')[0]!, new RegExp(`^database ${file} cannot be written \\(SQLITE_FULL: database or disk is full\\) since .*; 1 rows kept in memory, pmond keeps supervising$`));

    // Reads and memory updates go on; ids come from memory.
    for (let id = 1; id <= 20; id++) await s.update(id, { status: 'running', pid: 10_000 + id, restarts: id });
    await s.remove(20);
    const late = await s.insert(newRow('late'));
    assert.equal(late.id, big.id + 1);
    assert.equal((await s.get(5))!.pid, 10_005);
    assert.equal((await s.all()).length, 21);
    await s.settled();
    assert.equal(s.health().ok, false);
    assert.ok(s.health().pending >= 3, JSON.stringify(s.health()));
    assert.equal(rowsOnDisk(file).some((r) => r.name === 'big'), false);

    fs.unlinkSync(filler);
    await waitFor('writes to succeed again', () => s.health().ok, 15_000);
    assert.equal(s.health().pending, 0);
    assert.match(log.at('info').at(-1)!, new RegExp(`^database ${file} writable again \\(failing since ${h.since}\\); \\d+ rows saved$`));
    // A second connection sees exactly what memory holds.
    assert.deepEqual(rowsOnDisk(file), await s.all());
    assert.deepEqual(watch.errors, []);
  });

  test('pmond.log on a full disk: nothing thrown, stderr goes on, said once', async (t) => {
    const mnt = await tmpfs('logs');
    const watch = watchUnhandled();
    t.after(() => watch.stop());
    const err: string[] = [];
    const log = createLogger(mnt, 'info', { stderr: (l) => void err.push(l) });
    log.info('before');
    await waitFor('the first line', () => fs.readFileSync(path.join(mnt, 'pmond.log'), 'utf8').includes('before'));
    fill(mnt);
    const line = 'x'.repeat(8192);
    for (let i = 0; i < 20; i++) log.warn(`${line} ${i}`);
    await waitFor('the failure to be noticed', () => err.some((l) => l.startsWith('pmond: ')));
    await log.close();
    const notices = err.filter((l) => l.startsWith('pmond: '));
    assert.deepEqual(notices, [`pmond: ${mnt}/pmond.log cannot be written (ENOSPC: no space left on device, write); pmond logs to stderr only until it can\n`]);
    assert.equal(err.filter((l) => l.includes(line)).length, 20);
    assert.deepEqual(watch.errors, []);
  });

  test('the lock: taken on a full disk once pmond.lock exists; a full disk without it says full', async () => {
    const full = await tmpfs('lock-bytes');
    acquireDaemonLock(full).release();
    fill(full);
    acquireDaemonLock(full).release(); // no write needed
    const lock = acquireDaemonLock(full);
    assert.throws(() => acquireDaemonLock(full), /^PmonError: another pmond is already running/);
    lock.release();

    const fresh = await tmpfs('lock-fresh');
    fill(fresh);
    assert.throws(
      () => acquireDaemonLock(fresh),
      (e: unknown) =>
        e instanceof PmonError &&
        e.message === `data_dir ${fresh} is full (SQLITE_FULL: database or disk is full): cannot take the lock ${fresh}/pmond.lock`,
    );

    const noInodes = await tmpfs('lock-inodes', 'size=4m,nr_inodes=8');
    for (let i = 0; ; i++) {
      try {
        fs.writeFileSync(path.join(noInodes, `f${i}`), '');
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
        break;
      }
    }
    assert.throws(
      () => acquireDaemonLock(noInodes),
      (e: unknown) =>
        e instanceof PmonError &&
        e.code === 'FAILED_PRECONDITION' &&
        e.message === `data_dir ${noInodes} is full (ENOSPC: no space left on device, open '${noInodes}/pmond.lock'): cannot take the lock ${noInodes}/pmond.lock`,
    );
  });

  test('pmond starts on a full disk when data.db and pmond.lock exist, and supervises from memory', async () => {
    const mnt = await tmpfs('daemon');
    const dir = fs.mkdtempSync(path.join(base, 'd-'));
    fs.chmodSync(dir, 0o755);
    const d = await TestDaemon.start({
      dir,
      config: { data_dir: path.join(mnt, 'data'), logs_dir: path.join(mnt, 'logs'), handle_interrupts: false },
    });
    daemons.push(d);
    const keeper = await d.json(['exec', '/bin/sleep', '--name', 'keeper', '-a', '1000']);
    assert.ok(keeper.pid > 0);
    await d.terminate(); // handle_interrupts false: keeper goes on running
    assert.ok(pidAlive(keeper.pid));
    assert.ok(fs.existsSync(path.join(mnt, 'data', 'data.db')) && fs.existsSync(path.join(mnt, 'data', 'pmond.lock')));

    const filler = fill(mnt);
    await d.launch(); // would throw if pmond exited at start
    const again = await d.waitProc('keeper', 'running, re-adopted', (p) => p.status === 'running');
    assert.equal(again.pid, keeper.pid, 're-adopted, not started a second time');

    // A row that needs new pages (120 KB of environment) cannot be written: a new process is
    // recorded before it runs, so that exec is refused, and from then on pmond runs from memory.
    const refused = await d.run(['exec', '/bin/sleep', '--name', 'big', '-a', '1000', '-e', `BIG=${'b'.repeat(120_000)}`]);
    assert.equal(refused.code, 6, refused.stderr);
    assert.match(refused.stderr, /cannot write its database \(SQLITE_FULL/);
    const c = await Client.connect(d.socket);
    try {
      const ping = async () => (await c.call('ping', {})).health;
      const degraded = await waitFor('health to say the database cannot be written', async () => {
        const h = await ping();
        return !h.store.ok ? h : undefined;
      });
      assert.equal(degraded.ok, false);
      assert.equal(degraded.store.error, 'SQLITE_FULL: database or disk is full');
      assert.ok(degraded.store.pending >= 1);
      assert.match(d.stderr, new RegExp(`database ${mnt}/data/data.db cannot be written \\(SQLITE_FULL: database or disk is full\\) since .*; \\d+ rows kept in memory, pmond keeps supervising`));
      // The table answers from memory whatever the disk says, and pmond still acts on it.
      const stopped = await d.json(['stop', 'keeper']);
      assert.equal(stopped.status, 'stopped');
      assert.equal(pidAlive(keeper.pid), false);

      fs.unlinkSync(filler);
      await waitFor('the database to be written again', async () => (await ping()).store.ok, 15_000);
      assert.match(d.stderr, new RegExp(`database ${mnt}/data/data.db writable again`));
    } finally {
      c.close();
    }
    const disk = rowsOnDisk(path.join(mnt, 'data', 'data.db'));
    assert.deepEqual(
      disk.map((r) => [r.name, r.status, r.pid]),
      [
        ['keeper', 'stopped', null],
      ],
    );
    await d.stop();
  });

  test('a log flood fills the disk under data_dir: pmond lives, restarts, runs hooks and answers; then writes what it owes', async () => {
    const mnt = await tmpfs('flood');
    const dir = fs.mkdtempSync(path.join(base, 'l-'));
    fs.chmodSync(dir, 0o755);
    // The restart hook records each run outside the full disk.
    const hookOut = path.join(dir, 'hook.out');
    const hook = path.join(dir, 'hook.sh');
    fs.writeFileSync(hook, `#!/bin/sh\necho restart >> ${hookOut}\n`, { mode: 0o755 });
    const d = await TestDaemon.start({
      dir,
      config: { data_dir: path.join(mnt, 'data'), logs_dir: path.join(mnt, 'logs'), on_process_restart_exec: hook, restart_stable_after: 60_000 },
    });
    daemons.push(d);
    const crasher = path.join(dir, 'crasher.sh');
    fs.writeFileSync(crasher, '#!/bin/sh\necho going down\nsleep 0.3\nexit 1\n', { mode: 0o755 });
    await d.json(['exec', crasher, '--name', 'crasher']);
    // The flood: `yes` writes to its log until the file system is full, then dies of ENOSPC.
    await d.json(['exec', '/usr/bin/yes', '--name', 'flood', '-n']);
    await waitFor('the flood to fill the disk', () => fs.statfsSync(mnt).bavail === 0, 20_000);
    const c = await Client.connect(d.socket);
    try {
      // On a full disk SQLite may still write small changes in place (pages and journal it already
      // has), so pmond is writable again at its next retry and degraded again when a write needs a
      // new page. A row with 120 KB of environment always needs new pages: trying to exec it makes
      // the store fail, and each check below is made in such a window (tried again if the window
      // closed first), never assumed to last.
      const degraded = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> =>
        waitFor(what, async () => {
          if ((await c.call('ping', {})).health.store.ok) {
            const big = await d.run(['exec', '/bin/sleep', '--name', 'big', '-e', `BIG=${'b'.repeat(120_000)}`, '--', '1000']);
            assert.equal(big.code, 6, `a row needing new pages cannot be written: ${big.stderr}`);
            assert.match(big.stderr, /cannot write its database \(SQLITE_FULL/);
          }
          return probe();
        }, 30_000);
      const h = await degraded('health to say the database cannot be written', async () => {
        const x = (await c.call('ping', {})).health;
        return !x.store.ok ? x : undefined;
      });
      assert.equal(h.store.error, 'SQLITE_FULL: database or disk is full');
      // Exits and restarts go on however the writes fare; the counter grows in memory.
      const before = (await c.listAll()).find((p) => p.name === 'crasher')!;
      const hooksBefore = fs.existsSync(hookOut) ? fs.readFileSync(hookOut, 'utf8').split('\n').length : 0;
      await waitFor('more restarts on the full disk', async () => {
        const p = (await c.listAll()).find((x) => x.name === 'crasher')!;
        return p.restarts >= before.restarts + 3 ? p : undefined;
      }, 20_000);
      await waitFor('hooks to go on running', () => fs.readFileSync(hookOut, 'utf8').split('\n').length > hooksBefore + 2);
      // While writes fail: ls --json says the crasher's state is only in memory, version says so
      // for humans, and exec is refused; everything else works.
      await degraded('ls --json to say a row is only in memory', async () => {
        const p = (await c.listAll()).find((x) => x.name === 'crasher')!;
        return p.saved === false ? p : undefined;
      });
      await degraded('version to say the database is not writable', async () => {
        const v = await d.run(['version']);
        return /database: NOT WRITABLE since .* \(SQLITE_FULL: database or disk is full\)/.test(v.stdout) ? v : undefined;
      });
      await degraded('exec to be refused while the database cannot be written', async () => {
        const r = await d.run(['exec', '/bin/sleep', '--name', 'new', '--', '100']);
        if (r.code === 0) {
          await d.json(['del', 'new']); // written in a writable window: not what this probe is after
          return undefined;
        }
        assert.equal(r.code, 6, r.stderr);
        assert.match(r.stderr, /cannot write its database \(SQLITE_FULL/);
        return r;
      });
      assert.ok(pidAlive(d.pid), 'pmond is alive');
      // Room again: the flood's log goes, pmond writes everything it owes.
      fs.truncateSync(path.join(mnt, 'logs', 'flood.log'), 0);
      await waitFor('the database to be written again', async () => (await c.call('ping', {})).health.store.ok, 15_000);
      const mem = (await c.listAll()).find((x) => x.name === 'crasher')!;
      await d.json(['stop', 'crasher']);
      const disk = rowsOnDisk(path.join(mnt, 'data', 'data.db')).find((r) => r.name === 'crasher')!;
      assert.ok(disk.restarts >= mem.restarts, `the restarts counted while degraded reached the disk (${disk.restarts} >= ${mem.restarts})`);
    } finally {
      c.close();
    }
    assert.equal(/unhandled|uncaught/i.test(d.stderr), false, `no unhandled error: ${d.stderr.slice(-500)}`);
    await d.stop();
  });

  test('pmond on a full disk without data.db and pmond.lock says data_dir is full, and leaves no data.db', async () => {
    const mnt = await tmpfs('fresh');
    const dataDir = path.join(mnt, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    fill(mnt);
    const dir = fs.mkdtempSync(path.join(base, 'f-'));
    fs.chmodSync(dir, 0o755);
    await assert.rejects(
      TestDaemon.start({ dir, config: { data_dir: dataDir, logs_dir: path.join(mnt, 'logs') } }),
      (e: unknown) => {
        const msg = (e as Error).message;
        assert.match(msg, /^pmond exited at start: /);
        assert.ok(msg.includes(`pmond: data_dir ${dataDir} is full (SQLITE_FULL: database or disk is full): cannot take the lock ${dataDir}/pmond.lock`), msg);
        return true;
      },
    );
    assert.equal(fs.existsSync(path.join(dataDir, 'data.db')), false);
  });

  test('pmond on a full disk with pmond.lock but no data.db says data_dir is full, and leaves no data.db', async () => {
    const mnt = await tmpfs('fresh-db');
    const dataDir = path.join(mnt, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    acquireDaemonLock(dataDir).release();
    fill(mnt);
    const dir = fs.mkdtempSync(path.join(base, 'g-'));
    fs.chmodSync(dir, 0o755);
    await assert.rejects(
      TestDaemon.start({ dir, config: { data_dir: dataDir, logs_dir: path.join(mnt, 'logs') } }),
      (e: unknown) => {
        const msg = (e as Error).message;
        assert.ok(msg.includes(`pmond: database ${dataDir}/data.db cannot be created: data_dir ${dataDir} is full (SQLITE_FULL: database or disk is full)`), msg);
        return true;
      },
    );
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['pmond.lock'], 'no data.db, no data.db.new');
  });
});
