/**
 * Apps beyond apply: exec -i/-g/--dependencies, scale, an app's own restart policy, a group whose
 * members fail one by one (each reported, the rest done), and pmond's own apps files (config
 * `apps`): applied at boot, `reload`, refused when someone else could write them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { pidAlive, waitFor } from '../helpers/wait';

const isRoot = process.getuid?.() === 0;

describe('exec, scale and policy', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
  });
  after(async () => {
    await d?.stop();
  });

  test('exec -i 3 -g: three instances named name:N in one group; --dependencies must exist', async () => {
    const v = await d.json(['exec', '/bin/sleep', '--name', 'pool', '-i', '3', '-g', 'workers,batch', '--', '310']);
    assert.equal(v.name, 'pool:0');
    assert.deepEqual(v.groups, ['workers', 'batch']);
    const ps = await waitFor('3 running', async () => {
      const l = (await d.ls()).filter((p: any) => p.app === 'pool');
      return l.length === 3 && l.every((p: any) => p.status === 'running') ? l : undefined;
    });
    assert.deepEqual(ps.map((p: any) => p.name), ['pool:0', 'pool:1', 'pool:2']);
    const g = await d.json(['group', 'desc', 'workers']);
    assert.deepEqual(g.groups[0].apps, ['pool']);
    const bad = await d.run(['exec', '/bin/sleep', '--name', 'dep', '--dependencies', 'nothere', '--', '1']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'pmon3: dep depends on nothere, which is not defined\n');
    const ok = await d.json(['exec', '/bin/sleep', '--name', 'dep', '--dependencies', 'pool', '--', '311']);
    assert.equal(ok.status, 'running');
    const order = await d.json(['dgraph']);
    assert.ok(order.graph.indexOf('pool') < order.graph.indexOf('dep'), JSON.stringify(order));
    // A bare app name of several instances acts on each (stop), and desc asks which one.
    const desc = await d.run(['desc', 'pool']);
    assert.equal(desc.code, 2);
    assert.match(desc.stderr, /^pmon3: "pool" names 3 processes \(pool:0, pool:1, pool:2\); say which, as name:N or by id\n$/);
    const stopped = await d.json(['stop', 'pool']);
    assert.deepEqual(stopped.map((p: any) => [p.name, p.status]), [['pool:0', 'stopped'], ['pool:1', 'stopped'], ['pool:2', 'stopped']]);
    for (const p of ps) assert.equal(pidAlive(p.pid), false);
    const one = await d.json(['start', 'pool:1']);
    assert.equal(one.name, 'pool:1');
    assert.equal(one.status, 'running');
  });

  test('scale N, +N, -N: new instances start, the highest go; bounds refused in one line', async () => {
    let s = await d.json(['scale', 'pool', '5']);
    assert.deepEqual(s.map((p: any) => p.name), ['pool:0', 'pool:1', 'pool:2', 'pool:3', 'pool:4']);
    await waitFor('pool:3 and pool:4 running', async () => {
      const l = await d.ls();
      return ['pool:3', 'pool:4'].every((n) => l.find((p: any) => p.name === n)?.status === 'running') ? true : undefined;
    });
    s = await d.json(['scale', 'pool', '-2']);
    assert.deepEqual(s.map((p: any) => p.name), ['pool:0', 'pool:1', 'pool:2']);
    s = await d.json(['scale', 'pool', '+1']);
    assert.equal(s.length, 4);
    for (const [args, re] of [
      [['scale', 'pool', '0'], /^pmon3: scale: pool would have 0 instances; 1 to 1000/],
      [['scale', 'pool', 'x1'], /^pmon3: scale: count "x1" must be N, \+N or -N\n$/],
      [['scale', 'nothere', '2'], /^pmon3: process "nothere" not found\n$/],
      [['scale', '@workers', '2'], /must name one app/],
    ] as const) {
      const r = await d.run([...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, re);
    }
    await d.json(['del', 'dep', '-f']);
    const gone = await d.json(['del', 'pool', '-f']);
    assert.equal(gone.length, 4);
    assert.equal((await d.ls()).length, 0);
  });

  test("restart with the Go pmon3's flags changes the app, then restarts it; --log_dir is the Go spelling of --log-dir", async () => {
    const logDir = tempDir('pml-', 0o755);
    try {
      const v = await d.json(['exec', '/bin/sleep', '--name', 'gof', '--log_dir', logDir, '--', '340']);
      assert.equal(v.log, path.join(logDir, 'gof.log'));
      const r = await d.json(['restart', 'gof', '-a', '341', '-n', '--log_dir', path.join(logDir, 'b')]);
      d.seenPids.add(r.pid);
      assert.notEqual(r.pid, v.pid);
      assert.deepEqual(r.args, ['341']);
      assert.equal(r.auto_restart, false);
      assert.equal(r.log, path.join(logDir, 'b', 'gof.log'));
      assert.equal(r.restarts, 1);
      const deps = await d.run(['restart', 'gof', '--dependencies', 'nothere']);
      assert.equal(deps.code, 2);
      assert.match(deps.stderr, /gof depends on nothere, which is not defined/);
      const user = await d.run(['restart', 'gof', '-u', 'no-such-user-x']);
      assert.equal(user.code, 2);
      assert.equal((await d.json(['desc', 'gof'])).status, 'running', 'a refused change leaves it running');
      await d.json(['del', 'gof', '-f']);
    } finally {
      fs.rmSync(logDir, { recursive: true, force: true });
    }
  });

  test("an app's own restart policy: on-failure leaves a clean exit stopped and restarts a failing one; startretries gives up", async () => {
    const dir = tempDir('pmp-', 0o755);
    try {
      const f = path.join(dir, 'apps.toml');
      fs.writeFileSync(
        f,
        [
          '[[apps]]',
          'name = "clean"',
          'exec = "/bin/sh"',
          'args = ["-c", "exit 0"]',
          'restart = "on-failure"',
          '[[apps]]',
          'name = "flaky"',
          'exec = "/bin/sh"',
          'args = ["-c", "exit 3"]',
          'restart = "on-failure"',
          'startretries = 2',
          'restart_delay = 0.05',
          '',
        ].join('\n'),
      );
      await d.json(['apply', '-f', f]);
      const clean = await d.waitProc('clean', 'stopped', (p) => p.status === 'stopped');
      assert.equal(clean.restarts, 0);
      const flaky = await d.waitProc('flaky', 'failed', (p) => p.status === 'failed', 20_000);
      assert.equal(flaky.restarts, 2, 'two retries, then it gives up');
      assert.equal(flaky.last_exit_code, 3);
      await d.json(['del', 'clean', '-f']);
      await d.json(['del', 'flaky', '-f']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a group action reports each member: one that fails is named with its error, the others are done', async () => {
    await d.json(['exec', '/bin/sleep', '--name', 'm1', '-g', 'mixed', '--', '312']);
    const gone = path.join(d.dir, 'gone-bin');
    fs.copyFileSync('/bin/sleep', gone);
    await d.json(['exec', gone, '--name', 'm2', '-g', 'mixed', '--', '313']);
    await d.json(['stop', '@mixed']);
    fs.rmSync(gone);
    const r = await d.run(['start', '@mixed', '--json']);
    assert.notEqual(r.code, 0);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.map((p: any) => p.name), ['m1', 'm2']);
    assert.equal(out[0].status, 'running');
    assert.equal(out[0].error, undefined);
    assert.equal(out[1].status, 'failed');
    assert.ok(out[1].error, 'm2 says why');
    assert.match(r.stderr, /^pmon3: m2: .+\n$/);
    d.seenPids.add(out[0].pid);
    await d.json(['group', 'drop', 'mixed', '-f']);
  });
});

describe("pmond's own apps files (config apps)", () => {
  let d: TestDaemon | undefined;
  let dir: string;
  before(() => {
    dir = tempDir('pmc-', 0o755);
  });
  after(async () => {
    await d?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('applied at boot with the start mode, reload converges and prunes, a file others can write is refused', { skip: !isRoot && 'needs root (the files must be root\'s alone)' }, async () => {
    const appsDir = path.join(dir, 'apps.d');
    fs.mkdirSync(appsDir, { mode: 0o755 });
    fs.writeFileSync(path.join(appsDir, 'a.yaml'), 'apps:\n  - {name: one, exec: /bin/sleep, args: "320"}\n  - {name: two, exec: /bin/sleep, args: "321"}\n');
    fs.writeFileSync(path.join(appsDir, 'b.json'), JSON.stringify({ apps: [{ name: 'three', exec: '/bin/sleep', args: ['322'] }] }));
    fs.writeFileSync(path.join(appsDir, 'notes.txt'), 'not an apps file');
    d = await TestDaemon.start({ config: { apps: [appsDir], apps_start: 'listed', apps_listed: ['one', 'three'] } });
    const ps = await waitFor('one and three running', async () => {
      const l = await d!.ls();
      const by = new Map(l.map((p: any) => [p.name, p]));
      return by.get('one')?.status === 'running' && by.get('three')?.status === 'running' ? by : undefined;
    });
    assert.equal(ps.get('two').status, 'stopped', 'not listed: defined, not started');
    assert.match(ps.get('three').source, /b\.json:\d+$/);
    // pmond logs the apply once it is done (after it says it listens).
    const log = await waitFor('the apps line in pmond.log', () => {
      const t = fs.readFileSync(path.join(d!.logs, 'pmond.log'), 'utf8');
      return /apps: \d+ from/.test(t) ? t : undefined;
    });
    assert.match(log, /apps: 3 from 2 files: 3 added, 0 changed, 0 removed, 0 unchanged/);

    fs.writeFileSync(path.join(appsDir, 'a.yaml'), 'apps:\n  - {name: one, exec: /bin/sleep, args: "330"}\n');
    const dry = await d.json(['reload', '--dry-run']);
    assert.deepEqual(Object.fromEntries(dry.changes.map((c: any) => [c.name, c.kind])), { one: 'changed', two: 'removed', three: 'unchanged' });
    assert.ok((await d.ls()).some((p: any) => p.name === 'two'), 'dry run changed nothing');
    const r = await d.json(['reload']);
    assert.equal(r.counts.removed, 1);
    const after = await waitFor('one restarted with its new args', async () => {
      const one = (await d!.ls()).find((p: any) => p.name === 'one');
      return one?.status === 'running' && one.args[0] === '330' ? one : undefined;
    });
    d.seenPids.add(after.pid);
    assert.equal((await d.ls()).some((p: any) => p.name === 'two'), false);

    // Someone else could write it: nothing changes, one line says why.
    fs.chmodSync(path.join(appsDir, 'b.json'), 0o666);
    const refused = await d.run(['reload']);
    assert.equal(refused.code, 5);
    assert.match(refused.stderr, /^pmon3: apps file .*b\.json is writable by group or others \(mode 666\); refusing to trust it\n$/);
    assert.ok((await d.ls()).some((p: any) => p.name === 'three'));
    fs.chmodSync(path.join(appsDir, 'b.json'), 0o644);
    for (const p of await d.ls()) if (p.pid) d.seenPids.add(p.pid);
  });

  test('reload is for root and admin_group', { skip: !isRoot && 'needs root (runs the CLI as nobody)' }, async () => {
    const r = await d!.run(['reload'], { as: { uid: 65534, gid: 65534, name: 'nobody' } });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^pmon3: reload applies pmond's own apps files/);
  });
});
