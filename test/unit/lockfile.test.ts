/**
 * One pmond per data_dir: a lock held by another process (or a second lock
 * in this one) says "another pmond is already running", naming the holder's
 * pid when /proc/locks shows it; the kernel frees it when the holder dies;
 * taking it writes nothing; any other failure names its cause. (A full disk:
 * test/reliability/disk-full.test.ts, on a real full tmpfs.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { acquireDaemonLock } from '../../internal/daemon/lockfile';
import { PmonError } from '../../internal/protocol/errors';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

let root: string;
let n = 0;
const newDir = (): string => {
  const d = path.join(root, `k${++n}`);
  fs.mkdirSync(d);
  return d;
};
const children: ChildProcess[] = [];

before(() => {
  root = tempDir('pmlk-');
});
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** Another process holding the lock on dir until killed. */
async function holder(dir: string): Promise<ChildProcess> {
  const lockfile = path.resolve(__dirname, '..', '..', 'internal', 'daemon', 'lockfile.js');
  const code = `require(${JSON.stringify(lockfile)}).acquireDaemonLock(${JSON.stringify(dir)}); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  let out = '';
  c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor('the holder to take the lock', () => out.includes('held') || c.exitCode !== null);
  assert.equal(c.exitCode, null, 'the holder died');
  return c;
}

function refused(dir: string): PmonError {
  try {
    acquireDaemonLock(dir);
  } catch (e) {
    assert.ok(e instanceof PmonError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    return e;
  }
  assert.fail('the lock was taken twice');
}

test('a second lock in the same process is refused: another pmond', () => {
  const dir = newDir();
  const lock = acquireDaemonLock(dir);
  try {
    assert.equal(refused(dir).message, `another pmond is already running on data_dir ${dir} (${dir}/pmond.lock is locked)`);
  } finally {
    lock.release();
  }
  acquireDaemonLock(dir).release();
});

test('a lock held by another process is refused naming its pid; freed when that process is killed', async () => {
  const dir = newDir();
  const c = await holder(dir);
  assert.equal(refused(dir).message, `another pmond (pid ${c.pid}) is already running on data_dir ${dir} (${dir}/pmond.lock is locked)`);
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
  acquireDaemonLock(dir).release();
});

test('taking the lock writes nothing once pmond.lock exists: not a byte changes, no journal is made', () => {
  const dir = newDir();
  const file = path.join(dir, 'pmond.lock');
  acquireDaemonLock(dir).release(); // the first one writes its one page
  const before = fs.readFileSync(file);
  const mtime = fs.statSync(file).mtimeMs;
  assert.equal(before.length, 4096);
  const lock = acquireDaemonLock(dir);
  assert.deepEqual(fs.readdirSync(dir), ['pmond.lock'], 'no journal while held');
  lock.release();
  assert.deepEqual(fs.readFileSync(file), before);
  assert.equal(fs.statSync(file).mtimeMs, mtime);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), ['pmond.lock']);
  // An empty pmond.lock (a first start cut short) is made whole again.
  fs.writeFileSync(file, '');
  acquireDaemonLock(dir).release();
  assert.equal(fs.statSync(file).size, 4096);
});

test('a pmond.lock left by the pmond of before (a holder table, a hot journal after SIGKILL) is taken', async () => {
  const dir = newDir();
  const file = path.join(dir, 'pmond.lock');
  const sqlite = require.resolve('better-sqlite3');
  // What acquireDaemonLock did before: a write transaction held open for the daemon's life.
  const code = `const db = new (require(${JSON.stringify(sqlite)}))(${JSON.stringify(file)}, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE'); db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
    db.exec('BEGIN EXCLUSIVE'); db.prepare('DELETE FROM holder').run(); db.prepare('INSERT INTO holder VALUES (?)').run(process.pid);
    process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  let out = '';
  c.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor('the old pmond to hold its lock', () => out.includes('held') || c.exitCode !== null);
  assert.match(refused(dir).message, new RegExp(`^another pmond \\(pid ${c.pid}\\) is already running`));
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
  assert.ok(fs.existsSync(`${file}-journal`), 'a hot journal left behind');
  acquireDaemonLock(dir).release();
});

test('other failures name their cause, never "another pmond"', () => {
  const notDir = path.join(newDir(), 'file');
  fs.writeFileSync(notDir, '');
  const e1 = refused(notDir);
  assert.match(e1.message, new RegExp(`^cannot take the lock ${notDir}/pmond.lock on data_dir ${notDir} \\(ENOTDIR: not a directory`));

  const garbage = newDir();
  fs.writeFileSync(path.join(garbage, 'pmond.lock'), 'not a database, not at all\n'.repeat(10));
  const e2 = refused(garbage);
  assert.equal(
    e2.message,
    `${garbage}/pmond.lock is not a pmond lock file (SQLITE_NOTADB: file is not a database); remove it if no pmond runs on data_dir ${garbage}`,
  );
  for (const e of [e1, e2]) assert.doesNotMatch(e.message, /another pmond/);
});
