/**
 * The Go pmon3's process config file (process_config_file, PMON3_PROCESS_CONF) in its three
 * formats with its own key spellings: applied at boot in dependency order, an entry overrides a
 * row of the same name, `init -c` starts only what it defines, `restart NAME` brings in a name
 * only it knows, `dgraph -c` prints the Go layout; `apply -f` reads the same file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && "needs root (pmond reads the file as root's alone)";

// The Go pmon3's test/e2e/config/process.dependency-test.config.json, with sleep for its test_app.
const GO_JSON = JSON.stringify(
  {
    processes: [
      { file: '/bin/sleep', name: 'dep-test-server-1', dependencies: ['dep-test-server-2'], env_vars: 'TEST_APP_PORT=11003', args: '401' },
      { file: '/bin/sleep', name: 'dep-test-server-2', dependencies: ['dep-test-server-3', 'dep-test-server-4'], env_vars: 'TEST_APP_PORT=11004', args: '402' },
      { file: '/bin/sleep', name: 'dep-test-server-3', env_vars: 'TEST_APP_PORT=11005', args: '403' },
      { file: '/bin/sleep', name: 'dep-test-server-4', dependencies: ['dep-test-server-3'], env_vars: 'TEST_APP_PORT=11006', args: '404' },
      { file: '/bin/sleep', name: 'dep-test-server-5', env_vars: 'TEST_APP_PORT=11007', args: '405', no_auto_restart: true, groups: ['groupA'] },
    ],
  },
  null,
  2,
);
const GO_YAML = `processes:
    - file: /bin/sleep
      user: root
      args: "410"
      env_vars: TEST_APP_PORT=11020 MODE=yaml
      name: y-one
      groups:
        - groupA
    - file: /bin/sleep
      args: "411"
      log: ""
      name: y-two
      no_auto_restart: true
`;
const GO_TOML = `[[Processes]]
  File = "/bin/sleep"
  User = "root"
  Args = "420"
  EnvVars = "TEST_APP_PORT=11030"
  Name = "t-one"
  dependencies = ["t-two"]
  groups = ["groupB"]

[[Processes]]
  File = "/bin/sleep"
  Args = "421"
  Name = "t-two"
  NoAutoRestart = true
`;

const running = async (d: TestDaemon, names: string[]): Promise<Map<string, any>> =>
  waitFor(`${names.join(', ')} running`, async () => {
    const by = new Map((await d.ls()).map((p: any) => [p.name, p]));
    return names.every((n) => by.get(n)?.status === 'running') ? by : undefined;
  });

describe('the Go process config file', () => {
  let dir: string;
  const daemons: TestDaemon[] = [];
  before(() => {
    dir = tempDir('pmg-', 0o755);
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('JSON: applied at boot, dependencies first; dgraph -c as the Go pmon3 prints it; init -c; restart of a name only it knows', { skip }, async () => {
    const f = path.join(dir, 'process.config.json');
    fs.writeFileSync(f, GO_JSON);
    const d = await TestDaemon.start({ config: { process_config_file: f } });
    daemons.push(d);
    const by = await running(d, ['dep-test-server-1', 'dep-test-server-2', 'dep-test-server-3', 'dep-test-server-4', 'dep-test-server-5']);
    for (const p of by.values()) d.seenPids.add(p.pid);
    const at = (n: string): number => Date.parse(by.get(n).started_at);
    assert.ok(at('dep-test-server-3') <= at('dep-test-server-4') && at('dep-test-server-4') <= at('dep-test-server-2') && at('dep-test-server-2') <= at('dep-test-server-1'), 'dependencies first');
    const one = await d.json(['desc', 'dep-test-server-1']);
    assert.equal(one.env.TEST_APP_PORT, '11003');
    assert.deepEqual(one.args, ['401']);
    assert.match(one.source, /process\.config\.json:\d+$/);
    assert.equal((await d.json(['desc', 'dep-test-server-5'])).auto_restart, false);
    const g = await d.run(['dgraph', '-c']);
    assert.equal(g.code, 0, g.stderr);
    const graph = g.stdout.split('Dependency Graph Order\n')[1]!.trim().split('\n').map((l) => l.replace(/^\t\d+: /, ''));
    assert.ok(graph.indexOf('dep-test-server-3') < graph.indexOf('dep-test-server-4'));
    assert.ok(graph.indexOf('dep-test-server-2') < graph.indexOf('dep-test-server-1'));

    // init -c starts only what the config defines; an exec'd one stays stopped.
    await d.json(['exec', '/bin/sleep', '--name', 'by-hand', '--', '406']);
    await d.json(['stop', 'all']);
    const started = await d.json(['init', '-c', '-b']);
    assert.equal(started.length, 5);
    assert.ok(started.every((p: any) => p.name.startsWith('dep-test-server-')));
    const after = await running(d, ['dep-test-server-1', 'dep-test-server-5']);
    for (const p of after.values()) if (p.pid) d.seenPids.add(p.pid);
    assert.equal(after.get('by-hand').status, 'stopped');

    // restart NAME of a name only the config knows brings it back from the config.
    await d.json(['del', 'dep-test-server-5', '-f']);
    const back = await d.json(['restart', 'dep-test-server-5']);
    assert.equal(back.status, 'running');
    d.seenPids.add(back.pid);
    assert.equal((await d.run(['restart', 'not-in-config'])).code, 3);
    await d.json(['drop', '-f']);
  });

  test('YAML and TOML with the Go spellings (PMON3_PROCESS_CONF for the TOML); an entry overrides a row of its name', { skip }, async () => {
    const y = path.join(dir, 'process.config.yaml');
    fs.writeFileSync(y, GO_YAML);
    const d = await TestDaemon.start({ config: { process_config_file: y } });
    daemons.push(d);
    const by = await running(d, ['y-one', 'y-two']);
    for (const p of by.values()) d.seenPids.add(p.pid);
    const yone = await d.json(['desc', 'y-one']);
    assert.deepEqual([yone.env.TEST_APP_PORT, yone.env.MODE, yone.groups], ['11020', 'yaml', ['groupA']]);
    assert.deepEqual((await d.json(['desc', 'y-two'])).args, ['411'], 'an empty log (as the Go export writes) is not set');
    await d.stop();

    const t = path.join(dir, 'process.config.toml');
    fs.writeFileSync(t, GO_TOML);
    // t-one exists (exec'd) before the config names it: the config's entry overrides it.
    const d2 = await TestDaemon.start({ dir: tempDir('pmg2-', 0o755) });
    daemons.push(d2);
    const mine = await d2.json(['exec', '/bin/sleep', '--name', 't-one', '--', '499']);
    assert.equal(mine.args[0], '499');
    await d2.terminate();
    await d2.launch({ PMON3_PROCESS_CONF: t });
    const by2 = await waitFor('t-one with the config args, t-two running', async () => {
      const m = new Map((await d2.ls()).map((p: any) => [p.name, p]));
      return m.get('t-one')?.status === 'running' && m.get('t-one').args[0] === '420' && m.get('t-two')?.status === 'running' ? m : undefined;
    });
    for (const p of by2.values()) d2.seenPids.add(p.pid);
    const tone = await d2.json(['desc', 't-one']);
    assert.deepEqual([tone.env.TEST_APP_PORT, tone.groups, tone.auto_restart], ['11030', ['groupB'], true]);
    assert.match(tone.source, /process\.config\.toml:\d+$/);
    assert.equal((await d2.json(['desc', 't-two'])).auto_restart, false);
    assert.ok(Date.parse(by2.get('t-two').started_at) <= Date.parse(by2.get('t-one').started_at), 't-two (a dependency) first');
    // pmond logs the apply once it is done (after it says it listens).
    const log = await waitFor('the apps line in pmond.log', () => {
      const t = fs.readFileSync(path.join(d2!.logs, 'pmond.log'), 'utf8');
      return /apps: \d+ from/.test(t) ? t : undefined;
    });
    assert.match(log, /apps: 2 from 1 files: 1 added, 1 changed, 0 removed, 0 unchanged/);
    await d2.stop();
    fs.rmSync(d2.dir, { recursive: true, force: true });
  });

  test('a Go file with a key it does not know: one line naming file, line and key; apply -f reads the Go format too', async () => {
    const bad = path.join(dir, 'bad.config.json');
    fs.writeFileSync(bad, '{\n  "processes": [\n    {"file": "/bin/sleep", "name": "x", "bogus": 1}\n  ]\n}\n');
    const d = await TestDaemon.start();
    daemons.push(d);
    const r = await d.run(['apply', '-f', bad]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `pmon3: ${bad}:3: processes[0].bogus: unknown key\n`);
    const ok = path.join(dir, 'ok.config.yaml');
    fs.writeFileSync(ok, GO_YAML.replace('      user: root\n', ''));
    const res = await d.json(['apply', '-f', ok]);
    assert.deepEqual(res.changes.map((c: any) => c.kind), ['added', 'added']);
    for (const p of await d.ls()) if (p.pid) d.seenPids.add(p.pid);
    await d.json(['drop', '-f']);
  });
});
