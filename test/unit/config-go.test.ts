import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { configPathFor, configPathsFor, debugLevel, loadConfig, parseConfig, type ConfigEnv } from '../../internal/config/config';
import { fromGoConfig, GO_SECTIONS } from '../../internal/config/go-keys';
import { tempDir } from '../helpers/tmp';

const root: ConfigEnv = { uid: 0, home: '/root', env: {} };
const user: ConfigEnv = { uid: 1000, home: '/home/u', env: {} };

test('mapped Go keys become ours', () => {
  const c = parseConfig(
    [
      'logs:',
      '  directory: /srv/logs',
      'data:',
      '  directory: /srv/data',
      'event_handling:',
      '  process_restart: /h/restart',
      '  process_failure: /h/failure',
      '  process_backoff: /h/backoff',
    ].join('\n'),
    'c.yml',
    root,
  );
  assert.equal(c.logs_dir, '/srv/logs');
  assert.equal(c.data_dir, '/srv/data');
  assert.equal(c.on_process_restart_exec, '/h/restart');
  assert.equal(c.on_process_failure_exec, '/h/failure');
  assert.equal(c.on_process_backoff_exec, '/h/backoff');
  assert.deepEqual(c.notices, []);
});

test('the Go sample config.yml is accepted: one notice per key that does not apply', () => {
  // The Go pmon3's config.yml at 1.18.3, as shipped (nulls included).
  const text = `log_level: info
handle_interrupts: true
disable_reloads: false
process_monitor_interval: 500
initialization_period: 30
process_config_file: /etc/pmon3/config/process.config.json
wait:
  cmd_exec_response: 1500
  ipc_connection: 0
  dependent_process_enqueued: 1000
permissions:
  user:
  group:
  directory_mode: 0770
  file_mode: 0660
logs:
  directory: /var/log/pmond
  user:
  group:
  directory_mode: 0775
  file_mode:
data:
  directory: /etc/pmon3/data
  user:
  group:
  directory_mode:
  file_mode:
message_queue:
  directory:
    shmem: /dev/shm/
    posix_mq: /dev/mqueue/
  name_suffix:
  user:
  group:
  directory_mode: 0775
  file_mode: 0666
event_handling:
  process_restart:
  process_failure:
  process_backoff:
flap_detection:
  is_enabled: false
  threshold_restarted: 5
  threshold_countdown: 120
  threshold_decrement: 60
`;
  const c = parseConfig(text, 'config.yml', root);
  assert.equal(c.data_dir, '/etc/pmon3/data');
  assert.equal(c.logs_dir, '/var/log/pmond');
  assert.equal(c.on_process_restart_exec, '', 'a null hook is no hook');
  assert.equal(c.flap_detection.threshold_decrement, 60);
  assert.deepEqual(c.notices, [
    'config: logs (directory_mode) is the Go pmon3\'s; pmond sets the owners and modes of its files itself (data_dir 0700, data.db and pmond.log 0600, a process log 0640 owned by its user) (ignored)',
    'config: permissions (directory_mode, file_mode) is the Go pmon3\'s; pmond sets the owners and modes of its files itself (data_dir 0700, data.db and pmond.log 0600, a process log 0640 owned by its user) (ignored)',
    'config: message_queue (directory.shmem, directory.posix_mq, directory_mode, file_mode) is the Go pmon3\'s; pmon3 talks over a Unix socket (socket_path, socket_mode, socket_group), not message queues (ignored)',
    'config: wait (cmd_exec_response, ipc_connection, dependent_process_enqueued) is the Go pmon3\'s; pmon3 answers a command when it is done, so there is no fixed wait (ignored)',
    'config: initialization_period is the Go pmon3\'s; pmond re-adopts or restarts its processes as soon as it starts (ignored)',
    'config: disable_reloads is the Go pmon3\'s; pmond reads its configuration once, at start (restart pmond to apply a change) (ignored)',
  ]);
});

