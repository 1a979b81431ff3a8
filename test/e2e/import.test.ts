/**
 * import through the CLI against a real pmond: detected formats applied (or --dry-run, or -o to
 * an apps file that apply reads back), warnings one line each on stderr, a Go data.db read through
 * the CLI's start-up snapshot (better-sqlite3 loaded only then), refusals in one line changing nothing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { TestDaemon } from '../helpers/daemon';
import { GO_SCHEMA, goExportOf } from '../helpers/go-db';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const FIX = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'import');

describe('import', () => {
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    d = await TestDaemon.start();
    dir = tempDir('pmim-', 0o755);
  });
  after(async () => {
    await d?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a supervisor-rs server.yaml: detected, --dry-run changes nothing, -o writes an apps file apply reads', async () => {
    const dry = await d.run(['import', path.join(FIX, 'supervisor-rs', 'server.yaml'), '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^4 apps from supervisor-rs \(\d+ warnings\)\n/);
    assert.match(dry.stdout, /^would apply: 4 added, 0 changed, 0 removed, 0 unchanged$/m);
    const warnings = dry.stderr.split('\n').filter(Boolean);
    assert.ok(warnings.length > 0 && warnings.every((l) => /^pmon3: warning: \/\S+?(:\d+)?: \S+: .+/.test(l)), dry.stderr);
    assert.equal((await d.ls()).length, 0);
    const out = path.join(dir, 'from-rs.yaml');
    const w = await d.run(['import', path.join(FIX, 'supervisor-rs', 'server.yaml'), '-o', out]);
    assert.equal(w.code, 0, w.stderr);
    const text = fs.readFileSync(out, 'utf8');
    assert.match(text, /^# imported by pmon3 import from .*server\.yaml \(supervisor-rs\)\n# warning: /);
    const res = await d.json(['apply', '-f', out, '--dry-run']);
    assert.equal(res.counts.added, 4);
  });

  test("a Go pmon3 data.db, read by the snapshot CLI: its processes applied with their groups and dependencies", async () => {
    const file = path.join(dir, 'data.db');
    const db = new Database(file);
    db.exec(GO_SCHEMA);
    const at = '2024-05-01 10:00:00+00:00';
    const ins = db.prepare(
      `INSERT INTO processes (created_at, updated_at, log, name, process_file, args, env_vars, username, memory_usage, cpu_usage, dependencies, status, id, pid, uid, gid, auto_restart)
       VALUES (@at, @at, '', @name, '/bin/sleep', @args, @env, 'root', '', '', @deps, 2, @id, 0, 0, 0, 1)`,
    );
    ins.run({ at, id: 1, name: 'gdb-web', args: '3801', env: 'PORT=1', deps: 'gdb-db' });
    ins.run({ at, id: 2, name: 'gdb-db', args: '3802', env: '', deps: '' });
    db.prepare(`INSERT INTO groups (id, created_at, updated_at, deleted_at, name) VALUES (1, ?, ?, NULL, 'tier')`).run(at, at);
    db.prepare(`INSERT INTO process_groups (process_id, group_id) VALUES (1, 1), (2, 1)`).run();
    db.close();
    const r = await d.run(['import', dir], { env: { PMON3_TRACE_START: '1' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^pmon3: start: snapshot\n/);
    assert.match(r.stdout, /^2 apps from pmon3-go-db/);
    const by = await waitFor('both running', async () => {
      const m = new Map((await d.ls()).map((p: any) => [p.name, p]));
      return m.get('gdb-web')?.status === 'running' && m.get('gdb-db')?.status === 'running' ? m : undefined;
    });
    for (const p of by.values()) d.seenPids.add(p.pid);
    const web = await d.json(['desc', 'gdb-web']);
    assert.deepEqual([web.args, web.env.PORT, web.groups], [['3801'], '1', ['tier']]);
    assert.ok(Date.parse(by.get('gdb-db').started_at) <= Date.parse(web.started_at), 'the dependency first');
    await d.json(['drop', '-f']);
  });

  test('a Go process config imported, exported as json: the Go file back as the Go pmon3 normalises it', async () => {
    const from = {
      processes: [
        { file: '/bin/sleep', name: 'rt-a', args: '3901', env_vars: 'PORT=11020', dependencies: ['rt-b'], groups: ['groupA'] },
        { file: '/bin/sleep', name: 'rt-b', args: '3902', env_vars: 'PORT=11021', no_auto_restart: true },
      ],
    };
    const f = path.join(dir, 'process.config.json');
    fs.writeFileSync(f, JSON.stringify(from, undefined, 2));
    const r = await d.run(['import', f]);
    assert.equal(r.code, 0, r.stderr);
    for (const p of await d.ls()) if (p.pid) d.seenPids.add(p.pid);
    const e = await d.run(['export', 'json', '-o', 'name']);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, goExportOf(from.processes, d.logs));
    await d.json(['drop', '-f']);
  });

  test('refused in one line, nothing applied: a .js ecosystem file, an unknown file, a bad --from, a malformed file', async () => {
    const js = path.join(dir, 'ecosystem.config.js');
    fs.writeFileSync(js, 'module.exports = { apps: [{ name: "x", script: "x.js" }] };\nrequire("fs").writeFileSync("/tmp/pwned", "1");\n');
    const cases: Array<[string[], RegExp]> = [
      [['import', js], /a JavaScript ecosystem file is never run; export it as JSON first/],
      [['import', path.join(FIX, '..', '..', 'fixtures')], /./],
      [['import', path.join(FIX, 'meproc', 'tasks.json'), '--from', 'nope'], /nope/],
      [['import', path.join(FIX, 'firestarter', 'malformed.toml'), '--from', 'firestarter'], /malformed\.toml:\d+: /],
      [['import', path.join(dir, 'missing.json')], /missing\.json/],
    ];
    for (const [args, re] of cases) {
      const r = await d.run(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(fs.existsSync('/tmp/pwned'), false, 'the .js file was never run');
    assert.equal((await d.ls()).length, 0);
  });
});
