/**
 * Opening the database: a damaged or foreign data.db is refused with one
 * line naming it and the cause, and left as it was (tests work on copies);
 * `pmond --check` runs a full integrity check; a database made by the
 * previous schema (0001 + 0002) migrates in place with every row and value,
 * names become unique per owner; a migration that fails changes nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import * as m0001 from '../../db/migrations/0001_init';
import * as m0002 from '../../db/migrations/0002_spawn_token';
import { specHash } from '../../internal/apps/model';
import { PmonError } from '../../internal/protocol/errors';
import { checkDatabase, openStore, type Store } from '../../internal/store/store';
import { PMOND } from '../helpers/daemon';
import { newRow, recordingLogger, rowsOnDisk } from '../helpers/store';
import { tempDir } from '../helpers/tmp';

let root: string;
let n = 0;
const newDir = (): string => {
  const d = path.join(root, `d${++n}`);
  fs.mkdirSync(d, { mode: 0o700 });
  return d;
};
const stores: Store[] = [];
async function open(dir: string): Promise<Store> {
  const s = await openStore(dir, { logger: recordingLogger() });
  stores.push(s);
  return s;
}
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

before(() => {
  root = tempDir('pmso-');
});
after(async () => {
  for (const s of stores) await s.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Refused: a PmonError FAILED_PRECONDITION in one line naming the file, the file byte for byte as it was. */
async function assertRefused(dir: string, re: RegExp): Promise<string> {
  const file = path.join(dir, 'data.db');
  const before = sha(file);
  let message = '';
  await assert.rejects(openStore(dir, { logger: recordingLogger() }), (e: unknown) => {
    assert.ok(e instanceof PmonError, String(e));
    assert.equal(e.code, 'FAILED_PRECONDITION');
    message = e.message;
    return true;
  });
  assert.ok(!message.includes('\n'), `one line: ${message}`);
  assert.ok(message.startsWith(`database ${file} `), message);
  assert.match(message, re);
  assert.match(message, /pmond will not replace it: restore a backup or move it aside$/);
  assert.equal(sha(file), before, 'the file is left as it was');
  return message;
}

describe('a damaged data.db is refused, never replaced', () => {
  let good: string;
  let size: number;
  before(async () => {
    good = newDir();
    const s = await openStore(good, { logger: recordingLogger() });
    // Enough rows for a few dozen pages (env of 3 KB each, as a real environment can be).
    for (let i = 0; i < 100; i++) await s.insert(newRow(`app${i}`, { env: JSON.stringify({ PATH: '/usr/bin:/bin', BLOB: 'x'.repeat(3000) }) }));
    await s.close();
    size = fs.statSync(path.join(good, 'data.db')).size;
    assert.ok(size > 40 * 4096, `a database of many pages (${size} bytes)`);
  });
  /** A copy of the good data_dir's data.db, changed by damage. */
  const copy = (damage: (file: string) => void): string => {
    const dir = newDir();
    fs.copyFileSync(path.join(good, 'data.db'), path.join(dir, 'data.db'));
    damage(path.join(dir, 'data.db'));
    return dir;
  };

  test('truncated to half its size', async () => {
    const dir = copy((f) => fs.truncateSync(f, Math.floor(size / 2)));
    await assertRefused(dir, /is corrupt \(quick_check: .*malformed.*\)/);
    assert.equal(checkDatabase(dir).ok, false);
  });

  test('garbage over the header of a b-tree page', async () => {
    const dir = copy((f) => {
      const fd = fs.openSync(f, 'r+');
      fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, 2 * 4096); // page 3
      fs.closeSync(fd);
    });
    const msg = await assertRefused(dir, /is corrupt \(quick_check: .*page 3.*\)/);
    assert.ok(msg.length < 600, msg);
    const check = checkDatabase(dir);
    assert.equal(check.ok, false);
    assert.match(check.text, /malformed|page 3/);
  });

  test('a text file named data.db', async () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, 'data.db'), 'processes:\n  - name: api\n'.repeat(50));
    await assertRefused(dir, /is not an SQLite database \(SQLITE_NOTADB: file is not a database\)/);
    assert.match(checkDatabase(dir).text, /SQLITE_NOTADB/);
  });

  test('an empty data.db (pmond never leaves one: it makes data.db.new and links it into place)', async () => {
    const dir = newDir();
    fs.writeFileSync(path.join(dir, 'data.db'), '');
    await assertRefused(dir, /is empty \(0 bytes\)/);
    assert.equal(checkDatabase(dir).ok, false);
  });

  test('the good one opens and checks ok; a fresh data_dir gets a database and no leftovers', async () => {
    assert.deepEqual(checkDatabase(good), { ok: true, text: 'ok' });
    const s = await open(good);
    assert.equal((await s.all()).length, 100);
    const fresh = path.join(newDir(), 'data');
    await open(fresh);
    assert.deepEqual(fs.readdirSync(fresh).sort(), ['data.db']);
    assert.equal(fs.statSync(path.join(fresh, 'data.db')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
  });
});

