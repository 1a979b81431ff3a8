/** supervisor-rs's server.yaml (loadpaths, mode, startup) and its children's yaml into apps file entries, every warning asserted. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectSupervisorRs, importSupervisorRs } from '../../internal/import/supervisor-rs';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';

const dir = fixture('supervisor-rs');
const children = path.join(dir, 'children');
const more = path.join(dir, 'more');
const PRE = "a supervisor-rs command before each start; pmon3's own hooks (pre_start, post_stop) run programs, not its commands; ignored";
const POST = "a supervisor-rs command after each stop; pmon3's own hooks (pre_start, post_stop) run programs, not its commands; ignored";
const RELATIVE_LP = "relative to supervisor-rs-server's working directory there; to this file's directory here";

// Its prehook "start db" is a dependency; its repeat every 3600 s restarts it.
const WEB = { name: 'web', exec: '/usr/local/bin/web', args: '--port 8080', cwd: children, dependencies: ['db'], restart: 'never', log: '/var/log/web/out.log', repeat: { action: 'restart', every: 3600 } } as const;
const DB = { name: 'db', exec: '/usr/lib/postgresql/bin/postgres', args: '-D /srv/db', cwd: more, restart: 'never', log: '/var/log/db.log' } as const;
const w = (file: string, line: number | undefined, field: string, message: string) => (line === undefined ? { file, field, message } : { file, line, field, message });
const webWarnings = (file: string) => [
  w(file, 4, 'output[0].stdout', 'mode create truncates the file at each start; pmon3 appends to its log'),
  w(file, 7, 'output[1].stderr', 'pmon3 writes stderr to the same log as stdout (/var/log/web/out.log); /var/log/web/err.log is not written'),
  w(file, 16, 'hooks[1].posthook', `"start cleanup": ${POST}`),
];

test('supervisor-rs: a half-mode server.yaml, its loadpaths and children', () => {
  const file = path.join(dir, 'server.yaml');
  assert.equal(detectSupervisorRs(fs.readFileSync(file, 'utf8'), file), true);
  const opts = fsOptions();
  const r = importSupervisorRs(file, opts);
  assert.equal(r.format, 'supervisor-rs');
  const report = path.join(children, 'report.daily.yml');
  const web = path.join(children, 'web.yml');
  const worker = path.join(children, 'worker.yaml');
  const db = path.join(more, 'db.yaml');
  assert.deepEqual(r.files, [file, report, web, worker, db]);
  assert.deepEqual(opts.reads, [file, report, web, worker, db]);
  assert.deepEqual(r.apps, [
    // Named by the file name up to its first dot; not in startup: does not start.
    { name: 'report', exec: 'report', cwd: children, autostart: false, restart: 'never' },
    WEB,
    // Split on single spaces as supervisor-rs does: two spaces make an empty word.
    { name: 'worker', exec: path.join(children, 'bin', 'worker'), args: ['--queue', '', 'jobs'], cwd: children, autostart: false, restart: 'never', log: 'logs/worker.log' },
    DB,
  ]);
  assert.deepEqual(r.warnings, [
    w(file, 3, 'loadpaths[0]', RELATIVE_LP),
    w(file, 4, 'loadpaths[1]', RELATIVE_LP),
    w(file, 10, 'startup[2]', 'no child ghost in the loadpaths: supervisor-rs skips it'),
    w(file, 12, 'encrypt', "supervisor-rs's signed client commands; pmon3's clients are local and known by their uid; ignored"),
    w(file, 13, 'pub_keys_path', "supervisor-rs's client keys; pmon3's clients are local and known by their uid; ignored"),
    w(file, 16, 'ipv6', "supervisor-rs's TCP address; pmon3 is controlled through pmond's unix socket; ignored"),
    w(file, 17, 'listener_addr', "supervisor-rs's TCP address; pmon3 is controlled through pmond's unix socket; ignored"),
    w(report, 2, 'repeat', 'without seconds > 0: supervisor-rs ignores it; ignored'),
    ...webWarnings(web),
    w(worker, 3, 'output[0].stderr', "relative to supervisor-rs-server's working directory there; to the apps file's directory here"),
    w(worker, 3, 'output[0].stderr', "stdout went to supervisor-rs-server's own; pmon3 writes it to this log too"),
    w(worker, 5, 'nice', "not a key of supervisor-rs's child config; ignored"),
    w(path.join(more, 'web.yml'), undefined, 'command', `child web is also ${web}: supervisor-rs runs the first; not imported`),
  ]);
  assert.deepEqual(checkedApps(r, path.join(dir, 'apps.yaml')).map((s) => [s.name, s.autostart, s.restart, s.dependencies, s.task]), [
    ['report', false, 'never', [], undefined],
    ['web', true, 'never', ['db'], { repeat: { action: 'restart', every_ms: 3_600_000 } }],
    ['worker', false, 'never', [], undefined],
    ['db', true, 'never', [], undefined],
  ]);
});

test('supervisor-rs: full mode starts every child, quiet (the default) none', () => {
  const full = path.join(dir, 'server-full.yaml');
  const other = { name: 'web', exec: '/usr/local/bin/other-web', cwd: more, restart: 'never' } as const;
  const rf = importSupervisorRs(full, fsOptions());
  assert.deepEqual(rf.apps, [DB, other]);
  assert.deepEqual(rf.warnings, [w(full, 2, 'loadpaths[0]', RELATIVE_LP)]);
  checkedApps(rf, path.join(dir, 'apps.yaml'));
  const quiet = path.join(dir, 'server-quiet.yaml');
  const rq = importSupervisorRs(quiet, fsOptions());
  assert.deepEqual(rq.apps, [{ ...DB, autostart: false }, { ...other, autostart: false }]);
  assert.deepEqual(rq.warnings, [w(quiet, 2, 'loadpaths[0]', RELATIVE_LP), w(quiet, 3, 'startup', 'used in half mode only; mode is quiet: ignored')]);
  checkedApps(rq, path.join(dir, 'apps.yaml'));
});

test("supervisor-rs: one child's yaml alone", () => {
  const file = path.join(children, 'web.yml');
  assert.equal(detectSupervisorRs(fs.readFileSync(file, 'utf8'), file), true);
  const r = importSupervisorRs(file, fsOptions());
  assert.deepEqual(r.files, [file]);
  assert.deepEqual(r.apps, [WEB]);
  assert.deepEqual(r.warnings, webWarnings(file));
  checkedApps(r, path.join(dir, 'apps.yaml'));
});

test('supervisor-rs: prehooks starting other children become dependencies (started with the server if a dependent is); repeat actions', () => {
  const file = path.join(dir, 'server-hooks.yaml');
  const hooked = path.join(dir, 'hooked');
  const [api, cache, queue] = ['api.yml', 'cache.yml', 'queue.yml'].map((n) => path.join(hooked, n)) as [string, string, string];
  const r = importSupervisorRs(file, fsOptions());
  assert.deepEqual(r.files, [file, api, cache, queue]);
  assert.deepEqual(r.apps, [
    // repeat's action defaults to restart; "start ghost" names no child, "start api" itself.
    { name: 'api', exec: '/srv/api/bin/api', cwd: hooked, dependencies: ['cache', 'queue'], restart: 'never', repeat: { action: 'restart', every: 600 } },
    // Not in startup, but api's prehooks start them with it: autostart. kill is no repeat action of ours.
    { name: 'cache', exec: '/usr/bin/redis-server', args: '/etc/redis.conf', cwd: hooked, restart: 'never' },
    { name: 'queue', exec: '/srv/queue/bin/queue', cwd: hooked, dependencies: ['cache'], restart: 'never', repeat: { action: 'stop', every: 86400 } },
  ]);
  const started = (dep: string) => `${dep} does not start with the server (mode half) but this hook starts it with api: imported with autostart`;
  assert.deepEqual(r.warnings, [
    w(file, 2, 'loadpaths[0]', RELATIVE_LP),
    w(api, 5, 'hooks[0].prehook', started('cache')),
    w(api, 6, 'hooks[1].prehook', '"restart queue": mapped to dependencies: [queue] (queue is up before api starts); pmon3 does not restart a running queue first'),
    w(api, 6, 'hooks[1].prehook', started('queue')),
    w(api, 7, 'hooks[2].prehook', 'no child ghost in the loadpaths: nothing for supervisor-rs to start; dropped from dependencies'),
    w(api, 8, 'hooks[3].prehook', `"start api": ${PRE}`),
    w(api, 9, 'hooks[4].prehook', `"kill queue": ${PRE}`),
    w(cache, 3, 'repeat.action', 'supervisor-rs runs "kill cache" 30 s after each start; pmon3\'s repeat does restart, start, stop, trystart only; ignored'),
    w(queue, 7, 'hooks[1].posthook', `"start api": ${POST}`),
  ]);
  assert.deepEqual(checkedApps(r, path.join(dir, 'apps.yaml')).map((s) => [s.name, s.autostart, s.dependencies, s.task]), [
    ['api', true, ['cache', 'queue'], { repeat: { action: 'restart', every_ms: 600_000 } }],
    ['cache', true, [], undefined],
    ['queue', true, ['cache'], { repeat: { action: 'stop', every_ms: 86_400_000 } }],
  ]);
});

test('supervisor-rs: malformed server and child files are one line with file:line', () => {
  const bad = path.join(dir, 'malformed.yaml');
  refusedAt(() => importSupervisorRs(bad, fsOptions()), `${bad}:4`, /startup: expected a list of strings/);
  const broken = path.join(dir, 'broken-child.yml');
  assert.equal(detectSupervisorRs(fs.readFileSync(broken, 'utf8'), broken), false);
  refusedAt(() => importSupervisorRs(broken, fsOptions()), `${broken}:4`, /./);
  const read = (text: string) => fsOptions({ read: () => text, list: () => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); } });
  refusedAt(() => importSupervisorRs('/s/server.yaml', read('loadpaths:\n  - /nowhere\n')), '/s/server.yaml:2', /loadpaths\[0\]: \/nowhere: ENOENT/);
  refusedAt(() => importSupervisorRs('/s/server.yaml', read('loadpaths: []\nmode: half\n')), '/s/server.yaml:2', /mode: expected a startup list with half mode/);
  refusedAt(() => importSupervisorRs('/s/a.yml', read('command: 3\n')), '/s/a.yml:1', /command: expected a string/);
  refusedAt(() => importSupervisorRs('/s/all.yml', read('command: /bin/x\n')), '/s/all.yml:1', /child all \(its file name\): "all" is not a pmon3 app name/);
  assert.equal(detectSupervisorRs('apps:\n  - name: a\n    exec: x\n', 'apps.yaml'), false);
});
