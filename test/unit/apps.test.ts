/** Apps files (YAML, JSON, TOML) into validated specs, with file:line errors; the dependency order. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadApps, parseApps, parseEnvFile } from '../../internal/apps/file';
import { startOrder, stopOrder } from '../../internal/apps/graph';
import { tempDir } from '../helpers/tmp';

const refused = (f: () => unknown, message: string): void => {
  assert.throws(f, (e: any) => e.code === 'INVALID_ARGUMENT' && e.message === message);
};

test('one app, many apps, a list; the same apps in YAML, JSON and TOML', () => {
  const yaml = 'apps:\n  - name: web\n    exec: node\n    args: "server.js --port 8080"\n    instances: 2\n    env: {PORT: 8080, DEBUG: true}\n  - name: worker\n    script: ./worker.py\n    restart: on-failure\n    restart_delay: 500ms\n    startsecs: 2\n    stop_signal: INT\n    dependencies: [web]\n';
  const json = JSON.stringify({ apps: [
    { name: 'web', exec: 'node', args: ['server.js', '--port', 8080], instances: 2, env: { PORT: 8080, DEBUG: true } },
    { name: 'worker', script: './worker.py', restart: 'on-failure', restart_delay: '500ms', startsecs: 2, stop_signal: 'INT', dependencies: ['web'] },
  ] }, undefined, 2);
  const toml = '[[apps]]\nname = "web"\nexec = "node"\nargs = ["server.js", "--port", 8080]\ninstances = 2\nenv = { PORT = 8080, DEBUG = true }\n\n[[apps]]\nname = "worker"\nscript = "./worker.py"\nrestart = "on-failure"\nrestart_delay = "500ms"\nstartsecs = 2\nstop_signal = "INT"\ndependencies = ["web"]\n';
  const strip = (apps: any[]) => apps.map(({ source, ...a }) => a);
  const y = parseApps(yaml, '/srv/apps.yaml', 'yaml');
  assert.deepEqual(strip(parseApps(json, '/srv/apps.json', 'json')), strip(y));
  assert.deepEqual(strip(parseApps(toml, '/srv/apps.toml', 'toml')), strip(y));
  assert.deepEqual(y[0], {
    name: 'web', exec: 'node', args: ['server.js', '--port', '8080'], cwd: '/srv', env: { PORT: '8080', DEBUG: 'true' },
    groups: [], instances: 2, dependencies: [], autostart: true, restart: 'always', source: { file: '/srv/apps.yaml', line: 2 },
  });
  assert.deepEqual(strip(y)[1], {
    name: 'worker', script: '/srv/worker.py', args: [], cwd: '/srv', env: {}, groups: [], instances: 1, dependencies: ['web'],
    autostart: true, restart: 'on-failure', restart_delay_ms: 500, startsecs_ms: 2000, stop_signal: 'SIGINT',
  });
  assert.deepEqual(parseApps('name: one\nexec: /bin/sleep\n', '/a/one.yml', 'yaml').map((a) => a.name), ['one']);
  assert.deepEqual(parseApps('- name: a\n  exec: x\n- name: b\n  exec: y\n', '/a/l.yml', 'yaml').map((a) => [a.name, a.source.line]), [['a', 1], ['b', 3]]);
});

test('errors name the file, the line and the key; a file with one error yields nothing', () => {
  refused(() => parseApps('apps:\n  - name: web\n    exec: node\n    bogus: 1\n', 'a.yaml', 'yaml'), 'a.yaml:4: apps[0].bogus: unknown key');
  refused(() => parseApps('{"apps": [{"name": "web",\n "exec": "node",\n "instances": 0}]}', 'a.json', 'json'), 'a.json:3: apps[0].instances: Too small: expected number to be >=1');
  refused(() => parseApps('[[apps]]\nname = "web"\nexec = "x"\n\n[[apps]]\nname = "w2"\nexec = "y"\nrestrat = "never"\n', 'a.toml', 'toml'), 'a.toml:8: apps[1].restrat: unknown key');
  refused(() => parseApps('apps:\n  - name: web\n    exec: node\n    restart: sometimes\n', 'a.yaml', 'yaml'), 'a.yaml:4: apps[0].restart: Invalid option: expected one of "always"|"on-failure"|"never"');
  refused(() => parseApps('apps:\n  - name: "7"\n    exec: node\n', 'a.yaml', 'yaml'), 'a.yaml:2: apps[0].name: name must not be only digits (that is how ids are written)');
  refused(() => parseApps('apps:\n  - name: web\n', 'a.yaml', 'yaml'), 'a.yaml:2: web: give exec (a program) or script (run by an interpreter), not neither');
  refused(() => parseApps('apps:\n  - name: web\n    exec: a\n  - name: web\n    exec: b\n', 'a.yaml', 'yaml'), 'a.yaml:4: web: defined twice (first at line 2)');
  refused(() => parseApps('apps:\n  - name: web\n    exec: a\nextra: 1\n', 'a.yaml', 'yaml'), 'a.yaml:4: extra: unknown key (a file holds apps: [...] or one app)');
  refused(() => parseApps('apps: [\n', 'a.yaml', 'yaml'), 'a.yaml:2: Flow sequence in block collection must be sufficiently indented and end with a ]');
  refused(() => parseApps('a = [', 'a.toml', 'toml'), 'a.toml:1: Invalid TOML document: unfinished array');
  refused(() => parseApps('apps:\n  - name: web\n    exec: node\n    startsecs: soon\n', 'a.yaml', 'yaml'), 'a.yaml:4: apps[0].startsecs: a duration: seconds, or a number with ms, s, m or h ("500ms", "2s")');
});

test('env_file relative to the file, under env; a directory loads every apps file in it; a name in two files is an error', () => {
  const dir = tempDir('pmt-apps-');
  fs.writeFileSync(path.join(dir, 'app.env'), '# comment\nexport A=1\nB="two words"\n\nC=3\n');
  fs.writeFileSync(path.join(dir, 'a.yaml'), 'name: a\nexec: ./bin/a\nenv_file: app.env\nenv: {C: over}\n');
  fs.writeFileSync(path.join(dir, 'b.toml'), 'name = "b"\nexec = "sleep"\ncwd = "sub"\n');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an apps file');
  const apps = loadApps([dir]);
  assert.deepEqual(apps.map((a) => [a.name, a.exec, a.cwd, a.env]), [
    ['a', path.join(dir, 'bin/a'), dir, { A: '1', B: 'two words', C: 'over' }],
    ['b', 'sleep', path.join(dir, 'sub'), {}],
  ]);
  fs.writeFileSync(path.join(dir, 'c.json'), '{"name": "a", "exec": "x"}');
  refused(() => loadApps([dir]), `${path.join(dir, 'c.json')}:1: a: already defined at ${path.join(dir, 'a.yaml')}:1`);
  refused(() => parseEnvFile('A=1\nnot a var\n', '/x.env'), '/x.env:2: environment variable "not" must be NAME=value');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('dependency order: topological, stable, cycles and missing apps named', () => {
  const apps = [
    { name: 'web', dependencies: ['db', 'cache'] },
    { name: 'db', dependencies: [] },
    { name: 'cache', dependencies: ['db'] },
    { name: 'cron', dependencies: [] },
  ];
  const order = startOrder(apps);
  assert.deepEqual(order, ['db', 'cache', 'cron', 'web']);
  assert.deepEqual(stopOrder(apps), ['web', 'cron', 'cache', 'db']);
  refused(() => startOrder([{ name: 'a', dependencies: ['b'] }, { name: 'b', dependencies: ['c'] }, { name: 'c', dependencies: ['a'] }]), 'dependency cycle: a -> b -> c -> a');
  refused(() => startOrder([{ name: 'a', dependencies: ['a'] }]), 'dependency cycle: a -> a');
  refused(() => startOrder([{ name: 'a', dependencies: ['ghost'] }]), 'a depends on ghost, which is not defined');
});

test('dgraph: the queue order puts the dependency graph first, in start order; the Go pmon3\'s layout', async () => {
  const { dependencyOrder, formatDependencyOrder } = await import('../../internal/apps/graph');
  const apps = [
    { name: 'web', dependencies: ['api'] },
    { name: 'api', dependencies: ['db', 'cache'] },
    { name: 'db', dependencies: [] },
    { name: 'cache', dependencies: [] },
    { name: 'cron', dependencies: [] },
    { name: 'batch', dependencies: [] },
  ];
  const o = dependencyOrder(apps);
  assert.deepEqual(o, { graph: ['cache', 'db', 'api', 'web'], queue: ['cache', 'db', 'api', 'web', 'batch', 'cron'] });
  assert.equal(
    formatDependencyOrder(o),
    'Queue Order\n\t0: cache\n\t1: db\n\t2: api\n\t3: web\n\t4: batch\n\t5: cron\nDependency Graph Order\n\t0: cache\n\t1: db\n\t2: api\n\t3: web\n',
  );
  assert.equal(formatDependencyOrder(dependencyOrder([{ name: 'a', dependencies: [] }])), 'Queue Order\n\t0: a\n');
  assert.throws(() => dependencyOrder([{ name: 'a', dependencies: ['b'] }, { name: 'b', dependencies: ['a'] }]), /dependency cycle: a -> b -> a/);
});

test('task keys: kinds, schedules, timers, after and hooks, commands relative to the file; each misuse one line naming the key', () => {
  const yaml = [
    'apps:',
    '  - name: job',
    '    exec: ./job',
    '    cron: "*/5 * * * * *"',
    '    timezone: Europe/Berlin',
    '    overlap: queue',
    '    catch_up: once',
    '    pre_start: ./check --strict "two words"',
    '    post_stop: [logger, done]',
    '    hook_timeout: 2s',
    '    save_log_on_crash: true',
    '    crash_log_kib: 8',
    '  - name: web',
    '    exec: web',
    '    cron_restart: "0 4 * * *"',
    '    repeat: { action: trystart, every: 30s }',
    '    after: [job]',
    '    exec_stop: ["/usr/bin/web", "--stop"]',
  ].join('\n');
  const [job, web] = parseApps(yaml, '/srv/apps.yaml', 'yaml');
  assert.deepEqual(job!.task, {
    type: 'cron', cron: '*/5 * * * * *', timezone: 'Europe/Berlin', overlap: 'queue', catch_up: 'once',
    pre_start: ['/srv/check', '--strict', 'two words'], post_stop: ['logger', 'done'], hook_timeout_ms: 2000, save_log_on_crash: true, crash_log_kib: 8,
  });
  assert.deepEqual(web!.task, { cron_restart: '0 4 * * *', repeat: { action: 'trystart', every_ms: 30_000 }, after: ['job'], exec_stop: ['/usr/bin/web', '--stop'] });
  const one = (lines: string) => `apps:\n  - name: a\n    exec: /bin/true\n${lines}\n`;
  refused(() => parseApps(one('    type: cron'), '/x.yaml', 'yaml'), '/x.yaml:4: a: type: type cron needs a cron schedule (cron: "*/5 * * * *")');
  refused(() => parseApps(one('    type: once\n    cron: "* * * * *"'), '/x.yaml', 'yaml'), '/x.yaml:5: a: cron: cron is the schedule of a type cron app, not of a once (a daemon restarted on a schedule: cron_restart)');
  refused(() => parseApps(one('    overlap: queue'), '/x.yaml', 'yaml'), '/x.yaml:4: a: overlap: overlap applies to type cron only');
  refused(() => parseApps(one('    type: once\n    cron_restart: "* * * * *"'), '/x.yaml', 'yaml'), '/x.yaml:5: a: cron_restart: cron_restart restarts a daemon; a once app has none to restart');
  refused(() => parseApps(one('    cron: "61 * * * *"'), '/x.yaml', 'yaml'), `/x.yaml:4: a: cron: ${(() => { try { parseApps(one('    cron: "61 * * * *"'), '/y', 'yaml'); } catch (e) { return (e as Error).message.replace(/^\/y:4: a: cron: /, ''); } return ''; })()}`);
  refused(() => parseApps(one('    cron: "0 0 30 2 *"'), '/x.yaml', 'yaml'), '/x.yaml:4: a: cron: cron "0 0 30 2 *": names no day that exists (a day past the end of every month given): it would never run');
  refused(() => parseApps(one('    after: [a]'), '/x.yaml', 'yaml'), '/x.yaml:4: a: after: a cannot come after itself');
  refused(() => parseApps(one('    crash_log_kib: 8'), '/x.yaml', 'yaml'), '/x.yaml:4: a: crash_log_kib: crash_log_kib goes with save_log_on_crash: true');
  refused(() => parseApps(one('    repeat: { action: explode, every: 1s }'), '/x.yaml', 'yaml'), '/x.yaml:4: apps[0].repeat.action: Invalid option: expected one of "restart"|"start"|"stop"|"trystart"');
});
