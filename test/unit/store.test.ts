/**
 * The store on real SQLite files: rows in memory, written behind in one
 * transaction per tick; a write that fails keeps every row in memory,
 * degrades health and is retried until it succeeds; nothing escapes as an
 * unhandled rejection; close() makes a last attempt and says what it lost.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, mock, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { PmonError } from '../../internal/protocol/errors';
import { openStore, type Store } from '../../internal/store/store';
import { commits, newRow, recordingLogger, rowsOnDisk, watchUnhandled } from '../helpers/store';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

let root: string;
let n = 0;
/** A new data_dir for one test. */
const dataDir = (): string => path.join(root, `d${++n}`);
const dbOf = (dir: string): string => path.join(dir, 'data.db');
const stores: Store[] = [];
async function open(dir: string, retryMs?: number): Promise<{ s: Store; log: ReturnType<typeof recordingLogger> }> {
  const log = recordingLogger();
  const s = await openStore(dir, { logger: log, retryMs });
  stores.push(s);
  return { s, log };
}

/** Rejects with a PmonError of this code. */
async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof PmonError, `not a PmonError: ${String(e)}`);
    assert.equal(e.code, code);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/** Make every write to data.db fail at once, from another connection (a trigger that aborts), until the returned function is called. */
function breakWrites(file: string, why = 'disk says no'): () => void {
  const db = new SQLite(file);
  for (const op of ['INSERT', 'DELETE']) {
    db.exec(`CREATE TRIGGER fail_${op.toLowerCase()} BEFORE ${op} ON processes BEGIN SELECT RAISE(ABORT, '${why}'); END`);
  }
  return () => {
    db.exec('DROP TRIGGER fail_insert; DROP TRIGGER fail_delete');
    db.close();
  };
}

