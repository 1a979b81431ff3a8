/**
 * export against real pmonds: apps → export --format apps → apply on a fresh pmond gives the
 * same table; a Go process config → (applied at boot) → export json gives the Go file back, as
 * the Go pmon3's own export normalises it; every systemd unit passes `systemd-analyze verify`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { goExportOf } from '../helpers/go-db';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const isRoot = process.getuid?.() === 0;
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

const APPS = `apps:
  - name: db
    exec: /bin/sleep
    args: ["3600"]
    env: { MODE: "a b", PCT: "50%", DOLLAR: "$HOME" }
    groups: [back]
    startsecs: 0.1
  - name: api
    exec: /bin/sleep
    args: "3601"
    dependencies: [db]
    instances: 2
    restart: on-failure
    restart_delay: 1.5s
    startretries: 4
    stop_signal: SIGINT
    stop_timeout: 5
    groups: [back, front]
  - name: batch
    exec: /bin/sleep
    args: ["3602"]
    autostart: false
    restart: never
  - name: nightly
    exec: /bin/true
    cron: "0 30 2 * * 1-5"
    timezone: Europe/Berlin
    catch_up: once
    overlap: queue
    groups: [back]
  - name: migrate
    type: once
    exec: /bin/true
    after: [db]
    pre_start: ["/bin/echo", "50% $HOME"]
    post_stop: /bin/true
    exec_stop: ["/bin/kill", "-TERM", "$MAINPID"]
    repeat: { action: start, every: 1h }
    hook_timeout: 2.5s
    save_log_on_crash: true
    crash_log_kib: 16
`;

/** What must be equal between two pmonds' tables: the apps without ids, times, pids, logs and sources. */
const shape = (apps: any[]) =>
  apps
    .map((a) => ({
      name: a.name,
      user: a.user,
      gid: a.gid,
      spec: { ...a.spec, cwd: undefined },
      groups: a.groups,
      dependencies: a.dependencies,
      instances: a.instances,
      processes: a.processes.map((p: any) => ({ instance: p.instance, status: p.status, auto_restart: p.auto_restart })),
    }))
    .sort((x, y) => (x.name < y.name ? -1 : 1));

