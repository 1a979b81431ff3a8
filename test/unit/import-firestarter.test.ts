/** Firestarter's TOML worker groups into apps file entries, every warning asserted. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkedApps } from '../../internal/import/emit';
import { detectFirestarter, importFirestarter } from '../../internal/import/firestarter';
import { fixture, fsOptions, refusedAt } from '../helpers/importing';


test('firestarter workers: command, processes, restart, environment, ids, logs', () => {
  const file = fixture('firestarter', 'config.toml');
  assert.equal(detectFirestarter(fs.readFileSync(file, 'utf8'), file), true);
  const opts = fsOptions();
  const r = importFirestarter(file, opts);
  assert.equal(r.format, 'firestarter');
  assert.deepEqual(r.files, [file]);
  assert.deepEqual(opts.reads, [file]);
  assert.deepEqual(r.apps, [
    {
      name: 'web',
      exec: '/usr/local/bin/web',
      // "quoted" is taken literally by firestarter; $DATA_DIR outside quotes it expanded.
      args: ['--listen', '0.0.0.0:$PORT', '--data', '$DATA_DIR/web'],
      cwd: '/srv/web',
      env: { TEST_A: 'XXXX', TEST_B: 'YYYY=Z' },
      user: '1000',
      group: '10',
      instances: 2,
      restart: 'on-failure',
      startretries: 3,
      log: '/var/log/web/out.log',
      rotate: 'size:10240:5',
      error_log: '/var/log/web/err.log',
      sockets: ['127.0.0.1:4000'],
      ack: 'manual',
      ack_timeout: '5s',
      live_check_timeout: '60s',
      upgrader: ['/usr/local/bin/upgrader', '--config', 'abc'],
    },
    { name: 'legacy', exec: './bin/legacy', args: ['--verbose'], cwd: './', restart: 'always', startretries: -1, log: '/var/log/legacy/err.log', rotate: 'time:3:D:U:7' },
    // restart defaults to none.
    { name: 'batch', exec: '/opt/batch/run', args: ['{}'], autostart: false, restart: 'never' },
  ]);
  const w = (line: number, field: string, message: string) => ({ file, line, field, message });
  assert.deepEqual(r.warnings, [
    w(4, 'web.exec_start', "$DATA_DIR was expanded from firestarter's environment when it loaded the file; pmon3 runs no shell: kept as the literal $DATA_DIR"),
    w(5, 'web.exec_stop', 'pmon3 stops a process with its stop_signal (SIGTERM), it runs no stop command; ignored'),
    w(9, 'web.warmup_delay', 'a delay before the first start only; pmon3 starts at once (not startsecs, not restart_delay); ignored'),
    w(10, 'web.start_immediate', 'pmon3 starts at once (it does not wait for a first connection on the sockets); ignored'),
    w(11, 'web.socket_address', '/tmp/web.sock: Unix socket paths become sockets when pmon3 has them; skipped'),
    w(12, 'web.environments', '"BROKEN": not NAME=value; skipped (as firestarter does)'),
    w(13, 'web.ack', "the worker:ack line on $FIRESTARTER_SOCK_PATH acks only the instance that sends it (or READY=1 on $NOTIFY_SOCKET); ctrl's other commands there are not served"),
    w(15, 'web.ack_signal', 'pmon3 sends no ack signal: the new instance says READY=1, the old one gets its stop_signal; ignored'),
    w(22, 'web.upgrader_active_sec', 'the upgrader runs once per reload (pmon3 reload NAME), not every N seconds; ignored'),
    w(23, 'web.giveup', 'mapped to startretries: 3 (firestarter counts failed spawns, pmon3 also runs shorter than startsecs)'),
    w(28, 'legacy.working_directory', "relative to firestarter's own working directory there, to this file's directory here"),
    w(30, 'legacy.stderr_log', 'firestarter sent stdout to /dev/null; pmon3 writes it to this log too'),
    w(31, 'legacy.giveup', 'mapped to startretries: -1 (firestarter counts failed spawns, pmon3 also runs shorter than startsecs)'),
    w(32, 'legacy.autorestart', 'no equivalent in pmon3; ignored'),
    w(36, 'batch.numprocesses', 'no processes: imported as one instance with autostart: false'),
  ]);
  const specs = checkedApps(r, path.join(path.dirname(file), 'apps.yaml'));
  assert.deepEqual(specs.map((s) => [s.name, s.instances, s.restart]), [
    ['web', 2, 'on-failure'],
    ['legacy', 1, 'always'],
    ['batch', 1, 'never'],
  ]);
});

test('firestarter: a bad value and bad TOML are one line with file:line', () => {
  const bad = fixture('firestarter', 'malformed.toml');
  refusedAt(() => importFirestarter(bad, fsOptions()), `${bad}:6`, /worker\.restart: expected none, on-failure or always/);
  const broken = fixture('firestarter', 'broken.toml');
  refusedAt(() => importFirestarter(broken, fsOptions()), `${broken}:3`, /TOML/);
  assert.equal(detectFirestarter(fs.readFileSync(broken, 'utf8'), broken), false);
});

test('firestarter: commands it refuses, workers without a command, values at the top', () => {
  const read = (text: string) => fsOptions({ read: () => text });
  refusedAt(() => importFirestarter('f.toml', read('[a]\nexec_start = "run | tee x"\n')), 'f.toml:2', /a\.exec_start: expected a command of words.*"\|"/);
  refusedAt(() => importFirestarter('f.toml', read('[a]\nrestart = "always"\n')), 'f.toml:1', /a: expected exec_start/);
  refusedAt(() => importFirestarter('f.toml', read('x = 1\n[a]\nexec_start = "run"\n')), 'f.toml:1', /x: expected a worker table/);
  refusedAt(() => importFirestarter('f.toml', read('[a]\nexec_start = "run"\nnumprocesses = "2"\n')), 'f.toml:3', /a\.numprocesses: expected a number/);
  assert.equal(detectFirestarter('[[apps]]\nname = "a"\n', 'apps.toml'), false);
});
