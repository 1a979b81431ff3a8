/** The Go pmon3's process config (JSON, YAML, TOML) and its data.db into apps file entries, every warning asserted. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { checkedApps } from '../../internal/import/emit';
import { detectPmon3Go, importPmon3Go } from '../../internal/import/pmon3-go';
import { detectPmon3GoDb, importPmon3GoDb } from '../../internal/import/pmon3-go-db';
import type { AppEntry } from '../../internal/import/types';
import { GO_SCHEMA } from '../helpers/go-db';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';
import { tempDir } from '../helpers/tmp';

const CONF_APPS: AppEntry[] = [
  {
    name: 'api',
    exec: '/usr/local/bin/api',
    args: '--port 8080 --mode prod',
    cwd: '/usr/local/bin',
    env: { PORT: '8080', MODE: 'prod' },
    user: 'www',
    groups: ['backend', 'web'],
    dependencies: ['db'],
    log: '/var/log/pmond/api.log',
  },
  // The Go pmond splits args on single spaces: the quotes are part of the words.
  { name: 'db', exec: 'bin/db', args: ['-c', "'max", "connections'"], cwd: 'bin', env: { PGDATA: '/srv/db' }, user: 'postgres', restart: 'never', log_dir: '/var/log/db' },
  { name: 'sweep', exec: '/opt/cron/sweep', cwd: '/opt/cron' },
];

for (const [name, envLine, watchLine, envKey] of [
  ['process-config.json', 18, 21, 'env_vars'],
  ['process-config.yaml', 17, 20, 'env_vars'],
  ['process-config.toml', 16, 19, 'EnvVars'],
] as const) {
  test(`the Go process config ${name}`, () => {
    const file = fixture('pmon3-go', name);
    const opts = fsOptions();
    assert.equal(detectPmon3Go(fs.readFileSync(file, 'utf8'), file), true);
    const r = importPmon3Go(file, opts);
    assert.equal(r.format, 'pmon3-go');
    assert.deepEqual(r.files, [file]);
    assert.deepEqual(opts.reads, [file]);
    assert.deepEqual(r.apps, CONF_APPS);
    const key = name.endsWith('toml') ? 'Processes' : 'processes';
    assert.deepEqual(r.warnings, [
      { file, line: envLine, field: `${key}[1].${envKey}`, message: '"broken": not NAME=value; ignored' },
      { file, line: watchLine, field: `${key}[1].watch`, message: 'not an exec flag of the Go pmon3; ignored' },
    ]);
    const specs = checkedApps(r, path.join(path.dirname(file), 'apps.yaml'));
    assert.deepEqual(specs.map((s) => s.name), ['api', 'db', 'sweep']);
    assert.equal(specs[1]!.cwd, path.join(path.dirname(file), 'bin'));
  });
}

test('a Go process config with a wrong type is one line with file:line', () => {
  const file = fixture('pmon3-go', 'malformed.yaml');
  assert.equal(detectPmon3Go(fs.readFileSync(file, 'utf8'), file), true);
  refusedAt(() => importPmon3Go(file, fsOptions()), `${file}:4`, /processes\[0\]\.no_auto_restart: expected true or false/);
});

test('other files are not a Go process config', () => {
  assert.equal(detectPmon3Go('apps:\n  - name: a\n    exec: /bin/true\n', 'apps.yaml'), false);
  assert.equal(detectPmon3Go('{ not json', 'x.json'), false);
});

// --- data.db --------------------------------------------------------------------------------


/** A data.db as the Go pmond leaves it: rows saved by its repo (status as model.ProcessStatus, bools 1/0). */
function goDb(dir: string): string {
  const file = path.join(dir, 'data.db');
  const db = new Database(file);
  db.exec(GO_SCHEMA);
  const at = '2024-05-01 10:00:00.123456789+00:00';
  const ins = db.prepare(
    `INSERT INTO processes (created_at, updated_at, log, name, process_file, args, env_vars, username, memory_usage, cpu_usage, dependencies, status, id, pid, uid, gid, auto_restart)
     VALUES (@at, @at, @log, @name, @file, @args, @env, @user, '', '', @deps, @status, @id, @pid, @uid, @gid, @auto)`,
  );
  ins.run({ at, id: 1, name: 'api', file: '/usr/local/bin/api', args: '--port 8080', env: 'PORT=8080  MODE=prod', user: 'www', log: '/var/log/pmond/api.log', deps: 'db cache', status: 2, pid: 4242, uid: 33, gid: 33, auto: 1 });
  ins.run({ at, id: 2, name: 'db', file: '/srv/db/bin/db', args: '', env: '', user: 'postgres', log: '/var/log/pmond/db.log', deps: '', status: 3, pid: 0, uid: 70, gid: 70, auto: 0 });
  ins.run({ at, id: 3, name: 'cache', file: '/opt/cache/run', args: '-x  1', env: 'bad-name=1', user: '', log: '/var/log/pmond/cache.log', deps: '', status: 4, pid: 0, uid: 0, gid: 0, auto: 1 });
  const grp = db.prepare(`INSERT INTO groups (id, created_at, updated_at, deleted_at, name) VALUES (?, ?, ?, ?, ?)`);
  grp.run(1, at, at, null, 'backend');
  grp.run(2, at, at, null, 'web');
  grp.run(3, at, at, at, 'gone');
  const join = db.prepare(`INSERT INTO process_groups (process_id, group_id) VALUES (?, ?)`);
  join.run(1, 1);
  join.run(1, 2);
  join.run(2, 1);
  join.run(2, 3);
  db.close();
  return file;
}