test('every Go key that does not apply is accepted with a notice naming it', () => {
  const leaves: Array<[string, string]> = [];
  for (const [section, spec] of Object.entries(GO_SECTIONS)) {
    if (spec.keys === null) leaves.push([section, `${section}: 1`]);
    else
      for (const k of spec.keys) {
        if (spec.keys.some((n) => n.startsWith(`${k}.`))) continue; // a nested section: its leaves are listed
        const parts = k.split('.');
        leaves.push([`${section}.${k}`, `${section}:\n${parts.map((p, i) => `${'  '.repeat(i + 1)}${p}:`).join('\n')} x`]);
      }
  }
  for (const [key, text] of leaves) {
    const r = fromGoConfig(parseConfigRaw(text));
    if (['logs.directory', 'data.directory'].includes(key) || key.startsWith('event_handling.')) {
      assert.deepEqual(r.notices, [], key);
      continue;
    }
    assert.equal(r.notices.length, 1, key);
    const [section, ...rest] = key.split('.');
    assert.ok(r.notices[0]!.startsWith(`config: ${rest.length ? `${section} (${rest.join('.')})` : section} is the Go pmon3's; `), r.notices[0]);
    assert.ok(r.notices[0]!.endsWith('(ignored)'));
    assert.deepEqual(r.mapped, {}, key);
  }
});

function parseConfigRaw(text: string): Record<string, unknown> {
  return parseYaml(text) as Record<string, unknown>;
}

test('both spellings set: ours wins; different values say so, equal ones do not', () => {
  const c = parseConfig('logs_dir: /ours\nlogs:\n  directory: /go\non_process_restart_exec: /h/ours\nevent_handling:\n  process_restart: /h/ours\n', 'c.yml', root);
  assert.equal(c.logs_dir, '/ours');
  assert.equal(c.on_process_restart_exec, '/h/ours');
  assert.deepEqual(c.notices, ['config: logs.directory (/go) and logs_dir (/ours) are both set; logs_dir wins']);
  const d = parseConfig('data_dir: /ours\ndata:\n  directory: /go\n', 'c.yml', root);
  assert.equal(d.data_dir, '/ours');
  assert.deepEqual(d.notices, ['config: data.directory (/go) and data_dir (/ours) are both set; data_dir wins']);
});

test('unknown keys stay errors, Go sections included; a bad Go value names the Go key', () => {
  assert.throws(() => parseConfig('logs:\n  directroy: /x\n', 'c.yml', root), { message: 'config c.yml: unknown key "logs.directroy"' });
  assert.throws(() => parseConfig('wait:\n  forever: 1\n', 'c.yml', root), { message: 'config c.yml: unknown key "wait.forever"' });
  assert.throws(() => parseConfig('message_queue:\n  directory:\n    tmp: /t\n', 'c.yml', root), { message: 'config c.yml: unknown key "message_queue.directory.tmp"' });
  assert.throws(() => parseConfig('frobnicate: 1\n', 'c.yml', root), { message: 'config c.yml: unknown key "frobnicate"' });
  assert.throws(() => parseConfig('logs: /var/log\n', 'c.yml', root), { message: 'config c.yml: key "logs": must be a mapping of keys to values' });
  assert.throws(() => parseConfig('disable_reloads: [1]\n', 'c.yml', root), { message: 'config c.yml: key "disable_reloads": must be a single value' });
  assert.throws(
    () => parseConfig('event_handling:\n  process_restart: on_restart.bash\n', 'c.yml', root),
    (e: any) => e.code === 'INVALID_ARGUMENT' && e.message === 'config c.yml: key "event_handling.process_restart" (on_process_restart_exec): must be an absolute path or empty',
  );
  assert.throws(() => parseConfig('data:\n  directory: rel\n', 'c.yml', root), /key "data.directory" \(data_dir\): must be an absolute path/);
  assert.throws(() => parseConfig('flap_detection:\n  threshold_decrement: -1\n', 'c.yml', root), /key "flap_detection.threshold_decrement"/);
});

