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
const HOOKS = "pmon3 hooks are pmond's global config (on_process_*_exec), not per app; ignored";
const RELATIVE_LP = "relative to supervisor-rs-server's working directory there; to this file's directory here";

const WEB = { name: 'web', exec: '/usr/local/bin/web', args: '--port 8080', cwd: children, restart: 'never', log: '/var/log/web/out.log' } as const;
const DB = { name: 'db', exec: '/usr/lib/postgresql/bin/postgres', args: '-D /srv/db', cwd: more, restart: 'never', log: '/var/log/db.log' } as const;
const w = (file: string, line: number | undefined, field: string, message: string) => (line === undefined ? { file, field, message } : { file, line, field, message });
const webWarnings = (file: string) => [
  w(file, 4, 'output[0].stdout', 'mode create truncates the file at each start; pmon3 appends to its log'),
  w(file, 7, 'output[1].stderr', 'pmon3 writes stderr to the same log as stdout (/var/log/web/out.log); /var/log/web/err.log is not written'),
  w(file, 10, 'repeat', 'supervisor-rs runs "restart web" 3600 s after each start while the same process runs; becomes cron when pmon3 has it; ignored'),
  w(file, 15, 'hooks[0].prehook', `"start db": ${HOOKS} (to have db up first, list it in dependencies)`),
  w(file, 16, 'hooks[1].posthook', `"start cleanup": ${HOOKS}`),
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
  assert.deepEqual(checkedApps(r, path.join(dir, 'apps.yaml')).map((s) => [s.name, s.autostart, s.restart]), [
    ['report', false, 'never'],
    ['web', true, 'never'],
    ['worker', false, 'never'],
    ['db', true, 'never'],
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