describe('pmond --check', () => {
  /** Run bin/pmond --check with a config whose data_dir is dir. */
  const check = (dir: string): Promise<{ code: number; stdout: string; stderr: string }> => {
    const conf = path.join(dir, 'pmon3.yaml');
    fs.writeFileSync(conf, `data_dir: ${JSON.stringify(dir)}\nlogs_dir: ${JSON.stringify(path.join(dir, 'logs'))}\nsocket_path: ${JSON.stringify(path.join(dir, 's.sock'))}\n`);
    return new Promise((resolve) => {
      execFile(PMOND, ['--check'], { env: { ...process.env, PMON3_CONF: conf }, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
      });
    });
  };

  test('prints ok and exits 0 for a sound database, also while it is open for writing', async () => {
    const dir = newDir();
    const s = await open(dir);
    await s.insert(newRow('api'));
    await s.settled();
    const r = await check(dir);
    assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 0, stdout: 'ok\n' }, r.stderr);
  });

  test('prints the problems and exits 1 for a damaged one', async () => {
    const dir = newDir();
    const s = await openStore(dir, { logger: recordingLogger() });
    for (let i = 0; i < 50; i++) await s.insert(newRow(`app${i}`, { env: JSON.stringify({ BLOB: 'y'.repeat(3000) }) }));
    await s.close();
    const fd = fs.openSync(path.join(dir, 'data.db'), 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 2 * 4096);
    fs.closeSync(fd);
    const r = await check(dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`^${path.join(dir, 'data.db')}`));
    assert.match(r.stdout, /malformed|page 3/);
  });

  test('exits 1 naming the file when there is no database', async () => {
    const dir = newDir();
    const r = await check(dir);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /data\.db: .*(ENOENT|no such file)/);
    assert.deepEqual(fs.readdirSync(dir), ['pmon3.yaml'], 'nothing created');
  });
});

