/**
 * A database made by the previous pmond migrates in place with nothing lost.
 * test/fixtures/db/0003.db was made by pmond at schema 0003 (commit 77760e9)
 * through the CLI: root's web (restarted once), api (args with a space, env),
 * quiet (--no-autorestart, stopped), gone (deleted: id 3 is a hole), nobody's
 * web (same name, another owner, --cwd /tmp), 42x; then `kill`. Every value
 * of every row is compared before and after, and a pmond over the migrated
 * table answers for them and runs them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { specHash } from '../../internal/apps/model';
import { openStore } from '../../internal/store/store';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { recordingLogger } from '../helpers/store';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const FIXTURE = path.join(FIXTURES, 'db', '0003.db');

type Row = Record<string, string | number | null>;
function rawRows(file: string, table: string): Row[] {
  const db = new SQLite(file, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM ${table} ORDER BY id`).all() as Row[];
  } finally {
    db.close();
  }
}

describe('migration 0004 of a real 0003 database', () => {
  let root: string;
  before(() => {
    root = tempDir('pmmig-', 0o755);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('every row and value kept; each row an app of one instance, with the same id', async () => {
    const dir = path.join(root, 'unit');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.copyFileSync(FIXTURE, path.join(dir, 'data.db'));
    const old = rawRows(path.join(dir, 'data.db'), 'processes');
    assert.deepEqual(
      old.map((r) => [r.id, r.user, r.name]),
      [
        [1, 'root', 'web'],
        [2, 'root', 'api'],
        [4, 'root', 'quiet'],
        [5, 'nobody', 'web'],
        [6, 'root', '42x'],
      ],
      'the fixture is what this test believes it is',
    );
    const s = await openStore(dir, { logger: recordingLogger() });
    try {
      const rows = await s.all();
      const apps = await s.apps();
      assert.equal(rows.length, old.length);
      for (const [i, o] of old.entries()) {
        const r = rows[i] as unknown as Row;
        for (const [k, v] of Object.entries(o)) assert.deepEqual(r[k], v, `row ${o.id} ${k}`);
        const hash = specHash({
          file: o.process_file as string,
          args: JSON.parse(o.args as string),
          env: JSON.parse(o.env as string),
          cwd: o.cwd as string,
          uid: o.uid as number,
          gid: o.gid as number,
        });
        assert.equal(r.app_id, o.id);
        assert.equal(r.instance, 0);
        assert.equal(r.spec_hash, hash);
        const a = apps[i]!;
        assert.deepEqual([a.id, a.name, a.uid, a.user, a.gid, a.instances, a.source, a.spec_hash], [o.id, o.name, o.uid, o.user, o.gid, 1, 'migrated', hash]);
        const spec = JSON.parse(a.spec);
        assert.deepEqual(
          [spec.file, spec.args, spec.env, spec.cwd, spec.log, spec.restart],
          [o.process_file, JSON.parse(o.args as string), JSON.parse(o.env as string), o.cwd, o.log, o.auto_restart ? 'always' : 'never'],
        );
      }
      // Ids go on after the highest ever handed out.
      const next = await s.insertApp({ name: 'new', uid: 0, user: 'root', gid: 0, spec: '{}', spec_hash: 'h' });
      assert.equal(next.id, 7);
    } finally {
      await s.close();
    }
  });

  test('a pmond over the migrated table lists, describes and runs every process', async () => {
    const dir = path.join(root, 'd');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
    const db = path.join(dir, 'data', 'data.db');
    fs.copyFileSync(FIXTURE, db);
    // The fixture's logs were in the temp dir of the pmond that made it: point them into this
    // test's logs dir and their cwd to it, as a restored backup on another host would be.
    const raw = new SQLite(db);
    try {
      raw.prepare("UPDATE processes SET log = ? || substr(log, instr(log, '/logs/') + 6)").run(path.join(dir, 'logs') + '/');
      raw.prepare("UPDATE processes SET cwd = ? WHERE cwd != '/tmp'").run(dir);
    } finally {
      raw.close();
    }
    const d = await TestDaemon.start({ dir });
    try {
      const ls = await d.ls();
      assert.deepEqual(
        ls.map((p) => [p.id, p.user, p.name, p.status]),
        [
          [1, 'root', 'web', 'stopped'],
          [2, 'root', 'api', 'stopped'],
          [4, 'root', 'quiet', 'stopped'],
          [5, 'nobody', 'web', 'stopped'],
          [6, 'root', '42x', 'stopped'],
        ],
      );
      const api = await d.json(['desc', 'api']);
      assert.deepEqual([api.args, api.env, api.restarts], [['x', 'y z'], { A: '1', B: 'two words' }, 0]);
      assert.equal((await d.json(['desc', '1'])).restarts, 1);
      const r = await d.run(['start', 'api']);
      assert.equal(r.code, 0, r.stderr);
      await d.waitProc('api', 'running', (p) => p.status === 'running' && p.pid !== null);
      const nob = await d.run(['start', 'nobody/web']);
      assert.equal(nob.code, 0, nob.stderr);
      const web = await waitFor('nobody/web running', async () => (await d.ls()).find((p) => p.id === 5 && p.status === 'running'), 15_000);
      assert.equal(web.cwd, '/tmp');
      // A new exec takes the next id, not a migrated one.
      const n = await d.json(['exec', '/bin/sleep', '--name', 'fresh', '--', '1000']);
      assert.equal(n.id, 7);
    } finally {
      await d.stop();
    }
  });
});
