/** PM2 ecosystem files (JSON, YAML) and PM2's dump into our apps: every app, every warning, and the result an apps file. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectPm2, importPm2 } from '../../internal/import/pm2';
import { detectPm2Dump, importPm2Dump } from '../../internal/import/pm2-dump';
import type { AppEntry, ImportResult } from '../../internal/import/types';

// From dist/test/unit: the sources' fixtures (as test/helpers/daemon.ts finds them).
const DIR = path.join(path.resolve(__dirname, '..', '..', '..'), 'test', 'fixtures', 'import', 'pm2');
const F = (n: string): string => path.join(DIR, n);
const opts = { read: (p: string) => fs.readFileSync(p, 'utf8'), list: (d: string) => fs.readdirSync(d) };

/** Each warning: line, field, message pattern (the file is the one imported). */
type W = [number, string, RegExp];
const assertWarnings = (r: ImportResult, file: string, expected: W[]): void => {
  assert.equal(r.warnings.length, expected.length, r.warnings.map((w) => `${w.line} ${w.field}: ${w.message}`).join('\n'));
  r.warnings.forEach((w, i) => {
    const [line, field, re] = expected[i]!;
    assert.equal(w.file, file);
    assert.equal(w.line, line, `${w.field}`);
    assert.equal(w.field, field);
    assert.match(w.message, re, w.field);
  });
};
const refused = (f: () => unknown, message: RegExp): void => {
  assert.throws(f, (e: any) => {
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.match(e.message, message);
    return true;
  });
};

const ECO_APPS = (env: Record<string, string>): AppEntry[] => [
  {
    name: 'api',
    script: 'api/server.js',
    args: ['--port', '8080'],
    cwd: 'api',
    env,
    instances: 4,
    startretries: 10,
    startsecs: 5,
    restart_delay: '1500ms',
    stop_timeout: 3,
    log: 'api/logs/api.log',
    max_memory: '300M',
  },
  // cron_restart (spelled cron in the YAML file): restarted at 03:00, local time as in PM2.
  { name: 'worker', exec: 'python3', args: '-u worker.py --queue jobs', cron_restart: '0 3 * * *', watch: true, user: 'www-data', group: 'www-data' },
  { name: 'report', exec: 'bin/report', restart: 'never', autostart: false },
];