before(() => {
  root = tempDir('pmst-');
});
after(async () => {
  for (const s of stores) await s.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test('reads come from memory: a write is there at once, on disk after settled()', async () => {
  const dir = dataDir();
  const { s } = await open(dir);
  const row = await s.insert(newRow('api'));
  assert.equal(row.id, 1);
  assert.equal(row.pid_boot_id, null);
  assert.equal(row.cgroup, null);
  assert.equal(row.spawn_token, null);
  assert.match(row.created_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(row.updated_at, row.created_at);
  assert.equal(s.saved(row.id), false);
  assert.deepEqual(s.health(), { ok: true, since: null, error: null, pending: 1 });
  assert.deepEqual(await s.get(1), row);
  assert.deepEqual(await s.findByName('api'), [row]);
  assert.deepEqual(await s.all(), [row]);
  assert.equal(rowsOnDisk(dbOf(dir)).length, 0, 'not written before the flush');

  await s.settled();
  assert.equal(s.saved(row.id), true);
  assert.deepEqual(s.health(), { ok: true, since: null, error: null, pending: 0 });
  assert.deepEqual(rowsOnDisk(dbOf(dir)), [row]);

  // Callers get copies: changing one changes nothing in the store.
  (await s.get(1))!.status = 'failed';
  (await s.all())[0]!.name = 'other';
  assert.deepEqual(await s.get(1), row);

  // settled() with nothing pending resolves at once.
  await s.settled();
  const up = await s.update(1, { status: 'running', pid: 4242, pid_start_time: 987654, pid_boot_id: 'b0a7c1d2-0000-4000-8000-000000000001' });
  assert.ok(up.updated_at >= row.updated_at);
  assert.equal(s.saved(1), false);
  await s.settled();
  assert.deepEqual(rowsOnDisk(dbOf(dir)), [up]);
});

test('a burst of changes in one tick costs one commit', async () => {
  const dir = dataDir();
  const { s } = await open(dir);
  for (let i = 0; i < 20; i++) void s.insert(newRow(`app${i}`));
  await s.settled();
  const file = dbOf(dir);
  const c0 = commits(file);

  // 100 updates, a removal and an insert, all in one tick.
  const writes: Array<Promise<unknown>> = [];
  for (let k = 0; k < 5; k++) for (let id = 1; id <= 20; id++) writes.push(s.update(id, { restarts: k, status: 'running' }));
  writes.push(s.remove(7), s.insert(newRow('late')));
  await Promise.all(writes);
  await s.settled();
  assert.equal(commits(file) - c0, 1, 'one transaction for the whole burst');
  assert.deepEqual(rowsOnDisk(file), await s.all());

  // A chain of awaited writes yields only to microtasks: still one commit.
  const c1 = commits(file);
  for (let k = 0; k < 30; k++) await s.update(3, { consecutive_failures: k });
  await s.settled();
  assert.equal(commits(file) - c1, 1);
  assert.equal(rowsOnDisk(file).find((r) => r.id === 3)!.consecutive_failures, 29);

  // The next tick's change is the next commit.
  await s.update(4, { desired: 'stopped' });
  await s.settled();
  assert.equal(commits(file) - c1, 2);
});

test('a name freed and taken again, and two rows swapping names, in one batch', async () => {
  const dir = dataDir();
  const { s, log } = await open(dir);
  const web = await s.insert(newRow('web'));
  const db = await s.insert(newRow('db'));
  await s.settled();

  await s.remove(web.id);
  const web2 = await s.insert(newRow('web', { process_file: '/usr/bin/python3' }));
  await s.update(db.id, { name: 'tmp' });
  await s.update(web2.id, { name: 'db' });
  await s.update(db.id, { name: 'web' });
  await s.settled();
  assert.equal(s.health().ok, true, JSON.stringify(s.health()));
  assert.deepEqual(log.at('warn'), []);
  const disk = rowsOnDisk(dbOf(dir));
  assert.deepEqual(disk, await s.all());
  assert.deepEqual(
    disk.map((r) => [r.id, r.name]),
    [
      [db.id, 'web'],
      [web2.id, 'db'],
    ],
  );
});

test('app names are unique per owner; instances unique per (app, index); NOT_FOUND for an unknown id', async () => {
  const dir = dataDir();
  const { s } = await open(dir);
  const app = (name: string, uid = 0) => s.insertApp({ name, uid, user: uid ? 'alice' : 'root', gid: uid, spec: '{}', spec_hash: 'h' });
  const mine = await app('web');
  const theirs = await app('web', 1000);
  await rejectsWith(app('web'), 'ALREADY_EXISTS', /app "web" already exists/);
  await rejectsWith(s.updateApp(theirs.id, { uid: 0 }), 'ALREADY_EXISTS');
  const other = await app('api');
  await rejectsWith(s.updateApp(other.id, { name: 'web' }), 'ALREADY_EXISTS');
  assert.equal((await s.getApp(other.id))!.name, 'api', 'a refused update changes nothing');
  assert.equal((await s.getAppByName(0, 'web'))!.id, mine.id);
  assert.equal((await s.getAppByName(1000, 'web'))!.id, theirs.id);
  assert.equal(await s.getAppByName(1001, 'web'), undefined);
  // Instances: several per app, each index once.
  const w0 = await s.insert(newRow('web', { app_id: mine.id, instance: 0 }));
  const w1 = await s.insert(newRow('web', { app_id: mine.id, instance: 1 }));
  const t0 = await s.insert(newRow('web', { app_id: theirs.id, instance: 0, user: 'alice', uid: 1000, gid: 1000 }));
  await rejectsWith(s.insert(newRow('web', { app_id: mine.id, instance: 1 })), 'ALREADY_EXISTS', /"web" instance 1 already exists/);
  await rejectsWith(s.update(w1.id, { instance: 0 }), 'ALREADY_EXISTS');
  assert.deepEqual((await s.instancesOf(mine.id)).map((r) => r.id), [w0.id, w1.id]);
  assert.equal((await s.getByName(0, 'web'))!.id, w0.id, 'the lowest instance of the app of that name');
  assert.equal((await s.getByName(1000, 'web'))!.id, t0.id);
  assert.deepEqual((await s.findByName('web')).map((r) => r.id), [w0.id, w1.id, t0.id]);
  await rejectsWith(s.update(999, { status: 'running' }), 'NOT_FOUND', /process 999 not found/);
  await rejectsWith(s.updateApp(999, { instances: 2 }), 'NOT_FOUND', /app 999 not found/);
  await s.remove(999);
  await s.removeApp(999);
  // A renamed app frees its old name; a removed app too.
  await s.updateApp(other.id, { name: 'api2' });
  const again = await app('api');
  await s.removeApp(again.id);
  await app('api');
  await s.settled();
  assert.equal(s.health().ok, true);
  assert.equal(s.appSaved(mine.id), true);
  // On disk as in memory: a reopen finds the same apps and instances.
  const apps = await s.apps();
  const rows = await s.all();
  await s.close();
  const { s: s2 } = await open(dir);
  assert.deepEqual(await s2.apps(), apps);
  assert.deepEqual(await s2.all(), rows);
  assert.equal((await s2.insertApp({ name: 'next', uid: 0, user: 'root', gid: 0, spec: '{}', spec_hash: 'h' })).id, Math.max(...apps.map((a) => a.id), again.id) + 1, 'app ids are not handed out twice');
});

test('groups: unique per owner, bounded per owner, written at once, kept across a reopen; a read-only database refuses in one line', async () => {
  const { MAX_GROUPS_PER_OWNER } = await import('../../internal/store/store');
  const dir = dataDir();
  const { s } = await open(dir);
  const web = s.insertGroup(0, 'web');
  const theirs = s.insertGroup(1000, 'web');
  assert.notEqual(web.id, theirs.id);
  assert.throws(() => s.insertGroup(0, 'web'), (e: any) => e.code === 'ALREADY_EXISTS' && e.message === 'group "web" already exists');
  for (let i = 1; i < MAX_GROUPS_PER_OWNER; i++) s.insertGroup(1001, `g${i}`);
  s.insertGroup(1001, 'last');
  assert.throws(() => s.insertGroup(1001, 'one-too-many'), (e: any) => e.code === 'FAILED_PRECONDITION' && /uid 1001 has 256 groups, the most one owner may have/.test(e.message));
  s.removeGroup(theirs.id);
  s.removeGroup(99999);
  assert.equal(new SQLite(dbOf(dir), { readonly: true }).prepare('SELECT count(*) FROM groups').pluck().get(), 1 + MAX_GROUPS_PER_OWNER);
  const before = s.groups();
  await s.close();
  const { s: s2 } = await open(dir);
  assert.deepEqual(s2.groups(), before);
  // Writes that fail: the group is not made, and the caller is told in one line.
  const db = new SQLite(dbOf(dir));
  db.exec("CREATE TRIGGER no_groups BEFORE INSERT ON groups BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
  assert.throws(() => s2.insertGroup(0, 'api'), (e: any) => e.code === 'FAILED_PRECONDITION' && /^group "api" cannot be saved: database .* cannot be written \(.*disk says no\)$/.test(e.message));
  db.exec('DROP TRIGGER no_groups');
  db.close();
  assert.equal(s2.groups().some((g) => g.name === 'api'), false);
  s2.insertGroup(0, 'api');
});

test('ids are never handed out twice, also across restarts and for rows never written', async () => {
  const dir = dataDir();
  let { s } = await open(dir);
  for (const name of ['a', 'b', 'c']) await s.insert(newRow(name));
  await s.remove(3);
  await s.settled();
  await s.close();
  ({ s } = await open(dir));
  assert.equal((await s.insert(newRow('d'))).id, 4);
  // Inserted and removed in one tick: never on disk, yet its id stays used.
  const e = await s.insert(newRow('e'));
  await s.remove(e.id);
  await s.close();
  ({ s } = await open(dir));
  assert.equal((await s.insert(newRow('f'))).id, 6);
});

test('a value SQLite could not hold is refused at once and holds back nothing', async () => {
  const dir = dataDir();
  const { s } = await open(dir);
  const r = await s.insert(newRow('api'));
  await rejectsWith(s.update(r.id, { auto_restart: true as unknown as number }), 'INTERNAL', /auto_restart cannot hold a boolean/);
  await rejectsWith(s.update(r.id, { status: null as unknown as 'running' }), 'INTERNAL', /status cannot be empty/);
  await rejectsWith(s.update(r.id, { pid: Number.NaN }), 'INTERNAL', /pid cannot hold NaN/);
  await rejectsWith(s.insert({ ...newRow('x'), log: undefined as unknown as string }), 'INTERNAL', /log cannot be empty/);
  assert.deepEqual(await s.get(r.id), r);
  await s.update(r.id, { status: 'running' });
  await s.settled();
  assert.equal(s.health().ok, true);
  assert.equal(rowsOnDisk(dbOf(dir))[0]!.status, 'running');
});

test('failing writes: rows stay in memory, health degrades, one warning a minute, retries until saved', async (t) => {
  const dir = dataDir();
  const file = dbOf(dir);
  const { s, log } = await open(dir, 50);
  for (const name of ['a', 'b', 'c']) await s.insert(newRow(name));
  await s.settled();
  const watch = watchUnhandled();
  t.after(() => watch.stop());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2030-01-01T00:00:00Z') });
  t.after(() => mock.timers.reset());
  const repair = breakWrites(file);
  let repaired = false;
  t.after(() => {
    if (!repaired) repair();
  });

  await s.update(1, { status: 'running', pid: 4242 });
  await s.settled(); // the flush was attempted, and failed
  const h = s.health();
  assert.equal(h.ok, false);
  assert.equal(h.since, '2030-01-01T00:00:00.000Z');
  assert.equal(h.error, 'SQLITE_CONSTRAINT_TRIGGER: disk says no');
  assert.equal(h.pending, 1);
  assert.equal(s.saved(1), false);
  assert.equal(s.saved(2), true);
  assert.deepEqual(log.at('warn'), [
    `database ${file} cannot be written (SQLITE_CONSTRAINT_TRIGGER: disk says no) since 2030-01-01T00:00:00.000Z; 1 rows kept in memory, pmond keeps supervising`,
  ]);

  // pmond goes on: reads, updates, inserts (ids from memory), removals, all in memory.
  assert.equal((await s.get(1))!.pid, 4242);
  const d = await s.insert(newRow('d'));
  assert.equal(d.id, 4);
  await s.remove(2);
  await s.update(3, { desired: 'stopped', status: 'stopped' });
  await s.settled(); // resolves at once: the changes are kept in memory while writes fail
  assert.equal(s.health().pending, 4);
  assert.deepEqual(
    (await s.all()).map((r) => r.id),
    [1, 3, 4],
  );

  // Retries every retryMs, quietly within the minute...
  for (let i = 0; i < 10; i++) mock.timers.tick(50);
  assert.equal(log.at('warn').length, 1);
  assert.equal(s.health().ok, false);
  // ...and once more after a minute.
  mock.timers.tick(60_000);
  assert.equal(log.at('warn').length, 2);
  assert.match(log.at('warn')[1]!, /since 2030-01-01T00:00:00.000Z; 4 rows kept in memory/);
  assert.deepEqual(rowsOnDisk(file).map((r) => [r.id, r.status]), [
    [1, 'queued'],
    [2, 'queued'],
    [3, 'queued'],
  ]);

  repair();
  repaired = true;
  mock.timers.tick(50);
  assert.deepEqual(s.health(), { ok: true, since: null, error: null, pending: 0 });
  assert.deepEqual(log.at('info'), [`database ${file} writable again (failing since 2030-01-01T00:00:00.000Z); 4 rows saved`]);
  assert.deepEqual(rowsOnDisk(file), await s.all());
  for (const id of [1, 2, 3, 4]) assert.equal(s.saved(id), true);
  // Back to one flush per tick.
  mock.timers.reset();
  await s.update(1, { restarts: 1 });
  await s.settled();
  assert.equal(rowsOnDisk(file)[0]!.restarts, 1);
  assert.deepEqual(watch.errors, []);
});

test('a reader holding the file (SQLITE_BUSY) delays writes, then they go through', async (t) => {
  const dir = dataDir();
  const file = dbOf(dir);
  const { s, log } = await open(dir, 20);
  await s.insert(newRow('a'));
  await s.settled();
  const watch = watchUnhandled();
  t.after(() => watch.stop());
  const reader = new SQLite(file, { readonly: true });
  t.after(() => reader.close());
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM processes').get(); // a SHARED lock, held
  await s.update(1, { status: 'running' });
  await s.settled();
  assert.equal(s.health().ok, false);
  assert.match(s.health().error!, /^SQLITE_BUSY/);
  assert.equal(log.at('warn').length, 1);
  reader.exec('COMMIT');
  await waitFor('writes to go through', () => s.health().ok, 10_000);
  assert.equal(rowsOnDisk(file)[0]!.status, 'running');
  assert.match(log.at('info')[0]!, /writable again .*; 1 rows saved$/);
  assert.deepEqual(watch.errors, []);
});

test('close() writes what is pending; while writes fail it logs every row it loses', async (t) => {
  const dir = dataDir();
  const file = dbOf(dir);
  let { s, log } = await open(dir);
  await s.insert(newRow('a'));
  await s.insert(newRow('b'));
  void s.update(1, { status: 'running' });
  await s.close(); // no settled(): close flushes
  await s.close(); // twice is harmless
  assert.deepEqual(
    rowsOnDisk(file).map((r) => [r.name, r.status]),
    [
      ['a', 'running'],
      ['b', 'queued'],
    ],
  );
  assert.deepEqual(log.at('error'), []);
  await rejectsWith(s.update(1, { status: 'stopped' }), 'INTERNAL', /closed/);

  ({ s, log } = await open(dir, 50));
  const repair = breakWrites(file, 'no space');
  t.after(repair);
  await s.update(1, { status: 'stopped' });
  await s.remove(2);
  await s.settled();
  assert.equal(s.health().ok, false);
  await s.close();
  assert.deepEqual(log.at('error'), [
    `database ${file} cannot be written (SQLITE_CONSTRAINT_TRIGGER: no space); the latest state of 2 rows is lost at shutdown: 1 (root/a), 2 (deleted)`,
  ]);
});

test('journal: a rollback journal (persist); a WAL database, -wal and all, is converted at open', async () => {
  const dir = dataDir();
  const file = dbOf(dir);
  let { s } = await open(dir);
  await s.insert(newRow('a'));
  await s.settled();
  await s.close();
  assert.equal(fs.existsSync(`${file}-wal`), false);
  // A pmond of before (WAL) died with a committed change still in its -wal file: copy the files as they are.
  const other = new SQLite(file);
  other.pragma('journal_mode = WAL');
  other.pragma('wal_autocheckpoint = 0');
  other.prepare("UPDATE processes SET status = 'running' WHERE id = 1").run();
  const crashed = dataDir();
  fs.mkdirSync(crashed);
  for (const f of ['data.db', 'data.db-wal']) fs.copyFileSync(path.join(dir, f), path.join(crashed, f));
  other.close();
  assert.ok(fs.statSync(path.join(crashed, 'data.db-wal')).size > 0);

  ({ s } = await open(crashed));
  assert.equal((await s.get(1))!.status, 'running');
  await s.insert(newRow('b'));
  await s.settled();
  assert.equal(fs.existsSync(path.join(crashed, 'data.db-wal')), false, 'checkpointed and gone');
  // Out of WAL for good (a new connection sees the default rollback journal), and PERSIST keeps its journal file.
  const probe = new SQLite(dbOf(crashed), { readonly: true });
  assert.equal(probe.pragma('journal_mode', { simple: true }), 'delete');
  probe.close();
  assert.equal(fs.existsSync(path.join(crashed, 'data.db-journal')), true);

  // A committed row is in data.db itself: that file alone, copied without its journal, holds it.
  const copy = dataDir();
  fs.mkdirSync(copy);
  fs.copyFileSync(dbOf(crashed), dbOf(copy));
  assert.deepEqual(
    rowsOnDisk(dbOf(copy)).map((r) => [r.name, r.status]),
    [
      ['a', 'running'],
      ['b', 'queued'],
    ],
  );
});

test('integrityCheck() says ok on a sound database', async () => {
  const { s } = await open(dataDir());
  await s.insert(newRow('a'));
  await s.settled();
  assert.equal(await s.integrityCheck(), 'ok');
});