describe('export', () => {
  let a: TestDaemon;
  let b: TestDaemon | undefined;
  let dir: string;
  before(async () => {
    a = await TestDaemon.start();
    dir = tempDir('pme-', 0o755);
    fs.writeFileSync(path.join(dir, 'apps.yaml'), APPS);
    await a.json(['apply', '-f', path.join(dir, 'apps.yaml')]);
    await waitFor('db and api running', async () => {
      const l = await a.ls();
      return ['db', 'api:0', 'api:1'].every((n) => l.find((p: any) => p.name === n)?.status === 'running') ? true : undefined;
    });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--format apps, applied on a fresh pmond, makes the same table', async () => {
    const r = await a.run(['export', '--format', 'apps']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# pmon3 export --format apps: 5 apps/);
    const file = path.join(dir, 'exported.yaml');
    fs.writeFileSync(file, r.stdout);
    b = await TestDaemon.start();
    const res = await b.json(['apply', '-f', file]);
    assert.deepEqual(res.counts, { added: 5, changed: 0, removed: 0, kept: 0, unchanged: 0 });
    await waitFor('db and api running on b', async () => {
      const l = await b!.ls();
      return ['db', 'api:0', 'api:1'].every((n) => l.find((p: any) => p.name === n)?.status === 'running') ? true : undefined;
    });
    const [ta, tb] = [(await a.json(['export', '--format', 'apps'])).apps, (await b.json(['export', '--format', 'apps'])).apps];
    assert.deepEqual(tb, ta, 'export of b equals export of a');
    const table = async (d: TestDaemon) =>
      (await d.ls()).map((p: any) => [p.name, p.status, p.user, p.process_file, p.args, p.env, p.auto_restart, p.groups]).sort((x: any, y: any) => (x[0] < y[0] ? -1 : 1));
    assert.deepEqual(await table(b), await table(a));
    void shape;
    for (const p of await b.ls()) if (p.pid) b.seenPids.add(p.pid);
  });

  test('json, yaml and toml in the Go formats; -o orders by a known field only; notes on stderr', async () => {
    const j = await a.run(['export', '-o', 'name']);
    assert.equal(j.code, 0, j.stderr);
    const parsed = JSON.parse(j.stdout);
    assert.deepEqual(parsed.processes.map((p: any) => p.name), ['api', 'batch', 'db', 'migrate', 'nightly']);
    assert.deepEqual(parsed.processes[2], {
      file: '/bin/sleep',
      user: 'root',
      log: path.join(a.logs, 'db.log'),
      args: '3600',
      env_vars: 'MODE="a b" PCT=50% DOLLAR="$HOME"',
      name: 'db',
      groups: ['back'],
      no_auto_restart: false,
    });
    assert.equal(j.stderr, 'pmon3: note: api: 2 instances, one entry (the Go pmon3 has no instances)\n');
    assert.match((await a.run(['export', 'yaml'])).stdout, /^processes:\n {4}- file: \/bin\/sleep\n/);
    assert.match((await a.run(['export', 'toml'])).stdout, /^\[\[Processes\]\]\n {2}File = "\/bin\/sleep"\n/);
    const bad = await a.run(['export', '-o', 'name;drop']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n').length, 2);
    const junk = await a.run(['export', 'junk']);
    assert.equal(junk.code, 2);
  });

  test('systemd: one unit per instance, a target per group, each passes systemd-analyze verify', { skip: !hasAnalyze && 'systemd-analyze is not installed' }, async () => {
    const units = path.join(dir, 'units');
    const r = await a.run(['export', '--format', 'systemd', '-d', units]);
    assert.equal(r.code, 0, r.stderr);
    const names = fs.readdirSync(units).sort();
    assert.deepEqual(names, ['api-0.service', 'api-1.service', 'batch.service', 'db.service', 'migrate.service', 'nightly.service', 'nightly.timer', 'pmon3-group-back.target', 'pmon3-group-front.target']);
    const files = names.map((n) => path.join(units, n));
    const v = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
    assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
    assert.equal(v.stderr.trim(), '', v.stderr);
    const api0 = fs.readFileSync(path.join(units, 'api-0.service'), 'utf8');
    assert.match(api0, /^Requires=db.service$/m);
    assert.match(api0, /^Restart=on-failure$/m);
    assert.match(api0, /^KillSignal=SIGINT$/m);
    assert.match(api0, /^TimeoutStopSec=5s$/m);
    assert.match(fs.readFileSync(path.join(units, 'db.service'), 'utf8'), /^Environment="PCT=50%%"$/m);
    // A cron app: a oneshot service its timer starts (not multi-user.target), OnCalendar= from the cron.
    const nightly = fs.readFileSync(path.join(units, 'nightly.service'), 'utf8');
    assert.match(nightly, /^Type=oneshot$/m);
    assert.doesNotMatch(nightly, /^WantedBy=/m);
    assert.match(nightly, /^# not exported: overlap queue/m);
    const timer = fs.readFileSync(path.join(units, 'nightly.timer'), 'utf8');
    assert.match(timer, /^OnCalendar=Mon,Tue,Wed,Thu,Fri \*-\*-\* 02:30:00 Europe\/Berlin$/m);
    assert.match(timer, /^Persistent=true$/m);
    assert.match(fs.readFileSync(path.join(units, 'pmon3-group-back.target'), 'utf8'), /^Wants=.*nightly\.timer/m);
    // A once app: oneshot, its hooks as ExecStartPre= / ExecStop= / ExecStopPost=, after as After=.
    const migrate = fs.readFileSync(path.join(units, 'migrate.service'), 'utf8');
    assert.match(migrate, /^Type=oneshot$/m);
    assert.match(migrate, /^Restart=no$/m);
    assert.match(migrate, /^After=db\.service$/m);
    assert.match(migrate, /^ExecStartPre=\/bin\/echo "50%% \$\$HOME"$/m);
    assert.match(migrate, /^ExecStop=\/bin\/kill -TERM \$\$MAINPID$/m);
    assert.match(migrate, /^# not exported: repeat start every 3600s$/m);
  });
});

describe('what export and import write, as root, where another user can plant things', () => {
  test('a directory another user owns, a link planted in a directory of ours, a file another user owns: each refused in one line, nothing written through', { skip: !isRoot && 'needs root' }, async () => {
    const d = await TestDaemon.start();
    const top = tempDir('pmw-', 0o755);
    try {
      await d.json(['exec', '/bin/sleep', '--name', 'w1', '--', '3990']);
      const hers = path.join(top, 'hers');
      fs.mkdirSync(hers, { mode: 0o755 });
      fs.chownSync(hers, 65534, 65534);
      const a = await d.run(['export', '--format', 'systemd', '-d', hers]);
      assert.equal(a.code, 5);
      assert.equal(a.stderr, `pmon3: ${hers} is owned by uid 65534; give a directory of yours\n`);
      assert.deepEqual(fs.readdirSync(hers), []);
      const mine = path.join(top, 'mine');
      fs.mkdirSync(mine, { mode: 0o755 });
      const victim = path.join(top, 'victim');
      fs.writeFileSync(victim, 'precious\n');
      fs.symlinkSync(victim, path.join(mine, 'w1.service'));
      const b = await d.run(['export', '--format', 'systemd', '-d', mine]);
      assert.equal(b.code, 5);
      assert.equal(b.stderr, `pmon3: ${path.join(mine, 'w1.service')} is a symbolic link; not writing through it\n`);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
      const theirs = path.join(top, 'theirs.yaml');
      fs.writeFileSync(theirs, 'theirs\n');
      fs.chownSync(theirs, 65534, 65534);
      const src = path.join(top, 'process.config.json');
      fs.writeFileSync(src, JSON.stringify({ processes: [{ file: '/bin/true', name: 'x' }] }));
      const c = await d.run(['import', src, '-o', theirs]);
      assert.equal(c.code, 5);
      assert.equal(c.stderr, `pmon3: ${theirs} belongs to uid 65534; not writing to it\n`);
      assert.equal(fs.readFileSync(theirs, 'utf8'), 'theirs\n');
    } finally {
      await d.stop();
      fs.rmSync(top, { recursive: true, force: true });
    }
  });
});

describe('export of a Go process config', () => {
  let d: TestDaemon | undefined;
  let dir: string;
  before(() => {
    dir = tempDir('pmgx-', 0o755);
  });
  after(async () => {
    await d?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('applied at boot, exported as json: the Go file back, filled in as the Go pmon3 fills it (user, log, args, no_auto_restart)', { skip: !isRoot && "needs root (pmond reads the file as root's alone)" }, async () => {
    const from = {
      processes: [
        { file: '/bin/sleep', name: 'gx-1', args: '3700', env_vars: 'TEST_APP_PORT=11020', dependencies: ['gx-2'], groups: ['groupA', 'groupB'] },
        { file: '/bin/sleep', name: 'gx-2', args: '3701', env_vars: 'TEST_APP_PORT=11021', no_auto_restart: true },
      ],
    };
    const f = path.join(dir, 'process.config.json');
    fs.writeFileSync(f, JSON.stringify(from, undefined, 2));
    d = await TestDaemon.start({ config: { process_config_file: f } });
    await waitFor('both running', async () => ((await d!.ls()).filter((p: any) => p.status === 'running').length === 2 ? true : undefined));
    for (const p of await d.ls()) d.seenPids.add(p.pid);
    const r = await d.run(['export', 'json', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, goExportOf(from.processes, d!.logs));
    // And the exported file, given back to apply, changes nothing.
    fs.writeFileSync(path.join(dir, 'back.json'), r.stdout);
    const again = await d.json(['apply', '-f', path.join(dir, 'back.json')]);
    assert.deepEqual(again.counts.unchanged, 2);
    void execFileSync;
  });
});