// The same warnings in both files; the lines of ecosystem.json and ecosystem.yaml.
const ecoWarnings = (l: Record<string, number>): W[] => [
  [l.exec_mode!, 'apps[0].exec_mode', /^cluster: pmon3 runs the instances as separate processes, with no shared port balancing by node's cluster module; for one port shared by all, give the app sockets:/],
  [l.error_file!, 'apps[0].error_file', /one log per process, stdout and stderr together, to api\/logs\/api\.log; logs\/api-err\.log ignored/],
  [l.merge_logs!, 'apps[0].merge_logs', /no equivalent/],
  [l.log_date_format!, 'apps[0].log_date_format', /no equivalent/],
  [l.env_production!, 'apps[0].env_production', /not selected \(import --env production/],
  [l.interpreter_args!, 'apps[1].interpreter_args', /^mapped to exec: python3 with args \["-u"\] before the script/],
  [l.instances!, 'apps[1].instances', /^PM2 ran one per CPU \("max"\); mapped to 1: set instances: N/],
  [l.exp_backoff!, 'apps[1].exp_backoff_restart_delay', /pmon3's own backoff doubles from restart_backoff_initial/],
  [l.ignore_watch!, 'apps[2].ignore_watch', /^without watch nothing is watched; ignored$/],
  [l.deploy!, 'deploy', /no equivalent \(pmon3 does not deploy\)/],
];
const JSON_LINES = { exec_mode: 9, max_memory_restart: 15, error_file: 17, merge_logs: 18, log_date_format: 19, env_production: 21, interpreter_args: 27, instances: 29, exp_backoff: 30, watch: 32, ignore_watch: 43, deploy: 46 };
const YAML_LINES = { exec_mode: 7, max_memory_restart: 13, error_file: 15, merge_logs: 16, log_date_format: 17, env_production: 21, interpreter_args: 26, instances: 28, exp_backoff: 29, watch: 31, ignore_watch: 40, deploy: 41 };

test('ecosystem.json and ecosystem.yaml: the same apps, every field mapped or warned at its line', () => {
  for (const [name, lines, appLines] of [['ecosystem.json', JSON_LINES, [3, 23, 36]], ['ecosystem.yaml', YAML_LINES, [2, 23, 34]]] as const) {
    const file = F(name);
    assert.ok(detectPm2(fs.readFileSync(file, 'utf8'), file), name);
    const r = importPm2(file, opts);
    assert.equal(r.format, 'pm2');
    assert.deepEqual(r.apps, ECO_APPS({ NODE_ENV: 'development', PORT: '8080' }));
    assertWarnings(r, file, ecoWarnings(lines));
    assert.deepEqual(r.sources, appLines.map((line) => ({ file, line })));
    assert.deepEqual(r.files, [file]);
    const specs = checkedApps(r, file);
    assert.equal(specs[0]!.script, path.join(DIR, 'api', 'server.js'));
    assert.equal(specs[0]!.cwd, path.join(DIR, 'api'));
    assert.deepEqual(specs[1]!.args, ['-u', 'worker.py', '--queue', 'jobs']);
    assert.deepEqual(specs[1]!.task, { cron_restart: '0 3 * * *', watch: [DIR] });
  }
});

test('--env production: env_production over env; an app without the set is a warning', () => {
  const file = F('ecosystem.json');
  const r = importPm2(file, { ...opts, env: 'production' });
  assert.deepEqual(r.apps, ECO_APPS({ NODE_ENV: 'production', PORT: '8080' }));
  const noSet = r.warnings.filter((w) => /no env_production set here/.test(w.message));
  assert.deepEqual(noSet.map((w) => [w.line, w.field]), [[23, 'apps[1].env'], [36, 'apps[2].env']]);
  assert.ok(!r.warnings.some((w) => w.field === 'apps[0].env_production'));
  checkedApps(r, file);
  refused(() => importPm2(file, { ...opts, env: 'staging' }), /^.*ecosystem\.json: --env staging: no app here has env_staging$/);
});

test('a JavaScript ecosystem file is refused, never run, with the command that exports it', () => {
  const file = F('ecosystem.config.js');
  assert.ok(detectPm2(fs.readFileSync(file, 'utf8'), file));
  refused(() => importPm2(file, { ...opts, read: () => assert.fail('never read') }), /ecosystem\.config\.js: a JavaScript ecosystem file is never run; export it as JSON: node -e 'import\("\.\/ecosystem\.config\.js"\)/);
});

test('malformed: one line with file:line', () => {
  refused(() => importPm2(F('bad.json'), opts), /bad\.json:4: /);
  refused(() => importPm2('/x/eco.json', { ...opts, read: () => '{"apps": [{"name": "a"}]}' }), /^\/x\/eco\.json:1: apps\[0\]\.script: missing/);
  refused(() => importPm2('/x/eco.json', { ...opts, read: () => '{"other": 1}' }), /^\/x\/eco\.json: no PM2 apps/);
});

test('small cases: names, instances, bare script, defaults silent, unknown keys warned', () => {
  const text = JSON.stringify({ apps: [
    { script: 'app.js', instances: -1, exec_mode: 'fork', watch: false, autorestart: true, treekill: true, vizion: false },
    { name: 'my app', script: 'npm', args: 'start', instances: '2', kill_timeout: 1600 },
  ] }, null, 2);
  const r = importPm2('/x/eco.json', { ...opts, read: () => text });
  assert.deepEqual(r.apps, [
    { name: 'app', script: 'app.js' },
    { name: 'my-app', exec: 'npm', args: 'start', instances: 2, stop_timeout: '1600ms' },
  ]);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.field, w.message.split(' (')[0]!.split(':')[0]]), [
    [5, 'apps[0].instances', 'PM2 ran one per CPU less 1'],
    [10, 'apps[0].vizion', 'no equivalent; ignored'],
    [13, 'apps[1].name', '"my app" is not a pmon3 name'],
    [14, 'apps[1].script', '"npm" is a bare name'],
  ]);
  checkedApps(r, '/x/eco.json');
  // Our own apps file is not taken for PM2's.
  assert.equal(detectPm2('apps:\n  - name: a\n    exec: ./a\n', 'apps.yaml'), false);
  assert.equal(detectPm2('apps:\n  - name: a\n    script: a.js\n    restart: never\n', 'apps.yaml'), false);
});

test("cron_restart: PM2's 0 is none (silent), a pattern our cron does not read or not a string is warned", () => {
  const text = JSON.stringify({ apps: [
    { name: 'a', script: 'a.js', cron_restart: 0 },
    { name: 'b', script: 'b.js', cron: '0' },
    { name: 'c', script: 'c.js', cron_restart: '0 3 * *' },
    { name: 'd', script: 'd.js', cron: 5 },
    { name: 'e', script: 'e.js', cron: '*/10 * * * * *' },
  ] }, null, 2);
  const r = importPm2('/x/eco.json', { ...opts, read: () => text });
  assert.deepEqual(r.apps, [
    { name: 'a', script: 'a.js' },
    { name: 'b', script: 'b.js' },
    { name: 'c', script: 'c.js' },
    { name: 'd', script: 'd.js' },
    // Six fields: seconds first, as croner reads them too.
    { name: 'e', script: 'e.js', cron_restart: '*/10 * * * * *' },
  ]);
  assert.deepEqual(r.warnings.map((w) => [w.line, w.field, w.message]), [
    [16, 'apps[2].cron_restart', 'cron "0 3 * *": has 4 fields, want 5 (minute first) or 6 (seconds first): not a pattern pmon3\'s cron reads; ignored'],
    [21, 'apps[3].cron', '5: not a cron pattern; ignored'],
  ]);
  assert.deepEqual(checkedApps(r, '/x/eco.json').map((s) => s.task), [undefined, undefined, undefined, undefined, { cron_restart: '*/10 * * * * *' }]);
});

test('dump.pm2: one app per name with its instances, the app\'s own env, state and defaults silent', () => {
  const file = F('dump.pm2');
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(detectPm2Dump(text, file));
  assert.equal(detectPm2(text, file), false);
  const environ = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', EDITOR: 'vim', NODE_ENV: 'development' };
  const r = importPm2Dump(file, { ...opts, environ });
  assert.equal(r.format, 'pm2-dump');
  assert.deepEqual(r.apps, [
    {
      name: 'api',
      script: '/srv/app/api/server.js',
      interpreter: 'node',
      args: ['--port', '8080'],
      cwd: '/srv/app/api',
      env: { NODE_ENV: 'production', PORT: '8080' },
      instances: 2,
      startretries: 10,
      startsecs: 5,
      stop_timeout: 3,
      log: '/home/deploy/.pm2/logs/api-out.log',
      max_memory: 314572800,
    },
    {
      name: 'backup',
      script: '/srv/app/bin/backup.sh',
      interpreter: 'bash',
      cwd: '/srv/app',
      env: { BUCKET: 's3://backups' },
      restart: 'never',
      restart_delay: 60,
      cron_restart: '0 3 * * *',
      log: '/home/deploy/.pm2/logs/backup.log',
      user: 'deploy',
    },
  ]);
  const dropped = /^17 variables dropped as not the app's own: 3 PM2's \(PM2_HOME, PM2_USAGE, unique_id\); 11 the login session's \(HOME, USER, LOGNAME, SHELL, PWD, OLDPWD, SHLVL, _, TERM, SSH_CONNECTION, XDG_SESSION_ID\); 3 equal to your environment \(PATH, LANG, EDITOR\)$/;
  assertWarnings(r, file, [
    [1, '[0].pm_out_log_path', /^PM2 numbered each instance's log; taken as \/home\/deploy\/\.pm2\/logs\/api-out\.log/],
    [1, '[0].pm_err_log_path', /^PM2 numbered each instance's log; taken as \/home\/deploy\/\.pm2\/logs\/api-error\.log/],
    [1, '[0].exec_mode', /^cluster: pmon3 runs the instances as separate processes/],
    [1, '[0].pm_err_log_path', /one log per process, stdout and stderr together, to \/home\/deploy\/\.pm2\/logs\/api-out\.log; \/home\/deploy\/\.pm2\/logs\/api-error\.log ignored/],
    [1, '[0].env', dropped],
    [1, '[2].env', dropped],
  ]);
  assert.deepEqual(r.sources, [{ file, line: 1 }, { file, line: 1 }]);
  checkedApps(r, file);
  // Without the caller's environment, rule 3 is off: PATH, LANG and EDITOR are kept.
  const bare = importPm2Dump(file, opts);
  assert.deepEqual(bare.apps[1]!.env, { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', EDITOR: 'vim', BUCKET: 's3://backups' });
});

test('a malformed dump: one line with file:line', () => {
  refused(() => importPm2Dump('/x/dump.pm2', { ...opts, read: () => '[{"name":"a",}' }), /^\/x\/dump\.pm2:1: /);
  refused(() => importPm2Dump('/x/dump.pm2', { ...opts, read: () => '{"name":"a"}' }), /^\/x\/dump\.pm2:1: a PM2 dump is a JSON list/);
  refused(() => importPm2Dump('/x/dump.pm2', { ...opts, read: () => '[{"pm_exec_path":"/a"}]' }), /^\/x\/dump\.pm2:1: \[0\]: a process with a name expected/);
});
