/** Meproc's task JSON (as POSTed to /proc, a list, or its GET /proc answer) into apps file entries, every warning asserted. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectMeproc, importMeproc } from '../../internal/import/meproc';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';

const check = (file: string, r: ReturnType<typeof importMeproc>) => checkedApps(r, path.join(path.dirname(file), 'apps.yaml'));

test('meproc tasks: daemon, once, cron (its default too), replica, interval, user, group, deps as after; coroutine not imported', () => {
  const file = fixture('meproc', 'tasks.json');
  assert.equal(detectMeproc(fs.readFileSync(file, 'utf8'), file), true);
  const opts = fsOptions();
  const r = importMeproc(file, opts);
  assert.equal(r.format, 'meproc');
  assert.deepEqual(r.files, [file]);
  assert.deepEqual(opts.reads, [file]);
  assert.deepEqual(r.apps, [
    // sh -c would split it so: the quoted words stay one.
    { name: 'web', exec: '/usr/local/bin/web', args: ['--port', '8080', '--root', '/srv/my site'], user: 'www', group: 'www', instances: 2, restart: 'always', restart_delay: '500ms' },
    // Meproc's deps: after web's running instances have finished.
    { name: 'migrate', exec: '/usr/local/bin/migrate', args: ['--to', 'latest'], type: 'once', after: ['web'] },
    { name: 'report', exec: '/bin/sh', args: ['-c', '/usr/local/bin/report > /var/log/report.txt 2>&1'], type: 'cron', cron: '0 3 * * *' },
    // Meproc's default cron: every minute.
    { name: 'tick', exec: 'date', type: 'cron', cron: '* * * * *' },
    // interval defaults to 3000 ms.
    { name: 'worker', exec: 'php', args: ['artisan', 'queue:work'], restart: 'always', restart_delay: '3s' },
  ]);
  const w = (line: number, field: string, message: string) => ({ file, line, field, message });
  assert.deepEqual(r.warnings, [
    w(9, '[0].group', 'Meproc takes the primary group of the user named "www"; imported as group "www"'),
    w(15, '[1].interval', 'used by daemon tasks only (the delay before each start); ignored for a once task'),
    w(20, '[2].cmd', 'uses shell syntax: run as /bin/sh -c CMD as Meproc does (pmon3 itself runs no shell)'),
    w(29, '[3].priority', 'no equivalent in pmon3; ignored'),
    w(39, '[5].type', 'a coroutine task runs a Melang script inside Meproc; no equivalent: the task is not imported'),
  ]);
  assert.deepEqual(check(file, r).map((s) => [s.name, s.instances, s.restart, s.restart_delay_ms, s.autostart, s.dependencies, s.task]), [
    ['web', 2, 'always', 500, true, [], undefined],
    ['migrate', 1, 'always', undefined, true, [], { type: 'once', after: ['web'] }],
    ['report', 1, 'always', undefined, true, [], { type: 'cron', cron: '0 3 * * *' }],
    ['tick', 1, 'always', undefined, true, [], { type: 'cron', cron: '* * * * *' }],
    ['worker', 1, 'always', 3000, true, [], undefined],
  ]);
});

test('meproc: one task as in its README', () => {
  const file = fixture('meproc', 'task.json');
  assert.equal(detectMeproc(fs.readFileSync(file, 'utf8'), file), true);
  const r = importMeproc(file, fsOptions());
  assert.deepEqual(r.apps, [{ name: 'sleep1', exec: 'sleep', args: ['5'], user: 'guest', instances: 2, type: 'once' }]);
  assert.deepEqual(r.warnings, []);
  check(file, r);
});

test('meproc: deps naming the task itself is dropped from after, warned', () => {
  const text = '[{"name": "a", "cmd": "x", "type": "once"},\n {"name": "b", "cmd": "y", "type": "once",\n  "deps": ["a", "b"]}]';
  const r = importMeproc('t.json', fsOptions({ read: () => text }));
  assert.deepEqual(r.apps, [
    { name: 'a', exec: 'x', type: 'once' },
    { name: 'b', exec: 'y', type: 'once', after: ['a'] },
  ]);
  assert.deepEqual(r.warnings, [{ file: 't.json', line: 3, field: '[1].deps', message: 'names b itself, which a pmon3 app cannot come after; dropped from after' }]);
  check('/tmp/t.json', r);
});

test("meproc: the tasks of its GET /proc answer, runtime state warned", () => {
  const file = fixture('meproc', 'proc-list.json');
  assert.equal(detectMeproc(fs.readFileSync(file, 'utf8'), file), true);
  const r = importMeproc(file, fsOptions());
  assert.deepEqual(r.apps, [{ name: 'sleep2', exec: 'sleep', args: ['5'], restart: 'always', restart_delay: '3s' }]);
  const state = "Meproc's runtime state of the task; not imported";
  assert.deepEqual(r.warnings, [
    { file, line: 15, field: 'data.tasks.sleep2.start_time', message: state },
    { file, line: 16, field: 'data.tasks.sleep2.last_time', message: state },
    { file, line: 17, field: 'data.tasks.sleep2.run_flag', message: state },
    { file, line: 18, field: 'data.tasks.sleep2.running', message: state },
  ]);
  check(file, r);
});

test('meproc: malformed tasks and JSON are one line with file:line', () => {
  const bad = fixture('meproc', 'malformed.json');
  refusedAt(() => importMeproc(bad, fsOptions()), `${bad}:3`, /\[1\]\.replica: expected a number/);
  const broken = fixture('meproc', 'broken.json');
  assert.equal(detectMeproc(fs.readFileSync(broken, 'utf8'), broken), false);
  refusedAt(() => importMeproc(broken, fsOptions()), `${broken}:2`, /./);
  const read = (text: string) => fsOptions({ read: () => text });
  refusedAt(() => importMeproc('t.json', read('{"name": "a",\n "cmd": "x",\n "type": "sometimes"}')), 't.json:3', /type: expected once, daemon, cron or coroutine/);
  refusedAt(() => importMeproc('t.json', read('{"name": "a",\n "cmd": "x", "type": "once",\n "cron": "* * * * *"}')), 't.json:3', /cron: expected type 'cron' with a cron/);
  refusedAt(() => importMeproc('t.json', read('{"name": "a",\n "cmd": "x", "type": "once",\n "replica": 0}')), 't.json:3', /replica: expected a positive whole number/);
  refusedAt(() => importMeproc('t.json', read('{"name": "a",\n "cmd": "x", "type": "cron",\n "cron": "0 3 * *"}')), 't.json:3', /cron: expected a cron schedule pmon3 reads \(cron "0 3 \* \*": has 4 fields/);
  refusedAt(() => importMeproc('t.json', read('{"name": "a b", "cmd": "x", "type": "once"}')), 't.json:1', /name: "a b" is not a pmon3 app name/);
  refusedAt(() => importMeproc('t.json', read('[{"name": "a", "type": "once"}]')), 't.json:1', /\[0\]\.cmd: expected the command/);
  refusedAt(() => importMeproc('t.json', read('"a task"')), 't.json:1', /expected a Meproc task/);
  assert.equal(detectMeproc('{"apps": []}', 'apps.json'), false);
});