describe('migration 0003: names unique per owner, pid_boot_id, cgroup', () => {
  interface OldRow {
    [k: string]: string | number | null;
  }
  const OLD: OldRow[] = [
    {
      id: 1,
      name: 'api',
      process_file: '/usr/bin/node',
      args: '["server.js","--port","8080"]',
      env: '{"NODE_ENV":"production","PATH":"/usr/local/bin:/usr/bin:/bin"}',
      cwd: '/srv/api',
      user: 'root',
      uid: 0,
      gid: 0,
      status: 'running',
      desired: 'running',
      pid: 48213,
      pid_start_time: 1234567,
      restarts: 3,
      consecutive_failures: 0,
      auto_restart: 1,
      log: '/var/log/pmond/api.log',
      last_exit_code: 1,
      last_signal: null,
      started_at: '2024-05-01T10:00:00.000Z',
      stopped_at: '2024-05-01T09:59:58.120Z',
      created_at: '2024-04-30T08:00:00.000Z',
      updated_at: '2024-05-01T10:00:00.001Z',
      spawn_token: '9f1c2e7a4b6d8e0f1a2b3c4d5e6f7a8b',
    },
    {
      id: 2,
      name: 'worker',
      process_file: '/usr/bin/python3',
      args: '["-m","worker"]',
      env: '{}',
      cwd: '/home/alice',
      user: 'alice',
      uid: 1000,
      gid: 1000,
      status: 'stopped',
      desired: 'stopped',
      pid: null,
      pid_start_time: null,
      restarts: 0,
      consecutive_failures: 0,
      auto_restart: 0,
      log: '/var/log/pmond/alice/worker.log',
      last_exit_code: null,
      last_signal: 'SIGTERM',
      started_at: '2024-05-01T10:00:01.000Z',
      stopped_at: '2024-05-02T11:30:00.000Z',
      created_at: '2024-05-01T10:00:00.500Z',
      updated_at: '2024-05-02T11:30:00.000Z',
      spawn_token: null,
    },
    {
      id: 4,
      name: 'cron-like',
      process_file: '/bin/sh',
      args: '["-c","while :; do date; sleep 60; done"]',
      env: '{"TZ":"UTC"}',
      cwd: '/',
      user: 'root',
      uid: 0,
      gid: 0,
      status: 'backoff',
      desired: 'running',
      pid: null,
      pid_start_time: null,
      restarts: 17,
      consecutive_failures: 5,
      auto_restart: 1,
      log: '/var/log/pmond/cron-like.log',
      last_exit_code: null,
      last_signal: 'SIGKILL',
      started_at: '2024-05-03T00:00:00.000Z',
      stopped_at: '2024-05-03T00:00:02.000Z',
      created_at: '2024-05-02T23:00:00.000Z',
      updated_at: '2024-05-03T00:00:02.000Z',
      spawn_token: 'aa55aa55aa55aa55aa55aa55aa55aa55',
    },
  ];

  /** A data.db as the previous pmond made it: migrations 0001 and 0002 only, rows 1..5 inserted, 3 and 5 deleted. */
  async function oldDatabase(dir: string): Promise<string> {
    const file = path.join(dir, 'data.db');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
    const migrations: Record<string, Migration> = { '0001_init': m0001, '0002_spawn_token': m0002 };
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
    assert.equal(error, undefined);
    const cols = Object.keys(OLD[0]!);
    const ins = sqlite.prepare(`INSERT INTO processes (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
    ins.run(OLD[0]);
    ins.run(OLD[1]);
    ins.run({ ...OLD[1], id: 3, name: 'gone' });
    ins.run(OLD[2]);
    ins.run({ ...OLD[1], id: 5, name: 'gone-too' });
    sqlite.prepare('DELETE FROM processes WHERE id IN (3, 5)').run();
    await db.destroy();
    return file;
  }

  test('every row and value kept through 0003 and 0004; each row an app of one instance; two owners may share a name, one owner may not', async () => {
    const dir = newDir();
    const file = await oldDatabase(dir);
    const s = await open(dir);
    const hashOf = (r: OldRow): string =>
      specHash({ file: r.process_file as string, args: JSON.parse(r.args as string), env: JSON.parse(r.env as string), cwd: r.cwd as string, uid: r.uid as number, gid: r.gid as number });
    assert.deepEqual(
      await s.all(),
      OLD.map((r) => ({ ...r, pid_boot_id: null, cgroup: null, app_id: r.id, instance: 0, spec_hash: hashOf(r), reason: null })),
    );
    assert.deepEqual(
      (await s.apps()).map((a) => [a.id, a.uid, a.name, a.instances, a.source, a.spec_hash]),
      OLD.map((r) => [r.id, r.uid, r.name, 1, 'migrated', hashOf(r)]),
    );
    assert.deepEqual(rowsOnDisk(file), await s.all());

    const probe = new SQLite(file, { readonly: true });
    try {
      const indexes = probe.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'processes'").pluck().all();
      assert.ok(indexes.includes('processes_uid'), `processes_uid kept: ${indexes.join(', ')}`);
      const uniques = (probe.prepare("SELECT name FROM pragma_index_list('processes') WHERE \"unique\" = 1").pluck().all() as string[]).map(
        (ix) => (probe.prepare(`SELECT name FROM pragma_index_info('${ix}') ORDER BY seqno`).pluck().all() as string[]).join(','),
      );
      assert.deepEqual(uniques, ['app_id,instance']);
      assert.deepEqual(probe.prepare('SELECT name FROM kysely_migration ORDER BY name').pluck().all(), ['0001_init', '0002_spawn_token', '0003_owner_names', '0004_apps', '0005_groups', '0006_next_run']);
      assert.equal(probe.prepare('SELECT count(*) FROM groups').pluck().get(), 0, 'migrated apps are in no group');
      assert.equal(probe.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'processes'").pluck().get(), 5);
      assert.equal(probe.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      probe.close();
    }

    // Ids go on after the highest ever used (5, deleted), not after the highest left (4): for apps too.
    const bobApp = await s.insertApp({ name: 'api', uid: 1001, user: 'bob', gid: 1001, spec: '{}', spec_hash: 'h' });
    assert.equal(bobApp.id, 6);
    const bob = await s.insert(newRow('api', { app_id: bobApp.id, user: 'bob', uid: 1001, gid: 1001 }));
    assert.equal(bob.id, 6);
    await assert.rejects(s.insertApp({ name: 'api', uid: 0, user: 'root', gid: 0, spec: '{}', spec_hash: 'h' }), (e: unknown) => e instanceof PmonError && e.code === 'ALREADY_EXISTS');
    await assert.rejects(s.insert(newRow('api', { app_id: 1 })), (e: unknown) => e instanceof PmonError && e.code === 'ALREADY_EXISTS');
    await s.update(1, { pid_boot_id: '2f1e0d9c-8b7a-4c5d-9e0f-1a2b3c4d5e6f', cgroup: '/sys/fs/cgroup/pmon3.slice/p1' });
    await s.settled();
    assert.equal(s.health().ok, true);
    const disk = rowsOnDisk(file);
    assert.deepEqual(
      disk.filter((r) => r.name === 'api').map((r) => [r.id, r.uid]),
      [
        [1, 0],
        [6, 1001],
      ],
    );
    assert.equal(disk[0]!.cgroup, '/sys/fs/cgroup/pmon3.slice/p1');

    // The constraint is the database's own, not only the store's.
    const raw = new SQLite(file);
    try {
      const cols = [...Object.keys(OLD[0]!).filter((c) => c !== 'id'), 'app_id', 'instance'];
      const ins = raw.prepare(`INSERT INTO processes (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
      const { id: _id, ...api } = OLD[0]!;
      assert.throws(() => ins.run({ ...api, app_id: 1, instance: 0 }), /UNIQUE constraint failed: processes.app_id, processes.instance/);
      ins.run({ ...api, app_id: 1, instance: 1 });
      assert.throws(
        () => raw.prepare("INSERT INTO apps (name, uid, user, gid, spec, spec_hash) VALUES ('api', 0, 'root', 0, '{}', 'h')").run(),
        /UNIQUE constraint failed: apps.uid, apps.name/,
      );
    } finally {
      raw.close();
    }
  });

  test('a migration that fails changes nothing: all of it runs in one transaction', async () => {
    const dir = newDir();
    const file = await oldDatabase(dir);
    // Something in the way of the rebuild, found only after the new table was made and filled and the
    // old one dropped: a view of the old table stops the rename ("error in view ...: no such table").
    const db = new SQLite(file);
    db.exec('CREATE VIEW running AS SELECT id, name FROM processes WHERE status = \'running\'');
    db.close();
    const schemaBefore = (): unknown => {
      const p = new SQLite(file, { readonly: true });
      try {
        return p.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
      } finally {
        p.close();
      }
    };
    const before = schemaBefore();
    const rowsBefore = rowsOnDisk(file);
    await assert.rejects(openStore(dir, { logger: recordingLogger() }), (e: unknown) => {
      assert.ok(e instanceof PmonError);
      assert.match(e.message, new RegExp(`^database ${file}: migration 0003_owner_names failed: .*error in view running`));
      return true;
    });
    assert.deepEqual(schemaBefore(), before);
    assert.deepEqual(rowsOnDisk(file), rowsBefore);
  });

  test('a database from a newer pmond (an unknown migration) is refused, unchanged', async () => {
    const dir = newDir();
    const s = await openStore(dir, { logger: recordingLogger() });
    await s.close();
    const file = path.join(dir, 'data.db');
    const db = new SQLite(file);
    db.prepare('INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)').run('0099_future', new Date().toISOString());
    db.close();
    const before = sha(file);
    await assert.rejects(openStore(dir, { logger: recordingLogger() }), /made by a newer pmond \(migration 0099_future unknown to this one\)/);
    assert.equal(sha(file), before);
  });
});

