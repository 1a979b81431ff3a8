/**
 * Declarative apps against a real pmond: apply adds, changes (restarting only what executes
 * differently), scales and prunes; a bad file changes nothing; instances, groups, dependencies
 * and dgraph; apps from exec and from files answer to the same commands.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { pidAlive, waitFor } from '../helpers/wait';

let d: TestDaemon;
let dir: string;
before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pma-');
});
after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const envOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
const byName = async (): Promise<Map<string, any>> => new Map((await d.ls()).map((p: any) => [p.name, p]));
const apply = async (file: string, ...extra: string[]): Promise<any> => d.json(['apply', '-f', file, ...extra]);
const kinds = (r: any): Record<string, string> => Object.fromEntries(r.changes.map((c: any) => [c.name, `${c.kind}${c.restart ? '+restart' : ''}`]));

const APPS = (o: { webEnv?: string; webInstances?: number; workerRestart?: string; extra?: string } = {}) => `apps:
  - name: web
    exec: /bin/sleep
    args: "300"
    instances: ${o.webInstances ?? 2}
    env: { MODE: ${o.webEnv ?? 'a'} }
    groups: [front]
  - name: worker
    exec: /bin/sleep
    args: ["301"]
    dependencies: [web]
    startsecs: 0.2
    restart: ${o.workerRestart ?? 'always'}
    groups: [back]
${o.extra ?? ''}`;

describe('apply', () => {
  test('adds apps with their instances, dependencies first; PMON3_INSTANCE tells each instance its index', async () => {
    const f = write('apps.yaml', APPS());
    const r = await apply(f);
    assert.deepEqual(kinds(r), { web: 'added', worker: 'added' });
    const ps = await waitFor('three running instances', async () => {
      const m = await byName();
      return ['web:0', 'web:1', 'worker'].every((n) => m.get(n)?.status === 'running') ? m : undefined;
    });
    for (const p of ps.values()) d.seenPids.add(p.pid);
    assert.equal(envOf(ps.get('web:0').pid).PMON3_INSTANCE, '0');
    assert.equal(envOf(ps.get('web:1').pid).PMON3_INSTANCE, '1');
    assert.equal(envOf(ps.get('web:1').pid).MODE, 'a');
    // The dependent started after web had run for its startsecs.
    const started = (n: string) => Date.parse(ps.get(n).started_at ?? (ps.get(n) as any).started_at);
    const desc = async (n: string) => d.json(['desc', n]);
    const [w0, wk] = [await desc('web:0'), await desc('worker')];
    assert.ok(Date.parse(wk.started_at) >= Date.parse(w0.started_at), `worker ${wk.started_at} after web ${w0.started_at}`);
    void started;
    assert.match(wk.source ?? '', new RegExp(`^file:${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));
  });

  test('the same file again: all unchanged, nothing restarted', async () => {
    const before = await byName();
    const r = await apply(path.join(dir, 'apps.yaml'));
    assert.deepEqual(kinds(r), { web: 'unchanged', worker: 'unchanged' });
    const now = await byName();
    for (const n of ['web:0', 'web:1', 'worker']) assert.equal(now.get(n).pid, before.get(n).pid, n);
  });

  test('only what executes differently restarts, and only that app', async () => {
    const before = await byName();
    const r = await apply(write('apps.yaml', APPS({ webEnv: 'b', workerRestart: 'on-failure' })));
    assert.deepEqual(kinds(r), { web: 'changed+restart', worker: 'changed' });
    assert.deepEqual(r.changes.find((c: any) => c.name === 'web').fields, ['env']);
    assert.deepEqual(r.changes.find((c: any) => c.name === 'worker').fields, ['restart']);
    const now = await waitFor('web restarted', async () => {
      const m = await byName();
      return ['web:0', 'web:1'].every((n) => m.get(n)?.status === 'running' && m.get(n).pid !== before.get(n).pid) ? m : undefined;
    });
    for (const p of now.values()) d.seenPids.add(p.pid);
    assert.equal(now.get('worker').pid, before.get('worker').pid, 'worker not restarted');
    assert.equal(envOf(now.get('web:0').pid).MODE, 'b');
  });

  test('more instances start the new ones and leave the others; fewer remove the highest', async () => {
    const before = await byName();
    const up = await apply(write('apps.yaml', APPS({ webEnv: 'b', workerRestart: 'on-failure', webInstances: 3 })));
    assert.deepEqual(kinds(up), { web: 'changed', worker: 'unchanged' });
    const m = await waitFor('web:2 running', async () => ((await byName()).get('web:2')?.status === 'running' ? byName() : undefined));
    d.seenPids.add(m.get('web:2').pid);
    assert.equal(m.get('web:0').pid, before.get('web:0').pid);
    const down = await apply(write('apps.yaml', APPS({ webEnv: 'b', workerRestart: 'on-failure', webInstances: 1 })));
    assert.deepEqual(down.changes.find((c: any) => c.name === 'web').instances, { from: 3, to: 1 });
    const after = await byName();
    assert.equal(after.has('web:1') || after.has('web:2'), false);
    assert.equal(after.get('web').pid, before.get('web:0').pid, 'a single instance is shown as the app name');
    assert.equal(pidAlive(m.get('web:2').pid), false);
  });

  test('--dry-run prints the diff and changes nothing', async () => {
    const before = await byName();
    const f = write('apps.yaml', APPS({ webEnv: 'c', webInstances: 1, workerRestart: 'on-failure' }));
    const r = await d.run(['apply', '-f', f, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^~ web: env — restarts$/m);
    assert.match(r.stdout, /^would apply: 0 added, 1 changed, 0 removed, 1 unchanged$/m);
    const now = await byName();
    assert.equal(now.get('web').pid, before.get('web').pid);
    assert.equal(envOf(now.get('web').pid).MODE, 'b');
  });

  test('a file with one error changes nothing: one line naming file, line and key; a cycle names itself', async () => {
    const before = JSON.stringify([...(await byName()).values()].map((p) => [p.name, p.pid]));
    const bad = write('bad.yaml', `${APPS({ webEnv: 'z' })}  - name: third\n    exec: /bin/true\n    bogus: 1\n`);
    const r = await d.run(['apply', '-f', bad]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `pmon3: ${bad}:17: apps[2].bogus: unknown key\n`);
    const cyc = write('cycle.yaml', 'apps:\n  - {name: a, exec: /bin/true, dependencies: [b]}\n  - {name: b, exec: /bin/true, dependencies: [a]}\n');
    const c = await d.run(['apply', '-f', cyc]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /^pmon3: apps of root: dependency cycle: a -> b -> a\n$/);
    const missing = write('missing.yaml', 'apps:\n  - {name: a, exec: /bin/true, dependencies: [nothere]}\n');
    assert.match((await d.run(['apply', '-f', missing])).stderr, /a depends on nothere, which is not defined/);
    for (const x of ['', '-f']) {
      const e = await d.run(['apply', ...(x ? [x, path.join(dir, 'none.yaml')] : [])]);
      assert.notEqual(e.code, 0);
      assert.equal(e.stderr.split('\n').length, 2, e.stderr);
    }
    assert.equal(JSON.stringify([...(await byName()).values()].map((p) => [p.name, p.pid])), before);
  });

  test('an app whose dependency was deleted does not block the next apply of other apps', async () => {
    const pair = write('pair.yaml', 'apps:\n  - {name: dbx, exec: /bin/sleep, args: "300"}\n  - {name: apix, exec: /bin/sleep, args: "300", dependencies: [dbx]}\n');
    assert.equal((await d.run(['apply', '-f', pair])).code, 0);
    for (const n of ['dbx', 'apix']) d.seenPids.add((await d.waitProc(n, 'running', (p) => p.status === 'running')).pid);
    assert.equal((await d.run(['del', 'dbx', '-f'])).code, 0);
    const other = write('other.yaml', 'apps:\n  - {name: solo, exec: /bin/sleep, args: "300"}\n');
    const r = await d.run(['apply', '-f', other]);
    assert.equal(r.code, 0, r.stderr);
    d.seenPids.add((await d.waitProc('solo', 'running', (p) => p.status === 'running')).pid);
    // The file that defines both brings the dependency back.
    assert.equal((await d.run(['apply', '-f', pair])).code, 0);
    d.seenPids.add((await d.waitProc('dbx', 'running', (p) => p.status === 'running')).pid);
    for (const n of ['apix', 'dbx', 'solo']) assert.equal((await d.run(['del', n, '-f'])).code, 0);
  });

  test('an app that leaves the file is kept, or removed with --prune; apps from exec are never pruned', async () => {
    const solo = await d.json(['exec', '/bin/sleep', '--name', 'by-hand', '--', '302']);
    const f = path.join(dir, 'apps.yaml');
    write('apps.yaml', APPS({ webEnv: 'b', webInstances: 1, workerRestart: 'on-failure' }).replace(/ {2}- name: worker[\s\S]*$/, ''));
    const kept = await apply(f);
    assert.equal(kinds(kept).worker, 'kept');
    assert.ok((await byName()).has('worker'));
    const pruned = await apply(f, '--prune');
    assert.equal(kinds(pruned).worker, 'removed');
    assert.equal(kinds(pruned)['by-hand'], undefined);
    const now = await byName();
    assert.equal(now.has('worker'), false);
    assert.equal(now.get('by-hand').pid, solo.pid);
    assert.equal((await d.json(['desc', 'by-hand'])).source, 'exec');
  });
});

describe('root applying a file another user owns', () => {
  test('is told, one line per file, that its apps naming no user run as root', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    const f = write('hers.yaml', 'apps:\n  - {name: hers, exec: /bin/true, autostart: false}\n');
    fs.chownSync(f, 65534, 65534);
    const r = await d.run(['apply', '-f', f, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `pmon3: warning: ${f} belongs to uid 65534, not root: its apps that name no user run as root\n`);
    const mine = await d.run(['apply', '-f', path.join(dir, 'apps.yaml'), '--dry-run']);
    assert.equal(mine.stderr, '', 'root\'s own file: nothing to say');
  });
});

describe('groups, selectors, dgraph', () => {
  test('the Go pmon3 group commands; @group acts on every member and reports each', async () => {
    assert.equal((await d.run(['group', 'create', 'batch'])).code, 0);
    const dup = await d.run(['group', 'create', 'batch']);
    assert.equal(dup.code, 4);
    assert.equal(dup.stderr, 'pmon3: group "batch" already exists\n');
    await d.json(['exec', '/bin/sleep', '--name', 'j1', '--', '303']);
    await d.json(['exec', '/bin/sleep', '--name', 'j2', '--', '304']);
    const a = await d.json(['group', 'assign', 'batch', 'j1,j2']);
    assert.deepEqual(a.groups[0].apps, ['j1', 'j2']);
    const ls = await d.json(['group', 'ls']);
    assert.deepEqual(ls.groups.map((g: any) => g.name).sort(), ['back', 'batch', 'front']);
    const desc = await d.json(['group', 'desc', 'batch']);
    assert.deepEqual(desc.processes.map((p: any) => p.name).sort(), ['j1', 'j2']);
    const stopped = await d.json(['group', 'stop', 'batch']);
    assert.deepEqual(stopped.map((p: any) => [p.name, p.status]).sort(), [['j1', 'stopped'], ['j2', 'stopped']]);
    const restarted = await d.json(['restart', '@batch']);
    assert.deepEqual(restarted.map((p: any) => p.status), ['running', 'running']);
    for (const p of restarted) d.seenPids.add(p.pid);
    assert.equal((await d.json(['group', 'remove', 'batch', 'j2'])).groups[0].apps.join(), 'j1');
    const dropped = await d.json(['group', 'drop', 'batch', '-f']);
    assert.deepEqual(dropped.map((p: any) => p.name), ['j1']);
    assert.equal((await byName()).has('j1'), false);
    assert.equal((await d.json(['group', 'del', 'batch'])).groups[0].name, 'batch');
    assert.equal((await d.run(['group', 'desc', 'batch'])).stderr, 'pmon3: group "batch" not found\n');
    await d.json(['del', 'j2', '-f']);
  });

  test('name:N, @group and bad selectors', async () => {
    const w = await d.json(['desc', 'web:0']);
    assert.equal(w.name, 'web');
    const bad = await d.run(['stop', 'web:x']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n').length, 2);
    assert.equal((await d.run(['stop', '@nogroup'])).code, 3);
  });

  test('dgraph: the Go pmon3 layout', async () => {
    write('deps.yaml', 'apps:\n  - {name: db, exec: /bin/sleep, args: "305"}\n  - {name: api, exec: /bin/sleep, args: "306", dependencies: [db]}\n');
    await apply(path.join(dir, 'deps.yaml'));
    const g = await d.json(['dgraph']);
    assert.deepEqual(g.graph, ['db', 'api']);
    assert.deepEqual(g.queue.slice(0, 2), ['db', 'api']);
    const r = await d.run(['dgraph', '-c']);
    assert.match(r.stdout, /^Queue Order\n\t0: db\n\t1: api\n/);
    assert.match(r.stdout, /Dependency Graph Order\n\t0: db\n\t1: api\n$/);
    for (const p of await d.ls()) d.seenPids.add(p.pid);
  });
});