test('flap_detection.threshold_decrement: ours now, Go default 60, applied (no notice)', () => {
  assert.equal(parseConfig('', 'c', root).flap_detection.threshold_decrement, 60);
  const c = parseConfig('flap_detection:\n  is_enabled: true\n  threshold_decrement: 30\n', 'c', root);
  assert.equal(c.flap_detection.threshold_decrement, 30);
  assert.equal(c.flap_detection.threshold_countdown, 120, 'the rest of the section keeps its defaults');
  assert.deepEqual(c.notices, []);
});

test('PMON3_DEBUG: true is debug, a level name is that level, anything else is an error naming it', () => {
  const level = (v: string | undefined): string => parseConfig('log_level: warn', 'f', { ...root, env: v === undefined ? {} : { PMON3_DEBUG: v } }).log_level;
  assert.equal(level(undefined), 'warn');
  assert.equal(level(''), 'warn');
  assert.equal(level('true'), 'debug');
  for (const l of ['debug', 'info', 'warn', 'error']) assert.equal(level(l), l);
  for (const bad of ['yes', '1', 'false', 'DEBUG', 'warning']) {
    assert.throws(() => level(bad), (e: any) => e.code === 'INVALID_ARGUMENT' && e.message === `PMON3_DEBUG: "${bad}" is none of true, error, warn, info, debug`);
  }
  assert.equal(debugLevel(undefined), undefined);
});

test('root looks for ours, then the Go default; users and PMON3_CONF only for theirs', () => {
  assert.deepEqual(configPathsFor(root), ['/etc/pmond/config/config.yaml', '/etc/pmon3/config/config.yml']);
  assert.deepEqual(configPathsFor({ ...root, etcDir: '/t/etc' }), ['/t/etc/pmond/config/config.yaml', '/t/etc/pmon3/config/config.yml']);
  assert.deepEqual(configPathsFor(user), ['/home/u/.config/pmon3/config.yaml']);
  assert.deepEqual(configPathsFor({ ...root, env: { PMON3_CONF: '/c.yml' } }), ['/c.yml']);
  assert.equal(configPathFor(root), '/etc/pmond/config/config.yaml');
});

test('loadConfig: the Go default is read when ours is missing; ours wins when both exist', () => {
  const etc = tempDir('pmgo-');
  try {
    const ce: ConfigEnv = { ...root, etcDir: etc };
    const ours = path.join(etc, 'pmond', 'config', 'config.yaml');
    const go = path.join(etc, 'pmon3', 'config', 'config.yml');
    assert.equal(loadConfig(ce).config_path, ours, 'neither: defaults, named by ours');
    fs.mkdirSync(path.dirname(go), { recursive: true });
    fs.writeFileSync(go, 'data:\n  directory: /go/data\nwait:\n  ipc_connection: 0\n');
    const fromGo = loadConfig(ce);
    assert.equal(fromGo.config_path, go);
    assert.equal(fromGo.data_dir, '/go/data');
    assert.equal(fromGo.notices.length, 1);
    fs.mkdirSync(path.dirname(ours), { recursive: true });
    fs.writeFileSync(ours, 'data_dir: /ours/data\n');
    const both = loadConfig(ce);
    assert.equal(both.config_path, ours);
    assert.equal(both.data_dir, '/ours/data');
    assert.deepEqual(both.notices, [`config: ${go} (the Go pmon3's) is not read: ${ours} is`]);
    // PMON3_CONF still names the one file read.
    const named = path.join(etc, 'named.yml');
    fs.writeFileSync(named, 'logs:\n  directory: /named/logs\n');
    const c = loadConfig({ ...ce, env: { PMON3_CONF: named } });
    assert.equal(c.logs_dir, '/named/logs');
    assert.deepEqual(c.notices, []);
  } finally {
    fs.rmSync(etc, { recursive: true, force: true });
  }
});