describe('migration 0005: groups', () => {
  test('every group an app of a 0004 database names gets its row, per owner, once; a name that is not text is skipped', async () => {
    const { MIGRATIONS } = await import('../../db/migrations');
    const dir = newDir();
    const file = path.join(dir, 'data.db');
    const sqlite = new SQLite(file);
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
    const upTo4 = Object.fromEntries(Object.entries(MIGRATIONS).filter(([k]) => k < '0005'));
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => upTo4 } }).migrateToLatest();
    assert.equal(error, undefined);
    const ins = sqlite.prepare("INSERT INTO apps (name, uid, user, gid, spec, spec_hash, groups) VALUES (?, ?, ?, ?, '{}', 'h', ?)");
    ins.run('web', 0, 'root', 0, '["front","all-apps"]');
    ins.run('api', 0, 'root', 0, '["all-apps",42]');
    ins.run('web', 1000, 'ann', 1000, '["front"]');
    ins.run('odd', 1000, 'ann', 1000, 'not json');
    await db.destroy();
    const s = await openStore(dir, { logger: recordingLogger() });
    try {
      assert.deepEqual(
        s.groups().map((g) => [g.uid, g.name]),
        [
          [0, 'all-apps'],
          [0, 'front'],
          [1000, 'front'],
        ],
      );
      assert.equal((await s.apps()).length, 4, 'every app kept');
    } finally {
      await s.close();
    }
  });
});