const head = (file: string): string => fs.readFileSync(file).subarray(0, 100).toString('latin1');

test('the Go data.db: processes with their groups, dependencies and status', () => {
  const dir = tempDir('imp-godb-');
  const file = goDb(dir);
  assert.equal(detectPmon3GoDb(head(file), file), true);
  const before = fs.readFileSync(file);
  const r = importPmon3GoDb(file, fsOptions());
  assert.deepEqual(fs.readFileSync(file), before, 'read-only');
  assert.equal(r.format, 'pmon3-go-db');
  assert.deepEqual(r.files, [file]);
  assert.deepEqual(r.apps, [
    {
      name: 'api',
      exec: '/usr/local/bin/api',
      args: '--port 8080',
      cwd: '/usr/local/bin',
      env: { PORT: '8080', MODE: 'prod' },
      user: 'www',
      groups: ['backend', 'web'],
      dependencies: ['db', 'cache'],
      log: '/var/log/pmond/api.log',
    },
    // stopped (3): the Go monitor leaves it stopped; auto_restart 0; the soft-deleted group is gone.
    { name: 'db', exec: '/srv/db/bin/db', cwd: '/srv/db/bin', user: 'postgres', groups: ['backend'], autostart: false, restart: 'never', log: '/var/log/pmond/db.log' },
    // Two spaces: Go passes an empty word.
    { name: 'cache', exec: '/opt/cache/run', args: ['-x', '', '1'], cwd: '/opt/cache', log: '/var/log/pmond/cache.log' },
  ]);
  const state = (c: string, m: string) => ({ file, field: `processes.${c}`, message: m });
  const runtime = 'runtime state of the Go pmond; not imported';
  const derived = 'derived from username at each start by the Go pmond; not imported (user is)';
  assert.deepEqual(r.warnings, [
    state('created_at', runtime),
    state('updated_at', runtime),
    state('memory_usage', runtime),
    state('cpu_usage', runtime),
    state('id', "the Go pmond's row id; not imported (pmon3 keys apps by name)"),
    state('pid', runtime),
    state('uid', derived),
    state('gid', derived),
    { file, field: 'processes[cache].username', message: 'empty: the Go pmond ran it as its own user; here it runs as whoever applies the file' },
    { file, field: 'processes[cache].env_vars', message: '"bad-name=1": a name pmon3 does not take (letters, digits and _); ignored' },
  ]);
  assert.deepEqual(checkedApps(r, path.join(dir, 'apps.yaml')).map((s) => [s.name, s.autostart, s.restart]), [
    ['api', true, 'always'],
    ['db', false, 'never'],
    ['cache', true, 'always'],
  ]);
});

test('a Go data.db from before groups (no process_groups) has no groups', () => {
  const dir = tempDir('imp-godb-');
  const file = path.join(dir, 'data.db');
  const db = new Database(file);
  db.exec(GO_SCHEMA.split(';')[0]!);
  db.prepare(`INSERT INTO processes (name, process_file, args, env_vars, username, log, dependencies, status, auto_restart, id, pid, uid, gid) VALUES ('one', '/bin/one', '', '', 'root', '/var/log/pmond/one.log', '', 2, 1, 1, 0, 0, 0)`).run();
  db.close();
  const r = importPmon3GoDb(file, fsOptions());
  assert.deepEqual(r.apps, [{ name: 'one', exec: '/bin/one', cwd: '/bin', user: 'root', log: '/var/log/pmond/one.log' }]);
  checkedApps(r, path.join(dir, 'apps.yaml'));
});

test('not the Go data.db: another SQLite schema, a damaged file, not SQLite', () => {
  const dir = tempDir('imp-godb-');
  const ours = path.join(dir, 'ours.db');
  const db = new Database(ours);
  db.exec(`CREATE TABLE processes (id integer primary key, name text, process_file text, env text, user text)`);
  db.close();
  assert.equal(detectPmon3GoDb(head(ours), ours), false);
  refusedAt(() => importPmon3GoDb(ours, fsOptions()), ours, /expected the Go pmon3's processes table \(no column args, env_vars, username/);
  const damaged = path.join(dir, 'damaged.db');
  fs.writeFileSync(damaged, Buffer.concat([Buffer.from('SQLite format 3\u0000'), Buffer.alloc(200, 7)]));
  assert.equal(detectPmon3GoDb(head(damaged), damaged), false);
  refusedAt(() => importPmon3GoDb(damaged, fsOptions()), damaged, /expected the Go pmon3's data.db/);
  assert.equal(detectPmon3GoDb('processes:\n', 'x.yaml'), false);
  refusedAt(() => importPmon3GoDb(path.join(dir, 'none.db'), fsOptions()), path.join(dir, 'none.db'), /./);
});
