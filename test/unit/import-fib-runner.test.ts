/** fib-runner's runner.json with sub-projects (parent.child, recursively) into apps file entries, every warning asserted. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectFibRunner, importFibRunner } from '../../internal/import/fib-runner';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';

test('fib-runner: apps, defaults as fib-runner means them, sub-projects named parent.child', () => {
  const file = fixture('fib-runner', 'runner.json');
  const dir = path.dirname(file);
  const ext = path.join(dir, 'ext-app', 'runner.json');
  const tools = path.join(dir, 'ext-app', 'tools', 'runner.json');
  assert.equal(detectFibRunner(fs.readFileSync(file, 'utf8'), file), true);
  const opts = fsOptions();
  const r = importFibRunner(file, opts);
  assert.equal(r.format, 'fib-runner');
  assert.deepEqual(r.files, [file, ext, tools]);
  assert.deepEqual(opts.reads, [file, ext, tools, path.join(dir, 'no-such-dir', 'runner.json')]);
  assert.deepEqual(r.apps, [
    // startsecs 1 and startretries 3 are fib-runner's defaults: written, ours differ.
    { name: 'zsh', exec: 'zsh', cwd: path.dirname(dir), restart_delay: 1, startretries: 3, stop_signal: 'SIGKILL' },
    {
      name: 'api',
      exec: path.join(dir, 'bin', 'api'),
      args: ['--port', '8080'],
      cwd: dir,
      env: { NODE_ENV: 'production', WORKERS: '4' },
      user: '1000',
      group: '1000',
      autostart: false,
      restart_delay: 5,
      startretries: 10,
    },
    // savelog: true is our save_log_on_crash.
    { name: 'app4', script: path.join(dir, 'test', 'apps', 'app4.js'), interpreter: 'fibjs', cwd: dir, restart: 'never', restart_delay: 1, startretries: -1, save_log_on_crash: true },
    { name: 'ext.app5', script: path.join(dir, 'ext-app', 'app5.js'), interpreter: 'fibjs', cwd: path.join(dir, 'ext-app'), restart_delay: 1, startretries: -1 },
    { name: 'ext.tools.cleaner', exec: path.join(dir, 'ext-app', 'tools', 'work', 'clean.sh'), cwd: path.join(dir, 'ext-app', 'tools', 'work'), restart_delay: 0.5, startretries: 3 },
  ]);
  const w = (f: string, line: number, field: string, message: string) => ({ file: f, line, field, message });
  assert.deepEqual(r.warnings, [
    w(file, 2, 'name', "the runner's own name; ignored"),
    w(file, 3, 'description', "the runner's own description; ignored"),
    w(file, 4, 'listen', "fib-runner's control address; pmon3 is controlled through pmond's unix socket; ignored"),
    w(file, 8, 'key', "fib-runner's keys for remote admin; no equivalent in pmon3; ignored"),
    w(file, 22, 'apps[1].description', 'no equivalent in pmon3; ignored'),
    w(file, 24, 'apps[1].script', 'exec is given: fib-runner ignores script; ignored'),
    w(file, 29, 'apps[1].startretries', 'fib-runner counts every exit since the last start, pmon3 failures in a row: mapped to startretries'),
    w(file, 33, 'apps[1].instances', 'not used by fib-runner (one process per app); ignored'),
    w(file, 45, 'apps[3].cwd', 'ignored by fib-runner on a sub-project (runner) entry'),
    w(file, 49, 'apps[4].runner', `${path.join(dir, 'no-such-dir', 'runner.json')} does not exist: fib-runner makes it empty, so no apps`),
    w(ext, 7, 'apps[0].restart_delay', 'no equivalent in pmon3; ignored'),
  ]);
  const specs = checkedApps(r, path.join(dir, 'apps.yaml'));
  assert.deepEqual(specs.map((s) => [s.name, s.cwd, s.restart_delay_ms, s.startretries, s.task]), [
    ['zsh', path.dirname(dir), 1000, 3, undefined],
    ['api', dir, 5000, 10, undefined],
    ['app4', dir, 1000, -1, { save_log_on_crash: true }],
    ['ext.app5', path.join(dir, 'ext-app'), 1000, -1, undefined],
    ['ext.tools.cleaner', path.join(dir, 'ext-app', 'tools', 'work'), 500, 3, undefined],
  ]);
});

test('fib-runner: savelog false is the default on both sides; one neither true nor false is warned', () => {
  const text = '{\n "apps": [\n  { "name": "a", "exec": "x", "savelog": false },\n  { "name": "b", "exec": "y",\n    "savelog": "yes" }\n ]\n}';
  const r = importFibRunner('/x/runner.json', fsOptions({ read: () => text }));
  assert.deepEqual(r.apps, [
    { name: 'a', exec: 'x', cwd: '/x', restart_delay: 1, startretries: 3 },
    { name: 'b', exec: 'y', cwd: '/x', restart_delay: 1, startretries: 3 },
  ]);
  assert.deepEqual(r.warnings, [{ file: '/x/runner.json', line: 5, field: 'apps[1].savelog', message: '"yes" is not true or false (fib-runner saves the log when it is truthy); ignored' }]);
  checkedApps(r, '/x/apps.yaml');
});

test('fib-runner: a wrong type, a sub-project cycle and bad JSON are one line with file:line', () => {
  const bad = fixture('fib-runner', 'malformed.json');
  assert.equal(detectFibRunner(fs.readFileSync(bad, 'utf8'), bad), true);
  refusedAt(() => importFibRunner(bad, fsOptions()), `${bad}:6`, /apps\[0\]\.arg: expected a list of arguments/);
  const cycle = fixture('fib-runner', 'bad', 'runner.json');
  refusedAt(() => importFibRunner(cycle, fsOptions()), `${cycle}:3`, /apps\[0\]\.runner: expected a sub-project, not a cycle/);
  const read = (text: string) => fsOptions({ read: () => text });
  refusedAt(() => importFibRunner('/x/runner.json', read('{\n  "apps": [\n    { "name": "a" }\n  ]\n}')), '/x/runner.json:3', /apps\[0\]\.exec: expected exec, script or runner/);
  refusedAt(() => importFibRunner('/x/runner.json', read('{\n  "apps": [\n    { "name": "a",\n "exec": "x",\n "startsecs": "1s" }\n  ]\n}')), '/x/runner.json:5', /apps\[0\]\.startsecs: expected a number/);
  refusedAt(() => importFibRunner('/x/runner.json', read('{ "apps": [ { "name": "a b", "exec": "x" } ] }')), '/x/runner.json:1', /"a b" is not a pmon3 app name/);
  refusedAt(() => importFibRunner('/x/runner.json', read('{\n "apps": [,]\n}')), '/x/runner.json:2', /./);
  assert.equal(detectFibRunner('{"apps": [{"name": "a", "exec": "x", "args": "-v"}]}', '/x/apps.json'), false);
});
